//! One message of a conversation, as stored and as sent (`reply` in PROTOCOL.md).

use serde::{Deserialize, Serialize};

use crate::store::records::{self, MessageRecord};

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

// The store keeps messages as its own `MessageRecord`: these conversions move
// every field across (no copy), and the exhaustive matches make a new author or
// kind a compile error here until the store's record learns it too.

impl From<Author> for records::Author {
    fn from(author: Author) -> Self {
        match author {
            Author::Bot => records::Author::Bot,
            Author::Agent => records::Author::Agent,
            Author::User => records::Author::User,
            Author::System => records::Author::System,
        }
    }
}

impl From<records::Author> for Author {
    fn from(author: records::Author) -> Self {
        match author {
            records::Author::Bot => Author::Bot,
            records::Author::Agent => Author::Agent,
            records::Author::User => Author::User,
            records::Author::System => Author::System,
        }
    }
}

impl From<ReplyKind> for records::MessageKind {
    fn from(kind: ReplyKind) -> Self {
        match kind {
            ReplyKind::Answer => records::MessageKind::Answer,
            ReplyKind::Suggest => records::MessageKind::Suggest,
            ReplyKind::Fallback => records::MessageKind::Fallback,
            ReplyKind::Flow => records::MessageKind::Flow,
            ReplyKind::Ticket => records::MessageKind::Ticket,
            ReplyKind::Agent => records::MessageKind::Agent,
            ReplyKind::Echo => records::MessageKind::Echo,
            ReplyKind::Notice => records::MessageKind::Notice,
        }
    }
}

impl From<records::MessageKind> for ReplyKind {
    fn from(kind: records::MessageKind) -> Self {
        match kind {
            records::MessageKind::Answer => ReplyKind::Answer,
            records::MessageKind::Suggest => ReplyKind::Suggest,
            records::MessageKind::Fallback => ReplyKind::Fallback,
            records::MessageKind::Flow => ReplyKind::Flow,
            records::MessageKind::Ticket => ReplyKind::Ticket,
            records::MessageKind::Agent => ReplyKind::Agent,
            records::MessageKind::Echo => ReplyKind::Echo,
            records::MessageKind::Notice => ReplyKind::Notice,
        }
    }
}

impl From<Reply> for MessageRecord {
    fn from(reply: Reply) -> Self {
        MessageRecord {
            seq: reply.seq,
            from: reply.from.into(),
            kind: reply.kind.into(),
            text: reply.text,
            html: reply.html,
            buttons: reply
                .buttons
                .into_iter()
                .map(|b| records::ButtonRecord {
                    label: b.label,
                    value: b.value,
                })
                .collect(),
            sources: reply
                .sources
                .into_iter()
                .map(|s| records::SourceRecord {
                    id: s.id,
                    title: s.title,
                    url: s.url,
                })
                .collect(),
            flow: reply.flow.map(|f| records::FlowStepRecord {
                id: f.id,
                step: f.step,
                input: f.input,
            }),
            ticket: reply.ticket.map(|t| records::TicketRefRecord {
                id: t.id,
                status: t.status,
                due: t.due,
            }),
            ts: reply.ts,
            agent_name: reply.agent_name,
        }
    }
}

impl From<MessageRecord> for Reply {
    fn from(record: MessageRecord) -> Self {
        Reply {
            seq: record.seq,
            from: record.from.into(),
            kind: record.kind.into(),
            text: record.text,
            html: record.html,
            buttons: record
                .buttons
                .into_iter()
                .map(|b| Button {
                    label: b.label,
                    value: b.value,
                })
                .collect(),
            sources: record
                .sources
                .into_iter()
                .map(|s| Source {
                    id: s.id,
                    title: s.title,
                    url: s.url,
                })
                .collect(),
            flow: record.flow.map(|f| FlowRef {
                id: f.id,
                step: f.step,
                input: f.input,
            }),
            ticket: record.ticket.map(|t| TicketRef {
                id: t.id,
                status: t.status,
                due: t.due,
            }),
            ts: record.ts,
            agent_name: record.agent_name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reply with every field set, and one with none of the optional ones.
    fn replies() -> [Reply; 2] {
        let mut full = Reply::new(Author::Agent, ReplyKind::Ticket, "Su caso «SB-1»");
        full.seq = 7;
        full.html = Some("<p>Su caso</p>\n".into());
        full.buttons = vec![Button {
            label: "Sí".into(),
            value: "paso:0".into(),
        }];
        full.sources = vec![Source {
            id: "clave".into(),
            title: "Clave".into(),
            url: "/kb/clave".into(),
        }];
        full.flow = Some(FlowRef {
            id: "crear-caso".into(),
            step: "correo".into(),
            input: Some("email".into()),
        });
        full.ticket = Some(TicketRef {
            id: "SB-000001".into(),
            status: "abierto".into(),
            due: Some("2026-12-02".into()),
        });
        full.ts = "2026-11-30T02:21:20.579015951+00:00".into();
        full.agent_name = Some("ana".into());
        let mut bare = Reply::new(Author::System, ReplyKind::Notice, "hola");
        bare.flow = Some(FlowRef {
            id: "f".into(),
            step: "s".into(),
            input: None,
        });
        bare.ticket = Some(TicketRef {
            id: "SB-000002".into(),
            status: "resuelto".into(),
            due: None,
        });
        [full, bare]
    }

    #[test]
    fn a_stored_message_has_the_bytes_the_reply_had() {
        use ReplyKind as K;
        let authors = [Author::Bot, Author::Agent, Author::User, Author::System];
        let every_kind = authors.into_iter().flat_map(|from| {
            [
                K::Answer,
                K::Suggest,
                K::Fallback,
                K::Flow,
                K::Ticket,
                K::Agent,
                K::Echo,
                K::Notice,
            ]
            .into_iter()
            .map(move |kind| Reply::new(from, kind, "x"))
        });
        for reply in replies().into_iter().chain(every_kind) {
            let before = serde_json::to_vec(&reply).unwrap();
            let record = MessageRecord::from(reply.clone());
            assert_eq!(
                String::from_utf8(serde_json::to_vec(&record).unwrap()).unwrap(),
                String::from_utf8(before.clone()).unwrap()
            );
            let read: MessageRecord = serde_json::from_slice(&before).unwrap();
            assert_eq!(Reply::from(read), reply);
        }
    }
}
