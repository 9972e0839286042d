//! Group commit: many writers, one fsync.
//!
//! Each writer sends a oneshot to a single flusher task and waits. The flusher
//! takes every waiter queued at that moment, runs one `sled::Db::flush` on the
//! blocking pool, and answers them all. While it flushes, new waiters queue up
//! and form the next group, so under load the cost of an fsync is shared.

use tokio::sync::{mpsc, oneshot};

use super::StoreError;

/// How many writers may wait for a flush at once before `flush` itself waits.
const QUEUE: usize = 4096;

#[derive(Clone)]
pub(super) struct GroupCommit {
    tx: mpsc::Sender<oneshot::Sender<Result<(), String>>>,
}

impl GroupCommit {
    /// Starts the flusher task on the current runtime. It ends when every
    /// `GroupCommit` clone is dropped.
    pub(super) fn start(db: sled::Db) -> Self {
        let (tx, mut rx) = mpsc::channel::<oneshot::Sender<Result<(), String>>>(QUEUE);
        // Tracked by channel closure: the loop ends when the last sender drops.
        tokio::spawn(async move {
            let mut group = Vec::new();
            while rx.recv_many(&mut group, QUEUE).await > 0 {
                let db = db.clone();
                let result = match tokio::task::spawn_blocking(move || db.flush()).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                metrics::histogram!("secobot_group_commit_size").record(group.len() as f64);
                for waiter in group.drain(..) {
                    // The writer may have gone away (its socket closed); nothing to do then.
                    let _ = waiter.send(result.clone());
                }
            }
        });
        GroupCommit { tx }
    }

    /// Waits until everything written before this call is on disk.
    pub(super) async fn flush(&self) -> Result<(), StoreError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(done)
            .await
            .map_err(|_| StoreError::FlusherGone)?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Sled(sled::Error::Unsupported(e))),
            Err(_) => Err(StoreError::FlusherGone),
        }
    }
}
