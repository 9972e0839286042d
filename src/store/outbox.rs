//! The mail outbox: e-mails to send, written in the same commit as the event
//! that causes them (a case opened, an agent's reply, a resolution), so a crash
//! or SMTP being down loses none; sent by the background worker in `mail`.
//!
//! Trees: `outbox` (`ID(u64 BE)` → [`OutboundMail`], pending), `mail_sent` and
//! `mail_failed` (the same records once delivered or given up, kept for the
//! record). An attempt is written (and flushed) *before* the SMTP
//! conversation, so after a crash between sending and marking the mail is
//! sent again with the same `Message-ID` (receivers drop the duplicate) and
//! the attempt is on record.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{decode, encode, Result, SledStore};

/// One e-mail in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundMail {
    /// Outbox key, assigned when committed (0 before).
    #[serde(default)]
    pub id: u64,
    /// `Message-ID`, the same on every attempt: `<KIND.TICKET.N@secobot>`.
    pub message_id: String,
    pub to: String,
    pub subject: String,
    /// Plain text, UTF-8.
    pub body: String,
    /// `caso_abierto`, `respuesta_agente`, `caso_resuelto`.
    pub kind: String,
    pub ticket: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub next_attempt_at: DateTime<Utc>,
    #[serde(default)]
    pub last_error: Option<String>,
    /// When it was delivered (in `mail_sent`).
    #[serde(default)]
    pub sent_at: Option<DateTime<Utc>>,
}

/// How much mail waits, for `/healthz` and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Backlog {
    pub queued: usize,
    /// Age of the oldest queued mail, in seconds.
    pub oldest_secs: Option<i64>,
    pub sent: usize,
    pub failed: usize,
}

fn key(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

impl SledStore {
    /// A fresh outbox id (monotonic across restarts).
    ///
    /// # Errors
    /// On a storage failure.
    pub fn next_mail_id(&self) -> Result<u64> {
        self.db()?.next_id()
    }

    /// Mail due at `now`, oldest first, at most `limit`.
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub fn due_mail(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboundMail>> {
        let db = self.db()?;
        let mut out = Vec::new();
        for item in db.outbox.iter() {
            let (k, v) = item?;
            let mail: OutboundMail = decode(&k, &v)?;
            if mail.next_attempt_at <= now {
                out.push(mail);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Records an attempt about to be made, durably, before the SMTP conversation.
    ///
    /// # Errors
    /// On a storage failure (then the mail is not sent this round).
    pub async fn mail_attempt(&self, mail: &mut OutboundMail, now: DateTime<Utc>) -> Result<()> {
        mail.attempts += 1;
        mail.last_attempt_at = Some(now);
        self.write(|db| {
            db.outbox.insert(key(mail.id), encode(mail)?)?;
            Ok(())
        })?;
        self.flush().await
    }

    /// Moves a delivered mail to `mail_sent`.
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn mail_sent(&self, mail: &mut OutboundMail, now: DateTime<Utc>) -> Result<()> {
        mail.sent_at = Some(now);
        mail.last_error = None;
        self.move_mail(mail, |db| &db.mail_sent)?;
        self.flush().await
    }

    /// Schedules another attempt after a temporary failure.
    ///
    /// # Errors
    /// On a storage failure.
    pub fn mail_retry(
        &self,
        mail: &mut OutboundMail,
        error: String,
        next: DateTime<Utc>,
    ) -> Result<()> {
        mail.last_error = Some(error);
        mail.next_attempt_at = next;
        self.write(|db| {
            db.outbox.insert(key(mail.id), encode(mail)?)?;
            Ok(())
        })
    }

    /// Gives up on a mail (a permanent refusal, or too many attempts).
    ///
    /// # Errors
    /// On a storage failure.
    pub fn mail_failed(&self, mail: &mut OutboundMail, error: String) -> Result<()> {
        mail.last_error = Some(error);
        self.move_mail(mail, |db| &db.mail_failed)
    }

    fn move_mail(&self, mail: &OutboundMail, to: impl Fn(&super::Db) -> &sled::Tree) -> Result<()> {
        use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
        let value = encode(mail)?;
        self.write(|db| {
            let result: std::result::Result<(), TransactionError<()>> = (&db.outbox, to(db))
                .transaction(|(outbox, done)| {
                    // Gone from the outbox means erased meanwhile (`data
                    // delete`): it must not come back as sent or failed.
                    if outbox.remove(&key(mail.id))?.is_some() {
                        done.insert(&key(mail.id), value.as_slice())?;
                    }
                    Ok::<(), ConflictableTransactionError<()>>(())
                });
            result.map_err(|e| match e {
                TransactionError::Storage(e) => super::StoreError::Sled(e),
                TransactionError::Abort(()) => super::StoreError::FlusherGone,
            })
        })
    }

    /// Queued, sent and given-up mail, and the oldest queued one's age.
    ///
    /// # Errors
    /// On a storage failure.
    pub fn mail_backlog(&self, now: DateTime<Utc>) -> Result<Backlog> {
        let db = self.db()?;
        let oldest = match db.outbox.first()? {
            Some((k, v)) => Some(decode::<OutboundMail>(&k, &v)?.created_at),
            None => None,
        };
        Ok(Backlog {
            queued: db.outbox.len(),
            oldest_secs: oldest.map(|t| (now - t).num_seconds().max(0)),
            sent: db.mail_sent.len(),
            failed: db.mail_failed.len(),
        })
    }

    /// Every mail delivered (oldest first), for tests and audits.
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub fn sent_mail(&self) -> Result<Vec<OutboundMail>> {
        let db = self.db()?;
        db.mail_sent
            .iter()
            .map(|item| {
                let (k, v) = item?;
                decode(&k, &v)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Commit;

    fn mail(to: &str) -> OutboundMail {
        OutboundMail {
            id: 0,
            message_id: "<caso_abierto.SB-000001.1@secobot>".into(),
            to: to.into(),
            subject: "Su caso SB-000001".into(),
            body: "Hola".into(),
            kind: "caso_abierto".into(),
            ticket: Some("SB-000001".into()),
            created_at: Utc::now(),
            attempts: 0,
            last_attempt_at: None,
            next_attempt_at: Utc::now(),
            last_error: None,
            sent_at: None,
        }
    }

    #[tokio::test]
    async fn outbox_mail_is_committed_with_the_event_and_moves_once() {
        let store = SledStore::temporary().unwrap();
        let mut m = mail("ana@example.com");
        m.id = store.next_mail_id().unwrap();
        store
            .commit(Commit {
                session: None,
                messages: &[],
                ticket: None,
                mail: std::slice::from_ref(&m),
            })
            .await
            .unwrap();
        let due = store.due_mail(Utc::now(), 10).unwrap();
        assert_eq!(due.len(), 1);
        let mut d = due[0].clone();
        store.mail_attempt(&mut d, Utc::now()).await.unwrap();
        // Not yet marked: still due (a crash here resends it, same Message-ID).
        assert_eq!(store.due_mail(Utc::now(), 10).unwrap()[0].attempts, 1);
        store.mail_sent(&mut d, Utc::now()).await.unwrap();
        assert!(store.due_mail(Utc::now(), 10).unwrap().is_empty());
        let b = store.mail_backlog(Utc::now()).unwrap();
        assert_eq!((b.queued, b.sent, b.failed), (0, 1, 0));
    }

    #[tokio::test]
    async fn retried_mail_waits_until_its_next_attempt() {
        let store = SledStore::temporary().unwrap();
        let mut m = mail("ana@example.com");
        m.id = store.next_mail_id().unwrap();
        store
            .commit(Commit {
                mail: std::slice::from_ref(&m),
                ..Commit::default()
            })
            .await
            .unwrap();
        let later = Utc::now() + chrono::Duration::seconds(60);
        store
            .mail_retry(&mut m, "421 ocupado".into(), later)
            .unwrap();
        assert!(store.due_mail(Utc::now(), 10).unwrap().is_empty());
        assert_eq!(store.due_mail(later, 10).unwrap().len(), 1);
        store.mail_failed(&mut m, "550 no existe".into()).unwrap();
        let b = store.mail_backlog(Utc::now()).unwrap();
        assert_eq!((b.queued, b.failed), (0, 1));
    }
}
