//! The console's socket (`/agent/ws`): decodes an agent's frames, calls the
//! `agents` operations and encodes what comes back. Login and pages are in
//! `login`.

use std::collections::HashMap;
use std::ops::ControlFlow;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::login::current_agent;
pub(super) use super::login::origin_ok;
use super::protocol::{decode_agent, AgentFrame, ErrorCode, ServerFrame};
use super::ws_user::SOCKET_BUFFER;
use super::AppState;
use crate::agents::accounts::Account;
use crate::agents::{AgentError, Claimed};
use crate::conversation::{SessionEvent, SessionId};
use crate::knowledge::{Decision, Topic};

pub fn router() -> Router<AppState> {
    Router::new().route("/agent/ws", get(upgrade))
}

async fn upgrade(
    State(state): State<AppState>,
    slot: Option<axum::Extension<std::sync::Arc<super::connections::Slot>>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !origin_ok(&state, &headers) {
        return (StatusCode::FORBIDDEN, "Origen no permitido.").into_response();
    }
    let Some(account) = current_agent(&state, &headers).await else {
        return (StatusCode::UNAUTHORIZED, "Inicie sesión en /agent.").into_response();
    };
    let tracker = state.tracker.clone();
    ws.read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_message_size(super::ws_user::HARD_FRAME_LIMIT)
        .max_frame_size(super::ws_user::HARD_FRAME_LIMIT)
        .on_upgrade(move |socket| {
            tracker.track_future(async move {
                // The console keeps its connection's per-address slot.
                let _slot = slot;
                AgentSocket::run(socket, state, account).await;
            })
        })
}

/// Frames for the console beyond PROTOCOL.md's (see docs/protocol.md).
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ConsoleFrame {
    Hello {
        agent: serde_json::Value,
        /// Whether mail to users is sent (`smtp`) and how much waits (`queued`).
        mail: serde_json::Value,
    },
    Claimed {
        session: String,
        ticket: serde_json::Value,
        history: Vec<crate::conversation::Reply>,
        /// The case's internal notes, oldest first.
        notes: Vec<crate::tickets::Note>,
    },
    Released {
        session: String,
    },
    Resolved {
        session: String,
        ticket: serde_json::Value,
    },
    SearchResults {
        query: String,
        /// The panel that asked, echoed back when the request named one.
        #[serde(skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        items: Vec<serde_json::Value>,
    },
    /// An internal note on a case this console holds.
    Note {
        session: String,
        #[serde(flatten)]
        note: crate::tickets::Note,
    },
    /// The user of a held conversation is (or stopped) typing.
    Typing {
        session: String,
        from: &'static str,
        on: bool,
    },
    /// Canned responses whose title matches what follows `/` in the message box.
    CannedResults {
        query: String,
        items: Vec<serde_json::Value>,
    },
}

struct AgentSocket {
    socket: WebSocket,
    state: AppState,
    account: Account,
    out_tx: mpsc::Sender<String>,
    /// Forwarders of held conversations' messages, by session.
    forwarders: HashMap<SessionId, JoinHandle<()>>,
}

impl AgentSocket {
    async fn run(socket: WebSocket, state: AppState, account: Account) {
        let (out_tx, mut out_rx) = mpsc::channel::<String>(state.sockets.outbound.max(256));
        let agents = state.agents.clone();
        agents.connected(&account.name).await;
        let mut me = AgentSocket {
            socket,
            state,
            account,
            out_tx,
            forwarders: HashMap::new(),
        };
        let mut queue = me.state.agents.queue();
        let mut notes = me.state.agents.notes();
        let shutdown = me.state.shutdown.clone();
        let revoked = agents.revocation(&me.account.name);
        let hello = ConsoleFrame::Hello {
            agent: json!({ "name": me.account.name, "display_name": me.account.display_name, "role": me.account.role.as_str() }),
            mail: json!({
                "smtp": me.state.hub.smtp_configured(),
                "queued": me.state.hub.store().mail_backlog(chrono::Utc::now()).await.map(|b| b.queued).unwrap_or(0),
            }),
        };
        let mut flow = me.send_json(&hello).await;
        if flow.is_continue() {
            let items = queue.borrow_and_update().as_ref().clone();
            flow = me.send_json(&ServerFrame::Queue { items }).await;
        }
        // Conversations still held from before a disconnect come back.
        for session in me.state.agents.held_by(&me.account.name) {
            if flow.is_break() {
                break;
            }
            flow = me.claim(&session).await;
        }
        while flow.is_continue() {
            flow = tokio::select! {
                _ = shutdown.cancelled() => {
                    super::outbound::close_unsplit(&mut me.socket, 1001, "El servidor se está reiniciando.").await;
                    ControlFlow::Break(())
                }
                _ = revoked.cancelled() => {
                    super::outbound::close_unsplit(&mut me.socket, 1008, "Su usuario fue deshabilitado.").await;
                    ControlFlow::Break(())
                }
                message = me.socket.recv() => match message {
                    Some(Ok(Message::Text(text))) => me.on_text(text.as_str()).await,
                    // The WebSocket layer queues the answering Close; reading on sends it.
                    Some(Ok(Message::Close(_))) => ControlFlow::Continue(()),
                    None => ControlFlow::Break(()),
                    Some(Err(e)) => {
                        // A frame the WebSocket layer refused: close with its RFC 6455 code.
                        let (code, reason) = super::outbound::violation(&e);
                        super::outbound::close_unsplit(&mut me.socket, code, reason).await;
                        ControlFlow::Break(())
                    }
                    Some(Ok(_)) => ControlFlow::Continue(()),
                },
                changed = queue.changed() => match changed {
                    Ok(()) => {
                        let items = queue.borrow_and_update().as_ref().clone();
                        me.send_json(&ServerFrame::Queue { items }).await
                    }
                    Err(_) => ControlFlow::Break(()),
                },
                note = notes.recv() => match note {
                    Ok((session, note)) if me.forwarders.contains_key(&session) => {
                        me.send_json(&ConsoleFrame::Note { session: session.to_string(), note }).await
                    }
                    Ok(_) => ControlFlow::Continue(()),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "a console missed notes; they are on the case");
                        ControlFlow::Continue(())
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => ControlFlow::Break(()),
                },
                Some(text) = out_rx.recv() => me.send_text(text).await,
            };
        }
        for (_, f) in me.forwarders.drain() {
            f.abort();
        }
        agents.disconnected(&me.account.name);
    }

    async fn on_text(&mut self, text: &str) -> ControlFlow<()> {
        // Like `/ws`: an oversize frame gets an `error`, the console stays connected.
        if text.len() > self.state.sockets.max_frame {
            return self.send_json(&ErrorCode::FrameTooLarge.frame()).await;
        }
        // Extension: `search {query}` for the console's knowledge search.
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
            if v.get("type").and_then(|t| t.as_str()) == Some("search") {
                let query: String = crate::text::normalize(
                    v.get("query").and_then(|q| q.as_str()).unwrap_or_default(),
                )
                .chars()
                .take(500)
                .collect();
                let session = v
                    .get("session")
                    .and_then(|q| q.as_str())
                    .and_then(SessionId::parse)
                    .map(|s| s.to_string());
                return self.search(query, session).await;
            }
            // Extension: `canned {query}` for canned responses (`/` in the message box).
            if v.get("type").and_then(|t| t.as_str()) == Some("canned") {
                let query: String = crate::text::normalize(
                    v.get("query").and_then(|q| q.as_str()).unwrap_or_default(),
                )
                .chars()
                .take(100)
                .collect();
                return self.canned(query).await;
            }
        }
        let frame = match decode_agent(text) {
            Ok(f) => f.normalized(),
            Err(code) => return self.send_json(&code.frame()).await,
        };
        if let AgentFrame::Say { text, .. } | AgentFrame::Note { text, .. } = &frame {
            if text.chars().count() > self.state.sockets.max_text {
                return self.send_json(&ErrorCode::TextTooLong.frame()).await;
            }
        }
        let Some(session) = frame_session(&frame) else {
            return self.send_json(&ErrorCode::UnknownSession.frame()).await;
        };
        match frame {
            AgentFrame::Claim { .. } => self.claim(&session).await,
            AgentFrame::Say { text, .. } => {
                let r = self.state.agents.say(&self.account, &session, &text).await;
                self.reply_error(r.map(|_| ())).await
            }
            AgentFrame::Release { .. } => {
                let r = self
                    .state
                    .agents
                    .release(&self.account.name, &session)
                    .await;
                if r.is_ok() {
                    self.stop_forwarding(&session);
                    return self
                        .send_json(&ConsoleFrame::Released {
                            session: session.to_string(),
                        })
                        .await;
                }
                self.reply_error(r).await
            }
            AgentFrame::Resolve { note, .. } => match self
                .state
                .agents
                .resolve(&self.account, &session, &note)
                .await
            {
                Ok(ticket) => {
                    self.stop_forwarding(&session);
                    let ticket = serde_json::to_value(&ticket).unwrap_or_default();
                    self.send_json(&ConsoleFrame::Resolved {
                        session: session.to_string(),
                        ticket,
                    })
                    .await
                }
                Err(e) => self.reply_error(Err(e)).await,
            },
            AgentFrame::Typing { on, .. } => {
                let r = self
                    .state
                    .agents
                    .typing_from_agent(&self.account.name, &session, on)
                    .await;
                self.reply_error(r).await
            }
            AgentFrame::Note { text, .. } => {
                // The console gets it back with the other holders' consoles.
                let r = self.state.agents.note(&self.account, &session, &text).await;
                self.reply_error(r.map(|_| ())).await
            }
        }
    }

    async fn claim(&mut self, session: &SessionId) -> ControlFlow<()> {
        match self.state.agents.claim(&self.account, session).await {
            Ok(claimed) => {
                self.forward(&claimed).await;
                let Claimed {
                    session,
                    ticket,
                    history,
                } = claimed;
                let notes = ticket.notes.clone();
                let ticket = serde_json::to_value(&ticket).unwrap_or_default();
                self.send_json(&ConsoleFrame::Claimed {
                    session: session.to_string(),
                    ticket,
                    history,
                    notes,
                })
                .await
            }
            Err(e) => self.reply_error(Err(e)).await,
        }
    }

    /// Forwards every new message of a held conversation as `message` frames.
    async fn forward(&mut self, claimed: &Claimed) {
        let Ok(Some(session)) = self.state.hub.get(&claimed.session).await else {
            return;
        };
        let mut events = session.subscribe();
        let after = claimed.history.last().map_or(0, |r| r.seq);
        let tx = self.out_tx.clone();
        let id = claimed.session.to_string();
        let handle = tokio::spawn(async move {
            // Holds the session alive while the agent has it.
            let _session = session;
            loop {
                match events.recv().await {
                    Ok(SessionEvent::Reply { reply, .. }) if reply.seq > after => {
                        let frame = ServerFrame::Message {
                            session: id.clone(),
                            reply: (*reply).clone(),
                        };
                        if tx.send(frame.encode()).await.is_err() {
                            break;
                        }
                    }
                    Ok(SessionEvent::Typing {
                        by_agent: false,
                        on,
                    }) => {
                        let frame = ConsoleFrame::Typing {
                            session: id.clone(),
                            from: "user",
                            on,
                        };
                        let Ok(text) = serde_json::to_string(&frame) else {
                            continue;
                        };
                        // A typing indicator is not worth waiting for room.
                        if let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(text) {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "agent forwarder lagged");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        if let Some(old) = self.forwarders.insert(claimed.session.clone(), handle) {
            old.abort();
        }
    }

    fn stop_forwarding(&mut self, session: &SessionId) {
        if let Some(f) = self.forwarders.remove(session) {
            f.abort();
        }
    }

    async fn search(&mut self, query: String, session: Option<String>) -> ControlFlow<()> {
        let knowledge = self.state.knowledge.get();
        let mut items = Vec::new();
        let mut push = |topic: Topic<'_>| {
            if let Topic::Entry(e) = topic {
                items.push(json!({ "id": e.id, "title": e.title, "text": e.body }));
            }
        };
        match knowledge.decide(&query) {
            Decision::Answer { topic, .. } => push(topic),
            Decision::Suggest(topics) => topics.into_iter().for_each(&mut push),
            Decision::Fallback { .. } => {}
        }
        for hit in knowledge.search(&query).into_iter().take(5) {
            if let crate::knowledge::Target::Entry(i) = hit.target {
                if let Some(e) = knowledge.entries.get(i) {
                    if !items.iter().any(|it| it["id"] == e.id) {
                        items.push(json!({ "id": e.id, "title": e.title, "text": e.body }));
                    }
                }
            }
        }
        self.send_json(&ConsoleFrame::SearchResults {
            query,
            session,
            items,
        })
        .await
    }

    async fn canned(&mut self, query: String) -> ControlFlow<()> {
        let knowledge = self.state.knowledge.get();
        let items = knowledge
            .canned
            .iter()
            .filter(|c| c.matches(&query))
            .take(10)
            .map(|c| json!({ "id": c.id, "title": c.title, "text": c.body }))
            .collect();
        self.send_json(&ConsoleFrame::CannedResults { query, items })
            .await
    }

    async fn reply_error(&mut self, result: Result<(), AgentError>) -> ControlFlow<()> {
        match result {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                if matches!(e.code(), ErrorCode::Internal | ErrorCode::NotSaved) {
                    tracing::error!(error = %e, "agent operation failed");
                }
                self.send_json(&e.code().frame()).await
            }
        }
    }

    async fn send_json<T: Serialize>(&mut self, frame: &T) -> ControlFlow<()> {
        match serde_json::to_string(frame) {
            Ok(text) => self.send_text(text).await,
            Err(e) => {
                tracing::error!(error = %e, "failed to encode a console frame");
                ControlFlow::Continue(())
            }
        }
    }

    async fn send_text(&mut self, text: String) -> ControlFlow<()> {
        match self.socket.send(Message::Text(text.into())).await {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    }
}

fn frame_session(frame: &AgentFrame) -> Option<SessionId> {
    let s = match frame {
        AgentFrame::Claim { session }
        | AgentFrame::Say { session, .. }
        | AgentFrame::Release { session }
        | AgentFrame::Resolve { session, .. }
        | AgentFrame::Typing { session, .. }
        | AgentFrame::Note { session, .. } => session,
    };
    SessionId::parse(s)
}
