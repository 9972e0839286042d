//! `/agent/admin`: the supervisors' page to manage agent accounts while the
//! server runs, and to read the audit log. Server-rendered forms; the rules and
//! the audit trail are in `admin`.
//!
//! Cross-site requests cannot act here: the login cookie is `SameSite=Strict`
//! and every `POST` must come from this server's own `Origin` (or an allowed one).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::login::{current_agent, origin_ok};
use super::pages::render_page;
use super::AppState;
use crate::admin::{Admin, AdminError};
use crate::agents::accounts::{Account, Role};

/// Audit entries shown on the page.
const AUDIT_ROWS: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/agent/admin", get(page))
        .route("/agent/admin/add", post(add))
        .route("/agent/admin/display-name", post(display_name))
        .route("/agent/admin/role", post(role))
        .route("/agent/admin/disable", post(disable))
        .route("/agent/admin/enable", post(enable))
        .route("/agent/admin/password", post(password))
        .route("/agent/admin/unlock", post(unlock))
        .route("/agent/unlock", post(unlock_json))
}

const NOT_SUPERVISOR: &str =
    "Solo los supervisores pueden administrar las cuentas de los asesores.";

/// Why a request to this page is refused.
enum Refusal {
    Origin,
    NotLoggedIn { posting: bool },
    NotSupervisor,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Origin => (StatusCode::FORBIDDEN, "Origen no permitido.").into_response(),
            Refusal::NotLoggedIn { posting: true } => {
                (StatusCode::UNAUTHORIZED, "Inicie sesión en /agent.").into_response()
            }
            Refusal::NotLoggedIn { posting: false } => Redirect::to("/agent").into_response(),
            Refusal::NotSupervisor => (StatusCode::FORBIDDEN, NOT_SUPERVISOR).into_response(),
        }
    }
}

/// The supervisor making the request.
async fn supervisor(
    state: &AppState,
    headers: &HeaderMap,
    posting: bool,
) -> Result<Account, Refusal> {
    if posting && !origin_ok(state, headers) {
        return Err(Refusal::Origin);
    }
    let account = current_agent(state, headers)
        .await
        .ok_or(Refusal::NotLoggedIn { posting })?;
    if account.role != Role::Supervisor {
        return Err(Refusal::NotSupervisor);
    }
    Ok(account)
}

/// What the page says after a change.
#[derive(Default, Serialize)]
struct Outcome {
    notice: Option<String>,
    error: Option<String>,
    /// A password to show once, with the account it belongs to.
    password: Option<(String, String)>,
}

#[derive(Serialize)]
struct AccountRow {
    name: String,
    display_name: String,
    role: &'static str,
    supervisor: bool,
    disabled: bool,
    is_self: bool,
}

#[derive(Serialize)]
struct AuditRow {
    at: String,
    iso: String,
    actor: String,
    target: String,
    detail: String,
}

async fn render(state: &AppState, me: &Account, status: StatusCode, outcome: Outcome) -> Response {
    let admin = Admin::new(state.hub.store(), Some(&state.agents), me.name.clone());
    let accounts = match admin.list().await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "failed to list accounts");
            return (StatusCode::INTERNAL_SERVER_ERROR, "Error interno.").into_response();
        }
    };
    let rows: Vec<AccountRow> = accounts
        .into_iter()
        .map(|a| AccountRow {
            is_self: a.name == me.name,
            supervisor: a.role == "supervisor",
            name: a.name,
            display_name: a.display_name,
            role: a.role,
            disabled: a.disabled,
        })
        .collect();
    let audit: Vec<AuditRow> = state
        .hub
        .store()
        .audit_log(AUDIT_ROWS)
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "failed to read the audit log");
            Vec::new()
        })
        .into_iter()
        .map(|e| AuditRow {
            at: crate::local_time::date_time(e.at),
            iso: e.at.to_rfc3339(),
            actor: e.actor,
            target: e.target,
            detail: e.detail,
        })
        .collect();
    let (password_for, password) = outcome.password.unzip();
    let mut response = render_page(
        state,
        status,
        "admin",
        &json!({
            "asset_version": state.render.asset_version,
            "display_name": me.display_name,
            "accounts": rows,
            "audit": audit,
            "notice": outcome.notice,
            "error": outcome.error,
            "password": password,
            "password_for": password_for,
        }),
    );
    // The page may hold a one-time password: never kept by a cache or history.
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// The supervisor posting a change (origin and role checked), and the account
/// operations acting in their name (so the audit log records them).
async fn acting<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
) -> Result<(Account, Admin<'a>), Refusal> {
    let me = supervisor(state, headers, true).await?;
    let admin = Admin::new(state.hub.store(), Some(&state.agents), me.name.clone());
    Ok((me, admin))
}

/// Renders the page after a change: the notice, or the refusal.
async fn after(state: &AppState, me: &Account, result: Result<Outcome, AdminError>) -> Response {
    match result {
        Ok(outcome) => render(state, me, StatusCode::OK, outcome).await,
        Err(e) => {
            let status = if e.is_client_error() {
                StatusCode::BAD_REQUEST
            } else {
                tracing::error!(error = %e, "account change failed");
                StatusCode::INTERNAL_SERVER_ERROR
            };
            let error = if e.is_client_error() {
                e.to_string()
            } else {
                "No se pudo guardar el cambio. Intente de nuevo.".to_owned()
            };
            render(
                state,
                me,
                status,
                Outcome {
                    error: Some(error),
                    ..Outcome::default()
                },
            )
            .await
        }
    }
}

async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match supervisor(&state, &headers, false).await {
        Ok(me) => render(&state, &me, StatusCode::OK, Outcome::default()).await,
        Err(Refusal::NotSupervisor) => match current_agent(&state, &headers).await {
            Some(me) => render_page(
                &state,
                StatusCode::FORBIDDEN,
                "agent_forbidden",
                &json!({
                    "asset_version": state.render.asset_version,
                    "display_name": me.display_name,
                }),
            ),
            None => Refusal::NotLoggedIn { posting: false }.into_response(),
        },
        Err(r) => r.into_response(),
    }
}

/// Every field defaults to empty, so a missing one gets the Spanish validation
/// message rather than axum's rejection text.
#[derive(Deserialize)]
struct AddForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
}

async fn add(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<AddForm>,
) -> Response {
    let (me, admin) = match acting(&state, &headers).await {
        Ok(pair) => pair,
        Err(r) => return r.into_response(),
    };
    let result = admin
        .add(&f.username, &f.display_name, &f.role, None, false)
        .await
        .map(|(account, password)| Outcome {
            notice: Some(format!(
                "Cuenta «{}» creada. Entréguele la contraseña por un canal seguro.",
                account.name
            )),
            password: password.map(|p| (account.name, p)),
            ..Outcome::default()
        });
    after(&state, &me, result).await
}

#[derive(Deserialize)]
struct NameForm {
    #[serde(default)]
    username: String,
}

#[derive(Deserialize)]
struct DisplayNameForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
}

async fn display_name(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<DisplayNameForm>,
) -> Response {
    let (me, admin) = match acting(&state, &headers).await {
        Ok(pair) => pair,
        Err(r) => return r.into_response(),
    };
    let result = admin
        .set_display_name(&f.username, &f.display_name)
        .await
        .map(|a| Outcome {
            notice: Some(format!(
                "La cuenta «{}» ahora se muestra como «{}».",
                a.name, a.display_name
            )),
            ..Outcome::default()
        });
    after(&state, &me, result).await
}

#[derive(Deserialize)]
struct RoleForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
}

async fn role(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<RoleForm>,
) -> Response {
    let (me, admin) = match acting(&state, &headers).await {
        Ok(pair) => pair,
        Err(r) => return r.into_response(),
    };
    let result = admin.set_role(&f.username, &f.role).await.map(|a| Outcome {
        notice: Some(format!(
            "La cuenta «{}» ahora tiene el rol {}.",
            a.name,
            if a.role == Role::Supervisor {
                "supervisor"
            } else {
                "asesor"
            }
        )),
        ..Outcome::default()
    });
    after(&state, &me, result).await
}

async fn disable(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<NameForm>,
) -> Response {
    set_enabled(state, headers, f, false).await
}

async fn enable(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<NameForm>,
) -> Response {
    set_enabled(state, headers, f, true).await
}

async fn set_enabled(state: AppState, headers: HeaderMap, f: NameForm, enabled: bool) -> Response {
    let (me, admin) = match acting(&state, &headers).await {
        Ok(pair) => pair,
        Err(r) => return r.into_response(),
    };
    let result = admin
        .set_enabled(&f.username, enabled)
        .await
        .map(|a| Outcome {
            notice: Some(if enabled {
                format!("La cuenta «{}» está habilitada.", a.name)
            } else {
                format!(
                    "La cuenta «{}» está deshabilitada: se cerraron sus sesiones y su consola.",
                    a.name
                )
            }),
            ..Outcome::default()
        });
    after(&state, &me, result).await
}

async fn password(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<NameForm>,
) -> Response {
    let (me, admin) = match acting(&state, &headers).await {
        Ok(pair) => pair,
        Err(r) => return r.into_response(),
    };
    let result = admin.reset_password(&f.username).await.map(|p| Outcome {
        notice: Some(format!(
            "Contraseña de «{}» restablecida; sus sesiones se cerraron.",
            f.username
        )),
        password: Some((f.username.clone(), p)),
        ..Outcome::default()
    });
    after(&state, &me, result).await
}

async fn unlock(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<NameForm>,
) -> Response {
    let (me, admin) = match acting(&state, &headers).await {
        Ok(pair) => pair,
        Err(r) => return r.into_response(),
    };
    let result = admin.unlock(&f.username).await.map(|()| Outcome {
        notice: Some(format!(
            "Usuario «{}» desbloqueado: puede volver a intentar el ingreso.",
            f.username.trim()
        )),
        ..Outcome::default()
    });
    after(&state, &me, result).await
}

/// `POST /agent/unlock {username}`: a supervisor clears the failed logins
/// counted against an account.
async fn unlock_json(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !origin_ok(&state, &headers) {
        return (StatusCode::FORBIDDEN, "Origen no permitido.").into_response();
    }
    let Some(account) = current_agent(&state, &headers).await else {
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
