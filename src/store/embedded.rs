//! The embedded backend: one sled database under `--data` (the default).
//!
//! Layout:
//! - tree `conversations`: `SESSION '#'` → conversation state ([`StateRecord`],
//!   JSON), and `SESSION '/' SEQ(u64 BE)` → message ([`MessageRecord`], JSON), so a
//!   prefix scan replays in order; `SESSION '!' SEQ` → [`Feedback`] on that message.
//! - tree `tickets`: `TICKET-ID` → ticket (JSON); tree `meta`: counters.
//! - trees `agents` (name → account) and `logins` (token → login session).
//! - trees `outbox`, `mail_sent`, `mail_failed`: e-mail (see [`super::outbox`]).
//! - tree `audit`: who changed what, append-only (see [`super::audit`]).
//!
//! Every write passes the backup gate (`SledStore::write` or
//! `SledStore::commit`), so a backup ([`super::backup`]) copies a consistent
//! point in time.
//!
//! Every write that someone will be told about goes through
//! [`SledStore::commit`], which applies it in one transaction and then waits
//! for a *group commit*: all writers waiting at the same moment share one
//! `flush`, so durability costs one fsync per batch instead of one per message
//! (sled only syncs every 500 ms by itself).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use arc_swap::ArcSwapOption;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use super::group_commit::GroupCommit;
use super::recovery::Rollback;
use super::{
    decode, encode, rewrite, Commit, ConversationDump, Feedback, MessageRecord, RecordKind, Result,
    SessionId, StoreError,
};
use crate::tickets::{Ticket, TicketId};

/// The handle every component shares. Cheap to clone.
///
/// sled refuses every write after one failed (a full disk, an I/O error) until
/// the database is opened again. So a failed write marks the store degraded
/// (writes are refused at once, reads go on), a background task reopens the
/// database every few seconds, undoes what the failed writes may have left on
/// disk, and checks that a write gets through: then the store is healthy again,
/// without a restart.
#[derive(Clone)]
pub struct SledStore {
    pub(super) shared: Arc<Shared>,
}

pub(super) struct Shared {
    /// None for a temporary database (it cannot be reopened).
    pub(super) path: Option<PathBuf>,
    pub(super) cache_bytes: u64,
    /// The open database; empty only for the moment it is being reopened.
    pub(super) live: ArcSwapOption<Db>,
    /// Why writes are refused, while they are.
    pub(super) degraded: Mutex<Option<String>>,
    /// Undo records of writes that failed, applied after reopening.
    pub(super) rollbacks: Mutex<Vec<Rollback>>,
    /// Writes hold it shared, a backup exclusively (see [`backup`]).
    pub(super) gate: RwLock<()>,
    /// This process's hold on the data folder (see [`lock_folder`]); None
    /// for a temporary database.
    _folder_lock: Option<std::fs::File>,
}

/// One open sled database and its trees.
pub(super) struct Db {
    pub(super) db: sled::Db,
    pub(super) conversations: sled::Tree,
    pub(super) tickets: sled::Tree,
    pub(super) meta: sled::Tree,
    pub(super) agents: sled::Tree,
    pub(super) logins: sled::Tree,
    pub(super) audit: sled::Tree,
    pub(super) outbox: sled::Tree,
    pub(super) mail_sent: sled::Tree,
    pub(super) mail_failed: sled::Tree,
    pub(super) group: GroupCommit,
    /// Added to sled's id generator (see [`Db::next_id`]).
    pub(super) id_base: u64,
}

/// `meta` key: where ids go on after a rewrite (a fresh sled starts at 0).
pub(super) const ID_BASE: &[u8] = b"id_base";

impl Db {
    pub(super) fn new(db: sled::Db) -> Result<Self> {
        let meta = db.open_tree("meta")?;
        let id_base = meta
            .get(ID_BASE)?
            .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0);
        Ok(Db {
            id_base,
            conversations: db.open_tree("conversations")?,
            tickets: db.open_tree("tickets")?,
            meta: db.open_tree("meta")?,
            agents: db.open_tree("agents")?,
            logins: db.open_tree("logins")?,
            audit: db.open_tree("audit")?,
            outbox: db.open_tree("outbox")?,
            mail_sent: db.open_tree("mail_sent")?,
            mail_failed: db.open_tree("mail_failed")?,
            group: GroupCommit::start(db.clone()),
            db,
        })
    }

    /// A fresh id for audit entries and mail, increasing across restarts and
    /// across rewrites ([`rewrite`] sets the new files' `id_base` past the old
    /// files' last id).
    pub(super) fn next_id(&self) -> Result<u64> {
        Ok(self.id_base + self.db.generate_id()?)
    }

    pub(super) fn tree(&self, kind: RecordKind) -> &sled::Tree {
        match kind {
            RecordKind::Agent => &self.agents,
            RecordKind::Login => &self.logins,
        }
    }
}

const TICKET_COUNTER: &[u8] = b"ticket_counter";
impl SledStore {
    /// Opens (or creates) the database under `path`, with a bounded page cache.
    ///
    /// Must be called inside a tokio runtime (it starts the group-commit task).
    ///
    /// # Errors
    /// When the folder cannot be created or sled cannot open it (e.g. another
    /// process holds it).
    pub fn open(path: &Path, cache_bytes: u64) -> Result<Self> {
        // The folder is ours before anything in it is touched: recovering an
        // interrupted rewrite moves files, which must never happen under a
        // running server that is in the middle of one.
        let lock = lock_folder(path)?;
        rewrite::recover(path).map_err(|e| StoreError::Interrupted(e.to_string()))?;
        let db = open_sled(path, cache_bytes)?;
        Self::from_db(db, Some((path.to_path_buf(), lock)), cache_bytes)
    }

    /// An in-memory database for unit tests and benchmarks.
    ///
    /// # Errors
    /// When sled cannot create its temporary file.
    pub fn temporary() -> Result<Self> {
        let db = sled::Config::new().temporary(true).open()?;
        Self::from_db(db, None, 0)
    }

    fn from_db(
        db: sled::Db,
        folder: Option<(PathBuf, std::fs::File)>,
        cache_bytes: u64,
    ) -> Result<Self> {
        let (path, lock) = folder.unzip();
        Ok(SledStore {
            shared: Arc::new(Shared {
                path,
                _folder_lock: lock,
                cache_bytes,
                live: ArcSwapOption::from_pointee(Db::new(db)?),
                degraded: Mutex::new(None),
                rollbacks: Mutex::new(Vec::new()),
                gate: RwLock::new(()),
            }),
        })
    }

    /// The open database, for reads.
    pub(super) fn db(&self) -> Result<Arc<Db>> {
        self.shared
            .live
            .load_full()
            .ok_or_else(|| StoreError::Unavailable("the database is being reopened".into()))
    }

    /// The open database, for writes: refused at once while degraded.
    pub(super) fn writable(&self) -> Result<Arc<Db>> {
        if let Some(reason) = self.degraded() {
            return Err(StoreError::Unavailable(reason));
        }
        self.db()
    }

    /// Runs a write; a failure degrades the store.
    pub(super) fn write<T>(&self, f: impl FnOnce(&Db) -> Result<T>) -> Result<T> {
        // The gate first, then the database: a rewrite (see [`rewrite`]) holds
        // the gate while it swaps the database, so no writer may hold the old one.
        let _gate = self.shared.gate.read().unwrap_or_else(|p| p.into_inner());
        let db = self.writable()?;
        f(&db).inspect_err(|e| self.failed(e))
    }

    /// Applies the writes atomically, then returns once they are on disk.
    ///
    /// # Errors
    /// On a storage failure; nothing must be sent to anyone then, and what the
    /// write may have left is undone when the store recovers.
    pub async fn commit(&self, commit: Commit<'_>) -> Result<()> {
        let (db, rollback, applied) = {
            // The gate before the database, as in `write`.
            let _gate = self.shared.gate.read().unwrap_or_else(|p| p.into_inner());
            let db = self.writable()?;
            let rollback = Self::undo_record(&db, &commit)?;
            let applied = self.apply_to(&db, &commit);
            (db, rollback, applied)
        };
        let result = match applied {
            Ok(()) => db.group.flush().await,
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            self.failed(e);
            if let Ok(mut r) = self.shared.rollbacks.lock() {
                r.push(rollback);
            }
        }
        result
    }

    /// Applies the writes atomically without waiting for the disk (benchmarks,
    /// and records that can be lost on a crash without anyone having seen them).
    ///
    /// # Errors
    /// On a storage failure.
    pub fn apply(&self, commit: &Commit<'_>) -> Result<()> {
        self.write(|db| self.apply_to(db, commit))
    }

    fn apply_to(&self, db: &Db, commit: &Commit<'_>) -> Result<()> {
        let mut conv_batch = sled::Batch::default();
        if let Some((id, state)) = commit.session {
            conv_batch.insert(state_key(id), state.as_bytes());
            for message in commit.messages {
                conv_batch.insert(message_key(id, message.seq).to_vec(), encode(message)?);
            }
        }
        if commit.ticket.is_none() && commit.mail.is_empty() {
            // One tree: a batch is atomic and much cheaper than a transaction.
            db.conversations.apply_batch(conv_batch)?;
            return Ok(());
        }
        let ticket = match commit.ticket {
            Some(t) => Some((t.id.as_str().as_bytes().to_vec(), encode(t)?)),
            None => None,
        };
        let mut mail_batch = sled::Batch::default();
        for mail in commit.mail {
            mail_batch.insert(mail.id.to_be_bytes().to_vec(), encode(mail)?);
        }
        let result: std::result::Result<(), TransactionError<()>> =
            (&db.conversations, &db.tickets, &db.outbox).transaction(|(conv, tickets, outbox)| {
                conv.apply_batch(&conv_batch)?;
                if let Some((key, value)) = &ticket {
                    tickets.insert(key.as_slice(), value.as_slice())?;
                }
                outbox.apply_batch(&mail_batch)?;
                Ok::<(), ConflictableTransactionError<()>>(())
            });
        match result {
            Ok(()) => Ok(()),
            Err(TransactionError::Storage(e)) => Err(StoreError::Sled(e)),
            Err(TransactionError::Abort(())) => Err(StoreError::FlusherGone),
        }
    }

    /// Waits until everything written so far is on disk.
    ///
    /// # Errors
    /// When the flush fails.
    pub async fn flush(&self) -> Result<()> {
        let db = self.writable()?;
        let result = db.group.flush().await;
        result.inspect_err(|e| self.failed(e))
    }

    /// Bytes the database takes on disk (for `/metrics`).
    ///
    /// # Errors
    /// On a storage failure.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.db()?.db.size_on_disk()?)
    }

    /// A 32-byte secret of this data folder named `name`, created at random
    /// on first use and kept in `meta` (so backups, restores and rewrites keep
    /// it): the key of transcript links.
    ///
    /// # Errors
    /// On a storage failure, or when the system has no random source.
    pub fn secret(&self, name: &str) -> Result<[u8; 32]> {
        let key = format!("secret:{name}");
        let read = |db: &Db| -> Result<Option<[u8; 32]>> {
            Ok(db
                .meta
                .get(key.as_bytes())?
                .and_then(|v| <[u8; 32]>::try_from(v.as_ref()).ok()))
        };
        if let Some(found) = read(&*self.db()?)? {
            return Ok(found);
        }
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).map_err(|e| StoreError::Random(e.to_string()))?;
        // Two first uses at once: the first write wins, both read it back.
        self.write(|db| {
            let _ = db.meta.compare_and_swap(
                key.as_bytes(),
                None as Option<&[u8]>,
                Some(&fresh[..]),
            )?;
            Ok(())
        })?;
        read(&*self.db()?)?.ok_or_else(|| StoreError::Random("secret not stored".into()))
    }

    /// The stored state of a conversation, if it exists, decoded as its owner's
    /// type `T` (see [`StateRecord`]).
    ///
    /// # Errors
    /// On a storage failure, or a record that does not decode as `T`.
    pub fn conversation<T: DeserializeOwned>(&self, id: &SessionId) -> Result<Option<T>> {
        get_json(&self.db()?.conversations, &state_key(id))
    }

    /// Messages of a conversation with `seq > after`, in order, at most `limit`.
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub fn messages_after(
        &self,
        id: &SessionId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<MessageRecord>> {
        let start = message_key(id, after.saturating_add(1));
        let end = message_key(id, u64::MAX);
        self.db()?
            .conversations
            .range(start..=end)
            .take(limit)
            .map(|item| {
                let (key, value) = item?;
                decode(&key, &value)
            })
            .collect()
    }

    /// Records a thumbs up/down on a message (not waited on: losing it is harmless).
    ///
    /// # Errors
    /// On a storage failure.
    pub fn put_feedback(&self, id: &SessionId, seq: u64, feedback: &Feedback) -> Result<()> {
        let mut key = id.as_str().as_bytes().to_vec();
        key.push(b'!');
        key.extend_from_slice(&seq.to_be_bytes());
        let value = encode(feedback)?;
        self.write(|db| Ok(db.conversations.insert(key, value).map(|_| ())?))
    }

    /// Every conversation: its id, its messages and feedback. For offline reports.
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub fn scan_conversations(&self) -> Result<Vec<ConversationDump>> {
        let mut out: Vec<ConversationDump> = Vec::new();
        let db = self.db()?;
        for item in db.conversations.iter() {
            let (key, value) = item?;
            let Some(split) = key.iter().position(|b| matches!(b, b'#' | b'/' | b'!')) else {
                continue;
            };
            let session = String::from_utf8_lossy(&key[..split]).into_owned();
            if out.last().map(|d| d.session.as_str()) != Some(session.as_str()) {
                out.push(ConversationDump {
                    session,
                    messages: Vec::new(),
                    feedback: Vec::new(),
                });
            }
            let Some(dump) = out.last_mut() else { continue };
            match key[split] {
                b'/' => dump.messages.push(decode(&key, &value)?),
                b'!' if key.len() == split + 9 => {
                    let mut seq = [0u8; 8];
                    seq.copy_from_slice(&key[split + 1..]);
                    dump.feedback
                        .push((u64::from_be_bytes(seq), decode(&key, &value)?));
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// Allocates the next ticket number (1, 2, 3…). Durable with the next commit.
    ///
    /// # Errors
    /// On a storage failure.
    pub fn next_ticket_number(&self) -> Result<u64> {
        let next = self
            .write(|db| {
                Ok(db.meta.update_and_fetch(TICKET_COUNTER, |old| {
                    let n = old
                        .and_then(|b| <[u8; 8]>::try_from(b).ok())
                        .map(u64::from_be_bytes)
                        .unwrap_or(0);
                    Some((n + 1).to_be_bytes().to_vec())
                })?)
            })?
            .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(1);
        Ok(next)
    }

    /// A ticket by id.
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub fn ticket(&self, id: &TicketId) -> Result<Option<Ticket>> {
        get_json(&self.db()?.tickets, id.as_str().as_bytes())
    }

    /// Every ticket, oldest first.
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub fn tickets(&self) -> Result<Vec<Ticket>> {
        self.db()?
            .tickets
            .iter()
            .map(|item| {
                let (key, value) = item?;
                decode(&key, &value)
            })
            .collect()
    }

    /// Writes a record into one of the small keyed trees and waits for the disk.
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn put_record<T: Serialize>(
        &self,
        kind: RecordKind,
        key: &str,
        value: &T,
    ) -> Result<()> {
        let value = encode(value)?;
        self.write(|db| Ok(db.tree(kind).insert(key.as_bytes(), value).map(|_| ())?))?;
        self.flush().await
    }

    /// Removes a record; returns whether it existed.
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn remove_record(&self, kind: RecordKind, key: &str) -> Result<bool> {
        let existed = self.write(|db| Ok(db.tree(kind).remove(key.as_bytes())?.is_some()))?;
        self.flush().await?;
        Ok(existed)
    }

    /// A record from one of the small keyed trees.
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub fn record<T: DeserializeOwned>(&self, kind: RecordKind, key: &str) -> Result<Option<T>> {
        get_json(self.db()?.tree(kind), key.as_bytes())
    }

    /// All records of a kind, by key order.
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub fn records<T: DeserializeOwned>(&self, kind: RecordKind) -> Result<Vec<(String, T)>> {
        self.db()?
            .tree(kind)
            .iter()
            .map(|item| {
                let (key, value) = item?;
                Ok((
                    String::from_utf8_lossy(&key).into_owned(),
                    decode(&key, &value)?,
                ))
            })
            .collect()
    }

    /// Flushes synchronously; used at shutdown.
    ///
    /// # Errors
    /// When the flush fails.
    pub fn flush_blocking(&self) -> Result<usize> {
        Ok(self.db()?.db.flush()?)
    }
}

/// The lock file that marks a data folder as in use by one process.
pub const LOCK_FILE: &str = "secobot.lock";

/// Takes the data folder for this process (an exclusive `flock` on
/// `DATA/secobot.lock`, released when the process ends, even by `kill -9`).
/// sled locks its own `db` file too, but lets go of it while a rewrite swaps
/// the files; this lock is held throughout.
///
/// # Errors
/// [`StoreError::InUse`] when another process holds the folder; an I/O error
/// when it cannot be created.
fn lock_folder(path: &Path) -> Result<std::fs::File> {
    let io = |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(path).map_err(io)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path.join(LOCK_FILE))
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::InUse {
            path: path.display().to_string(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    }
}

/// How long [`open_sled`] and [`wait_for_sled_release`] wait for sled's own
/// file lock. sled's background writes run on its shared thread pool, so on
/// a loaded machine the last of them can finish seconds after the handle is
/// dropped (once more than 3 s, on CI).
const SLED_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Waits until nothing holds sled's file lock in `path` (sled's `db` file),
/// at most [`SLED_LOCK_WAIT`]: after the last handle is dropped, so that the
/// caller hands over a folder the next open takes at once.
///
/// # Errors
/// When the file cannot be opened, or the lock is still held at the deadline
/// (`WouldBlock`).
pub(super) fn wait_for_sled_release(path: &Path) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path.join("db"))?;
    // Dropping the file releases the lock.
    retry_while_locked(
        || file.try_lock(),
        |e| matches!(e, std::fs::TryLockError::WouldBlock),
    )
    .map_err(|e| match e {
        std::fs::TryLockError::WouldBlock => std::io::ErrorKind::WouldBlock.into(),
        std::fs::TryLockError::Error(e) => e,
    })
}

/// Runs `attempt` until it succeeds or fails other than `locked`, 20 ms
/// apart, at most [`SLED_LOCK_WAIT`]; then returns its last result.
fn retry_while_locked<T, E>(
    mut attempt: impl FnMut() -> std::result::Result<T, E>,
    locked: impl Fn(&E) -> bool,
) -> std::result::Result<T, E> {
    let deadline = std::time::Instant::now() + SLED_LOCK_WAIT;
    loop {
        match attempt() {
            Err(e) if locked(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            done => return done,
        }
    }
}

/// Opens sled's files in `path`. Callers hold the folder's lock, so another
/// holder of sled's own lock is this process's previous handle: sled's
/// background writes keep it for a moment after the last handle is dropped.
/// Reopening right after a close (a test, a rewrite) waits for it, at most
/// [`SLED_LOCK_WAIT`], instead of failing with "could not acquire lock".
pub(super) fn open_sled(path: &Path, cache_bytes: u64) -> Result<sled::Db> {
    let config = sled::Config::new()
        .path(path)
        .cache_capacity(cache_bytes)
        .mode(sled::Mode::HighThroughput);
    open_waiting(&config).map_err(|source| StoreError::Open {
        path: path.display().to_string(),
        source,
    })
}

/// Opens `config`, waiting at most [`SLED_LOCK_WAIT`] while sled's own lock
/// is held (see [`open_sled`]).
///
/// # Errors
/// sled's error when opening fails for another reason, or the lock is still
/// held at the deadline.
pub(super) fn open_waiting(config: &sled::Config) -> std::result::Result<sled::Db, sled::Error> {
    retry_while_locked(
        || config.open(),
        |e| matches!(e, sled::Error::Io(e) if e.to_string().contains("could not acquire lock")),
    )
}

pub(super) fn state_key(id: &SessionId) -> Vec<u8> {
    let mut key = id.as_str().as_bytes().to_vec();
    key.push(b'#');
    key
}

pub(super) fn message_key(id: &SessionId, seq: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(id.as_str().len() + 9);
    key.extend_from_slice(id.as_str().as_bytes());
    key.push(b'/');
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

pub(super) fn get_json<T: DeserializeOwned>(tree: &sled::Tree, key: &[u8]) -> Result<Option<T>> {
    match tree.get(key)? {
        Some(value) => decode(key, &value).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::records::{Author, MessageKind, StateRecord, StateSummary};
    use super::*;

    #[test]
    fn reopening_right_after_a_close_waits_for_sleds_own_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("data");
        // A previous handle whose last holder lets go a little later, as
        // sled's flusher thread does after the store is dropped.
        let lingering = open_sled(&path, 1 << 20).unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(lingering);
        });
        let reopened = open_sled(&path, 1 << 20);
        release.join().unwrap();
        assert!(reopened.is_ok(), "{:?}", reopened.err());
    }

    /// A message as `conversation` would store it.
    pub(in crate::store) fn message(seq: u64, text: &str) -> MessageRecord {
        MessageRecord {
            seq,
            from: Author::Bot,
            kind: MessageKind::Notice,
            text: text.to_owned(),
            html: None,
            buttons: Vec::new(),
            sources: Vec::new(),
            flow: None,
            ticket: None,
            ts: String::new(),
            agent_name: None,
        }
    }

    /// A state document with the fields the store reads.
    pub(in crate::store) fn state(last_seq: u64) -> StateRecord {
        StateRecord::encode(&serde_json::json!({"last_seq": last_seq, "created_at": ""})).unwrap()
    }

    #[tokio::test]
    async fn appends_and_replays_in_order() {
        let store = SledStore::temporary().unwrap();
        let id = SessionId::generate();
        let messages: Vec<MessageRecord> = (1..=300u64)
            .map(|seq| message(seq, &format!("m{seq}")))
            .collect();
        store
            .commit(Commit {
                session: Some((&id, &state(300))),
                messages: &messages,
                ticket: None,
                mail: &[],
            })
            .await
            .unwrap();
        let after = store.messages_after(&id, 255, 1000).unwrap();
        assert_eq!(after.len(), 45);
        assert_eq!(after[0].seq, 256);
        assert_eq!(after[44].seq, 300);
        let stored: StateSummary = store.conversation(&id).unwrap().unwrap();
        assert_eq!(stored.last_seq, 300);
        let other = SessionId::generate();
        assert!(store.messages_after(&other, 0, 10).unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_folder_in_use_is_refused_before_anything_in_it_is_touched() {
        let dir = tempfile::tempdir().unwrap();
        let running = SledStore::open(dir.path(), 1 << 20).unwrap();
        // What a rewrite in progress looks like from outside: the second
        // process must not "recover" it under the running one.
        let in_progress = dir.path().join("rewrite.new");
        std::fs::create_dir(&in_progress).unwrap();
        for _ in 0..2 {
            match SledStore::open(dir.path(), 1 << 20) {
                Err(StoreError::InUse { path }) => {
                    assert_eq!(path, dir.path().display().to_string())
                }
                Err(other) => panic!("not refused as in use: {other}"),
                Ok(_) => panic!("a folder in use was opened twice"),
            }
            assert!(in_progress.is_dir(), "the running rewrite was undone");
        }
        drop(running);
        SledStore::open(dir.path(), 1 << 20).expect("a folder nobody holds opens");
        assert!(
            !in_progress.exists(),
            "the interrupted rewrite was not recovered"
        );
    }

    #[tokio::test]
    async fn ticket_numbers_increase() {
        let store = SledStore::temporary().unwrap();
        assert_eq!(store.next_ticket_number().unwrap(), 1);
        assert_eq!(store.next_ticket_number().unwrap(), 2);
    }
}
