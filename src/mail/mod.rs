//! E-mail to users: the case confirmation, an agent's reply while the user is
//! not connected, and the resolution. The answer must reach the person even
//! after they leave the chat.
//!
//! Mail is composed from `templates/mail/*.hbs` when the event is committed and
//! written to the store's outbox in the same transaction ([`for_commit`]); the
//! [`worker`] sends it over SMTP (lettre) with retries and back-off, so SMTP
//! being down or a restart loses nothing.

pub mod worker;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::conversation::{Author, Reply, ReplyKind};
use crate::render::Renderer;
use crate::store::OutboundMail;
use crate::tickets::Ticket;

/// What the server needs to write mail (sending is the worker's business).
#[derive(Debug, Clone, Default)]
pub struct MailSettings {
    /// The address users reach the chat at (`--public-url`), for links; none
    /// when unset.
    pub public_url: Option<String>,
    /// The domain of `--mail-from`, for `Message-ID`s.
    pub domain: String,
}

impl MailSettings {
    fn link(&self, path: &str) -> Option<String> {
        self.public_url
            .as_deref()
            .map(|u| format!("{}{path}", u.trim_end_matches('/')))
    }
}

/// The facts of a commit that may cause mail.
pub struct MailContext<'a> {
    /// The conversation's ticket as stored before this commit, if any.
    pub stored_ticket: Option<&'a Ticket>,
    /// The ticket this commit writes, if any.
    pub ticket: Option<&'a Ticket>,
    pub messages: &'a [Reply],
    /// Whether a user tab of the conversation is open.
    pub user_connected: bool,
    /// The conversation's printable transcript, a path (`/chat/transcript?key=…`).
    pub transcript_path: Option<&'a str>,
}

/// The mail a commit causes: the confirmation when it opens a case, the
/// resolution when it resolves one, and each agent message while no tab of
/// the user is open. Only for cases with an e-mail address.
pub fn for_commit(
    render: &Renderer,
    settings: &MailSettings,
    ctx: &MailContext<'_>,
    now: DateTime<Utc>,
) -> Vec<OutboundMail> {
    let Some(ticket) = ctx.ticket.or(ctx.stored_ticket) else {
        return Vec::new();
    };
    let Some(to) = ticket.fields.get("correo").filter(|c| c.contains('@')) else {
        return Vec::new();
    };
    let field = |k: &str| ticket.fields.get(k).cloned().unwrap_or_default();
    let base = json!({
        "id": ticket.id.as_str(),
        "nombre": field("nombre"),
        "descripcion": field("descripcion"),
        "due": ticket.due.format("%d/%m/%Y").to_string(),
        "chat_url": settings.link("/"),
    });
    let mut out = Vec::new();
    let mut push = |kind: &str, n: usize, data: serde_json::Value| match render.mail(kind, &data) {
        Ok((subject, body)) => out.push(OutboundMail {
            id: 0,
            message_id: format!(
                "<{kind}.{}.{}.{}@{}>",
                ticket.id.as_str(),
                now.timestamp_millis(),
                n,
                settings.domain
            ),
            to: to.clone(),
            subject,
            body,
            kind: kind.to_owned(),
            ticket: Some(ticket.id.to_string()),
            created_at: now,
            attempts: 0,
            last_attempt_at: None,
            next_attempt_at: now,
            last_error: None,
            sent_at: None,
        }),
        Err(e) => tracing::error!(error = %e, "mail template failed; mail not queued"),
    };
    for (n, m) in ctx.messages.iter().enumerate() {
        let status = m.ticket.as_ref().map(|t| t.status.as_str());
        match (m.kind, status) {
            (ReplyKind::Ticket, Some("abierto"))
                if ctx.stored_ticket.is_none() && ctx.ticket.is_some() =>
            {
                push("caso_abierto", n, base.clone());
            }
            (ReplyKind::Ticket, Some("resuelto")) if ctx.ticket.is_some() => {
                let mut data = base.clone();
                data["note"] = json!(ticket.resolution);
                data["resolved_at"] = json!(crate::local_time::date_time(
                    ticket.resolved_at.unwrap_or(now)
                ));
                data["transcript_url"] = json!(ctx.transcript_path.map(|p| settings.link(p)));
                push("caso_resuelto", n, data);
            }
            _ if m.from == Author::Agent && !ctx.user_connected => {
                let mut data = base.clone();
                data["agent"] = json!(m.agent_name.clone().unwrap_or_else(|| "Un asesor".into()));
                data["text"] = json!(m.text);
                push("respuesta_agente", n, data);
            }
            _ => {}
        }
    }
    out
}
