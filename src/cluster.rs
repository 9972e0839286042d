//! Several instances on one PostgreSQL database: what one commits, the
//! others learn through `LISTEN`/`NOTIFY` (the store's [`Change`]s), so a user
//! on one instance and an agent on another chat in real time, and every
//! console's queue shows the same cases.
//!
//! What is shared lives in the database, not here: messages and their seq
//! (a unique key), tickets, who holds a conversation (checked on the stored
//! state under the conversation's lock; see `Hub::append`). A notification
//! only says "read the store again"; one that is lost (the listening
//! connection broke) costs a catch-up of everything live, never a message.
//! Knowledge reloads stay per instance: each has its own folder.

use std::sync::Arc;
use std::time::Duration;

use crate::agents::Agents;
use crate::conversation::{Hub, SessionId};
use crate::shutdown::CancellationToken;
use crate::store::postgres::Change;
use crate::store::PgStore;
use crate::tickets::TicketId;

/// How long to wait before listening again after the database refused.
const RETRY: Duration = Duration::from_secs(1);

/// Follows the other instances' changes until `shutdown`.
pub fn spawn(store: PgStore, hub: Arc<Hub>, agents: Arc<Agents>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = follow(&store, &hub, &agents) => {}
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(RETRY) => {}
            }
        }
    });
}

/// Listens and applies changes; returns when listening failed.
async fn follow(store: &PgStore, hub: &Hub, agents: &Agents) {
    let mut listener = match store.listen().await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for other instances' changes; retrying");
            return;
        }
    };
    // Whatever happened before listening (or while not listening) is read
    // from the store once.
    catch_up_everything(hub, agents).await;
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                match serde_json::from_str::<Change>(notification.payload()) {
                    Ok(change) if change.instance != store.instance() => {
                        apply(hub, agents, &change).await;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "an unreadable change notification"),
                }
            }
            // The connection broke and was made again: what was sent
            // meanwhile is lost.
            Ok(None) => {
                tracing::warn!("lost the change notifications for a moment; catching up");
                catch_up_everything(hub, agents).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "listening for other instances' changes failed");
                return;
            }
        }
    }
}

/// One change another instance committed.
async fn apply(hub: &Hub, agents: &Agents, change: &Change) {
    if let Some(session) = change.session.as_deref().and_then(SessionId::parse) {
        hub.committed_elsewhere(&session, change.last_seq).await;
    }
    if let Some(ticket) = change
        .ticket
        .as_deref()
        .and_then(|t| TicketId::parse(t).ok())
    {
        agents.ticket_changed_elsewhere(&ticket).await;
    }
}

async fn catch_up_everything(hub: &Hub, agents: &Agents) {
    hub.catch_up_all().await;
    agents.reload_from_store().await;
}
