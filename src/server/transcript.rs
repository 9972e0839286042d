//! Printable transcripts of a conversation: the user's own
//! (`GET /chat/transcript?key=KEY`, a key sealed from the session token, see
//! `conversation::transcript_link`; the token itself is never in the link) and
//! an agent's view of a case (`GET /agent/transcript/{ticket}`, behind the
//! agent login, never needing the user's token).
//!
//! The token is a secret that gives access to the conversation, so these pages
//! are never cached and never sent as a referrer.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use serde::Serialize;
use serde_json::json;

use super::pages::render_page;
use super::AppState;
use crate::conversation::{Author, Reply, SessionId};
use crate::tickets::{Ticket, TicketId};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/chat/transcript", get(user_transcript))
        .route("/agent/transcript/{ticket}", get(agent_transcript))
}

/// One message as the transcript shows it.
#[derive(Serialize)]
pub(super) struct Line {
    author: String,
    from: &'static str,
    time: String,
    datetime: String,
    text: String,
    /// Server-sanitised HTML of bot answers (shown as they were in the chat).
    html: Option<String>,
}

/// `reply` as a transcript line; agents read the user as «Usuario», the
/// user reads «Usted».
pub(super) fn line(reply: Reply, for_agent: bool) -> Line {
    let (author, from) = match reply.from {
        Author::User if for_agent => ("Usuario".to_owned(), "user"),
        Author::User => ("Usted".to_owned(), "user"),
        Author::Bot => ("Asistente".to_owned(), "bot"),
        Author::Agent => (
            reply
                .agent_name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .map_or_else(|| "Asesor".to_owned(), |n| format!("{n} · Asesor")),
            "agent",
        ),
        Author::System => ("Aviso".to_owned(), "system"),
    };
    Line {
        author,
        from,
        time: crate::local_time::date_time_rfc3339(&reply.ts),
        datetime: reply.ts.clone(),
        html: reply
            .html
            .filter(|h| !h.trim().is_empty() && from != "user"),
        text: reply.text,
    }
}

fn page(
    state: &AppState,
    messages: Vec<Reply>,
    ticket: Option<&Ticket>,
    for_agent: bool,
) -> Response {
    let started = messages
        .first()
        .map(|m| crate::local_time::date_time_rfc3339(&m.ts));
    let ended = messages
        .last()
        .map(|m| crate::local_time::date_time_rfc3339(&m.ts));
    let ticket = ticket.map(|t| {
        json!({
            "id": t.id.as_str(),
            "status": t.status.label(),
            "created_at": crate::local_time::date_time(t.created_at),
            "resolved_at": t.resolved_at.map(crate::local_time::date_time),
        })
    });
    let mut response = render_page(
        state,
        StatusCode::OK,
        "transcript",
        &json!({
            "asset_version": state.render.asset_version,
            "ticket": ticket,
            "started": started,
            "ended": ended,
            "printed": crate::local_time::date_time(Utc::now()),
            "for_agent": for_agent,
            "messages": messages.into_iter().map(|m| line(m, for_agent)).collect::<Vec<_>>(),
        }),
    );
    keep_secret(&mut response);
    response
}

/// The URL holds a secret: no cache keeps the page, no link sends the URL on.
fn keep_secret(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

fn not_found(state: &AppState) -> Response {
    let mut response = render_page(
        state,
        StatusCode::NOT_FOUND,
        "not_found",
        &json!({ "asset_version": state.render.asset_version }),
    );
    keep_secret(&mut response);
    response
}

fn internal() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "Error interno al leer la conversación. Intente de nuevo en unos minutos.",
    )
        .into_response()
}

/// `GET /chat/transcript?key=KEY`: the user's conversation, printable.
async fn user_transcript(
    State(state): State<AppState>,
    // A map: a missing or repeated parameter is a 404 page, never a bare 400.
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(id) = params
        .get("key")
        .and_then(|k| state.hub.transcript_session(k))
    else {
        return not_found(&state);
    };
    match state.hub.transcript(&id).await {
        Ok(Some((messages, ticket))) if !messages.is_empty() => {
            page(&state, messages, ticket.as_ref(), false)
        }
        Ok(_) => not_found(&state),
        Err(e) => {
            tracing::error!(error = %e, "failed to read a transcript");
            internal()
        }
    }
}

/// `GET /agent/transcript/{ticket}`: a case's conversation for any logged-in agent.
async fn agent_transcript(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(ticket): Path<String>,
) -> Response {
    if super::login::current_agent(&state, &headers)
        .await
        .is_none()
    {
        return Redirect::to("/agent").into_response();
    }
    let found = match TicketId::parse(&ticket) {
        Ok(id) => state.hub.store().ticket(&id).await,
        Err(_) => Ok(None),
    };
    let ticket = match found {
        Ok(Some(t)) => t,
        Ok(None) => return not_found(&state),
        Err(e) => {
            tracing::error!(error = %e, "failed to read a ticket");
            return internal();
        }
    };
    let Some(id) = SessionId::parse(&ticket.session) else {
        return not_found(&state);
    };
    match state.hub.transcript(&id).await {
        Ok(Some((messages, _))) => page(&state, messages, Some(&ticket), true),
        Ok(None) => not_found(&state),
        Err(e) => {
            tracing::error!(error = %e, "failed to read a transcript");
            internal()
        }
    }
}
