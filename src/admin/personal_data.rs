//! Answering a habeas data request (Ley 1581 de 2012): `secobot data export`
//! prints everything held about a person as JSON; `secobot data delete`
//! erases it, leaves one audit line and rewrites the database so no byte of it
//! stays on disk (see `store::rewrite`).
//!
//! Deleting removes the tickets themselves rather than anonymising them: an
//! anonymised case still carries its description, organisation and the
//! transcript's free text, any of which can identify the person, and the law
//! asks for *supresión*. What remains is the audit line, which names the case
//! numbers, never the e-mail or document searched for.

use std::sync::Arc;

use serde::Serialize;

use super::channel::{Outcome, Request};
use crate::agents::Agents;
use crate::cli::{DataCommand, SubjectArgs};
use crate::conversation::{ConversationState, SessionId};
use crate::store::subject::{SubjectConversation, SubjectFeedback, SubjectMail};
use crate::store::{AuditEntry, MessageRecord, Store, Subject, SubjectRecords};
use crate::tickets::Ticket;

/// The export document (`secobot data export`).
#[derive(Debug, Serialize)]
struct Export<'a> {
    /// How the person was looked up.
    subject: &'a Subject,
    exported_at: chrono::DateTime<chrono::Utc>,
    /// Their cases: every field, notes, rating, privacy acceptance.
    tickets: &'a [Ticket],
    /// The conversations of those cases (and forms filled without a case):
    /// state, messages and feedback.
    conversations: Vec<ExportConversation<'a>>,
    /// Mail addressed to them, queued, sent or given up.
    mail: &'a [SubjectMail],
}

/// One conversation in the export. The store keeps a conversation's state as
/// an opaque document; it is decoded here, by the module that owns its shape,
/// so the export shows it field by field.
#[derive(Debug, Serialize)]
struct ExportConversation<'a> {
    session: &'a str,
    state: Option<ConversationState>,
    messages: &'a [MessageRecord],
    feedback: &'a [SubjectFeedback],
}

impl<'a> ExportConversation<'a> {
    fn of(conversation: &'a SubjectConversation) -> Result<Self, serde_json::Error> {
        Ok(ExportConversation {
            session: &conversation.session,
            state: conversation
                .state
                .as_ref()
                .map(|s| s.decode())
                .transpose()?,
            messages: &conversation.messages,
            feedback: &conversation.feedback,
        })
    }
}

fn nothing_found(subject: &Subject) -> Outcome {
    let hint = match subject {
        Subject::Email(_) => "Revise que esté bien escrito (no importan las mayúsculas) o busque por número de documento con --document",
        Subject::Document(_) => "Revise el número (solo cuentan los dígitos) o busque por correo con --email",
    };
    Outcome {
        code: 1,
        stdout: String::new(),
        stderr: format!(
            "error: no hay ningún caso, conversación ni correo de una persona con ese {}. {hint}.\n",
            subject.kind_label()
        ),
    }
}

fn fail(e: impl std::fmt::Display) -> Outcome {
    Outcome {
        code: 1,
        stdout: String::new(),
        stderr: format!("error: {e}\n"),
    }
}

/// The case numbers, for the audit line (never the e-mail or document).
fn case_list(records: &SubjectRecords) -> String {
    if records.tickets.is_empty() {
        return "sin casos".to_owned();
    }
    records
        .tickets
        .iter()
        .map(|t| t.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn summary(records: &SubjectRecords) -> String {
    format!(
        "{} caso(s), {} conversación(es) con {} mensaje(s), {} correo(s)",
        records.tickets.len(),
        records.conversations.len(),
        records.message_count(),
        records.mail.len()
    )
}

/// `secobot data export`: the JSON document on stdout, and an audit line.
pub async fn export(store: &Store, actor: &str, subject: &Subject) -> Outcome {
    let records = match store.subject_records(subject).await {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if records.is_empty() {
        return nothing_found(subject);
    }
    let conversations = match records
        .conversations
        .iter()
        .map(ExportConversation::of)
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(c) => c,
        Err(e) => return fail(format!("a conversation's state does not decode: {e}")),
    };
    let document = Export {
        subject,
        exported_at: chrono::Utc::now(),
        tickets: &records.tickets,
        conversations,
        mail: &records.mail,
    };
    let mut text = match serde_json::to_string_pretty(&document) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    text.push('\n');
    let entry = AuditEntry::now(
        actor,
        "data_export",
        &case_list(&records),
        format!(
            "exportó los datos de una persona (buscada por {}): {}",
            subject.kind_label(),
            summary(&records)
        ),
    );
    if let Err(e) = store.audit(&entry).await {
        return fail(e);
    }
    Outcome {
        code: 0,
        stdout: text,
        stderr: String::new(),
    }
}

/// `secobot data delete`: erases the records, forgets the live conversations,
/// writes the audit line, then rewrites the database files.
pub async fn delete(
    store: &Store,
    live: Option<&Arc<Agents>>,
    actor: &str,
    subject: &Subject,
) -> Outcome {
    let records = match store.subject_records(subject).await {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if records.is_empty() {
        // Still rewrite: a retry after a rewrite that failed finds nothing,
        // and must still clear what the earlier erase left in the files.
        let _ = rewrite(store).await;
        return nothing_found(subject);
    }
    if let Some(agents) = live {
        // First, so that no turn in progress writes the fields back afterwards.
        let sessions: Vec<SessionId> = records
            .conversations
            .iter()
            .filter_map(|c| SessionId::parse(&c.session))
            .collect();
        agents.forget(&sessions).await;
    }
    if let Err(e) = store.erase(&records).await {
        return fail(e);
    }
    let cases = case_list(&records);
    let done = summary(&records);
    let entry = AuditEntry::now(
        actor,
        "data_delete",
        &cases,
        format!(
            "suprimió los datos de una persona (buscada por {}): {done}",
            subject.kind_label()
        ),
    );
    if let Err(e) = store.audit(&entry).await {
        return fail(e);
    }
    tracing::info!(actor, cases = %cases, "personal data erased");
    let residue = rewrite(store).await.err();
    match residue {
        None => Outcome {
            code: 0,
            stdout: format!(
                "datos suprimidos: {done} ({cases}); la base de datos se reescribió sin ellos\n"
            ),
            stderr: String::new(),
        },
        Some(e) => Outcome {
            code: 1,
            stdout: format!("datos suprimidos: {done} ({cases})\n"),
            stderr: format!(
                "error: los registros se suprimieron, pero la base de datos no se pudo reescribir y pueden quedar restos en sus archivos: {e}. Vuelva a ejecutar el mismo comando cuando el servidor esté menos ocupado, o con el servidor detenido.\n"
            ),
        },
    }
}

/// `secobot data export|delete`: through the running server's admin socket,
/// or on the folder directly when it is stopped; returns the exit code.
///
/// # Errors
/// When neither the server nor the folder can be reached.
pub fn run(command: DataCommand) -> anyhow::Result<i32> {
    let (data, request) = match command {
        DataCommand::Export { subject, data } => match parse(&subject) {
            Ok(subject) => (data, Request::DataExport { subject }),
            Err(code) => return Ok(code),
        },
        DataCommand::Delete { subject, data } => match parse(&subject) {
            Ok(subject) => (data, Request::DataDelete { subject }),
            Err(code) => return Ok(code),
        },
    };
    crate::agents::cli::perform(&data, request)
}

/// The subject, or exit code 2 (a usage error, like clap's) with what to type.
fn parse(args: &SubjectArgs) -> Result<Subject, i32> {
    let subject = match (&args.email, &args.document) {
        (Some(e), _) => Subject::email(e).ok_or_else(|| {
            format!("«{e}» no es un correo electrónico: escríbalo completo, por ejemplo nombre@entidad.gov.co")
        }),
        (None, Some(d)) => Subject::document(d).ok_or_else(|| {
            format!("«{d}» no tiene dígitos: escriba el número del documento, por ejemplo 1020304050")
        }),
        (None, None) => Err("indique --email o --document".to_owned()),
    };
    subject.map_err(|message| {
        eprintln!("error: {message}");
        2
    })
}

/// Rewrites sled's files so that erased values leave its log (blocking, on
/// the blocking pool); PostgreSQL needs nothing: deleted rows are vacuumed,
/// and no query can read them meanwhile. The error says why old values may
/// remain on disk.
async fn rewrite(store: &Store) -> Result<(), String> {
    let Some(sled) = store.sled().cloned() else {
        return Ok(());
    };
    match tokio::task::spawn_blocking(move || sled.rewrite()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}
