//! Retention: conversations without a case are deleted some time after
//! their last message, and resolved cases are anonymised some time after they
//! were resolved (their personal fields, wherever the transcript repeats them,
//! and their e-mails).

use super::records::{MessageRecord, StateRecord, StateSummary};
use super::{decode, encode, Db, Result, SledStore, StoreError};
use crate::tickets::Ticket;

/// What a retention sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    pub deleted: usize,
    pub anonymized: usize,
    /// E-mails of the anonymised tickets removed (queued, sent or failed).
    pub mail: usize,
}

impl SledStore {
    /// Retention (blocking; run off the async workers): deletes conversations
    /// without a ticket whose last message is older than `delete_before`, and
    /// anonymises tickets resolved before `anonymize_before` (their personal
    /// fields, and those values wherever the transcript repeats them).
    ///
    /// # Errors
    /// On a storage failure (what was done so far stays done).
    pub fn sweep(
        &self,
        delete_before: Option<chrono::DateTime<chrono::Utc>>,
        anonymize_before: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Sweep> {
        let db = self.db()?;
        let mut report = Sweep::default();
        if let Some(cutoff) = delete_before {
            let mut expired: Vec<Vec<u8>> = Vec::new();
            for item in db.conversations.iter() {
                let (key, value) = item?;
                if key.last() != Some(&b'#') {
                    continue;
                }
                let prefix = key[..key.len() - 1].to_vec();
                let state: StateSummary = decode(&key, &value)?;
                if state.ticket.is_some() {
                    continue;
                }
                let mut last = prefix.clone();
                last.push(b'/');
                last.extend_from_slice(&state.last_seq.to_be_bytes());
                let when = match db.conversations.get(&last)? {
                    Some(m) => decode::<MessageRecord>(&last, &m)?.ts,
                    None => state.created_at.clone(),
                };
                let old = chrono::DateTime::parse_from_rfc3339(&when)
                    .map(|t| t < cutoff)
                    .unwrap_or(false);
                if old {
                    expired.push(prefix);
                }
            }
            for prefix in expired {
                let mut batch = sled::Batch::default();
                for item in db.conversations.scan_prefix(&prefix) {
                    let (key, _) = item?;
                    batch.remove(key);
                }
                self.write(|db| Ok(db.conversations.apply_batch(batch)?))?;
                report.deleted += 1;
            }
        }
        if let Some(cutoff) = anonymize_before {
            for item in db.tickets.iter() {
                let (key, value) = item?;
                let mut ticket: Ticket = decode(&key, &value)?;
                if !due_for_anonymizing(&ticket, cutoff) {
                    continue;
                }
                let removed = ticket.anonymize();
                if removed.is_empty() {
                    continue;
                }
                self.scrub_conversation(&db, &ticket.session, &removed)?;
                // Its e-mails repeat the name, address and description.
                report.mail += self.remove_ticket_mail(&db, ticket.id.as_str())?;
                let encoded = encode(&ticket)?;
                self.write(|db| Ok(db.tickets.insert(key, encoded).map(|_| ())?))?;
                report.anonymized += 1;
            }
        }
        if report.deleted + report.anonymized > 0 {
            self.write(|db| Ok(db.db.flush().map(|_| ())?))?;
        }
        Ok(report)
    }

    /// Replaces a case's personal values in its conversation's state fields
    /// and message texts.
    fn scrub_conversation(&self, db: &Db, session: &str, values: &[String]) -> Result<()> {
        let scrubber = Scrubber::new(values);
        let mut batch = sled::Batch::default();
        for item in db.conversations.scan_prefix(session.as_bytes()) {
            let (key, value) = item?;
            match key.get(session.len()) {
                Some(b'#') => {
                    let mut state = StateRecord::from_bytes(value.to_vec());
                    scrubber
                        .state(&mut state)
                        .map_err(|source| StoreError::Corrupt {
                            key: String::from_utf8_lossy(&key).into_owned(),
                            source,
                        })?;
                    batch.insert(key, state.as_bytes());
                }
                Some(b'/') => {
                    let mut message: MessageRecord = decode(&key, &value)?;
                    scrubber.message(&mut message);
                    batch.insert(key, encode(&message)?);
                }
                _ => {}
            }
        }
        self.write(|db| Ok(db.conversations.apply_batch(batch)?))
    }
}

/// Whether a ticket was resolved before `cutoff` (then its personal data goes).
pub(super) fn due_for_anonymizing(ticket: &Ticket, cutoff: chrono::DateTime<chrono::Utc>) -> bool {
    ticket.status == crate::tickets::Status::Resolved
        && ticket.resolved_at.is_some_and(|t| t < cutoff)
}

/// Replaces an anonymised case's personal values wherever its conversation
/// repeats them: the state's fields (personal ones wholesale) and the
/// messages' text and HTML. Values shorter than 3 characters are left, since
/// they would also match ordinary words.
pub(super) struct Scrubber<'a> {
    values: Vec<&'a String>,
}

impl<'a> Scrubber<'a> {
    pub(super) fn new(values: &'a [String]) -> Self {
        Scrubber {
            values: values.iter().filter(|v| v.chars().count() >= 3).collect(),
        }
    }

    fn text(&self, text: &mut String) {
        for v in &self.values {
            if text.contains(v.as_str()) {
                *text = text.replace(v.as_str(), crate::tickets::ANONYMIZED);
            }
        }
    }

    /// # Errors
    /// When the state is not a JSON object with string fields.
    pub(super) fn state(&self, state: &mut StateRecord) -> serde_json::Result<()> {
        state.edit_fields(|fields| {
            for name in crate::tickets::PERSONAL_FIELDS {
                if let Some(v) = fields.get_mut(*name) {
                    *v = crate::tickets::ANONYMIZED.to_owned();
                }
            }
            for v in fields.values_mut() {
                self.text(v);
            }
        })
    }

    pub(super) fn message(&self, message: &mut MessageRecord) {
        self.text(&mut message.text);
        if let Some(html) = message.html.as_mut() {
            self.text(html);
        }
    }
}
