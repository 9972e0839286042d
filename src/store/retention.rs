//! Retention: conversations without a case are deleted some time after
//! their last message, and resolved cases are anonymised some time after they
//! were resolved (their personal fields, wherever the transcript repeats them,
//! and their e-mails).

use super::records::{MessageRecord, StateRecord, StateSummary};
use super::{decode, encode, Db, Result, Store, StoreError};
use crate::tickets::Ticket;

/// What a retention sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    pub deleted: usize,
    pub anonymized: usize,
    /// E-mails of the anonymised tickets removed (queued, sent or failed).
    pub mail: usize,
}

impl Store {
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
                let due = ticket.status == crate::tickets::Status::Resolved
                    && ticket.resolved_at.is_some_and(|t| t < cutoff);
                if !due {
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

    /// Replaces `values` in a conversation's state fields and message texts.
    fn scrub_conversation(&self, db: &Db, session: &str, values: &[String]) -> Result<()> {
        let values: Vec<&String> = values.iter().filter(|v| v.chars().count() >= 3).collect();
        let scrub = |text: &mut String| {
            for v in &values {
                if text.contains(v.as_str()) {
                    *text = text.replace(v.as_str(), crate::tickets::ANONYMIZED);
                }
            }
        };
        let mut batch = sled::Batch::default();
        for item in db.conversations.scan_prefix(session.as_bytes()) {
            let (key, value) = item?;
            match key.get(session.len()) {
                Some(b'#') => {
                    let mut state = StateRecord::from_bytes(value.to_vec());
                    state
                        .edit_fields(|fields| {
                            for name in crate::tickets::PERSONAL_FIELDS {
                                if let Some(v) = fields.get_mut(*name) {
                                    *v = crate::tickets::ANONYMIZED.to_owned();
                                }
                            }
                            for v in fields.values_mut() {
                                scrub(v);
                            }
                        })
                        .map_err(|source| StoreError::Corrupt {
                            key: String::from_utf8_lossy(&key).into_owned(),
                            source,
                        })?;
                    batch.insert(key, state.as_bytes());
                }
                Some(b'/') => {
                    let mut message: MessageRecord = decode(&key, &value)?;
                    scrub(&mut message.text);
                    if let Some(html) = message.html.as_mut() {
                        scrub(html);
                    }
                    batch.insert(key, encode(&message)?);
                }
                _ => {}
            }
        }
        self.write(|db| Ok(db.conversations.apply_batch(batch)?))
    }
}
