//! The live queue of escalated conversations: filled from storage at start,
//! fed by new and reopened cases, published to every console, and each
//! waiting user told their place when it changes.

use std::sync::Arc;

use chrono::Utc;
use serde_json::json;

use super::{Agents, Waiting};
use crate::conversation::{Author, Reply, ReplyKind, SessionId};
use crate::server::protocol::QueueItem;
use crate::tickets::{Priority, Status, Ticket};

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

    /// Tells each waiting user their place in the queue when it changed.
    pub(super) async fn announce_positions(&self) {
        if self.hub.agents_online() == 0 {
            return;
        }
        let changed: Vec<(SessionId, usize)> = {
            let order = self.waiting_order();
            let Ok(mut queue) = self.queue.lock() else {
                return;
            };
            order
                .into_iter()
                .enumerate()
                .filter_map(|(i, session)| {
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
                    (
                        vec![Reply::new(Author::System, ReplyKind::Notice, text)],
                        None,
                    )
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
