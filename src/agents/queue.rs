//! The live queue of escalated conversations: filled from storage at start,
//! fed by new and reopened cases, published to every console, and each
//! waiting user told their place when it changes.

use std::sync::Arc;

use chrono::Utc;
use serde_json::json;

use super::{Agents, Waiting};
use crate::conversation::{Author, Reply, ReplyKind, SessionId};
use crate::server::protocol::QueueItem;
use crate::tickets::{Priority, Status, Ticket, TicketId};

/// Where a stored ticket belongs in the live queue: its conversation and who
/// holds it, or `None` when it is not queued (resolved, or waiting for the
/// user: it joins the queue when they write again).
pub(super) fn queue_place(ticket: &Ticket) -> Option<(SessionId, Option<String>)> {
    if matches!(ticket.status, Status::Resolved | Status::WaitingUser) {
        return None;
    }
    let session = SessionId::parse(&ticket.session)?;
    let holder = (ticket.status == Status::InProgress)
        .then(|| ticket.handled_by.clone())
        .flatten();
    Some((session, holder))
}

impl Agents {
    pub(super) async fn reload_queue(&self) {
        let Ok(tickets) = self.hub.store().tickets().await else {
            return;
        };
        if let Ok(mut queue) = self.queue.lock() {
            for ticket in tickets.into_iter().filter(|t| t.status == Status::Open) {
                if let Some(session) = SessionId::parse(&ticket.session) {
                    queue.entry(session).or_insert(Waiting {
                        ticket,
                        held_by: None,
                        announced: None,
                    });
                }
            }
        }
        self.publish();
    }

    /// The queue as the store has it: every case waiting or held, and who
    /// holds it (after other instances' notifications may have been lost).
    pub async fn reload_from_store(&self) {
        let Ok(tickets) = self.hub.store().tickets().await else {
            return;
        };
        if let Ok(mut queue) = self.queue.lock() {
            let mut current = std::collections::BTreeSet::new();
            for ticket in tickets {
                let Some((session, holder)) = queue_place(&ticket) else {
                    continue;
                };
                let waiting = queue.entry(session.clone()).or_insert(Waiting {
                    ticket: ticket.clone(),
                    held_by: None,
                    announced: None,
                });
                waiting.ticket = ticket;
                waiting.held_by = holder;
                current.insert(session);
            }
            queue.retain(|session, _| current.contains(session));
        }
        self.publish();
    }

    /// Another instance wrote ticket `id` (opened, claimed, handed back,
    /// answered, resolved): this instance's queue follows the store, and the
    /// user's tabs here hear that an agent joined or left.
    pub async fn ticket_changed_elsewhere(&self, id: &TicketId) {
        let ticket = match self.hub.store().ticket(id).await {
            Ok(Some(t)) => t,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "failed to read a ticket another instance wrote");
                return;
            }
        };
        let Some(session) = SessionId::parse(&ticket.session) else {
            return;
        };
        let place = queue_place(&ticket);
        let holder = place.as_ref().and_then(|(_, h)| h.clone());
        let before = {
            let Ok(mut queue) = self.queue.lock() else {
                return;
            };
            let before = queue.get(&session).and_then(|w| w.held_by.clone());
            if place.is_none() {
                queue.remove(&session);
            } else {
                let waiting = queue.entry(session.clone()).or_insert(Waiting {
                    ticket: ticket.clone(),
                    held_by: None,
                    announced: None,
                });
                waiting.ticket = ticket.clone();
                waiting.held_by.clone_from(&holder);
            }
            before
        };
        if before != holder {
            if let Some(live) = self.hub.live_session(&session) {
                let (joined, who) = match (&holder, &before) {
                    (Some(now), _) => (true, now.clone()),
                    (None, Some(was)) => (false, was.clone()),
                    (None, None) => (false, String::new()),
                };
                let name = self.display_name(&who).await;
                self.announce(&live, joined, name, &ticket);
            }
        }
        self.publish();
        self.announce_positions().await;
    }

    pub(super) async fn enqueue(&self, ticket: Ticket) {
        let Some(session) = SessionId::parse(&ticket.session) else {
            return;
        };
        if let Ok(mut queue) = self.queue.lock() {
            queue.insert(
                session,
                Waiting {
                    ticket,
                    held_by: None,
                    announced: None,
                },
            );
        }
        self.publish();
        self.announce_positions().await;
    }

    /// Tells each waiting user their place in the queue when it changed,
    /// if a tab of theirs is open on this instance. A user who left is not
    /// written to (the notice would be stale when they read it, and the
    /// place changes again before then); with several instances, only the
    /// one the user is connected to speaks, so the notice is written once.
    pub(super) async fn announce_positions(&self) {
        if self.hub.agents_online() == 0 {
            return;
        }
        let changed: Vec<(SessionId, usize)> = {
            let order: Vec<(SessionId, bool)> = self
                .waiting_order()
                .into_iter()
                .map(|session| {
                    let here = self.hub.user_connected(&session);
                    (session, here)
                })
                .collect();
            let Ok(mut queue) = self.queue.lock() else {
                return;
            };
            order
                .into_iter()
                .enumerate()
                .filter(|(_, (_, here))| *here)
                .filter_map(|(i, (session, _))| {
                    let w = queue.get_mut(&session)?;
                    (w.announced != Some(i)).then(|| {
                        w.announced = Some(i);
                        (session, i)
                    })
                })
                .collect()
        };
        for (session, ahead) in changed {
            let text = self.hub.render().reply(
                "queue_position",
                &json!({ "position": ahead + 1, "ahead": ahead }),
            );
            let result = self
                .hub
                .append(&session, |_| {
                    Ok((
                        vec![Reply::new(Author::System, ReplyKind::Notice, text.clone())],
                        None,
                    ))
                })
                .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "failed to tell a user their queue position");
            }
        }
    }

    /// Unclaimed conversations, high priority first, then oldest first.
    pub(super) fn waiting_order(&self) -> Vec<SessionId> {
        let Ok(queue) = self.queue.lock() else {
            return Vec::new();
        };
        let mut waiting: Vec<(&SessionId, &Waiting)> =
            queue.iter().filter(|(_, w)| w.held_by.is_none()).collect();
        waiting.sort_by_key(|(_, w)| (w.ticket.priority != Priority::Alta, w.ticket.created_at));
        waiting.into_iter().map(|(s, _)| s.clone()).collect()
    }

    pub(super) fn publish(&self) {
        let Ok(queue) = self.queue.lock() else { return };
        let mut items: Vec<(bool, chrono::DateTime<Utc>, QueueItem)> = queue
            .iter()
            .map(|(session, w)| {
                let f = &w.ticket.fields;
                let preview: String = f
                    .get("descripcion")
                    .cloned()
                    .unwrap_or_default()
                    .chars()
                    .take(160)
                    .collect();
                (
                    w.ticket.priority != Priority::Alta,
                    w.ticket.created_at,
                    QueueItem {
                        session: session.to_string(),
                        ticket: w.ticket.id.to_string(),
                        waiting_since: w.ticket.created_at.to_rfc3339(),
                        preview,
                        user_type: f.get("tipo_usuario").cloned(),
                        organization: f.get("organizacion").cloned(),
                        priority: w.ticket.priority.as_str().to_owned(),
                        held_by: w.held_by.clone(),
                    },
                )
            })
            .collect();
        items.sort_by_key(|(normal, at, _)| (*normal, *at));
        self.published
            .send_replace(Arc::new(items.into_iter().map(|(_, _, i)| i).collect()));
    }
}
