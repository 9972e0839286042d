//! The agent console's socket (`/agent/ws`) and login routes.

use axum::Router;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
