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

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::agents::Agents;
use crate::conversation::{Hub, SessionId};
use crate::shutdown::CancellationToken;
use crate::store::postgres::Change;
use crate::store::PgStore;
use crate::tickets::TicketId;

/// How long to wait before listening again after the database refused.
const RETRY: Duration = Duration::from_secs(1);

/// How often each instance records which agents have a console open on it.
const HEARTBEAT: Duration = Duration::from_secs(2);

/// An agent no instance has recorded for this long has no console anywhere
/// (their instance died, or they left): three missed heartbeats.
pub const PRESENCE_WINDOW: Duration = Duration::from_secs(6);

/// Follows the other instances' changes, and keeps agents' and users'
/// presence, until `shutdown`.
pub fn spawn(store: PgStore, hub: Arc<Hub>, agents: Arc<Agents>, shutdown: CancellationToken) {
    tokio::spawn(presence(
        store.clone(),
        hub.clone(),
        agents.clone(),
        shutdown.clone(),
    ));
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

/// Every [`HEARTBEAT`]: records this instance's connected users (an agent's
/// reply is e-mailed only to a user no instance has) and agents; counts the
/// agents whose consoles are open only on other instances (so users here are
/// told a person can attend); and gives back the conversations of a holder
/// no instance has seen for the grace period (the
/// same grace as after a disconnect, measured from the database: the
/// instance that held their console may be dead). Every instance does it;
/// the second to release a conversation finds it released.
async fn presence(store: PgStore, hub: Arc<Hub>, agents: Arc<Agents>, shutdown: CancellationToken) {
    let mut away_since: HashMap<String, Instant> = HashMap::new();
    let mut tick = tokio::time::interval(HEARTBEAT);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        if let Err(e) = store.heartbeat_users(&hub.connected_sessions()).await {
            tracing::warn!(error = %e, "failed to record the users connected to this instance");
        }
        let here = agents.online_names();
        if let Err(e) = store.heartbeat(&here).await {
            tracing::warn!(error = %e, "failed to record the agents of this instance");
            continue;
        }
        let present = match store.agents_present(PRESENCE_WINDOW).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "failed to read which agents are connected");
                continue;
            }
        };
        let elsewhere = present.iter().filter(|a| !here.contains(a)).count();
        agents.set_present_elsewhere(elsewhere).await;
        let holders = agents.holders();
        let away: BTreeSet<&String> = holders
            .iter()
            .map(|(_, agent)| agent)
            .filter(|a| !present.contains(*a) && !here.contains(*a))
            .collect();
        away_since.retain(|a, _| away.contains(a));
        for agent in away {
            let since = *away_since.entry(agent.clone()).or_insert_with(Instant::now);
            if since.elapsed() < agents.grace_period() {
                continue;
            }
            away_since.remove(agent);
            for (session, holder) in &holders {
                if holder != agent {
                    continue;
                }
                match agents.release(holder, session).await {
                    Ok(()) => {
                        tracing::info!(agent = %holder, "an absent agent's conversation went back to the queue")
                    }
                    Err(e) => tracing::debug!(error = %e, "already given back elsewhere"),
                }
            }
        }
    }
}
