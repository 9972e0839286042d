//! Two `secobot serve` processes on one PostgreSQL database (issue 15): a
//! user on one and an agent on the other chat in real time, the queue is the
//! same on both, a claim is exclusive across them, and when one is killed its
//! user resumes on the other by seq.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;
use crate::postgres_support::Postgres;

/// A server on the shared database `url`, with its own data folder (the
/// admin socket) and its own copy of the knowledge.
fn instance(url: &str) -> TestServer {
    TestServer::start(Opts {
        args: vec!["--database".into(), url.into()],
        ..Opts::default()
    })
}

/// `secobot agent add NAME --database URL` (no server needed: the database
/// serves both).
fn add_agent_to(url: &str, name: &str) {
    let folder = tempfile::tempdir().unwrap();
    add_agent(&folder.path().join("data"), name, &["--database", url]);
}

fn reply_text(f: &Value) -> Option<&str> {
    if is_type(f, "reply") {
        f["text"].as_str()
    } else if is_type(f, "message") {
        f["reply"]["text"].as_str()
    } else {
        None
    }
}

/// Every `seq` of a reply (user socket) or message (agent socket) frame in
/// `frames`, in arrival order.
fn seqs(frames: &[Value]) -> Vec<u64> {
    frames
        .iter()
        .filter_map(|f| {
            if is_type(f, "reply") {
                f["seq"].as_u64()
            } else if is_type(f, "message") {
                f["reply"]["seq"].as_u64()
            } else {
                None
            }
        })
        .collect()
}

#[tokio::test]
async fn two_instances_share_the_queue_claims_and_conversations_across_a_kill() {
    let pg = Postgres::start();
    let url = pg.url().to_owned();
    add_agent_to(&url, "laura");
    add_agent_to(&url, "andres");
    let mut a = instance(&url);
    let b = instance(&url);

    // A user on A opens a case; an agent on B sees it in the queue.
    let (mut laura, _) = agent_console(&b, "laura").await;
    let (mut user, session, ticket) =
        user_with_ticket(&a, "Alguien intentó entrar a mi cuenta").await;
    let queue = laura
        .recv_until(|f| is_type(f, "queue") && queue_item(f, &session).is_some())
        .await
        .pop()
        .unwrap();
    assert_eq!(queue_item(&queue, &session).unwrap()["ticket"], ticket);

    // An agent on A sees the same queue.
    let (mut andres, first) = agent_console(&a, "andres").await;
    assert!(
        queue_item(&first, &session).is_some(),
        "the queue on A misses B's case: {first}"
    );

    // Laura (on B) claims it; the user on A hears she joined.
    let claimed = claim(&mut laura, &session).await;
    assert!(is_type(&claimed, "claimed"), "{claimed}");
    user.recv_until(|f| is_type(f, "agent") && f["event"] == "joined")
        .await;
    let held_from = user.max_seq();
    // A's console shows it held, and Andrés (on A) cannot take it.
    andres
        .recv_until(|f| {
            is_type(f, "queue") && queue_item(f, &session).is_some_and(|i| i["held_by"] == "laura")
        })
        .await;
    let refused = claim(&mut andres, &session).await;
    assert!(is_type(&refused, "error"), "{refused}");
    assert_eq!(refused["code"], "ya_tomado", "{refused}");

    // Twenty messages each way, in order, each seen by the other side.
    for i in 1..=20 {
        let from_agent = format!("Mensaje {i} de Laura");
        laura
            .send_json(json!({"type": "say", "session": session, "text": from_agent}))
            .await;
        user.recv_until(|f| reply_text(f) == Some(from_agent.as_str()))
            .await;
        let from_user = format!("Respuesta {i} del usuario");
        user.send_json(json!({"type": "say", "text": from_user}))
            .await;
        laura
            .recv_until(|f| reply_text(f) == Some(from_user.as_str()))
            .await;
    }
    let user_seqs = seqs(&user.log);
    assert!(
        user_seqs.windows(2).all(|w| w[0] < w[1]),
        "the user saw seqs out of order: {user_seqs:?}"
    );
    let agent_seqs: Vec<u64> = seqs(&laura.log);
    assert!(
        agent_seqs.windows(2).all(|w| w[0] < w[1]),
        "the agent saw seqs out of order: {agent_seqs:?}"
    );
    // The bot stayed quiet on A while Laura held the conversation.
    assert!(
        !user.log.iter().any(|f| is_type(f, "reply")
            && f["from"] == "bot"
            && f["seq"].as_u64().unwrap_or(0) > held_from),
        "the bot answered on A during the live chat:\n{}",
        pretty(&user.log)
    );

    // A dies. The user reconnects to B and gets exactly what came after the
    // last seq its socket received (its own last words are not echoed to
    // the tab that typed them, so they come back too).
    let seen = user.max_seq();
    drop(andres);
    a.kill9();
    let after_kill = "Mensaje de Laura mientras A estaba caído";
    laura
        .send_json(json!({"type": "say", "session": session, "text": after_kill}))
        .await;
    laura
        .recv_until(|f| reply_text(f) == Some(after_kill))
        .await;
    let mut back = b.connect().await;
    let welcome = back.hello(Some(&session), Some(seen)).await;
    assert_eq!(
        welcome["session"],
        session.as_str(),
        "not resumed: {welcome}"
    );
    let history: Vec<Value> = welcome["history"].as_array().cloned().unwrap_or_default();
    let replayed: Vec<u64> = history.iter().filter_map(|r| r["seq"].as_u64()).collect();
    assert_eq!(
        replayed,
        [seen + 1, seen + 2],
        "resuming after {seen} should replay exactly the messages written since: {history:?}"
    );
    assert_eq!(history[0]["text"], "Respuesta 20 del usuario");
    assert_eq!(history[1]["text"], after_kill);

    // And the conversation goes on, with the next seq.
    back.send_json(json!({"type": "say", "text": "Sigo aquí, ahora en B"}))
        .await;
    let got = laura
        .recv_until(|f| reply_text(f) == Some("Sigo aquí, ahora en B"))
        .await;
    assert_eq!(got.last().unwrap()["reply"]["seq"].as_u64(), Some(seen + 3));
}

/// What one user of the load test saw and sent.
#[derive(Default)]
struct Seen {
    session: String,
    /// seq → (from, text) of every reply the user's sockets received.
    replies: std::collections::BTreeMap<u64, (String, String)>,
    /// What the user typed, each acknowledged by the bot's answer.
    said: Vec<String>,
    /// Whether the user had to move to the other instance.
    moved: bool,
}

/// A user socket that survives its server's death: frames, or `None` when
/// the socket broke.
struct Resilient {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Resilient {
    async fn connect(url: &str) -> Option<Resilient> {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.ok()?;
        Some(Resilient { ws })
    }

    async fn send(&mut self, frame: Value) -> Option<()> {
        use futures_util::SinkExt;
        self.ws
            .send(tokio_tungstenite::tungstenite::Message::Text(
                frame.to_string().into(),
            ))
            .await
            .ok()
    }

    /// The next JSON frame; `None` when the socket broke or 10 s passed.
    async fn recv(&mut self) -> Option<Value> {
        use futures_util::StreamExt;
        loop {
            let next = tokio::time::timeout(std::time::Duration::from_secs(10), self.ws.next());
            match next.await {
                Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t)))) => {
                    return serde_json::from_str(t.as_str()).ok();
                }
                Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))))
                | Ok(Some(Err(_)))
                | Ok(None)
                | Err(_) => return None,
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}

impl Seen {
    fn record(&mut self, reply: &Value) {
        if let Some(seq) = reply["seq"].as_u64() {
            let from = reply["from"].as_str().unwrap_or_default().to_owned();
            let text = reply["text"].as_str().unwrap_or_default().to_owned();
            self.replies.insert(seq, (from, text));
        }
    }

    fn last_seq(&self) -> u64 {
        self.replies.keys().next_back().copied().unwrap_or(0)
    }

    /// `hello` on `url`, resuming after what was seen; the history replayed.
    async fn resume(&mut self, url: &str) -> Option<(Resilient, Vec<Value>)> {
        let mut ws = Resilient::connect(url).await?;
        let session = (!self.session.is_empty()).then(|| self.session.clone());
        ws.send(json!({"type": "hello", "session": session, "last_seq": self.last_seq()}))
            .await?;
        loop {
            let f = ws.recv().await?;
            if is_type(&f, "welcome") {
                let history = f["history"].as_array().cloned().unwrap_or_default();
                self.session = f["session"].as_str()?.to_owned();
                for r in &history {
                    self.record(r);
                }
                return Some((ws, history));
            }
        }
    }
}

/// One user: `turns` questions on `home`, moving to `fallback` when `home`
/// dies (resuming by seq, and asking again what the dead server never
/// stored).
async fn load_user(
    home: String,
    fallback: String,
    user: usize,
    turns: usize,
    done: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> Seen {
    let mut seen = Seen::default();
    let mut url = home.clone();
    let (mut ws, _) = seen.resume(&url).await.expect("first hello");
    let mut turn = 1;
    while turn <= turns {
        let text = format!("¿Cómo recupero mi contraseña? (usuario {user}, pregunta {turn})");
        let start = seen.last_seq();
        let answered = async {
            ws.send(json!({"type": "say", "text": text})).await?;
            loop {
                let f = ws.recv().await?;
                if is_type(&f, "reply") {
                    seen.record(&f);
                    if f["from"] != "user" && f["seq"].as_u64().unwrap_or(0) >= start + 2 {
                        return Some(());
                    }
                }
            }
        }
        .await;
        if answered.is_some() {
            seen.said.push(text);
            done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            turn += 1;
            continue;
        }
        // The server died: resume on the other one.
        seen.moved = true;
        url.clone_from(&fallback);
        let mut tries = 0;
        let (fresh, history) = loop {
            if let Some(ok) = seen.resume(&url).await {
                break ok;
            }
            tries += 1;
            assert!(tries < 20, "user {user} could not resume on {url}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        ws = fresh;
        // Stored before the crash (the question and its answer commit
        // together): it counts; otherwise it is asked again.
        if history
            .iter()
            .any(|r| r["from"] == "user" && r["text"] == text.as_str())
        {
            seen.said.push(text);
            turn += 1;
        }
    }
    seen
}

#[tokio::test]
async fn sixty_four_users_on_two_instances_lose_nothing_when_one_is_killed() {
    let pg = Postgres::start();
    let url = pg.url().to_owned();
    let generous = [
        "--turns-per-second",
        "10000",
        "--turns-burst",
        "10000",
        "--new-conversations-burst",
        "10000",
        "--database",
    ];
    let start = |url: &str| {
        let mut args: Vec<String> = generous.iter().map(|s| s.to_string()).collect();
        args.push(url.to_owned());
        TestServer::start(Opts {
            args,
            ..Opts::default()
        })
    };
    let mut a = start(&url);
    let b = start(&url);
    const USERS: usize = 64;
    const TURNS: usize = 6;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for user in 0..USERS {
        let (home, fallback) = if user % 2 == 0 {
            (a.ws_url.clone(), b.ws_url.clone())
        } else {
            (b.ws_url.clone(), b.ws_url.clone())
        };
        tasks.push(tokio::spawn(load_user(
            home,
            fallback,
            user,
            TURNS,
            done.clone(),
        )));
    }
    // Kill A while the users are mid-conversation: a third of all turns done.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while done.load(std::sync::atomic::Ordering::Relaxed) < USERS * TURNS / 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the users made no progress"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    a.kill9();
    let mut users = Vec::new();
    for task in tasks {
        users.push(task.await.expect("a user task panicked"));
    }

    // What each user saw and said is on B, whole, in order, once.
    let mut moved = 0;
    for (i, user) in users.iter().enumerate() {
        assert_eq!(user.said.len(), TURNS, "user {i} did not finish");
        let mut reader = b.connect().await;
        let welcome = reader.hello(Some(&user.session), Some(0)).await;
        assert_eq!(welcome["session"], user.session.as_str());
        let mut stored: Vec<Value> = welcome["history"].as_array().cloned().unwrap_or_default();
        stored.extend(reader.drain(std::time::Duration::from_millis(300)).await);
        let stored: Vec<&Value> = stored
            .iter()
            .filter(|r| r["seq"].as_u64().is_some())
            .collect();
        let seqs: Vec<u64> = stored.iter().filter_map(|r| r["seq"].as_u64()).collect();
        let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
        assert_eq!(seqs, expected, "user {i}: seqs not 1..n");
        for (seq, (from, text)) in &user.replies {
            let r = stored
                .iter()
                .find(|r| r["seq"].as_u64() == Some(*seq))
                .unwrap_or_else(|| panic!("user {i}: seq {seq} ({text}) is not stored"));
            assert_eq!(
                (r["from"].as_str(), r["text"].as_str()),
                (Some(from.as_str()), Some(text.as_str())),
                "user {i}, seq {seq}"
            );
        }
        for text in &user.said {
            let times = stored
                .iter()
                .filter(|r| r["from"] == "user" && r["text"] == text.as_str())
                .count();
            assert_eq!(times, 1, "user {i}: {text:?} stored {times} times");
        }
        if user.moved {
            assert_eq!(i % 2, 0, "user {i} of B had to move");
            moved += 1;
        }
    }
    assert_eq!(moved, USERS / 2, "every user of A moves to B");
}

/// The grace rules hold when an agent's instance dies: the conversation they
/// held goes back to the queue once no instance has seen them for the grace
/// period, told by another instance (the dead one cannot).
#[tokio::test]
async fn an_agent_whose_instance_died_gives_the_conversation_back_after_the_grace() {
    let pg = Postgres::start();
    let url = pg.url().to_owned();
    add_agent_to(&url, "laura");
    add_agent_to(&url, "andres");
    let server = |grace: &str| {
        TestServer::start(Opts {
            args: vec![
                "--database".into(),
                url.clone(),
                "--agent-grace-secs".into(),
                grace.into(),
            ],
            ..Opts::default()
        })
    };
    let mut a = server("2");
    let b = server("2");
    let (mut user, session, _) = user_with_ticket(&b, "Mi usuario está bloqueado").await;
    let (mut laura, _) = agent_console(&a, "laura").await;
    let claimed = claim(&mut laura, &session).await;
    assert!(is_type(&claimed, "claimed"), "{claimed}");
    user.recv_until(|f| is_type(f, "agent") && f["event"] == "joined")
        .await;
    // Andrés watches the queue from B.
    let (mut andres, _) = agent_console(&b, "andres").await;

    a.kill9();
    // Nobody sees Laura for 6 s (presence), then 2 s of grace: the user on B
    // hears she left, and B's queue shows the case waiting again.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match user.try_recv(left).await {
            Some(f) if is_type(&f, "agent") && f["event"] == "left" => break,
            Some(_) => continue,
            None => panic!("the user never heard Laura left:\n{}", pretty(&user.log)),
        }
    }
    andres
        .recv_until(|f| {
            is_type(f, "queue") && queue_item(f, &session).is_some_and(|i| i["held_by"].is_null())
        })
        .await;
    // And Andrés may take it now.
    let taken = claim(&mut andres, &session).await;
    assert!(is_type(&taken, "claimed"), "{taken}");
}

#[tokio::test]
async fn users_on_an_instance_without_consoles_are_told_of_agents_on_another_once() {
    let pg = Postgres::start();
    let url = pg.url().to_owned();
    add_agent_to(&url, "laura");
    let a = instance(&url);
    let b = instance(&url);

    // Before anyone opens a console, A says nobody can attend.
    let (_, welcome) = a.fresh().await;
    assert_eq!(welcome["agents"]["available"], false, "{welcome}");

    // Laura opens hers on B: within a few heartbeats, A says someone can.
    let (_laura, _) = agent_console(&b, "laura").await;
    eventually(
        Duration::from_secs(15),
        "A to see the agent on B",
        || async {
            let (_, welcome) = a.fresh().await;
            if welcome["agents"]["available"] == true {
                Ok(())
            } else {
                Err(welcome.to_string())
            }
        },
    )
    .await;

    // A user on A opens a case: no "nobody is connected" message, and one
    // place in the queue (B has the console, A has the user: only A speaks).
    let (mut user, _, _) = user_with_ticket(&a, "No puedo entrar a mi cuenta").await;
    let notices = |log: &[Value]| -> Vec<String> {
        log.iter()
            .filter_map(reply_text)
            .filter(|t| t.contains("en la fila") || t.contains("no hay asesores"))
            .map(str::to_owned)
            .collect()
    };
    while notices(&user.log).is_empty() {
        user.recv().await;
    }
    user.drain(Duration::from_secs(5)).await;
    assert_eq!(
        notices(&user.log),
        ["Usted es el siguiente en la fila. Un asesor le atenderá en breve."],
        "{}",
        pretty(&user.log)
    );
}

#[tokio::test]
async fn an_agent_reply_on_another_instance_is_mailed_only_once_the_user_has_left() {
    use crate::mail::{free_port, mail_args, SmtpSink};
    let smtp = SmtpSink::start_on(free_port(), 0);
    let pg = Postgres::start();
    let url = pg.url().to_owned();
    add_agent_to(&url, "laura");
    let with_mail = |url: &str| {
        let mut args = vec!["--database".to_owned(), url.to_owned()];
        args.extend(mail_args(&smtp.url()));
        TestServer::start(Opts {
            args,
            ..Opts::default()
        })
    };
    let a = with_mail(&url);
    let b = with_mail(&url);

    // The user is on A, the agent on B.
    let (mut laura, _) = agent_console(&b, "laura").await;
    let (mut user, session, _) = user_with_ticket(&a, "No me llega el correo de activación").await;
    smtp.wait_for(1, "the confirmation").await;
    let claimed = claim(&mut laura, &session).await;
    assert!(is_type(&claimed, "claimed"), "{claimed}");
    // Give A's heartbeat time to record the user (it runs every 2 s).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let live = "Hola, ya reviso su caso.";
    laura
        .send_json(json!({"type": "say", "session": session, "text": live}))
        .await;
    user.recv_until(|f| reply_text(f) == Some(live)).await;

    // The user leaves A; the next reply, written on B, goes by mail.
    user.close().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let later = "Listo: cambiamos el correo; revise su bandeja.";
    laura
        .send_json(json!({"type": "say", "session": session, "text": later}))
        .await;
    let mail = smtp.wait_for(2, "the reply after the user left").await;
    assert!(mail[1].contains("cambiamos el correo"), "{}", mail[1]);
    assert!(
        !mail.iter().any(|m| m.contains("ya reviso su caso")),
        "a reply the user read live on A was mailed by B:\n{mail:?}"
    );
}
