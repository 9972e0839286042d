//! A bare WebSocket echo server: the anchor for `secobot-load --mode echo`.
//!
//! It uses the same transport settings as the secobot server (multi-threaded
//! tokio runtime, axum 0.8 WebSocket with 4 KiB read/write buffers and a
//! 64 KiB message limit) but does no work per message, so the figures
//! `secobot-load` measures against it are the floor that the WebSocket stack,
//! the runtime and the load generator impose on the real server.
//!
//! ```text
//! echo_server [--addr 127.0.0.1:0]
//! ```
//!
//! Once listening it prints exactly one line, `http://HOST:PORT` with the real
//! port, to stdout; the WebSocket is at `/ws`. Every text frame is sent back
//! unchanged. Ctrl-C stops it.

use std::io::Write;
use std::net::SocketAddr;

use anyhow::Context;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use clap::Parser;

/// Same limits as the secobot server.
const READ_BUFFER_SIZE: usize = 4096;
const WRITE_BUFFER_SIZE: usize = 4096;
const MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// WebSocket echo server at /ws.
#[derive(Parser, Debug)]
#[command(name = "echo_server", about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "ECHO_ADDR", default_value = "127.0.0.1:0")]
    addr: SocketAddr,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("warning: could not raise the open-file limit: {e}");
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("building the tokio runtime")?
        .block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    let local = listener.local_addr()?;
    let listener = listener.tap_io(|tcp| {
        // Small request/response frames: do not let Nagle delay them.
        let _ = tcp.set_nodelay(true);
    });
    let app = Router::new().route("/ws", get(upgrade));

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "http://{local}")?;
    stdout.flush()?;
    drop(stdout);

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")?;
    Ok(())
}

async fn upgrade(ws: WebSocketUpgrade) -> Response {
    ws.read_buffer_size(READ_BUFFER_SIZE)
        .write_buffer_size(WRITE_BUFFER_SIZE)
        .max_message_size(MAX_MESSAGE_SIZE)
        .on_upgrade(echo)
}

/// Sends every text frame back unchanged until the peer closes.
async fn echo(mut socket: WebSocket) {
    // Pings and the closing handshake are answered by the library on the
    // next read; binary frames and pongs are ignored.
    while let Some(Ok(msg)) = socket.recv().await {
        if let Message::Text(text) = msg {
            if socket.send(Message::Text(text)).await.is_err() {
                break;
            }
        }
    }
}
