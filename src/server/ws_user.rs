//! The user's socket (`/ws`): decode frames, hand them to the conversation,
//! encode what it publishes. Nothing else.
//!
//! One task per connection (a `select!` over the socket, the conversation's
//! events, the keepalive timer and shutdown) keeps an idle socket to a few KiB.
//! Bad frames get an `error` frame and the connection goes on; a client that
//! keeps sending bad frames is closed with 1008.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::broadcast;

use super::protocol::{decode_client, AgentEvent, ClientFrame, ErrorCode, ServerFrame};
use super::AppState;
use crate::conversation::{ConversationError, Session, SessionEvent, UserInput};

/// Frames bigger than this close the connection (tungstenite's own limit);
/// frames between `max_frame` and this get an `error` and the socket goes on.
pub const HARD_FRAME_LIMIT: usize = 16 * 1024 * 1024;
/// Initial socket buffers; they grow only while a big frame is in flight
/// (axum's default 128 KiB read buffer would cost ~1 GB at 10k idle sockets).
pub const SOCKET_BUFFER: usize = 4 * 1024;

pub fn router() -> Router<AppState> {
    Router::new().route("/ws", get(upgrade))
}

async fn upgrade(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    let Ok(permit) = state.connections.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "Demasiadas conexiones; intente de nuevo en unos segundos.",
        )
            .into_response();
    };
    let tracker = state.tracker.clone();
    ws.read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_message_size(HARD_FRAME_LIMIT)
        .max_frame_size(HARD_FRAME_LIMIT)
        .on_upgrade(move |socket| {
            tracker.track_future(async move {
                let _permit = permit;
                UserSocket::new(socket, state).run().await;
            })
        })
}

/// Counts open user sockets in `secobot_connections`.
struct ConnectionGauge;

impl ConnectionGauge {
    fn new() -> Self {
        metrics::gauge!("secobot_connections").increment(1.0);
        ConnectionGauge
    }
}

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        metrics::gauge!("secobot_connections").decrement(1.0);
    }
}

/// A token bucket: `rate` frames per second, bursts of twice that.
struct RateLimit {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimit {
    fn new(rate: u32) -> Self {
        RateLimit {
            rate: f64::from(rate),
            tokens: f64::from(rate) * 2.0,
            last: Instant::now(),
        }
    }

    fn allow(&mut self) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate)
            .min(self.rate * 2.0);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

struct UserSocket {
    /// Tells this connection's own messages apart from its other tabs'.
    id: u64,
    socket: WebSocket,
    state: AppState,
    session: Option<Arc<Session>>,
    events: Option<broadcast::Receiver<SessionEvent>>,
    /// Highest seq already sent (in `welcome` or live), so none is sent twice.
    sent_seq: u64,
    strikes: u32,
    limit: RateLimit,
    last_seen: Instant,
    _gauge: ConnectionGauge,
}

impl UserSocket {
    fn new(socket: WebSocket, state: AppState) -> Self {
        let limit = RateLimit::new(state.sockets.rate_limit);
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        UserSocket {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            socket,
            state,
            session: None,
            events: None,
            sent_seq: 0,
            strikes: 0,
            limit,
            last_seen: Instant::now(),
            _gauge: ConnectionGauge::new(),
        }
    }

    async fn run(mut self) {
        let mut ping = tokio::time::interval(self.state.sockets.ping);
        ping.tick().await;
        let shutdown = self.state.shutdown.clone();
        loop {
            let flow = tokio::select! {
                _ = shutdown.cancelled() => {
                    self.close(1001, "El servidor se está reiniciando; vuelva a conectarse en unos segundos.").await;
                    ControlFlow::Break(())
                }
                message = self.socket.recv() => match message {
                    Some(Ok(message)) => self.on_message(message).await,
                    _ => ControlFlow::Break(()),
                },
                event = next_event(&mut self.events) => self.on_event(event).await,
                _ = ping.tick() => self.keepalive().await,
            };
            if flow.is_break() {
                break;
            }
        }
    }

    async fn on_message(&mut self, message: Message) -> ControlFlow<()> {
        self.last_seen = Instant::now();
        match message {
            Message::Text(text) => self.on_text(text).await,
            Message::Binary(_) => self.refuse(ErrorCode::BinaryFrame).await,
            Message::Close(_) => ControlFlow::Break(()),
            // axum answers pings itself; both count as signs of life.
            Message::Ping(_) | Message::Pong(_) => ControlFlow::Continue(()),
        }
    }

    async fn on_text(&mut self, text: Utf8Bytes) -> ControlFlow<()> {
        if text.len() > self.state.sockets.max_frame {
            return self.refuse(ErrorCode::FrameTooLarge).await;
        }
        if !self.limit.allow() {
            return self.refuse(ErrorCode::RateLimited).await;
        }
        let frame = match decode_client(text.as_str()) {
            Ok(f) => f,
            Err(code) => return self.refuse(code).await,
        };
        let started = Instant::now();
        let result = match frame {
            ClientFrame::Hello { session, last_seq } => {
                return self.hello(session, last_seq.unwrap_or(0)).await
            }
            ClientFrame::Say { text } => {
                let text = text.trim();
                if text.is_empty() {
                    return self.refuse(ErrorCode::EmptyText).await;
                }
                if text.chars().count() > self.state.sockets.max_text {
                    return self.refuse(ErrorCode::TextTooLong).await;
                }
                self.input(UserInput::Say(text.to_owned())).await
            }
            ClientFrame::Choose { value } => self.input(UserInput::Choose(value)).await,
            ClientFrame::Escalate { text } => {
                let text = text.map(|t| t.chars().take(self.state.sockets.max_text).collect());
                self.input(UserInput::Escalate(text)).await
            }
            ClientFrame::Feedback { seq, useful } => match &self.session {
                Some(s) => self.state.hub.feedback(s, seq, useful).await.map(|()| true),
                None => return self.refuse(ErrorCode::NotReady).await,
            },
        };
        match result {
            Ok(true) => {
                self.strikes = 0;
                metrics::histogram!("secobot_reply_latency_seconds")
                    .record(started.elapsed().as_secs_f64());
                ControlFlow::Continue(())
            }
            Ok(false) => self.refuse(ErrorCode::NotReady).await,
            Err(ConversationError::UnknownChoice(_)) => self.refuse(ErrorCode::UnknownChoice).await,
            Err(ConversationError::UnknownSeq(_)) => self.refuse(ErrorCode::UnknownSeq).await,
            Err(ConversationError::UnknownSession) => self.refuse(ErrorCode::UnknownSession).await,
            Err(ConversationError::Store(e)) => {
                tracing::error!(error = %e, "storage failed during a turn");
                self.send(&ErrorCode::Internal.frame()).await
            }
        }
    }

    /// Runs a user action; `Ok(false)` when there is no conversation yet.
    async fn input(&mut self, input: UserInput) -> Result<bool, ConversationError> {
        let Some(session) = self.session.clone() else {
            return Ok(false);
        };
        self.state.hub.user_input(&session, input, self.id).await?;
        Ok(true)
    }

    async fn hello(&mut self, requested: Option<String>, last_seq: u64) -> ControlFlow<()> {
        if self.session.is_some() {
            return self.refuse(ErrorCode::AlreadyGreeted).await;
        }
        let opened = match self.state.hub.open(requested.as_deref(), last_seq).await {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(error = %e, "failed to open a conversation");
                return self.send(&ErrorCode::Internal.frame()).await;
            }
        };
        tracing::debug!(session = %opened.session.id, resumed = opened.resumed, "hello");
        // What the client has seen: its `last_seq`, capped at the conversation's
        // real last seq (a bogus larger value must not hide new messages).
        self.sent_seq = if opened.resumed {
            last_seq.min(opened.last_seq)
        } else {
            opened.history.last().map_or(0, |r| r.seq)
        };
        let welcome = ServerFrame::Welcome {
            session: opened.session.id.to_string(),
            history: opened.history,
            resumed: opened.resumed,
        };
        self.session = Some(opened.session);
        self.events = Some(opened.events);
        self.strikes = 0;
        self.send(&welcome).await?;
        match opened.ticket {
            Some((id, status)) => self.send(&ServerFrame::Ticket { id, status }).await,
            None => ControlFlow::Continue(()),
        }
    }

    async fn on_event(
        &mut self,
        event: Result<SessionEvent, broadcast::error::RecvError>,
    ) -> ControlFlow<()> {
        match event {
            Ok(SessionEvent::Reply { reply, origin }) => {
                if reply.seq <= self.sent_seq {
                    return ControlFlow::Continue(());
                }
                self.sent_seq = reply.seq;
                if origin == Some(self.id) {
                    // This tab sent it: no echo back to it.
                    return ControlFlow::Continue(());
                }
                metrics::counter!("secobot_replies_total", "kind" => reply.kind.as_str())
                    .increment(1);
                self.send(&ServerFrame::Reply((*reply).clone())).await
            }
            Ok(SessionEvent::Ticket { id, status }) => {
                self.send(&ServerFrame::Ticket { id, status }).await
            }
            Ok(SessionEvent::Agent { joined, name }) => {
                let event = if joined {
                    AgentEvent::Joined
                } else {
                    AgentEvent::Left
                };
                self.send(&ServerFrame::Agent { event, name }).await
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                // Too slow to keep up: close; the widget resumes from its last seq.
                tracing::warn!(missed = n, "user socket lagged; closing so it resumes");
                self.close(
                    1013,
                    "Conexión lenta: vuelva a conectarse para recuperar los mensajes.",
                )
                .await;
                ControlFlow::Break(())
            }
            Err(broadcast::error::RecvError::Closed) => {
                self.events = None;
                ControlFlow::Continue(())
            }
        }
    }

    async fn keepalive(&mut self) -> ControlFlow<()> {
        if self.last_seen.elapsed() > self.state.sockets.idle {
            self.close(1001, "Conexión cerrada por inactividad.").await;
            return ControlFlow::Break(());
        }
        if self
            .socket
            .send(Message::Ping(Default::default()))
            .await
            .is_err()
        {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    /// Sends an `error`; closes with 1008 after too many in a row.
    async fn refuse(&mut self, code: ErrorCode) -> ControlFlow<()> {
        self.strikes += 1;
        metrics::counter!("secobot_refused_frames_total", "code" => format!("{code:?}"))
            .increment(1);
        self.send(&code.frame()).await?;
        if self.strikes >= self.state.sockets.max_strikes {
            self.close(1008, "Demasiados mensajes inválidos.").await;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    async fn send(&mut self, frame: &ServerFrame) -> ControlFlow<()> {
        match self.socket.send(Message::Text(frame.encode().into())).await {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        // The peer may already be gone; closing is best effort.
        let _ = self.socket.send(Message::Close(Some(frame))).await;
    }
}

/// The next event of the conversation, or never when there is none yet.
async fn next_event(
    events: &mut Option<broadcast::Receiver<SessionEvent>>,
) -> Result<SessionEvent, broadcast::error::RecvError> {
    match events {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
