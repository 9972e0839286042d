//! Cases answered after the user left (issue 14, item 3): any agent opens a
//! case on `/agent/tickets/{id}`, reads the whole conversation and replies or
//! resolves without a live claim; the status moves abierto → esperando
//! usuario → abierto (the user wrote again, with a fresh due date) →
//! resuelto; and a user follows a case from any browser with its number and
//! the e-mail it was opened with.

use std::time::Duration;

use crate::helpers::*;

/// The e-mail `open_ticket` types in the case form.
const CASE_EMAIL: &str = "ana.perez@example.com";

async fn get_as(server: &TestServer, cookie: &str, path: &str) -> HttpResponse {
    http_request(&server.http_url, "GET", path, &[("Cookie", cookie)], b"").await
}

/// A form `POST` from the server's own page (its `Origin`).
async fn post_form(
    server: &TestServer,
    cookie: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> HttpResponse {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", form_encode(v)))
        .collect();
    let origin = server.http_url.trim_end_matches('/').to_owned();
    http_request(
        &server.http_url,
        "POST",
        path,
        &[
            ("Cookie", cookie),
            ("Origin", &origin),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body.join("&").as_bytes(),
    )
    .await
}

/// The case's status as the case page shows it (`data-status`).
fn page_status(body: &str) -> String {
    let marker = "id=\"case-status\" class=\"status-label\" data-status=\"";
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("no status on the case page:\n{body}"))
        + marker.len();
    body[start..].split('"').next().unwrap().to_owned()
}

/// Waits until the server no longer counts a tab of the user on the case.
async fn until_user_gone(server: &TestServer, cookie: &str, id: &str) {
    eventually(
        Duration::from_secs(10),
        "the user's tab to close",
        || async {
            let r = get_as(server, cookie, &format!("/agent/tickets/{id}")).await;
            if r.body.contains("El usuario no está conectado") {
                Ok(())
            } else {
                Err("still connected".to_owned())
            }
        },
    )
    .await
}

#[tokio::test]
async fn agent_answers_a_case_after_the_user_left_and_the_user_reply_reopens_it() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let (user, session, id) =
        user_with_ticket(&server, "No me llega el correo para activar el usuario").await;
    let last_seen = user.max_seq();
    user.close().await;
    let cookie = login(&server, "ana").await;

    // An agent (not a supervisor) lists every case and opens this one.
    let list = get_as(&server, &cookie, "/agent/tickets").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(
        list.body.contains(&format!("href=\"/agent/tickets/{id}\"")),
        "no link to the case on the list:\n{}",
        list.body
    );
    until_user_gone(&server, &cookie, &id).await;
    let page = get_as(&server, &cookie, &format!("/agent/tickets/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page_status(&page.body), "abierto");
    assert!(
        page.body
            .contains("No me llega el correo para activar el usuario"),
        "the transcript is not on the case page"
    );
    assert!(
        page.body.contains(CASE_EMAIL),
        "the case fields are missing"
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));

    // The reply, without any claim.
    let reply = "Revisamos su cuenta: el correo de activación se reenvió. ¿Le llegó?";
    let r = post_form(
        &server,
        &cookie,
        &format!("/agent/tickets/{id}/reply"),
        &[("texto", reply)],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        r.header("location")
            .unwrap_or("")
            .starts_with(&format!("/agent/tickets/{id}")),
        "{:?}",
        r.headers
    );
    let location = r.header("location").unwrap().to_owned();
    let page = get_as(&server, &cookie, &location).await;
    assert_eq!(page_status(&page.body), "esperando_usuario");
    assert!(page.body.contains("Respuesta enviada."), "no confirmation");
    assert!(
        page.body.contains("el correo de activación se reenvió"),
        "the reply is not in the case's conversation"
    );
    // Found however it is typed: the number as "sb 1", a name without accents.
    let number: u64 = id.trim_start_matches("SB-").parse().unwrap();
    let by_number = get_as(&server, &cookie, &format!("/agent/tickets?q=sb+{number}")).await;
    assert!(by_number.body.contains(&format!("data-ticket=\"{id}\"")));
    let by_name = get_as(&server, &cookie, "/agent/tickets?q=maria+perez").await;
    assert!(
        by_name.body.contains(&format!("data-ticket=\"{id}\"")),
        "accents matter"
    );
    let waiting = get_as(&server, &cookie, "/agent/tickets?estado=esperando").await;
    assert!(waiting.body.contains(&id), "not under «Esperando usuario»");
    let overdue = get_as(&server, &cookie, "/agent/tickets?estado=vencidos").await;
    assert!(!overdue.body.contains(&format!("data-ticket=\"{id}\"")));

    // The case waits for the user: it is not in the live queue.
    let (_console, queue) = agent_socket(&server, &cookie).await;
    assert!(
        queue_item(&queue, &session).is_none(),
        "a case waiting for the user is in the live queue: {queue}"
    );

    // The user comes back with the same browser: exactly the new messages.
    let mut back = server.connect().await;
    let welcome = back.hello(Some(&session), Some(last_seen)).await;
    let history = welcome["history"].as_array().unwrap();
    let agent_msg = history
        .iter()
        .find(|m| m["from"] == "agent")
        .unwrap_or_else(|| panic!("the agent's reply is not in the history: {welcome}"));
    assert!(agent_msg["text"].as_str().unwrap().contains("se reenvió"));
    assert!(
        !agent_msg["agent_name"].as_str().unwrap_or("").is_empty(),
        "{agent_msg}"
    );
    assert!(history
        .iter()
        .all(|m| m["seq"].as_u64().unwrap() > last_seen));

    // The user's answer goes to the case, not to the bot, and reopens it.
    let frames = back
        .say("Sí me llegó, pero el enlace dice que expiró")
        .await;
    let bots = bot_replies(&frames);
    assert!(
        bots.iter().all(|r| source_id(r).is_empty()),
        "the bot answered a reply meant for the case:\n{}",
        pretty(&frames)
    );
    let notice = bots
        .iter()
        .find(|r| r["ticket"]["id"] == id.as_str())
        .unwrap_or_else(|| {
            panic!(
                "no word that the reply reached the case:\n{}",
                pretty(&frames)
            )
        });
    assert_eq!(notice["ticket"]["status"], "abierto", "{notice}");
    assert!(notice["text"].as_str().unwrap().contains(&id));
    let page = get_as(&server, &cookie, &format!("/agent/tickets/{id}")).await;
    assert_eq!(page_status(&page.body), "abierto");
    assert!(page.body.contains("el enlace dice que expiró"));
    assert!(
        page.body.contains("id=\"case-due\""),
        "no due date once reopened"
    );
    let (_console, queue) = agent_socket(&server, &cookie).await;
    assert!(
        queue_item(&queue, &session).is_some(),
        "the reopened case is not back in the queue: {queue}"
    );
}

#[tokio::test]
async fn a_waiting_case_stays_out_of_the_queue_across_a_restart() {
    let mut server = start_with_agents(&[("ana", "agent")], &[]);
    let (user, session, id) = user_with_ticket(&server, "No puedo adjuntar la oferta").await;
    user.close().await;
    let cookie = login(&server, "ana").await;
    let r = post_form(
        &server,
        &cookie,
        &format!("/agent/tickets/{id}/reply"),
        &[("texto", "¿Qué mensaje de error le aparece?")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    server.kill9();
    server.restart();
    let cookie = login(&server, "ana").await;
    let (_console, queue) = agent_socket(&server, &cookie).await;
    assert!(queue_item(&queue, &session).is_none(), "{queue}");
    let page = get_as(&server, &cookie, &format!("/agent/tickets/{id}")).await;
    assert_eq!(page_status(&page.body), "esperando_usuario");
    assert!(page.body.contains("Qué mensaje de error le aparece"));
}

#[tokio::test]
async fn case_page_refuses_bad_replies_with_a_reason_and_keeps_the_text() {
    let server = start_with_agents(&[("ana", "agent"), ("luis", "agent")], &[]);
    let (_user, session, id) = user_with_ticket(&server, "La plataforma no carga").await;
    let cookie = login(&server, "ana").await;
    let path = format!("/agent/tickets/{id}/reply");

    let r = post_form(&server, &cookie, &path, &[("texto", "   ")]).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Escriba el texto"), "{}", r.body);

    let long = "a".repeat(4_001);
    let r = post_form(&server, &cookie, &path, &[("texto", &long)]).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("4.000"), "the limit is not named");
    assert!(r.body.contains(&long), "the typed text was lost");

    // Another site cannot post as the agent; no login, no reply.
    let r = http_request(
        &server.http_url,
        "POST",
        &path,
        &[
            ("Cookie", &cookie),
            ("Origin", "https://evil.example"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        b"texto=hola",
    )
    .await;
    assert_eq!(r.status, 403);
    let r = post_form(&server, "secobot_agent=nope", &path, &[("texto", "hola")]).await;
    assert_eq!(r.status, 401);

    // Unknown cases: a Spanish 404 page about cases, with the way back.
    let r = get_as(&server, &cookie, "/agent/tickets/SB-999999").await;
    assert_eq!(r.status, 404);
    assert!(r.body.contains("Ese caso no existe"), "{}", r.body);
    assert!(r.body.contains("href=\"/agent/tickets\""), "{}", r.body);
    let r = post_form(
        &server,
        &cookie,
        "/agent/tickets/SB-999999/reply",
        &[("texto", "x")],
    )
    .await;
    assert_eq!(r.status, 404);

    // Held live by Luis: Ana may write (he sees it), but not resolve it here.
    let (mut luis, _) = agent_console(&server, "luis").await;
    let claimed = claim(&mut luis, &session).await;
    assert!(is_type(&claimed, "claimed"), "{claimed}");
    let r = post_form(
        &server,
        &cookie,
        &path,
        &[("texto", "Dato adicional para Luis")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    luis.recv_until(|f| is_type(f, "message") && f.to_string().contains("Dato adicional"))
        .await;
    let page = get_as(&server, &cookie, &format!("/agent/tickets/{id}")).await;
    assert_eq!(
        page_status(&page.body),
        "en_atencion",
        "a live chat is not waiting"
    );
    let r = post_form(
        &server,
        &cookie,
        &format!("/agent/tickets/{id}/resolve"),
        &[("nota", "Resuelto")],
    )
    .await;
    assert_eq!(r.status, 409);
    assert!(r.body.contains("Otro asesor"), "{}", r.body);
    assert!(r.body.contains("Resuelto"), "the note was lost");
    // The reason sits beside the resolve form, not above the reply form.
    let reason = r.body.find("Otro asesor").unwrap();
    let resolve_form = r.body.find("id=\"case-resolve\"").unwrap();
    let reply_form = r.body.find("id=\"case-reply\"").unwrap();
    assert!(
        reply_form < reason && reason < resolve_form,
        "the reason is far from its form"
    );
}

#[tokio::test]
async fn agent_resolves_a_case_from_the_tickets_page() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let (mut user, session, id) = user_with_ticket(&server, "No veo el proceso publicado").await;
    let cookie = login(&server, "ana").await;
    let r = post_form(
        &server,
        &cookie,
        &format!("/agent/tickets/{id}/resolve"),
        &[("nota", "   ")],
    )
    .await;
    assert_eq!(r.status, 400, "an empty note was accepted");
    let r = post_form(
        &server,
        &cookie,
        &format!("/agent/tickets/{id}/resolve"),
        &[(
            "nota",
            "El proceso ya está publicado; búsquelo por su número.",
        )],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    // The user, still connected, is told at once.
    let frames = user
        .recv_until(|f| is_type(f, "ticket") && f["status"] == "resuelto")
        .await;
    assert!(
        frames
            .iter()
            .any(|f| f.to_string().contains("búsquelo por su número")),
        "the note did not reach the user:\n{}",
        pretty(&frames)
    );
    let page = get_as(&server, &cookie, &format!("/agent/tickets/{id}")).await;
    assert_eq!(page_status(&page.body), "resuelto");
    assert!(
        !page.body.contains("id=\"case-reply\""),
        "a resolved case offers a reply form"
    );
    let r = post_form(
        &server,
        &cookie,
        &format!("/agent/tickets/{id}/reply"),
        &[("texto", "otra cosa")],
    )
    .await;
    assert_eq!(r.status, 409, "a resolved case took a reply");
    let (_console, queue) = agent_socket(&server, &cookie).await;
    assert!(queue_item(&queue, &session).is_none(), "{queue}");
}

/// Opens a case, has an agent answer it from the page, and returns its id.
async fn answered_case(server: &TestServer, reply: &str) -> String {
    let (user, _, id) = user_with_ticket(server, "No puedo firmar el contrato").await;
    user.close().await;
    let cookie = login(server, "ana").await;
    let r = post_form(
        server,
        &cookie,
        &format!("/agent/tickets/{id}/reply"),
        &[("texto", reply)],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    id
}

#[tokio::test]
async fn case_followed_from_another_browser_needs_its_number_and_email() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let id = answered_case(
        &server,
        "Active la firma en la sección Mi cuenta, por favor.",
    )
    .await;
    let number: u64 = id.trim_start_matches("SB-").parse().unwrap();

    // Another browser: a new conversation with no case of its own.
    let (mut other, _) = server.fresh().await;
    let frames = other.say("quiero saber cómo va mi caso").await;
    assert_eq!(
        source_id(first_bot(&frames)),
        "estado-de-caso",
        "{}",
        pretty(&frames)
    );
    assert!(
        last_bot(&frames)["text"]
            .as_str()
            .unwrap()
            .contains("número"),
        "the number is not asked:\n{}",
        pretty(&frames)
    );
    // Typed as people type it; then a wrong e-mail.
    let frames = other.say(&format!("sb {number}")).await;
    assert!(last_bot(&frames)["text"]
        .as_str()
        .unwrap()
        .contains("correo"));
    let frames = other.say("otra.persona@example.com").await;
    let text = last_bot(&frames)["text"].as_str().unwrap().to_owned();
    assert!(text.contains("No encontramos"), "{text}");
    assert!(
        !text.contains("Active la firma"),
        "a wrong e-mail showed the case"
    );

    // The right pair (the e-mail in capitals): status and the agent's reply.
    other.say("¿cómo va mi caso?").await;
    other.say(&id.to_lowercase()).await;
    let frames = other.say(&CASE_EMAIL.to_uppercase()).await;
    let found = last_bot(&frames);
    assert_eq!(found["ticket"]["id"], id.as_str(), "{}", pretty(&frames));
    assert_eq!(found["ticket"]["status"], "esperando_usuario");
    let text = found["text"].as_str().unwrap();
    assert!(
        text.contains("Active la firma en la sección Mi cuenta"),
        "{text}"
    );
    assert!(text.contains("en espera de su respuesta"), "{text}");
    assert!(
        found["html"].as_str().unwrap_or("").contains("<strong>"),
        "{found}"
    );

    // A new question instead of a number is answered as usual.
    other.say("estado de mi caso").await;
    let frames = other.say("¿cómo recupero mi contraseña?").await;
    assert_ne!(source_id(first_bot(&frames)), "", "{}", pretty(&frames));
}

#[tokio::test]
async fn case_lookups_that_fail_are_bounded_per_conversation() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let id = answered_case(&server, "Respuesta privada del asesor.").await;
    let (mut guesser, _) = server.fresh().await;
    for n in 0..5 {
        guesser.say("estado de mi caso").await;
        guesser.say(&id).await;
        let frames = guesser.say(&format!("intento{n}@example.com")).await;
        let text = last_bot(&frames)["text"].as_str().unwrap().to_owned();
        assert!(text.contains("No encontramos"), "{text}");
    }
    // Even the right pair is refused now: this conversation must ask a person.
    let frames = guesser.say("estado de mi caso").await;
    let text = last_bot(&frames)["text"].as_str().unwrap().to_owned();
    assert!(text.contains("Por seguridad"), "{text}");
    let frames = guesser.say(&id).await;
    let all = pretty(&frames);
    assert!(!all.contains("Respuesta privada"), "{all}");
    let frames = guesser.say(CASE_EMAIL).await;
    assert!(!pretty(&frames).contains("Respuesta privada"));
}

#[tokio::test]
async fn case_answered_from_another_browser_after_a_verified_lookup() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let id = answered_case(&server, "¿Qué navegador usa cuando intenta firmar?").await;
    let (mut other, _) = server.fresh().await;
    // Without a verified lookup the button is not on offer.
    other
        .send_json(serde_json::json!({"type": "choose", "value": format!("responder-caso:{id}")}))
        .await;
    let refused = other
        .recv_until(|f| is_type(f, "error") || is_type(f, "reply"))
        .await;
    assert!(
        is_type(refused.last().unwrap(), "error"),
        "an unverified reply button was accepted: {refused:?}"
    );
    other.say("cómo va mi caso").await;
    other.say(&id).await;
    let frames = other.say(CASE_EMAIL).await;
    let found = last_bot(&frames);
    let button = button_values(found)
        .into_iter()
        .find(|v| v.starts_with("responder-caso:"))
        .unwrap_or_else(|| panic!("no «Responder al caso» button: {found}"));
    let frames = other.choose(&button).await;
    assert!(
        last_bot(&frames)["text"].as_str().unwrap().contains(&id),
        "{}",
        pretty(&frames)
    );
    let frames = other.say("Uso Chrome en Windows 11").await;
    let text = last_bot(&frames)["text"].as_str().unwrap().to_owned();
    assert!(text.contains("agregué su mensaje al caso"), "{text}");
    // The agent reads it on the case, which is back in the queue.
    let cookie = login(&server, "ana").await;
    let page = get_as(&server, &cookie, &format!("/agent/tickets/{id}")).await;
    assert!(
        page.body.contains("Uso Chrome en Windows 11"),
        "not on the case"
    );
    assert_eq!(page_status(&page.body), "abierto");
    let (_console, queue) = agent_socket(&server, &cookie).await;
    assert!(
        queue["items"].to_string().contains(&id),
        "the case is not back in the queue: {queue}"
    );
    // The next message is an ordinary question again.
    let frames = other.say("¿cómo recupero mi contraseña?").await;
    assert_ne!(source_id(first_bot(&frames)), "", "{}", pretty(&frames));
}

/// Walks crear-caso from `frames` (the reply that started it) to the summary,
/// answering like `open_ticket`; returns the steps it was asked.
async fn steps_to_summary(ws: &mut WsClient, frames: Vec<serde_json::Value>) -> Vec<String> {
    let mut step = last_bot(&frames).clone();
    let mut asked = Vec::new();
    for _ in 0..20 {
        assert_eq!(flow_id(&step), "crear-caso", "{step}");
        let name = flow_step(&step).to_owned();
        asked.push(name.clone());
        if name == "confirmar" {
            return asked;
        }
        let frames = match step["flow"]["input"].as_str() {
            Some("email") => ws.say(CASE_EMAIL).await,
            Some("phone") => ws.say("3001234567").await,
            Some("document") => ws.say("1020304050").await,
            Some(_) => ws.say("No carga el botón de enviar la oferta").await,
            None => {
                let first = button_values(&step)[0].clone();
                ws.choose(&first).await
            }
        };
        step = last_bot(&frames).clone();
    }
    panic!("no summary within 20 steps: {asked:?}");
}

#[tokio::test]
async fn asking_for_a_person_inside_a_flow_is_not_filed_as_the_problem() {
    let server = TestServer::default_start();
    let (mut ws, _) = server.fresh().await;
    let frames = ws.say("no puedo presentar mi oferta en el proceso").await;
    assert_eq!(
        flow_id(last_bot(&frames)),
        "no-puedo-presentar-oferta",
        "{}",
        pretty(&frames)
    );
    let frames = ws.say("quiero hablar con un asesor").await;
    let asked = steps_to_summary(&mut ws, frames).await;
    assert!(
        asked.iter().any(|s| s == "descripcion"),
        "the problem was never asked (filed as the request for a person): {asked:?}"
    );
}

#[tokio::test]
async fn second_case_asks_for_the_new_problem_not_the_old_description() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let (mut ws, _, id) = user_with_ticket(&server, "No puedo firmar el contrato").await;
    let cookie = login(&server, "ana").await;
    let r = post_form(
        &server,
        &cookie,
        &format!("/agent/tickets/{id}/resolve"),
        &[("nota", "Firma habilitada.")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    ws.recv_until(|f| is_type(f, "ticket") && f["status"] == "resuelto")
        .await;
    let frames = ws.escalate(None).await;
    let asked = steps_to_summary(&mut ws, frames).await;
    assert!(
        asked.iter().any(|s| s == "descripcion"),
        "the old case's description was reused: {asked:?}"
    );
    assert!(
        !asked.iter().any(|s| s == "nombre" || s == "correo"),
        "personal data known from the first case was asked again: {asked:?}"
    );
}

#[tokio::test]
async fn unanswerable_message_on_an_open_case_says_it_went_to_the_case() {
    let server = TestServer::default_start();
    let (mut ws, _, id) = user_with_ticket(&server, "La plataforma no carga").await;
    let frames = ws.say("zxqv wpoit blorf").await;
    let reply = last_bot(&frames);
    let text = reply["text"].as_str().unwrap();
    assert!(text.contains(&id), "{}", pretty(&frames));
    assert_ne!(kind(reply), "fallback", "{reply}");
}

#[tokio::test]
async fn case_pages_show_agents_by_display_name_not_login() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("data");
    add_agent(
        &dir,
        "atorres",
        &["--role", "agent", "--display-name", "Ana Torres"],
    );
    let server = TestServer::start(Opts {
        data_dir: Some(dir),
        ..Opts::default()
    });
    let (user, _, id) = user_with_ticket(&server, "No veo el botón de adjuntar").await;
    user.close().await;
    let cookie = login(&server, "atorres").await;
    let r = post_form(
        &server,
        &cookie,
        &format!("/agent/tickets/{id}/reply"),
        &[("texto", "¿Desde qué navegador entra?")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = get_as(&server, &cookie, &format!("/agent/tickets/{id}")).await;
    assert!(
        page.body.contains("<dt>Asesor</dt><dd>Ana Torres</dd>"),
        "{}",
        page.body
    );
    let list = get_as(&server, &cookie, "/agent/tickets").await;
    assert!(list.body.contains("Ana Torres"), "login name on the list");
    assert!(!list.body.contains(">atorres<"), "login name on the list");
}

#[tokio::test]
async fn asking_for_a_person_with_a_case_open_goes_to_that_case_not_a_new_one() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let (mut user, _session, id) =
        user_with_ticket(&server, "No puedo adjuntar la póliza al contrato").await;
    let another = "necesito hablar con un asesor por otro tema: no me llegan las notificaciones";
    let frames = user.say(another).await;
    assert!(
        !frames.iter().any(|f| is_type(f, "ticket")),
        "a second case was opened:\n{}",
        pretty(&frames)
    );
    let reply = first_bot(&frames);
    assert_eq!(kind(reply), "notice", "frames:\n{}", pretty(&frames));
    let text = reply["text"].as_str().unwrap_or_default();
    assert!(
        text.contains(&id) && text.contains("escríbala aquí"),
        "the user is not told the open case takes it: {text}"
    );
    // The agent reads the new topic on that case's page.
    let cookie = login(&server, "ana").await;
    let page = get_as(&server, &cookie, &format!("/agent/tickets/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("no me llegan las notificaciones"),
        "the message is not in the case's conversation"
    );
    let list = get_as(&server, &cookie, "/agent/tickets").await;
    assert_eq!(
        list.body.matches("href=\"/agent/tickets/").count(),
        1,
        "one case expected on the list:\n{}",
        list.body
    );
}
