//! Internal notes on a case: written by the agent holding it, stored with the
//! ticket, sent to the consoles holding the case, never to the user.

use chrono::Utc;
use tokio::sync::broadcast;

use super::{Account, AgentError, Agents};
use crate::conversation::SessionId;
use crate::store::Commit;
use crate::tickets::Note;

impl Agents {
    /// An internal note on the case, by the agent holding it: stored with the
    /// ticket and sent to the consoles holding the case, never to the user.
    ///
    /// # Errors
    /// Not held, empty text, or a storage failure (then it was not stored).
    pub async fn note(
        &self,
        agent: &Account,
        session: &SessionId,
        text: &str,
    ) -> Result<Note, AgentError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AgentError::Empty);
        }
        let text = crate::text::mask_secrets(text).unwrap_or_else(|| text.to_owned());
        let note = Note {
            text,
            agent: agent.display_name.clone(),
            ts: Utc::now(),
        };
        // Added to the queue's copy, so a later claim, release or resolve
        // (which write that copy) keeps it.
        let ticket = {
            let mut queue = self.queue.lock().map_err(|_| AgentError::Unknown)?;
            let w = queue.get_mut(session).ok_or(AgentError::Unknown)?;
            if w.held_by.as_deref() != Some(agent.name.as_str()) {
                return Err(AgentError::NotHeld);
            }
            w.ticket.notes.push(note.clone());
            w.ticket.clone()
        };
        let stored = self
            .hub
            .store()
            .commit(Commit {
                session: None,
                messages: &[],
                ticket: Some(&ticket),
                mail: &[],
            })
            .await;
        if let Err(e) = stored {
            if let Ok(mut queue) = self.queue.lock() {
                if let Some(w) = queue.get_mut(session) {
                    if let Some(i) = w.ticket.notes.iter().rposition(|n| n == &note) {
                        w.ticket.notes.remove(i);
                    }
                }
            }
            return Err(e.into());
        }
        // No console listening is fine: the note is stored.
        let _ = self.notes.send((session.clone(), note.clone()));
        Ok(note)
    }

    /// Notes as they are written (each console keeps those of the cases it holds).
    pub fn notes(&self) -> broadcast::Receiver<(SessionId, Note)> {
        self.notes.subscribe()
    }
}
