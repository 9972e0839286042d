//! Conversations that other instances write too (the PostgreSQL backend):
//! an instance holding a live conversation learns that another one committed
//! to it (through `cluster`'s notifications, or a commit refused because the
//! other took the seq first) and catches up from the store: its state, and
//! the messages its subscribers have not seen, published in seq order.
//!
//! With sled there is one process per folder, so nothing here ever finds the
//! store ahead of memory.

use std::sync::Arc;

use super::{Hub, Reply, Session, SessionEvent, SessionId};
use crate::conversation::ConversationState;
use crate::store::StoreError;

impl Hub {
    /// Brings the locked `state` of `session` up to the store, if another
    /// instance committed past it; publishes what was missed. Returns whether
    /// anything was.
    ///
    /// # Errors
    /// On a storage failure (then `state` is unchanged).
    pub(super) async fn catch_up(
        &self,
        session: &Session,
        state: &mut ConversationState,
    ) -> Result<bool, StoreError> {
        // A conversation not stored yet (its greeting waits in `unsaved`)
        // has nothing another instance could have added. And sled has no
        // other instance: what it holds past memory is a write that failed
        // (readable until the store recovers and undoes it), never to be
        // shown.
        if !state.unsaved.is_empty() || self.store().sled().is_some() {
            return Ok(false);
        }
        let Some(stored) = self
            .store()
            .conversation::<ConversationState>(&session.id)
            .await?
        else {
            return Ok(false);
        };
        if stored.last_seq <= state.last_seq {
            return Ok(false);
        }
        let missed = self
            .replay(&session.id, state.last_seq, stored.last_seq, usize::MAX)
            .await?;
        let status_changed = stored.ticket_status != state.ticket_status;
        *state = stored;
        for reply in missed {
            let _ = session.events.send(SessionEvent::Reply {
                reply: Arc::new(reply),
                origin: None,
                wire: Arc::default(),
            });
        }
        if let (true, Some(id), Some(status)) = (
            status_changed,
            state.ticket.clone(),
            state.ticket_status.clone(),
        ) {
            let _ = session.events.send(SessionEvent::Ticket { id, status });
        }
        Ok(true)
    }

    /// Another instance committed conversation `id` up to `last_seq`: a live
    /// copy here catches up (a conversation nobody here has open is read
    /// from the store when someone opens it).
    pub async fn committed_elsewhere(&self, id: &SessionId, last_seq: u64) {
        let Some(session) = self.live(id) else {
            return;
        };
        let mut state = session.state.lock().await;
        if state.last_seq >= last_seq {
            return;
        }
        if let Err(e) = self.catch_up(&session, &mut state).await {
            tracing::warn!(error = %e, "failed to catch up with another instance's write");
        }
    }

    /// Catches every live conversation up (after notifications may have been
    /// lost: the listening connection broke).
    pub async fn catch_up_all(&self) {
        let live: Vec<Arc<Session>> = match self.sessions.lock() {
            Ok(sessions) => sessions.values().filter_map(|w| w.upgrade()).collect(),
            Err(_) => return,
        };
        for session in live {
            let mut state = session.state.lock().await;
            if let Err(e) = self.catch_up(&session, &mut state).await {
                tracing::warn!(error = %e, "failed to catch up a conversation");
            }
        }
    }
}

/// Messages a build step of [`Hub::append`] adds, with the ticket change.
pub type Appended = (Vec<Reply>, Option<crate::tickets::Ticket>);
