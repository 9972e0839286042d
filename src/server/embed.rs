//! `GET /embed.js`: the launcher an agency puts on its own site — a floating
//! "¿Necesita ayuda?" button that opens the widget (`GET /`) in an iframe.
//!
//! Two locks keep it to the sites in `--allowed-origins`: the script itself
//! does nothing on any other page (it carries the list), and the widget's
//! `frame-ancestors` (see `pages`) makes browsers refuse to frame it anywhere
//! else, should someone copy the script.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::AppState;

/// Where the list of allowed sites goes in `templates/assets/embed.js`.
const ORIGINS_SLOT: &str = "/*ALLOWED_ORIGINS*/[]";

pub fn router() -> Router<AppState> {
    Router::new().route("/embed.js", get(embed))
}

/// The origins that may show the launcher: well-formed `scheme://host[:port]`
/// entries of `--allowed-origins`, as the widget's `frame-ancestors` takes them.
pub fn embedding_origins(origins: &[String]) -> Vec<&str> {
    origins
        .iter()
        .map(String::as_str)
        .filter(|o| {
            (o.starts_with("https://") || o.starts_with("http://"))
                && !o.contains(|c: char| c.is_whitespace() || c == ';' || c == ',')
        })
        .collect()
}

async fn embed(State(state): State<AppState>) -> Response {
    let Some(asset) = state.render.asset("embed.js") else {
        return (StatusCode::NOT_FOUND, "No existe ese archivo.").into_response();
    };
    let script = String::from_utf8_lossy(&asset.bytes);
    let origins = embedding_origins(&state.agents.allowed_origins);
    // JSON of plain strings is a valid JavaScript array literal.
    let list = serde_json::to_string(&origins).unwrap_or_else(|_| "[]".to_owned());
    let body = script.replacen(ORIGINS_SLOT, &list, 1);
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            // Short: a change of --allowed-origins reaches sites within minutes.
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            // Any site may load the script; it decides itself whether to run.
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        body,
    )
        .into_response()
}
