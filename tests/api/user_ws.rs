//! The user socket (`/ws`) and the HTTP routes around it.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

const PASSWORD_QUESTION: &str = "olvidé mi contraseña de SECOP II, cómo la recupero";

fn seq(reply: &Value) -> u64 {
    reply["seq"]
        .as_u64()
        .unwrap_or_else(|| panic!("reply without numeric seq: {reply}"))
}

#[tokio::test]
async fn password_question_is_answered_with_a_working_source_link() {
    let server = TestServer::default_start();
    let (mut ws, _) = server.fresh().await;
    let frames = ws.say(PASSWORD_QUESTION).await;
    let reply = first_bot(&frames);
    assert_eq!(kind(reply), "answer", "frames:\n{}", pretty(&frames));
    assert_eq!(source_id(reply), "olvide-mi-contrasena", "{reply}");
    assert_eq!(reply["from"], "bot", "{reply}");
    assert!(!reply["text"].as_str().unwrap_or("").trim().is_empty());

    let url = reply["sources"][0]["url"].as_str().expect("source url");
    assert_eq!(url, "/kb/olvide-mi-contrasena", "source url");
    let title = reply["sources"][0]["title"].as_str().expect("source title");
    assert!(!title.is_empty());
    let page = server.get(url).await;
    assert_eq!(page.status, 200, "GET {url}: {}", page.body);
    assert!(
        page.body.contains(title) || page.body.contains(&html_escape(title)),
        "the page at {url} does not show the title {title:?}:\n{}",
        page.body
    );
    assert!(
        page.header("content-type")
            .unwrap_or("")
            .contains("text/html"),
        "content-type of {url}: {:?}",
        page.header("content-type")
    );

    let missing = server.get("/kb/no-existe-esta-entrada").await;
    assert_eq!(missing.status, 404, "GET of an unknown entry");
}

#[tokio::test]
async fn courtesy_alone_gets_a_courtesy_reply_not_a_refusal() {
    let server = TestServer::default_start();
    let (mut ws, _) = server.fresh().await;
    for (text, expected) in [
        ("Buenas tardes", "¿En qué le puedo ayudar"),
        ("muchas gracias, muy amable", "Con gusto"),
        ("Hola, tengo una consulta", "Escriba su pregunta"),
    ] {
        let frames = ws.say(text).await;
        let reply = first_bot(&frames);
        assert_eq!(kind(reply), "notice", "{text}: {}", pretty(&frames));
        let said = reply["text"].as_str().unwrap_or("");
        assert!(said.contains(expected), "{text}: {said}");
        assert!(!said.contains("no encontré"), "{text}: {said}");
    }
    // A question with a greeting in front is still a question.
    let frames = ws
        .say("Hola, buenas. Olvidé mi contraseña de SECOP II")
        .await;
    let reply = first_bot(&frames);
    assert_eq!(kind(reply), "answer", "{}", pretty(&frames));
    assert_eq!(source_id(reply), "olvide-mi-contrasena", "{reply}");
}

/// Sends one bad thing and expects an `error` frame with a code and a Spanish message.
async fn expect_error(ws: &mut WsClient, what: &str, expected_code: Option<&str>) -> Value {
    let frame = ws.recv().await;
    assert!(
        is_type(&frame, "error"),
        "{what}: expected an error frame, got {frame}"
    );
    let code = frame["code"].as_str().unwrap_or("");
    assert!(!code.is_empty(), "{what}: error without code: {frame}");
    if let Some(c) = expected_code {
        assert_eq!(code, c, "{what}: {frame}");
    }
    let message = frame["message"].as_str().unwrap_or("");
    assert!(
        !message.trim().is_empty(),
        "{what}: error without message: {frame}"
    );
    // Spanish, for the user: not an English serde error.
    assert!(
        !message.contains("expected") && !message.contains("missing field"),
        "{what}: message is not for users: {message}"
    );
    frame
}

#[tokio::test]
async fn bad_frames_get_errors_and_the_socket_keeps_working() {
    let server = TestServer::default_start();
    let (mut ws, _) = server.fresh().await;

    ws.send_raw_text("esto no es json".into()).await;
    expect_error(&mut ws, "non-JSON text", Some("invalid_json")).await;

    ws.send_json(json!({"type": "dance"})).await;
    expect_error(&mut ws, "unknown type", Some("unknown_type")).await;

    ws.send_json(json!({"type": "say"})).await;
    expect_error(&mut ws, "say without text", Some("invalid_frame")).await;

    let big = format!(
        "{{\"type\":\"say\",\"text\":\"{}\"}}",
        "a".repeat(2 * 1024 * 1024)
    );
    ws.send_raw_text(big).await;
    expect_error(&mut ws, "2 MB frame", Some("frame_too_large")).await;

    ws.send_json(json!({"type": "say", "text": "   "})).await;
    expect_error(&mut ws, "blank text", Some("empty_text")).await;

    ws.send_binary(vec![0, 159, 146, 150]).await;
    expect_error(&mut ws, "binary frame", Some("binary_frame")).await;

    // Nothing else was sent in between.
    assert!(
        ws.try_recv(Duration::from_millis(200)).await.is_none(),
        "unexpected extra frame after the errors: {}",
        pretty(&ws.log)
    );

    let frames = ws
        .say("¿qué dicen los términos sobre el manejo de usuarios y contraseñas?")
        .await;
    let reply = first_bot(&frames);
    assert_eq!(kind(reply), "answer", "frames:\n{}", pretty(&frames));
    assert_eq!(source_id(reply), "manejo-de-usuarios", "{reply}");
}

#[tokio::test]
async fn say_before_hello_is_refused() {
    let server = TestServer::default_start();
    let mut ws = server.connect().await;
    ws.send_json(json!({"type": "say", "text": "hola"})).await;
    expect_error(&mut ws, "say before hello", Some("not_ready")).await;
    // The socket still works: hello now succeeds.
    let welcome = ws.hello(None, None).await;
    assert_eq!(welcome["resumed"], false, "{welcome}");
}

#[tokio::test]
async fn own_messages_are_stored_and_echoed_to_other_tabs_only() {
    let server = TestServer::default_start();
    let (mut tab1, welcome) = server.fresh().await;
    let session = tab1.session.clone().unwrap();
    let history = welcome["history"].as_array().unwrap().clone();
    assert!(
        !history.is_empty(),
        "a new conversation should start with the greeting: {welcome}"
    );
    let mut tab2 = server.connect().await;
    tab2.hello(Some(&session), Some(history.len() as u64)).await;

    let mut all: Vec<Value> = history.clone();
    for text in [
        PASSWORD_QUESTION,
        "¿Cuáles son los canales de atención de soporte?",
    ] {
        let before = tab1.max_seq();
        let frames = tab1.say(text).await;
        let rs = replies(&frames);
        // The tab that typed it already shows it: its first reply is the bot's,
        // one seq past the user's own (stored) message.
        assert!(
            rs.iter().all(|r| r["from"] != "user"),
            "the sending tab must not get its own echo: {}",
            pretty(&frames)
        );
        assert_eq!(seq(rs[0]), before + 2, "{}", pretty(&frames));
        // The other tab gets the echo, then the same replies.
        let mut other = Vec::new();
        while other.len() < rs.len() + 1 {
            let f = tab2.recv().await;
            if is_type(&f, "reply") {
                other.push(f);
            }
        }
        assert_eq!(other[0]["from"], "user", "{}", pretty(&other));
        assert_eq!(other[0]["kind"], "echo", "{}", other[0]);
        assert_eq!(other[0]["text"], text, "echo text");
        assert_eq!(seq(&other[0]), before + 1);
        for (a, b) in other.iter().skip(1).zip(rs.iter()) {
            assert_eq!(a, *b, "tab 2 got a different message than tab 1");
        }
        all.extend(other);
    }
    let seqs: Vec<u64> = all.iter().map(seq).collect();
    assert_eq!(seqs[0], 1, "the first message has seq 1: {seqs:?}");
    for w in seqs.windows(2) {
        assert_eq!(
            w[1],
            w[0] + 1,
            "seqs must increase by exactly one: {seqs:?}"
        );
    }
}

#[tokio::test]
async fn second_tab_gets_history_and_live_messages() {
    let server = TestServer::default_start();
    let (mut tab1, _) = server.fresh().await;
    let session = tab1.session.clone().unwrap();
    let mut asked = Vec::new();
    for text in [PASSWORD_QUESTION, "¿Cómo cambio el correo de mi usuario?"] {
        tab1.say(text).await;
        asked.push(text);
    }

    let mut tab2 = server.connect().await;
    let welcome2 = tab2.hello(Some(&session), Some(0)).await;
    assert_eq!(welcome2["session"], session.as_str());
    assert_eq!(welcome2["resumed"], true, "{welcome2}");
    let history = welcome2["history"].as_array().unwrap();
    // Everything tab 1 saw is there, in order, plus the user's own messages.
    let seqs: Vec<u64> = history.iter().map(seq).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "{}",
        pretty(history)
    );
    let seen_by_tab1: Vec<Value> = tab1
        .log
        .iter()
        .flat_map(|f| match f["history"].as_array() {
            Some(h) => h.clone(),
            None if is_type(f, "reply") => vec![as_reply(f)],
            None => vec![],
        })
        .collect();
    let bot_history: Vec<Value> = history
        .iter()
        .filter(|r| r["from"] != "user")
        .cloned()
        .collect();
    assert_eq!(
        bot_history,
        seen_by_tab1,
        "second tab's history differs from what tab 1 saw.\nhistory:\n{}\nseen:\n{}",
        pretty(&bot_history),
        pretty(&seen_by_tab1)
    );
    let user_texts: Vec<&str> = history
        .iter()
        .filter(|r| r["from"] == "user" && r["kind"] == "echo")
        .filter_map(|r| r["text"].as_str())
        .collect();
    assert_eq!(
        user_texts, asked,
        "history should include the user's messages"
    );

    let text = "¿Quién es el administrador de la cuenta?";
    let frames1 = tab1.say(text).await;
    let expected = replies(&frames1);
    // Tab 2 gets the echo and the same messages, live.
    let mut got = Vec::new();
    while got.len() < expected.len() + 1 {
        let f = tab2.recv().await;
        if is_type(&f, "reply") {
            got.push(f);
        }
    }
    assert_eq!(got[0]["from"], "user");
    assert_eq!(got[0]["kind"], "echo");
    assert_eq!(got[0]["text"], text);
    assert_ne!(got[1]["from"], "user", "bot reply on tab 2");
    for (a, b) in got.iter().skip(1).zip(expected.iter()) {
        assert_eq!(a, *b, "tab 2 got a different message than tab 1");
    }
}

#[tokio::test]
async fn unknown_session_starts_a_new_one() {
    let server = TestServer::default_start();
    let mut ws = server.connect().await;
    let asked = "AAAAAAAAAAAAAAAAAAAAAA";
    let welcome = ws.hello(Some(asked), Some(0)).await;
    assert_eq!(welcome["resumed"], false, "{welcome}");
    let token = welcome["session"].as_str().unwrap();
    assert_ne!(token, asked, "the server must hand out a new token");
    // And it works.
    let frames = ws.say(PASSWORD_QUESTION).await;
    assert_eq!(source_id(first_bot(&frames)), "olvide-mi-contrasena");
}

#[tokio::test]
async fn conversation_survives_kill_9() {
    let mut server = TestServer::default_start();
    let (mut ws, welcome) = server.fresh().await;
    let session = ws.session.clone().unwrap();
    let mut seen: Vec<Value> = welcome["history"].as_array().unwrap().clone();
    for text in [
        PASSWORD_QUESTION,
        "¿Cuáles son los canales de atención de soporte?",
        "¿Cómo registro un proveedor?",
    ] {
        let frames = ws.say(text).await;
        seen.extend(reply_objects(&frames));
    }
    // The whole conversation as the server told a second tab before the crash
    // (the user's own messages included: the typing tab gets no echo of them).
    let mut tab2 = server.connect().await;
    let before = tab2.hello(Some(&session), Some(0)).await;
    let before: Vec<Value> = before["history"].as_array().unwrap().clone();
    for r in &seen {
        assert!(before.contains(r), "tab 2's replay misses {r}");
    }
    let last = seq(before.last().unwrap());
    assert!(last >= 7, "{}", pretty(&before));

    server.kill9();
    server.restart();

    let mut ws = server.connect().await;
    let welcome = ws.hello(Some(&session), Some(1)).await;
    assert_eq!(
        welcome["resumed"], true,
        "session lost after kill -9: {welcome}"
    );
    assert_eq!(welcome["session"], session.as_str());
    let history = welcome["history"].as_array().unwrap();
    let expected: Vec<Value> = before.iter().filter(|r| seq(r) > 1).cloned().collect();
    assert_eq!(
        history,
        &expected,
        "replay after restart differs.\ngot:\n{}\nexpected:\n{}",
        pretty(history),
        pretty(&expected)
    );

    // New messages continue the sequence: the user's own takes last + 1.
    let frames = ws.say("¿Cómo cambio mi contraseña?").await;
    let rs = replies(&frames);
    assert_eq!(
        seq(rs[0]),
        last + 2,
        "seq after restart: {}",
        pretty(&frames)
    );
    for w in rs.windows(2) {
        assert_eq!(seq(w[1]), seq(w[0]) + 1);
    }
}

#[tokio::test]
async fn healthz_and_metrics() {
    let server = TestServer::default_start();
    // Some traffic, so the counters exist.
    let (mut ws, _) = server.fresh().await;
    ws.say(PASSWORD_QUESTION).await;

    let health = server.get("/healthz").await;
    assert_eq!(health.status, 200, "{}", health.body);
    let h = health.json();
    assert!(h["status"].is_string(), "{h}");
    assert!(
        h["knowledge"]["entries"].as_u64().unwrap_or(0) >= 13,
        "entries: {h}"
    );
    assert!(
        h["knowledge"]["flows"].as_u64().unwrap_or(0) >= 4,
        "flows: {h}"
    );
    assert!(h["knowledge"]["error"].is_null(), "error: {h}");
    assert!(
        h["knowledge"].get("loaded_at").is_some(),
        "loaded_at missing: {h}"
    );

    let metrics = server.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.body.contains("secobot_connections"),
        "no secobot_connections in /metrics:\n{}",
        metrics.body
    );
    assert!(
        metrics.body.contains("secobot_replies_total"),
        "no secobot_replies_total in /metrics:\n{}",
        metrics.body
    );
    ws.close().await;
}

const HORARIO: &str = "---
title: ¿Cuál es el horario de atención de las líneas telefónicas?
questions:
  - horario de atención de las líneas telefónicas los sábados
  - a qué hora atienden las líneas de soporte el sábado
  - atienden los fines de semana por teléfono
---
Las líneas telefónicas de soporte atienden en el horario publicado por Colombia Compra Eficiente. Consulte los canales de soporte para conocer el horario de los sábados.
";

#[tokio::test]
async fn knowledge_hot_reload_and_broken_file() {
    let server = TestServer::default_start();
    let path = server.knowledge_dir.join("faq/horario-de-atencion.md");
    std::fs::write(&path, HORARIO).unwrap();

    let question = "¿Cuál es el horario de atención de las líneas telefónicas los sábados?";
    // Upper bounds, not timings: a reload trains the folder's classifier,
    // which takes seconds on a loaded CI machine with a debug build.
    eventually(
        Duration::from_secs(30),
        "the new entry answers after a hot reload",
        || async {
            let reply = ask_fresh(&server, question).await;
            if source_id(&reply) == "horario-de-atencion" {
                Ok(())
            } else {
                let h = server.get("/healthz").await.body;
                Err(format!(
                    "{}\n/healthz: {h}\nstderr: {}",
                    pretty(&[reply]),
                    server.stderr()
                ))
            }
        },
    )
    .await;
    let h = server.get("/healthz").await.json();
    assert!(h["knowledge"]["error"].is_null(), "{h}");
    assert!(h["knowledge"]["entries"].as_u64().unwrap() >= 14, "{h}");

    // Break it: no closing `---`.
    let broken = HORARIO.replacen("---\nLas líneas", "Las líneas", 1);
    assert_ne!(broken, HORARIO);
    std::fs::write(&path, broken).unwrap();
    let h = eventually(
        Duration::from_secs(20),
        "/healthz reports the broken file",
        || async {
            let h = server.get("/healthz").await.json();
            match h["knowledge"]["error"].as_str() {
                Some(e) if e.contains("horario-de-atencion.md:") => Ok(h),
                _ => Err(h.to_string()),
            }
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    // path:line: message
    let err = h["knowledge"]["error"].as_str().unwrap();
    let after = err.split("horario-de-atencion.md:").nth(1).unwrap();
    let line: String = after.chars().take_while(char::is_ascii_digit).collect();
    assert!(
        !line.is_empty() && after[line.len()..].starts_with(':'),
        "error is not path:line: message: {err}"
    );
    // The last good knowledge keeps answering.
    let reply = ask_fresh(&server, PASSWORD_QUESTION).await;
    assert_eq!(kind(&reply), "answer", "{reply}");
    assert_eq!(source_id(&reply), "olvide-mi-contrasena", "{reply}");
    let reply = ask_fresh(&server, question).await;
    assert_eq!(
        source_id(&reply),
        "horario-de-atencion",
        "the last good knowledge (with the new entry) should stay in use: {reply}"
    );
}

/// PROTOCOL.md: the URL line is printed "once it is ready". An edit made right
/// after that line must not be lost.
#[tokio::test]
async fn knowledge_edit_right_after_the_ready_line_is_picked_up() {
    let server = TestServer::default_start();
    std::fs::write(
        server.knowledge_dir.join("faq/horario-de-atencion.md"),
        HORARIO,
    )
    .unwrap();
    // Entries live in faq/, its group folders and terms/.
    fn count(dir: &std::path::Path) -> u64 {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                if p.is_dir() {
                    count(&p)
                } else {
                    u64::from(p.extension().is_some_and(|x| x == "md"))
                }
            })
            .sum()
    }
    let expected =
        count(&server.knowledge_dir.join("faq")) + count(&server.knowledge_dir.join("terms"));
    eventually(
        Duration::from_secs(8),
        "a file written right after the ready line is loaded",
        || async {
            let h = server.get("/healthz").await.json();
            if h["knowledge"]["entries"].as_u64() == Some(expected) {
                Ok(())
            } else {
                Err(h.to_string())
            }
        },
    )
    .await;
}

#[tokio::test]
async fn feedback_is_recorded_and_checked() {
    let server = TestServer::default_start();
    let (mut ws, _) = server.fresh().await;
    let frames = ws.say(PASSWORD_QUESTION).await;
    let answer = seq(first_bot(&frames));
    ws.send_json(json!({"type": "feedback", "seq": answer, "useful": false}))
        .await;
    assert!(
        ws.try_recv(Duration::from_millis(500)).await.is_none(),
        "feedback on a real message gets no error"
    );
    ws.send_json(json!({"type": "feedback", "seq": 9999, "useful": true}))
        .await;
    let err = ws.recv().await;
    assert!(is_type(&err, "error"), "{err}");
    assert_eq!(err["code"], "unknown_seq");
    // The thumbs-down shows in the editors' report.
    let out = std::process::Command::new(bin())
        .args(["report", "unanswered", "--data"])
        .arg(&server.data_dir)
        .envs(crate::helpers::database_env(&server.data_dir))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    assert!(
        report
            .lines()
            .any(|l| l.contains(PASSWORD_QUESTION) && l.starts_with('1')),
        "the thumbs-down question should be listed once:\n{report}"
    );
}

#[tokio::test]
async fn sigterm_closes_sockets_with_1001_and_keeps_the_conversation() {
    let mut server = TestServer::default_start();
    let (mut ws, _) = server.fresh().await;
    let session = ws.session.clone().unwrap();
    let frames = ws.say(PASSWORD_QUESTION).await;
    let last = seq(replies(&frames).last().unwrap());
    let status = server.terminate();
    assert!(status.success(), "exit status after SIGTERM: {status}");
    assert_eq!(ws.close_code(Duration::from_secs(10)).await, Some(1001));

    server.restart();
    let mut again = server.connect().await;
    let welcome = again.hello(Some(&session), Some(0)).await;
    assert_eq!(welcome["resumed"], true);
    let history = welcome["history"].as_array().unwrap();
    assert_eq!(seq(history.last().unwrap()), last, "{}", pretty(history));
}

#[tokio::test]
async fn a_client_that_keeps_sending_garbage_is_closed_with_1008() {
    let server = TestServer::default_start();
    let (mut ws, _) = server.fresh().await;
    // The server may close before the last frame is sent: that is the point.
    for _ in 0..60 {
        if ws.try_send_raw_text("no es json".into()).await.is_err() {
            break;
        }
    }
    assert_eq!(ws.close_code(Duration::from_secs(10)).await, Some(1008));
    assert!(
        ws.log.iter().filter(|f| is_type(f, "error")).count() >= 49,
        "each refused frame gets an error before the close"
    );
    // The server goes on.
    let (mut other, _) = server.fresh().await;
    let frames = other.say(PASSWORD_QUESTION).await;
    assert_eq!(source_id(first_bot(&frames)), "olvide-mi-contrasena");
}

/// The server closed and dropped the socket with the flood still unread;
/// the kernel then reset the connection and the client, often, never read
/// the Close frame with 1008 and its reason (about one connection in four).
#[tokio::test]
async fn the_close_code_reaches_a_peer_that_is_still_sending() {
    let server = TestServer::default_start();
    for _ in 0..10 {
        let (mut ws, _) = server.fresh().await;
        for _ in 0..400 {
            if ws.try_send_raw_text("no es json".into()).await.is_err() {
                break;
            }
        }
        assert_eq!(ws.close_code(Duration::from_secs(10)).await, Some(1008));
    }
}

#[tokio::test]
async fn ack_confirms_the_senders_message_by_seq_even_when_nobody_answers() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let (mut user, session, _) = user_with_ticket(&server, "No puedo cargar la factura").await;
    let (mut agent, _) = agent_console(&server, "ana").await;
    assert!(is_type(&claim(&mut agent, &session).await, "claimed"));
    user.drain(Duration::from_millis(300)).await;
    // Held by an agent: the bot is quiet, the ack still comes, with the echo's seq.
    user.send_json(json!({"type": "say", "text": "¿Sigue ahí?", "client_id": "c-1"}))
        .await;
    let ack = user.recv_until(|f| is_type(f, "ack")).await.pop().unwrap();
    assert_eq!(ack["client_id"], "c-1", "{ack}");
    let echo = agent
        .recv_until(|f| is_type(f, "message") && f["reply"]["from"] == "user")
        .await
        .pop()
        .unwrap();
    assert_eq!(
        ack["seq"], echo["reply"]["seq"],
        "ack {ack} vs stored {echo}"
    );
    // A client without client_id (an old one) gets no ack: nothing changes for it.
    user.send_json(json!({"type": "say", "text": "Otra pregunta"}))
        .await;
    let frames = user.drain(Duration::from_millis(500)).await;
    assert!(
        !frames.iter().any(|f| is_type(f, "ack")),
        "{}",
        pretty(&frames)
    );
    // Back with the bot: the ack comes before the answer, one below its seq.
    agent
        .send_json(json!({"type": "release", "session": session}))
        .await;
    user.drain(Duration::from_millis(300)).await;
    user.send_json(json!({"type": "say", "text": PASSWORD_QUESTION, "client_id": "c-2"}))
        .await;
    let frames = user
        .recv_until(|f| is_type(f, "reply") && f["from"] == "bot")
        .await;
    let ack = frames
        .iter()
        .find(|f| is_type(f, "ack"))
        .unwrap_or_else(|| panic!("no ack before the answer:\n{}", pretty(&frames)));
    assert_eq!(ack["client_id"], "c-2");
    assert_eq!(
        seq(ack) + 1,
        seq(frames.last().unwrap()),
        "{}",
        pretty(&frames)
    );
}

#[tokio::test]
async fn too_long_text_is_refused_naming_the_limit() {
    let server = TestServer::default_start();
    let (mut ws, _) = server.fresh().await;
    ws.send_json(json!({"type": "say", "text": "a".repeat(4001)}))
        .await;
    let error = ws.recv_until(|f| is_type(f, "error")).await.pop().unwrap();
    assert_eq!(error["code"], "text_too_long");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("4.000 caracteres"), "{message}");
}

#[tokio::test]
async fn rating_only_after_resolution_once_and_in_range() {
    let server = start_with_agents(&[("sara", "supervisor")], &[]);
    let (mut user, session, ticket) = user_with_ticket(&server, "No puedo cargar la factura").await;
    let rate = |score: i64| json!({"type": "rating", "score": score, "comment": "Gracias"});
    // Not resolved yet.
    user.send_json(rate(5)).await;
    let e = user
        .recv_until(|f| is_type(f, "error"))
        .await
        .pop()
        .unwrap();
    assert_eq!(e["code"], "rating_not_due", "{e}");

    let (mut agent, _) = agent_console(&server, "sara").await;
    assert!(is_type(&claim(&mut agent, &session).await, "claimed"));
    agent
        .send_json(json!({"type": "resolve", "session": session, "note": "Listo."}))
        .await;
    user.recv_until(|f| is_type(f, "ticket") && f["status"] == "resuelto")
        .await;
    // A new tab is told a rating is due.
    let mut other = server.connect().await;
    let welcome = other.hello(Some(&session), None).await;
    assert_eq!(welcome["rating_due"], true, "{welcome}");

    for bad in [0, 6, -3] {
        user.send_json(rate(bad)).await;
        let e = user
            .recv_until(|f| is_type(f, "error"))
            .await
            .pop()
            .unwrap();
        assert_eq!(e["code"], "invalid_rating", "score {bad}: {e}");
    }
    user.send_json(json!({"type": "rating", "score": 3, "comment": "x".repeat(1001)}))
        .await;
    let e = user
        .recv_until(|f| is_type(f, "error"))
        .await
        .pop()
        .unwrap();
    assert_eq!(e["code"], "invalid_rating", "{e}");

    user.send_json(rate(5)).await;
    let rated = user
        .recv_until(|f| is_type(f, "rated"))
        .await
        .pop()
        .unwrap();
    assert_eq!(
        rated,
        json!({"type": "rated", "ticket": ticket, "score": 5})
    );
    // Once.
    other.send_json(rate(1)).await;
    let e = other
        .recv_until(|f| is_type(f, "error"))
        .await
        .pop()
        .unwrap();
    assert_eq!(e["code"], "rating_not_due", "{e}");
    let mut third = server.connect().await;
    let welcome = third.hello(Some(&session), None).await;
    assert!(welcome.get("rating_due").is_none(), "{welcome}");
    let metrics = http_get(&server.http_url, "/metrics").await.body;
    assert!(
        metrics.contains("secobot_ratings_total{score=\"5\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn transcript_is_private_printable_and_in_bogota_time() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let (user, session, ticket) = user_with_ticket(&server, "No puedo cargar la factura").await;
    user.close().await;
    // The link the widget gets in `welcome`.
    let mut again = server.connect().await;
    let welcome = again.hello(Some(&session), None).await;
    let link = welcome["transcript"].as_str().unwrap().to_owned();
    assert!(link.starts_with("/chat/transcript?key="), "{link}");
    let page = http_get(&server.http_url, &link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert!(page.body.contains(&ticket), "no ticket number");
    assert!(page.body.contains("No puedo cargar la factura"));
    assert!(page.body.contains("hora de Bogotá"));
    // Times as dd/mm/aaaa HH:MM, in Bogotá (UTC−5).
    let now = chrono::Utc::now() - chrono::Duration::hours(5);
    assert!(
        page.body.contains(&now.format("%d/%m/%Y").to_string()),
        "no Bogotá date in the transcript"
    );

    // An unknown or missing key, or the session token itself: the Spanish
    // 404 page, still not cached.
    let by_token = format!("/chat/transcript?session={session}");
    let token_as_key = format!("/chat/transcript?key={session}");
    for path in [
        "/chat/transcript?key=AAAAAAAAAAAAAAAAAAAAAA",
        "/chat/transcript",
        "/chat/transcript?key=../../etc",
        by_token.as_str(),
        token_as_key.as_str(),
    ] {
        let r = http_get(&server.http_url, path).await;
        assert_eq!(r.status, 404, "{path}");
        assert!(r.body.contains("No encontramos"), "{path}: {}", r.body);
        assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
    }

    // Agents see it by ticket, logged in; never with the user's token.
    let anonymous = http_get(&server.http_url, &format!("/agent/transcript/{ticket}")).await;
    assert!(
        anonymous.status == 303 || anonymous.status == 302 || anonymous.status == 307,
        "an anonymous request got {}",
        anonymous.status
    );
    assert!(!anonymous.body.contains("No puedo cargar la factura"));
    let cookie = login(&server, "ana").await;
    let agent_page = http_request(
        &server.http_url,
        "GET",
        &format!("/agent/transcript/{}", ticket.to_lowercase()),
        &[("Cookie", &cookie)],
        b"",
    )
    .await;
    assert_eq!(agent_page.status, 200);
    assert!(agent_page.body.contains("No puedo cargar la factura"));
    assert!(agent_page.body.contains(&ticket));
    let missing = http_request(
        &server.http_url,
        "GET",
        "/agent/transcript/SB-999999",
        &[("Cookie", &cookie)],
        b"",
    )
    .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn embed_script_carries_only_the_allowed_origins() {
    let server = TestServer::start(Opts {
        args: vec![
            "--allowed-origins".into(),
            "https://www.colombiacompra.gov.co,bad origin;x".into(),
        ],
        ..Opts::default()
    });
    let js = http_get(&server.http_url, "/embed.js").await;
    assert_eq!(js.status, 200);
    assert!(
        js.header("content-type")
            .unwrap()
            .starts_with("text/javascript"),
        "{:?}",
        js.headers
    );
    assert!(
        js.body
            .contains(r#"const ALLOWED = ["https://www.colombiacompra.gov.co"];"#),
        "{}",
        &js.body[..600.min(js.body.len())]
    );
    let widget = http_get(&server.http_url, "/").await;
    let csp = widget.header("content-security-policy").unwrap();
    assert!(
        csp.contains("frame-ancestors 'self' https://www.colombiacompra.gov.co"),
        "{csp}"
    );
    let plain = TestServer::default_start();
    let js = http_get(&plain.http_url, "/embed.js").await;
    assert!(js.body.contains("const ALLOWED = [];"));
}

#[tokio::test]
async fn every_page_links_the_favicon_and_it_is_served() {
    let server = TestServer::default_start();
    for path in [
        "/",
        "/kb",
        "/kb/olvide-mi-contrasena",
        "/kb/no-existe",
        "/agent",
        "/ruta-que-no-existe",
    ] {
        let page = http_get(&server.http_url, path).await;
        assert!(
            page.body
                .contains(r#"<link rel="icon" href="/assets/favicon.svg""#),
            "{path} has no favicon"
        );
    }
    let icon = http_get(&server.http_url, "/assets/favicon.svg").await;
    assert_eq!(icon.status, 200);
    assert_eq!(icon.header("content-type"), Some("image/svg+xml"));
}

#[tokio::test]
async fn transcript_link_cannot_take_over_the_conversation() {
    let server = TestServer::default_start();
    let (mut ws, _) = server.fresh().await;
    let session = ws.session.clone().unwrap();
    ws.say("olvidé mi contraseña").await;
    let mut again = server.connect().await;
    let welcome = again.hello(Some(&session), None).await;
    let link = welcome["transcript"].as_str().unwrap().to_owned();
    assert!(!link.contains(&session), "{link}");
    let key = link.trim_start_matches("/chat/transcript?key=").to_owned();
    // Whoever has the forwarded link cannot resume the conversation with it.
    let mut stranger = server.connect().await;
    let theirs = stranger.hello(Some(&key), None).await;
    assert_ne!(theirs["session"], session.as_str(), "{theirs}");
    assert!(
        !theirs["history"]
            .to_string()
            .contains("olvidé mi contraseña"),
        "{theirs}"
    );
    // The link survives a restart (the key's secret is in the data folder).
    let mut server = server;
    server.restart();
    let page = http_get(&server.http_url, &link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("olvidé mi contraseña"));
}

#[tokio::test]
async fn several_questions_in_one_message_answer_the_first_and_offer_the_others() {
    let server = TestServer::default_start();
    let (mut ws, _) = server.fresh().await;
    let frames = ws
        .say("¿Cómo recupero mi contraseña olvidada? Y también, ¿cómo cargo la factura en el plan de pagos del contrato?")
        .await;
    let reply = first_bot(&frames);
    assert_eq!(kind(reply), "answer", "frames:\n{}", pretty(&frames));
    assert_eq!(source_id(reply), "olvide-mi-contrasena", "{reply}");
    let buttons = buttons_of(reply);
    let (label, value) = buttons
        .iter()
        .find(|(label, _)| label.starts_with("También preguntó"))
        .unwrap_or_else(|| panic!("no «También preguntó» button: {buttons:?}"));
    assert!(label.contains("factura"), "{label}");
    // The button answers the other question.
    let frames = ws.choose(value).await;
    let reply = first_bot(&frames);
    assert_eq!(kind(reply), "answer", "frames:\n{}", pretty(&frames));
    assert_eq!(source_id(reply), "cargar-factura-plan-pagos", "{reply}");

    // A message about another service is refused with its advice, and the
    // clear SECOP II question in one of its clauses is offered, not answered.
    let frames = ws
        .say("¿Cómo cambio la contraseña del correo institucional? Es de Google Workspace")
        .await;
    let reply = first_bot(&frames);
    assert_eq!(kind(reply), "fallback", "frames:\n{}", pretty(&frames));
    let buttons = buttons_of(reply);
    assert!(
        buttons
            .iter()
            .any(|(label, value)| label.starts_with("También preguntó") && value.contains("correo")),
        "the clear clause is not offered: {buttons:?}"
    );
}

/// «¿…? Si no se puede por aquí, que me llame un asesor»: the question is
/// answered first, and the person it was conditioned on is one button away.
#[tokio::test]
async fn a_request_for_a_person_conditioned_on_the_answer_answers_first() {
    let server = TestServer::default_start();
    let (mut ws, _) = server.fresh().await;
    let frames = ws
        .say("Buenas tardes, ¿cómo cambio el correo electrónico de mi usuario? Si no se puede por este medio, quisiera hablar con un asesor.")
        .await;
    let reply = first_bot(&frames);
    assert_eq!(kind(reply), "answer", "frames:\n{}", pretty(&frames));
    assert_eq!(source_id(reply), "cambiar-correo", "{reply}");
    let buttons = buttons_of(reply);
    let (_, value) = buttons
        .iter()
        .find(|(label, _)| label == "Hablar con una persona")
        .unwrap_or_else(|| panic!("no «Hablar con una persona» button: {buttons:?}"));
    // The button starts the case flow, as typing the request would.
    let frames = ws.choose(value).await;
    let reply = first_bot(&frames);
    assert_eq!(kind(reply), "flow", "frames:\n{}", pretty(&frames));
    assert_eq!(flow_id(reply), "crear-caso", "{reply}");
}
