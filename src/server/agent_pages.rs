//! The agent side over plain HTTP: login and logout, the console page and
//! the supervisors' ticket list. The console's socket is `ws_agent`.
//!
//! Ticket rules live in `agents`; this module checks who is asking (cookie,
//! `Origin`) and renders what they may see.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::pages::render_page;
use super::AppState;
use crate::agents::accounts::{self, Account, Role};
use crate::store::RecordKind;

const COOKIE: &str = "secobot_agent";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/agent", get(console))
        .route("/agent/login", post(login))
        .route("/agent/logout", post(logout))
        .route("/agent/tickets", get(tickets))
        .route("/agent/unlock", post(unlock))
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
    created_datetime: String,
    due: String,
    due_datetime: String,
    overdue: bool,
    handled_by: Option<String>,
    nombre: Option<String>,
    organizacion: Option<String>,
    tipo_usuario: Option<String>,
    resolution: Option<String>,
    /// The user's satisfaction rating (issue 13, item 12).
    rating: Option<crate::tickets::rating::Rating>,
    notes: Vec<NoteRow>,
}

#[derive(Serialize)]
struct NoteRow {
    text: String,
    agent: String,
    at: String,
    datetime: String,
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
        return render_page(
            &state,
            StatusCode::FORBIDDEN,
            "agent_forbidden",
            &json!({
                "asset_version": state.render.asset_version,
                "display_name": account.display_name,
            }),
        );
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
            created_at: crate::local_time::date_time(t.created_at),
            created_datetime: t.created_at.to_rfc3339(),
            due: crate::local_time::date(t.due),
            due_datetime: t.due.to_string(),
            overdue: t.is_overdue(now),
            handled_by: t.handled_by.clone(),
            nombre: t.fields.get("nombre").cloned(),
            organizacion: t.fields.get("organizacion").cloned(),
            tipo_usuario: t.fields.get("tipo_usuario").cloned(),
            resolution: t.resolution.clone(),
            rating: t.rating.clone(),
            notes: t
                .notes
                .iter()
                .map(|n| NoteRow {
                    text: n.text.clone(),
                    agent: n.agent.clone(),
                    at: crate::local_time::date_time(n.ts),
                    datetime: n.ts.to_rfc3339(),
                })
                .collect(),
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
