//! Who is asking, on the agent side: login and logout, the session cookie,
//! the `Origin` check every state-changing request makes, and `GET /agent`
//! (the console for a logged-in agent, the login form otherwise). The
//! console's socket is `ws_agent`; cases are `tickets`; accounts are `admin`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::pages::render_page;
use super::AppState;
use crate::agents::accounts::{self, Account};
use crate::store::RecordKind;

const COOKIE: &str = "secobot_agent";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/agent", get(console))
        .route("/agent/login", post(login))
        .route("/agent/logout", post(logout))
}

/// The logged-in account behind the request's cookie.
pub(super) async fn current_agent(state: &AppState, headers: &HeaderMap) -> Option<Account> {
    let token = cookie_token(headers)?;
    match accounts::account_for_token(state.hub.store(), &token).await {
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
    match current_agent(&state, &headers).await {
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
    request: Request,
) -> Response {
    let headers = request.headers().clone();
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
    // The console posts JSON; the no-script login form posts
    // `application/x-www-form-urlencoded`.
    let creds: Option<Credentials> = if is_json {
        Json::<Credentials>::from_request(request, &state)
            .await
            .ok()
            .map(|Json(c)| c)
    } else {
        Form::<Credentials>::from_request(request, &state)
            .await
            .ok()
            .map(|Form(c)| c)
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
        .await
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
