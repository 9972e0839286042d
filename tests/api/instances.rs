//! Two `secobot serve` processes on one PostgreSQL database (issue 15): a
//! user on one and an agent on the other chat in real time, the queue is the
//! same on both, a claim is exclusive across them, and when one is killed its
//! user resumes on the other by seq.

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
