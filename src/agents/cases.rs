//! Cases answered from `/agent/tickets`, without a live claim: the user may
//! have left hours ago. The reply is appended to the case's conversation (the
//! user sees it when they come back, and it is mailed when no tab of theirs
//! is open, see `Hub::mail_for`), and the case moves to `esperando_usuario`
//! unless someone is chatting with the user live.

use chrono::Utc;

use super::{AgentError, Agents};
use crate::agents::Account;
use crate::conversation::{SessionEvent, SessionId};
use crate::tickets::{Ticket, TicketId};

/// Longest reply accepted from the case page, in characters (the same limit
/// as a user's message, so a reply always fits the widget).
pub const MAX_REPLY_CHARS: usize = 4_000;

impl Agents {
    /// An agent answers a case from the case page.
    ///
    /// # Errors
    /// Unknown case, its conversation gone (retention), empty or too long
    /// text, a resolved case, or a storage failure (then nothing changed).
    pub async fn answer_case(
        &self,
        agent: &Account,
        id: &TicketId,
        text: &str,
    ) -> Result<Ticket, AgentError> {
        let (mut ticket, session) = self.case(id).await?;
        let text = text.trim();
        if text.is_empty() {
            return Err(AgentError::Empty);
        }
        if text.chars().count() > MAX_REPLY_CHARS {
            return Err(AgentError::TooLong);
        }
        let live = self.holder(&session).is_some();
        ticket.answer(&agent.name, live, Utc::now())?;
        let reply = Self::agent_message(agent, text);
        let t = ticket.clone();
        let (conversation, _) = self
            .hub
            .append(&session, move |state| {
                state.ticket_status = Some(t.status.as_str().to_owned());
                Ok((vec![reply.clone()], Some(t.clone())))
            })
            .await?;
        self.hub.publish(
            &conversation,
            SessionEvent::Ticket {
                id: ticket.id.to_string(),
                status: ticket.status.as_str().to_owned(),
            },
        );
        if let Ok(mut queue) = self.queue.lock() {
            if live {
                if let Some(w) = queue.get_mut(&session) {
                    w.ticket = ticket.clone();
                }
            } else {
                // Nothing for the live queue until the user writes again
                // (then `Hub` reopens the case and it is queued anew).
                queue.remove(&session);
            }
        }
        self.publish();
        self.announce_positions().await;
        Ok(ticket)
    }

    /// An agent resolves a case from the case page. A case someone is
    /// chatting on live is resolved from their console, not here.
    ///
    /// # Errors
    /// Unknown case, held by another agent, already resolved, or a storage
    /// failure.
    pub async fn resolve_case(
        &self,
        agent: &Account,
        id: &TicketId,
        note: &str,
    ) -> Result<Ticket, AgentError> {
        let (ticket, session) = self.case(id).await?;
        if note.trim().is_empty() {
            return Err(AgentError::Empty);
        }
        match self.holder(&session) {
            Some(holder) if holder == agent.name => self.resolve(agent, &session, note).await,
            Some(_) => Err(AgentError::Taken),
            None => self.close(agent, &session, ticket, note).await,
        }
    }

    /// The stored case and its conversation.
    async fn case(&self, id: &TicketId) -> Result<(Ticket, SessionId), AgentError> {
        let ticket = self
            .hub
            .store()
            .ticket(id)
            .await?
            .ok_or(AgentError::UnknownCase)?;
        let session = SessionId::parse(&ticket.session).ok_or(AgentError::UnknownCase)?;
        Ok((ticket, session))
    }

    /// Who holds the conversation live, if anyone.
    fn holder(&self, session: &SessionId) -> Option<String> {
        self.queue
            .lock()
            .ok()?
            .get(session)
            .and_then(|w| w.held_by.clone())
    }
}
