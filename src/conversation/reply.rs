//! One message of a conversation, as stored and as sent (`reply` in PROTOCOL.md).

use serde::{Deserialize, Serialize};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Bot,
    Agent,
    User,
    System,
}

/// What kind of message it is (PROTOCOL.md `reply.kind`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ReplyKind {
    Answer,
    Suggest,
    Fallback,
    Flow,
    Ticket,
    Agent,
    Echo,
    Notice,
}

impl ReplyKind {
    /// Stable label, used as a metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyKind::Answer => "answer",
            ReplyKind::Suggest => "suggest",
            ReplyKind::Fallback => "fallback",
            ReplyKind::Flow => "flow",
            ReplyKind::Ticket => "ticket",
            ReplyKind::Agent => "agent",
            ReplyKind::Echo => "echo",
            ReplyKind::Notice => "notice",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Source {
    pub id: String,
    pub title: String,
    pub url: String,
}

/// The flow step a reply belongs to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FlowRef {
    pub id: String,
    pub step: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
}

/// The ticket a reply talks about.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TicketRef {
    pub id: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
}

impl TicketRef {
    /// The reference to `ticket` as it stands.
    pub fn of(ticket: &crate::tickets::Ticket) -> Self {
        TicketRef {
            id: ticket.id.to_string(),
            status: ticket.status.as_str().to_owned(),
            due: Some(ticket.due.to_string()),
        }
    }
}

/// One message of a conversation. `seq` is assigned by the conversation when it
/// is appended; before that it is 0.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Reply {
    pub seq: u64,
    pub from: Author,
    pub kind: ReplyKind,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(default)]
    pub buttons: Vec<Button>,
    #[serde(default)]
    pub sources: Vec<Source>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<FlowRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<TicketRef>,
    /// Extension: when the message was appended (RFC 3339, UTC).
    #[serde(default)]
    pub ts: String,
    /// Extension: the agent's display name on `from: agent` messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
}

impl Reply {
    /// A message with no buttons, sources, flow or ticket.
    pub fn new(from: Author, kind: ReplyKind, text: impl Into<String>) -> Self {
        Reply {
            seq: 0,
            from,
            kind,
            text: text.into(),
            html: None,
            buttons: Vec::new(),
            sources: Vec::new(),
            flow: None,
            ticket: None,
            ts: String::new(),
            agent_name: None,
        }
    }

    pub fn bot(kind: ReplyKind, text: impl Into<String>) -> Self {
        Reply::new(Author::Bot, kind, text)
    }

    pub fn with_buttons(mut self, buttons: Vec<Button>) -> Self {
        self.buttons = buttons;
        self
    }
}
