//! The user's socket (`/ws`): decode frames, hand them to the conversation,
//! encode what it publishes. Nothing else.
//!
//! One task per connection (a `select!` over the socket, the conversation's
//! events, the keepalive timer and shutdown) keeps an idle socket to a few KiB.
//! Bad frames get an `error` frame and the connection goes on; a client that
//! keeps sending bad frames is closed with 1008.

use std::net::{IpAddr, SocketAddr};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::StreamExt;
use tokio::sync::broadcast;

use super::outbound::{self, Outbox, QueueError};
use super::protocol::{
    decode_client, AgentEvent, ClientFrame, ErrorCode, ServerFrame, MAX_CLIENT_ID,
};
use super::AppState;
use crate::conversation::{Author, ConversationError, RateError, Session, SessionEvent, UserInput};
use crate::tickets::rating::RatingRefused;

/// Frames bigger than this close the connection (tungstenite's own limit);
/// frames between `max_frame` and this get an `error` and the socket goes on.
pub const HARD_FRAME_LIMIT: usize = 16 * 1024 * 1024;
/// Initial socket buffers; they grow only while a big frame is in flight
/// (axum's default 128 KiB read buffer would cost ~1 GB at 10k idle sockets).
pub const SOCKET_BUFFER: usize = 4 * 1024;
/// Messages read from storage per page of a replay or catch-up.
const REPLAY_PAGE: usize = 500;

pub fn router() -> Router<AppState> {
    Router::new().route("/ws", get(upgrade))
}

async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    slot: Option<axum::Extension<Arc<super::connections::Slot>>>,
    headers: axum::http::HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    // With `--allowed-origins` set, only the widget on those sites (or on this
    // server) may open a user socket; without it, any site may embed the widget.
    if !state.agents.allowed_origins.is_empty() && !super::ws_agent::origin_ok(&state, &headers) {
        return (StatusCode::FORBIDDEN, "Origen no permitido.").into_response();
    }
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
                // The socket keeps its connection's per-address slot.
                let _slot = slot;
                UserSocket::serve(socket, state, peer.ip()).await;
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
    out: Outbox,
    /// The client's address, for the per-address limits.
    peer: IpAddr,
    state: AppState,
    session: Option<Arc<Session>>,
    events: Option<broadcast::Receiver<SessionEvent>>,
    /// This tab counted as present on its conversation (mail goes out when none is).
    presence: Option<crate::conversation::Presence>,
    /// Highest seq already sent (in `welcome` or live), so none is sent twice.
    sent_seq: u64,
    strikes: u32,
    limit: RateLimit,
    last_seen: Instant,
    /// Seqs of this tab's own messages in its last turn (never echoed back).
    own_echoes: Vec<u64>,
    /// Set when delivering a turn's replies found the socket gone.
    closing: bool,
    /// While this tab's own turn is delivered: its frames wait for room.
    patient: bool,
    /// How the connection ends, when it is this side that ends it.
    ending: Option<(u16, &'static str)>,
    _gauge: ConnectionGauge,
}

impl UserSocket {
    fn new(out: Outbox, state: AppState, peer: IpAddr) -> Self {
        let limit = RateLimit::new(state.sockets.rate_limit);
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        UserSocket {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            out,
            peer,
            state,
            session: None,
            events: None,
            presence: None,
            sent_seq: 0,
            strikes: 0,
            limit,
            last_seen: Instant::now(),
            own_echoes: Vec::new(),
            closing: false,
            patient: false,
            ending: None,
            _gauge: ConnectionGauge::new(),
        }
    }

    async fn serve(socket: WebSocket, state: AppState, peer: IpAddr) {
        let (sink, mut stream) = socket.split();
        let out = Outbox::start(sink, state.sockets.outbound, state.sockets.idle);
        let mut me = UserSocket::new(out, state, peer);
        let mut ping = tokio::time::interval(me.state.sockets.ping);
        ping.tick().await;
        let shutdown = me.state.shutdown.clone();
        loop {
            let flow = tokio::select! {
                _ = shutdown.cancelled() => {
                    me.end(1001, "El servidor se está reiniciando; vuelva a conectarse en unos segundos.")
                }
                message = stream.next() => match message {
                    Some(Ok(message)) => me.on_message(message).await,
                    Some(Err(e)) => {
                        let (code, reason) = outbound::violation(&e);
                        tracing::debug!(error = %e, code, "user socket protocol violation");
                        me.end(code, reason)
                    }
                    None => ControlFlow::Break(()),
                },
                event = next_event(&mut me.events) => me.on_event(event).await,
                _ = ping.tick() => me.keepalive(),
                _ = me.out.closed() => ControlFlow::Break(()),
            };
            if flow.is_break() {
                break;
            }
        }
        let UserSocket { out, ending, .. } = me;
        match ending {
            // The closing handshake: our Close, and meanwhile what the peer
            // still sends is read and dropped until its Close (at most
            // CLOSE_WAIT). Dropping a socket with unread bytes makes the
            // kernel reset the connection, and a peer still sending (one
            // flooding bad frames) lost the Close that said why.
            Some((code, reason)) => {
                tokio::join!(
                    out.close(code, reason),
                    outbound::drain_until_close(&mut stream)
                );
            }
            None => out.finish().await,
        }
    }

    /// Ends the connection with a Close frame of ours.
    fn end(&mut self, code: u16, reason: &'static str) -> ControlFlow<()> {
        self.ending.get_or_insert((code, reason));
        ControlFlow::Break(())
    }

    async fn on_message(&mut self, message: Message) -> ControlFlow<()> {
        self.last_seen = Instant::now();
        match message {
            Message::Text(text) => self.on_text(text).await,
            Message::Binary(_) => self.refuse(ErrorCode::BinaryFrame).await,
            // The WebSocket layer queues the answering Close; reading on
            // sends it and then ends the stream.
            Message::Close(_) => ControlFlow::Continue(()),
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
            // The one place user text is normalised: before limits, validation,
            // storage and search.
            Ok(f) => f.normalized(),
            Err(code) => return self.refuse(code).await,
        };
        // Per address, over all its connections: new conversations and turns.
        let limited = match &frame {
            ClientFrame::Hello { session, .. } if self.session.is_none() => {
                if self.resumable(session.as_deref()).await {
                    Ok(())
                } else {
                    self.state.limits.conversations.check(self.peer)
                }
            }
            ClientFrame::Hello { .. } => Ok(()),
            _ => self.state.limits.turns.check(self.peer),
        };
        if let Err(wait) = limited {
            return self
                .refuse_with(ErrorCode::RateLimited, &ErrorCode::rate_limited(wait))
                .await;
        }
        let started = Instant::now();
        let result = match frame {
            ClientFrame::Hello { session, last_seq } => {
                return self.hello(session, last_seq.unwrap_or(0)).await
            }
            ClientFrame::Say { text, client_id } => {
                let text = text.trim();
                if text.is_empty() {
                    return self.refuse(ErrorCode::EmptyText).await;
                }
                let length = text.chars().count();
                let limit = self.state.sockets.max_text;
                if length > limit {
                    return self
                        .refuse_with(
                            ErrorCode::TextTooLong,
                            &ErrorCode::text_too_long(limit, length),
                        )
                        .await;
                }
                self.input(UserInput::Say(text.to_owned()), client_id).await
            }
            ClientFrame::Choose { value, client_id } => {
                self.input(UserInput::Choose(value), client_id).await
            }
            ClientFrame::Escalate { text, client_id } => {
                let text = text
                    .map(|t| t.trim().chars().take(self.state.sockets.max_text).collect())
                    .filter(|t: &String| !t.is_empty());
                self.input(UserInput::Escalate(text), client_id).await
            }
            ClientFrame::Feedback { seq, useful } => match &self.session {
                Some(s) => self.state.hub.feedback(s, seq, useful).await.map(|()| true),
                None => return self.refuse(ErrorCode::NotReady).await,
            },
            // Extension (typing indicators): the agents module forwards or drops it.
            ClientFrame::Typing { on } => match &self.session {
                Some(s) => {
                    self.state.agents.typing_from_user(s, on);
                    return ControlFlow::Continue(());
                }
                None => return self.refuse(ErrorCode::NotReady).await,
            },
            ClientFrame::Rating { score, comment } => {
                return self.rate(score, comment.as_deref()).await
            }
        };
        if self.closing {
            return ControlFlow::Break(());
        }
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
                tracing::error!(error = %e, "storage failed during a turn; nothing was sent");
                self.send(&ErrorCode::NotSaved.frame()).await
            }
            // Only agents' changes check a holder; a user's turn never does.
            Err(e @ ConversationError::HeldBy(_)) => {
                tracing::error!(error = %e, "a user turn was refused for a holder");
                self.send(&ErrorCode::NotSaved.frame()).await
            }
        }
    }

    /// Runs a user action; `Ok(false)` when there is no conversation yet.
    ///
    /// This tab's own replies are delivered before the next frame is read, so a
    /// fast typist's burst can never make the tab lag behind its own answers.
    async fn input(
        &mut self,
        input: UserInput,
        client_id: Option<String>,
    ) -> Result<bool, ConversationError> {
        let Some(session) = self.session.clone() else {
            return Ok(false);
        };
        let appended = self.state.hub.user_input(&session, input, self.id).await?;
        self.own_echoes = appended
            .iter()
            .filter(|r| r.from == Author::User)
            .map(|r| r.seq)
            .collect();
        self.patient = true;
        // The message is stored: confirm it by its seq before anything answers
        // it (an agent may answer much later, or the bot not at all).
        let ack = client_id
            .filter(|c| !c.is_empty() && c.chars().count() <= MAX_CLIENT_ID)
            .zip(self.own_echoes.first().copied());
        let delivered = match ack {
            Some((client_id, seq)) => match self.send(&ServerFrame::Ack { seq, client_id }).await {
                ControlFlow::Continue(()) => self.drain_events().await,
                brk => brk,
            },
            None => self.drain_events().await,
        };
        self.patient = false;
        if delivered.is_break() {
            // The socket is gone or too slow; the turn itself is stored.
            self.closing = true;
        }
        Ok(true)
    }

    /// A `rating` of the conversation's resolved case: stored, counted, and
    /// confirmed with `rated`; refused with `invalid_rating` or `rating_not_due`.
    async fn rate(&mut self, score: i64, comment: Option<&str>) -> ControlFlow<()> {
        let Some(session) = self.session.clone() else {
            return self.refuse(ErrorCode::NotReady).await;
        };
        match self.state.hub.rate(&session, score, comment).await {
            Ok(ticket) => {
                let score = ticket.rating.as_ref().map_or(0, |r| r.score);
                metrics::counter!("secobot_ratings_total", "score" => score.to_string())
                    .increment(1);
                self.strikes = 0;
                self.send(&ServerFrame::Rated {
                    ticket: ticket.id.to_string(),
                    score,
                })
                .await
            }
            Err(RateError::Refused(RatingRefused::BadScore | RatingRefused::CommentTooLong)) => {
                self.refuse(ErrorCode::InvalidRating).await
            }
            Err(RateError::Refused(_)) => self.refuse(ErrorCode::RatingNotDue).await,
            Err(RateError::Store(e)) => {
                tracing::error!(error = %e, "failed to store a rating");
                self.send(&ErrorCode::NotSaved.frame()).await
            }
        }
    }

    /// Delivers every event already published, without waiting for more.
    async fn drain_events(&mut self) -> ControlFlow<()> {
        loop {
            let event = match self.events.as_mut().map(broadcast::Receiver::try_recv) {
                None | Some(Err(broadcast::error::TryRecvError::Empty)) => {
                    return ControlFlow::Continue(())
                }
                Some(Err(broadcast::error::TryRecvError::Closed)) => {
                    Err(broadcast::error::RecvError::Closed)
                }
                Some(Err(broadcast::error::TryRecvError::Lagged(n))) => {
                    Err(broadcast::error::RecvError::Lagged(n))
                }
                Some(Ok(e)) => Ok(e),
            };
            self.on_event(event).await?;
        }
    }

    /// Sends stored messages after `sent_seq` up to `upto`, page by page: the
    /// rest of a long replay, or what a lagging receiver skipped. This tab's own
    /// echoes are not sent back to it.
    async fn catch_up(&mut self, upto: u64) -> ControlFlow<()> {
        let Some(session) = self.session.clone() else {
            return ControlFlow::Continue(());
        };
        while self.sent_seq < upto {
            let page = match self
                .state
                .hub
                .replay(&session.id, self.sent_seq, upto, REPLAY_PAGE)
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "failed to read messages to replay");
                    self.send(&ErrorCode::Internal.frame()).await?;
                    return self.end(1011, "Error interno; vuelva a conectarse.");
                }
            };
            let Some(last) = page.last().map(|r| r.seq) else {
                break;
            };
            for reply in page {
                if self.own_echoes.contains(&reply.seq) {
                    continue;
                }
                self.send(&ServerFrame::Reply(reply)).await?;
            }
            self.sent_seq = last;
        }
        ControlFlow::Continue(())
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
        let first_page_end = opened.history.last().map_or(self.sent_seq, |r| r.seq);
        let rating_due = opened
            .ticket
            .as_ref()
            .is_some_and(|(_, status)| status == "resuelto")
            && self.state.hub.rating_due(&opened.session).await;
        let welcome = ServerFrame::Welcome {
            rating_due,
            transcript: self.state.hub.transcript_path(&opened.session.id),
            session: opened.session.id.to_string(),
            more: opened
                .last_seq
                .saturating_sub(first_page_end.max(self.sent_seq)),
            history: opened.history,
            resumed: opened.resumed,
            agents: self.state.hub.availability(),
        };
        self.sent_seq = self.sent_seq.max(first_page_end);
        self.session = Some(opened.session);
        self.events = Some(opened.events);
        self.presence = Some(opened.presence);
        self.strikes = 0;
        self.send(&welcome).await?;
        // The rest of the replay, always up to the newest message.
        self.catch_up(opened.last_seq).await?;
        match opened.ticket {
            Some((id, status)) => self.send(&ServerFrame::Ticket { id, status }).await,
            None => ControlFlow::Continue(()),
        }
    }

    /// A conversation event: waits for room while delivering this tab's own
    /// turn (`patient`), never otherwise.
    async fn deliver(&mut self, frame: &ServerFrame) -> ControlFlow<()> {
        self.deliver_text(&frame.encode()).await
    }

    async fn deliver_text(&mut self, text: &str) -> ControlFlow<()> {
        let message = Message::Text(text.into());
        let queued = if self.patient {
            self.out.send_own(message).await
        } else {
            self.out.send_other(message)
        };
        match queued {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => self.behind(e),
        }
    }

    async fn on_event(
        &mut self,
        event: Result<SessionEvent, broadcast::error::RecvError>,
    ) -> ControlFlow<()> {
        match event {
            Ok(SessionEvent::Reply {
                reply,
                origin,
                wire,
            }) => {
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
                let text = wire.get_or_init(|| ServerFrame::Reply((*reply).clone()).encode());
                self.deliver_text(text).await
            }
            Ok(SessionEvent::Ticket { id, status }) => {
                self.deliver(&ServerFrame::Ticket { id, status }).await
            }
            Ok(SessionEvent::Agent { joined, name }) => {
                let event = if joined {
                    AgentEvent::Joined
                } else {
                    AgentEvent::Left
                };
                self.deliver(&ServerFrame::Agent { event, name }).await
            }
            Ok(SessionEvent::Typing { by_agent: true, on }) => {
                self.deliver(&ServerFrame::Typing { from: "agent", on })
                    .await
            }
            Ok(SessionEvent::Typing { .. }) => ControlFlow::Continue(()),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                // Missed live events (say, during a long replay): every message
                // is stored, so read the gap back rather than drop the tab.
                tracing::debug!(missed = n, "user socket lagged; catching up from storage");
                let Some(session) = self.session.clone() else {
                    return ControlFlow::Continue(());
                };
                let upto = self.state.hub.last_seq(&session).await;
                self.catch_up(upto).await
            }
            Err(broadcast::error::RecvError::Closed) => {
                self.events = None;
                ControlFlow::Continue(())
            }
        }
    }

    fn keepalive(&mut self) -> ControlFlow<()> {
        if self.last_seen.elapsed() > self.state.sockets.idle {
            return self.end(1001, "Conexión cerrada por inactividad.");
        }
        match self.out.send_other(Message::Ping(Default::default())) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => self.behind(e),
        }
    }

    /// The reader fell behind its outbound limit (or is gone).
    fn behind(&mut self, e: QueueError) -> ControlFlow<()> {
        if e == QueueError::Behind {
            tracing::info!("user socket not reading; closing so it resumes later");
            metrics::counter!("secobot_slow_readers_closed_total").increment(1);
            return self.end(
                1013,
                "Conexión lenta: vuelva a conectarse para recuperar los mensajes.",
            );
        }
        ControlFlow::Break(())
    }

    /// Whether `hello` names a conversation that exists (resuming is not
    /// starting a new one).
    async fn resumable(&self, requested: Option<&str>) -> bool {
        let Some(id) = requested.and_then(crate::conversation::SessionId::parse) else {
            return false;
        };
        matches!(self.state.hub.get(&id).await, Ok(Some(_)))
    }

    /// Sends an `error`; closes with 1008 after too many in a row.
    async fn refuse(&mut self, code: ErrorCode) -> ControlFlow<()> {
        self.refuse_with(code, &code.frame()).await
    }

    async fn refuse_with(&mut self, code: ErrorCode, frame: &ServerFrame) -> ControlFlow<()> {
        // Too fast is not invalid: a burst past the rate limit is refused frame
        // by frame (each with its retry hint), never cut off with 1008. What a
        // flood costs is bounded by the limit and the outbound queue.
        if code != ErrorCode::RateLimited {
            self.strikes += 1;
        }
        metrics::counter!("secobot_refused_frames_total", "code" => format!("{code:?}"))
            .increment(1);
        self.send(frame).await?;
        if self.strikes >= self.state.sockets.max_strikes {
            return self.end(1008, "Demasiados mensajes inválidos.");
        }
        ControlFlow::Continue(())
    }

    /// Queues a frame answering this client's own input (it waits for room).
    async fn send(&mut self, frame: &ServerFrame) -> ControlFlow<()> {
        match self
            .out
            .send_own(Message::Text(frame.encode().into()))
            .await
        {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => self.behind(e),
        }
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
