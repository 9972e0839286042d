//! The PostgreSQL backend (`--database postgres://…`): the same records as the
//! sled backend, in one database that several instances share.
//!
//! Schema: `migrations/` (embedded, applied at connect by sqlx's migrator,
//! which records each applied version in `_sqlx_migrations` and takes an
//! advisory lock, so instances starting together do not race). Documents are
//! stored as `jsonb`, bound and read as text so that the bytes go through the
//! same serde code as sled's.
//!
//! Durability: a call returns after PostgreSQL committed its transaction,
//! which with the default `synchronous_commit = on` means its WAL reached the
//! disk. Concurrent commits share one WAL flush (PostgreSQL's own group
//! commit), as the sled backend's writers share one `flush`.
//!
//! Seq across instances: `messages` has the primary key `(session, seq)`; a
//! commit that would write a seq another instance wrote first is rolled back
//! whole and reported as [`StoreError::SeqTaken`].
//!
//! Changes between instances: every commit sends, in its own transaction, a
//! notification on [`CHANGES_CHANNEL`] ([`Change`]: which conversation, up to
//! which seq, which ticket, from which instance). PostgreSQL delivers it only
//! if the transaction commits, after it commits: a listener that reads the
//! store on a notification finds what it announces. A lost notification
//! loses no message (the store has it; clients catch up by seq).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Serialize};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Row;

use super::backend::{
    Audit, Conversations, FeedbackStore, Health, Maintenance, Meta, Outbox, Records, Tickets,
};
use super::records::{MessageRecord, StateRecord, StateSummary};
use super::retention::{due_for_anonymizing, Scrubber};
use super::subject::{self, SubjectConversation, SubjectFeedback, SubjectMail};
use super::{
    AuditEntry, Backlog, Commit, ConversationDump, Feedback, OutboundMail, RecordKind, Result,
    SessionId, StoreError, Subject, SubjectRecords, Sweep,
};
use crate::tickets::{Ticket, TicketId};

/// The embedded migrations (`src/store/postgres/migrations/NNNN_name.sql`).
mod presence;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/postgres/migrations");

/// The `LISTEN`/`NOTIFY` channel of [`Change`]s.
pub const CHANGES_CHANNEL: &str = "secobot_changes";

/// What one instance committed, as the others are told (`NOTIFY` payload,
/// JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Change {
    /// The instance that committed ([`PgStore::instance`]): it ignores its own.
    pub instance: u64,
    /// The conversation written, and its last seq after the commit.
    pub session: Option<String>,
    pub last_seq: u64,
    /// The ticket written with it.
    pub ticket: Option<String>,
}

/// How long a caller waits for a free connection before the call fails.
const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A pool of connections to one PostgreSQL database. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Random per process: tells this instance's notifications from others'.
    instance: u64,
    /// The last connection-level failure, until a query succeeds again (for
    /// `/healthz`): the pool reconnects by itself, so nothing else is needed.
    degraded: Arc<Mutex<Option<String>>>,
}

impl PgStore {
    /// Connects with at most `max_connections` and applies the migrations.
    ///
    /// # Errors
    /// [`StoreError::Database`] when the server cannot be reached or refuses
    /// the login; [`StoreError::Migrate`] when the schema cannot be applied.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).map_err(|e| StoreError::Random(e.to_string()))?;
        Ok(PgStore {
            pool,
            // 63 bits: stored as a `bigint`.
            instance: u64::from_le_bytes(id) >> 1,
            degraded: Arc::new(Mutex::new(None)),
        })
    }

    /// This process's id in [`Change::instance`].
    pub fn instance(&self) -> u64 {
        self.instance
    }

    /// A listener of every instance's [`Change`]s on [`CHANGES_CHANNEL`]
    /// (its own included). It reconnects by itself after a broken
    /// connection, and says so (`try_recv` gives `Ok(None)`): notifications
    /// sent meanwhile are lost, so the caller catches up from the store.
    ///
    /// # Errors
    /// When the database cannot be reached.
    pub async fn listen(&self) -> Result<sqlx::postgres::PgListener> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANGES_CHANNEL).await?;
        Ok(listener)
    }

    /// Notes whether a call reached the database: connection failures mark
    /// the store degraded, any success clears it.
    fn observe<T>(&self, result: std::result::Result<T, sqlx::Error>) -> Result<T> {
        let unreachable = matches!(
            &result,
            Err(sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_))
        );
        if let Ok(mut d) = self.degraded.lock() {
            match (&result, unreachable) {
                (Err(e), true) => {
                    if d.is_none() {
                        tracing::error!(error = %e, "the database cannot be reached");
                    }
                    *d = Some(e.to_string());
                }
                (Ok(_), _) => *d = None,
                (Err(_), false) => {}
            }
        }
        Ok(result?)
    }
}

fn kind_name(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Agent => "agent",
        RecordKind::Login => "login",
    }
}

fn json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(StoreError::Encode)
}

fn parse<T: DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|source| StoreError::Corrupt {
        key: what.to_owned(),
        source,
    })
}

/// A `u64` (seq, limit, id) as PostgreSQL's `bigint`; values past `i64::MAX`
/// never occur (they would be centuries of ids), so they saturate.
fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Whether `error` is the unique violation of `messages`' primary key.
fn is_seq_conflict(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation() && e.constraint() == Some("messages_pkey"))
}

impl Conversations for PgStore {
    async fn commit(&self, commit: Commit<'_>) -> Result<()> {
        let mut tx = self.observe(self.pool.begin().await)?;
        let mut last_seq = 0;
        if let Some((id, state)) = commit.session {
            let summary = state.summary().map_err(|source| StoreError::Corrupt {
                key: format!("{id}#"),
                source,
            })?;
            last_seq = summary.last_seq;
            let text = std::str::from_utf8(state.as_bytes()).map_err(|e| StoreError::Corrupt {
                key: format!("{id}#"),
                source: serde::de::Error::custom(e),
            })?;
            sqlx::query(
                "INSERT INTO conversations (session, state, last_seq, ticket, updated_at)
                 VALUES ($1, $2::jsonb, $3, $4, now())
                 ON CONFLICT (session) DO UPDATE
                 SET state = EXCLUDED.state, last_seq = EXCLUDED.last_seq,
                     ticket = EXCLUDED.ticket, updated_at = now()",
            )
            .bind(id.as_str())
            .bind(text)
            .bind(big(summary.last_seq))
            .bind(summary.ticket.as_deref())
            .execute(&mut *tx)
            .await?;
            if !commit.messages.is_empty() {
                let seqs: Vec<i64> = commit.messages.iter().map(|m| big(m.seq)).collect();
                let bodies = commit
                    .messages
                    .iter()
                    .map(json)
                    .collect::<Result<Vec<String>>>()?;
                let inserted = sqlx::query(
                    "INSERT INTO messages (session, seq, body)
                     SELECT $1, s, b::jsonb FROM UNNEST($2::bigint[], $3::text[]) AS m(s, b)",
                )
                .bind(id.as_str())
                .bind(&seqs)
                .bind(&bodies)
                .execute(&mut *tx)
                .await;
                if let Err(e) = &inserted {
                    if is_seq_conflict(e) {
                        return Err(StoreError::SeqTaken {
                            session: id.to_string(),
                            seq: commit.messages.first().map_or(0, |m| m.seq),
                        });
                    }
                }
                inserted?;
            }
        }
        if let Some(ticket) = commit.ticket {
            sqlx::query(
                "INSERT INTO tickets (id, body) VALUES ($1, $2::jsonb)
                 ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body",
            )
            .bind(ticket.id.as_str())
            .bind(json(ticket)?)
            .execute(&mut *tx)
            .await?;
        }
        let change = Change {
            instance: self.instance,
            session: commit.session.map(|(id, _)| id.to_string()),
            last_seq,
            ticket: commit.ticket.map(|t| t.id.to_string()),
        };
        if change.session.is_some() || change.ticket.is_some() {
            // Delivered only if, and once, this transaction commits.
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANGES_CHANNEL)
                .bind(json(&change)?)
                .execute(&mut *tx)
                .await?;
        }
        for mail in commit.mail {
            sqlx::query(
                "INSERT INTO mail (id, folder, ticket, next_attempt_at, body)
                 VALUES ($1, 'outbox', $2, $3, $4::jsonb)",
            )
            .bind(big(mail.id))
            .bind(mail.ticket.as_deref())
            .bind(mail.next_attempt_at)
            .bind(json(mail)?)
            .execute(&mut *tx)
            .await?;
        }
        let committed = tx.commit().await;
        self.observe(committed)
    }

    async fn conversation<T: DeserializeOwned + Send>(&self, id: &SessionId) -> Result<Option<T>> {
        let row: Option<(String,)> = self.observe(
            sqlx::query_as("SELECT state::text FROM conversations WHERE session = $1")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await,
        )?;
        row.map(|(text,)| parse(&format!("{id}#"), &text))
            .transpose()
    }

    async fn messages_after(
        &self,
        id: &SessionId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<MessageRecord>> {
        let rows: Vec<(String,)> = self.observe(
            sqlx::query_as(
                "SELECT body::text FROM messages WHERE session = $1 AND seq > $2
                 ORDER BY seq LIMIT $3",
            )
            .bind(id.as_str())
            .bind(big(after))
            .bind(big(limit as u64))
            .fetch_all(&self.pool)
            .await,
        )?;
        rows.iter()
            .map(|(text,)| parse(&format!("{id}/"), text))
            .collect()
    }

    async fn scan_conversations(&self) -> Result<Vec<ConversationDump>> {
        let sessions: Vec<(String,)> = self.observe(
            sqlx::query_as("SELECT session FROM conversations ORDER BY session")
                .fetch_all(&self.pool)
                .await,
        )?;
        let mut dumps = Vec::with_capacity(sessions.len());
        for (session,) in sessions {
            let whole = self.whole_conversation(&session).await?;
            dumps.push(ConversationDump {
                session,
                messages: whole.messages,
                feedback: whole
                    .feedback
                    .into_iter()
                    .map(|f| (f.seq, f.feedback))
                    .collect(),
            });
        }
        Ok(dumps)
    }
}

impl PgStore {
    /// One conversation: state, messages and feedback.
    async fn whole_conversation(&self, session: &str) -> Result<SubjectConversation> {
        let state: Option<(String,)> = self.observe(
            sqlx::query_as("SELECT state::text FROM conversations WHERE session = $1")
                .bind(session)
                .fetch_optional(&self.pool)
                .await,
        )?;
        let messages: Vec<(String,)> = self.observe(
            sqlx::query_as("SELECT body::text FROM messages WHERE session = $1 ORDER BY seq")
                .bind(session)
                .fetch_all(&self.pool)
                .await,
        )?;
        let feedback: Vec<(i64, String)> = self.observe(
            sqlx::query_as("SELECT seq, body::text FROM feedback WHERE session = $1 ORDER BY seq")
                .bind(session)
                .fetch_all(&self.pool)
                .await,
        )?;
        Ok(SubjectConversation {
            session: session.to_owned(),
            state: state.map(|(text,)| StateRecord::from_bytes(text.into_bytes())),
            messages: messages
                .iter()
                .map(|(text,)| parse(&format!("{session}/"), text))
                .collect::<Result<_>>()?,
            feedback: feedback
                .iter()
                .map(|(seq, text)| {
                    Ok(SubjectFeedback {
                        seq: unsigned(*seq),
                        feedback: parse(&format!("{session}!"), text)?,
                    })
                })
                .collect::<Result<_>>()?,
        })
    }
}

impl FeedbackStore for PgStore {
    async fn put_feedback(&self, id: &SessionId, seq: u64, feedback: &Feedback) -> Result<()> {
        let done = sqlx::query(
            "INSERT INTO feedback (session, seq, body) VALUES ($1, $2, $3::jsonb)
             ON CONFLICT (session, seq) DO UPDATE SET body = EXCLUDED.body",
        )
        .bind(id.as_str())
        .bind(big(seq))
        .bind(json(feedback)?)
        .execute(&self.pool)
        .await;
        self.observe(done).map(|_| ())
    }
}

impl Tickets for PgStore {
    async fn next_ticket_number(&self) -> Result<u64> {
        let (n,): (i64,) = self.observe(
            sqlx::query_as("SELECT nextval('ticket_numbers')")
                .fetch_one(&self.pool)
                .await,
        )?;
        Ok(unsigned(n))
    }

    async fn ticket(&self, id: &TicketId) -> Result<Option<Ticket>> {
        let row: Option<(String,)> = self.observe(
            sqlx::query_as("SELECT body::text FROM tickets WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await,
        )?;
        row.map(|(text,)| parse(id.as_str(), &text)).transpose()
    }

    async fn tickets(&self) -> Result<Vec<Ticket>> {
        let rows: Vec<(String, String)> = self.observe(
            sqlx::query_as("SELECT id, body::text FROM tickets ORDER BY id")
                .fetch_all(&self.pool)
                .await,
        )?;
        rows.iter().map(|(id, text)| parse(id, text)).collect()
    }
}

impl Records for PgStore {
    async fn put_record<T: Serialize + Sync>(
        &self,
        kind: RecordKind,
        key: &str,
        value: &T,
    ) -> Result<()> {
        let done = sqlx::query(
            "INSERT INTO records (kind, key, body) VALUES ($1, $2, $3::jsonb)
             ON CONFLICT (kind, key) DO UPDATE SET body = EXCLUDED.body",
        )
        .bind(kind_name(kind))
        .bind(key)
        .bind(json(value)?)
        .execute(&self.pool)
        .await;
        self.observe(done).map(|_| ())
    }

    async fn remove_record(&self, kind: RecordKind, key: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM records WHERE kind = $1 AND key = $2")
            .bind(kind_name(kind))
            .bind(key)
            .execute(&self.pool)
            .await;
        Ok(self.observe(done)?.rows_affected() > 0)
    }

    async fn record<T: DeserializeOwned + Send>(
        &self,
        kind: RecordKind,
        key: &str,
    ) -> Result<Option<T>> {
        let row: Option<(String,)> = self.observe(
            sqlx::query_as("SELECT body::text FROM records WHERE kind = $1 AND key = $2")
                .bind(kind_name(kind))
                .bind(key)
                .fetch_optional(&self.pool)
                .await,
        )?;
        row.map(|(text,)| parse(key, &text)).transpose()
    }

    async fn records<T: DeserializeOwned + Send>(
        &self,
        kind: RecordKind,
    ) -> Result<Vec<(String, T)>> {
        let rows: Vec<(String, String)> = self.observe(
            sqlx::query_as("SELECT key, body::text FROM records WHERE kind = $1 ORDER BY key")
                .bind(kind_name(kind))
                .fetch_all(&self.pool)
                .await,
        )?;
        rows.into_iter()
            .map(|(key, text)| {
                let value = parse(&key, &text)?;
                Ok((key, value))
            })
            .collect()
    }
}

impl PgStore {
    /// Rewrites a queued e-mail's document (and when it is due); an e-mail
    /// erased meanwhile (`data delete`) stays erased.
    async fn update_queued(&self, mail: &OutboundMail) -> Result<()> {
        let done = sqlx::query(
            "UPDATE mail SET body = $2::jsonb, next_attempt_at = $3
             WHERE id = $1 AND folder = 'outbox'",
        )
        .bind(big(mail.id))
        .bind(json(mail)?)
        .bind(mail.next_attempt_at)
        .execute(&self.pool)
        .await;
        self.observe(done).map(|_| ())
    }

    /// Moves a queued e-mail to `folder` with its final document.
    async fn file_mail(&self, mail: &OutboundMail, folder: &str) -> Result<()> {
        let done = sqlx::query(
            "UPDATE mail SET body = $2::jsonb, folder = $3 WHERE id = $1 AND folder = 'outbox'",
        )
        .bind(big(mail.id))
        .bind(json(mail)?)
        .bind(folder)
        .execute(&self.pool)
        .await;
        self.observe(done).map(|_| ())
    }
}

impl Outbox for PgStore {
    async fn next_mail_id(&self) -> Result<u64> {
        let (n,): (i64,) = self.observe(
            sqlx::query_as("SELECT nextval('ids')")
                .fetch_one(&self.pool)
                .await,
        )?;
        Ok(unsigned(n))
    }

    async fn due_mail(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboundMail>> {
        let rows: Vec<(i64, String)> = self.observe(
            sqlx::query_as(
                "SELECT id, body::text FROM mail
                 WHERE folder = 'outbox' AND next_attempt_at <= $1 ORDER BY id LIMIT $2",
            )
            .bind(now)
            .bind(big(limit as u64))
            .fetch_all(&self.pool)
            .await,
        )?;
        rows.iter()
            .map(|(id, text)| parse(&format!("mail {id}"), text))
            .collect()
    }

    async fn mail_attempt(&self, mail: &mut OutboundMail, now: DateTime<Utc>) -> Result<()> {
        mail.attempts += 1;
        mail.last_attempt_at = Some(now);
        self.update_queued(mail).await
    }

    async fn mail_sent(&self, mail: &mut OutboundMail, now: DateTime<Utc>) -> Result<()> {
        mail.sent_at = Some(now);
        mail.last_error = None;
        self.file_mail(mail, "mail_sent").await
    }

    async fn mail_retry(
        &self,
        mail: &mut OutboundMail,
        error: String,
        next: DateTime<Utc>,
    ) -> Result<()> {
        mail.last_error = Some(error);
        mail.next_attempt_at = next;
        self.update_queued(mail).await
    }

    async fn mail_failed(&self, mail: &mut OutboundMail, error: String) -> Result<()> {
        mail.last_error = Some(error);
        self.file_mail(mail, "mail_failed").await
    }

    async fn mail_backlog(&self, now: DateTime<Utc>) -> Result<Backlog> {
        let row = self.observe(
            sqlx::query(
                "SELECT count(*) FILTER (WHERE folder = 'outbox'),
                        count(*) FILTER (WHERE folder = 'mail_sent'),
                        count(*) FILTER (WHERE folder = 'mail_failed'),
                        (SELECT body->>'created_at' FROM mail WHERE folder = 'outbox'
                         ORDER BY id LIMIT 1)
                 FROM mail",
            )
            .fetch_one(&self.pool)
            .await,
        )?;
        let count = |i: usize| -> usize {
            row.try_get::<i64, _>(i)
                .ok()
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(0)
        };
        let oldest: Option<String> = row.try_get(3).ok().flatten();
        let oldest = oldest
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| (now - t.with_timezone(&Utc)).num_seconds().max(0));
        Ok(Backlog {
            queued: count(0),
            oldest_secs: oldest,
            sent: count(1),
            failed: count(2),
        })
    }
}

impl Audit for PgStore {
    async fn audit(&self, entry: &AuditEntry) -> Result<()> {
        let done = sqlx::query("INSERT INTO audit (id, body) VALUES (nextval('ids'), $1::jsonb)")
            .bind(json(entry)?)
            .execute(&self.pool)
            .await;
        self.observe(done).map(|_| ())
    }

    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        let rows: Vec<(i64, String)> = self.observe(
            sqlx::query_as("SELECT id, body::text FROM audit ORDER BY id DESC LIMIT $1")
                .bind(big(limit as u64))
                .fetch_all(&self.pool)
                .await,
        )?;
        rows.iter()
            .map(|(id, text)| parse(&format!("audit {id}"), text))
            .collect()
    }
}

impl Meta for PgStore {
    async fn secret(&self, name: &str) -> Result<[u8; 32]> {
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).map_err(|e| StoreError::Random(e.to_string()))?;
        let key = format!("secret:{name}");
        // Several instances may create it at once: the first insert wins and
        // every instance reads that one back.
        let (value,): (Vec<u8>,) = self.observe(
            sqlx::query_as(
                "WITH ins AS (INSERT INTO meta (name, value) VALUES ($1, $2)
                              ON CONFLICT (name) DO NOTHING RETURNING value)
                 SELECT value FROM ins UNION ALL SELECT value FROM meta WHERE name = $1
                 LIMIT 1",
            )
            .bind(&key)
            .bind(&fresh[..])
            .fetch_one(&self.pool)
            .await,
        )?;
        <[u8; 32]>::try_from(value.as_slice())
            .map_err(|_| StoreError::Random(format!("the stored {key} is not 32 bytes")))
    }
}

impl Maintenance for PgStore {
    async fn sweep(
        &self,
        delete_before: Option<DateTime<Utc>>,
        anonymize_before: Option<DateTime<Utc>>,
    ) -> Result<Sweep> {
        let mut report = Sweep::default();
        if let Some(cutoff) = delete_before {
            let done =
                sqlx::query("DELETE FROM conversations WHERE ticket IS NULL AND updated_at < $1")
                    .bind(cutoff)
                    .execute(&self.pool)
                    .await;
            report.deleted = usize::try_from(self.observe(done)?.rows_affected()).unwrap_or(0);
        }
        if let Some(cutoff) = anonymize_before {
            for mut ticket in Tickets::tickets(self).await? {
                if !due_for_anonymizing(&ticket, cutoff) {
                    continue;
                }
                let removed = ticket.anonymize();
                if removed.is_empty() {
                    continue;
                }
                report.mail += self.anonymize(&ticket, &removed).await?;
                report.anonymized += 1;
            }
        }
        Ok(report)
    }

    async fn subject_records(&self, subject: &Subject) -> Result<SubjectRecords> {
        let tickets = Tickets::tickets(self).await?;
        let rows: Vec<(String, String)> = self.observe(
            sqlx::query_as("SELECT session, state::text FROM conversations ORDER BY session")
                .fetch_all(&self.pool)
                .await,
        )?;
        let states = rows
            .iter()
            .map(|(session, text)| Ok((session.clone(), parse::<StateSummary>(session, text)?)))
            .collect::<Result<Vec<_>>>()?;
        // `find` reads conversations synchronously: every one is read first
        // (an operator's rare request; the sled backend scans them all too).
        let mut whole = std::collections::HashMap::new();
        for (session, _) in &states {
            whole.insert(session.clone(), self.whole_conversation(session).await?);
        }
        let mail_rows: Vec<(String, i64, String)> = self.observe(
            sqlx::query_as("SELECT folder, id, body::text FROM mail ORDER BY folder, id")
                .fetch_all(&self.pool)
                .await,
        )?;
        let mail = mail_rows
            .iter()
            .map(|(folder, id, text)| {
                Ok(SubjectMail {
                    folder: match folder.as_str() {
                        "outbox" => "outbox",
                        "mail_sent" => "mail_sent",
                        _ => "mail_failed",
                    },
                    mail: parse(&format!("mail {id}"), text)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        subject::find(
            subject,
            tickets,
            &states,
            |session| {
                whole.get(session).cloned().ok_or_else(|| {
                    StoreError::Unavailable(format!("conversation {session} vanished meanwhile"))
                })
            },
            mail,
        )
    }

    async fn erase(&self, records: &SubjectRecords) -> Result<()> {
        let sessions: Vec<&str> = records
            .conversations
            .iter()
            .map(|c| c.session.as_str())
            .collect();
        let tickets: Vec<&str> = records.tickets.iter().map(|t| t.id.as_str()).collect();
        let mail: Vec<i64> = records.mail.iter().map(|m| big(m.mail.id)).collect();
        let mut tx = self.observe(self.pool.begin().await)?;
        sqlx::query("DELETE FROM conversations WHERE session = ANY($1)")
            .bind(&sessions)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM tickets WHERE id = ANY($1)")
            .bind(&tickets)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM mail WHERE id = ANY($1)")
            .bind(&mail)
            .execute(&mut *tx)
            .await?;
        let committed = tx.commit().await;
        self.observe(committed)
    }
}

impl PgStore {
    /// Writes an anonymised ticket, scrubs its conversation and removes its
    /// e-mails, in one transaction; returns how many e-mails went.
    async fn anonymize(&self, ticket: &Ticket, removed: &[String]) -> Result<usize> {
        let scrubber = Scrubber::new(removed);
        let session = ticket.session.as_str();
        let mut tx = self.observe(self.pool.begin().await)?;
        let state: Option<(String,)> =
            sqlx::query_as("SELECT state::text FROM conversations WHERE session = $1 FOR UPDATE")
                .bind(session)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((text,)) = state {
            let mut state = StateRecord::from_bytes(text.into_bytes());
            scrubber
                .state(&mut state)
                .map_err(|source| StoreError::Corrupt {
                    key: format!("{session}#"),
                    source,
                })?;
            sqlx::query("UPDATE conversations SET state = $2::jsonb WHERE session = $1")
                .bind(session)
                .bind(String::from_utf8_lossy(state.as_bytes()).as_ref())
                .execute(&mut *tx)
                .await?;
        }
        let messages: Vec<(i64, String)> =
            sqlx::query_as("SELECT seq, body::text FROM messages WHERE session = $1")
                .bind(session)
                .fetch_all(&mut *tx)
                .await?;
        for (seq, text) in messages {
            let mut message: MessageRecord = parse(&format!("{session}/{seq}"), &text)?;
            scrubber.message(&mut message);
            sqlx::query("UPDATE messages SET body = $3::jsonb WHERE session = $1 AND seq = $2")
                .bind(session)
                .bind(seq)
                .bind(json(&message)?)
                .execute(&mut *tx)
                .await?;
        }
        let mail = sqlx::query("DELETE FROM mail WHERE ticket = $1")
            .bind(ticket.id.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("UPDATE tickets SET body = $2::jsonb WHERE id = $1")
            .bind(ticket.id.as_str())
            .bind(json(ticket)?)
            .execute(&mut *tx)
            .await?;
        let committed = tx.commit().await;
        self.observe(committed)?;
        Ok(usize::try_from(mail).unwrap_or(0))
    }
}

impl Health for PgStore {
    fn degraded(&self) -> Option<String> {
        self.degraded.lock().ok().and_then(|d| d.clone())
    }

    async fn size_on_disk(&self) -> Result<u64> {
        let (n,): (i64,) = self.observe(
            sqlx::query_as("SELECT pg_database_size(current_database())")
                .fetch_one(&self.pool)
                .await,
        )?;
        Ok(unsigned(n))
    }
}
