//! The user's side of a case after an agent answered it offline: the next
//! thing the user writes goes to the case (which returns to the queue with a
//! fresh deadline), and a case can be followed from any browser with its
//! number and e-mail (see `case_lookup`).

use chrono::Utc;
use serde::Serialize;
use serde_json::json;

use super::reply::{Author, Reply, ReplyKind, TicketRef};
use super::state::{ConversationState, SessionId};
use super::Hub;
use crate::store::StoreError;
use crate::tickets::{Status, Ticket, TicketId};

/// Agent replies a follow-up shows, the latest ones.
const LOOKUP_REPLIES: usize = 5;

/// One agent reply as a follow-up lists it.
#[derive(Serialize)]
struct AgentReply {
    agent: String,
    at: String,
    text: String,
}

impl Hub {
    /// The user wrote on a case that waited for them: the case goes back to
    /// `abierto` (due again in business days) and the user is told their
    /// message reached it. `None` when the conversation's case is not waiting.
    pub(super) fn user_follow_up(
        &self,
        state: &mut ConversationState,
    ) -> Result<Option<(Ticket, Reply)>, StoreError> {
        if state.held_by.is_some()
            || state.ticket_status.as_deref() != Some(Status::WaitingUser.as_str())
        {
            return Ok(None);
        }
        let Some(id) = state
            .ticket
            .as_deref()
            .and_then(|t| TicketId::parse(t).ok())
        else {
            return Ok(None);
        };
        let Some(mut ticket) = self.store.ticket(&id)? else {
            return Ok(None);
        };
        if !ticket.user_replied(Utc::now()) {
            // The stored case moved on (resolved meanwhile): the bot answers.
            state.ticket_status = Some(ticket.status.as_str().to_owned());
            return Ok(None);
        }
        state.ticket_status = Some(ticket.status.as_str().to_owned());
        let text = self.render.reply(
            "case_follow_up",
            &json!({ "id": ticket.id.as_str(), "due": crate::local_time::date(ticket.due) }),
        );
        let mut reply = Reply::bot(ReplyKind::Ticket, text);
        reply.ticket = Some(TicketRef {
            id: ticket.id.to_string(),
            status: ticket.status.as_str().to_owned(),
            due: Some(ticket.due.to_string()),
        });
        Ok(Some((ticket, reply)))
    }

    /// The answer to a follow-up from another browser: the case's status and
    /// its agents' latest replies when the number and e-mail match, otherwise
    /// a reply that says so without telling which of the two was wrong.
    pub(super) fn case_lookup_reply(
        &self,
        state: &mut ConversationState,
        id: &str,
        email: &str,
    ) -> Result<Reply, StoreError> {
        let ticket = match TicketId::parse(id) {
            Ok(id) => self.store.ticket(&id)?,
            Err(_) => None,
        };
        let matching = ticket.filter(|t| {
            t.fields
                .get("correo")
                .is_some_and(|c| c.trim().eq_ignore_ascii_case(email.trim()))
        });
        let Some(ticket) = matching else {
            state.lookup_failures = state.lookup_failures.saturating_add(1);
            let left =
                super::case_lookup::MAX_LOOKUP_FAILURES.saturating_sub(state.lookup_failures);
            return Ok(Reply::bot(
                ReplyKind::Notice,
                self.render
                    .reply("case_lookup_not_found", &json!({ "id": id, "left": left })),
            ));
        };
        let replies = self.agent_replies(&ticket)?;
        let text = self.render.reply(
            "case_lookup_found",
            &json!({
                "id": ticket.id.as_str(),
                "status": ticket.status.label(),
                "waiting_user": ticket.status == Status::WaitingUser,
                "created": crate::local_time::date_time(ticket.created_at),
                "due": (!matches!(ticket.status, Status::Resolved | Status::WaitingUser))
                    .then(|| crate::local_time::date(ticket.due)),
                "resolution": ticket.resolution,
                "replies": replies,
            }),
        );
        let mut reply = Reply::bot(ReplyKind::Ticket, text.clone());
        reply.html = Some(crate::markdown::markdown(&text));
        reply.ticket = Some(TicketRef {
            id: ticket.id.to_string(),
            status: ticket.status.as_str().to_owned(),
            due: Some(ticket.due.to_string()),
        });
        Ok(reply)
    }

    /// The latest agent replies stored in the case's conversation. Read from
    /// the store, not through the conversation's lock: two users following
    /// each other's cases must not wait on each other.
    fn agent_replies(&self, ticket: &Ticket) -> Result<Vec<AgentReply>, StoreError> {
        let Some(session) = SessionId::parse(&ticket.session) else {
            return Ok(Vec::new());
        };
        let Some(stored) = self.store.conversation(&session)? else {
            return Ok(Vec::new());
        };
        let mut replies = Vec::new();
        let mut after = 0;
        loop {
            let page = self.replay(&session, after, stored.last_seq, 1000)?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            replies.extend(page.into_iter().filter(|m| m.from == Author::Agent));
        }
        let skip = replies.len().saturating_sub(LOOKUP_REPLIES);
        Ok(replies
            .into_iter()
            .skip(skip)
            .map(|m| AgentReply {
                agent: m.agent_name.unwrap_or_else(|| "Asesor".to_owned()),
                at: crate::local_time::date_time_rfc3339(&m.ts),
                text: m.text,
            })
            .collect())
    }
}
