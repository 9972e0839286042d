//! Durable storage, behind one handle ([`Store`]) with two backends:
//! - [`embedded`]: one sled database under `--data` (the default; one process
//!   per folder);
//! - [`postgres`]: a PostgreSQL database (`--database postgres://…`), which
//!   several instances can share.
//!
//! [`backend`] states, as traits, what a backend provides and with which
//! ordering and durability; both implement them, and [`Store`] dispatches to
//! the one chosen at start. What only makes sense for sled's files (backup,
//! restore, rewrite, reopening after a failed write) stays on
//! [`embedded::SledStore`], reached through [`Store::sled`].
//!
//! The persisted records are this module's own types ([`records`]): `store`
//! does not import `conversation`.

pub mod audit;
pub mod backend;
pub mod backup;
pub mod embedded;
mod group_commit;
mod outbox;
pub mod postgres;
pub mod records;
mod recovery;
mod retention;
pub mod rewrite;
pub mod subject;

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Serialize};

use crate::tickets::{Ticket, TicketId};
pub use audit::AuditEntry;
use backend::{
    Audit, Conversations, FeedbackStore, Health, Maintenance, Meta, Outbox, Records, Tickets,
};
pub use backup::{BackupError, BackupInfo};
pub use embedded::SledStore;
use embedded::{open_sled, Db, ID_BASE};
pub use outbox::{Backlog, OutboundMail};
pub use postgres::PgStore;
pub use records::{Feedback, MessageRecord, SessionId, StateRecord, StateSummary};
pub use recovery::RECOVERY_INTERVAL;
pub use retention::Sweep;
pub use rewrite::RewriteError;
pub use subject::{Subject, SubjectRecords};

/// Something went wrong reading or writing the data folder.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("failed to open the data folder {path}: {source}")]
    Open { path: String, source: sled::Error },
    /// Another process (a running server, another command) has the folder.
    #[error("the data folder {path} is in use by another secobot process")]
    InUse { path: String },
    #[error("failed to prepare the data folder {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("corrupt record under key {key}: {source}")]
    Corrupt {
        key: String,
        source: serde_json::Error,
    },
    #[error("failed to encode a record: {0}")]
    Encode(serde_json::Error),
    #[error("the system's random generator failed: {0}")]
    Random(String),
    /// A rewrite of the files (`data delete`) was interrupted and could not
    /// be finished or undone; nothing was opened.
    #[error("an interrupted rewrite of the data folder could not be recovered: {0}")]
    Interrupted(String),
    #[error("the storage flusher has stopped")]
    FlusherGone,
    /// A write failed earlier (disk full, I/O error) and the database has not
    /// recovered yet; nothing is written meanwhile.
    #[error("storage is unavailable until it recovers: {0}")]
    Unavailable(String),
    /// PostgreSQL refused or failed a query (the server is down, a
    /// connection broke, a constraint other than seq's was violated).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The embedded migrations could not be applied at start (e.g. the
    /// database was migrated by a newer secobot).
    #[error("the database schema could not be brought up to date: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Another instance committed a message with this seq first: the commit
    /// was refused whole; reload the conversation and try again.
    #[error("message {seq} of conversation {session} was already written by another instance")]
    SeqTaken { session: String, seq: u64 },
    /// An operation on sled's files asked of another backend.
    #[error("{0} is only available with the embedded (sled) store; with PostgreSQL use its own tools (pg_dump, VACUUM)")]
    SledOnly(&'static str),
}

impl StoreError {
    /// Whether this error means the database can no longer write (as opposed
    /// to one bad record).
    fn poisons(&self) -> bool {
        matches!(
            self,
            StoreError::Sled(_) | StoreError::FlusherGone | StoreError::Open { .. }
        )
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A batch of writes applied atomically by [`Store::commit`].
#[derive(Default)]
pub struct Commit<'a> {
    pub session: Option<(&'a SessionId, &'a StateRecord)>,
    pub messages: &'a [MessageRecord],
    pub ticket: Option<&'a Ticket>,
    /// E-mail the event causes, queued in the same transaction (ids assigned).
    pub mail: &'a [OutboundMail],
}

/// The small keyed trees behind [`Store::put_record`].
#[derive(Debug, Clone, Copy)]
pub enum RecordKind {
    Agent,
    Login,
}

/// One conversation read back whole, for reports.
#[derive(Debug)]
pub struct ConversationDump {
    pub session: String,
    pub messages: Vec<MessageRecord>,
    pub feedback: Vec<(u64, Feedback)>,
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(StoreError::Encode)
}

fn decode<T: DeserializeOwned>(key: &[u8], value: &[u8]) -> Result<T> {
    serde_json::from_slice(value).map_err(|source| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        source,
    })
}

/// The store every component shares: the backend chosen at start. Cheap to
/// clone (both variants are handles to shared state).
///
/// Every data call is async (PostgreSQL answers over the network) and
/// dispatches to the backend's [`backend`] trait implementation, whose docs
/// give the ordering and durability contract.
#[derive(Clone)]
pub enum Store {
    Sled(SledStore),
    Postgres(PgStore),
}

/// Calls a [`backend`] trait method on whichever backend `$store` holds.
macro_rules! dispatch {
    ($store:expr, $trait:ident::$method:ident($($arg:expr),*)) => {
        match $store {
            Store::Sled(s) => $trait::$method(s, $($arg),*).await,
            Store::Postgres(p) => $trait::$method(p, $($arg),*).await,
        }
    };
}

impl Store {
    /// Opens (or creates) the sled database under `path` (see
    /// [`SledStore::open`]).
    ///
    /// # Errors
    /// When the folder cannot be created or another process holds it.
    pub fn open(path: &Path, cache_bytes: u64) -> Result<Self> {
        SledStore::open(path, cache_bytes).map(Store::Sled)
    }

    /// An in-memory sled database for unit tests and benchmarks.
    ///
    /// # Errors
    /// When sled cannot create its temporary file.
    pub fn temporary() -> Result<Self> {
        SledStore::temporary().map(Store::Sled)
    }

    /// Connects to PostgreSQL at `url` with a pool of at most
    /// `max_connections`, and applies the embedded migrations.
    ///
    /// # Errors
    /// When the database cannot be reached or migrated.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        PgStore::connect(url, max_connections)
            .await
            .map(Store::Postgres)
    }

    /// The sled store, for what only sled's files have (backup, rewrite,
    /// recovery after a failed write); `None` with PostgreSQL.
    pub fn sled(&self) -> Option<&SledStore> {
        match self {
            Store::Sled(s) => Some(s),
            Store::Postgres(_) => None,
        }
    }

    /// The PostgreSQL backend, for what only several instances need
    /// (presence, notifications).
    pub fn postgres(&self) -> Option<&PgStore> {
        match self {
            Store::Postgres(p) => Some(p),
            Store::Sled(_) => None,
        }
    }

    /// `sled` or `postgresql`, for logs and `/healthz`.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Store::Sled(_) => "sled",
            Store::Postgres(_) => "postgresql",
        }
    }

    /// Why writes are refused right now, if they are.
    pub fn degraded(&self) -> Option<String> {
        match self {
            Store::Sled(s) => Health::degraded(s),
            Store::Postgres(p) => Health::degraded(p),
        }
    }

    /// See [`Conversations::commit`].
    ///
    /// # Errors
    /// On a storage failure ([`StoreError::SeqTaken`] when another instance
    /// wrote the conversation first); nothing of it is visible then.
    pub async fn commit(&self, commit: Commit<'_>) -> Result<()> {
        dispatch!(self, Conversations::commit(commit))
    }

    /// See [`Conversations::conversation`].
    ///
    /// # Errors
    /// On a storage failure, or a record that does not decode as `T`.
    pub async fn conversation<T: DeserializeOwned + Send>(
        &self,
        id: &SessionId,
    ) -> Result<Option<T>> {
        match self {
            Store::Sled(s) => Conversations::conversation(s, id).await,
            Store::Postgres(p) => Conversations::conversation(p, id).await,
        }
    }

    /// See [`Conversations::messages_after`].
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub async fn messages_after(
        &self,
        id: &SessionId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<MessageRecord>> {
        dispatch!(self, Conversations::messages_after(id, after, limit))
    }

    /// See [`Conversations::scan_conversations`].
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub async fn scan_conversations(&self) -> Result<Vec<ConversationDump>> {
        dispatch!(self, Conversations::scan_conversations())
    }

    /// See [`FeedbackStore::put_feedback`].
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn put_feedback(&self, id: &SessionId, seq: u64, feedback: &Feedback) -> Result<()> {
        dispatch!(self, FeedbackStore::put_feedback(id, seq, feedback))
    }

    /// See [`Tickets::next_ticket_number`].
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn next_ticket_number(&self) -> Result<u64> {
        dispatch!(self, Tickets::next_ticket_number())
    }

    /// See [`Tickets::ticket`].
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub async fn ticket(&self, id: &TicketId) -> Result<Option<Ticket>> {
        dispatch!(self, Tickets::ticket(id))
    }

    /// See [`Tickets::tickets`].
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub async fn tickets(&self) -> Result<Vec<Ticket>> {
        dispatch!(self, Tickets::tickets())
    }

    /// See [`Records::put_record`].
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn put_record<T: Serialize + Sync>(
        &self,
        kind: RecordKind,
        key: &str,
        value: &T,
    ) -> Result<()> {
        dispatch!(self, Records::put_record(kind, key, value))
    }

    /// See [`Records::remove_record`].
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn remove_record(&self, kind: RecordKind, key: &str) -> Result<bool> {
        dispatch!(self, Records::remove_record(kind, key))
    }

    /// See [`Records::record`].
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub async fn record<T: DeserializeOwned + Send>(
        &self,
        kind: RecordKind,
        key: &str,
    ) -> Result<Option<T>> {
        match self {
            Store::Sled(s) => Records::record(s, kind, key).await,
            Store::Postgres(p) => Records::record(p, kind, key).await,
        }
    }

    /// See [`Records::records`].
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub async fn records<T: DeserializeOwned + Send>(
        &self,
        kind: RecordKind,
    ) -> Result<Vec<(String, T)>> {
        match self {
            Store::Sled(s) => Records::records(s, kind).await,
            Store::Postgres(p) => Records::records(p, kind).await,
        }
    }

    /// See [`Outbox::next_mail_id`].
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn next_mail_id(&self) -> Result<u64> {
        dispatch!(self, Outbox::next_mail_id())
    }

    /// See [`Outbox::due_mail`].
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub async fn due_mail(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboundMail>> {
        dispatch!(self, Outbox::due_mail(now, limit))
    }

    /// See [`Outbox::mail_attempt`].
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn mail_attempt(&self, mail: &mut OutboundMail, now: DateTime<Utc>) -> Result<()> {
        dispatch!(self, Outbox::mail_attempt(mail, now))
    }

    /// See [`Outbox::mail_sent`].
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn mail_sent(&self, mail: &mut OutboundMail, now: DateTime<Utc>) -> Result<()> {
        dispatch!(self, Outbox::mail_sent(mail, now))
    }

    /// See [`Outbox::mail_retry`].
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn mail_retry(
        &self,
        mail: &mut OutboundMail,
        error: String,
        next: DateTime<Utc>,
    ) -> Result<()> {
        dispatch!(self, Outbox::mail_retry(mail, error, next))
    }

    /// See [`Outbox::mail_failed`].
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn mail_failed(&self, mail: &mut OutboundMail, error: String) -> Result<()> {
        dispatch!(self, Outbox::mail_failed(mail, error))
    }

    /// See [`Outbox::mail_backlog`].
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn mail_backlog(&self, now: DateTime<Utc>) -> Result<Backlog> {
        dispatch!(self, Outbox::mail_backlog(now))
    }

    /// See [`Audit::audit`].
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn audit(&self, entry: &AuditEntry) -> Result<()> {
        dispatch!(self, Audit::audit(entry))
    }

    /// See [`Audit::audit_log`].
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        dispatch!(self, Audit::audit_log(limit))
    }

    /// See [`Meta::secret`].
    ///
    /// # Errors
    /// On a storage failure, or when the system has no random source.
    pub async fn secret(&self, name: &str) -> Result<[u8; 32]> {
        dispatch!(self, Meta::secret(name))
    }

    /// See [`Maintenance::sweep`].
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub async fn sweep(
        &self,
        delete_before: Option<DateTime<Utc>>,
        anonymize_before: Option<DateTime<Utc>>,
    ) -> Result<Sweep> {
        dispatch!(self, Maintenance::sweep(delete_before, anonymize_before))
    }

    /// See [`Maintenance::subject_records`].
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub async fn subject_records(&self, subject: &Subject) -> Result<SubjectRecords> {
        dispatch!(self, Maintenance::subject_records(subject))
    }

    /// See [`Maintenance::erase`].
    ///
    /// # Errors
    /// On a storage failure (then nothing was removed).
    pub async fn erase(&self, records: &SubjectRecords) -> Result<()> {
        dispatch!(self, Maintenance::erase(records))
    }

    /// See [`Health::size_on_disk`].
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn size_on_disk(&self) -> Result<u64> {
        dispatch!(self, Health::size_on_disk())
    }

    /// Waits until everything written so far is durable (sled: one group
    /// flush; PostgreSQL: every committed transaction already is).
    ///
    /// # Errors
    /// When the flush fails.
    pub async fn flush(&self) -> Result<()> {
        match self {
            Store::Sled(s) => s.flush().await,
            Store::Postgres(_) => Ok(()),
        }
    }
}
