//! Guided flows over the user socket.

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

/// Whether this reply ends `flow` (the path under test).
fn ends_flow(reply: &Value, flow: &str) -> bool {
    if kind(reply) != "flow" || flow_id(reply) != flow {
        // An answer, a notice, a ticket, another flow, or the escalation form.
        return true;
    }
    let no_buttons = reply["buttons"].as_array().is_none_or(|b| b.is_empty());
    no_buttons && reply["flow"].get("input").is_none()
}

/// Walks one path (button indexes) in a fresh conversation; returns the last
/// bot reply and the steps visited.
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
    let mut steps = vec![format!("flow:{flow}/{}", flow_step(&last))];
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
        steps.push(format!(
            "{}:{}/{}",
            kind(&last),
            flow_id(&last),
            flow_step(&last)
        ));
    }
    ws.close().await;
    (last, steps)
}

#[tokio::test]
async fn every_button_path_ends_within_12_presses() {
    let server = TestServer::default_start();
    for flow in [
        "correo-no-solicitado",
        "acceso-no-autorizado",
        "usuario-bloqueado",
    ] {
        let mut stack: Vec<Vec<usize>> = vec![vec![]];
        let mut ended = 0;
        while let Some(path) = stack.pop() {
            let (last, steps) = walk(&server, flow, &path).await;
            if ends_flow(&last, flow) {
                ended += 1;
                continue;
            }
            assert!(
                path.len() < 12,
                "{flow}: path {path:?} is still in the flow after 12 presses: {steps:?}"
            );
            // A step seen twice on one path is a loop.
            let here = flow_step(&last).to_owned();
            let key = format!("flow:{flow}/{here}");
            let visits = steps.iter().filter(|s| **s == key).count();
            assert!(
                visits <= 1,
                "{flow}: path {path:?} loops back to step {here}: {steps:?}"
            );
            let n = button_values(&last).len();
            assert!(
                n > 0,
                "{flow}: step {here} has neither buttons nor input: {last}"
            );
            for i in (0..n).rev() {
                let mut p = path.clone();
                p.push(i);
                stack.push(p);
            }
        }
        assert!(ended >= 3, "{flow}: only {ended} paths explored");
    }
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
