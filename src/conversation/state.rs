//! What the server remembers about one conversation between messages.

use serde::{Deserialize, Serialize};

use super::reply::{Button, Reply};
use crate::flows::engine::Fields;
use crate::flows::FlowState;
/// The conversation's key in the store (which relies on its shape).
pub use crate::store::SessionId;
use crate::tickets::Priority;

/// The persisted state of a conversation (stored with every message it
/// changes). The store keeps it as an opaque document
/// ([`crate::store::StateRecord`]) and reads only `last_seq`, `created_at`,
/// `fields` and `ticket` from it: renaming those changes what the store sees.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ConversationState {
    /// The `seq` of the last message; the next one gets `last_seq + 1`.
    pub last_seq: u64,
    pub created_at: String,
    /// The flow in progress.
    #[serde(default)]
    pub flow: Option<FlowState>,
    /// A flow set aside to answer a question; "volver" resumes it.
    #[serde(default)]
    pub suspended: Option<FlowState>,
    /// Case fields known so far (nombre, correo…), reused by the escalation.
    #[serde(default)]
    pub fields: Fields,
    /// The privacy notice's acceptance, copied onto the cases opened here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<crate::tickets::privacy::PrivacyConsent>,
    /// Priority and origin of an escalation in progress.
    #[serde(default)]
    pub priority: Priority,
    #[serde(default)]
    pub origin: Option<String>,
    /// The highest `priority:` of the flows this conversation went through: a
    /// case opened later, from anywhere, gets at least this priority.
    #[serde(default)]
    pub flow_priority: Priority,
    /// The user's words that opened the current topic (for the case description).
    #[serde(default)]
    pub topic_text: Option<String>,
    /// The buttons of the last message that had any (valid `choose` values).
    #[serde(default)]
    pub buttons: Vec<Button>,
    /// The conversation's ticket, and its last known status.
    #[serde(default)]
    pub ticket: Option<String>,
    #[serde(default)]
    pub ticket_status: Option<String>,
    /// The agent holding the conversation; the bot is quiet meanwhile.
    #[serde(default)]
    pub held_by: Option<String>,
    /// A case follow-up from this browser in progress (`estado-de-caso`
    /// without a case of its own): what it asks next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup: Option<CaseLookup>,
    /// Case follow-ups that matched no case (number and e-mail): bounded so
    /// nobody can try numbers and addresses here forever.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lookup_failures: u8,
    /// Messages shown but not stored yet: the greeting of a conversation
    /// nobody has written in. Stored with the first turn, so a conversation
    /// that never got past the greeting leaves nothing on disk.
    #[serde(skip)]
    pub unsaved: Vec<Reply>,
}

/// A case follow-up from any browser: the case number, then the e-mail the
/// case was opened with; once both matched, optionally a message for the case.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CaseLookup {
    Number,
    Email {
        id: String,
    },
    /// A verified follow-up: the next text is added to case `id`.
    Reply {
        id: String,
    },
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

impl ConversationState {
    /// The state as the store keeps it.
    ///
    /// # Errors
    /// When it cannot be encoded (it always can: every map has string keys).
    pub fn to_record(&self) -> Result<crate::store::StateRecord, crate::store::StoreError> {
        crate::store::StateRecord::encode(self).map_err(crate::store::StoreError::Encode)
    }

    /// Records what the user may press next: the buttons of the last of
    /// `replies` that has any; none if the replies offer none.
    pub fn offer(&mut self, replies: &[Reply]) {
        if let Some(last) = replies.iter().rev().find(|r| !r.buttons.is_empty()) {
            self.buttons = last.buttons.clone();
        } else if !replies.is_empty() {
            self.buttons.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The store reads `last_seq`, `created_at`, `fields` and `ticket` out of
    /// the state's document (retention, habeas data): renaming one of them
    /// here would silently hide it from the store.
    #[test]
    fn the_store_reads_what_it_needs_from_a_state() {
        let state = ConversationState {
            last_seq: 12,
            created_at: "2026-11-30T02:21:36+00:00".into(),
            fields: Fields::from([("correo".to_owned(), "ana@example.org".to_owned())]),
            ticket: Some("SB-000007".into()),
            ..ConversationState::default()
        };
        let record = state.to_record().unwrap();
        let summary = record.summary().unwrap();
        assert_eq!(summary.last_seq, 12);
        assert_eq!(summary.created_at, state.created_at);
        assert_eq!(summary.fields, state.fields);
        assert_eq!(summary.ticket.as_deref(), Some("SB-000007"));
        assert_eq!(record.decode::<ConversationState>().unwrap(), state);
    }
}
