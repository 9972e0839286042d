//! Agents over real sockets: accounts, login, the console socket, claims,
//! hand-back, grace, crash recovery, the supervisors' list and reports.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

/// Frames until every predicate has matched one of them (in any order).
async fn recv_all(ws: &mut WsClient, preds: &[&dyn Fn(&Value) -> bool]) -> Vec<Value> {
    let mut seen = vec![false; preds.len()];
    ws.recv_until(|f| {
        for (i, p) in preds.iter().enumerate() {
            if !seen[i] && p(f) {
                seen[i] = true;
                break;
            }
        }
        seen.iter().all(|s| *s)
    })
    .await
}

fn is_agent_event(f: &Value, event: &str) -> bool {
    is_type(f, "agent") && f["event"] == event
}

fn is_ticket_status(f: &Value, id: &str, status: &str) -> bool {
    is_type(f, "ticket") && f["id"] == id && f["status"] == status
}

fn is_message_with(f: &Value, session: &str, text: &str) -> bool {
    is_type(f, "message") && f["session"] == session && f["reply"]["text"] == text
}

/// Waits (5 s) for a `queue` frame satisfying `pred`; `what` names it on failure.
async fn queue_where(agent: &mut WsClient, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + FRAME_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match agent.try_recv(left).await {
            Some(f) if is_type(&f, "queue") && pred(&f) => return f,
            Some(_) => continue,
            None => panic!(
                "agent console: no queue frame where {what} within {FRAME_TIMEOUT:?}; frames on this console:\n{}",
                pretty(&agent.log)
            ),
        }
    }
}

fn header_has(r: &HttpResponse, name: &str, needle: &str) -> bool {
    r.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .any(|(_, v)| {
            v.to_ascii_lowercase()
                .contains(&needle.to_ascii_lowercase())
        })
}

// ----------------------------------------------------------------------- 1

#[tokio::test]
async fn accounts_login_cookie_origin_and_throttle() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("data");
    let dir_s = dir.to_str().unwrap().to_owned();
    add_agent(&dir, "ana", &[]);
    add_agent(&dir, "luis", &[]);
    let short = run_cli(&["agent", "add", "bob", "--data", &dir_s], "corta\n");
    assert!(
        !short.status.success(),
        "a 5-character password was accepted: {}",
        String::from_utf8_lossy(&short.stdout)
    );
    let list = run_cli(&["agent", "list", "--data", &dir_s], "");
    assert!(list.status.success(), "agent list failed: {list:?}");
    let listed = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(
        listed.lines().any(|l| l.split('\t').next() == Some("ana")),
        "agent list does not show ana:\n{listed}"
    );
    assert!(
        !listed.lines().any(|l| l.starts_with("bob")),
        "agent list shows the refused account:\n{listed}"
    );

    let server = TestServer::start(Opts {
        data_dir: Some(dir.clone()),
        ..Opts::default()
    });

    // Wrong password: 401, JSON and form, and no cookie.
    let r = login_json(&server, "ana", "wrong-password").await;
    assert_eq!(r.status, 401, "JSON wrong password: {}", r.body);
    assert!(r.json()["error"].is_string(), "JSON error body: {}", r.body);
    assert!(agent_cookie(&r).is_none(), "cookie on a failed login");
    let r = login_form(&server, "ana", "wrong-password").await;
    assert_eq!(r.status, 401, "form wrong password: {}", r.body);
    assert!(agent_cookie(&r).is_none(), "cookie on a failed login");
    let r = login_json(&server, "nadie", "wrong-password").await;
    assert_eq!(r.status, 401, "unknown user: {}", r.body);

    // Right password: 200 JSON / 303 form, with a HttpOnly SameSite=Strict cookie.
    let r = login_json(&server, "ana", &password_for("ana")).await;
    assert_eq!(r.status, 200, "JSON login: {}", r.body);
    let body = r.json();
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(body["agent"]["name"], "ana", "{body}");
    assert!(
        header_has(&r, "set-cookie", "secobot_agent="),
        "{:?}",
        r.headers
    );
    assert!(header_has(&r, "set-cookie", "HttpOnly"), "{:?}", r.headers);
    assert!(
        header_has(&r, "set-cookie", "SameSite=Strict"),
        "{:?}",
        r.headers
    );
    let cookie = agent_cookie(&r).unwrap();
    let r = login_form(&server, "ana", &password_for("ana")).await;
    assert_eq!(r.status, 303, "form login: {}", r.body);
    assert_eq!(r.header("location"), Some("/agent"), "{:?}", r.headers);
    assert!(header_has(&r, "set-cookie", "HttpOnly"), "{:?}", r.headers);
    assert!(
        header_has(&r, "set-cookie", "SameSite=Strict"),
        "{:?}",
        r.headers
    );
    assert!(agent_cookie(&r).is_some(), "{:?}", r.headers);

    // The console socket.
    let url = agent_ws_url(&server);
    assert_eq!(
        ws_upgrade(&url, &[]).await.err(),
        Some(401),
        "upgrade without a cookie"
    );
    assert_eq!(
        ws_upgrade(&url, &[("Cookie", "secobot_agent=not-a-real-token")])
            .await
            .err(),
        Some(401),
        "upgrade with a made-up cookie"
    );
    assert_eq!(
        ws_upgrade(
            &url,
            &[("Cookie", &cookie), ("Origin", "http://evil.example")]
        )
        .await
        .err(),
        Some(403),
        "upgrade from another origin"
    );
    let own_origin = server.http_url.clone();
    let ok = ws_upgrade(&url, &[("Cookie", &cookie), ("Origin", &own_origin)]).await;
    assert!(ok.is_ok(), "same-origin upgrade refused: {:?}", ok.err());
    let mut ws = WsClient::from_stream(ok.unwrap());
    let hello = ws.recv().await;
    assert_eq!(hello["type"], "hello", "{hello}");
    assert_eq!(hello["agent"]["name"], "ana", "{hello}");
    ws.close().await;

    // Login from another origin is refused too.
    let r = http_request(
        &server.http_url,
        "POST",
        "/agent/login",
        &[
            ("Content-Type", "application/json"),
            ("Origin", "http://evil.example"),
        ],
        json!({"username": "ana", "password": password_for("ana")})
            .to_string()
            .as_bytes(),
    )
    .await;
    assert_eq!(r.status, 403, "cross-origin login: {}", r.body);

    // Throttle: after five failures in a row the next attempts get 429, even
    // with the right password; other accounts are not locked.
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(login_json(&server, "ana", "otra-clave-mala").await.status);
    }
    assert_eq!(
        &statuses[..5],
        &[401; 5],
        "first five wrong passwords: {statuses:?}"
    );
    assert!(
        statuses[5] == 401 || statuses[5] == 429,
        "sixth attempt: {statuses:?}"
    );
    assert_eq!(statuses[6], 429, "no 429 after six failures: {statuses:?}");
    let r = login_json(&server, "ana", &password_for("ana")).await;
    assert_eq!(
        r.status, 429,
        "the right password while throttled: {}",
        r.body
    );
    assert!(agent_cookie(&r).is_none());
    let r = login_json(&server, "luis", &password_for("luis")).await;
    assert_eq!(r.status, 200, "another account got locked: {}", r.body);
}

// ----------------------------------------------------------------------- 2

#[tokio::test]
async fn claim_talk_release_and_resolve() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let (mut agent, _) = agent_console(&server, "ana").await;

    let (mut user, _) = server.fresh().await;
    let session = user.session.clone().unwrap();
    let (id, _) = open_ticket(
        &mut user,
        "No puedo publicar el proceso: sale un error 500.",
    )
    .await;

    // The queue updates live.
    let q = queue_where(&mut agent, &format!("ticket {id} is listed"), |q| {
        queue_item(q, &session).is_some()
    })
    .await;
    let item = queue_item(&q, &session).unwrap();
    assert_eq!(item["ticket"], id.as_str(), "{item}");
    assert!(item["waiting_since"].is_string(), "{item}");
    assert!(
        item["preview"].as_str().unwrap_or("").contains("error 500"),
        "{item}"
    );

    // What the user has seen so far.
    let before: Vec<Value> = user
        .log
        .iter()
        .filter(|f| is_type(f, "reply"))
        .map(as_reply)
        .collect();

    let claimed = claim(&mut agent, &session).await;
    assert_eq!(claimed["type"], "claimed", "{claimed}");
    assert_eq!(claimed["session"], session.as_str());
    assert_eq!(claimed["ticket"]["id"], id.as_str(), "{claimed}");
    let history = claimed["history"].as_array().expect("claimed.history");
    for r in &before {
        let same = history.iter().find(|h| h["seq"] == r["seq"]);
        let same = same.unwrap_or_else(|| {
            panic!(
                "claimed.history lacks seq {} ({}) the user saw",
                r["seq"], r["text"]
            )
        });
        assert_eq!(same["text"], r["text"], "seq {}", r["seq"]);
        assert_eq!(same["from"], r["from"], "seq {}", r["seq"]);
        assert_eq!(same["kind"], r["kind"], "seq {}", r["seq"]);
    }
    assert!(
        history
            .iter()
            .any(|h| h["text"].as_str().unwrap_or("").contains("error 500")),
        "the case description is not in the transcript"
    );

    recv_all(
        &mut user,
        &[&|f| is_agent_event(f, "joined"), &|f| {
            is_ticket_status(f, &id, "en_atencion")
        }],
    )
    .await;

    // Agent → user.
    let hello = "Buenos días, soy Ana. Ya reviso su caso.";
    agent
        .send_json(json!({"type": "say", "session": session, "text": hello}))
        .await;
    let got = user
        .recv_until(|f| is_type(f, "reply") && f["text"] == hello)
        .await;
    let r = got.last().unwrap();
    assert_eq!(r["from"], "agent", "{r}");
    assert_eq!(r["kind"], "agent", "{r}");

    // User → agent, as text.
    user.send_json(json!({"type": "say", "text": XSS})).await;
    let got = agent
        .recv_until(|f| is_message_with(f, &session, XSS))
        .await;
    let m = got.last().unwrap();
    assert_eq!(m["reply"]["from"], "user", "{m}");
    if let Some(html) = m["reply"]["html"].as_str() {
        assert!(!html.contains("<img"), "markup in reply.html: {html}");
    }

    // While held, the bot keeps quiet.
    let question = "olvidé mi contraseña";
    user.send_json(json!({"type": "say", "text": question}))
        .await;
    // (No echo to the tab that typed it: it already shows it.)
    let after = user.drain(Duration::from_millis(1000)).await;
    assert!(
        !after
            .iter()
            .any(|f| is_type(f, "reply") && f["from"] == "bot"),
        "the bot answered while an agent held the conversation:\n{}",
        pretty(&after)
    );
    agent
        .recv_until(|f| is_message_with(f, &session, question))
        .await;

    // Release: the bot answers again.
    agent
        .send_json(json!({"type": "release", "session": session}))
        .await;
    let got = agent
        .recv_until(|f| is_type(f, "released") || is_type(f, "error"))
        .await;
    assert_eq!(got.last().unwrap()["type"], "released", "{}", pretty(&got));
    recv_all(
        &mut user,
        &[&|f| is_agent_event(f, "left"), &|f| {
            is_ticket_status(f, &id, "abierto")
        }],
    )
    .await;
    let frames = user.say(question).await;
    let answer = first_bot(&frames);
    assert_eq!(answer["from"], "bot", "{}", pretty(&frames));
    assert_eq!(kind(answer), "answer", "{}", pretty(&frames));
    assert_eq!(source_id(answer), "olvide-mi-contrasena", "{answer}");

    // Claim again and resolve.
    let claimed = claim(&mut agent, &session).await;
    assert_eq!(claimed["type"], "claimed", "second claim: {claimed}");
    user.recv_until(|f| is_agent_event(f, "joined")).await;
    let note = "Se restableció el acceso del usuario.";
    agent
        .send_json(json!({"type": "resolve", "session": session, "note": note}))
        .await;
    let got = agent
        .recv_until(|f| is_type(f, "resolved") || is_type(f, "error"))
        .await;
    let resolved = got.last().unwrap();
    assert_eq!(resolved["type"], "resolved", "{}", pretty(&got));
    assert_eq!(resolved["ticket"]["status"], "resuelto", "{resolved}");
    user.recv_until(|f| is_ticket_status(f, &id, "resuelto"))
        .await;
    queue_where(&mut agent, "the resolved ticket is gone", |q| {
        queue_item(q, &session).is_none()
    })
    .await;
    let (_other, fresh_queue) = agent_console(&server, "ana").await;
    assert!(
        queue_item(&fresh_queue, &session).is_none(),
        "a resolved ticket is still queued: {fresh_queue}"
    );
}

// ----------------------------------------------------------------------- 3

#[tokio::test]
async fn two_agents_racing_for_one_claim_get_one_winner() {
    let server = start_with_agents(&[("ana", "agent"), ("luis", "agent")], &[]);
    let (mut ana, _) = agent_console(&server, "ana").await;
    let (mut luis, _) = agent_console(&server, "luis").await;
    for round in 0..2 {
        let (_user, session, _) = user_with_ticket(&server, "Mi usuario está bloqueado.").await;
        queue_where(&mut ana, "the new ticket is listed", |q| {
            queue_item(q, &session).is_some()
        })
        .await;
        queue_where(&mut luis, "the new ticket is listed", |q| {
            queue_item(q, &session).is_some()
        })
        .await;
        let frame = json!({"type": "claim", "session": session});
        tokio::join!(ana.send_json(frame.clone()), luis.send_json(frame.clone()));
        let a = next_claimed(&mut ana).await;
        let l = next_claimed(&mut luis).await;
        let ana_won = is_type(&a, "claimed");
        let (winner, loser) = match (ana_won, is_type(&l, "claimed")) {
            (true, false) => (a, l),
            (false, true) => (l, a),
            _ => panic!("round {round}: not exactly one claimed:\nana: {a}\nluis: {l}"),
        };
        assert_eq!(winner["session"], session.as_str(), "{winner}");
        assert_eq!(loser["type"], "error", "{loser}");
        assert_eq!(loser["code"], "ya_tomado", "{loser}");
        // And the loser can't talk into it.
        let loser_ws = if ana_won { &mut luis } else { &mut ana };
        loser_ws
            .send_json(json!({"type": "say", "session": session, "text": "hola"}))
            .await;
        let e = loser_ws
            .recv_until(|f| is_type(f, "error"))
            .await
            .pop()
            .unwrap();
        assert_eq!(e["code"], "not_held", "{e}");
    }
}

// ----------------------------------------------------------------------- 4

#[tokio::test]
async fn a_disconnected_agent_keeps_the_conversation_for_the_grace_period() {
    let server = start_with_agents(
        &[("ana", "agent"), ("luis", "agent")],
        &["--agent-grace-secs", "2"],
    );
    let ana_cookie = login(&server, "ana").await;
    let (mut ana, _) = agent_socket(&server, &ana_cookie).await;
    let (mut user, session, id) =
        user_with_ticket(&server, "No me llega el correo de activación.").await;
    queue_where(&mut ana, "the new ticket is listed", |q| {
        queue_item(q, &session).is_some()
    })
    .await;
    let claimed = claim(&mut ana, &session).await;
    assert_eq!(claimed["type"], "claimed", "{claimed}");
    user.recv_until(|f| is_agent_event(f, "joined")).await;

    // Back within the grace: the conversation comes back with a `claimed`.
    ana.close().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (mut ana, _) = agent_socket(&server, &ana_cookie).await;
    let again = next_claimed(&mut ana).await;
    assert_eq!(again["type"], "claimed", "{again}");
    assert_eq!(again["session"], session.as_str(), "{again}");
    assert_eq!(again["ticket"]["id"], id.as_str(), "{again}");
    // The reconnect cancelled the hand-back.
    let quiet = user.drain(Duration::from_millis(3000)).await;
    assert!(
        !quiet.iter().any(|f| is_agent_event(f, "left")),
        "the conversation was handed back although the agent came back:\n{}",
        pretty(&quiet)
    );
    // Still hers: she can write.
    ana.send_json(json!({"type": "say", "session": session, "text": "Sigo aquí."}))
        .await;
    user.recv_until(|f| is_type(f, "reply") && f["text"] == "Sigo aquí.")
        .await;

    // Gone for good: held during the grace, back to the queue after it. Luis
    // logs in first: a debug build's argon2 check can take longer than the grace.
    let luis_cookie = login(&server, "luis").await;
    ana.close().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (mut luis, q) = agent_socket(&server, &luis_cookie).await;
    let item = queue_item(&q, &session).unwrap_or_else(|| panic!("not queued: {q}"));
    assert_eq!(item["held_by"], "ana", "within the grace: {item}");
    let got = user.recv_until(|f| is_agent_event(f, "left")).await;
    assert!(
        got.len() < 50,
        "too many frames before agent left: {}",
        pretty(&got)
    );
    let q = queue_where(&mut luis, "held_by is null after the grace", |q| {
        queue_item(q, &session).is_some_and(|i| i["held_by"].is_null())
    })
    .await;
    assert_eq!(queue_item(&q, &session).unwrap()["ticket"], id.as_str());
    // Luis can take it now.
    let claimed = claim(&mut luis, &session).await;
    assert_eq!(claimed["type"], "claimed", "{claimed}");
}

// ----------------------------------------------------------------------- 5

#[tokio::test]
async fn tickets_and_agent_messages_survive_kill_9() {
    let mut server = start_with_agents(&[("ana", "agent")], &[]);
    let (_u1, s1, t1) = user_with_ticket(&server, "Primer caso abierto.").await;
    let (_u2, s2, t2) = user_with_ticket(&server, "Segundo caso abierto.").await;
    let (_u3, s3, t3) = user_with_ticket(&server, "Tercer caso, tomado.").await;
    // A first crash before any agent came: open tickets are queued on start
    // (this keeps the test independent of the live queue updates).
    server.kill9();
    server.restart();
    let (mut ana, q) = agent_console(&server, "ana").await;
    for (s, t) in [(&s1, &t1), (&s2, &t2), (&s3, &t3)] {
        let item = queue_item(&q, s)
            .unwrap_or_else(|| panic!("{t} not queued after the first kill -9: {q}"));
        assert_eq!(item["ticket"], t.as_str());
    }
    let mut u3 = server.connect().await;
    u3.hello(Some(&s3), Some(0)).await;
    let claimed = claim(&mut ana, &s3).await;
    assert_eq!(claimed["type"], "claimed", "{claimed}");
    let said = "Le escribo antes del reinicio.";
    ana.send_json(json!({"type": "say", "session": s3, "text": said}))
        .await;
    // Sent means: the user got it (it is durable before it is sent).
    u3.recv_until(|f| is_type(f, "reply") && f["text"] == said)
        .await;

    server.kill9();
    server.restart();

    let (mut ana, q) = agent_console(&server, "ana").await;
    for (s, t) in [(&s1, &t1), (&s2, &t2)] {
        let item = queue_item(&q, s).unwrap_or_else(|| panic!("{t} lost after kill -9: {q}"));
        assert_eq!(item["ticket"], t.as_str(), "{item}");
        assert!(item["held_by"].is_null(), "{item}");
    }
    let item = queue_item(&q, &s3).unwrap_or_else(|| panic!("{t3} lost after kill -9: {q}"));
    assert_eq!(item["held_by"], "ana", "the claim was lost: {item}");
    let back = next_claimed(&mut ana).await;
    assert_eq!(back["type"], "claimed", "{back}");
    assert_eq!(back["session"], s3.as_str(), "{back}");

    let mut again = server.connect().await;
    let welcome = again.hello(Some(&s3), Some(0)).await;
    assert_eq!(welcome["resumed"], true, "{welcome}");
    let history = welcome["history"].as_array().unwrap();
    let msg = history
        .iter()
        .find(|r| r["text"] == said)
        .unwrap_or_else(|| panic!("the agent's message is not replayed:\n{}", pretty(history)));
    assert_eq!(msg["from"], "agent", "{msg}");
}

// ----------------------------------------------------------------------- 6

#[tokio::test]
async fn supervisors_list_tickets_and_users_hear_when_nobody_is_online() {
    let server = start_with_agents(&[("ana", "agent"), ("sofia", "supervisor")], &[]);
    let (mut user, _) = server.fresh().await;
    let (id, frames) = open_ticket(&mut user, "Necesito cambiar el administrador.").await;
    // No console: a notice after the confirmation with the deadline and the id.
    let bots = bot_replies(&frames);
    let pos = bots.iter().position(|r| kind(r) == "ticket").unwrap();
    let notice = bots
        .get(pos + 1)
        .unwrap_or_else(|| panic!("nothing after the ticket reply:\n{}", pretty(&frames)));
    let text = notice["text"].as_str().unwrap_or("");
    assert_eq!(kind(notice), "notice", "{notice}");
    assert!(text.contains("3 días hábiles"), "{text}");
    assert!(text.contains(&id), "{text}");
    let (_u2, _, id2) = user_with_ticket(&server, "Otro caso.").await;

    let no_cookie = server.get("/agent/tickets").await;
    assert_ne!(no_cookie.status, 200, "ticket list without login");
    assert!(!no_cookie.body.contains(&id));

    let ana = login(&server, "ana").await;
    let r = http_request(
        &server.http_url,
        "GET",
        "/agent/tickets",
        &[("Cookie", &ana)],
        b"",
    )
    .await;
    // Every agent answers cases from the list (issue 14, item 3).
    assert_eq!(r.status, 200, "an agent cannot list the cases");
    assert!(r.body.contains(&id));

    let sofia = login(&server, "sofia").await;
    let r = http_request(
        &server.http_url,
        "GET",
        "/agent/tickets",
        &[("Cookie", &sofia)],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.header("content-type").unwrap_or("").contains("text/html"),
        "{:?}",
        r.headers
    );
    assert!(r.body.contains(&id), "{id} not in the list");
    assert!(r.body.contains(&id2), "{id2} not in the list");
    let r = http_request(
        &server.http_url,
        "GET",
        &format!("/agent/tickets?q={id2}"),
        &[("Cookie", &sofia)],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains(&id2) && !r.body.contains(&id),
        "q={id2} did not filter"
    );
}

#[tokio::test]
async fn no_agents_notice_only_when_no_console_is_connected() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let (_ana, _) = agent_console(&server, "ana").await;
    let (mut user, _) = server.fresh().await;
    let (id, mut frames) = open_ticket(&mut user, "Tengo un problema con la firma.").await;
    frames.extend(user.drain(Duration::from_millis(500)).await);
    let wrong: Vec<&Value> = bot_replies(&frames)
        .into_iter()
        .filter(|r| {
            r["text"]
                .as_str()
                .unwrap_or("")
                .contains("no hay asesores conectados")
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "ticket {id} was opened with an agent console connected, yet the user was told nobody is online:\n{}",
        pretty(&frames)
    );
}

// ----------------------------------------------------------------------- 7

#[tokio::test]
async fn asking_how_the_case_goes_gives_the_ticket_status() {
    let server = TestServer::default_start();
    let (mut user, _, id) = user_with_ticket(&server, "No puedo cargar documentos.").await;
    let frames = user.say("¿cómo va mi caso?").await;
    let bots = bot_replies(&frames);
    let first = bots[0];
    assert_eq!(
        source_id(first),
        "estado-de-caso",
        "not answered from estado-de-caso:\n{}",
        pretty(&frames)
    );
    let status = bots
        .iter()
        .skip(1)
        .find(|r| r["ticket"]["id"].is_string())
        .unwrap_or_else(|| panic!("no reply carrying the ticket:\n{}", pretty(&frames)));
    assert_eq!(status["ticket"]["id"], id.as_str(), "{status}");
}

// ----------------------------------------------------------------------- 8

#[tokio::test]
async fn report_unanswered_groups_the_same_question() {
    let server = TestServer::default_start();
    for q in ["cómo saco el pasaporte", "Cómo saco el PASAPORTE?"] {
        let reply = ask_fresh(&server, q).await;
        assert_eq!(kind(&reply), "fallback", "{q}: {reply}");
    }
    let reply = ask_fresh(&server, "cuénteme un chiste").await;
    assert_eq!(kind(&reply), "fallback", "{reply}");

    let data = server.data_dir.to_str().unwrap().to_owned();
    let out = run_cli(&["report", "unanswered", "--data", &data], "");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // Everything the report printed, for the failure messages below.
    let shown = format!(
        "{stdout}\n--- stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "report failed: {shown}");
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            l.split('\t')
                .next()
                .is_some_and(|c| c.parse::<u64>().is_ok())
        })
        .collect();
    let first = rows
        .first()
        .unwrap_or_else(|| panic!("no rows in the report:\n{shown}"));
    let cols: Vec<&str> = first.split('\t').collect();
    assert_eq!(cols[0], "2", "first row: {first}\n{shown}");
    assert!(
        cols.last().unwrap().to_lowercase().contains("pasaporte"),
        "first row is not the passport question: {first}\n{shown}"
    );
    assert!(
        !rows[1..]
            .iter()
            .any(|r| r.to_lowercase().contains("pasaporte")),
        "the two wordings were not grouped:\n{shown}"
    );
    assert!(
        rows.iter()
            .any(|r| r.starts_with("1\t") && r.contains("chiste")),
        "the single question is missing:\n{shown}"
    );
}

#[tokio::test]
async fn console_knowledge_search_answers_the_panel_that_asked() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let (mut agent, _) = agent_console(&server, "ana").await;
    let (mut user, _) = server.fresh().await;
    let session = user.session.clone().unwrap();
    open_ticket(&mut user, "No me llega el correo para recuperar la clave.").await;
    claim(&mut agent, &session).await;
    agent
        .send_json(json!({"type": "search", "query": "olvidé mi contraseña", "session": session}))
        .await;
    let got = agent.recv_until(|f| is_type(f, "search_results")).await;
    let results = got.last().unwrap();
    assert_eq!(results["session"], session.as_str(), "{results}");
    let items = results["items"].as_array().unwrap();
    assert_eq!(items[0]["id"], "olvide-mi-contrasena", "{results}");
    assert!(
        items[0]["text"].as_str().unwrap_or("").len() > 50,
        "{results}"
    );
}

// ------------------------------------------------- issue 13: console side

/// `GET path` with the agent's cookie.
async fn get_as(server: &TestServer, cookie: &str, path: &str) -> HttpResponse {
    http_request(&server.http_url, "GET", path, &[("Cookie", cookie)], b"").await
}

/// A user with an open ticket whose conversation `agent` has claimed.
async fn held_conversation(
    server: &TestServer,
    agent: &mut WsClient,
    descripcion: &str,
) -> (WsClient, String, String, Value) {
    let (mut user, session, id) = user_with_ticket(server, descripcion).await;
    let claimed = claim(agent, &session).await;
    assert!(is_type(&claimed, "claimed"), "{claimed}");
    user.recv_until(|f| is_agent_event(f, "joined")).await;
    (user, session, id, claimed)
}

#[tokio::test]
async fn agent_markdown_reaches_the_user_as_safe_html() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let (mut agent, _) = agent_console(&server, "ana").await;
    let (mut user, session, _, _) =
        held_conversation(&server, &mut agent, "No puedo entrar.").await;
    let text = "1. Use **«¿Olvidó su contraseña?»**.\n\n- Revise el spam.\n- Use el enlace más reciente.\n\n<img src=x onerror=alert(1)>";
    agent
        .send_json(json!({"type": "say", "session": session, "text": text}))
        .await;
    let frames = user
        .recv_until(|f| is_type(f, "reply") && f["from"] == "agent")
        .await;
    let reply = frames.last().unwrap();
    let html = reply["html"]
        .as_str()
        .unwrap_or_else(|| panic!("an agent's Markdown reached the user without html: {reply}"));
    assert!(
        html.contains("<strong>«¿Olvidó su contraseña?»</strong>"),
        "{html}"
    );
    assert!(html.contains("<li>Revise el spam.</li>"), "{html}");
    assert!(!html.contains("**"), "{html}");
    assert!(
        !html.contains("onerror") && !html.contains("<script"),
        "unsafe HTML: {html}"
    );
    // The plain text stays as written (clients without HTML, the stored record).
    assert_eq!(reply["text"], text.trim());
}

#[tokio::test]
async fn users_see_display_names_never_usernames() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("data");
    add_agent(&dir, "asesor7", &["--display-name", "Laura Gómez"]);
    let server = TestServer::start(Opts {
        data_dir: Some(dir),
        ..Opts::default()
    });
    let (mut agent, _) = agent_console(&server, "asesor7").await;
    let (mut user, session, id, _) =
        held_conversation(&server, &mut agent, "No puedo publicar.").await;
    agent
        .send_json(json!({"type": "say", "session": session, "text": "Hola, ¿en qué le ayudo?"}))
        .await;
    agent
        .send_json(json!({"type": "release", "session": session}))
        .await;
    user.recv_until(|f| is_agent_event(f, "left")).await;
    let claimed = claim(&mut agent, &session).await;
    assert!(is_type(&claimed, "claimed"), "{claimed}");
    agent
        .send_json(json!({"type": "resolve", "session": session, "note": "Se publicó."}))
        .await;
    user.recv_until(|f| is_ticket_status(f, &id, "resuelto"))
        .await;
    user.say("estado de mi caso").await;
    let mut again = server.connect().await;
    let welcome = again.hello(Some(&session), None).await;
    let log: Vec<String> = user.log.iter().map(Value::to_string).collect();
    let everything = format!("{}\n{welcome}", log.join("\n"));
    assert!(
        !everything.contains("asesor7"),
        "the user saw the agent's username:\n{everything}"
    );
    let joined = user
        .log
        .iter()
        .find(|f| is_agent_event(f, "joined"))
        .unwrap();
    assert_eq!(joined["name"], "Laura Gómez", "{joined}");
    assert!(
        everything.contains("Laura Gómez, del equipo de soporte, se unió"),
        "{everything}"
    );
}

#[tokio::test]
async fn typing_is_forwarded_only_while_held_throttled_and_never_stored() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let (mut agent, _) = agent_console(&server, "ana").await;
    let (mut user, session, _) = user_with_ticket(&server, "No me llega el correo.").await;
    // Nobody holds the conversation: nothing is forwarded, and no error either.
    user.send_json(json!({"type": "typing", "on": true})).await;
    let quiet = agent.drain(Duration::from_millis(700)).await;
    assert!(
        !quiet.iter().any(|f| is_type(f, "typing")),
        "typing forwarded with nobody holding the conversation:\n{}",
        pretty(&quiet)
    );
    assert!(
        !user
            .drain(Duration::from_millis(200))
            .await
            .iter()
            .any(|f| is_type(f, "error")),
        "typing got an error"
    );
    let claimed = claim(&mut agent, &session).await;
    assert!(is_type(&claimed, "claimed"), "{claimed}");
    user.recv_until(|f| is_agent_event(f, "joined")).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // User → agent: one "on" for a burst, then the "off".
    for _ in 0..6 {
        user.send_json(json!({"type": "typing", "on": true})).await;
    }
    let first = agent.recv_until(|f| is_type(f, "typing")).await;
    let on = first.last().unwrap();
    assert_eq!(
        on,
        &json!({"type": "typing", "session": session, "from": "user", "on": true})
    );
    let burst = agent.drain(Duration::from_millis(500)).await;
    assert!(
        !burst
            .iter()
            .any(|f| is_type(f, "typing") && f["on"] == true),
        "a burst of typing was not throttled:\n{}",
        pretty(&burst)
    );
    user.send_json(json!({"type": "typing", "on": false})).await;
    let off = agent.recv_until(|f| is_type(f, "typing")).await;
    assert_eq!(off.last().unwrap()["on"], false);

    // Agent → user, and an "off" on its own after a silence.
    agent
        .send_json(json!({"type": "typing", "session": session, "on": true}))
        .await;
    let frames = user.recv_until(|f| is_type(f, "typing")).await;
    assert_eq!(
        frames.last().unwrap(),
        &json!({"type": "typing", "from": "agent", "on": true})
    );
    let mut off = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(9);
    while off.is_none() && tokio::time::Instant::now() < deadline {
        if let Some(f) = user.try_recv(Duration::from_millis(500)).await {
            if is_type(&f, "typing") {
                off = Some(f);
            }
        }
    }
    assert_eq!(
        off.unwrap_or_else(|| panic!("no typing off after the agent went quiet")),
        json!({"type": "typing", "from": "agent", "on": false})
    );
    // The user's own tabs never get the user's typing; nothing is stored.
    user.send_json(json!({"type": "typing", "on": true})).await;
    let mut tab = server.connect().await;
    let welcome = tab.hello(Some(&session), None).await;
    let later = tab.drain(Duration::from_millis(500)).await;
    assert!(!welcome.to_string().contains("typing"), "{welcome}");
    assert!(
        !later.iter().any(|f| is_type(f, "typing")),
        "a user's tab got the user's own typing:\n{}",
        pretty(&later)
    );
}

#[tokio::test]
async fn internal_notes_reach_agents_and_supervisors_never_the_user() {
    let server = start_with_agents(&[("ana", "agent"), ("sofia", "supervisor")], &[]);
    let cookie = login(&server, "ana").await;
    let (mut agent, _) = agent_socket(&server, &cookie).await;
    let (mut user, session, id, claimed) =
        held_conversation(&server, &mut agent, "Error al firmar el pliego.").await;
    assert_eq!(claimed["notes"], json!([]), "{claimed}");
    // A second console of the same agent opens the case it holds.
    let (mut second, _) = agent_socket(&server, &cookie).await;
    second.recv_until(|f| is_type(f, "claimed")).await;
    let secret = "Nota interna: el usuario ya llamó dos veces, revisar certificado";
    agent
        .send_json(json!({"type": "note", "session": session, "text": secret}))
        .await;
    let frames = agent.recv_until(|f| is_type(f, "note")).await;
    let note = frames.last().unwrap();
    assert_eq!(note["session"], session.as_str());
    assert_eq!(note["text"], secret);
    assert_eq!(note["agent"], "ana");
    assert!(
        note["ts"].as_str().is_some_and(|t| t.contains('T')),
        "{note}"
    );
    // The other console that has the case open gets it too.
    second
        .recv_until(|f| is_type(f, "note") && f["text"] == secret)
        .await;
    // An empty note is refused; a note on a case not held is refused.
    agent
        .send_json(json!({"type": "note", "session": session, "text": "  "}))
        .await;
    let e = agent.recv_until(|f| is_type(f, "error")).await;
    assert_eq!(e.last().unwrap()["code"], "empty_text");

    // The user: nothing live, nothing in the history.
    let live = user.drain(Duration::from_millis(800)).await;
    let mut tab = server.connect().await;
    let welcome = tab.hello(Some(&session), None).await;
    let replayed = tab.drain(Duration::from_millis(300)).await;
    let seen: Vec<String> = std::iter::once(&welcome)
        .chain(&live)
        .chain(&replayed)
        .map(Value::to_string)
        .collect();
    let seen = seen.join("\n");
    assert!(
        !seen.contains("llamó dos veces"),
        "the user received an internal note:\n{seen}"
    );

    // Kept with the case: in `claimed` after a hand-back and a new claim…
    agent
        .send_json(json!({"type": "release", "session": session}))
        .await;
    agent.recv_until(|f| is_type(f, "released")).await;
    let again = claim(&mut agent, &session).await;
    assert_eq!(again["notes"][0]["text"], secret, "{again}");
    // …and on the supervisors' list.
    let sofia = login(&server, "sofia").await;
    let r = get_as(&server, &sofia, &format!("/agent/tickets?q={id}")).await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("llamó dos veces"),
        "note not on /agent/tickets"
    );
}

#[tokio::test]
async fn tickets_page_times_are_bogota_in_one_format() {
    let server = start_with_agents(&[("ana", "agent"), ("sofia", "supervisor")], &[]);
    let (mut agent, _) = agent_console(&server, "ana").await;
    let (_user, _session, id, claimed) =
        held_conversation(&server, &mut agent, "No puedo publicar.").await;
    let created: chrono::DateTime<chrono::Utc> = claimed["ticket"]["created_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // Colombia is UTC−5 all year.
    let local = (created - chrono::Duration::hours(5))
        .format("%d/%m/%Y %H:%M")
        .to_string();
    let due =
        chrono::NaiveDate::parse_from_str(claimed["ticket"]["due"].as_str().unwrap(), "%Y-%m-%d")
            .unwrap()
            .format("%d/%m/%Y")
            .to_string();
    let sofia = login(&server, "sofia").await;
    let r = get_as(&server, &sofia, &format!("/agent/tickets?q={id}")).await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains(&format!(">{local}</time>")),
        "created time {local} (Bogotá) not on the page:\n{}",
        r.body
    );
    assert!(
        r.body.contains(&format!(">{due}</time>")),
        "due date {due} not on the page"
    );
    let utc_iso = created.format("%Y-%m-%d %H:%M").to_string();
    assert!(
        !r.body.contains(&utc_iso),
        "a UTC time in another format: {utc_iso}"
    );
}

#[tokio::test]
async fn agents_see_cases_but_not_the_admin_page_and_get_a_spanish_403() {
    let server = start_with_agents(&[("ana", "agent"), ("sofia", "supervisor")], &[]);
    let ana = login(&server, "ana").await;
    let console = get_as(&server, &ana, "/agent").await;
    assert!(console.body.contains("href=\"/agent/tickets\""));
    assert!(
        !console.body.contains("/agent/admin"),
        "an agent's console links to the supervisors' page"
    );
    let r = get_as(&server, &ana, "/agent/admin").await;
    assert_eq!(r.status, 403);
    assert!(
        r.header("content-type").unwrap_or("").contains("text/html"),
        "{:?}",
        r.headers
    );
    assert!(r.body.contains("<html lang=\"es-CO\""), "{}", r.body);
    assert!(r.body.contains("solo para supervisores"), "{}", r.body);
    assert!(
        r.body.contains("href=\"/agent\""),
        "no way back: {}",
        r.body
    );
    let sofia = login(&server, "sofia").await;
    let console = get_as(&server, &sofia, "/agent").await;
    assert!(console.body.contains("href=\"/agent/admin\""));
}

#[tokio::test]
async fn canned_responses_are_checked_searchable_and_reloaded() {
    // `check`: a missing title, an empty body, an id used twice, with path:line.
    let (_tmp, k) = knowledge_copy();
    let answers = k.join("respuestas");
    std::fs::write(
        answers.join("sin-titulo.md"),
        "---\ntitle: \"\"\n---\nHola.\n",
    )
    .unwrap();
    std::fs::write(answers.join("vacia.md"), "---\ntitle: Vacía\n---\n\n").unwrap();
    std::fs::write(
        answers.join("olvide-mi-contrasena.md"),
        "---\ntitle: Repetida\n---\nTexto.\n",
    )
    .unwrap();
    let out = run_cli(&["check", "--knowledge", k.to_str().unwrap()], "");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    for (file, line, needle) in [
        ("sin-titulo.md", 2, "falta el título"),
        ("vacia.md", 4, "vacía"),
        ("olvide-mi-contrasena.md", 1, "ya existe"),
    ] {
        let path = answers.join(file);
        let expected = format!("{}:{line}:", path.display());
        assert!(
            text.lines()
                .any(|l| l.starts_with(&expected) && l.contains(needle)),
            "no «{expected} …{needle}…» in:\n{text}"
        );
    }

    // The console finds the bundled ones by a few letters of the title.
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let (mut agent, _) = agent_console(&server, "ana").await;
    agent
        .send_json(json!({"type": "canned", "query": "contrasena"}))
        .await;
    let frames = agent.recv_until(|f| is_type(f, "canned_results")).await;
    let items = frames.last().unwrap()["items"].as_array().unwrap().clone();
    let reset = items
        .iter()
        .find(|i| i["title"] == "Pasos para restablecer la contraseña")
        .unwrap_or_else(|| panic!("not found by «contrasena»: {items:?}"));
    assert!(reset["text"]
        .as_str()
        .unwrap()
        .contains("**«¿Olvidó su contraseña?»**"));
    agent
        .send_json(json!({"type": "canned", "query": ""}))
        .await;
    let all = agent.recv_until(|f| is_type(f, "canned_results")).await;
    let n = all.last().unwrap()["items"].as_array().unwrap().len();
    assert!((6..=10).contains(&n), "{n} canned responses bundled");
    // The bot never answers with them.
    let answer = ask_fresh(&server, "Cierre de la conversación").await;
    assert!(
        !answer.to_string().contains("Que tenga un buen día"),
        "{answer}"
    );

    // Reloaded with the folder.
    std::fs::write(
        server
            .knowledge_dir
            .join("respuestas")
            .join("horario-de-atencion.md"),
        "---\ntitle: Horario de atención\n---\nLe atendemos por este chat.\n",
    )
    .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        agent
            .send_json(json!({"type": "canned", "query": "horario"}))
            .await;
        let f = agent.recv_until(|f| is_type(f, "canned_results")).await;
        if f.last().unwrap()["items"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "a canned response added to the folder was not found within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The queue-position notices in `frames` (a reply's text, or a replayed one).
fn queue_notices(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .filter(|f| is_type(f, "reply"))
        .filter_map(|f| f["text"].as_str())
        .filter(|t| t.contains("en la fila"))
        .map(str::to_owned)
        .collect()
}

/// Waits until `ws` has received `n` queue-position notices in all.
async fn until_notices(ws: &mut WsClient, n: usize) {
    while queue_notices(&ws.log).len() < n {
        ws.recv().await;
    }
}

#[tokio::test]
async fn queue_positions_reach_connected_users_once_and_never_users_who_left() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let (mut agent, _) = agent_console(&server, "ana").await;
    let (mut first, first_session, _) =
        user_with_ticket(&server, "No puedo firmar el contrato electrónico").await;
    until_notices(&mut first, 1).await;
    let (mut second, second_session, _) =
        user_with_ticket(&server, "No me llega el correo de activación").await;
    until_notices(&mut second, 1).await;
    let (mut third, _, _) = user_with_ticket(&server, "El proceso no aparece publicado").await;
    until_notices(&mut third, 1).await;
    assert_eq!(
        queue_notices(&third.log),
        ["Hay 2 personas antes que usted en la fila. Un asesor le atenderá en cuanto sea su turno."],
        "{}",
        pretty(&third.log)
    );

    // The second user leaves; the first is taken: everyone moves up.
    let seen = second.max_seq();
    second.close().await;
    let claimed = claim(&mut agent, &first_session).await;
    assert!(is_type(&claimed, "claimed"), "{claimed}");
    until_notices(&mut third, 2).await;
    assert_eq!(
        queue_notices(&third.log)[1],
        "Hay 1 persona antes que usted en la fila. Un asesor le atenderá en cuanto sea su turno."
    );
    third.drain(Duration::from_millis(500)).await;
    assert_eq!(
        queue_notices(&third.log).len(),
        2,
        "a place told twice:\n{}",
        pretty(&third.log)
    );

    // Nothing was written to the user who left: the replay holds no notice.
    let mut back = server.connect().await;
    let welcome = back.hello(Some(&second_session), Some(seen)).await;
    back.drain(Duration::from_millis(300)).await;
    let replayed: Vec<Value> = welcome["history"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut m| {
            m["type"] = json!("reply");
            m
        })
        .chain(back.log.iter().cloned())
        .collect();
    assert!(
        queue_notices(&replayed).is_empty(),
        "a notice was stored for a user who had left:\n{welcome}\n{}",
        pretty(&back.log)
    );
}
