//! The satisfaction rating of a conversation's resolved case, and the
//! transcript's view of a conversation: the conversation layer's part (which
//! ticket, under the conversation's lock); the rule itself is in
//! `tickets::rating`.

use chrono::Utc;

use super::{Hub, Session, SessionId};
use crate::store::{Commit, StoreError};
use crate::tickets::rating::{Rating, RatingRefused};
use crate::tickets::{Ticket, TicketId};

/// Why a rating was not stored.
#[derive(Debug, thiserror::Error)]
pub enum RateError {
    #[error(transparent)]
    Refused(#[from] RatingRefused),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Hub {
    /// The conversation's ticket as stored, if it has one.
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn ticket_of(&self, ticket: Option<&str>) -> Result<Option<Ticket>, StoreError> {
        match ticket.and_then(|t| TicketId::parse(t).ok()) {
            Some(id) => self.store().ticket(&id).await,
            None => Ok(None),
        }
    }

    /// Whether the user of this conversation may rate its case now (resolved,
    /// not rated yet): the widget asks again after a reload until they do.
    pub async fn rating_due(&self, session: &Session) -> bool {
        let ticket = session.state.lock().await.ticket.clone();
        matches!(self.ticket_of(ticket.as_deref()).await, Ok(Some(t)) if t.rating_due())
    }

    /// Stores the user's rating on the conversation's resolved case.
    ///
    /// # Errors
    /// A bad score or comment, no resolved case, a case already rated, or a
    /// storage failure.
    pub async fn rate(
        &self,
        session: &Session,
        score: i64,
        comment: Option<&str>,
    ) -> Result<Ticket, RateError> {
        let rating = Rating::new(score, comment, Utc::now())?;
        // Under the conversation's lock: two tabs rating at once store one.
        let state = session.state.lock().await;
        let mut ticket = self
            .ticket_of(state.ticket.as_deref())
            .await?
            .filter(|t| t.session == session.id.as_str())
            .ok_or(RatingRefused::NotResolved)?;
        ticket.rate(rating)?;
        self.store()
            .commit(Commit {
                session: None,
                messages: &[],
                ticket: Some(&ticket),
                mail: &[],
            })
            .await?;
        drop(state);
        Ok(ticket)
    }

    /// A stored conversation and its ticket, for its transcript; `None` when
    /// the token names no stored conversation.
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn transcript(
        &self,
        id: &SessionId,
    ) -> Result<Option<(Vec<super::Reply>, Option<Ticket>)>, StoreError> {
        let Some(session) = self.get(id).await? else {
            return Ok(None);
        };
        let ticket = session.state.lock().await.ticket.clone();
        let messages = match self.history(id).await {
            Ok(m) => m,
            Err(super::ConversationError::Store(e)) => return Err(e),
            Err(_) => return Ok(None),
        };
        Ok(Some((messages, self.ticket_of(ticket.as_deref()).await?)))
    }
}
