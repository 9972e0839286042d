//! Group commit: many writers, one fsync.
//!
//! Each writer sends a oneshot to a single flusher thread and waits. The
//! flusher takes every waiter queued at that moment, runs one
//! `sled::Db::flush`, and answers them all. While it flushes, new waiters queue
//! up and form the next group, so under load the cost of an fsync is shared.
//!
//! The flusher is a dedicated OS thread rather than a task plus
//! `spawn_blocking`: every group then costs one thread hand-off instead of
//! three, which matters at thousands of groups per second. Its queue is not
//! capped by itself: each waiter is a turn in progress, and turns are capped by
//! the connection limit (one turn at a time per socket).

use std::sync::mpsc as std_mpsc;

use tokio::sync::oneshot;

use super::StoreError;

type Waiter = oneshot::Sender<Result<(), String>>;

/// Owned by one open database; dropping it stops the flusher thread and waits
/// for it, so the database's files are closed when this is gone (a reopen
/// after a failed write needs that).
pub(super) struct GroupCommit {
    tx: Option<std_mpsc::Sender<Waiter>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the storage flusher thread panicked");
            }
        }
    }
}

impl GroupCommit {
    /// Starts the flusher thread. It ends when every `GroupCommit` clone is dropped.
    pub(super) fn start(db: sled::Db) -> Self {
        let (tx, rx) = std_mpsc::channel::<Waiter>();
        let spawned = std::thread::Builder::new()
            .name("secobot-flush".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut group = vec![first];
                    group.extend(rx.try_iter());
                    let result = db.flush().map(|_| ()).map_err(|e| e.to_string());
                    metrics::histogram!("secobot_group_commit_size").record(group.len() as f64);
                    for waiter in group {
                        // The writer may have gone away (its socket closed); nothing to do then.
                        let _ = waiter.send(result.clone());
                    }
                }
            });
        let thread = match spawned {
            Ok(t) => Some(t),
            Err(e) => {
                // Without the thread every flush fails with FlusherGone, loudly.
                tracing::error!(error = %e, "failed to start the storage flusher thread");
                None
            }
        };
        GroupCommit {
            tx: Some(tx),
            thread,
        }
    }

    /// Waits until everything written before this call is on disk.
    pub(super) async fn flush(&self) -> Result<(), StoreError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .as_ref()
            .ok_or(StoreError::FlusherGone)?
            .send(done)
            .map_err(|_| StoreError::FlusherGone)?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Sled(sled::Error::Unsupported(e))),
            Err(_) => Err(StoreError::FlusherGone),
        }
    }
}
