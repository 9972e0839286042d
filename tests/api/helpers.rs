//! Shared test machinery: a real server process, a WebSocket client that speaks
//! PROTOCOL.md, and a minimal HTTP GET.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Markup that must reach the other side as text, never as an element.
pub const XSS: &str = "<img src=x onerror=alert(1)>";

/// How long one frame may take to arrive.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(5);
/// After a turn's first bot reply, further frames of the same turn arrive within this.
pub const QUIET: Duration = Duration::from_millis(60);

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The server binary: this build's, or `SECOBOT_TEST_BIN` (e.g. a release
/// build, for the figures in `hardening::figures_for_issue_12`).
pub fn bin() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var("SECOBOT_TEST_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_secobot").to_owned())
    })
}

/// `SECOBOT_DATABASE` for a process on data folder `data`, when the tests
/// run against PostgreSQL (see `postgres_support::database_for`).
pub fn database_env(data: &Path) -> Vec<(&'static str, String)> {
    crate::postgres_support::database_for(data)
        .map(|url| vec![("SECOBOT_DATABASE", url)])
        .unwrap_or_default()
}

/// Copies a folder recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A private copy of the bundled knowledge folder, editable by a test.
pub fn knowledge_copy() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("knowledge");
    copy_dir(&manifest_dir().join("knowledge"), &k);
    (dir, k)
}

#[derive(Default, Clone)]
pub struct Opts {
    /// Reuse this data folder instead of a fresh one.
    pub data_dir: Option<PathBuf>,
    /// Extra `serve` arguments.
    pub args: Vec<String>,
    /// Serve this knowledge folder (e.g. a symlink) instead of a fresh copy.
    pub knowledge: Option<PathBuf>,
}

/// The real binary, serving on 127.0.0.1 with a free port.
pub struct TestServer {
    child: Option<Child>,
    pub http_url: String,
    pub ws_url: String,
    pub data_dir: PathBuf,
    pub knowledge_dir: PathBuf,
    opts: Opts,
    stderr_path: PathBuf,
    _tmp: TempDir,
}

impl TestServer {
    pub fn start(opts: Opts) -> TestServer {
        let tmp = tempfile::tempdir().unwrap();
        let knowledge_dir = match &opts.knowledge {
            Some(dir) => dir.clone(),
            None => {
                let dir = tmp.path().join("knowledge");
                copy_dir(&manifest_dir().join("knowledge"), &dir);
                dir
            }
        };
        let data_dir = opts
            .data_dir
            .clone()
            .unwrap_or_else(|| tmp.path().join("data"));
        let stderr_path = tmp.path().join("server.stderr");
        let mut server = TestServer {
            child: None,
            http_url: String::new(),
            ws_url: String::new(),
            data_dir,
            knowledge_dir,
            opts,
            stderr_path,
            _tmp: tmp,
        };
        server.spawn();
        server
    }

    /// A server with default options.
    pub fn default_start() -> TestServer {
        TestServer::start(Opts::default())
    }

    fn spawn(&mut self) {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.stderr_path)
            .unwrap();
        let mut cmd = Command::new(bin());
        cmd.arg("serve")
            .arg("--addr")
            .arg("127.0.0.1:0")
            .arg("--data")
            .arg(&self.data_dir)
            .arg("--knowledge")
            .arg(&self.knowledge_dir)
            .arg("--templates")
            .arg(manifest_dir().join("templates"))
            .args(&self.opts.args)
            .env("RUST_LOG", "warn")
            .envs(database_env(&self.data_dir))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr));
        let mut child = cmd.spawn().expect("failed to spawn secobot");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            // Keep draining stdout for the whole life of the process.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        let url = loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = find_url(&line) {
                        break url;
                    }
                    seen.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "secobot did not print its http:// URL within 30 s.\nstdout:\n{}\nstderr:\n{}",
                        seen.join("\n"),
                        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
                    );
                }
            }
        };
        self.ws_url = format!("{}/ws", url.replacen("http://", "ws://", 1));
        self.http_url = url;
        self.child = Some(child);
    }

    /// SIGKILL: no graceful shutdown.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits for the process to exit; returns its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("server not running");
        let pid = libc::pid_t::try_from(child.id()).expect("pid fits pid_t");
        // SAFETY: sending a signal to our own child process has no memory effects.
        let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(sent, 0, "kill(SIGTERM) failed");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().expect("wait on the server") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not exit within 20 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts again on the same data and knowledge folders (killing first if needed).
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// The server's process id (to signal it or change its limits).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server not running").id()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// A new WebSocket connection (no `hello` sent yet).
    pub async fn connect(&self) -> WsClient {
        WsClient::connect(&self.ws_url).await
    }

    /// A new connection that has said `hello` with no session.
    pub async fn fresh(&self) -> (WsClient, Value) {
        let mut ws = self.connect().await;
        let welcome = ws.hello(None, None).await;
        (ws, welcome)
    }

    pub async fn get(&self, path: &str) -> HttpResponse {
        http_get(&self.http_url, path).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn find_url(line: &str) -> Option<String> {
    let start = line.find("http://")?;
    let rest = &line[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ')' || c == '>')
        .unwrap_or(rest.len());
    Some(rest[..end].trim_end_matches('/').to_owned())
}

// ------------------------------------------------------------------ WebSocket

pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Every JSON frame received, in order.
    pub log: Vec<Value>,
    /// The session token from `welcome`.
    pub session: Option<String>,
}

impl WsClient {
    pub async fn connect(url: &str) -> WsClient {
        let connected =
            tokio::time::timeout(FRAME_TIMEOUT, tokio_tungstenite::connect_async(url)).await;
        let (ws, _) = match connected {
            Err(_) => panic!("timed out connecting to {url}"),
            Ok(Err(e)) => panic!("could not connect to {url}: {e}"),
            Ok(Ok(pair)) => pair,
        };
        WsClient {
            ws,
            log: Vec::new(),
            session: None,
        }
    }

    /// Reads until the server closes the socket; returns the close code (and
    /// the JSON frames that came first are kept in `log`).
    pub async fn close_code(&mut self, wait: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return None,
                Ok(None) | Ok(Some(Err(_))) => return None,
                Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
                Ok(Some(Ok(Message::Text(t)))) => {
                    if let Ok(v) = serde_json::from_str::<Value>(t.as_str()) {
                        self.log.push(v);
                    }
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    pub async fn send_json(&mut self, value: Value) {
        self.send_raw_text(value.to_string()).await;
    }

    pub async fn send_raw_text(&mut self, text: String) {
        self.try_send_raw_text(text)
            .await
            .expect("failed to send a text frame");
    }

    /// Sends a text frame; fails once the server has closed the connection,
    /// which a test that floods it may see before its last frame.
    pub async fn try_send_raw_text(
        &mut self,
        text: String,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        self.ws.send(Message::Text(text.into())).await
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.ws
            .send(Message::Binary(bytes.into()))
            .await
            .expect("failed to send a binary frame");
    }

    /// The next JSON frame, or `None` if nothing arrives within `wait`.
    pub async fn try_recv(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let msg = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return None,
                Ok(None) => panic!(
                    "socket closed by the server; frames so far:\n{}",
                    pretty(&self.log)
                ),
                Ok(Some(Err(e))) => {
                    panic!("socket error: {e}; frames so far:\n{}", pretty(&self.log))
                }
                Ok(Some(Ok(m))) => m,
            };
            match msg {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(t.as_str())
                        .unwrap_or_else(|e| panic!("server sent non-JSON text ({e}): {t}"));
                    assert!(
                        v.get("type").and_then(Value::as_str).is_some(),
                        "server frame without a string `type`: {v}"
                    );
                    self.log.push(v.clone());
                    return Some(v);
                }
                Message::Close(frame) => panic!(
                    "server closed the socket ({frame:?}); frames so far:\n{}",
                    pretty(&self.log)
                ),
                Message::Binary(b) => panic!("server sent a binary frame ({} bytes)", b.len()),
                _ => continue,
            }
        }
    }

    /// The next JSON frame; panics after 5 s.
    pub async fn recv(&mut self) -> Value {
        match self.try_recv(FRAME_TIMEOUT).await {
            Some(v) => v,
            None => panic!(
                "no frame from the server within {FRAME_TIMEOUT:?}; frames so far:\n{}",
                pretty(&self.log)
            ),
        }
    }

    /// Frames until (and including) the first one `stop` accepts.
    pub async fn recv_until(&mut self, mut stop: impl FnMut(&Value) -> bool) -> Vec<Value> {
        let mut got = Vec::new();
        loop {
            let v = self.recv().await;
            let done = stop(&v);
            got.push(v);
            if done {
                return got;
            }
        }
    }

    /// Like `drain`, but a close by the server ends it (`Err` with the close
    /// code) instead of panicking.
    pub async fn drain_or_closed(&mut self, quiet: Duration) -> Result<Vec<Value>, Option<u16>> {
        let mut got = Vec::new();
        loop {
            match tokio::time::timeout(quiet, self.ws.next()).await {
                Err(_) => return Ok(got),
                Ok(None) | Ok(Some(Err(_))) => return Err(None),
                Ok(Some(Ok(Message::Close(frame)))) => return Err(frame.map(|f| u16::from(f.code))),
                Ok(Some(Ok(Message::Text(t)))) => {
                    if let Ok(v) = serde_json::from_str::<Value>(t.as_str()) {
                        self.log.push(v.clone());
                        got.push(v);
                    }
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Whatever else arrives before the socket goes quiet.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<Value> {
        let mut got = Vec::new();
        while let Some(v) = self.try_recv(quiet).await {
            got.push(v);
        }
        got
    }

    /// Sends `hello` and returns the `welcome`.
    pub async fn hello(&mut self, session: Option<&str>, last_seq: Option<u64>) -> Value {
        let mut frame = json!({ "type": "hello", "session": session });
        if let Some(n) = last_seq {
            frame["last_seq"] = json!(n);
        }
        self.send_json(frame).await;
        let got = self
            .recv_until(|f| is_type(f, "welcome") || is_type(f, "error"))
            .await;
        let welcome = got.last().unwrap().clone();
        assert!(
            is_type(&welcome, "welcome"),
            "hello got {welcome} instead of welcome"
        );
        let s = welcome["session"]
            .as_str()
            .unwrap_or_else(|| panic!("welcome without session: {welcome}"));
        assert!(!s.is_empty(), "empty session token");
        assert!(
            welcome["history"].is_array(),
            "welcome without history array: {welcome}"
        );
        self.session = Some(s.to_owned());
        // Frames that follow the welcome right away (an open ticket) are kept in the log.
        welcome
    }

    /// The highest `seq` this client has seen (replies and welcome history).
    pub fn max_seq(&self) -> u64 {
        self.log
            .iter()
            .flat_map(|f| {
                let own = f["seq"].as_u64();
                let history = f["history"]
                    .as_array()
                    .map(|h| h.iter().filter_map(|r| r["seq"].as_u64()).max())
                    .unwrap_or(None);
                [own, history]
            })
            .flatten()
            .max()
            .unwrap_or(0)
    }

    /// Frames of one turn: up to the first reply not from the user (or an
    /// `error` instead), then whatever follows at once. The user's own message
    /// takes the next seq but is echoed only to the session's *other* tabs, so
    /// the answer is the first reply past that seq; frames left over from an
    /// earlier turn come before it and are skipped (they stay in `log`).
    async fn turn(&mut self) -> Vec<Value> {
        let start = self.max_seq();
        let mut got = Vec::new();
        loop {
            let f = self.recv().await;
            let error = is_type(&f, "error");
            let user = is_type(&f, "reply") && f["from"].as_str() == Some("user");
            let bot = is_type(&f, "reply") && !user;
            let seq = f["seq"].as_u64().unwrap_or(0);
            if error || (bot && seq >= start + 2) {
                got.push(f);
                break;
            }
        }
        got.extend(self.drain(QUIET).await);
        got
    }

    /// Types a message; returns the frames of the turn.
    pub async fn say(&mut self, text: &str) -> Vec<Value> {
        self.send_json(json!({ "type": "say", "text": text })).await;
        self.turn().await
    }

    /// Presses a button; returns the frames of the turn.
    pub async fn choose(&mut self, value: &str) -> Vec<Value> {
        self.send_json(json!({ "type": "choose", "value": value }))
            .await;
        self.turn().await
    }

    /// Asks for a person; returns the frames of the turn.
    pub async fn escalate(&mut self, text: Option<&str>) -> Vec<Value> {
        let mut frame = json!({ "type": "escalate" });
        if let Some(t) = text {
            frame["text"] = json!(t);
        }
        self.send_json(frame).await;
        self.turn().await
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

pub fn is_type(frame: &Value, t: &str) -> bool {
    frame["type"].as_str() == Some(t)
}

/// The `reply` frames of a turn.
pub fn replies(frames: &[Value]) -> Vec<&Value> {
    frames.iter().filter(|f| is_type(f, "reply")).collect()
}

/// A `reply` frame as the `reply` object it carries (as in `welcome.history`).
pub fn as_reply(frame: &Value) -> Value {
    let mut r = frame.clone();
    if let Some(o) = r.as_object_mut() {
        o.remove("type");
    }
    r
}

/// The `reply` objects of a turn.
pub fn reply_objects(frames: &[Value]) -> Vec<Value> {
    replies(frames).into_iter().map(as_reply).collect()
}

/// The bot's (non-user) replies of a turn.
pub fn bot_replies(frames: &[Value]) -> Vec<&Value> {
    frames
        .iter()
        .filter(|f| is_type(f, "reply") && f["from"].as_str() != Some("user"))
        .collect()
}

/// The first non-user reply of a turn (panics with the frames if none).
pub fn first_bot(frames: &[Value]) -> &Value {
    bot_replies(frames)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no bot reply in:\n{}", pretty(frames)))
}

/// The last non-user reply of a turn.
pub fn last_bot(frames: &[Value]) -> &Value {
    bot_replies(frames)
        .into_iter()
        .last()
        .unwrap_or_else(|| panic!("no bot reply in:\n{}", pretty(frames)))
}

pub fn kind(reply: &Value) -> &str {
    reply["kind"].as_str().unwrap_or("")
}

/// The id of the flow a `flow` reply belongs to.
pub fn flow_id(reply: &Value) -> &str {
    reply["flow"]["id"].as_str().unwrap_or("")
}

/// The step of the flow a `flow` reply shows.
pub fn flow_step(reply: &Value) -> &str {
    reply["flow"]["step"].as_str().unwrap_or("")
}

/// Whether `id` looks like a ticket id: `SB-` and six digits.
pub fn has_ticket_id(id: &str) -> bool {
    id.len() == 9 && id.starts_with("SB-") && id[3..].chars().all(|c| c.is_ascii_digit())
}

pub fn source_id(reply: &Value) -> &str {
    reply["sources"][0]["id"].as_str().unwrap_or("")
}

/// The buttons of a reply as (label, value) pairs.
pub fn buttons_of(reply: &Value) -> Vec<(String, String)> {
    reply["buttons"]
        .as_array()
        .map(|b| {
            b.iter()
                .map(|b| {
                    (
                        b["label"].as_str().unwrap_or_default().to_owned(),
                        b["value"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn button_values(reply: &Value) -> Vec<String> {
    reply["buttons"]
        .as_array()
        .map(|b| {
            b.iter()
                .filter_map(|b| b["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub fn pretty(frames: &[Value]) -> String {
    frames
        .iter()
        .map(|f| {
            let mut f = f.clone();
            // Long bodies make failures unreadable.
            if let Some(t) = f.get("text").and_then(Value::as_str) {
                if t.chars().count() > 160 {
                    f["text"] = json!(format!("{}…", t.chars().take(160).collect::<String>()));
                }
            }
            if f.get("html").is_some() {
                f["html"] = json!("…");
            }
            f.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A question on a fresh connection; the turn's first bot reply.
pub async fn ask_fresh(server: &TestServer, question: &str) -> Value {
    let (mut ws, _) = server.fresh().await;
    let frames = ws.say(question).await;
    let reply = first_bot(&frames).clone();
    ws.close().await;
    reply
}

// ----------------------------------------------------------------------- HTTP

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }
}

/// `GET base+path` over HTTP/1.1 with `Connection: close`.
pub async fn http_get(base: &str, path: &str) -> HttpResponse {
    request_within(Duration::from_secs(10), None, base, "GET", path, &[], b"").await
}

fn parse_response(raw: &[u8]) -> Option<HttpResponse> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked")
    });
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
            let size_str = std::str::from_utf8(&rest[..line_end]).ok()?;
            let size = usize::from_str_radix(size_str.split(';').next()?.trim(), 16).ok()?;
            rest = &rest[line_end + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(rest.get(..size)?);
            rest = rest.get(size + 2..)?;
        }
        body = out;
    }
    Some(HttpResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Handlebars-style HTML escaping, to look for a text inside a page.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// Polls `f` every 200 ms until it returns `Some`, or panics with `what` after `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let last = match f().await {
            Ok(v) => return v,
            Err(e) => e,
        };
        if tokio::time::Instant::now() >= deadline {
            panic!("{what}: not within {limit:?}; last attempt: {last}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// ------------------------------------------------------------ HTTP (any verb)

/// `METHOD base+path` over HTTP/1.1 with `Connection: close`, extra headers and a body.
pub async fn http_request(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    request_within(
        Duration::from_secs(15),
        None,
        base,
        method,
        path,
        headers,
        body,
    )
    .await
}

/// `http_request` from another local address (`127.x.y.z`), to be another client.
pub async fn http_request_from(
    source: &str,
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    request_within(
        Duration::from_secs(15),
        Some(source),
        base,
        method,
        path,
        headers,
        body,
    )
    .await
}

/// `http_request` that panics if the whole exchange takes longer than `limit`.
async fn request_within(
    limit: Duration,
    source: Option<&str>,
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let hostport = base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\nAccept: */*\r\nUser-Agent: secobot-tests\r\n"
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method != "GET" {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    let fut = async {
        let mut stream = match source {
            None => TcpStream::connect(hostport.as_str()).await.unwrap(),
            Some(source) => {
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
                socket.connect(hostport.parse().unwrap()).await.unwrap()
            }
        };
        stream.write_all(&bytes).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        raw
    };
    let raw = tokio::time::timeout(limit, fut)
        .await
        .unwrap_or_else(|_| panic!("{method} {path} timed out"));
    parse_response(&raw).unwrap_or_else(|| {
        panic!(
            "unparseable HTTP response to {method} {path}: {}",
            String::from_utf8_lossy(&raw)
        )
    })
}

// ----------------------------------------------------------------- Agents

/// The password the tests give every agent account.
pub fn password_for(name: &str) -> String {
    format!("clave-{name}-2024")
}

/// Runs `secobot ARGS…` with `stdin` as its standard input.
pub fn run_cli(args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let data = args
        .iter()
        .position(|a| *a == "--data")
        .and_then(|i| args.get(i + 1));
    let mut child = Command::new(bin())
        .args(args)
        .env("RUST_LOG", "warn")
        .envs(data.map(|d| database_env(Path::new(d))).unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("failed to run secobot");
    {
        let mut input = child.stdin.take().unwrap();
        let _ = input.write_all(stdin.as_bytes());
    }
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("secobot {args:?} did not finish within 60 s"))
        .expect("failed to wait for secobot")
}

/// `secobot agent add NAME --data DATA EXTRA…` with `password_for(NAME)` on stdin.
pub fn add_agent(data: &Path, name: &str, extra: &[&str]) {
    let data_s = data.to_str().unwrap();
    let mut args = vec!["agent", "add", name, "--data", data_s];
    args.extend_from_slice(extra);
    let out = run_cli(&args, &format!("{}\n", password_for(name)));
    assert!(
        out.status.success(),
        "secobot {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A server whose data folder got agent accounts before it started.
pub struct AgentServer {
    pub server: TestServer,
    _data: TempDir,
}

impl std::ops::Deref for AgentServer {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.server
    }
}

impl std::ops::DerefMut for AgentServer {
    fn deref_mut(&mut self) -> &mut TestServer {
        &mut self.server
    }
}

/// Creates the accounts `(name, role)` (role `agent` or `supervisor`), then starts
/// a server on that data folder with `args`.
pub fn start_with_agents(accounts: &[(&str, &str)], args: &[&str]) -> AgentServer {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("data");
    for (name, role) in accounts {
        add_agent(&dir, name, &["--role", role]);
    }
    let server = TestServer::start(Opts {
        data_dir: Some(dir),
        args: args.iter().map(|s| s.to_string()).collect(),
        ..Opts::default()
    });
    AgentServer {
        server,
        _data: data,
    }
}

/// `POST /agent/login` with a JSON body.
pub async fn login_json(server: &TestServer, user: &str, password: &str) -> HttpResponse {
    let body = json!({ "username": user, "password": password }).to_string();
    http_request(
        &server.http_url,
        "POST",
        "/agent/login",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .await
}

/// `POST /agent/login` form-encoded (as the login page's form does).
pub async fn login_form(server: &TestServer, user: &str, password: &str) -> HttpResponse {
    let body = format!(
        "username={}&password={}",
        form_encode(user),
        form_encode(password)
    );
    http_request(
        &server.http_url,
        "POST",
        "/agent/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .await
}

pub fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `secobot_agent=TOKEN` from a login response's `Set-Cookie`.
pub fn agent_cookie(response: &HttpResponse) -> Option<String> {
    response
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.split(';').next().unwrap_or("").trim().to_owned())
        .find(|pair| pair.starts_with("secobot_agent=") && pair.len() > "secobot_agent=".len())
}

/// Logs `name` in (JSON) and returns the cookie pair to send back.
pub async fn login(server: &TestServer, name: &str) -> String {
    let r = login_json(server, name, &password_for(name)).await;
    assert_eq!(r.status, 200, "login of {name} failed: {}", r.body);
    agent_cookie(&r).unwrap_or_else(|| {
        panic!(
            "login of {name}: no secobot_agent cookie in {:?}",
            r.headers
        )
    })
}

pub fn agent_ws_url(server: &TestServer) -> String {
    format!(
        "{}/agent/ws",
        server.http_url.replacen("http://", "ws://", 1)
    )
}

/// Tries a WebSocket upgrade with extra headers: the socket, or the HTTP status
/// the server refused it with.
pub async fn ws_upgrade(
    url: &str,
    headers: &[(&str, &str)],
) -> Result<WebSocketStream<MaybeTlsStream<TcpStream>>, u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::http::HeaderValue;
    let mut req = url.into_client_request().unwrap();
    for (k, v) in headers {
        let name: tokio_tungstenite::tungstenite::http::HeaderName = k.parse().unwrap();
        req.headers_mut()
            .insert(name, HeaderValue::from_str(v).unwrap());
    }
    match tokio::time::timeout(FRAME_TIMEOUT, tokio_tungstenite::connect_async(req)).await {
        Err(_) => panic!("timed out upgrading {url}"),
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(resp))) => Err(resp.status().as_u16()),
        Ok(Err(e)) => panic!("upgrade of {url} failed without an HTTP status: {e}"),
    }
}

impl WsClient {
    pub fn from_stream(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> WsClient {
        WsClient {
            ws,
            log: Vec::new(),
            session: None,
        }
    }
}

/// An agent console socket with `cookie`; checks the `hello` and returns the
/// socket and the first `queue` frame.
pub async fn agent_socket(server: &TestServer, cookie: &str) -> (WsClient, Value) {
    let ws = ws_upgrade(&agent_ws_url(server), &[("Cookie", cookie)])
        .await
        .unwrap_or_else(|status| panic!("agent upgrade refused with {status}"));
    let mut ws = WsClient::from_stream(ws);
    let hello = ws.recv().await;
    assert!(
        is_type(&hello, "hello"),
        "first agent frame is not hello: {hello}"
    );
    let queue = ws.recv().await;
    assert!(
        is_type(&queue, "queue"),
        "second agent frame is not queue: {queue}"
    );
    (ws, queue)
}

/// Logs in as `name` and opens a console.
pub async fn agent_console(server: &TestServer, name: &str) -> (WsClient, Value) {
    let cookie = login(server, name).await;
    agent_socket(server, &cookie).await
}

/// The queue item for `session`, if listed.
pub fn queue_item<'a>(queue: &'a Value, session: &str) -> Option<&'a Value> {
    queue["items"]
        .as_array()?
        .iter()
        .find(|i| i["session"].as_str() == Some(session))
}

/// The `claimed` frame after a claim (or the `error` instead).
pub async fn claim(agent: &mut WsClient, session: &str) -> Value {
    agent
        .send_json(json!({"type": "claim", "session": session}))
        .await;
    next_claimed(agent).await
}

/// The next `claimed` frame on an agent console (or the `error` instead).
pub async fn next_claimed(agent: &mut WsClient) -> Value {
    agent
        .recv_until(|f| is_type(f, "claimed") || is_type(f, "error"))
        .await
        .pop()
        .unwrap()
}

/// Escalates and accepts the privacy notice that opens `crear-caso`;
/// returns the first question of the form.
pub async fn escalate_past_the_notice(ws: &mut WsClient) -> Value {
    let notice = last_bot(&ws.escalate(None).await).clone();
    assert_eq!(flow_step(&notice), "aviso-datos", "{notice}");
    let accept = notice["buttons"][0]["value"].as_str().unwrap().to_owned();
    last_bot(&ws.choose(&accept).await).clone()
}

/// Walks `crear-caso` from an escalation to the confirmation, answering each
/// step by its `flow.input`; returns the ticket id and the frames of the
/// confirming turn (plus the `ticket` frame if it came later).
pub async fn open_ticket(ws: &mut WsClient, descripcion: &str) -> (String, Vec<Value>) {
    let frames = ws.escalate(None).await;
    let mut step = last_bot(&frames).clone();
    for _ in 0..20 {
        assert_eq!(kind(&step), "flow", "left crear-caso early: {step}");
        assert_eq!(step["flow"]["id"], "crear-caso", "{step}");
        let frames = match step["flow"]["input"].as_str() {
            Some("email") => ws.say("ana.perez@example.com").await,
            Some("phone") => ws.say("3001234567").await,
            Some("document") => ws.say("1020304050").await,
            Some("text") => {
                let text = match flow_step(&step) {
                    "nombre" => "Ana María Pérez Gómez",
                    "organizacion" => "Alcaldía de Villa de Leyva",
                    _ => descripcion,
                };
                ws.say(text).await
            }
            Some(other) => panic!("unknown input kind {other}: {step}"),
            None => {
                let buttons = step["buttons"].as_array().cloned().unwrap_or_default();
                assert!(
                    !buttons.is_empty(),
                    "step without input nor buttons: {step}"
                );
                if let Some(b) = buttons
                    .iter()
                    .find(|b| b["label"].as_str().unwrap_or("").starts_with("Confirmar"))
                {
                    let mut frames = ws.choose(b["value"].as_str().unwrap()).await;
                    if !frames.iter().any(|f| is_type(f, "ticket")) {
                        frames.extend(ws.recv_until(|f| is_type(f, "ticket")).await);
                    }
                    let id = bot_replies(&frames)
                        .into_iter()
                        .find(|r| kind(r) == "ticket")
                        .and_then(|r| r["ticket"]["id"].as_str())
                        .unwrap_or_else(|| panic!("no ticket reply:\n{}", pretty(&frames)))
                        .to_owned();
                    return (id, frames);
                }
                ws.choose(buttons[0]["value"].as_str().unwrap()).await
            }
        };
        assert!(
            !frames.iter().any(|f| is_type(f, "error")),
            "error in crear-caso: {}",
            pretty(&frames)
        );
        step = last_bot(&frames).clone();
    }
    panic!("crear-caso did not reach its confirmation within 20 steps");
}

/// A fresh user conversation with an open ticket: (socket, session, ticket id).
pub async fn user_with_ticket(
    server: &TestServer,
    descripcion: &str,
) -> (WsClient, String, String) {
    let (mut ws, _) = server.fresh().await;
    let session = ws.session.clone().unwrap();
    let (id, _) = open_ticket(&mut ws, descripcion).await;
    (ws, session, id)
}
