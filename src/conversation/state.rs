//! What the server remembers about one conversation between messages.

use std::fmt;

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::reply::{Button, Reply};
use crate::flows::engine::Fields;
use crate::flows::FlowState;
use crate::tickets::Priority;

/// A conversation's token: 128 random bits, URL-safe base64 (22 characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(String);

impl SessionId {
    /// A fresh random token from the operating system's generator.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        // The OS generator failing means the machine is unusable; there is no
        // safe fallback for a session secret.
        #[allow(clippy::expect_used)]
        getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
        SessionId(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Accepts only what [`SessionId::generate`] produces, so a token can be
    /// used as a storage key prefix safely.
    pub fn parse(text: &str) -> Option<Self> {
        let ok = text.len() == 22
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| SessionId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The persisted state of a conversation (stored with every message it changes).
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
