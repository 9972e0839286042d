//! Recovery of the embedded store after a failed write.
//!
//! sled refuses every write after one failed (a full disk, an I/O error) until
//! the database is opened again. A failed write marks the store degraded
//! (writes are refused at once, reads go on) and keeps a [`Rollback`] of what
//! it may have left; a background task calls [`SledStore::try_recover`] every
//! [`RECOVERY_INTERVAL`]: it reopens the database, undoes those writes and
//! checks that a write reaches the disk.

use std::sync::{Arc, Mutex};

use super::embedded::{message_key, open_sled, state_key, Db};
use super::{Commit, Result, SledStore, StoreError};

/// How often a degraded store tries to reopen its database.
pub const RECOVERY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

const PROBE: &[u8] = b"write_probe";

/// What a failed write may have left behind, to be undone after reopening:
/// keys it added, and the previous value of the keys it replaced.
#[derive(Debug, Default)]
pub(super) struct Rollback {
    conversations: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    tickets: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    outbox: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl SledStore {
    /// Why writes are refused right now, if they are (for `/healthz`).
    pub fn degraded(&self) -> Option<String> {
        self.shared.degraded.lock().ok().and_then(|d| d.clone())
    }

    /// Notes a failed write: the store is degraded until it recovers.
    pub(super) fn failed(&self, error: &StoreError) {
        if !error.poisons() {
            return;
        }
        if let Ok(mut d) = self.shared.degraded.lock() {
            if d.is_none() {
                tracing::error!(error = %error, "a write failed; storage is degraded until it recovers");
                metrics::gauge!("secobot_storage_degraded").set(1.0);
                *d = Some(error.to_string());
            }
        }
    }

    /// What undoes `commit`: its keys with their current values.
    pub(super) fn undo_record(db: &Db, commit: &Commit<'_>) -> Result<Rollback> {
        let mut undo = Rollback::default();
        if let Some((id, _)) = commit.session {
            let key = state_key(id);
            let previous = db.conversations.get(&key)?.map(|v| v.to_vec());
            undo.conversations.push((key, previous));
            for message in commit.messages {
                undo.conversations
                    .push((message_key(id, message.seq), None));
            }
        }
        if let Some(ticket) = commit.ticket {
            let key = ticket.id.as_str().as_bytes().to_vec();
            let previous = db.tickets.get(&key)?.map(|v| v.to_vec());
            undo.tickets.push((key, previous));
        }
        for mail in commit.mail {
            undo.outbox.push((mail.id.to_be_bytes().to_vec(), None));
        }
        Ok(undo)
    }

    /// One recovery attempt, for a degraded store (blocking: run it off the
    /// async workers). Reopens the database, undoes what failed writes may have
    /// left, and checks that a write reaches the disk. Returns whether the store
    /// is healthy afterwards.
    pub fn try_recover(&self) -> bool {
        if self.degraded().is_none() {
            return true;
        }
        let Some(path) = self.shared.path.clone() else {
            return false;
        };
        // sled locks its folder: every handle of the old database must be gone
        // before it can be opened again. Readers in flight finish within moments.
        let Some(old) = self.shared.live.swap(None) else {
            return false;
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut old = old;
        loop {
            match Arc::try_unwrap(old) {
                Ok(db) => {
                    drop(db);
                    break;
                }
                Err(still_shared) if std::time::Instant::now() < deadline => {
                    old = still_shared;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(still_shared) => {
                    tracing::warn!("storage recovery postponed: the database is still in use");
                    self.shared.live.store(Some(still_shared));
                    return false;
                }
            }
        }
        let db = match open_sled(&path, self.shared.cache_bytes).and_then(Db::new) {
            Ok(db) => Arc::new(db),
            Err(e) => {
                tracing::warn!(error = %e, "storage recovery: reopening failed; will retry");
                return false;
            }
        };
        self.shared.live.store(Some(db.clone()));
        match Self::undo_and_probe(&db, &self.shared.rollbacks) {
            Ok(()) => {
                if let Ok(mut d) = self.shared.degraded.lock() {
                    *d = None;
                }
                metrics::gauge!("secobot_storage_degraded").set(0.0);
                tracing::info!("storage recovered: writes are accepted again");
                true
            }
            Err(e) => {
                if let Ok(mut d) = self.shared.degraded.lock() {
                    *d = Some(e.to_string());
                }
                tracing::debug!(error = %e, "storage still cannot write; will retry");
                false
            }
        }
    }

    fn undo_and_probe(db: &Db, rollbacks: &Mutex<Vec<Rollback>>) -> Result<()> {
        let pending: Vec<Rollback> = rollbacks
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        let result = (|| {
            // Newest first, so the oldest failed write's "previous" value wins.
            for undo in pending.iter().rev() {
                restore(&db.conversations, &undo.conversations)?;
                restore(&db.tickets, &undo.tickets)?;
                restore(&db.outbox, &undo.outbox)?;
            }
            db.meta
                .insert(PROBE, chrono::Utc::now().to_rfc3339().as_bytes())?;
            db.db.flush()?;
            Ok(())
        })();
        if result.is_err() {
            if let Ok(mut r) = rollbacks.lock() {
                let newer = std::mem::take(&mut *r);
                *r = pending;
                r.extend(newer);
            }
        }
        result
    }
}

/// Puts keys back to their recorded values (`None`: removes the key).
pub(super) fn restore(tree: &sled::Tree, entries: &[(Vec<u8>, Option<Vec<u8>>)]) -> Result<()> {
    for (key, previous) in entries {
        match previous {
            Some(value) => tree.insert(key.as_slice(), value.as_slice())?,
            None => tree.remove(key.as_slice())?,
        };
    }
    Ok(())
}
