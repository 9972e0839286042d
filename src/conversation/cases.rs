//! A conversation's case: opening it from the form, its status on request,
//! the mail each case event causes, the user's words on a case that waited
//! for them (it returns to the queue with a fresh deadline), and following a
//! case from any browser with its number and e-mail (see `case_lookup`).

use chrono::Utc;
use serde::Serialize;
use serde_json::json;

use super::reply::{Author, Button, Reply, ReplyKind, TicketRef};
use super::session::Session;
use super::state::{ConversationState, SessionId};
use super::Hub;
use crate::mail;
use crate::store::{OutboundMail, StoreError};
use crate::tickets::{Status, Ticket, TicketId};

/// Longest wait for a followed case's conversation (see
/// [`Hub::add_to_followed_case`]).
const FOLLOW_UP_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

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
    /// The mail this commit causes, with outbox ids (see [`mail::for_commit`]).
    pub(super) async fn mail_for(
        &self,
        session: &Session,
        state: &ConversationState,
        messages: &[Reply],
        ticket: Option<&Ticket>,
    ) -> Result<Vec<OutboundMail>, StoreError> {
        // Only a case message or an agent's words can cause mail: any other
        // turn skips the ticket read.
        let may_mail = messages
            .iter()
            .any(|m| m.kind == ReplyKind::Ticket || m.from == Author::Agent);
        let Some(id) = state
            .ticket
            .as_deref()
            .filter(|_| may_mail)
            .and_then(|t| TicketId::parse(t).ok())
        else {
            return Ok(Vec::new());
        };
        let stored = self.store.ticket(&id).await?;
        let transcript = self.transcript_path(&session.id);
        let user_connected =
            session.has_user_tab() || self.user_present_elsewhere(&session.id).await;
        let ctx = mail::MailContext {
            stored_ticket: stored.as_ref(),
            ticket,
            messages,
            user_connected,
            transcript_path: transcript.as_deref(),
        };
        let mut out = mail::for_commit(&self.render, &self.mail, &ctx, Utc::now());
        for m in &mut out {
            m.id = self.store.next_mail_id().await?;
        }
        Ok(out)
    }

    /// Whether another instance has a tab of the user open on `id` (never,
    /// with sled). When the database cannot say, the user counts as absent:
    /// a reply mailed twice is better than one never mailed.
    async fn user_present_elsewhere(&self, id: &SessionId) -> bool {
        let Some(pg) = self.store.postgres() else {
            return false;
        };
        pg.user_present_elsewhere(id, crate::cluster::PRESENCE_WINDOW)
            .await
            .unwrap_or(false)
    }

    /// Builds a ticket from the conversation's fields and the confirming reply.
    pub(super) async fn open_ticket(
        &self,
        session: &Session,
        state: &mut ConversationState,
    ) -> Result<(Ticket, Vec<Reply>), StoreError> {
        let number = self.store.next_ticket_number().await?;
        let ticket = Ticket::open(
            TicketId::from_number(number),
            session.id.to_string(),
            state.fields.clone(),
            state.priority,
            state.origin.clone(),
            Utc::now(),
        );
        let ticket = Ticket {
            privacy: state.privacy.clone(),
            ..ticket
        };
        state.ticket = Some(ticket.id.to_string());
        state.ticket_status = Some(ticket.status.as_str().to_owned());
        // Personal data is reused by a later case; the problem is not.
        state.fields.remove("descripcion");
        state.topic_text = None;
        let due = ticket.due.format("%d/%m/%Y").to_string();
        let text = self.render.reply(
            "ticket_opened",
            &json!({
                "id": ticket.id.as_str(),
                "due": due,
                "correo": state.fields.get("correo").cloned().unwrap_or_else(|| "que nos indicó".into()),
            }),
        );
        let mut reply = Reply::bot(ReplyKind::Ticket, text);
        reply.ticket = Some(TicketRef::of(&ticket));
        let mut replies = vec![reply];
        // With agents online, the queue tells the user their place instead.
        let availability = self.availability();
        if !availability.available {
            let no_agents = self.render.reply(
                "no_agents",
                &json!({
                    "id": ticket.id.as_str(),
                    "due": due,
                    "hours": availability.hours,
                    "next": availability.next,
                }),
            );
            replies.push(Reply::bot(ReplyKind::Notice, no_agents));
        }
        Ok((ticket, replies))
    }

    /// The conversation's case as stored, if it has one.
    async fn stored_ticket(&self, state: &ConversationState) -> Result<Option<Ticket>, StoreError> {
        match state.ticket.as_deref().map(TicketId::parse) {
            Some(Ok(id)) => self.store.ticket(&id).await,
            _ => Ok(None),
        }
    }

    pub(super) async fn ticket_status_reply(
        &self,
        state: &ConversationState,
    ) -> Result<Option<Reply>, StoreError> {
        let Some(ticket) = self.stored_ticket(state).await? else {
            return Ok(None);
        };
        let text = self.render.reply(
            "ticket_status",
            &json!({
                "id": ticket.id.as_str(),
                "status": ticket.status.label(),
                // No deadline runs while the case waits for the user.
                "due": matches!(ticket.status, Status::Open | Status::InProgress)
                    .then(|| crate::local_time::date(ticket.due)),
                "resolution": ticket.resolution,
            }),
        );
        let mut reply = Reply::bot(ReplyKind::Ticket, text);
        reply.ticket = Some(TicketRef::of(&ticket));
        Ok(Some(reply))
    }

    /// The user wrote on a case that waited for them: the case goes back to
    /// `abierto` (due again in business days) and the user is told their
    /// message reached it. `None` when the conversation's case is not waiting.
    pub(super) async fn user_follow_up(
        &self,
        state: &mut ConversationState,
    ) -> Result<Option<(Ticket, Reply)>, StoreError> {
        if state.held_by.is_some()
            || state.ticket_status.as_deref() != Some(Status::WaitingUser.as_str())
        {
            return Ok(None);
        }
        let Some(mut ticket) = self.stored_ticket(state).await? else {
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
        reply.ticket = Some(TicketRef::of(&ticket));
        Ok(Some((ticket, reply)))
    }

    /// The answer to a follow-up from another browser: the case's status and
    /// its agents' latest replies when the number and e-mail match, otherwise
    /// a reply that says so without telling which of the two was wrong.
    pub(super) async fn case_lookup_reply(
        &self,
        state: &mut ConversationState,
        id: &str,
        email: &str,
    ) -> Result<Reply, StoreError> {
        let ticket = match TicketId::parse(id) {
            Ok(id) => self.store.ticket(&id).await?,
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
        let replies = self.agent_replies(&ticket).await?;
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
        if ticket.status != Status::Resolved {
            reply.buttons = vec![Button {
                label: "Responder al caso".to_owned(),
                value: format!("{}{}", super::case_lookup::REPLY_PREFIX, ticket.id),
            }];
        }
        reply.ticket = Some(TicketRef::of(&ticket));
        Ok(reply)
    }

    /// Adds `text`, written in another conversation after a verified
    /// follow-up, to case `id`'s conversation as the user's message (a case
    /// that waited for the user returns to the queue), and returns the notice
    /// for the conversation it was written in.
    ///
    /// Called with that other conversation's lock held: the append waits at
    /// most [`FOLLOW_UP_WAIT`] for the case's conversation, so two users
    /// answering each other's cases at once cannot block each other forever.
    pub(super) async fn add_to_followed_case(&self, id: &str, text: &str) -> Reply {
        let notice = |name: &str| {
            Reply::bot(
                ReplyKind::Notice,
                self.render.reply(name, &json!({ "id": id })),
            )
        };
        let found = match TicketId::parse(id) {
            Ok(id) => self.store.ticket(&id).await,
            Err(_) => Ok(None),
        };
        let ticket = match found {
            Ok(Some(t)) if t.status != Status::Resolved => t,
            Ok(_) => return notice("case_reply_closed"),
            Err(e) => {
                tracing::warn!(error = %e, "failed to read a followed case");
                return notice("case_reply_failed");
            }
        };
        let Some(session) = SessionId::parse(&ticket.session) else {
            return notice("case_reply_failed");
        };
        let mut reopened = ticket.clone();
        let reopens = reopened.user_replied(Utc::now());
        let message = Reply::new(
            Author::User,
            ReplyKind::Echo,
            format!("(Escrito desde otro navegador) {text}"),
        );
        let change = reopens.then(|| reopened.clone());
        let appended = tokio::time::timeout(
            FOLLOW_UP_WAIT,
            self.append(&session, move |state| {
                if let Some(t) = &change {
                    state.ticket_status = Some(t.status.as_str().to_owned());
                }
                Ok((vec![message.clone()], change.clone()))
            }),
        )
        .await;
        match appended {
            Ok(Ok((conversation, _))) => {
                if reopens {
                    let _ = conversation.events.send(super::SessionEvent::Ticket {
                        id: reopened.id.to_string(),
                        status: reopened.status.as_str().to_owned(),
                    });
                    // Back in every console's queue.
                    let _ = self.opened.send(reopened);
                }
                notice("case_reply_added")
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "failed to add a message to a followed case");
                notice("case_reply_failed")
            }
            Err(_) => notice("case_reply_failed"),
        }
    }

    /// The latest agent replies stored in the case's conversation. Read from
    /// the store, not through the conversation's lock: two users following
    /// each other's cases must not wait on each other.
    async fn agent_replies(&self, ticket: &Ticket) -> Result<Vec<AgentReply>, StoreError> {
        let Some(session) = SessionId::parse(&ticket.session) else {
            return Ok(Vec::new());
        };
        let Some(stored) = self
            .store
            .conversation::<ConversationState>(&session)
            .await?
        else {
            return Ok(Vec::new());
        };
        let mut replies = Vec::new();
        let mut after = 0;
        loop {
            let page = self.replay(&session, after, stored.last_seq, 1000).await?;
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
