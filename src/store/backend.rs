//! What a storage backend provides, as traits: the calls `conversation`,
//! `agents`, `mail`, `admin` and `server` make on [`SledStore`] today, grouped by
//! what they hold, each with the ordering and durability it promises. The
//! sled [`SledStore`] implements them by delegating to its own methods; the
//! PostgreSQL backend (issue 15) implements the same, and callers move from
//! `SledStore` to these traits once it exists. Nothing calls them yet.
//!
//! Every call is async, even where sled answers from memory, because a
//! database answers over the network. The futures are `Send` (callers run in
//! spawned tasks). Generic calls make the traits unfit for `dyn`: the server
//! holds the chosen backend in an enum, [`super::Store`], that dispatches by
//! `match` (static dispatch, no boxing per call).
//!
//! Left out, because they are about sled's files rather than the data:
//! `backup`/`restore` (PostgreSQL has `pg_dump`), `rewrite` (sled keeps erased
//! values in its log; PostgreSQL needs a `VACUUM`), `try_recover` (reopening a
//! poisoned sled), `flush_blocking` (shutdown), and `apply` (benchmarks).
//!
//! Words used below: *durable* means the call returns after the write would
//! survive a crash of the process and the machine; *atomic* means a reader,
//! on any instance, sees all of the write or none of it.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Serialize};

use super::{
    AuditEntry, Backlog, Commit, ConversationDump, Feedback, MessageRecord, OutboundMail,
    RecordKind, Result, SessionId, SledStore, Subject, SubjectRecords, Sweep,
};
use crate::tickets::{Ticket, TicketId};

/// Conversations, their messages with seq, and the tickets and mail that a
/// turn writes with them.
pub trait Conversations: Send + Sync {
    /// Applies `commit` atomically (state, messages, ticket, mail), and returns
    /// once it is durable.
    ///
    /// Seq: the caller, holding the conversation, numbers the messages
    /// `last_seq + 1…` and puts the new `last_seq` in the state. A backend
    /// shared by several instances must refuse the whole commit if any
    /// `(session, seq)` already exists (a unique key), never overwrite: the
    /// losing instance reloads the conversation and tries again. (sled has one
    /// process per folder, so two writers cannot race there.)
    ///
    /// Commit before publish: nobody may be sent a message before this returns
    /// `Ok`. On `Err` none of it may ever become visible.
    ///
    /// Concurrent commits may share one durable flush (group commit), but each
    /// returns only once its own writes are durable.
    fn commit(&self, commit: Commit<'_>) -> impl Future<Output = Result<()>> + Send;

    /// The state of a conversation, decoded as its owner's type, as of the
    /// last successful commit; `None` if it was never committed.
    fn conversation<T: DeserializeOwned + Send>(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<T>>> + Send;

    /// Committed messages with `seq > after`, ascending by seq, at most
    /// `limit`. A message is listed only once its commit returned `Ok` (so a
    /// client catching up by seq never sees one that could still vanish).
    fn messages_after(
        &self,
        id: &SessionId,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<MessageRecord>>> + Send;

    /// Every conversation with its messages and feedback, for offline reports;
    /// not a snapshot: conversations written meanwhile may or may not appear.
    fn scan_conversations(&self) -> impl Future<Output = Result<Vec<ConversationDump>>> + Send;
}

/// Thumbs up/down on messages.
pub trait FeedbackStore: Send + Sync {
    /// Records feedback on message `seq`; the last one given wins. Not
    /// durable: losing it in a crash is harmless, so no flush is waited for.
    fn put_feedback(
        &self,
        id: &SessionId,
        seq: u64,
        feedback: &Feedback,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Support cases. A ticket is written only through [`Conversations::commit`]
/// (with the turn, the note or the rating that changes it).
pub trait Tickets: Send + Sync {
    /// A ticket number that no committed ticket has, on any instance. Numbers
    /// grow and may skip; one taken by a turn that failed may be lost, or, on
    /// sled after a crash, handed out again (it was never committed).
    fn next_ticket_number(&self) -> impl Future<Output = Result<u64>> + Send;

    /// A ticket as last committed.
    fn ticket(&self, id: &TicketId) -> impl Future<Output = Result<Option<Ticket>>> + Send;

    /// Every ticket, oldest (lowest number) first.
    fn tickets(&self) -> impl Future<Output = Result<Vec<Ticket>>> + Send;
}

/// Small keyed records: agent accounts and login sessions ([`RecordKind`]).
pub trait Records: Send + Sync {
    /// Writes (or replaces) `key`; returns once durable (a login or an account
    /// change is not done until it survives a restart).
    fn put_record<T: Serialize + Sync>(
        &self,
        kind: RecordKind,
        key: &str,
        value: &T,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Removes `key`, durably; whether it existed.
    fn remove_record(
        &self,
        kind: RecordKind,
        key: &str,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// One record, decoded as `T`.
    fn record<T: DeserializeOwned + Send>(
        &self,
        kind: RecordKind,
        key: &str,
    ) -> impl Future<Output = Result<Option<T>>> + Send;

    /// All records of a kind, by key order.
    fn records<T: DeserializeOwned + Send>(
        &self,
        kind: RecordKind,
    ) -> impl Future<Output = Result<Vec<(String, T)>>> + Send;
}

/// The mail outbox. Mail is queued by [`Conversations::commit`], in the
/// transaction of the event that causes it; these calls are the worker's.
pub trait Outbox: Send + Sync {
    /// An outbox id never handed out before, by any instance, increasing.
    fn next_mail_id(&self) -> impl Future<Output = Result<u64>> + Send;

    /// Queued mail due at `now`, oldest first, at most `limit`. With several
    /// instances, two workers may list the same mail: [`Outbox::mail_attempt`]
    /// is where one of them must win.
    fn due_mail(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<OutboundMail>>> + Send;

    /// Records an attempt, durably, *before* the SMTP conversation (after a
    /// crash the mail is sent again with the same `Message-ID`). A shared
    /// backend must let only one instance record an attempt on the same mail
    /// at a time (a row lock, or a check on `attempts`), and refuse the others.
    fn mail_attempt(
        &self,
        mail: &mut OutboundMail,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Moves a delivered mail to the sent ones, durably.
    fn mail_sent(
        &self,
        mail: &mut OutboundMail,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Schedules another attempt at `next` (not waited on: if lost, the mail is
    /// simply due again sooner).
    fn mail_retry(
        &self,
        mail: &mut OutboundMail,
        error: String,
        next: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Gives up on a mail (not waited on: if lost, it is tried again).
    fn mail_failed(
        &self,
        mail: &mut OutboundMail,
        error: String,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Queued, sent and given-up counts, and the oldest queued mail's age.
    fn mail_backlog(&self, now: DateTime<Utc>) -> impl Future<Output = Result<Backlog>> + Send;
}

/// The audit log of account and personal-data changes.
pub trait Audit: Send + Sync {
    /// Appends an entry, durably: a change is not done until it is on record.
    /// Entries of all instances are ordered by one increasing id.
    fn audit(&self, entry: &AuditEntry) -> impl Future<Output = Result<()>> + Send;

    /// The newest `limit` entries, newest first.
    fn audit_log(&self, limit: usize) -> impl Future<Output = Result<Vec<AuditEntry>>> + Send;
}

/// Values of the data folder (or database) itself.
pub trait Meta: Send + Sync {
    /// The 32-byte secret `name`, created at random on first use. Two first
    /// uses at once (on any instances) both get the one that was stored first.
    fn secret(&self, name: &str) -> impl Future<Output = Result<[u8; 32]>> + Send;
}

/// Retention and habeas data: whole-store scans, slow, run in the background
/// or from the command line.
pub trait Maintenance: Send + Sync {
    /// Deletes conversations without a case idle since before `delete_before`,
    /// anonymises cases resolved before `anonymize_before`. What is done stays
    /// done if it fails halfway; a sweep may run on one instance at a time.
    fn sweep(
        &self,
        delete_before: Option<DateTime<Utc>>,
        anonymize_before: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<Sweep>> + Send;

    /// Everything held about one person (cases, conversations, mail).
    fn subject_records(
        &self,
        subject: &Subject,
    ) -> impl Future<Output = Result<SubjectRecords>> + Send;

    /// Removes `records` atomically and durably (all or nothing).
    fn erase(&self, records: &SubjectRecords) -> impl Future<Output = Result<()>> + Send;
}

/// Health, for `/healthz` and `/metrics`.
pub trait Health: Send + Sync {
    /// Why writes are refused right now, if they are.
    fn degraded(&self) -> Option<String>;

    /// Bytes the data takes on disk.
    fn size_on_disk(&self) -> impl Future<Output = Result<u64>> + Send;
}

/// Everything a storage backend provides.
pub trait Backend:
    Conversations + FeedbackStore + Tickets + Records + Outbox + Audit + Meta + Maintenance + Health
{
}

impl<B> Backend for B where
    B: Conversations
        + FeedbackStore
        + Tickets
        + Records
        + Outbox
        + Audit
        + Meta
        + Maintenance
        + Health
{
}

// The sled store, by delegation to its inherent methods (which callers still
// use directly). `SledStore::name(self, …)` names the inherent method: inherent
// methods take precedence over these trait methods.

impl Conversations for SledStore {
    async fn commit(&self, commit: Commit<'_>) -> Result<()> {
        SledStore::commit(self, commit).await
    }

    async fn conversation<T: DeserializeOwned + Send>(&self, id: &SessionId) -> Result<Option<T>> {
        SledStore::conversation(self, id)
    }

    async fn messages_after(
        &self,
        id: &SessionId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<MessageRecord>> {
        SledStore::messages_after(self, id, after, limit)
    }

    async fn scan_conversations(&self) -> Result<Vec<ConversationDump>> {
        SledStore::scan_conversations(self)
    }
}

impl FeedbackStore for SledStore {
    async fn put_feedback(&self, id: &SessionId, seq: u64, feedback: &Feedback) -> Result<()> {
        SledStore::put_feedback(self, id, seq, feedback)
    }
}

impl Tickets for SledStore {
    async fn next_ticket_number(&self) -> Result<u64> {
        SledStore::next_ticket_number(self)
    }

    async fn ticket(&self, id: &TicketId) -> Result<Option<Ticket>> {
        SledStore::ticket(self, id)
    }

    async fn tickets(&self) -> Result<Vec<Ticket>> {
        SledStore::tickets(self)
    }
}

impl Records for SledStore {
    async fn put_record<T: Serialize + Sync>(
        &self,
        kind: RecordKind,
        key: &str,
        value: &T,
    ) -> Result<()> {
        SledStore::put_record(self, kind, key, value).await
    }

    async fn remove_record(&self, kind: RecordKind, key: &str) -> Result<bool> {
        SledStore::remove_record(self, kind, key).await
    }

    async fn record<T: DeserializeOwned + Send>(
        &self,
        kind: RecordKind,
        key: &str,
    ) -> Result<Option<T>> {
        SledStore::record(self, kind, key)
    }

    async fn records<T: DeserializeOwned + Send>(
        &self,
        kind: RecordKind,
    ) -> Result<Vec<(String, T)>> {
        SledStore::records(self, kind)
    }
}

impl Outbox for SledStore {
    async fn next_mail_id(&self) -> Result<u64> {
        SledStore::next_mail_id(self)
    }

    async fn due_mail(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboundMail>> {
        SledStore::due_mail(self, now, limit)
    }

    async fn mail_attempt(&self, mail: &mut OutboundMail, now: DateTime<Utc>) -> Result<()> {
        SledStore::mail_attempt(self, mail, now).await
    }

    async fn mail_sent(&self, mail: &mut OutboundMail, now: DateTime<Utc>) -> Result<()> {
        SledStore::mail_sent(self, mail, now).await
    }

    async fn mail_retry(
        &self,
        mail: &mut OutboundMail,
        error: String,
        next: DateTime<Utc>,
    ) -> Result<()> {
        SledStore::mail_retry(self, mail, error, next)
    }

    async fn mail_failed(&self, mail: &mut OutboundMail, error: String) -> Result<()> {
        SledStore::mail_failed(self, mail, error)
    }

    async fn mail_backlog(&self, now: DateTime<Utc>) -> Result<Backlog> {
        SledStore::mail_backlog(self, now)
    }
}

impl Audit for SledStore {
    async fn audit(&self, entry: &AuditEntry) -> Result<()> {
        SledStore::audit(self, entry).await
    }

    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        SledStore::audit_log(self, limit)
    }
}

impl Meta for SledStore {
    async fn secret(&self, name: &str) -> Result<[u8; 32]> {
        SledStore::secret(self, name)
    }
}

impl Maintenance for SledStore {
    /// On sled's blocking pool: a sweep reads every conversation.
    async fn sweep(
        &self,
        delete_before: Option<DateTime<Utc>>,
        anonymize_before: Option<DateTime<Utc>>,
    ) -> Result<Sweep> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.sweep(delete_before, anonymize_before))
            .await
            .map_err(|e| {
                super::StoreError::Unavailable(format!("the retention sweep stopped: {e}"))
            })?
    }

    async fn subject_records(&self, subject: &Subject) -> Result<SubjectRecords> {
        SledStore::subject_records(self, subject)
    }

    async fn erase(&self, records: &SubjectRecords) -> Result<()> {
        SledStore::erase(self, records).await
    }
}

impl Health for SledStore {
    fn degraded(&self) -> Option<String> {
        SledStore::degraded(self)
    }

    async fn size_on_disk(&self) -> Result<u64> {
        SledStore::size_on_disk(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::embedded::tests::{message, state};

    /// A caller written against the traits only, as the server will be.
    async fn append_and_replay<B: Backend>(backend: &B, id: &SessionId) -> Vec<u64> {
        let mut messages = [message(1, "hola"), message(2, "¿en qué le ayudo?")];
        for m in &mut messages {
            m.ts = "2026-01-05T10:00:00+00:00".to_owned();
        }
        backend
            .commit(Commit {
                session: Some((id, &state(2))),
                messages: &messages,
                ..Commit::default()
            })
            .await
            .unwrap();
        backend
            .put_feedback(
                id,
                2,
                &Feedback {
                    useful: true,
                    ts: String::new(),
                },
            )
            .await
            .unwrap();
        backend
            .messages_after(id, 0, 10)
            .await
            .unwrap()
            .iter()
            .map(|m| m.seq)
            .collect()
    }

    #[tokio::test]
    async fn the_sled_store_serves_a_caller_of_the_backend_traits() {
        let store = SledStore::temporary().unwrap();
        let id = SessionId::generate();
        assert_eq!(append_and_replay(&store, &id).await, [1, 2]);
        let stored: Option<crate::store::StateSummary> =
            Conversations::conversation(&store, &id).await.unwrap();
        assert_eq!(stored.map(|s| s.last_seq), Some(2));
        let dumps = Conversations::scan_conversations(&store).await.unwrap();
        assert_eq!(dumps[0].feedback.len(), 1);
        assert_eq!(Tickets::next_ticket_number(&store).await.unwrap(), 1);
        assert_eq!(Tickets::next_ticket_number(&store).await.unwrap(), 2);
        assert_eq!(
            Meta::secret(&store, "k").await.unwrap(),
            store.secret("k").unwrap()
        );
        assert_eq!(Health::degraded(&store), None);
        let swept = Maintenance::sweep(&store, Some(Utc::now()), None)
            .await
            .unwrap();
        assert_eq!(
            swept.deleted, 1,
            "the conversation without a case, idle until now"
        );
    }
}
