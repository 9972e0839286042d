//! `/agent/tickets`: every case, for agents and supervisors — the list with
//! filters, and one case with its whole transcript, where an agent replies to
//! a user who is no longer connected or resolves the case. Case rules live in
//! `agents::cases` and `tickets`; this module checks who asks and renders.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::login::{current_agent, origin_ok};
use super::pages::render_page;
use super::transcript::line;
use super::AppState;
use crate::agents::{Account, AgentError};
use crate::conversation::SessionId;
use crate::tickets::{Status, Ticket, TicketId};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/agent/tickets", get(list))
        .route("/agent/tickets/{id}", get(case))
        .route("/agent/tickets/{id}/reply", post(reply))
        .route("/agent/tickets/{id}/resolve", post(resolve))
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

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(filter): Query<TicketFilter>,
) -> Response {
    let Some(account) = current_agent(&state, &headers).await else {
        return Redirect::to("/agent").into_response();
    };
    let all = match state.agents.tickets().await {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "failed to list tickets");
            return (StatusCode::INTERNAL_SERVER_ERROR, "Error interno.").into_response();
        }
    };
    let now = Utc::now();
    let estado = filter.estado.unwrap_or_else(|| "todos".into());
    let q = filter.q.unwrap_or_default();
    let needle = crate::knowledge::ngram::normalize(&q).trim().to_owned();
    // "sb 2", "#2", "000002": the case number however it is typed.
    let number = crate::conversation::case_number(&q).map(|id| id.to_string());
    let names = display_names(&state).await;
    let rows: Vec<TicketRow> = all
        .into_iter()
        .rev()
        .filter(|t| match estado.as_str() {
            "abiertos" => t.status != crate::tickets::Status::Resolved,
            "esperando" => t.status == crate::tickets::Status::WaitingUser,
            "vencidos" => t.is_overdue(now),
            "resueltos" => t.status == crate::tickets::Status::Resolved,
            _ => true,
        })
        .filter(|t| {
            // Accents and capitals aside: "ferreteria" finds "Ferretería".
            let folded = |v: &str| crate::knowledge::ngram::normalize(v);
            needle.is_empty()
                || number.as_deref() == Some(t.id.as_str())
                || folded(t.id.as_str()).contains(&needle)
                || t.fields.values().any(|v| folded(v).contains(&needle))
        })
        .map(|t| TicketRow {
            id: t.id.to_string(),
            status: t.status.as_str().to_owned(),
            status_label: t.status.title().to_owned(),
            priority: t.priority.as_str().to_owned(),
            created_at: crate::local_time::date_time(t.created_at),
            created_datetime: t.created_at.to_rfc3339(),
            due: crate::local_time::date(t.due),
            due_datetime: t.due.to_string(),
            overdue: t.is_overdue(now),
            handled_by: t
                .handled_by
                .as_ref()
                .map(|n| names.get(n).cloned().unwrap_or_else(|| n.clone())),
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
            "supervisor": account.role == crate::agents::Role::Supervisor,
            "tickets": rows,
            "filter": estado,
            "q": q,
        }),
    )
}

/// Case fields shown to agents, in the form's order, with their labels.
const FIELD_LABELS: &[(&str, &str)] = &[
    ("nombre", "Nombre"),
    ("tipo_documento", "Tipo de documento"),
    ("numero_documento", "Número de documento"),
    ("organizacion", "Entidad o Proveedor"),
    ("correo", "Correo"),
    ("telefono", "Teléfono"),
    ("tipo_usuario", "Tipo de usuario"),
    ("descripcion", "Descripción"),
];

/// What the case page says after (or instead of) a change.
#[derive(Default)]
struct Outcome {
    notice: Option<&'static str>,
    error: Option<String>,
    /// The text the agent typed, kept when it was refused.
    reply_text: String,
    note_text: String,
}

/// `GET /agent/tickets/{id}`: one case with its whole conversation, for any
/// logged-in agent, whether or not someone holds it and whether or not the
/// user is connected.
async fn case(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(done): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let Some(account) = current_agent(&state, &headers).await else {
        return Redirect::to("/agent").into_response();
    };
    let notice = match done.get("hecho").map(String::as_str) {
        Some("respuesta") => Some("Respuesta enviada."),
        Some("resuelto") => Some("Caso resuelto. El usuario ve la nota en el chat (al volver, si no está conectado) y por correo si el envío está configurado."),
        _ => None,
    };
    let outcome = Outcome {
        notice,
        ..Outcome::default()
    };
    case_page(&state, &account, &id, StatusCode::OK, outcome).await
}

#[derive(Deserialize)]
struct ReplyForm {
    #[serde(default)]
    texto: String,
}

#[derive(Deserialize)]
struct ResolveForm {
    #[serde(default)]
    nota: String,
}

/// What an agent does from the case page.
#[derive(Clone, Copy)]
enum CaseAction {
    Reply,
    Resolve,
}

/// `POST /agent/tickets/{id}/reply` (form `texto`): the reply is appended to
/// the case's conversation; then back to the case page (303), or the page
/// again with the reason and the text kept.
async fn reply(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Response {
    act(&state, &headers, &id, CaseAction::Reply, form.texto).await
}

/// `POST /agent/tickets/{id}/resolve` (form `nota`): resolves the case with a
/// note the user reads.
async fn resolve(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ResolveForm>,
) -> Response {
    act(&state, &headers, &id, CaseAction::Resolve, form.nota).await
}

async fn act(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    action: CaseAction,
    text: String,
) -> Response {
    let account = match acting(state, headers).await {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let Ok(ticket) = TicketId::parse(id) else {
        return not_found(state);
    };
    let (result, done_what) = match action {
        CaseAction::Reply => (
            state.agents.answer_case(&account, &ticket, &text).await,
            "respuesta",
        ),
        CaseAction::Resolve => (
            state.agents.resolve_case(&account, &ticket, &text).await,
            "resuelto",
        ),
    };
    match result {
        Ok(_) => done(&ticket, done_what),
        Err(e) => {
            let mut outcome = Outcome {
                error: Some(e.explain()),
                ..Outcome::default()
            };
            match action {
                CaseAction::Reply => outcome.reply_text = text,
                CaseAction::Resolve => outcome.note_text = text,
            }
            case_page(state, &account, id, refusal_status(&e), outcome).await
        }
    }
}

/// Why a state-changing request is refused before it is read.
enum Refusal {
    Origin,
    NotLoggedIn,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Origin => (StatusCode::FORBIDDEN, "Origen no permitido.").into_response(),
            Refusal::NotLoggedIn => {
                (StatusCode::UNAUTHORIZED, "Inicie sesión en /agent.").into_response()
            }
        }
    }
}

/// The agent behind a state-changing request from this server's own pages.
async fn acting(state: &AppState, headers: &HeaderMap) -> Result<Account, Refusal> {
    if !origin_ok(state, headers) {
        return Err(Refusal::Origin);
    }
    current_agent(state, headers)
        .await
        .ok_or(Refusal::NotLoggedIn)
}

fn refusal_status(e: &AgentError) -> StatusCode {
    match e {
        AgentError::Empty | AgentError::TooLong => StatusCode::BAD_REQUEST,
        AgentError::UnknownCase => StatusCode::NOT_FOUND,
        AgentError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::CONFLICT,
    }
}

/// After a change, back to the case (post/redirect/get: a reload does not
/// send the reply twice).
fn done(ticket: &TicketId, what: &str) -> Response {
    Redirect::to(&format!("/agent/tickets/{ticket}?hecho={what}#respuesta")).into_response()
}

/// A case number that does not exist: said plainly, with the way back to the list.
fn not_found(state: &AppState) -> Response {
    render_page(
        state,
        StatusCode::NOT_FOUND,
        "error",
        &json!({
            "asset_version": state.render.asset_version,
            "title": "Ese caso no existe",
            "message": "No hay ningún caso con ese número. Revise el número (por ejemplo, SB-000123) o búsquelo en la lista de casos.",
            "back_href": "/agent/tickets",
            "back_label": "Volver a los casos",
        }),
    )
}

/// Agents' display names by account name: pages show people, not logins.
async fn display_names(state: &AppState) -> std::collections::HashMap<String, String> {
    state
        .hub
        .store()
        .records::<Account>(crate::store::RecordKind::Agent)
        .await
        .map(|all| {
            all.into_iter()
                .map(|(name, a)| (name, a.display_name))
                .collect()
        })
        .unwrap_or_default()
}

async fn case_page(
    state: &AppState,
    account: &Account,
    id: &str,
    status: StatusCode,
    outcome: Outcome,
) -> Response {
    let found = match TicketId::parse(id) {
        Ok(id) => state.agents.ticket(&id).await,
        Err(_) => Ok(None),
    };
    let ticket = match found {
        Ok(Some(t)) => t,
        Ok(None) => return not_found(state),
        Err(e) => {
            tracing::error!(error = %e, "failed to read a ticket");
            return (StatusCode::INTERNAL_SERVER_ERROR, "Error interno.").into_response();
        }
    };
    let session = SessionId::parse(&ticket.session);
    let messages = match &session {
        Some(s) => match state.hub.transcript(s).await {
            Ok(found) => found.map(|(m, _)| m),
            Err(e) => {
                tracing::error!(error = %e, "failed to read a case's conversation");
                return (StatusCode::INTERNAL_SERVER_ERROR, "Error interno.").into_response();
            }
        },
        None => None,
    };
    let connected = session
        .as_ref()
        .is_some_and(|s| state.hub.user_connected(s));
    let conversation_gone = messages.is_none();
    let now = Utc::now();
    let mut response = render_page(
        state,
        status,
        "case",
        &json!({
            "asset_version": state.render.asset_version,
            "display_name": account.display_name,
            "supervisor": account.role == crate::agents::Role::Supervisor,
            "case": case_view(&ticket, now, &display_names(state).await),
            "open": ticket.status != Status::Resolved,
            "conversation_gone": conversation_gone,
            "messages": messages.unwrap_or_default().into_iter().map(|m| line(m, true)).collect::<Vec<_>>(),
            "connected": connected,
            "smtp": state.hub.smtp_configured(),
            "max_chars": crate::agents::MAX_REPLY_CHARS,
            "notice": outcome.notice,
            "error": outcome.error,
            // Shown beside the form it is about, when that form is shown.
            "error_on_resolve": !outcome.note_text.is_empty()
                && ticket.status != Status::Resolved
                && !conversation_gone,
            "reply_text": outcome.reply_text,
            "note_text": outcome.note_text,
        }),
    );
    // The page shows personal data: never cached.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn case_view(
    t: &Ticket,
    now: chrono::DateTime<Utc>,
    names: &std::collections::HashMap<String, String>,
) -> serde_json::Value {
    let fields: Vec<serde_json::Value> = FIELD_LABELS
        .iter()
        .filter_map(|(key, label)| {
            t.fields
                .get(*key)
                .map(|v| json!({ "label": label, "value": v, "key": key }))
        })
        .collect();
    json!({
        "id": t.id.as_str(),
        "status": t.status.as_str(),
        "status_title": t.status.title(),
        "priority": t.priority.as_str(),
        "created_at": crate::local_time::date_time(t.created_at),
        "created_datetime": t.created_at.to_rfc3339(),
        "updated_at": crate::local_time::date_time(t.updated_at),
        "due": crate::local_time::date(t.due),
        "due_datetime": t.due.to_string(),
        "overdue": t.is_overdue(now),
        "waiting_user": t.status == Status::WaitingUser,
        "handled_by": t.handled_by.as_ref().map(|n| names.get(n).unwrap_or(n)),
        "resolution": t.resolution,
        "resolved_at": t.resolved_at.map(crate::local_time::date_time),
        "email": t.fields.get("correo"),
        "fields": fields,
        "notes": t.notes.iter().map(|n| json!({
            "text": n.text,
            "agent": n.agent,
            "at": crate::local_time::date_time(n.ts),
            "datetime": n.ts.to_rfc3339(),
        })).collect::<Vec<_>>(),
        "rating": t.rating,
        "privacy": t.privacy.as_ref().map(|p| json!({
            "at": crate::local_time::date_time(p.accepted_at),
            "datetime": p.accepted_at.to_rfc3339(),
            "policy_url": p.policy_url,
        })),
    })
}
