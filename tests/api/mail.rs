//! E-mail through a real SMTP server process (aiosmtpd, `scripts/smtp-sink.py`,
//! installed by scripts/test.sh under target/pylib): the case confirmation,
//! an agent's reply after the user left, the resolution; and the outbox when
//! SMTP is down, across a crash.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use tempfile::TempDir;

use crate::helpers::*;

/// A real SMTP server writing each message it accepts to a folder.
pub(crate) struct SmtpSink {
    child: Child,
    port: u16,
    dir: TempDir,
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpSink {
    pub(crate) fn start_on(port: u16, fail_first: u32) -> SmtpSink {
        let pylib = manifest_dir().join("target/pylib");
        assert!(
            pylib.join("aiosmtpd").exists(),
            "aiosmtpd is missing under {}: run scripts/test.sh, which installs it with pip",
            pylib.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("python3")
            .arg(manifest_dir().join("scripts/smtp-sink.py"))
            .args([
                "--port",
                &port.to_string(),
                "--fail-first",
                &fail_first.to_string(),
            ])
            .arg("--dir")
            .arg(dir.path())
            .env("PYTHONPATH", &pylib)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 for the SMTP server");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the SMTP server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpSink { child, port, dir }
    }

    pub(crate) fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, in order.
    pub(crate) fn messages(&self) -> Vec<String> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| decode_body(&std::fs::read_to_string(p).unwrap()))
            .collect()
    }

    pub(crate) async fn wait_for(&self, n: usize, what: &str) -> Vec<String> {
        eventually(Duration::from_secs(30), what, || async {
            let m = self.messages();
            if m.len() >= n {
                Ok(m)
            } else {
                Err(format!("{} messages: {m:?}", m.len()))
            }
        })
        .await
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Headers as sent, and the body with quoted-printable soft breaks and
/// `=XX` escapes undone, so tests can look for Spanish text.
fn decode_body(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.lines().find_map(|l| {
        l.split_once(':')
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    })
}

pub(crate) fn mail_args(smtp: &str) -> Vec<String> {
    vec![
        "--smtp-url".into(),
        smtp.into(),
        "--mail-from".into(),
        "Soporte SECOP II <soporte@ayuda.test>".into(),
        "--public-url".into(),
        "https://ayuda.test".into(),
        "--mail-retry-secs".into(),
        "1".into(),
    ]
}

async fn outbox(server: &TestServer) -> Value {
    server.get("/healthz").await.json()["outbox"].clone()
}

#[tokio::test]
async fn case_confirmation_reaches_the_user_by_mail() {
    let smtp = SmtpSink::start_on(free_port(), 0);
    let server = TestServer::start(Opts {
        args: mail_args(&smtp.url()),
        ..Opts::default()
    });
    let (_ws, _session, id) = user_with_ticket(
        &server,
        "No puedo cargar la póliza en el proceso CD-77-2026",
    )
    .await;
    let mail = smtp.wait_for(1, "the case confirmation").await;
    let m = &mail[0];
    assert!(m.contains("X-Envelope-To: ana.perez@example.com"), "{m}");
    assert!(header(m, "Subject").is_some_and(|s| s.contains(&id)), "{m}");
    assert!(
        header(m, "Message-ID").is_some_and(|s| s.contains("ayuda.test")),
        "{m}"
    );
    assert!(m.contains("No puedo cargar la póliza"), "{m}");
    assert!(m.contains("3 días hábiles"), "{m}");
    assert!(m.contains("https://ayuda.test/"), "{m}");
    let o = outbox(&server).await;
    assert_eq!(o["smtp"], true, "{o}");
    assert_eq!(o["backlog"]["queued"], 0, "{o}");
    assert_eq!(o["backlog"]["sent"], 1, "{o}");
}

/// SMTP down: the mail waits in the outbox, survives `kill -9`, and is sent
/// exactly once when the server comes back, after a retry.
#[tokio::test]
async fn smtp_down_loses_nothing_across_a_crash() {
    let port = free_port();
    let mut server = TestServer::start(Opts {
        args: mail_args(&format!("smtp://127.0.0.1:{port}")),
        ..Opts::default()
    });
    let (_ws, _session, id) =
        user_with_ticket(&server, "El sistema no me deja firmar el contrato").await;
    eventually(Duration::from_secs(15), "the mail queued", || async {
        let o = outbox(&server).await;
        if o["backlog"]["queued"] == 1 {
            Ok(())
        } else {
            Err(o.to_string())
        }
    })
    .await;
    server.kill9();
    server.restart();
    let o = outbox(&server).await;
    assert_eq!(o["backlog"]["queued"], 1, "the queued mail was lost: {o}");
    // The SMTP server comes up, refusing the first attempt once (451).
    let smtp = SmtpSink::start_on(port, 1);
    let mail = smtp.wait_for(1, "the queued confirmation").await;
    assert!(header(&mail[0], "Subject").is_some_and(|s| s.contains(&id)));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(smtp.messages().len(), 1, "sent twice");
    let o = outbox(&server).await;
    assert_eq!(
        (o["backlog"]["queued"].clone(), o["backlog"]["sent"].clone()),
        (json!(0), json!(1)),
        "{o}"
    );
    let metrics = server.get("/metrics").await.body;
    assert!(metrics.contains("secobot_mail_sent_total 1"), "{metrics}");
}

/// An agent's reply reaches the user by mail only while no tab of theirs is
/// open; the resolution always does, with the note and the links.
#[tokio::test]
async fn agent_reply_is_mailed_when_the_user_has_left() {
    let smtp = SmtpSink::start_on(free_port(), 0);
    let mut args = mail_args(&smtp.url());
    let server = {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        start_with_agents(&[("sonia", "agent")], &a)
    };
    args.clear();
    let (mut agent, _) = agent_console(&server, "sonia").await;
    let (mut ws, session, _id) =
        user_with_ticket(&server, "Necesito cambiar el correo del usuario").await;
    smtp.wait_for(1, "the confirmation").await;
    let claimed = claim(&mut agent, &session).await;
    assert_eq!(claimed["type"], "claimed", "{claimed}");
    agent
        .send_json(json!({"type": "say", "session": session, "text": "Hola, ya reviso su caso."}))
        .await;
    ws.recv_until(|f| f["type"] == "reply" && f["from"] == "agent")
        .await;
    ws.close().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    agent
        .send_json(json!({"type": "say", "session": session, "text": "Listo: cambiamos el correo; revise su bandeja."}))
        .await;
    let mail = smtp.wait_for(2, "the reply after the user left").await;
    assert!(mail[1].contains("cambiamos el correo"), "{}", mail[1]);
    assert!(
        !mail.iter().any(|m| m.contains("ya reviso su caso")),
        "a reply seen live was mailed"
    );
    agent
        .send_json(json!({"type": "resolve", "session": session, "note": "Correo actualizado en la plataforma."}))
        .await;
    let mail = smtp.wait_for(3, "the resolution").await;
    let r = &mail[2];
    assert!(r.contains("Correo actualizado en la plataforma."), "{r}");
    assert!(r.contains("https://ayuda.test/chat/transcript?key="), "{r}");
    assert!(
        !r.contains(&session),
        "the mail carries the session token: {r}"
    );
}

#[tokio::test]
async fn without_smtp_url_mail_is_queued_not_sent() {
    let server = TestServer::default_start();
    user_with_ticket(&server, "No encuentro el botón de la factura").await;
    let o = outbox(&server).await;
    assert_eq!(o["smtp"], false, "{o}");
    assert_eq!(o["backlog"]["queued"], 1, "{o}");
}

/// The console says when mail is not configured, and how much waits.
#[tokio::test]
async fn console_says_mail_is_not_configured() {
    let server = start_with_agents(&[("sonia", "agent")], &[]);
    user_with_ticket(&server, "No me llega el correo de activación").await;
    let cookie = login(&server, "sonia").await;
    let ws = ws_upgrade(&agent_ws_url(&server), &[("Cookie", &cookie)])
        .await
        .unwrap_or_else(|status| panic!("agent upgrade refused with {status}"));
    let hello = WsClient::from_stream(ws).recv().await;
    assert_eq!(hello["type"], "hello", "{hello}");
    assert_eq!(
        hello["mail"],
        json!({"smtp": false, "queued": 1}),
        "{hello}"
    );
}

#[tokio::test]
async fn reply_from_the_tickets_page_reaches_a_user_who_left_by_mail_and_in_the_chat() {
    let smtp = SmtpSink::start_on(free_port(), 0);
    let args = mail_args(&smtp.url());
    let server = {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        start_with_agents(&[("sonia", "agent")], &a)
    };
    let (ws, session, id) = user_with_ticket(&server, "No puedo cargar la póliza").await;
    let last_seen = ws.max_seq();
    smtp.wait_for(1, "the confirmation").await;
    ws.close().await;
    let cookie = login(&server, "sonia").await;
    let case = format!("/agent/tickets/{id}");
    eventually(
        Duration::from_secs(10),
        "the user's tab to close",
        || async {
            let r = http_request(&server.http_url, "GET", &case, &[("Cookie", &cookie)], b"").await;
            if r.body.contains("El usuario no está conectado") {
                Ok(())
            } else {
                Err(r.body)
            }
        },
    )
    .await;
    let origin = server.http_url.trim_end_matches('/').to_owned();
    let r = http_request(
        &server.http_url,
        "POST",
        &format!("{case}/reply"),
        &[
            ("Cookie", &cookie),
            ("Origin", &origin),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        format!(
            "texto={}",
            form_encode("La póliza debe subirse en PDF de menos de 10 MB; inténtelo de nuevo.")
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let mail = smtp.wait_for(2, "the reply from the tickets page").await;
    assert!(mail[1].contains("menos de 10 MB"), "{}", mail[1]);
    assert_eq!(header(&mail[1], "To"), Some("ana.perez@example.com"));
    assert!(mail[1].contains(&id), "{}", mail[1]);
    // Back in the same browser: the reply is in the conversation.
    let mut back = server.connect().await;
    let welcome = back.hello(Some(&session), Some(last_seen)).await;
    assert!(
        welcome["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["from"] == "agent" && m["text"].as_str().unwrap().contains("menos de 10 MB")),
        "{welcome}"
    );
}
