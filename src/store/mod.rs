//! Durable storage. The only module that imports sled.
//!
//! Layout (one sled database under `--data`):
//! - tree `conversations`: `SESSION '#'` → conversation state (JSON), and
//!   `SESSION '/' SEQ(u64 BE)` → message (JSON), so a prefix scan replays in order;
//!   `SESSION '!' SEQ` → feedback on that message.
//! - tree `tickets`: `TICKET-ID` → ticket (JSON); tree `meta`: counters.
//! - trees `agents` (name → account) and `logins` (token → login session).
//!
//! Every write that someone will be told about goes through [`Store::commit`],
//! which applies it in one transaction and then waits for a *group commit*: all
//! writers waiting at the same moment share one `flush`, so durability costs one
//! fsync per batch instead of one per message (sled only syncs every 500 ms by itself).

mod group_commit;

use std::path::Path;

use serde::{de::DeserializeOwned, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use crate::conversation::{ConversationState, Reply, SessionId};
use crate::tickets::{Ticket, TicketId};
use group_commit::GroupCommit;

/// Something went wrong reading or writing the data folder.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("failed to open the data folder {path}: {source}")]
    Open { path: String, source: sled::Error },
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("corrupt record under key {key}: {source}")]
    Corrupt {
        key: String,
        source: serde_json::Error,
    },
    #[error("failed to encode a record: {0}")]
    Encode(serde_json::Error),
    #[error("the storage flusher has stopped")]
    FlusherGone,
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A batch of writes applied atomically by [`Store::commit`].
#[derive(Default)]
pub struct Commit<'a> {
    pub session: Option<(&'a SessionId, &'a ConversationState)>,
    pub messages: &'a [Reply],
    pub ticket: Option<&'a Ticket>,
}

/// Feedback a user gave on one message.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Feedback {
    pub useful: bool,
    pub ts: String,
}

/// The handle every component shares. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    conversations: sled::Tree,
    tickets: sled::Tree,
    meta: sled::Tree,
    agents: sled::Tree,
    logins: sled::Tree,
    group: GroupCommit,
}

const TICKET_COUNTER: &[u8] = b"ticket_counter";

impl Store {
    /// Opens (or creates) the database under `path`, with a bounded page cache.
    ///
    /// Must be called inside a tokio runtime (it starts the group-commit task).
    ///
    /// # Errors
    /// When the folder cannot be created or sled cannot open it (e.g. another
    /// process holds it).
    pub fn open(path: &Path, cache_bytes: u64) -> Result<Self> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(cache_bytes)
            .mode(sled::Mode::HighThroughput)
            .open()
            .map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })?;
        Self::from_db(db)
    }

    /// An in-memory database for unit tests and benchmarks.
    ///
    /// # Errors
    /// When sled cannot create its temporary file.
    pub fn temporary() -> Result<Self> {
        let db = sled::Config::new().temporary(true).open()?;
        Self::from_db(db)
    }

    fn from_db(db: sled::Db) -> Result<Self> {
        Ok(Store {
            conversations: db.open_tree("conversations")?,
            tickets: db.open_tree("tickets")?,
            meta: db.open_tree("meta")?,
            agents: db.open_tree("agents")?,
            logins: db.open_tree("logins")?,
            group: GroupCommit::start(db.clone()),
            db,
        })
    }

    /// Applies the writes atomically, then returns once they are on disk.
    ///
    /// # Errors
    /// On a storage failure; nothing must be sent to anyone then.
    pub async fn commit(&self, commit: Commit<'_>) -> Result<()> {
        self.apply(&commit)?;
        self.group.flush().await
    }

    /// Applies the writes atomically without waiting for the disk (benchmarks,
    /// and records that can be lost on a crash without anyone having seen them).
    ///
    /// # Errors
    /// On a storage failure.
    pub fn apply(&self, commit: &Commit<'_>) -> Result<()> {
        let mut conv_batch = sled::Batch::default();
        if let Some((id, state)) = commit.session {
            conv_batch.insert(state_key(id), encode(state)?);
            for message in commit.messages {
                conv_batch.insert(message_key(id, message.seq).to_vec(), encode(message)?);
            }
        }
        let Some(ticket) = commit.ticket else {
            // One tree: a batch is atomic and much cheaper than a transaction.
            self.conversations.apply_batch(conv_batch)?;
            return Ok(());
        };
        let (key, value) = (ticket.id.as_str().as_bytes().to_vec(), encode(ticket)?);
        let result: std::result::Result<(), TransactionError<()>> =
            (&self.conversations, &self.tickets).transaction(|(conv, tickets)| {
                conv.apply_batch(&conv_batch)?;
                tickets.insert(key.as_slice(), value.as_slice())?;
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
        self.group.flush().await
    }

    /// The stored state of a conversation, if it exists.
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub fn conversation(&self, id: &SessionId) -> Result<Option<ConversationState>> {
        get_json(&self.conversations, &state_key(id))
    }

    /// Messages of a conversation with `seq > after`, in order, at most `limit`.
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub fn messages_after(&self, id: &SessionId, after: u64, limit: usize) -> Result<Vec<Reply>> {
        let start = message_key(id, after.saturating_add(1));
        let end = message_key(id, u64::MAX);
        self.conversations
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
        self.conversations.insert(key, encode(feedback)?)?;
        Ok(())
    }

    /// Every conversation: its id, its messages and feedback. For offline reports.
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub fn scan_conversations(&self) -> Result<Vec<ConversationDump>> {
        let mut out: Vec<ConversationDump> = Vec::new();
        for item in self.conversations.iter() {
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
            .meta
            .update_and_fetch(TICKET_COUNTER, |old| {
                let n = old
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map(u64::from_be_bytes)
                    .unwrap_or(0);
                Some((n + 1).to_be_bytes().to_vec())
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
        get_json(&self.tickets, id.as_str().as_bytes())
    }

    /// Every ticket, oldest first.
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub fn tickets(&self) -> Result<Vec<Ticket>> {
        self.tickets
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
        self.tree(kind).insert(key.as_bytes(), encode(value)?)?;
        self.group.flush().await
    }

    /// Removes a record; returns whether it existed.
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn remove_record(&self, kind: RecordKind, key: &str) -> Result<bool> {
        let existed = self.tree(kind).remove(key.as_bytes())?.is_some();
        self.group.flush().await?;
        Ok(existed)
    }

    /// A record from one of the small keyed trees.
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub fn record<T: DeserializeOwned>(&self, kind: RecordKind, key: &str) -> Result<Option<T>> {
        get_json(self.tree(kind), key.as_bytes())
    }

    /// All records of a kind, by key order.
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub fn records<T: DeserializeOwned>(&self, kind: RecordKind) -> Result<Vec<(String, T)>> {
        self.tree(kind)
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

    fn tree(&self, kind: RecordKind) -> &sled::Tree {
        match kind {
            RecordKind::Agent => &self.agents,
            RecordKind::Login => &self.logins,
        }
    }

    /// Flushes synchronously; used at shutdown.
    ///
    /// # Errors
    /// When the flush fails.
    pub fn flush_blocking(&self) -> Result<usize> {
        Ok(self.db.flush()?)
    }
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
    pub messages: Vec<Reply>,
    pub feedback: Vec<(u64, Feedback)>,
}

fn state_key(id: &SessionId) -> Vec<u8> {
    let mut key = id.as_str().as_bytes().to_vec();
    key.push(b'#');
    key
}

fn message_key(id: &SessionId, seq: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(id.as_str().len() + 9);
    key.extend_from_slice(id.as_str().as_bytes());
    key.push(b'/');
    key.extend_from_slice(&seq.to_be_bytes());
    key
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

fn get_json<T: DeserializeOwned>(tree: &sled::Tree, key: &[u8]) -> Result<Option<T>> {
    match tree.get(key)? {
        Some(value) => decode(key, &value).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{Author, ReplyKind};

    #[tokio::test]
    async fn appends_and_replays_in_order() {
        let store = Store::temporary().unwrap();
        let id = SessionId::generate();
        let mut state = ConversationState::default();
        let mut messages = Vec::new();
        for seq in 1..=300u64 {
            let mut m = Reply::new(Author::Bot, ReplyKind::Notice, format!("m{seq}"));
            m.seq = seq;
            messages.push(m);
        }
        state.last_seq = 300;
        store
            .commit(Commit {
                session: Some((&id, &state)),
                messages: &messages,
                ticket: None,
            })
            .await
            .unwrap();
        let after = store.messages_after(&id, 255, 1000).unwrap();
        assert_eq!(after.len(), 45);
        assert_eq!(after[0].seq, 256);
        assert_eq!(after[44].seq, 300);
        assert_eq!(store.conversation(&id).unwrap().unwrap().last_seq, 300);
        let other = SessionId::generate();
        assert!(store.messages_after(&other, 0, 10).unwrap().is_empty());
    }

    #[tokio::test]
    async fn ticket_numbers_increase() {
        let store = Store::temporary().unwrap();
        assert_eq!(store.next_ticket_number().unwrap(), 1);
        assert_eq!(store.next_ticket_number().unwrap(), 2);
    }
}
