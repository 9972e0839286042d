//! Everything held about one person (a *data subject*, Ley 1581 de 2012), found
//! by e-mail or document number: their cases, the conversations of those
//! cases (and of forms they filled but never confirmed), feedback on them, and
//! mail addressed to them. Read for `secobot data export`, erased for
//! `secobot data delete` (see `admin::personal_data`).
//!
//! Erasing removes the records; sled keeps old values in its log until the
//! space is reused, so the caller then rewrites the database ([`super::rewrite`]).

use std::collections::BTreeSet;

use serde::Serialize;

use super::records::{Author, MessageRecord, StateRecord, StateSummary};
use super::{decode, Feedback, OutboundMail, Result, SledStore};
use crate::tickets::Ticket;

/// How a person is looked up.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum Subject {
    /// Compared case-insensitively, spaces around it ignored.
    Email(String),
    /// Compared by its digits only ("1.020.304.050" is "1020304050").
    Document(String),
}

impl Subject {
    /// A subject from what an operator typed; `None` when it cannot match anything
    /// (an e-mail without `@`, a document without digits).
    pub fn email(text: &str) -> Option<Self> {
        let email = text.trim().to_lowercase();
        email.contains('@').then_some(Subject::Email(email))
    }

    pub fn document(text: &str) -> Option<Self> {
        let digits = digits(text);
        (!digits.is_empty()).then_some(Subject::Document(digits))
    }

    /// How the search is described to people, without the value itself.
    pub fn kind_label(&self) -> &'static str {
        match self {
            Subject::Email(_) => "correo",
            Subject::Document(_) => "documento",
        }
    }
}

/// The e-mails and document numbers known to be one person's.
#[derive(Debug, Default)]
struct Identifiers {
    /// Lower-cased.
    emails: BTreeSet<String>,
    /// Digits only.
    documents: BTreeSet<String>,
}

/// Shorter numbers are too common in typed text to say whose it is.
const MIN_DOCUMENT_DIGITS: usize = 5;

impl Identifiers {
    fn len(&self) -> usize {
        self.emails.len() + self.documents.len()
    }

    /// Whether case fields (a ticket's or a conversation's) are this person's.
    fn matches(&self, fields: &std::collections::BTreeMap<String, String>) -> bool {
        fields
            .get("correo")
            .is_some_and(|c| self.emails.contains(&c.trim().to_lowercase()))
            || fields
                .get("numero_documento")
                .is_some_and(|d| self.documents.contains(&digits(d)))
    }

    fn learn(&mut self, fields: &std::collections::BTreeMap<String, String>) {
        if let Some(c) = fields.get("correo").map(|c| c.trim().to_lowercase()) {
            if c.contains('@') {
                self.emails.insert(c);
            }
        }
        if let Some(d) = fields.get("numero_documento").map(|d| digits(d)) {
            if d.len() >= MIN_DOCUMENT_DIGITS {
                self.documents.insert(d);
            }
        }
    }

    /// Whether a typed text names one of the e-mails or documents.
    fn mentioned_in(&self, text: &str) -> bool {
        let lower = text.to_lowercase();
        let undotted: String = text.chars().filter(|c| *c != '.').collect();
        self.emails.iter().any(|e| lower.contains(e.as_str()))
            || self
                .documents
                .iter()
                .any(|d| d.len() >= MIN_DOCUMENT_DIGITS && undotted.contains(d.as_str()))
    }
}

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// One conversation of the person, whole.
#[derive(Debug, Clone)]
pub struct SubjectConversation {
    pub session: String,
    /// The case fields the conversation collected, and where it stands (its
    /// owner, `conversation`, decodes it for the export).
    pub state: Option<StateRecord>,
    pub messages: Vec<MessageRecord>,
    /// Thumbs up/down the person gave, by message seq.
    pub feedback: Vec<SubjectFeedback>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubjectFeedback {
    pub seq: u64,
    #[serde(flatten)]
    pub feedback: Feedback,
}

/// One e-mail addressed to the person, and where it is.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectMail {
    /// `outbox` (waiting), `mail_sent` or `mail_failed`.
    pub folder: &'static str,
    #[serde(flatten)]
    pub mail: OutboundMail,
}

/// Everything held about a person.
#[derive(Debug, Clone, Default)]
pub struct SubjectRecords {
    pub tickets: Vec<Ticket>,
    pub conversations: Vec<SubjectConversation>,
    pub mail: Vec<SubjectMail>,
}

impl SubjectRecords {
    pub fn is_empty(&self) -> bool {
        self.tickets.is_empty() && self.conversations.is_empty() && self.mail.is_empty()
    }

    pub fn message_count(&self) -> usize {
        self.conversations.iter().map(|c| c.messages.len()).sum()
    }
}

impl SledStore {
    /// Everything held about `subject`.
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub fn subject_records(&self, subject: &Subject) -> Result<SubjectRecords> {
        let db = self.db()?;
        let tickets: Vec<Ticket> = db
            .tickets
            .iter()
            .map(|item| {
                let (key, value) = item?;
                decode(&key, &value)
            })
            .collect::<Result<_>>()?;
        let mut states: Vec<(String, StateSummary)> = Vec::new();
        for item in db.conversations.iter() {
            let (key, value) = item?;
            if key.last() == Some(&b'#') {
                let session = String::from_utf8_lossy(&key[..key.len() - 1]).into_owned();
                states.push((session, decode(&key, &value)?));
            }
        }
        let mut mail = Vec::new();
        for (folder, tree) in [
            ("outbox", &db.outbox),
            ("mail_sent", &db.mail_sent),
            ("mail_failed", &db.mail_failed),
        ] {
            for item in tree.iter() {
                let (key, value) = item?;
                mail.push(SubjectMail {
                    folder,
                    mail: decode(&key, &value)?,
                });
            }
        }
        find(
            subject,
            tickets,
            &states,
            |session| self.subject_conversation(&db, session),
            mail,
        )
    }

    fn subject_conversation(&self, db: &super::Db, session: &str) -> Result<SubjectConversation> {
        let mut conversation = SubjectConversation {
            session: session.to_owned(),
            state: None,
            messages: Vec::new(),
            feedback: Vec::new(),
        };
        for item in db.conversations.scan_prefix(session.as_bytes()) {
            let (key, value) = item?;
            // A session token is a fixed 22 characters; the separator follows it.
            match key.get(session.len()) {
                Some(b'#') if key.len() == session.len() + 1 => {
                    // Checked as a state, kept as its owner wrote it.
                    decode::<StateSummary>(&key, &value)?;
                    conversation.state = Some(StateRecord::from_bytes(value.to_vec()));
                }
                Some(b'/') => conversation.messages.push(decode(&key, &value)?),
                Some(b'!') if key.len() == session.len() + 9 => {
                    let mut seq = [0u8; 8];
                    seq.copy_from_slice(&key[session.len() + 1..]);
                    conversation.feedback.push(SubjectFeedback {
                        seq: u64::from_be_bytes(seq),
                        feedback: decode(&key, &value)?,
                    });
                }
                _ => {}
            }
        }
        Ok(conversation)
    }

    /// Removes every record in `records` (tickets, whole conversations, mail)
    /// in one transaction, and flushes.
    ///
    /// # Errors
    /// On a storage failure (then nothing was removed).
    pub async fn erase(&self, records: &SubjectRecords) -> Result<()> {
        use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
        let mut conversations = sled::Batch::default();
        {
            // Not held into the write: a rewrite may swap the database in between.
            let db = self.writable()?;
            for c in &records.conversations {
                for item in db.conversations.scan_prefix(c.session.as_bytes()) {
                    let (key, _) = item?;
                    conversations.remove(key);
                }
            }
        }
        let mut tickets = sled::Batch::default();
        for t in &records.tickets {
            tickets.remove(t.id.as_str().as_bytes());
        }
        let mut mail: [sled::Batch; 3] = Default::default();
        for m in &records.mail {
            let slot = match m.folder {
                "outbox" => 0,
                "mail_sent" => 1,
                _ => 2,
            };
            mail[slot].remove(&m.mail.id.to_be_bytes());
        }
        self.write(|db| {
            let result: std::result::Result<(), TransactionError<()>> = (
                &db.conversations,
                &db.tickets,
                &db.outbox,
                &db.mail_sent,
                &db.mail_failed,
            )
                .transaction(|(conv, tick, outbox, sent, failed)| {
                    conv.apply_batch(&conversations)?;
                    tick.apply_batch(&tickets)?;
                    outbox.apply_batch(&mail[0])?;
                    sent.apply_batch(&mail[1])?;
                    failed.apply_batch(&mail[2])?;
                    Ok::<(), ConflictableTransactionError<()>>(())
                });
            result.map_err(|e| match e {
                TransactionError::Storage(e) => super::StoreError::Sled(e),
                TransactionError::Abort(()) => super::StoreError::FlusherGone,
            })
        })?;
        self.flush().await
    }
}

impl SledStore {
    /// Removes every e-mail about ticket `id` (queued, sent or failed), for
    /// the retention sweep; returns how many.
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub(super) fn remove_ticket_mail(&self, db: &super::Db, id: &str) -> Result<usize> {
        let mut removed = 0;
        let trees: [fn(&super::Db) -> &sled::Tree; 3] =
            [|d| &d.outbox, |d| &d.mail_sent, |d| &d.mail_failed];
        for tree in trees {
            let mut batch = sled::Batch::default();
            for item in tree(db).iter() {
                let (key, value) = item?;
                let mail: OutboundMail = decode(&key, &value)?;
                if mail.ticket.as_deref() == Some(id) {
                    batch.remove(key);
                    removed += 1;
                }
            }
            self.write(|live| Ok(tree(live).apply_batch(batch)?))?;
        }
        Ok(removed)
    }
}

/// Finds what is held about `subject` among every ticket, conversation state
/// and e-mail of a backend; `conversation` reads one conversation whole.
///
/// # Errors
/// What `conversation` returns.
pub(super) fn find(
    subject: &Subject,
    tickets: Vec<Ticket>,
    states: &[(String, StateSummary)],
    mut conversation: impl FnMut(&str) -> Result<SubjectConversation>,
    mail: Vec<SubjectMail>,
) -> Result<SubjectRecords> {
    let mut known = Identifiers::default();
    match subject {
        Subject::Email(e) => known.emails.insert(e.clone()),
        Subject::Document(d) => known.documents.insert(d.clone()),
    };
    // A person found by e-mail may have given only their document in
    // another form (or the other way round): what their records say about
    // them is searched for too, until nothing new turns up.
    let mut sessions: BTreeSet<String> = BTreeSet::new();
    let mut mine: BTreeSet<usize> = BTreeSet::new();
    loop {
        let before = (known.len(), sessions.len());
        for (i, ticket) in tickets.iter().enumerate() {
            if known.matches(&ticket.fields) {
                known.learn(&ticket.fields);
                sessions.insert(ticket.session.clone());
                mine.insert(i);
            }
        }
        for (session, state) in states {
            if known.matches(&state.fields) {
                known.learn(&state.fields);
                sessions.insert(session.clone());
            }
        }
        if (known.len(), sessions.len()) == before {
            break;
        }
    }
    // Conversations where the person typed their e-mail or document
    // outside a form.
    for (session, _) in states {
        if sessions.contains(session) {
            continue;
        }
        let typed_it = conversation(session)?
            .messages
            .iter()
            .any(|m| m.from == Author::User && known.mentioned_in(&m.text));
        if typed_it {
            sessions.insert(session.clone());
        }
    }
    let mut records = SubjectRecords {
        tickets: tickets
            .into_iter()
            .enumerate()
            .filter(|(i, _)| mine.contains(i))
            .map(|(_, t)| t)
            .collect(),
        ..SubjectRecords::default()
    };
    let ticket_ids: BTreeSet<String> = records.tickets.iter().map(|t| t.id.to_string()).collect();
    for session in &sessions {
        records.conversations.push(conversation(session)?);
    }
    records.mail = mail
        .into_iter()
        .filter(|m| {
            known.emails.contains(&m.mail.to.trim().to_lowercase())
                || m.mail
                    .ticket
                    .as_ref()
                    .is_some_and(|t| ticket_ids.contains(t))
        })
        .collect();
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_normalise_what_the_operator_typed() {
        assert_eq!(
            Subject::email("  Ana.Perez@Example.COM "),
            Some(Subject::Email("ana.perez@example.com".into()))
        );
        assert_eq!(Subject::email("ana"), None);
        assert_eq!(
            Subject::document("1.020.304.050"),
            Some(Subject::Document("1020304050".into()))
        );
        assert_eq!(Subject::document("abc"), None);
        let fields = std::collections::BTreeMap::from([
            ("correo".to_owned(), "ANA.perez@example.com".to_owned()),
            ("numero_documento".to_owned(), "1.020.304.050".to_owned()),
        ]);
        let mut known = Identifiers::default();
        known.emails.insert("ana.perez@example.com".into());
        assert!(known.matches(&fields));
        known.learn(&fields);
        assert!(known.documents.contains("1020304050"));
        assert!(known.mentioned_in("mi cédula es 1.020.304.050"));
        assert!(known.mentioned_in("escríbame a Ana.Perez@example.com"));
        assert!(!known.mentioned_in("el proceso 1020-2026"));
    }
}
