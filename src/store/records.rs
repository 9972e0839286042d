//! The conversation records the store persists, as the store's own types, so
//! that `conversation` depends on `store` and never the reverse, and a second
//! backend can be written against these types alone. (Tickets are still
//! stored as `tickets::Ticket`, a plain value type that imports nothing above.)
//!
//! Their serde shapes are the disk format: a field renamed here changes what
//! every data folder holds, so they only change with a migration. The shapes
//! are those main wrote before the split (test
//! `data_folder_written_before_the_store_split_still_opens` reads a folder
//! written then).
//!
//! - [`MessageRecord`]: one message, typed, because the store reads and edits
//!   it (habeas data searches what the user typed, retention scrubs texts).
//!   `conversation::Reply` converts to and from it by moving its fields.
//! - [`StateRecord`]: a conversation's state, an opaque JSON document owned by
//!   `conversation` (it holds flow states, priorities, case fields of other
//!   modules); the store reads only [`StateSummary`] from it.
//! - [`Feedback`] on a message, and [`SessionId`], the conversation's key.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::value::RawValue;

/// A conversation's token: 128 random bits, URL-safe base64 (22 characters).
///
/// It lives in the store because the store's keys rely on its shape: a fixed
/// length and no separator byte (`#`, `/`, `!`), so a prefix scan of one
/// conversation never reaches another.
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

/// Who wrote a stored message.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Bot,
    Agent,
    User,
    System,
}

/// What kind of message was stored (PROTOCOL.md `reply.kind`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Answer,
    Suggest,
    Fallback,
    Flow,
    Ticket,
    Agent,
    Echo,
    Notice,
}

/// A button offered with a message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ButtonRecord {
    pub label: String,
    pub value: String,
}

/// An article a message cites.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SourceRecord {
    pub id: String,
    pub title: String,
    pub url: String,
}

/// The flow step a message belongs to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FlowStepRecord {
    pub id: String,
    pub step: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
}

/// The ticket a message talks about, as it stood then.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TicketRefRecord {
    pub id: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
}

/// One stored message of a conversation, under `(session, seq)`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MessageRecord {
    pub seq: u64,
    pub from: Author,
    pub kind: MessageKind,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(default)]
    pub buttons: Vec<ButtonRecord>,
    #[serde(default)]
    pub sources: Vec<SourceRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<FlowStepRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<TicketRefRecord>,
    /// When the message was appended (RFC 3339, UTC).
    #[serde(default)]
    pub ts: String,
    /// The agent's display name on `from: agent` messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
}

/// Feedback a user gave on one message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Feedback {
    pub useful: bool,
    pub ts: String,
}

/// A conversation's persisted state: a JSON object whose shape `conversation`
/// owns (its `ConversationState`). The store keeps the bytes as given and
/// reads only [`StateSummary`] from them, so a new field of the state needs
/// no change here; old documents stay readable through the owner's serde
/// defaults, which is how the state has always been versioned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRecord {
    json: Vec<u8>,
}

/// What the store itself reads from a conversation's state: retention (how old,
/// whether it has a case), habeas data (the case fields), backups (a state must
/// decode at least this far).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct StateSummary {
    /// The `seq` of the last message.
    pub last_seq: u64,
    #[serde(default)]
    pub created_at: String,
    /// Case fields collected so far (nombre, correo, numero_documento…).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// The conversation's ticket id, if a case was opened.
    #[serde(default)]
    pub ticket: Option<String>,
}

/// The key of the case fields in a state document (see [`StateSummary`]).
const FIELDS: &str = "fields";

impl StateRecord {
    /// Encodes the owner's state.
    ///
    /// # Errors
    /// When `state` cannot be serialized as JSON (a map with non-string keys).
    pub fn encode<T: Serialize>(state: &T) -> Result<Self, serde_json::Error> {
        Ok(StateRecord {
            json: serde_json::to_vec(state)?,
        })
    }

    /// Decodes the document as the owner's type.
    ///
    /// # Errors
    /// When the document does not have that type's shape.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.json)
    }

    /// The fields the store reads.
    ///
    /// # Errors
    /// When the document is not a state (no `last_seq`, not JSON).
    pub fn summary(&self) -> Result<StateSummary, serde_json::Error> {
        self.decode()
    }

    /// The document as stored.
    pub fn as_bytes(&self) -> &[u8] {
        &self.json
    }

    pub(super) fn from_bytes(json: Vec<u8>) -> Self {
        StateRecord { json }
    }

    /// Edits the case fields in place (retention anonymises them). Every other
    /// part of the document keeps its bytes and its key order: the document is
    /// split into its top-level entries, left raw, and only `fields` is rewritten.
    ///
    /// # Errors
    /// When the document is not a JSON object or its `fields` is not a map of strings.
    pub fn edit_fields(
        &mut self,
        edit: impl FnOnce(&mut BTreeMap<String, String>),
    ) -> Result<(), serde_json::Error> {
        let mut entries: indexmap::IndexMap<String, Box<RawValue>> =
            serde_json::from_slice(&self.json)?;
        let Some(raw) = entries.get_mut(FIELDS) else {
            return Ok(());
        };
        let mut fields: BTreeMap<String, String> = serde_json::from_str(raw.get())?;
        edit(&mut fields);
        *raw = serde_json::value::to_raw_value(&fields)?;
        self.json = serde_json::to_vec(&entries)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editing_fields_keeps_the_rest_of_the_state_byte_for_byte() {
        let before = r#"{"last_seq":7,"created_at":"2026-11-30T02:21:39+00:00","flow":{"flow":"crear-caso","step":"nombre"},"fields":{"correo":"a@b.co","nombre":"Ana"},"priority":"normal","buttons":[{"label":"Sí","value":"paso:0"}],"ticket":null}"#;
        let mut record = StateRecord::from_bytes(before.as_bytes().to_vec());
        record
            .edit_fields(|f| {
                f.insert("nombre".into(), "[anonimizado]".into());
            })
            .unwrap();
        let after = String::from_utf8(record.as_bytes().to_vec()).unwrap();
        assert_eq!(after, before.replace("\"Ana\"", "\"[anonimizado]\""));
        let summary = record.summary().unwrap();
        assert_eq!(summary.last_seq, 7);
        assert_eq!(summary.fields["nombre"], "[anonimizado]");
        assert_eq!(summary.ticket, None);
    }

    #[test]
    fn a_state_without_fields_is_left_as_it_is() {
        let before = br#"{"last_seq":1,"created_at":"x"}"#.to_vec();
        let mut record = StateRecord::from_bytes(before.clone());
        record.edit_fields(|f| f.clear()).unwrap();
        assert_eq!(record.as_bytes(), before.as_slice());
    }

    #[test]
    fn a_document_that_is_not_a_state_has_no_summary() {
        assert!(StateRecord::from_bytes(b"[1,2]".to_vec())
            .summary()
            .is_err());
        assert!(StateRecord::from_bytes(b"{\"created_at\":\"x\"}".to_vec())
            .summary()
            .is_err());
    }
}
