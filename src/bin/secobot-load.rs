//! `secobot-load`: a WebSocket load generator for the secobot chat protocol.
//!
//! # What it measures
//!
//! The time from sending a user message to receiving the answer to it,
//! over N concurrent WebSocket connections, plus the throughput of answered
//! messages. Three modes:
//!
//! * `ask` (default): every connection sends `{"type":"hello","session":null}`,
//!   waits for `welcome`, then repeatedly sends `{"type":"say","text":Q}`.
//!   The server stores each `say` with the next seq (echoing it only to the
//!   session's other tabs) and answers with one or more bot replies. A turn is
//!   done at the first bot `reply` whose seq skips one (the skipped one is our
//!   message), so surplus replies to the previous turn are never taken for the
//!   answer; an `error` frame also ends the turn and counts as an error.
//! * `echo`: against a plain echo server (see `examples/echo_server.rs`):
//!   sends the same `say` frame without `hello` and waits for the identical
//!   frame back. This measures the floor set by the WebSocket stack, the
//!   runtime and this generator itself.
//! * `idle`: connects, says hello, waits for `welcome` and then only holds the
//!   connection open (answering pings) until the end. Reports how many
//!   connections were still open at the end (`connections_open`).
//!
//! # How
//!
//! One tokio task per connection on a multi-threaded runtime; no task per
//! message. Connections are opened concurrently but at most
//! [`CONNECTS_IN_FLIGHT`] at a time, each retried a few times with back-off.
//! The measured run (`--duration`) starts once every connection is either
//! established or has given up; the first `--warmup` seconds of it are not
//! recorded.
//!
//! * Closed loop (default): each connection sends its next message as soon as
//!   the previous turn is done; latency is measured from the actual send.
//! * Open loop (`--rate R`): the total rate R msgs/s is split evenly across the
//!   connections; each connection has a fixed schedule of intended send times
//!   (period N/R, connection `i` offset by `i/R` so sends are spread out). A
//!   connection has at most one message in flight; if it is still waiting when
//!   its next intended time passes, it sends as soon as the answer arrives, but
//!   latency is then measured from the *intended* time, so a slow server is
//!   not hidden by the generator backing off (no coordinated omission). A send
//!   that was not held up by a previous turn is measured from when it actually
//!   went out, so the timer's 1 ms granularity is not charged to the server.
//!
//! Latencies go into HDR histograms (1 µs .. 60 s, 3 significant digits),
//! sharded to keep lock contention and memory low, merged at the end.
//! A latency is recorded when its answer arrives after the warm-up.
//!
//! # Output
//!
//! Progress goes to stderr. At the end exactly one JSON line goes to stdout:
//!
//! ```json
//! {"mode":"ask","connections":100,"duration_s":10.000,"sent":1234,"replies":1230,
//!  "errors":0,"msgs_per_s":123.000,"p50_ms":1.234,"p90_ms":2.345,"p99_ms":3.456,
//!  "max_ms":4.567,"connections_open":100}
//! ```
//!
//! `sent` and `replies` (completed turns) count the whole run including the
//! warm-up, so they can be compared with the server's own counters;
//! `msgs_per_s` (= post-warm-up replies / measured seconds) and the
//! percentiles use only the post-warm-up part. `connections_open` is the
//! number of connections still open when the duration ended.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::{sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// At most this many connection attempts (TCP + upgrade + hello/welcome) run at once.
const CONNECTS_IN_FLIGHT: usize = 200;
/// Attempts per connection before it counts as failed.
const CONNECT_ATTEMPTS: u32 = 4;
/// First back-off between attempts; doubles each retry.
const CONNECT_BACKOFF: Duration = Duration::from_millis(100);
/// How long one connect attempt (including waiting for `welcome`) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for the server's close frame at the end.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Number of histogram shards (each is ~140 KB; one per connection would not scale).
const HIST_SHARDS: usize = 16;
/// Histogram range, in microseconds.
const HIST_MAX_US: u64 = 60_000_000;

/// Questions used when the default questions file is missing.
const BUILTIN_QUESTIONS: &[&str] = &[
    "¿Cómo cambio el correo de mi usuario en SECOP II?",
    "Olvidé mi contraseña",
    "¿Cómo registro una entidad estatal?",
    "¿Dónde veo los procesos de contratación publicados?",
];
const DEFAULT_QUESTIONS: &str = "../shared/eval/dev.tsv";

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// hello, then say/answer turns against secobot
    Ask,
    /// say frames against a plain echo server, no hello
    Echo,
    /// hello, then hold the connection open
    Idle,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Ask => "ask",
            Mode::Echo => "echo",
            Mode::Idle => "idle",
        }
    }
}

/// WebSocket load generator for the secobot chat protocol.
#[derive(Parser, Debug)]
#[command(name = "secobot-load", version, about)]
struct Args {
    /// WebSocket URL of the chat endpoint.
    #[arg(
        long,
        env = "SECOBOT_LOAD_URL",
        default_value = "ws://127.0.0.1:8080/ws"
    )]
    url: String,
    /// Number of concurrent connections.
    #[arg(
        long,
        short = 'c',
        env = "SECOBOT_LOAD_CONNECTIONS",
        default_value_t = 100
    )]
    connections: usize,
    /// Measured run length in seconds (after all connections are up), warm-up included.
    #[arg(
        long,
        short = 'd',
        env = "SECOBOT_LOAD_DURATION",
        default_value_t = 10.0
    )]
    duration: f64,
    /// What to do on each connection.
    #[arg(long, value_enum, env = "SECOBOT_LOAD_MODE", default_value_t = Mode::Ask)]
    mode: Mode,
    /// Open loop: fixed total rate in msgs/s across all connections (default: closed loop).
    #[arg(long, env = "SECOBOT_LOAD_RATE")]
    rate: Option<f64>,
    /// Questions: TSV `question<TAB>expected` with header, or one question per line.
    #[arg(long, env = "SECOBOT_LOAD_QUESTIONS")]
    questions: Option<PathBuf>,
    /// Seconds at the start of the run whose measurements are discarded.
    #[arg(long, env = "SECOBOT_LOAD_WARMUP", default_value_t = 1.0)]
    warmup: f64,
}

/// Counters shared by all connection tasks.
#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    replies: AtomicU64,
    /// Replies that arrived after the warm-up (for msgs_per_s).
    measured_replies: AtomicU64,
    errors: AtomicU64,
    /// Connections currently established (hello/welcome done where applicable).
    open: AtomicU64,
}

impl Counters {
    fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// Everything a connection task needs; shared via `Arc`.
struct Shared {
    args: Args,
    /// Pre-serialised `say` frames, one per question.
    frames: Vec<Utf8Bytes>,
    counters: Counters,
    hists: Vec<Mutex<Histogram<u64>>>,
    connect_permits: Semaphore,
}

/// Timing of the measured run, broadcast to the tasks once all are connected.
#[derive(Clone, Copy)]
struct Run {
    start: Instant,
    warmup_end: Instant,
    deadline: Instant,
}

/// The fields of a server frame this tool looks at.
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type", borrow)]
    ty: Cow<'a, str>,
    #[serde(default, borrow)]
    from: Option<Cow<'a, str>>,
    #[serde(default)]
    seq: Option<u64>,
}

/// What a server frame means for the turn in progress.
enum Event {
    /// Not relevant (pong, greeting, extra bot replies, ticket, ...).
    Ignore,
    /// A bot (or agent/system) `reply`, with its seq; or, in echo mode, our
    /// frame back (no seq).
    Answer(Option<u64>),
    /// An `error` frame or, in echo mode, a frame that is not what we sent.
    Error,
    /// The connection is gone (close frame, end of stream or read error).
    Closed,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.connections == 0 {
        bail!("--connections must be at least 1");
    }
    if !args.duration.is_finite() || args.duration <= 0.0 {
        bail!("--duration must be positive");
    }
    if !args.warmup.is_finite() || args.warmup < 0.0 {
        bail!("--warmup must not be negative");
    }
    if args.mode != Mode::Idle && args.warmup >= args.duration {
        bail!(
            "--warmup ({}) must be shorter than --duration ({})",
            args.warmup,
            args.duration
        );
    }
    if let Some(rate) = args.rate {
        if !rate.is_finite() || rate <= 0.0 {
            bail!("--rate must be a positive number of msgs/s");
        }
    }
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) if (n as usize) < args.connections + 64 => eprintln!(
            "warning: open-file limit is {n}; {} connections may fail",
            args.connections
        ),
        Ok(_) => {}
        Err(e) => eprintln!("warning: could not raise the open-file limit: {e}"),
    }
    let questions = load_questions(args.questions.as_deref())?;
    let frames = questions
        .iter()
        .map(|q| Utf8Bytes::from(serde_json::json!({"type": "say", "text": q}).to_string()))
        .collect();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    let shared = Arc::new(Shared {
        args,
        frames,
        counters: Counters::default(),
        hists: (0..HIST_SHARDS)
            .map(|_| Histogram::new_with_bounds(1, HIST_MAX_US, 3).map(Mutex::new))
            .collect::<Result<_, _>>()
            .context("creating histograms")?,
        connect_permits: Semaphore::new(CONNECTS_IN_FLIGHT),
    });
    let line = runtime.block_on(run(shared))?;
    println!("{line}");
    // Tasks stuck on a dead server must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_millis(100));
    Ok(())
}

/// Reads the questions file; falls back to built-in questions only when the
/// default file is missing.
fn load_questions(path: Option<&std::path::Path>) -> anyhow::Result<Vec<String>> {
    let (path, explicit) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from(DEFAULT_QUESTIONS), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if !explicit => {
            eprintln!(
                "note: {} not readable ({e}); using built-in questions",
                path.display()
            );
            return Ok(BUILTIN_QUESTIONS.iter().map(|s| s.to_string()).collect());
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let questions: Vec<String> = text
        .lines()
        .enumerate()
        .filter(|(i, line)| !(*i == 0 && line.trim_end() == "question\texpected"))
        .map(|(_, line)| line.split('\t').next().unwrap_or("").trim().to_string())
        .filter(|q| !q.is_empty())
        .collect();
    if questions.is_empty() {
        bail!("{} holds no questions", path.display());
    }
    Ok(questions)
}

/// Connects everything, runs the measured period, closes, and returns the JSON result line.
async fn run(shared: Arc<Shared>) -> anyhow::Result<String> {
    let n = shared.args.connections;
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<bool>();
    let (run_tx, run_rx) = watch::channel::<Option<Run>>(None);

    let ramp_start = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for id in 0..n {
        let shared = shared.clone();
        let ready_tx = ready_tx.clone();
        let run_rx = run_rx.clone();
        tasks.push(tokio::spawn(connection(shared, id, ready_tx, run_rx)));
    }
    drop(ready_tx);

    // Wait until every task is connected or has given up.
    let (mut up, mut failed) = (0usize, 0usize);
    let mut last_report = Instant::now();
    while up + failed < n {
        match timeout(Duration::from_secs(1), ready_rx.recv()).await {
            Ok(Some(true)) => up += 1,
            Ok(Some(false)) => failed += 1,
            Ok(None) => break,
            Err(_) => {}
        }
        if last_report.elapsed() >= Duration::from_secs(1) {
            eprintln!("connecting: {up} up, {failed} failed of {n}");
            last_report = Instant::now();
        }
    }
    eprintln!(
        "{up} of {n} connections up ({failed} failed) in {:.2}s; running {} for {}s (warm-up {}s){}",
        ramp_start.elapsed().as_secs_f64(),
        shared.args.mode.name(),
        shared.args.duration,
        shared.args.warmup,
        match shared.args.rate {
            Some(r) => format!(", open loop at {r} msgs/s"),
            None => ", closed loop".to_string(),
        }
    );

    let start = Instant::now();
    let timing = Run {
        start,
        warmup_end: start + Duration::from_secs_f64(shared.args.warmup),
        deadline: start + Duration::from_secs_f64(shared.args.duration),
    };
    // Receivers only go away when their task ended; that is fine.
    let _ = run_tx.send(Some(timing));

    // Progress once a second until the deadline.
    let reporter = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut tick =
                tokio::time::interval_at(start + Duration::from_secs(1), Duration::from_secs(1));
            loop {
                tick.tick().await;
                let c = &shared.counters;
                eprintln!(
                    "t={:>4.0}s open={} sent={} replies={} errors={}",
                    start.elapsed().as_secs_f64(),
                    c.open.load(Ordering::Relaxed),
                    c.sent.load(Ordering::Relaxed),
                    c.replies.load(Ordering::Relaxed),
                    c.errors.load(Ordering::Relaxed),
                );
            }
        })
    };

    let mut open_at_end = 0u64;
    for task in tasks {
        match task.await {
            Ok(alive) => open_at_end += u64::from(alive),
            Err(e) => {
                eprintln!("connection task failed: {e}");
                shared.counters.error();
            }
        }
    }
    reporter.abort();
    if shared.args.mode == Mode::Ask
        && shared.counters.sent.load(Ordering::Relaxed) > 0
        && shared.counters.replies.load(Ordering::Relaxed) == 0
    {
        eprintln!(
            "warning: no turn completed; ask mode expects bot replies with a `seq` \
             one past the user's own message"
        );
    }

    let mut hist = Histogram::<u64>::new_with_bounds(1, HIST_MAX_US, 3)?;
    for shard in &shared.hists {
        let shard = shard.lock().unwrap_or_else(|p| p.into_inner());
        hist.add(&*shard)?;
    }
    let c = &shared.counters;
    let measured_s = (shared.args.duration - shared.args.warmup).max(0.0);
    let measured = c.measured_replies.load(Ordering::Relaxed) as f64;
    let msgs_per_s = if measured_s > 0.0 {
        measured / measured_s
    } else {
        0.0
    };
    let ms = |us: u64| us as f64 / 1000.0;
    let (p50, p90, p99, max) = if hist.is_empty() {
        (0.0, 0.0, 0.0, 0.0)
    } else {
        (
            ms(hist.value_at_quantile(0.50)),
            ms(hist.value_at_quantile(0.90)),
            ms(hist.value_at_quantile(0.99)),
            ms(hist.max()),
        )
    };
    Ok(format!(
        concat!(
            r#"{{"mode":"{}","connections":{},"duration_s":{:.3},"sent":{},"replies":{},"errors":{},"#,
            r#""msgs_per_s":{:.3},"p50_ms":{:.3},"p90_ms":{:.3},"p99_ms":{:.3},"max_ms":{:.3},"#,
            r#""connections_open":{}}}"#
        ),
        shared.args.mode.name(),
        n,
        shared.args.duration,
        c.sent.load(Ordering::Relaxed),
        c.replies.load(Ordering::Relaxed),
        c.errors.load(Ordering::Relaxed),
        msgs_per_s,
        p50,
        p90,
        p99,
        max,
        open_at_end,
    ))
}

/// One connection, from connect to close. Returns whether it was still open at the deadline.
async fn connection(
    shared: Arc<Shared>,
    id: usize,
    ready_tx: mpsc::UnboundedSender<bool>,
    mut run_rx: watch::Receiver<Option<Run>>,
) -> bool {
    let counters = &shared.counters;
    let Some(mut ws) = connect_with_retries(&shared).await else {
        counters.error();
        let _ = ready_tx.send(false);
        return false;
    };
    counters.open.fetch_add(1, Ordering::Relaxed);
    let _ = ready_tx.send(true);
    drop(ready_tx);

    // Until the run starts keep reading, so pings are answered and greeting
    // replies sent after `welcome` are consumed before the first `say`.
    let timing = loop {
        tokio::select! {
            changed = run_rx.changed() => {
                match (changed, *run_rx.borrow_and_update()) {
                    (_, Some(t)) => break t,
                    (Err(_), None) => {
                        // main went away
                        counters.open.fetch_sub(1, Ordering::Relaxed);
                        return false;
                    }
                    (Ok(()), None) => {}
                }
            }
            msg = ws.next() => {
                if matches!(classify(&shared, msg, None), Event::Closed) {
                    counters.error();
                    counters.open.fetch_sub(1, Ordering::Relaxed);
                    return false;
                }
            }
        }
    };

    let alive = match shared.args.mode {
        Mode::Idle => hold(&shared, &mut ws, timing).await,
        Mode::Ask | Mode::Echo => talk(&shared, &mut ws, id, timing).await,
    };
    if alive {
        close(&mut ws).await;
    }
    counters.open.fetch_sub(1, Ordering::Relaxed);
    alive
}

/// Tries to connect (and in ask/idle mode complete hello/welcome) a few times.
async fn connect_with_retries(shared: &Shared) -> Option<Ws> {
    let mut backoff = CONNECT_BACKOFF;
    for attempt in 1..=CONNECT_ATTEMPTS {
        let result = {
            // The semaphore is never closed, so acquire cannot fail; treat it as a failed attempt anyway.
            let Ok(_permit) = shared.connect_permits.acquire().await else {
                return None;
            };
            timeout(CONNECT_TIMEOUT, connect_once(shared)).await
        };
        match result {
            Ok(Ok(ws)) => return Some(ws),
            Ok(Err(e)) if attempt == CONNECT_ATTEMPTS => eprintln!("connect failed: {e:#}"),
            Err(_) if attempt == CONNECT_ATTEMPTS => eprintln!("connect failed: timed out"),
            _ => {}
        }
        if attempt < CONNECT_ATTEMPTS {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
    None
}

async fn connect_once(shared: &Shared) -> anyhow::Result<Ws> {
    // Small buffers: the defaults (128 KiB each) would cost gigabytes at 10k connections.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut ws, _) =
        tokio_tungstenite::connect_async_with_config(shared.args.url.as_str(), Some(config), true)
            .await
            .context("websocket connect")?;
    if shared.args.mode == Mode::Echo {
        return Ok(ws);
    }
    ws.send(Message::text(r#"{"type":"hello","session":null}"#))
        .await
        .context("sending hello")?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => match serde_json::from_str::<Incoming>(&text) {
                Ok(f) if f.ty == "welcome" => return Ok(ws),
                Ok(f) if f.ty == "error" => bail!("server refused hello: {text}"),
                _ => {} // greeting replies etc.
            },
            Some(Ok(Message::Close(frame))) => bail!("closed before welcome: {frame:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e).context("waiting for welcome"),
            None => bail!("connection ended before welcome"),
        }
    }
}

/// Turns what `ws.next()` returned into an [`Event`]. `expect` is the frame
/// sent in echo mode.
fn classify(
    shared: &Shared,
    msg: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    expect: Option<&Utf8Bytes>,
) -> Event {
    let text = match msg {
        Some(Ok(Message::Text(text))) => text,
        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Event::Closed,
        Some(Ok(_)) => return Event::Ignore, // ping/pong/binary
    };
    if shared.args.mode == Mode::Echo {
        return match expect {
            Some(sent) if text.as_str() == sent.as_str() => Event::Answer(None),
            Some(_) => Event::Error,
            None => Event::Ignore,
        };
    }
    match serde_json::from_str::<Incoming>(&text) {
        Ok(f) if f.ty == "error" => Event::Error,
        Ok(f) if f.ty == "reply" => match f.from.as_deref() {
            Some("user") => Event::Ignore,
            _ => Event::Answer(f.seq),
        },
        Ok(_) => Event::Ignore,
        Err(_) => Event::Error,
    }
}

/// Idle mode: keep reading (pings get answered) until the deadline.
async fn hold(shared: &Shared, ws: &mut Ws, timing: Run) -> bool {
    let deadline = sleep_until(timing.deadline);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => return true,
            msg = ws.next() => match classify(shared, msg, None) {
                Event::Closed => { shared.counters.error(); return false; }
                Event::Error => shared.counters.error(),
                _ => {}
            },
        }
    }
}

/// Ask/echo mode: send/answer turns until the deadline, closed or open loop.
async fn talk(shared: &Shared, ws: &mut Ws, id: usize, timing: Run) -> bool {
    let counters = &shared.counters;
    let frames = &shared.frames;
    let n = shared.args.connections;
    // Each connection starts at a different place in the question list.
    let mut next_q = id % frames.len();

    // Open loop: period N/R per connection, connection `id` offset by id/R.
    let period = shared
        .args
        .rate
        .map(|r| Duration::from_secs_f64(n as f64 / r));
    let mut next_send = match shared.args.rate {
        Some(r) => timing.start + Duration::from_secs_f64(id as f64 / r),
        None => timing.start,
    };

    let deadline = sleep_until(timing.deadline);
    tokio::pin!(deadline);
    let pacer = sleep_until(next_send);
    tokio::pin!(pacer);

    // The turn in flight: latency origin and the frame sent.
    let mut in_flight: Option<(Instant, Utf8Bytes)> = None;
    // In ask mode the server stores our `say` with the next seq but does not
    // echo it to this tab, so the answer to a turn is the first bot reply after
    // a gap of one seq. Replies right after the previous one (a turn may have
    // several) continue the previous turn and are not mistaken for the answer.
    let ask = shared.args.mode == Mode::Ask;
    let mut max_seq: u64 = 0;
    // When the last turn ended (answer or error).
    let mut last_done = timing.start;

    loop {
        if in_flight.is_none() {
            let now = Instant::now();
            if now >= timing.deadline {
                return true;
            }
            // Latency origin: the intended time if the previous turn held this
            // send up, otherwise the actual send time (so timer granularity
            // and wake-up jitter of an idle connection are not counted).
            let due = match period {
                None => Some(now),
                Some(_) if next_send <= last_done => Some(next_send),
                Some(_) if next_send <= now => Some(now),
                Some(_) => None,
            };
            if let Some(origin) = due {
                let frame = frames[next_q].clone();
                next_q = (next_q + 1) % frames.len();
                if let Some(p) = period {
                    next_send += p;
                }
                if ws.send(Message::Text(frame.clone())).await.is_err() {
                    counters.error();
                    return false;
                }
                counters.sent.fetch_add(1, Ordering::Relaxed);
                in_flight = Some((origin, frame));
            } else {
                pacer.as_mut().reset(next_send);
            }
        }

        tokio::select! {
            biased;
            _ = &mut deadline => return true,
            msg = ws.next() => {
                let expect = in_flight.as_ref().map(|(_, f)| f);
                match classify(shared, msg, expect) {
                    Event::Closed => { counters.error(); return false; }
                    Event::Ignore => {}
                    Event::Error => {
                        counters.error();
                        in_flight = None;
                        last_done = Instant::now();
                    }
                    Event::Answer(seq) => {
                        let new_turn = match seq {
                            Some(seq) => {
                                let gap = seq > max_seq + 1;
                                max_seq = max_seq.max(seq);
                                gap
                            }
                            None => true,
                        };
                        if let (Some((origin, _)), true) = (&in_flight, new_turn || !ask) {
                            let now = Instant::now();
                            counters.replies.fetch_add(1, Ordering::Relaxed);
                            if now >= timing.warmup_end && now <= timing.deadline {
                                counters.measured_replies.fetch_add(1, Ordering::Relaxed);
                                let us = now.saturating_duration_since(*origin).as_micros() as u64;
                                let mut h = shared.hists[id % HIST_SHARDS]
                                    .lock()
                                    .unwrap_or_else(|p| p.into_inner());
                                h.saturating_record(us.clamp(1, HIST_MAX_US));
                            }
                            in_flight = None;
                            last_done = now;
                        }
                    }
                }
            }
            _ = &mut pacer, if in_flight.is_none() && period.is_some() => {}
        }
    }
}

/// Sends a close frame and waits briefly for the server's answer to it.
async fn close(ws: &mut Ws) {
    if ws.close(None).await.is_err() {
        return;
    }
    let _ = timeout(CLOSE_TIMEOUT, async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}
