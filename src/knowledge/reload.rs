//! Hot reload: watches the folder (debounced) and rebuilds off the request path.
//!
//! A rebuild runs on the blocking pool; only a folder without problems is
//! swapped in. Otherwise the last good version keeps answering and the problems
//! are logged and kept for `/healthz` until the folder is fixed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify::RecursiveMode;
use notify_debouncer_full::{new_debouncer, DebounceEventResult};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Knowledge, LiveKnowledge, Mode, Thresholds};

/// Runs a rebuild on its own thread at low CPU priority (nice 10, inherited by
/// the threads it starts), so a reload uses spare CPU and replies keep theirs.
async fn build_in_background<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("secobot-reload".into())
        .spawn(move || {
            lower_priority();
            // The receiver is gone only if the server is shutting down.
            let _ = tx.send(work());
        })
        .map_err(|e| e.to_string())?;
    rx.await.map_err(|e| e.to_string())
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    // On Linux, PRIO_PROCESS with 0 names the calling thread only.
    // SAFETY: setpriority has no memory effects; a failure only leaves the priority as is.
    let result = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) };
    if result != 0 {
        tracing::debug!("could not lower the reload thread's priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

/// What a reload needs to rebuild the same kind of snapshot.
#[derive(Clone)]
pub struct Reloader {
    pub live: Arc<LiveKnowledge>,
    pub dir: PathBuf,
    pub mode: Mode,
    pub thresholds: Thresholds,
    /// Checks this module cannot do itself (the flows' wording templates, which
    /// belong to `render`); a problem keeps the folder out like any other.
    pub validate: fn(&Knowledge) -> Vec<crate::problem::Problem>,
}

impl Reloader {
    /// Rebuilds now; returns whether the new version was swapped in.
    pub async fn reload(&self) -> bool {
        let (dir, mode, thresholds) = (self.dir.clone(), self.mode, self.thresholds);
        let started = Instant::now();
        let validate = self.validate;
        let built = build_in_background(move || {
            let knowledge = Knowledge::load(&dir, mode, thresholds)?;
            let problems = validate(&knowledge);
            if problems.is_empty() {
                Ok(knowledge)
            } else {
                Err(crate::problem::Problems(problems))
            }
        })
        .await;
        match built {
            Ok(Ok(knowledge)) => {
                let (entries, flows) = (knowledge.entries.len(), knowledge.flows.len());
                self.live.replace(knowledge);
                metrics::counter!("secobot_knowledge_reloads_total", "result" => "ok").increment(1);
                tracing::info!(
                    entries,
                    flows,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "knowledge reloaded"
                );
                true
            }
            Ok(Err(problems)) => {
                metrics::counter!("secobot_knowledge_reloads_total", "result" => "error")
                    .increment(1);
                tracing::warn!(problems = %problems, "knowledge folder has problems; still serving the last good version");
                self.live.set_error(Some(problems.to_string()));
                false
            }
            Err(e) => {
                tracing::error!(error = %e, "knowledge reload task failed");
                false
            }
        }
    }

    /// Watches the folder until `shutdown`, reloading after changes settle.
    ///
    /// # Errors
    /// When the operating system refuses to watch the folder.
    pub fn watch(
        self,
        debounce: Duration,
        shutdown: CancellationToken,
    ) -> notify::Result<tokio::task::JoinHandle<()>> {
        let (tx, mut rx) = mpsc::channel::<()>(1);
        let poll_tx = tx.clone();
        let mut debouncer = new_debouncer(debounce, None, move |result: DebounceEventResult| {
            if let Ok(events) = result {
                let relevant = events.iter().any(|e| !e.kind.is_access());
                if relevant {
                    // A full channel already holds a pending reload: nothing to add.
                    let _ = tx.try_send(());
                }
            }
        })?;
        debouncer.watch(&self.dir, RecursiveMode::Recursive)?;
        // The watcher sees the folder it was given, as it was resolved then:
        // not a symlinked folder switched to another release, nor an edit to
        // the target of a symlinked file. A poll of what the folder resolves
        // to now catches both.
        let poll_dir = self.dir.clone();
        let poll_shutdown = shutdown.clone();
        // The first fingerprint is taken here, before the server answers
        // anyone: taken in the task, it could come after an edit made as soon
        // as the server was up, which would then never look like a change.
        let mut last = Some(fingerprint(&poll_dir));
        tokio::spawn(async move {
            let fingerprint = |dir: PathBuf| tokio::task::spawn_blocking(move || fingerprint(&dir));
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = poll_shutdown.cancelled() => break,
                    _ = tick.tick() => {
                        let now = fingerprint(poll_dir.clone()).await.ok();
                        if now != last {
                            last = now;
                            let _ = poll_tx.try_send(());
                        }
                    }
                }
            }
        });
        Ok(tokio::spawn(async move {
            // The debouncer stops watching when dropped, so it lives in this task.
            let _debouncer = debouncer;
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    event = rx.recv() => {
                        if event.is_none() { break; }
                        self.reload().await;
                    }
                }
            }
        }))
    }
}

/// How often the folder's symlink targets are checked.
const POLL: Duration = Duration::from_secs(2);

/// What the folder resolves to now: its canonical path, and the path, size
/// and modification time of every file under it, symlinks followed. Changes
/// when a symlinked folder or file points elsewhere or its target is edited.
fn fingerprint(dir: &std::path::Path) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::fs::canonicalize(dir).ok().hash(&mut h);
    let mut stack = vec![dir.to_path_buf()];
    let mut seen = 0usize;
    while let Some(d) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = read.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            // std::fs::metadata follows symlinks.
            let Ok(meta) = std::fs::metadata(&p) else {
                continue;
            };
            seen += 1;
            // A symlink loop cannot make this run forever.
            if meta.is_dir() && seen < 100_000 {
                stack.push(p);
            } else if meta.is_file() {
                p.hash(&mut h);
                std::fs::canonicalize(&p).ok().hash(&mut h);
                meta.len().hash(&mut h);
                meta.modified().ok().hash(&mut h);
            }
        }
    }
    h.finish()
}
