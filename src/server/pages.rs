//! Plain HTTP routes: the widget page, the help center (`/kb`, `/kb/{id}`),
//! assets, health and metrics.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::AppState;
use crate::help;
use crate::render::markdown;

/// Scripts and styles only from this server; sockets to it.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(widget))
        .route("/kb", get(help_center))
        .route("/kb/", get(|| async { Redirect::permanent("/kb") }))
        .route("/kb/{id}", get(entry))
        .route("/assets/{name}", get(asset))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

/// An HTML page with the security headers every page gets.
pub fn html_page(status: StatusCode, body: String) -> Response {
    let mut response = (status, Html(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // No page may be framed (clickjacking), except the widget: see `widget`.
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// The widget may be framed by the sites in `--allowed-origins` (the embed
/// snippet needs it) and by its own origin, by no one else.
fn allow_framing_by(response: &mut Response, origins: &[String]) {
    let sources: Vec<&str> = origins
        .iter()
        .map(String::as_str)
        // An origin is scheme://host[:port]; anything else would widen or break the policy.
        .filter(|o| {
            (o.starts_with("https://") || o.starts_with("http://"))
                && !o.contains(|c: char| c.is_whitespace() || c == ';' || c == ',')
        })
        .collect();
    let ancestors = format!("frame-ancestors 'self' {}", sources.join(" "));
    let csp = CSP.replace("frame-ancestors 'none'", ancestors.trim_end());
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    if sources.is_empty() {
        headers.insert(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        );
    } else {
        // X-Frame-Options cannot name other sites; frame-ancestors (honoured by
        // every current browser) says who may.
        headers.remove(header::X_FRAME_OPTIONS);
    }
}

/// Renders a page template, or a plain 500 that says what to do.
pub fn render_page(
    state: &AppState,
    status: StatusCode,
    name: &str,
    data: &serde_json::Value,
) -> Response {
    match state.render.page(name, data) {
        Ok(body) => html_page(status, body),
        Err(e) => {
            tracing::error!(error = %e, "page template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Error interno al mostrar la página. Intente de nuevo.",
            )
                .into_response()
        }
    }
}

async fn widget(State(state): State<AppState>) -> Response {
    let mut response = render_page(
        &state,
        StatusCode::OK,
        "widget",
        &json!({
            "title": "Asistente SECOP II",
            "ws_path": "/ws",
            "asset_version": state.render.asset_version,
        }),
    );
    allow_framing_by(&mut response, &state.agents.allowed_origins);
    response
}

/// `GET /kb[?q=…]`: every entry by group, or the results of a search with
/// the bot's own ranking. Plain HTML forms, so it works without JavaScript.
async fn help_center(
    State(state): State<AppState>,
    // A map, not a struct: a repeated or stray parameter is ignored, never a 400.
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let knowledge = state.knowledge.get();
    let query = params
        .get("q")
        .map(|q| help::clean_query(q))
        .unwrap_or_default();
    let search = (!query.is_empty()).then(|| {
        tracing::debug!(query = %query, "help center search");
        let search = help::search(&knowledge, &query, state.reloader.thresholds.suggest);
        let result = match (search.results.is_empty(), search.out_of_scope) {
            (false, _) => "found",
            (true, true) => "out_of_scope",
            (true, false) => "none",
        };
        metrics::counter!("secobot_kb_searches_total", "result" => result).increment(1);
        search
    });
    // The full list shows unless a search found something to list instead.
    let listing = search.as_ref().is_none_or(|s| s.results.is_empty());
    render_page(
        &state,
        StatusCode::OK,
        "kb",
        &json!({
            "query": query,
            "search": search,
            "groups": if listing { help::groups(&knowledge) } else { Vec::new() },
            "total": knowledge.entries.len(),
            "asset_version": state.render.asset_version,
        }),
    )
}

/// A Spanish error page: what happened and one way back (the console for
/// `/agent` addresses, the assistant otherwise).
pub fn error_page(state: &AppState, status: StatusCode, path: &str) -> Response {
    let (title, message) = match status {
        StatusCode::NOT_FOUND => (
            "No encontramos esa página",
            "La dirección no existe o cambió. Revise que esté bien escrita.",
        ),
        StatusCode::FORBIDDEN => (
            "No tiene permiso para ver esta página",
            "Esta página es solo para supervisores. Si necesita acceso, pídaselo a un supervisor.",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "Esta dirección no se abre así",
            "Esta dirección solo recibe formularios o datos enviados por la aplicación; no se puede abrir directamente en el navegador.",
        ),
        _ => (
            "Algo salió mal",
            "No pudimos atender la solicitud. Intente de nuevo en unos minutos.",
        ),
    };
    let (back_href, back_label) = if path == "/agent" || path.starts_with("/agent/") {
        ("/agent", "Ir a la consola de soporte")
    } else {
        ("/", "Volver al asistente de SECOP II")
    };
    render_page(
        state,
        status,
        "error",
        &json!({
            "title": title,
            "message": message,
            "back_href": back_href,
            "back_label": back_label,
            "asset_version": state.render.asset_version,
        }),
    )
}

/// Any address no route serves: a Spanish 404 page.
pub async fn not_found(State(state): State<AppState>, uri: axum::http::Uri) -> Response {
    error_page(&state, StatusCode::NOT_FOUND, uri.path())
}

/// A known address asked with the wrong method. `GET /agent/login` (a
/// bookmarked or typed login address) goes to the console, which shows the
/// login form; anything else gets a Spanish 405 page.
pub async fn method_not_allowed(
    State(state): State<AppState>,
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> Response {
    if method == axum::http::Method::GET && uri.path() == "/agent/login" {
        return Redirect::to("/agent").into_response();
    }
    error_page(&state, StatusCode::METHOD_NOT_ALLOWED, uri.path())
}

/// `GET /kb/{id}`: one entry with its sources, review date and related topics.
async fn entry(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let knowledge = state.knowledge.get();
    let Some(entry) = knowledge.entry(&id) else {
        return render_page(
            &state,
            StatusCode::NOT_FOUND,
            "not_found",
            &json!({ "asset_version": state.render.asset_version }),
        );
    };
    let page = help::entry_page(&knowledge, entry, state.reloader.thresholds.suggest);
    render_page(
        &state,
        StatusCode::OK,
        "entry",
        &json!({
            "page": page,
            "body_html": markdown(&entry.body),
            "asset_version": state.render.asset_version,
        }),
    )
}

async fn asset(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    match state.render.asset(&name) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                // URLs carry the asset version, so they can be cached for long.
                (header::CACHE_CONTROL, "public, max-age=86400"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            asset.bytes.clone(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "No existe ese archivo.").into_response(),
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    let knowledge = state.knowledge.get();
    let error = state.knowledge.error();
    let storage = state.hub.store().degraded();
    let status = if error.is_none() && storage.is_none() {
        "ok"
    } else {
        "degraded"
    };
    Json(json!({
        "status": status,
        // Extension: why writes are refused (a full disk…), null while they work.
        "storage": { "error": storage, "backend": state.hub.store().backend_name() },
        "knowledge": {
            "entries": knowledge.entries.len(),
            "flows": knowledge.flows.len(),
            "loaded_at": knowledge.loaded_at.to_rfc3339(),
            "error": error,
        },
        "agents_online": state.agents.online(),
        // Extension: e-mail waiting in the outbox; `smtp` false without --smtp-url.
        "outbox": {
            "smtp": state.hub.smtp_configured(),
            "backlog": state.hub.store().mail_backlog(chrono::Utc::now()).await.ok(),
        },
    }))
    .into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
