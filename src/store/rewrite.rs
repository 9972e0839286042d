//! Rewriting the database into fresh files, so that erased values leave no
//! bytes behind (`secobot data delete`).
//!
//! sled is log-structured: a removed or replaced value stays in an old segment
//! of the `db` file until sled happens to reuse that space, so a deleted
//! e-mail can still be read with `grep` long after. The only way to be sure is
//! to copy the live records into a new database and replace the old files,
//! which is what [`SledStore::rewrite`] does, while the server runs:
//!
//! 1. with the write gate held exclusively (no write lands meanwhile, as for a
//!    backup), copy every tree into `DATA/rewrite.new` and flush it;
//! 2. take the live database out of service and wait until nobody uses it (sled
//!    locks its files: it must be closed before they can be replaced);
//! 3. move the old files aside into `DATA/rewrite.old`, move the new ones in,
//!    open them, put them in service, and only then delete the old files.
//!
//! If anything fails before step 3 ends, the old files are put back and
//! reopened: the erase stands (it was flushed), only the rewrite is undone.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{open_sled, Db, SledStore};

const NEW_DIR: &str = "rewrite.new";
const OLD_DIR: &str = "rewrite.old";

/// Why the database could not be rewritten (operators read these).
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    #[error("la base de datos sigue en uso; vuelva a ejecutar el comando en unos segundos")]
    Busy,
    #[error("error de almacenamiento al reescribir la base de datos: {0}")]
    Store(#[from] super::StoreError),
    #[error("error de almacenamiento al reescribir la base de datos: {0}")]
    Sled(#[from] sled::Error),
    #[error("no se pudo reescribir la base de datos: {0}")]
    Backup(#[from] super::BackupError),
    #[error("no se pudo mover {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RewriteError + '_ {
    move |source| RewriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl SledStore {
    /// Replaces the database files with a fresh copy of the live records
    /// (blocking: run it off the async workers). A temporary database has no
    /// files: nothing to do.
    ///
    /// # Errors
    /// The database stayed in use for 5 s, or an I/O or storage failure; the
    /// old files are back in service then.
    pub fn rewrite(&self) -> Result<(), RewriteError> {
        let Some(data) = self.shared.path.clone() else {
            return Ok(());
        };
        let new_dir = data.join(NEW_DIR);
        let old_dir = data.join(OLD_DIR);
        let _ = std::fs::remove_dir_all(&new_dir);
        let _ = std::fs::remove_dir_all(&old_dir);
        // No write may land from the copy until the new files serve.
        let _exclusive = self.shared.gate.write().unwrap_or_else(|p| p.into_inner());
        let live = self.db()?;
        {
            let fresh = sled::Config::new().path(&new_dir).open()?;
            super::backup::copy_trees(&live.db, &fresh)?;
            // Audit and mail keys come from sled's id generator, which starts
            // at 0 in a fresh database: ids go on from the old files' next one,
            // or new entries would overwrite old ones.
            let next = live.next_id()?;
            fresh
                .open_tree("meta")?
                .insert(super::ID_BASE, &next.to_be_bytes())?;
            fresh.flush()?;
        }
        drop(live);
        let old = self.take_out_of_service()?;
        drop(old);
        match swap_files(&data, &new_dir, &old_dir)
            .and_then(|()| Ok(Db::new(open_sled(&data, self.shared.cache_bytes)?)?))
        {
            Ok(db) => {
                self.shared.live.store(Some(Arc::new(db)));
                let _ = std::fs::remove_dir_all(&old_dir);
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "rewriting the database failed; putting the old files back");
                let back = restore_files(&data, &old_dir)
                    .and_then(|()| Ok(Db::new(open_sled(&data, self.shared.cache_bytes)?)?));
                match back {
                    Ok(db) => self.shared.live.store(Some(Arc::new(db))),
                    Err(again) => {
                        tracing::error!(error = %again, "reopening the old database failed");
                        if let Ok(mut d) = self.shared.degraded.lock() {
                            *d = Some(format!("the database could not be reopened: {again}"));
                        }
                    }
                }
                let _ = std::fs::remove_dir_all(&new_dir);
                Err(e)
            }
        }
    }

    /// Takes the live database out and waits (at most 5 s) until no reader or
    /// writer holds it, so it can be closed. Puts it back on time-out.
    fn take_out_of_service(&self) -> Result<Db, RewriteError> {
        let Some(mut old) = self.shared.live.swap(None) else {
            return Err(RewriteError::Busy);
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match Arc::try_unwrap(old) {
                Ok(db) => return Ok(db),
                Err(still_shared) if Instant::now() < deadline => {
                    old = still_shared;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(still_shared) => {
                    self.shared.live.store(Some(still_shared));
                    return Err(RewriteError::Busy);
                }
            }
        }
    }
}

/// sled's own files in a data folder (everything but our socket and folders).
fn sled_files(data: &Path) -> Result<Vec<PathBuf>, RewriteError> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(data).map_err(io(data))? {
        let entry = entry.map_err(io(data))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == "db" || name == "conf" || name == "blobs" || name.starts_with("snap.") {
            files.push(entry.path());
        }
    }
    Ok(files)
}

fn move_all(files: Vec<PathBuf>, to: &Path) -> Result<(), RewriteError> {
    std::fs::create_dir_all(to).map_err(io(to))?;
    for file in files {
        let Some(name) = file.file_name() else {
            continue;
        };
        std::fs::rename(&file, to.join(name)).map_err(io(&file))?;
    }
    Ok(())
}

/// Written into `rewrite.old` once every old file is in it.
const COMPLETE: &str = "complete";

fn swap_files(data: &Path, new_dir: &Path, old_dir: &Path) -> Result<(), RewriteError> {
    move_all(sled_files(data)?, old_dir)?;
    let marker = old_dir.join(COMPLETE);
    std::fs::write(&marker, b"").map_err(io(&marker))?;
    let fresh: Vec<PathBuf> = sled_files(new_dir)?;
    move_all(fresh, data)?;
    std::fs::remove_dir_all(new_dir).map_err(io(new_dir))
}

/// Puts the old files back. Files of the data folder are new ones only once
/// every old one was moved aside (the `complete` marker); before that, they
/// are old ones that were not moved yet.
fn restore_files(data: &Path, old_dir: &Path) -> Result<(), RewriteError> {
    if old_dir.join(COMPLETE).exists() {
        for file in sled_files(data)? {
            if file.is_dir() {
                std::fs::remove_dir_all(&file).map_err(io(&file))?;
            } else {
                std::fs::remove_file(&file).map_err(io(&file))?;
            }
        }
    }
    move_all(sled_files(old_dir)?, data)?;
    std::fs::remove_dir_all(old_dir).map_err(io(old_dir))
}

/// Finishes or undoes a rewrite that a crash interrupted, before the folder is
/// opened (sled would otherwise start an empty database where the files were
/// moved aside): `rewrite.new` gone means the new files were all in place, so
/// the old ones (and the data they still hold) are removed; otherwise the old
/// files are put back.
///
/// # Errors
/// When files cannot be moved or removed.
pub(super) fn recover(data: &Path) -> Result<(), RewriteError> {
    let (new_dir, old_dir) = (data.join(NEW_DIR), data.join(OLD_DIR));
    if old_dir.exists() {
        if new_dir.exists() {
            tracing::warn!("an interrupted database rewrite is undone: the old files are put back");
            restore_files(data, &old_dir)?;
        } else {
            std::fs::remove_dir_all(&old_dir).map_err(io(&old_dir))?;
        }
    }
    if new_dir.exists() {
        std::fs::remove_dir_all(&new_dir).map_err(io(&new_dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::audit::AuditEntry;

    fn grep(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
        let mut hits = Vec::new();
        for entry in walk(dir) {
            let bytes = std::fs::read(&entry).unwrap_or_default();
            if bytes.windows(needle.len()).any(|w| w == needle) {
                hits.push(entry);
            }
        }
        hits
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
        out
    }

    #[tokio::test]
    async fn an_interrupted_rewrite_is_undone_or_finished_when_the_folder_opens() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let store = SledStore::open(&data, 1 << 20).unwrap();
        store
            .audit(&AuditEntry::now("ana", "x", "sigue", "uno"))
            .await
            .unwrap();
        drop(store);
        // Crash after every old file was moved aside, with half the new ones in.
        std::fs::create_dir_all(data.join(NEW_DIR)).unwrap();
        move_all(sled_files(&data).unwrap(), &data.join(OLD_DIR)).unwrap();
        std::fs::write(data.join(OLD_DIR).join(COMPLETE), b"").unwrap();
        std::fs::write(data.join("conf"), b"a half-moved new file").unwrap();
        let store = SledStore::open(&data, 1 << 20).unwrap();
        assert_eq!(store.audit_log(10).unwrap()[0].target, "sigue");
        assert!(!data.join(OLD_DIR).exists() && !data.join(NEW_DIR).exists());
        drop(store);
        // Crash after the new files were all in: the old ones go.
        std::fs::create_dir_all(data.join(OLD_DIR)).unwrap();
        std::fs::write(data.join(OLD_DIR).join("db"), b"old personal data").unwrap();
        let store = SledStore::open(&data, 1 << 20).unwrap();
        assert_eq!(store.audit_log(10).unwrap().len(), 1);
        assert!(!data.join(OLD_DIR).exists());
    }

    #[tokio::test]
    async fn a_rewrite_leaves_no_bytes_of_removed_records_and_keeps_the_rest() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let store = SledStore::open(&data, 1 << 20).unwrap();
        store
            .audit(&AuditEntry::now("ana", "x", "borrable-zq81", "uno"))
            .await
            .unwrap();
        store
            .audit(&AuditEntry::now("ana", "x", "queda", "dos"))
            .await
            .unwrap();
        let db = store.db().unwrap();
        let first = db.audit.iter().next().unwrap().unwrap().0;
        db.audit.remove(first).unwrap();
        drop(db);
        store.flush().await.unwrap();
        // sled's log still holds the removed value: the reason for rewriting.
        assert!(!grep(&data, b"borrable-zq81").is_empty());
        store.rewrite().unwrap();
        assert!(grep(&data, b"borrable-zq81").is_empty());
        store
            .audit(&AuditEntry::now("ana", "x", "nueva", "tres"))
            .await
            .unwrap();
        let log = store.audit_log(10).unwrap();
        let targets: Vec<&str> = log.iter().map(|e| e.target.as_str()).collect();
        assert_eq!(targets, ["nueva", "queda"]);
        drop(store);
        let again = SledStore::open(&data, 1 << 20).unwrap();
        assert_eq!(again.audit_log(10).unwrap().len(), 2);
    }
}
