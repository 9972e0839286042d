//! Guided flows over the user socket.

use chrono::Datelike;
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn plain_descriptions_start_the_right_flow() {
    let server = TestServer::default_start();
    let cases = [
        (
            "Hoy me llegaron dos mensajes para cambiar la clave y yo no los pedí",
            "correo-no-solicitado",
        ),
        (
            "Alguien está usando mi usuario, aparecen cosas que yo no hice",
            "acceso-no-autorizado",
        ),
        (
            "Puse mal la clave varias veces y ya no me deja entrar, dice bloqueado",
            "usuario-bloqueado",
        ),
    ];
    let mut failures = Vec::new();
    for (text, expected) in cases {
        let reply = ask_fresh(&server, text).await;
        if kind(&reply) != "flow" || flow_id(&reply) != expected {
            failures.push(format!(
                "{text:?}: expected flow {expected}, got kind {} flow {:?} sources {}",
                kind(&reply),
                reply.get("flow"),
                reply["sources"]
            ));
        } else {
            assert!(
                !reply["buttons"].as_array().unwrap().is_empty(),
                "first step of {expected} has no buttons: {reply}"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Whether a user who only presses buttons is done at this reply: it is not a
/// flow step (an answer, a notice, a ticket), or it asks for typed data, or it
/// offers no buttons.
fn ends_button_path(reply: &Value) -> bool {
    kind(reply) != "flow"
        || reply["flow"].get("input").is_some_and(|i| !i.is_null())
        || reply["buttons"].as_array().is_none_or(|b| b.is_empty())
}

/// Walks one path (button indexes) in a fresh conversation; returns the last
/// bot reply and the steps visited (`flow/step`).
async fn walk(server: &TestServer, flow: &str, path: &[usize]) -> (Value, Vec<String>) {
    let (mut ws, _) = server.fresh().await;
    let frames = ws.choose(&format!("tema:{flow}")).await;
    let mut last = last_bot(&frames).clone();
    assert_eq!(
        kind(&last),
        "flow",
        "tema:{flow} did not start it: {}",
        pretty(&frames)
    );
    assert_eq!(flow_id(&last), flow);
    let mut steps = vec![format!("{flow}/{}", flow_step(&last))];
    for &i in path {
        let values = button_values(&last);
        let value = values
            .get(i)
            .unwrap_or_else(|| panic!("path {path:?}: no button {i} in {last}"))
            .clone();
        let frames = ws.choose(&value).await;
        assert!(
            !frames.iter().any(|f| is_type(f, "error")),
            "{flow} path {path:?}: pressing {value} got an error:\n{}",
            pretty(&frames)
        );
        last = last_bot(&frames).clone();
        steps.push(format!("{}/{}", flow_id(&last), flow_step(&last)));
    }
    ws.close().await;
    (last, steps)
}

/// Every path of button presses, following buttons into other flows, ends
/// (an answer, the end of a flow, or a step that asks for typed data) within
/// 12 steps and never comes back to a step it went through. The steps and
/// buttons are discovered from the live server (each button of each step
/// pressed once, in a fresh conversation reaching the step by its shortest
/// path); the longest path and any cycle are then read off that graph.
#[tokio::test]
async fn button_paths_across_flows_end_within_12_steps_without_cycles() {
    use std::collections::{HashMap, VecDeque};
    // One fresh conversation per button pressed: lift the per-address limit.
    let server = TestServer::start(Opts {
        args: [
            "--new-conversations-per-minute",
            "1000000",
            "--new-conversations-burst",
            "100000",
        ]
        .map(String::from)
        .to_vec(),
        ..Opts::default()
    });
    // step ("flow/step") → where each of its buttons leads (None: the path ends).
    let mut graph: HashMap<String, Vec<Option<String>>> = HashMap::new();
    let mut starts = Vec::new();
    for flow in [
        "correo-no-solicitado",
        "acceso-no-autorizado",
        "usuario-bloqueado",
        "no-puedo-presentar-oferta",
    ] {
        let (first, steps) = walk(&server, flow, &[]).await;
        let start = steps[0].clone();
        starts.push(start.clone());
        let mut queue = VecDeque::from([(start, vec![], button_values(&first).len())]);
        while let Some((key, path, buttons)) = queue.pop_front() {
            if graph.contains_key(&key) {
                continue;
            }
            let mut edges = Vec::new();
            for i in 0..buttons {
                let mut p: Vec<usize> = path.clone();
                p.push(i);
                let (last, steps) = walk(&server, flow, &p).await;
                if ends_button_path(&last) {
                    edges.push(None);
                    continue;
                }
                let next = steps.last().unwrap().clone();
                edges.push(Some(next.clone()));
                queue.push_back((next, p, button_values(&last).len()));
            }
            graph.insert(key, edges);
        }
    }
    // Longest path of steps from `key`; a step met again on the path is a cycle.
    fn longest(
        key: &str,
        graph: &HashMap<String, Vec<Option<String>>>,
        path: &mut Vec<String>,
    ) -> Vec<String> {
        assert!(
            !path.iter().any(|p| p == key),
            "button presses go round a cycle: {} → {key}",
            path.join(" → ")
        );
        path.push(key.to_owned());
        let mut best = Vec::new();
        for next in graph[key].iter().flatten() {
            let p = longest(next, graph, path);
            if p.len() > best.len() {
                best = p;
            }
        }
        path.pop();
        let mut out = vec![key.to_owned()];
        out.extend(best);
        out
    }
    for start in &starts {
        let path = longest(start, &graph, &mut Vec::new());
        assert!(
            path.len() <= 12,
            "{} steps before the path ends: {}",
            path.len(),
            path.join(" → ")
        );
    }
    let edges: usize = graph.values().map(Vec::len).sum();
    assert!(graph.len() >= 12 && edges >= 30, "{graph:?}");
}

#[tokio::test]
async fn reconnect_mid_flow_resumes_the_open_step() {
    let server = TestServer::default_start();
    let (mut ws, _) = server.fresh().await;
    let session = ws.session.clone().unwrap();
    let frames = ws.choose("tema:correo-no-solicitado").await;
    let start = last_bot(&frames).clone();
    assert_eq!(flow_id(&start), "correo-no-solicitado", "{start}");
    let first = button_values(&start)[0].clone();
    let frames = ws.choose(&first).await;
    let open = last_bot(&frames).clone();
    assert_eq!(kind(&open), "flow", "{}", pretty(&frames));
    assert_ne!(
        flow_step(&open),
        flow_step(&start),
        "the button did not move on"
    );
    assert!(!button_values(&open).is_empty(), "{open}");
    ws.close().await;

    let mut ws = server.connect().await;
    let welcome = ws.hello(Some(&session), Some(0)).await;
    assert_eq!(welcome["resumed"], true);
    let history = welcome["history"].as_array().unwrap();
    let tail = history.last().expect("empty history");
    assert_eq!(
        kind(tail),
        "flow",
        "history should end with the open step: {tail}"
    );
    assert_eq!(flow_id(tail), "correo-no-solicitado");
    assert_eq!(flow_step(tail), flow_step(&open));
    assert_eq!(
        tail,
        &as_reply(&open),
        "the replayed step differs from the one sent live"
    );

    let values = button_values(tail);
    let frames = ws.choose(&values[2.min(values.len() - 1)]).await;
    assert!(
        !frames.iter().any(|f| is_type(f, "error")),
        "pressing a button of the replayed step failed:\n{}",
        pretty(&frames)
    );
    let next = first_bot(&frames);
    assert!(
        kind(next) != "flow"
            || flow_step(next) != flow_step(&open)
            || flow_id(next) != "correo-no-solicitado",
        "the flow did not move on after resuming: {}",
        pretty(&frames)
    );
}

/// Types an invalid value and expects the same step again, with an explanation.
async fn refused(ws: &mut WsClient, step: &Value, bad: &str) {
    let frames = ws.say(bad).await;
    let reply = last_bot(&frames);
    assert_eq!(
        kind(reply),
        "flow",
        "{bad:?} at {}: {}",
        flow_step(step),
        pretty(&frames)
    );
    assert_eq!(flow_id(reply), "crear-caso");
    assert_eq!(
        flow_step(reply),
        flow_step(step),
        "an invalid {bad:?} must not move the flow on: {}",
        pretty(&frames)
    );
    let said = reply["text"].as_str().unwrap_or("");
    let before = step["text"].as_str().unwrap_or("");
    assert!(
        said.len() > before.len() && said != before,
        "no explanation for the invalid {bad:?}: {said:?}"
    );
}

#[tokio::test]
async fn escalation_collects_the_case_and_opens_a_ticket() {
    let server = TestServer::default_start();
    let (mut ws, _) = server.fresh().await;
    let frames = ws.escalate(None).await;
    let mut step = last_bot(&frames).clone();
    assert_eq!(kind(&step), "flow", "{}", pretty(&frames));
    assert_eq!(flow_id(&step), "crear-caso");

    let mut seen_inputs = Vec::new();
    let mut confirmed = None;
    for _ in 0..20 {
        assert_eq!(kind(&step), "flow", "left the form early: {step}");
        assert_eq!(flow_id(&step), "crear-caso", "{step}");
        let input = step["flow"]["input"].as_str().map(str::to_owned);
        let buttons = step["buttons"].as_array().cloned().unwrap_or_default();
        let frames = match input.as_deref() {
            Some("email") => {
                seen_inputs.push("email");
                refused(&mut ws, &step, "correo-invalido").await;
                ws.say("ana.perez@example.com").await
            }
            Some("phone") => {
                seen_inputs.push("phone");
                refused(&mut ws, &step, "abc123").await;
                ws.say("300 123 4567").await
            }
            Some("document") => {
                seen_inputs.push("document");
                refused(&mut ws, &step, "12").await;
                ws.say("1020304050").await
            }
            Some("text") => {
                seen_inputs.push("text");
                let text = match flow_step(&step) {
                    "nombre" => "Ana María Pérez Gómez",
                    "organizacion" => "Alcaldía de Villa de Leyva",
                    _ => "No puedo ingresar a SECOP II: la plataforma dice que mi usuario está bloqueado y tengo un proceso abierto.",
                };
                ws.say(text).await
            }
            Some(other) => panic!("unknown input kind {other}: {step}"),
            None => {
                assert!(
                    !buttons.is_empty(),
                    "step without input nor buttons: {step}"
                );
                let confirm = buttons
                    .iter()
                    .find(|b| b["label"].as_str().unwrap_or("").starts_with("Confirmar"));
                match confirm {
                    Some(b) => {
                        let frames = ws.choose(b["value"].as_str().unwrap()).await;
                        confirmed = Some(frames);
                        break;
                    }
                    None => ws.choose(buttons[0]["value"].as_str().unwrap()).await,
                }
            }
        };
        assert!(
            !frames.iter().any(|f| is_type(f, "error")),
            "error in the form: {}",
            pretty(&frames)
        );
        step = last_bot(&frames).clone();
    }
    for needed in ["email", "phone", "document", "text"] {
        assert!(
            seen_inputs.contains(&needed),
            "no {needed} step was asked: {seen_inputs:?}"
        );
    }
    let mut frames = confirmed.expect("never reached the confirmation step");
    if !frames.iter().any(|f| is_type(f, "ticket")) {
        frames.extend(ws.recv_until(|f| is_type(f, "ticket")).await);
    }
    let ticket_reply = bot_replies(&frames)
        .into_iter()
        .find(|r| kind(r) == "ticket")
        .unwrap_or_else(|| panic!("no reply of kind ticket:\n{}", pretty(&frames)))
        .clone();
    let id = ticket_reply["ticket"]["id"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(
        has_ticket_id(&id),
        "ticket id {id:?} is not SB-dddddd: {ticket_reply}"
    );
    assert!(
        ticket_reply["text"].as_str().unwrap().contains(&id),
        "{ticket_reply}"
    );
    let frame = frames.iter().find(|f| is_type(f, "ticket")).unwrap();
    assert_eq!(
        frame,
        &json!({"type": "ticket", "id": id, "status": "abierto"}),
        "ticket frame"
    );

    // Asking for a person again does not open a second case.
    let frames = ws.escalate(None).await;
    let again = first_bot(&frames);
    assert_ne!(
        kind(again),
        "flow",
        "a second escalation restarted the form: {again}"
    );
    assert!(
        again["text"].as_str().unwrap_or("").contains(&id),
        "{again}"
    );

    // A new tab learns about the open ticket.
    let session = ws.session.clone().unwrap();
    let mut tab = server.connect().await;
    tab.hello(Some(&session), Some(u64::MAX / 2)).await;
    let f = tab.recv().await;
    assert_eq!(
        f,
        json!({"type": "ticket", "id": id, "status": "abierto"}),
        "ticket frame after welcome on resume"
    );
}

#[tokio::test]
async fn a_question_mid_flow_is_answered_and_can_return() {
    let server = TestServer::default_start();
    let (mut ws, _) = server.fresh().await;
    let frames = ws.choose("tema:correo-no-solicitado").await;
    let step = last_bot(&frames).clone();
    assert_eq!(flow_id(&step), "correo-no-solicitado");

    let frames = ws
        .say("¿Cuáles son los canales de atención de soporte?")
        .await;
    let answer = first_bot(&frames);
    assert_eq!(kind(answer), "answer", "{}", pretty(&frames));
    assert_eq!(source_id(answer), "canales-de-soporte", "{answer}");
    assert!(
        button_values(answer).iter().any(|v| v == "volver"),
        "no `volver` button on the aside answer: {answer}"
    );

    let frames = ws.choose("volver").await;
    let back = first_bot(&frames);
    assert_eq!(kind(back), "flow", "{}", pretty(&frames));
    assert_eq!(flow_id(back), "correo-no-solicitado");
    assert_eq!(
        flow_step(back),
        flow_step(&step),
        "volver should return to the same step"
    );
    assert_eq!(button_values(back), button_values(&step));
}

#[tokio::test]
async fn cancelar_leaves_the_flow() {
    let server = TestServer::default_start();
    let (mut ws, _) = server.fresh().await;
    let frames = ws.choose("tema:usuario-bloqueado").await;
    assert_eq!(flow_id(last_bot(&frames)), "usuario-bloqueado");
    let frames = ws.say("cancelar").await;
    let reply = first_bot(&frames);
    assert_ne!(
        kind(reply),
        "flow",
        "still in the flow: {}",
        pretty(&frames)
    );
    // The old step's buttons are no longer accepted.
    ws.send_json(json!({"type": "choose", "value": "paso:0"}))
        .await;
    let f = ws.recv().await;
    assert!(
        is_type(&f, "error"),
        "a stale flow button was accepted: {f}"
    );
    assert_eq!(f["code"], "unknown_choice", "{f}");
}

/// Fills the case form with valid data and stops at the summary; returns it.
async fn fill_case_form(ws: &mut WsClient) -> Value {
    let frames = ws.escalate(None).await;
    let mut step = last_bot(&frames).clone();
    for _ in 0..20 {
        assert_eq!(flow_id(&step), "crear-caso", "{step}");
        if flow_step(&step) == "confirmar" {
            return step;
        }
        let frames = match step["flow"]["input"].as_str() {
            Some("email") => ws.say("ana.perez@example.com").await,
            Some("phone") => ws.say("3001234567").await,
            Some("document") => ws.say("1020304050").await,
            Some(_) => {
                let text = match flow_step(&step) {
                    "nombre" => "Ana María Pérez Gómez",
                    "organizacion" => "Alcaldía de Villa de Leyva",
                    _ => "No puedo cargar la oferta en el proceso CD-123-2026.",
                };
                ws.say(text).await
            }
            None => ws.choose(&button_values(&step)[0]).await,
        };
        step = last_bot(&frames).clone();
    }
    panic!("never reached the summary");
}

fn button_by_label(step: &Value, label: &str) -> String {
    step["buttons"]
        .as_array()
        .and_then(|b| {
            b.iter()
                .find(|b| b["label"].as_str().is_some_and(|l| l.starts_with(label)))
        })
        .and_then(|b| b["value"].as_str())
        .unwrap_or_else(|| panic!("no button «{label}» in {step}"))
        .to_owned()
}

/// "Corregir un dato" lets the user pick the field: only that one is asked
/// again, the others are kept, and the summary comes back. Corrections are
/// bounded, so buttons alone can never go round the summary forever.
#[tokio::test]
async fn correcting_the_case_form_changes_one_field_and_keeps_the_rest() {
    let server = TestServer::default_start();
    let (mut ws, _) = server.fresh().await;
    let mut summary = fill_case_form(&mut ws).await;
    for (n, (field, typed, shown)) in [
        (
            "Correo",
            "otro.correo@example.org",
            "otro.correo@example.org",
        ),
        ("Teléfono", "7456788", "6017456788"),
        ("Nombre", "Ana M. Pérez", "Ana M. Pérez"),
    ]
    .into_iter()
    .enumerate()
    {
        let frames = ws.choose(&button_by_label(&summary, "Corregir")).await;
        let menu = last_bot(&frames).clone();
        assert_eq!(flow_step(&menu), "corregir", "{}", pretty(&frames));
        let frames = ws.choose(&button_by_label(&menu, field)).await;
        let ask = last_bot(&frames).clone();
        assert!(ask["flow"]["input"].is_string(), "{field}: {ask}");
        let frames = ws.say(typed).await;
        summary = last_bot(&frames).clone();
        assert_eq!(
            flow_step(&summary),
            "confirmar",
            "after correcting {field} the summary should come back: {}",
            pretty(&frames)
        );
        let text = summary["text"].as_str().unwrap();
        assert!(text.contains(shown), "{field} not corrected: {text}");
        assert!(
            text.contains("Alcaldía de Villa de Leyva") && text.contains("1020304050"),
            "other fields lost after correction {n}: {text}"
        );
    }
    // Three corrections made: the summary no longer offers another one.
    let labels: Vec<&str> = summary["buttons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["label"].as_str())
        .collect();
    assert!(
        !labels.iter().any(|l| l.starts_with("Corregir")),
        "{labels:?}"
    );
    assert!(
        labels.iter().any(|l| l.starts_with("Confirmar")),
        "{labels:?}"
    );
}

/// A NIT whose check digit (DIAN's modulo-11) does not match is refused with
/// the right digit; a 7-digit Bogotá landline is accepted as 601 + number.
#[tokio::test]
async fn nit_with_a_wrong_check_digit_is_refused_in_the_case_form() {
    let server = TestServer::default_start();
    let (mut ws, _) = server.fresh().await;
    escalate_past_the_notice(&mut ws).await;
    let mut step = last_bot(&ws.say("Luis Gómez").await).clone();
    assert_eq!(flow_step(&step), "tipo-documento", "{step}");
    step = last_bot(&ws.choose(&button_by_label(&step, "NIT")).await).clone();
    assert_eq!(flow_step(&step), "numero-documento", "{step}");
    // 899999061's check digit is 9 (Alcaldía Mayor de Bogotá's RUT).
    for wrong in ["899999061-4", "899.999.061-0"] {
        let reply = last_bot(&ws.say(wrong).await).clone();
        assert_eq!(
            flow_step(&reply),
            "numero-documento",
            "{wrong} accepted: {reply}"
        );
        let text = reply["text"].as_str().unwrap();
        assert!(
            text.contains("verificación") && text.contains("es 9"),
            "{text}"
        );
    }
    let next = last_bot(&ws.say("899999061-9").await).clone();
    assert_eq!(flow_step(&next), "organizacion", "{next}");
}

/// A refusal says what is wrong and repeats only the question, not a long
/// introduction.
#[tokio::test]
async fn refusal_repeats_only_the_question() {
    let server = TestServer::default_start();
    let (mut ws, _) = server.fresh().await;
    let first = escalate_past_the_notice(&mut ws).await;
    assert_eq!(flow_step(&first), "nombre");
    let intro = first["text"].as_str().unwrap();
    let reply = last_bot(&ws.say("x").await).clone();
    assert_eq!(flow_step(&reply), "nombre", "{reply}");
    let text = reply["text"].as_str().unwrap();
    assert!(text.contains("nombre completo"), "{text}");
    let intro_first_line = intro.lines().next().unwrap();
    assert!(
        !text.contains(intro_first_line),
        "the refusal repeats the introduction: {text}"
    );
}

/// The seed's own case, told naturally, starts the intrusion flow.
#[tokio::test]
async fn seed_case_in_natural_words_starts_the_intrusion_flow() {
    let server = TestServer::default_start();
    for text in [
        "Alguien intentó ingresar a mi cuenta de SECOP II esta tarde, me bloqueó la clave y después trató de recuperarla",
        "hoy a las 9 am otra persona trató de entrar con mi usuario, la contraseña se bloqueó y alguien pidió restablecerla",
    ] {
        let reply = ask_fresh(&server, text).await;
        assert_eq!(
            (kind(&reply), flow_id(&reply)),
            ("flow", "acceso-no-autorizado"),
            "{text}: {reply}"
        );
    }
}

/// Security cases are `alta` wherever the user asks for a person: from a
/// security flow's "Hablar con una persona" (a `normal` button), and by typing
/// it after the flow ended.
#[tokio::test]
async fn security_cases_are_alta_wherever_they_start() {
    let server = start_with_agents(&[("sonia", "agent")], &[]);
    let (mut agent, _) = agent_console(&server, "sonia").await;

    // 1. Intrusion flow → "Sí, todavía puedo entrar" → "Hablar con una persona".
    let (mut ws, _) = server.fresh().await;
    let session_a = ws.session.clone().unwrap();
    let start = last_bot(&ws.choose("tema:acceso-no-autorizado").await).clone();
    let step = last_bot(&ws.choose(&button_by_label(&start, "Sí")).await).clone();
    ws.choose(&button_by_label(&step, "Hablar con una persona"))
        .await;
    let summary = fill_case_form(&mut ws).await;
    ws.choose(&button_by_label(&summary, "Confirmar")).await;

    // 2. Unrequested reset e-mail flow, ended, then typed.
    let (mut ws2, _) = server.fresh().await;
    let session_b = ws2.session.clone().unwrap();
    let start = last_bot(&ws2.choose("tema:correo-no-solicitado").await).clone();
    let step = last_bot(&ws2.choose(&button_by_label(&start, "No, no abrí")).await).clone();
    ws2.choose(&button_by_label(&step, "Entendido")).await;
    ws2.say("quiero hablar con una persona").await;
    let summary = fill_case_form(&mut ws2).await;
    ws2.choose(&button_by_label(&summary, "Confirmar")).await;

    // 3. A case with no security flow stays normal.
    let (_ws3, session_c, _) =
        user_with_ticket(&server, "No encuentro el botón para cargar la factura").await;

    for (session, want) in [
        (&session_a, "alta"),
        (&session_b, "alta"),
        (&session_c, "normal"),
    ] {
        let frames = agent
            .recv_until(|f| is_type(f, "queue") && queue_item(f, session).is_some())
            .await;
        let queue = frames.last().unwrap();
        assert_eq!(
            queue_item(queue, session).unwrap()["priority"],
            want,
            "{session}: {queue}"
        );
    }
}

/// Outside `--hours`, asking for a person says when agents are back and opens
/// the case directly; `welcome.agents` tells the widget.
#[tokio::test]
async fn outside_hours_escalation_says_when_agents_are_back() {
    // A schedule that is closed today in Bogotá: only tomorrow's weekday.
    let days = ["lun", "mar", "mie", "jue", "vie", "sab", "dom"];
    let today = (chrono::Utc::now() - chrono::Duration::hours(5))
        .date_naive()
        .weekday()
        .num_days_from_monday() as usize;
    let hours = format!("{} 08:00-17:00", days[(today + 1) % 7]);
    let server = TestServer::start(Opts {
        args: vec!["--hours".into(), hours],
        ..Opts::default()
    });
    let (mut ws, welcome) = server.fresh().await;
    let agents = &welcome["agents"];
    assert_eq!(agents["available"], false, "{welcome}");
    assert!(
        agents["hours"].as_str().unwrap().contains("8:00 a 17:00"),
        "{agents}"
    );
    assert!(
        agents["next"].as_str().unwrap().contains("a las 8:00"),
        "{agents}"
    );
    let frames = ws.escalate(None).await;
    let notice = bot_replies(&frames)
        .into_iter()
        .find(|r| kind(r) == "notice")
        .unwrap_or_else(|| panic!("no hours notice: {}", pretty(&frames)));
    let text = notice["text"].as_str().unwrap();
    assert!(text.contains("8:00") && text.contains("festivos"), "{text}");
    assert_eq!(
        flow_id(last_bot(&frames)),
        "crear-caso",
        "{}",
        pretty(&frames)
    );
}

/// Unknown addresses and wrong methods get a Spanish page, never an empty body;
/// `GET /agent/login` leads to the console's login form.
#[tokio::test]
async fn unknown_paths_and_wrong_methods_get_spanish_pages() {
    let server = TestServer::default_start();
    let missing = server.get("/no-existe/de-verdad").await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains("No encontramos esa página"),
        "{}",
        missing.body
    );
    assert!(missing.body.contains("lang=\"es-CO\""));
    let agent_missing = server.get("/agent/nada").await;
    assert_eq!(agent_missing.status, 404);
    assert!(
        agent_missing.body.contains("href=\"/agent\""),
        "{}",
        agent_missing.body
    );
    let login = server.get("/agent/login").await;
    assert!(
        login.status == 303 || login.status == 307 || login.status == 302,
        "GET /agent/login: {}",
        login.status
    );
    assert_eq!(login.header("location"), Some("/agent"));
    let wrong = server.get("/agent/unlock").await;
    assert_eq!(wrong.status, 405);
    assert!(wrong.body.contains("no se abre así"), "{}", wrong.body);
}
