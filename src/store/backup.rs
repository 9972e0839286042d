//! Backups: a consistent, point-in-time copy of the data folder into a fresh
//! sled database, and the check-then-restore of such a copy.
//!
//! Consistency: every write to the store passes a shared gate (see
//! `SledStore::write` and `SledStore::commit`); a backup holds it exclusively while it
//! copies every tree, so no write lands half-way through the copy. Writes wait
//! for that long (the copy of a small folder takes well under a second), reads
//! go on. The copy is a sled folder like `--data`, plus a `backup_info` tree
//! with when it was taken and how many records each tree had, which `restore`
//! checks against what it reads back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::audit::AuditEntry;
use super::records::{MessageRecord, StateSummary};
use super::{decode, Feedback, SledStore};
use crate::tickets::Ticket;

const INFO_TREE: &str = "backup_info";
const INFO_KEY: &[u8] = b"info";
/// sled's default tree: it exists in every database and holds nothing of ours.
const DEFAULT_TREE: &[u8] = b"__sled__default";

/// Why a backup or a restore failed (operators read these).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} ya existe y no está vacía: elija una carpeta nueva (nunca se sobrescribe)")]
    NotEmpty(PathBuf),
    #[error("no se pudo abrir {path}: {source}")]
    Open { path: PathBuf, source: sled::Error },
    #[error("{0} no es una copia de secobot (le falta backup_info)")]
    NotABackup(PathBuf),
    #[error("la copia está dañada: {0}")]
    Corrupt(String),
    #[error("error de almacenamiento: {0}")]
    Sled(#[from] sled::Error),
    #[error(transparent)]
    Store(#[from] super::StoreError),
    #[error("no se pudo preparar {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What a backup holds: when it was taken and records per tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupInfo {
    pub taken_at: chrono::DateTime<chrono::Utc>,
    pub counts: BTreeMap<String, u64>,
}

impl std::fmt::Display for BackupInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "copia del {}",
            crate::local_time::date_time(self.taken_at)
        )?;
        for (tree, n) in &self.counts {
            write!(f, "\n  {tree}: {n} registros")?;
        }
        Ok(())
    }
}

impl SledStore {
    /// Writes a consistent copy of every tree into `out`, a folder that must
    /// not exist or be empty (blocking: run it off the async workers).
    ///
    /// # Errors
    /// `out` not empty, or a storage failure (a partial `out` is removed).
    pub fn backup(&self, out: &Path) -> Result<BackupInfo, BackupError> {
        ensure_empty(out)?;
        let result = (|| {
            let target = open(out)?;
            let db = self.db()?;
            let info = {
                // No write may land while the trees are copied.
                let _exclusive = self.shared.gate.write().unwrap_or_else(|p| p.into_inner());
                BackupInfo {
                    taken_at: chrono::Utc::now(),
                    counts: copy_trees(&db.db, &target)?,
                }
            };
            let encoded =
                serde_json::to_vec(&info).map_err(|e| BackupError::Corrupt(e.to_string()))?;
            target.open_tree(INFO_TREE)?.insert(INFO_KEY, encoded)?;
            target.flush()?;
            Ok(info)
        })();
        if result.is_err() {
            // Never leave something that looks like a backup but is not one.
            let _ = std::fs::remove_dir_all(out);
        }
        result
    }
}

/// Opens a backup, decodes every record of the trees secobot knows, counts
/// every tree and compares with what the backup says it holds.
///
/// # Errors
/// Not a backup, a record that does not decode, or counts that differ.
pub fn verify(backup: &Path) -> Result<BackupInfo, BackupError> {
    if !backup.is_dir() {
        return Err(BackupError::NotABackup(backup.to_path_buf()));
    }
    let db = open(backup)?;
    verify_db(&db, backup)
}

fn verify_db(db: &sled::Db, path: &Path) -> Result<BackupInfo, BackupError> {
    let info: BackupInfo = match db.open_tree(INFO_TREE)?.get(INFO_KEY)? {
        Some(v) => serde_json::from_slice(&v)
            .map_err(|e| BackupError::Corrupt(format!("backup_info: {e}")))?,
        None => return Err(BackupError::NotABackup(path.to_path_buf())),
    };
    let mut counts = BTreeMap::new();
    for name in db.tree_names() {
        if name.as_ref() == DEFAULT_TREE || name.as_ref() == INFO_TREE.as_bytes() {
            continue;
        }
        let label = String::from_utf8_lossy(&name).into_owned();
        let tree = db.open_tree(&name)?;
        let mut n = 0u64;
        for item in tree.iter() {
            let (key, value) = item?;
            check_record(&label, &key, &value)
                .map_err(|e| BackupError::Corrupt(format!("{label}: {e}")))?;
            n += 1;
        }
        counts.insert(label, n);
    }
    let expected: BTreeMap<&String, &u64> = info.counts.iter().filter(|(_, n)| **n > 0).collect();
    let found: BTreeMap<&String, &u64> = counts.iter().filter(|(_, n)| **n > 0).collect();
    if expected != found {
        return Err(BackupError::Corrupt(format!(
            "se esperaban {expected:?} registros y hay {found:?}"
        )));
    }
    Ok(BackupInfo {
        taken_at: info.taken_at,
        counts,
    })
}

/// Decodes one record as the type its tree holds. Trees secobot does not know
/// (added by a newer version) are counted, not decoded.
fn check_record(tree: &str, key: &[u8], value: &[u8]) -> Result<(), super::StoreError> {
    match tree {
        "conversations" => {
            let split = key.iter().position(|b| matches!(b, b'#' | b'/' | b'!'));
            match split.map(|i| key[i]) {
                // The state's shape is `conversation`'s: the store checks what
                // it reads of it (a truncated or garbled record fails here).
                Some(b'#') => decode::<StateSummary>(key, value).map(drop),
                Some(b'/') => decode::<MessageRecord>(key, value).map(drop),
                Some(b'!') => decode::<Feedback>(key, value).map(drop),
                _ => decode::<serde_json::Value>(key, value).map(drop),
            }
        }
        "tickets" => decode::<Ticket>(key, value).map(drop),
        "audit" => decode::<AuditEntry>(key, value).map(drop),
        "outbox" | "mail_sent" | "mail_failed" => {
            decode::<super::OutboundMail>(key, value).map(drop)
        }
        "agents" | "logins" => decode::<serde_json::Value>(key, value).map(drop),
        _ => Ok(()),
    }
}

/// `secobot restore`: checks `backup`, then copies it into `data`, which must
/// not exist or be empty. Returns what was restored.
///
/// # Errors
/// A bad backup, a non-empty `data`, or a storage failure (a partial `data` is removed).
pub fn restore(backup: &Path, data: &Path) -> Result<BackupInfo, BackupError> {
    ensure_empty(data)?;
    let source = open(backup)?;
    let info = verify_db(&source, backup)?;
    let result = (|| {
        let target = open(data)?;
        copy_trees(&source, &target)?;
        target.drop_tree(INFO_TREE)?;
        target.flush()?;
        drop(target);
        // Read back what was written, as the server will.
        let again = open(data)?;
        let mut restored = BTreeMap::new();
        for name in again.tree_names() {
            if name.as_ref() == DEFAULT_TREE {
                continue;
            }
            restored.insert(
                String::from_utf8_lossy(&name).into_owned(),
                again.open_tree(&name)?.len() as u64,
            );
        }
        let nonzero = |m: &BTreeMap<String, u64>| -> BTreeMap<String, u64> {
            m.iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| (k.clone(), *n))
                .collect()
        };
        if nonzero(&restored) != nonzero(&info.counts) {
            return Err(BackupError::Corrupt(format!(
                "tras restaurar hay {restored:?} registros y la copia tenía {:?}",
                info.counts
            )));
        }
        continue_ids(&again)?;
        again.flush()?;
        Ok(info)
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(data);
        return result;
    }
    // Every handle is dropped, but sled's background writes may still hold
    // its lock on the folder; the folder is the caller's once they are done.
    super::embedded::wait_for_sled_release(data).map_err(|source| BackupError::Io {
        path: data.to_path_buf(),
        source,
    })?;
    result
}

/// Copies every tree (but sled's default one and a backup's info) of `from`
/// into `to`; returns records per tree.
pub(super) fn copy_trees(
    from: &sled::Db,
    to: &sled::Db,
) -> Result<BTreeMap<String, u64>, BackupError> {
    let mut counts = BTreeMap::new();
    for name in from.tree_names() {
        if name.as_ref() == DEFAULT_TREE || name.as_ref() == INFO_TREE.as_bytes() {
            continue;
        }
        let source = from.open_tree(&name)?;
        let target = to.open_tree(&name)?;
        let mut n = 0u64;
        let mut batch = sled::Batch::default();
        for item in source.iter() {
            let (key, value) = item?;
            batch.insert(key, value);
            n += 1;
            if n.is_multiple_of(10_000) {
                target.apply_batch(std::mem::take(&mut batch))?;
            }
        }
        target.apply_batch(batch)?;
        counts.insert(String::from_utf8_lossy(&name).into_owned(), n);
    }
    Ok(counts)
}

/// A restored folder is a fresh sled database, whose id generator starts at
/// 0: audit and mail ids must go on after the highest one restored, or new
/// entries would overwrite old ones (see `Db::next_id`).
fn continue_ids(db: &sled::Db) -> Result<(), BackupError> {
    let mut next = 0u64;
    for tree in ["audit", "outbox", "mail_sent", "mail_failed"] {
        if let Some((key, _)) = db.open_tree(tree)?.last()? {
            if let Ok(bytes) = <[u8; 8]>::try_from(key.as_ref()) {
                next = next.max(u64::from_be_bytes(bytes).saturating_add(1));
            }
        }
    }
    let meta = db.open_tree("meta")?;
    let base = meta
        .get(super::ID_BASE)?
        .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0);
    if next > base {
        meta.insert(super::ID_BASE, &next.to_be_bytes())?;
    }
    Ok(())
}

/// Opens a backup or a folder being restored; like the store, it waits for
/// sled's lock while a handle just dropped still holds it.
fn open(path: &Path) -> Result<sled::Db, BackupError> {
    let config = sled::Config::new()
        .path(path)
        .cache_capacity(16 * 1024 * 1024);
    super::embedded::open_waiting(&config).map_err(|source| BackupError::Open {
        path: path.to_path_buf(),
        source,
    })
}

fn ensure_empty(dir: &Path) -> Result<(), BackupError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::NotEmpty(dir.to_path_buf()));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(BackupError::Io {
            path: dir.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::embedded::tests::{message, state};
    use crate::store::{Commit, SessionId};

    #[tokio::test]
    async fn a_backup_restores_every_record_and_refuses_a_used_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SledStore::open(&tmp.path().join("data"), 1 << 20).unwrap();
        let id = SessionId::generate();
        let m = message(1, "hola");
        store
            .commit(Commit {
                session: Some((&id, &state(1))),
                messages: std::slice::from_ref(&m),
                ticket: None,
                mail: &[],
            })
            .await
            .unwrap();
        store
            .audit(&AuditEntry::now("ana", "agent_add", "luis", "creada"))
            .await
            .unwrap();
        let out = tmp.path().join("copia");
        let info = store.backup(&out).unwrap();
        assert_eq!(info.counts["conversations"], 2);
        assert_eq!(info.counts["audit"], 1);
        assert!(matches!(store.backup(&out), Err(BackupError::NotEmpty(_))));

        let restored = tmp.path().join("restaurado");
        let again = restore(&out, &restored).unwrap();
        assert_eq!(again.counts["conversations"], 2);
        assert!(matches!(
            restore(&out, &restored),
            Err(BackupError::NotEmpty(_))
        ));
        drop(store);
        let back = SledStore::open(&restored, 1 << 20).unwrap();
        assert_eq!(back.messages_after(&id, 0, 10).unwrap()[0].text, "hola");
        assert_eq!(back.audit_log(10).unwrap().len(), 1);
        // A new entry goes after the restored one instead of replacing it.
        back.audit(&AuditEntry::now("ana", "agent_add", "pedro", "creada"))
            .await
            .unwrap();
        let log = back.audit_log(10).unwrap();
        let targets: Vec<&str> = log.iter().map(|e| e.target.as_str()).collect();
        assert_eq!(targets, ["pedro", "luis"]);
    }

    /// `secobot restore` then `secobot serve` is the documented sequence, and
    /// a test or a script may run it in one process: the restored folder must
    /// be free the moment `restore` returns, not when sled's flusher thread
    /// gets round to exiting (it once held the lock past the 3 s that
    /// [`SledStore::open`] waits, on a loaded CI machine).
    #[tokio::test]
    async fn a_restored_folder_is_released_when_restore_returns() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SledStore::open(&tmp.path().join("data"), 1 << 20).unwrap();
        let id = SessionId::generate();
        store
            .commit(Commit {
                session: Some((&id, &state(1))),
                messages: std::slice::from_ref(&message(1, "hola")),
                ticket: None,
                mail: &[],
            })
            .await
            .unwrap();
        let out = tmp.path().join("copia");
        store.backup(&out).unwrap();
        drop(store);
        for round in 0..5 {
            let restored = tmp.path().join(format!("restaurado-{round}"));
            restore(&out, &restored).unwrap();
            // sled's own lock, taken without waiting: a handle left behind fails it.
            let db = sled::Config::new().path(&restored).open();
            assert!(db.is_ok(), "round {round}: {:?}", db.err());
        }
    }

    /// A folder whose sled handle was just dropped is still locked by sled's
    /// background writes for a moment (on a loaded machine, seconds): opening
    /// it waits instead of failing with «could not acquire lock».
    #[test]
    fn a_folder_reopened_right_after_a_close_waits_for_sled_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("datos");
        let held = open(&path).unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(held);
        });
        let reopened = open(&path);
        assert!(reopened.is_ok(), "{:?}", reopened.err());
        release.join().unwrap();
    }

    #[test]
    fn a_folder_that_is_not_a_backup_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let plain = tmp.path().join("datos");
        drop(open(&plain).unwrap());
        assert!(matches!(
            restore(&plain, &tmp.path().join("x")),
            Err(BackupError::NotABackup(_))
        ));
        assert!(!tmp.path().join("x").exists());
    }
}
