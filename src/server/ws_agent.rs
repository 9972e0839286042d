//! The agent side over HTTP: login and logout, the console page, the
//! supervisors' ticket list, and the console's socket (`/agent/ws`).
//!
//! Ticket rules live in `agents`; this module checks who is asking (cookie,
//! `Origin`), decodes frames and encodes what comes back.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::ControlFlow;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::pages::render_page;
use super::protocol::{decode_agent, AgentFrame, ErrorCode, ServerFrame};
use super::ws_user::SOCKET_BUFFER;
use super::AppState;
use crate::agents::accounts::{self, Account, Role};
use crate::agents::{AgentError, Claimed};
use crate::conversation::{SessionEvent, SessionId};
use crate::knowledge::{Decision, Topic};
use crate::store::RecordKind;

const COOKIE: &str = "secobot_agent";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/agent", get(console))
        .route("/agent/login", post(login))
        .route("/agent/logout", post(logout))
        .route("/agent/tickets", get(tickets))
        .route("/agent/unlock", post(unlock))
        .route("/agent/ws", get(upgrade))
}

/// The logged-in account behind the request's cookie.
pub(super) fn current_agent(state: &AppState, headers: &HeaderMap) -> Option<Account> {
    let token = cookie_token(headers)?;
    match accounts::account_for_token(state.hub.store(), &token) {
        Ok(account) => account,
        Err(e) => {
            tracing::error!(error = %e, "failed to read a login");
            None
        }
    }
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| cookie::Cookie::split_parse(v.to_owned()))
        .filter_map(Result::ok)
        .find(|c| c.name() == COOKIE)
        .map(|c| c.value().to_owned())
}

/// A browser's `Origin` must be this server (or a configured origin). Requests
/// without one (command-line clients) are not cross-site and pass.
/// Whether a request's `Origin` (if any) is the server's own or one of `--allowed-origins`.
pub(super) fn origin_ok(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let same = origin == format!("http://{host}") || origin == format!("https://{host}");
    same || state.agents.allowed_origins.iter().any(|o| o == origin)
}

async fn console(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match current_agent(&state, &headers) {
        Some(account) => render_page(
            &state,
            StatusCode::OK,
            "agent",
            &json!({
                "asset_version": state.render.asset_version,
                "name": account.name,
                "display_name": account.display_name,
                "role": account.role.as_str(),
            }),
        ),
        None => login_page(&state, StatusCode::OK, None),
    }
}

fn login_page(state: &AppState, status: StatusCode, error: Option<&str>) -> Response {
    render_page(
        state,
        status,
        "agent_login",
        &json!({ "asset_version": state.render.asset_version, "error": error }),
    )
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let respond = |status: StatusCode, message: &str| -> Response {
        if is_json {
            (status, Json(json!({ "error": message }))).into_response()
        } else {
            login_page(&state, status, Some(message))
        }
    };
    if !origin_ok(&state, &headers) {
        return respond(StatusCode::FORBIDDEN, "Origen no permitido.");
    }
    let creds: Option<Credentials> = if is_json {
        serde_json::from_slice(&body).ok()
    } else {
        serde_urlencoded_form(&body)
    };
    let Some(creds) = creds else {
        return respond(
            StatusCode::BAD_REQUEST,
            "Escriba su usuario y su contraseña.",
        );
    };
    let address = peer.ip().to_string();
    let username = crate::text::normalize(creds.username.trim()).to_lowercase();
    // Counted before the password is checked, so parallel guesses cannot race
    // past the limit.
    let attempt = match state.agents.throttle.begin(&username, &address) {
        Ok(a) => a,
        Err(wait) => {
            let minutes = wait.as_secs().div_ceil(60).max(1);
            let mut response = respond(
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "Demasiados intentos fallidos. Espere {minutes} minuto{} e intente de nuevo, o pida a un supervisor que desbloquee su usuario.",
                    if minutes == 1 { "" } else { "s" }
                ),
            );
            if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return response;
        }
    };
    let account = state
        .hub
        .store()
        .record::<Account>(RecordKind::Agent, &username)
        .ok()
        .flatten();
    let hash = account
        .as_ref()
        .map(|a| a.password_hash.clone())
        .unwrap_or_else(|| accounts::dummy_hash().to_owned());
    let password = creds.password;
    // argon2 is CPU-heavy: off the async threads.
    let valid = tokio::task::spawn_blocking(move || accounts::verify_password(&hash, &password))
        .await
        .unwrap_or(false);
    let Some(account) = account.filter(|_| valid) else {
        // The attempt stays counted as a failure.
        drop(attempt);
        return respond(
            StatusCode::UNAUTHORIZED,
            "Usuario o contraseña incorrectos.",
        );
    };
    state.agents.throttle.succeeded(attempt);
    if account.disabled {
        return respond(
            StatusCode::FORBIDDEN,
            "Su usuario está deshabilitado. Pida a un supervisor que lo habilite.",
        );
    }
    let (token, _) =
        match accounts::create_login(state.hub.store(), &account.name, state.agents.login_hours)
            .await
        {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "failed to store a login");
                return respond(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Error interno. Intente de nuevo.",
                );
            }
        };
    let cookie = format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        state.agents.login_hours * 3600,
        if state.agents.secure_cookies || behind_tls(&headers) {
            "; Secure"
        } else {
            ""
        }
    );
    let mut response = if is_json {
        Json(json!({ "ok": true, "agent": { "name": account.name, "display_name": account.display_name, "role": account.role.as_str() } }))
            .into_response()
    } else {
        Redirect::to("/agent").into_response()
    };
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// Served over TLS by a proxy in front (`X-Forwarded-Proto: https`, or an
/// `https` Origin): then the cookie must be `Secure` too.
fn behind_tls(headers: &HeaderMap) -> bool {
    let forwarded = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("https://"));
    forwarded || origin
}

/// Parses `username=…&password=…` (application/x-www-form-urlencoded).
fn serde_urlencoded_form(body: &[u8]) -> Option<Credentials> {
    let text = std::str::from_utf8(body).ok()?;
    let mut fields: HashMap<String, String> = HashMap::new();
    for pair in text.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        fields.insert(decode_component(k)?, decode_component(v)?);
    }
    Some(Credentials {
        username: fields.remove("username")?,
        password: fields.remove("password")?,
    })
}

fn decode_component(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !origin_ok(&state, &headers) {
        return (StatusCode::FORBIDDEN, "Origen no permitido.").into_response();
    }
    if let Some(token) = cookie_token(&headers) {
        if let Err(e) = accounts::remove_login(state.hub.store(), &token).await {
            tracing::error!(error = %e, "failed to remove a login");
        }
    }
    let mut response = Redirect::to("/agent").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("secobot_agent=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}

#[derive(Deserialize)]
struct TicketFilter {
    #[serde(default)]
    estado: Option<String>,
    #[serde(default)]
    q: Option<String>,
}

#[derive(Serialize)]
struct TicketRow {
    id: String,
    status: String,
    status_label: String,
    priority: String,
    created_at: String,
    due: String,
    overdue: bool,
    handled_by: Option<String>,
    nombre: Option<String>,
    organizacion: Option<String>,
    tipo_usuario: Option<String>,
    resolution: Option<String>,
}

/// `POST /agent/unlock {username}`: a supervisor clears the failed logins
/// counted against an account.
async fn unlock(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if !origin_ok(&state, &headers) {
        return (StatusCode::FORBIDDEN, "Origen no permitido.").into_response();
    }
    let Some(account) = current_agent(&state, &headers) else {
        return (StatusCode::UNAUTHORIZED, "Inicie sesión en /agent.").into_response();
    };
    if account.role != Role::Supervisor {
        return (
            StatusCode::FORBIDDEN,
            "Solo los supervisores pueden desbloquear usuarios.",
        )
            .into_response();
    }
    #[derive(serde::Deserialize)]
    struct Unlock {
        username: String,
    }
    let Ok(Unlock { username }) = serde_json::from_slice::<Unlock>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "Indique el usuario a desbloquear (username)." })),
        )
            .into_response();
    };
    let username = crate::text::normalize(username.trim()).to_lowercase();
    // Through `admin`, so the unlock is in the audit log like the page's.
    let admin = crate::admin::Admin::new(state.hub.store(), Some(&state.agents), account.name);
    match admin.unlock(&username).await {
        Ok(()) => {}
        Err(e) if e.is_client_error() => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": e.to_string() })),
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "failed to record an unlock");
            return (StatusCode::INTERNAL_SERVER_ERROR, "Error interno.").into_response();
        }
    }
    Json(json!({ "ok": true, "username": username })).into_response()
}

async fn tickets(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(filter): Query<TicketFilter>,
) -> Response {
    let Some(account) = current_agent(&state, &headers) else {
        return Redirect::to("/agent").into_response();
    };
    if account.role != Role::Supervisor {
        return (
            StatusCode::FORBIDDEN,
            "Solo los supervisores pueden ver la lista de casos.",
        )
            .into_response();
    }
    let all = match state.agents.tickets() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "failed to list tickets");
            return (StatusCode::INTERNAL_SERVER_ERROR, "Error interno.").into_response();
        }
    };
    let now = Utc::now();
    let estado = filter.estado.unwrap_or_else(|| "todos".into());
    let q = filter.q.unwrap_or_default();
    let needle = q.to_lowercase();
    let rows: Vec<TicketRow> = all
        .into_iter()
        .rev()
        .filter(|t| match estado.as_str() {
            "abiertos" => t.status != crate::tickets::Status::Resolved,
            "vencidos" => t.is_overdue(now),
            "resueltos" => t.status == crate::tickets::Status::Resolved,
            _ => true,
        })
        .filter(|t| {
            needle.is_empty()
                || t.id.as_str().to_lowercase().contains(&needle)
                || t.fields
                    .values()
                    .any(|v| v.to_lowercase().contains(&needle))
        })
        .map(|t| TicketRow {
            id: t.id.to_string(),
            status: t.status.as_str().to_owned(),
            status_label: t.status.label().to_owned(),
            priority: t.priority.as_str().to_owned(),
            created_at: t.created_at.format("%Y-%m-%d %H:%M").to_string(),
            due: t.due.to_string(),
            overdue: t.is_overdue(now),
            handled_by: t.handled_by.clone(),
            nombre: t.fields.get("nombre").cloned(),
            organizacion: t.fields.get("organizacion").cloned(),
            tipo_usuario: t.fields.get("tipo_usuario").cloned(),
            resolution: t.resolution.clone(),
        })
        .collect();
    render_page(
        &state,
        StatusCode::OK,
        "tickets",
        &json!({
            "asset_version": state.render.asset_version,
            "display_name": account.display_name,
            "tickets": rows,
            "filter": estado,
            "q": q,
        }),
    )
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
    let Some(account) = current_agent(&state, &headers) else {
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
    },
    Claimed {
        session: String,
        ticket: serde_json::Value,
        history: Vec<crate::conversation::Reply>,
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
        let shutdown = me.state.shutdown.clone();
        let revoked = agents.revocation(&me.account.name);
        let hello = ConsoleFrame::Hello {
            agent: json!({ "name": me.account.name, "display_name": me.account.display_name, "role": me.account.role.as_str() }),
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
                    let _ = me.socket.send(Message::Close(Some(CloseFrame { code: 1001, reason: "El servidor se está reiniciando.".into() }))).await;
                    ControlFlow::Break(())
                }
                _ = revoked.cancelled() => {
                    let _ = me.socket.send(Message::Close(Some(CloseFrame { code: 1008, reason: "Su usuario fue deshabilitado.".into() }))).await;
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
                        let close = Message::Close(Some(CloseFrame { code, reason: reason.into() }));
                        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), me.socket.send(close)).await;
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
        }
        let frame = match decode_agent(text) {
            Ok(f) => f.normalized(),
            Err(code) => return self.send_json(&code.frame()).await,
        };
        if let AgentFrame::Say { text, .. } = &frame {
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
        }
    }

    async fn claim(&mut self, session: &SessionId) -> ControlFlow<()> {
        match self.state.agents.claim(&self.account, session).await {
            Ok(claimed) => {
                self.forward(&claimed);
                let Claimed {
                    session,
                    ticket,
                    history,
                } = claimed;
                let ticket = serde_json::to_value(&ticket).unwrap_or_default();
                self.send_json(&ConsoleFrame::Claimed {
                    session: session.to_string(),
                    ticket,
                    history,
                })
                .await
            }
            Err(e) => self.reply_error(Err(e)).await,
        }
    }

    /// Forwards every new message of a held conversation as `message` frames.
    fn forward(&mut self, claimed: &Claimed) {
        let Ok(Some(session)) = self.state.hub.get(&claimed.session) else {
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
        | AgentFrame::Resolve { session, .. } => session,
    };
    SessionId::parse(s)
}
