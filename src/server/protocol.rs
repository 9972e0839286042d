//! The wire format: every JSON shape that crosses a WebSocket, and nothing else.
//!
//! Frames are decoded in two steps so that each kind of bad input gets its own
//! error code: first as JSON with a string `type`, then into the typed enum.
//! The `Reply` type itself lives in `conversation` (it is a domain value that is
//! stored and replayed); this module only wraps it in frames.

use serde::{Deserialize, Serialize};

use crate::conversation::Reply;

/// A frame sent by the user's widget.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    Hello {
        session: Option<String>,
        #[serde(default)]
        last_seq: Option<u64>,
    },
    Say {
        text: String,
        /// Extension: the client's own name for this message, echoed in its `ack`.
        #[serde(default)]
        client_id: Option<String>,
    },
    Choose {
        value: String,
        #[serde(default)]
        client_id: Option<String>,
    },
    Escalate {
        #[serde(default)]
        text: Option<String>,
        #[serde(default)]
        client_id: Option<String>,
    },
    Feedback {
        seq: u64,
        useful: bool,
    },
    /// Extension: the user is (or stopped) typing; forwarded to the agent
    /// holding the conversation, never stored.
    Typing {
        on: bool,
    },
    /// Extension: the user rates the attention on their resolved case.
    Rating {
        /// 1–5; any integer is accepted here so a bad one gets `invalid_rating`.
        score: i64,
        #[serde(default)]
        comment: Option<String>,
    },
}

/// The `type` values `ClientFrame` knows, to tell "unknown type" from "bad fields".
const CLIENT_TYPES: &[&str] = &[
    "hello", "say", "choose", "escalate", "feedback", "typing", "rating",
];

/// Longest `client_id` echoed back; a longer one is not echoed (the message is
/// still taken).
pub const MAX_CLIENT_ID: usize = 64;

/// A frame sent by an agent's console.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentFrame {
    Claim {
        session: String,
    },
    Say {
        session: String,
        text: String,
    },
    Release {
        session: String,
    },
    Resolve {
        session: String,
        note: String,
    },
    /// Extension: the agent is (or stopped) typing to the user.
    Typing {
        session: String,
        on: bool,
    },
    /// Extension: an internal note on the case, for agents only.
    Note {
        session: String,
        text: String,
    },
}

const AGENT_TYPES: &[&str] = &["claim", "say", "release", "resolve", "typing", "note"];

impl ClientFrame {
    /// Every string made canonical ([`crate::text::normalize`]): the one place
    /// user text is normalised, before limits, validation, storage and search.
    pub fn normalized(self) -> Self {
        use crate::text::normalize;
        match self {
            ClientFrame::Hello { session, last_seq } => ClientFrame::Hello {
                session: session.map(|s| normalize(&s)),
                last_seq,
            },
            ClientFrame::Say { text, client_id } => ClientFrame::Say {
                text: normalize(&text),
                client_id,
            },
            ClientFrame::Choose { value, client_id } => ClientFrame::Choose {
                value: normalize(&value),
                client_id,
            },
            ClientFrame::Escalate { text, client_id } => ClientFrame::Escalate {
                text: text.map(|t| normalize(&t)),
                client_id,
            },
            ClientFrame::Rating { score, comment } => ClientFrame::Rating {
                score,
                comment: comment.map(|c| normalize(&c)),
            },
            f @ (ClientFrame::Feedback { .. } | ClientFrame::Typing { .. }) => f,
        }
    }
}

impl AgentFrame {
    /// Every string made canonical, as for users.
    pub fn normalized(self) -> Self {
        use crate::text::normalize;
        match self {
            AgentFrame::Claim { session } => AgentFrame::Claim {
                session: normalize(&session),
            },
            AgentFrame::Say { session, text } => AgentFrame::Say {
                session: normalize(&session),
                text: normalize(&text),
            },
            AgentFrame::Release { session } => AgentFrame::Release {
                session: normalize(&session),
            },
            AgentFrame::Resolve { session, note } => AgentFrame::Resolve {
                session: normalize(&session),
                note: normalize(&note),
            },
            AgentFrame::Typing { session, on } => AgentFrame::Typing {
                session: normalize(&session),
                on,
            },
            AgentFrame::Note { session, text } => AgentFrame::Note {
                session: normalize(&session),
                text: normalize(&text),
            },
        }
    }
}

/// A frame sent by the server to a user or an agent.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Welcome {
        session: String,
        history: Vec<Reply>,
        /// Extension: false when the client asked for a session the server does not know.
        resumed: bool,
        /// Extension: how many more stored messages follow right after, as
        /// `reply` frames in seq order (replay is paged; 0 when none).
        more: u64,
        /// Extension: the path of the conversation's printable transcript
        /// (`/chat/transcript?key=…`; the key is not the session token, so
        /// the link can be shared without giving the conversation away).
        #[serde(skip_serializing_if = "Option::is_none")]
        transcript: Option<String>,
        /// Extension: the conversation's case is resolved and not rated yet,
        /// so the widget asks for a rating (absent when false).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        rating_due: bool,
        /// Extension: whether a person can attend now, the hours and the next opening.
        agents: crate::tickets::hours::Availability,
    },
    /// Extension: the user's message (say, choose, escalate) is stored with
    /// `seq`; sent only to the socket that sent it, and only when it carried a
    /// `client_id`, whoever answers it (bot, agent, or nobody yet).
    Ack {
        seq: u64,
        client_id: String,
    },
    /// Extension: the rating was stored (sent to the tab that rated).
    Rated {
        ticket: String,
        score: u8,
    },
    Reply(Reply),
    Ticket {
        id: String,
        status: String,
    },
    Agent {
        event: AgentEvent,
        name: String,
    },
    Error {
        code: ErrorCode,
        message: String,
        /// Extension: with `rate_limited`, milliseconds until a retry is accepted.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    Queue {
        items: Vec<QueueItem>,
    },
    Message {
        session: String,
        reply: Reply,
    },
    /// Extension: the other side is typing (`from` is `agent` on the user socket).
    Typing {
        from: &'static str,
        on: bool,
    },
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AgentEvent {
    Joined,
    Left,
}

/// One waiting conversation in an agent's queue.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QueueItem {
    pub session: String,
    pub ticket: String,
    pub waiting_since: String,
    pub preview: String,
    /// Extensions for the console.
    pub user_type: Option<String>,
    pub organization: Option<String>,
    pub priority: String,
    pub held_by: Option<String>,
}

/// Why a frame was refused. Each has a Spanish message for the person who sent it.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    FrameTooLarge,
    InvalidJson,
    UnknownType,
    InvalidFrame,
    EmptyText,
    TextTooLong,
    NotReady,
    AlreadyGreeted,
    UnknownChoice,
    UnknownSeq,
    RateLimited,
    BinaryFrame,
    UnknownSession,
    YaTomado,
    NotHeld,
    /// A rating with a score outside 1–5 or a comment too long.
    InvalidRating,
    /// A rating when the conversation has no resolved case, or one already rated.
    RatingNotDue,
    /// The message could not be written to disk: it was not saved or sent.
    NotSaved,
    Internal,
}

impl ErrorCode {
    /// The message shown to the person, in Spanish.
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::FrameTooLarge => {
                "El mensaje es demasiado grande. Escriba un texto más corto e intente de nuevo."
            }
            ErrorCode::InvalidJson => "No se pudo leer el mensaje: no es JSON válido.",
            ErrorCode::UnknownType => "Tipo de mensaje desconocido.",
            ErrorCode::InvalidFrame => {
                "Al mensaje le faltan datos o tiene datos de un tipo incorrecto."
            }
            ErrorCode::EmptyText => "El mensaje está vacío. Escriba su pregunta.",
            ErrorCode::TextTooLong => {
                "El texto es demasiado largo: el límite es de 4.000 caracteres. Acórtelo e intente de nuevo."
            }
            ErrorCode::NotReady => {
                "La conversación aún no ha comenzado: envíe primero el saludo (hello)."
            }
            ErrorCode::AlreadyGreeted => "La conversación ya había comenzado en esta conexión.",
            ErrorCode::UnknownChoice => {
                "Esa opción ya no está disponible. Elija uno de los botones del último mensaje o escriba su pregunta."
            }
            ErrorCode::UnknownSeq => "No encontramos ese mensaje en la conversación.",
            ErrorCode::RateLimited => {
                "Está enviando mensajes muy rápido. Espere un momento e intente de nuevo."
            }
            ErrorCode::BinaryFrame => "Solo se aceptan mensajes de texto.",
            ErrorCode::UnknownSession => "No encontramos esa conversación.",
            ErrorCode::YaTomado => "Otro asesor ya tomó esta conversación.",
            ErrorCode::NotHeld => "Usted no tiene esta conversación a su cargo.",
            ErrorCode::InvalidRating => {
                "La calificación debe ser un número de 1 a 5, con un comentario de máximo 1.000 caracteres."
            }
            ErrorCode::RatingNotDue => {
                "Solo puede calificar la atención una vez, cuando un asesor haya resuelto su caso."
            }
            ErrorCode::NotSaved => {
                "No pudimos guardar su mensaje por un problema de almacenamiento en el servidor, así que no se envió. Intente de nuevo en unos minutos."
            }
            ErrorCode::Internal => {
                "Tuvimos un problema interno al procesar su mensaje. Intente de nuevo en unos segundos."
            }
        }
    }

    pub fn frame(self) -> ServerFrame {
        ServerFrame::Error {
            code: self,
            message: self.message().to_owned(),
            retry_after_ms: None,
        }
    }

    /// `text_too_long` naming the limit (`--max-text`) and how long the text was.
    pub fn text_too_long(limit: usize, length: usize) -> ServerFrame {
        ServerFrame::Error {
            code: ErrorCode::TextTooLong,
            message: format!(
                "El texto es demasiado largo: el límite es de {} caracteres y el suyo tiene {}. Acórtelo e intente de nuevo.",
                thousands(limit),
                thousands(length)
            ),
            retry_after_ms: None,
        }
    }

    /// `rate_limited` with how long to wait.
    pub fn rate_limited(wait: std::time::Duration) -> ServerFrame {
        let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
        ServerFrame::Error {
            code: ErrorCode::RateLimited,
            message: format!(
                "Está enviando mensajes muy rápido. Espere {} e intente de nuevo.",
                if ms < 1500 {
                    "un momento".to_owned()
                } else {
                    format!("{} segundos", ms.div_ceil(1000))
                }
            ),
            retry_after_ms: Some(ms),
        }
    }
}

/// `4000` as `4.000`, as numbers are written in Colombia.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// Decodes a user frame, classifying what is wrong with it.
///
/// # Errors
/// The `ErrorCode` that the client is told.
pub fn decode_client(text: &str) -> Result<ClientFrame, ErrorCode> {
    decode(text, CLIENT_TYPES)
}

/// Decodes an agent frame, classifying what is wrong with it.
///
/// # Errors
/// The `ErrorCode` that the agent is told.
pub fn decode_agent(text: &str) -> Result<AgentFrame, ErrorCode> {
    decode(text, AGENT_TYPES)
}

fn decode<T: for<'de> Deserialize<'de>>(text: &str, known: &[&str]) -> Result<T, ErrorCode> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|_| ErrorCode::InvalidJson)?;
    let kind = value
        .get("type")
        .and_then(serde_json::Value::as_str)
        .ok_or(ErrorCode::InvalidFrame)?;
    if !known.contains(&kind) {
        return Err(ErrorCode::UnknownType);
    }
    serde_json::from_value(value).map_err(|_| ErrorCode::InvalidFrame)
}

impl ServerFrame {
    /// Encodes for the socket. Serialising these types cannot fail (no maps with
    /// non-string keys, no non-finite floats), so a failure is a bug worth a log line.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            tracing::error!(error = %e, "failed to encode server frame");
            r#"{"type":"error","code":"internal","message":"Error interno."}"#.to_owned()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_bad_frames() {
        let cases = [
            ("not json", ErrorCode::InvalidJson),
            ("[1,2]", ErrorCode::InvalidFrame),
            (r#"{"type":"dance"}"#, ErrorCode::UnknownType),
            (r#"{"type":"say"}"#, ErrorCode::InvalidFrame),
            (r#"{"type":"say","text":5}"#, ErrorCode::InvalidFrame),
            (r#"{"type":"feedback","seq":1}"#, ErrorCode::InvalidFrame),
        ];
        for (input, code) in cases {
            assert_eq!(decode_client(input), Err(code), "{input}");
        }
    }

    #[test]
    fn text_too_long_names_the_limit_as_written_in_colombia() {
        assert_eq!(thousands(4000), "4.000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1.234.567");
        let ServerFrame::Error { message, .. } = ErrorCode::text_too_long(4000, 4100) else {
            panic!("not an error frame");
        };
        assert!(message.contains("4.000 caracteres"), "{message}");
        assert!(message.contains("4.100"), "{message}");
    }

    #[test]
    fn old_clients_without_client_id_still_decode() {
        assert_eq!(
            decode_client(r#"{"type":"say","text":"hola"}"#),
            Ok(ClientFrame::Say {
                text: "hola".into(),
                client_id: None
            })
        );
        assert_eq!(
            decode_client(r#"{"type":"rating","score":4}"#),
            Ok(ClientFrame::Rating {
                score: 4,
                comment: None
            })
        );
    }

    #[test]
    fn decodes_good_frames() {
        assert_eq!(
            decode_client(r#"{"type":"hello","session":null}"#),
            Ok(ClientFrame::Hello {
                session: None,
                last_seq: None
            })
        );
        assert_eq!(
            decode_client(r#"{"type":"escalate"}"#),
            Ok(ClientFrame::Escalate {
                text: None,
                client_id: None
            })
        );
        assert_eq!(
            decode_agent(r#"{"type":"claim","session":"abc"}"#),
            Ok(AgentFrame::Claim {
                session: "abc".into()
            })
        );
    }
}
