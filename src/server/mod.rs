//! The HTTP and WebSocket server: shared state, routes, start-up and shutdown.
//!
//! Never imports sled or tantivy: it talks to `conversation`, `knowledge`
//! (through `LiveKnowledge`) and `agents`.

pub mod admin;
pub mod connections;
pub mod embed;
pub mod limits;
pub mod login;
pub mod outbound;
pub mod pages;
pub mod protocol;
pub mod proxy;
pub mod tickets;
pub mod transcript;
pub mod ws_agent;
pub mod ws_user;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::agents::Agents;
use crate::config::ServeArgs;
use crate::conversation::{Hub, Limits};
use crate::knowledge::reload::Reloader;
use crate::knowledge::{Knowledge, LiveKnowledge, Mode};
use crate::render::Renderer;
use crate::shutdown::{CancellationToken, TaskTracker};

/// Frames queued for one socket beyond the kernel's buffer; a reader behind by
/// more is closed with 1013 (see `outbound`).
const OUTBOUND_FRAMES: usize = 64;

/// Socket settings, from the config.
#[derive(Debug, Clone, Copy)]
pub struct SocketSettings {
    pub max_frame: usize,
    pub max_text: usize,
    pub ping: Duration,
    pub idle: Duration,
    pub rate_limit: u32,
    pub max_strikes: u32,
    /// Per-socket outbound queue.
    pub outbound: usize,
}

/// Everything a handler may use; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub hub: Arc<Hub>,
    pub agents: Arc<Agents>,
    pub render: Arc<Renderer>,
    pub knowledge: Arc<LiveKnowledge>,
    pub reloader: Reloader,
    pub metrics: PrometheusHandle,
    pub sockets: SocketSettings,
    pub shutdown: CancellationToken,
    pub tracker: TaskTracker,
    pub connections: Arc<Semaphore>,
    /// Per-address rate limits (new conversations, turns).
    pub limits: Arc<limits::AddressLimits>,
}

/// A server bound to its port, not yet serving (tests read the port in between).
pub struct Application {
    listener: TcpListener,
    state: AppState,
    addr: SocketAddr,
    /// The knowledge-folder watcher, started before the address is printed so
    /// no edit made after "ready" is missed.
    watcher: Option<tokio::task::JoinHandle<()>>,
    /// Connections per client address.
    caps: Arc<connections::AddressCaps>,
    header_timeout: Duration,
    proxies: proxy::TrustedProxies,
    served: Served,
    /// Keeps the embedded knowledge's temporary copy while the server runs
    /// (reloads read it).
    _knowledge_source: crate::bundled::KnowledgeSource,
}

/// What the server reads and writes, for the start-up message.
#[derive(Debug, Clone)]
pub struct Served {
    pub data: std::path::PathBuf,
    pub admin_socket: Option<std::path::PathBuf>,
    pub knowledge: String,
    pub templates: String,
}

impl Application {
    /// Loads everything and binds. Fails fast with a message a person can act on.
    ///
    /// # Errors
    /// A broken knowledge folder or template, an unusable data folder, or a busy port.
    pub async fn build(args: &ServeArgs) -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            // A file-size limit (ulimit -f) must fail the write (EFBIG, handled
            // like a full disk: degraded, then recovered) rather than kill the
            // process mid-write.
            // SAFETY: setting a signal's disposition to "ignore" is async-signal-safe
            // and touches no memory of ours.
            unsafe {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            }
        }
        match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(n) => tracing::debug!(limit = n, "open-file limit raised"),
            Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
        }
        let thresholds = args.knowledge.thresholds();
        let knowledge_source = args.knowledge.source()?;
        let knowledge = Knowledge::load(knowledge_source.path(), Mode::Spanish, thresholds)
            .map_err(|p| anyhow::anyhow!("{p}"))
            .with_context(|| {
                format!(
                    "the knowledge folder {knowledge_source} has problems (run `secobot check`)"
                )
            })?;
        let template_problems = crate::render::check_flow_templates(&knowledge);
        if !template_problems.is_empty() {
            anyhow::bail!(
                "the knowledge folder has problems (run `secobot check`):\n{}",
                crate::problem::Problems(template_problems)
            );
        }
        tracing::info!(
            entries = knowledge.entries.len(),
            flows = knowledge.flows.len(),
            "knowledge loaded"
        );
        let template_source = args.template_source();
        let render = Arc::new(
            Renderer::load(&template_source)
                .with_context(|| format!("failed to load templates from {template_source}"))?,
        );
        let store = args
            .data
            .open_store()
            .await
            .with_context(|| match &args.data.database {
                Some(_) => format!("failed to open {}", args.data.describe()),
                None => format!(
                    "failed to open {} (is another secobot using it?)",
                    args.data.describe()
                ),
            })?;
        tracing::info!(backend = store.backend_name(), "storage open");
        let live = Arc::new(LiveKnowledge::new(knowledge));
        let sender = match &args.smtp_url {
            Some(url) => Some(
                crate::mail::worker::Sender::new(url, &args.mail_from)
                    .map_err(anyhow::Error::msg)?,
            ),
            None => None,
        };
        let domain = sender.as_ref().map_or_else(
            || {
                args.mail_from
                    .rsplit_once('@')
                    .map(|(_, d)| d.trim_end_matches('>').to_owned())
                    .unwrap_or_else(|| "secobot".into())
            },
            crate::mail::worker::Sender::domain,
        );
        let mail_wake = Arc::new(tokio::sync::Notify::new());
        let mail_settings = crate::mail::MailSettings {
            public_url: args.public_url.clone(),
            domain,
        };
        let smtp_configured = sender.is_some();
        crate::mail::worker::spawn(
            store.clone(),
            sender,
            mail_wake.clone(),
            Duration::from_secs(args.mail_retry_secs),
        );
        let hub = Arc::new(
            Hub::new(
                store.clone(),
                live.clone(),
                render.clone(),
                Limits {
                    fanout: 16,
                    history: 500,
                },
                args.hours.clone(),
            )
            .with_mail(mail_settings, mail_wake)
            .with_privacy_url(args.privacy_url.clone())
            .with_smtp_configured(smtp_configured)
            .with_transcript_keys(
                crate::conversation::transcript_link::TranscriptKeys::new(
                    &store
                        .secret("transcript")
                        .await
                        .context("failed to read the transcript links' secret")?,
                )
                .context("the crypto library refused the transcript links' key")?,
            ),
        );
        let agents = Agents::start(hub.clone(), args)
            .await
            .context("failed to load agents and tickets")?;
        let reloader = Reloader {
            live: live.clone(),
            dir: knowledge_source.path().to_path_buf(),
            mode: Mode::Spanish,
            thresholds,
            validate: crate::render::check_flow_templates,
        };
        let state = AppState {
            hub,
            agents,
            render,
            knowledge: live,
            reloader,
            metrics: crate::telemetry::metrics(),
            sockets: SocketSettings {
                max_frame: args.max_frame,
                max_text: args.max_text,
                ping: args.ping_interval(),
                idle: args.idle_timeout(),
                rate_limit: args.rate_limit,
                max_strikes: args.max_strikes,
                outbound: OUTBOUND_FRAMES,
            },
            shutdown: CancellationToken::new(),
            tracker: TaskTracker::new(),
            connections: Arc::new(Semaphore::new(args.max_connections)),
            limits: Arc::new(limits::AddressLimits {
                conversations: limits::KeyedLimit::new(
                    args.new_conversations_per_minute / 60.0,
                    args.new_conversations_burst,
                ),
                turns: limits::KeyedLimit::new(args.turns_per_second, args.turns_burst),
            }),
        };
        if let crate::store::Store::Postgres(pg) = state.hub.store() {
            // Other instances on the same database: follow their changes.
            crate::cluster::spawn(
                pg.clone(),
                state.hub.clone(),
                state.agents.clone(),
                state.shutdown.clone(),
            );
        }
        let listener = TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("failed to listen on {}", args.addr))?;
        let addr = listener
            .local_addr()
            .context("failed to read the bound address")?;
        // The embedded copy never changes: nothing to watch.
        let watcher = if knowledge_source.is_embedded() {
            None
        } else {
            state
                .reloader
                .clone()
                .watch(Duration::from_millis(args.reload_debounce_ms), state.shutdown.clone())
                .map_err(|e| tracing::warn!(error = %e, "cannot watch the knowledge folder; reload with SIGHUP"))
                .ok()
        };
        // `secobot agent …` and `secobot backup` reach the running server here.
        let admin_socket = crate::admin::channel::serve(
            &args.data.data,
            state.hub.store().clone(),
            state.agents.clone(),
            state.shutdown.clone(),
        )
        .map_err(|e| tracing::warn!(error = %e, "no admin socket: agent commands need the server stopped"))
        .ok();
        spawn_sighup_reload(&state);
        spawn_storage_watch(&state);
        spawn_retention(&state, args);
        let served = Served {
            data: crate::bundled::absolute(&args.data.data),
            admin_socket: admin_socket.map(|p| crate::bundled::absolute(&p)),
            knowledge: if knowledge_source.is_embedded() {
                knowledge_source.to_string()
            } else {
                crate::bundled::absolute(knowledge_source.path())
                    .display()
                    .to_string()
            },
            templates: match &template_source {
                crate::bundled::TemplateSource::Dir(d) => {
                    crate::bundled::absolute(d).display().to_string()
                }
                embedded => embedded.to_string(),
            },
        };
        Ok(Application {
            listener,
            state,
            addr,
            watcher,
            served,
            _knowledge_source: knowledge_source,
            caps: connections::AddressCaps::new(args.per_address_connections()),
            header_timeout: Duration::from_secs(args.header_timeout_secs),
            proxies: proxy::TrustedProxies::new(args.trusted_proxies.clone()),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn served(&self) -> &Served {
        &self.served
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `stop` resolves, then closes sockets (1001), waits for
    /// them, and flushes storage.
    ///
    /// # Errors
    /// When the server fails while running.
    pub async fn run_until_stopped(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state.clone();
        let token = state.shutdown.clone();
        let router = router(state.clone()).layer(
            tower_http::timeout::RequestBodyTimeoutLayer::new(self.header_timeout),
        );
        connections::serve(
            self.listener,
            router,
            connections::Admission {
                caps: self.caps.clone(),
                header_timeout: self.header_timeout,
                proxies: self.proxies.clone(),
            },
            token,
            stop,
            prepare_stream,
        )
        .await;
        state.shutdown.cancel();
        state.tracker.close();
        if tokio::time::timeout(Duration::from_secs(10), state.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("some sockets did not close within 10 s");
        }
        if let Some(w) = self.watcher {
            w.abort();
        }
        if let Some(store) = state.hub.store().sled().cloned() {
            match tokio::task::spawn_blocking(move || store.flush_blocking()).await {
                Ok(Ok(_)) => tracing::info!("storage flushed; bye"),
                Ok(Err(e)) => tracing::error!(error = %e, "final flush failed"),
                Err(e) => tracing::error!(error = %e, "final flush task failed"),
            }
        }
        // The channel's task may not get to run again before the runtime ends:
        // remove its socket here, so no command waits on a server that is gone.
        if let Some(socket) = &self.served.admin_socket {
            if let Err(e) = std::fs::remove_file(socket) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(error = %e, "failed to remove the admin socket");
                }
            }
        }
        Ok(())
    }
}

/// Per accepted connection: no Nagle (replies are small frames sent right
/// after the echo; Nagle would hold them ~40 ms) and a capped send buffer.
fn prepare_stream(tcp: &tokio::net::TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "failed to set TCP_NODELAY");
    }
    cap_send_buffer(tcp);
}

/// Bytes the kernel may hold for one connection's unread output. Chat frames
/// are small; a client that stops reading fills this, its next write waits, and
/// after the idle limit the socket is closed (see `ws_user`). Without a cap
/// Linux lets each such connection pin megabytes.
const SEND_BUFFER: libc::c_int = 256 * 1024;

fn cap_send_buffer(tcp: &tokio::net::TcpStream) {
    use std::os::fd::AsRawFd;
    let size = SEND_BUFFER;
    // SAFETY: setsockopt on a socket this process owns, with a pointer to a
    // live c_int and its exact size.
    let rc = unsafe {
        libc::setsockopt(
            tcp.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            std::ptr::addr_of!(size).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "failed to cap SO_SNDBUF");
    }
}

/// Keeps storage healthy without a restart: while writes are refused (a full
/// disk), tries to recover every few seconds; reports the data size to
/// `/metrics` (`secobot_data_bytes`).
fn spawn_storage_watch(state: &AppState) {
    let store = state.hub.store().clone();
    let token = state.shutdown.clone();
    // Ends with the shutdown token.
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::store::RECOVERY_INTERVAL);
        let mut n: u64 = 0;
        loop {
            tokio::select! {
                _ = token.cancelled() => break,
                _ = tick.tick() => {}
            }
            let size_due = n.is_multiple_of(5);
            n += 1;
            // Only sled needs reopening; PostgreSQL's pool reconnects by itself.
            if let Some(sled) = store.sled().filter(|s| s.degraded().is_some()).cloned() {
                if let Err(e) = tokio::task::spawn_blocking(move || sled.try_recover()).await {
                    tracing::error!(error = %e, "storage recovery task failed");
                }
            }
            if size_due {
                if let Ok(bytes) = store.size_on_disk().await {
                    metrics::gauge!("secobot_data_bytes").set(bytes as f64);
                }
            }
        }
    });
}

/// Retention, every `--retention-every-secs`: conversations without a ticket
/// deleted `--retention-days` after their last message, resolved tickets'
/// personal fields anonymised `--anonymize-after-days` after resolution.
/// Least time between two rewrites of the database caused by retention.
const REWRITE_EVERY: Duration = Duration::from_secs(24 * 3600);

fn spawn_retention(state: &AppState, args: &ServeArgs) {
    let store = state.hub.store().clone();
    let token = state.shutdown.clone();
    let every = Duration::from_secs(args.retention_every_secs);
    let days =
        |d: f64| (d > 0.0).then(|| chrono::Duration::milliseconds((d * 86_400_000.0) as i64));
    let (delete_after, anonymize_after) =
        (days(args.retention_days), days(args.anonymize_after_days));
    if delete_after.is_none() && anonymize_after.is_none() {
        return;
    }
    // Ends with the shutdown token.
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        // What a sweep removed stays in sled's log until the files are
        // rewritten; a rewrite holds every write while it copies the whole
        // database, so it runs at most once per REWRITE_EVERY (the first time
        // a sweep changes something, then at most daily).
        let mut last_rewrite: Option<std::time::Instant> = None;
        let mut pending = false;
        loop {
            tokio::select! {
                _ = token.cancelled() => break,
                _ = tick.tick() => {}
            }
            let store = store.clone();
            let now = chrono::Utc::now();
            let due = last_rewrite.is_none_or(|at| at.elapsed() >= REWRITE_EVERY);
            let swept = async {
                let swept = store
                    .sweep(
                        delete_after.map(|d| now - d),
                        anonymize_after.map(|d| now - d),
                    )
                    .await?;
                let changed = swept.deleted + swept.anonymized > 0;
                let mut rewrote = false;
                // Only sled keeps erased values in its files; PostgreSQL's
                // autovacuum reclaims dead rows by itself.
                if let Some(sled) = store.sled().filter(|_| (changed || pending) && due).cloned() {
                    match tokio::task::spawn_blocking(move || sled.rewrite()).await {
                        Ok(Ok(())) => rewrote = true,
                        Ok(Err(e)) => tracing::warn!(error = %e, "retention: the database was not rewritten; old values stay on disk until the next rewrite"),
                        Err(e) => tracing::error!(error = %e, "retention: the rewrite task failed"),
                    }
                }
                Ok::<_, crate::store::StoreError>((swept, changed, rewrote))
            }
            .await;
            let swept = swept.map(|(s, changed, rewrote)| {
                pending = (pending || changed) && !rewrote;
                if rewrote {
                    last_rewrite = Some(std::time::Instant::now());
                }
                s
            });
            match swept {
                Ok(s) if s.deleted + s.anonymized > 0 => tracing::info!(
                    deleted = s.deleted,
                    anonymized = s.anonymized,
                    mail = s.mail,
                    "retention sweep"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "retention sweep failed; will retry"),
            }
        }
    });
}

/// Reloads the knowledge folder on SIGHUP.
fn spawn_sighup_reload(state: &AppState) {
    #[cfg(unix)]
    {
        let reloader = state.reloader.clone();
        let token = state.shutdown.clone();
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(mut hup) => {
                // Ends with the shutdown token.
                tokio::spawn(async move {
                    loop {
                        tokio::select! {
                            _ = token.cancelled() => break,
                            got = hup.recv() => {
                                if got.is_none() { break; }
                                tracing::info!("SIGHUP: reloading knowledge");
                                reloader.reload().await;
                            }
                        }
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "cannot listen for SIGHUP"),
        }
    }
}

/// All routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(pages::router())
        .merge(transcript::router())
        .merge(embed::router())
        .merge(ws_user::router())
        .merge(login::router())
        .merge(tickets::router())
        .merge(ws_agent::router())
        .merge(admin::router())
        .fallback(pages::not_found)
        .method_not_allowed_fallback(pages::method_not_allowed)
        .with_state(state)
}

/// `secobot serve`: build, print the URL, serve until a signal.
///
/// # Errors
/// Start-up failures, with context.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let app = Application::build(&args).await?;
    let addr = app.addr();
    {
        use std::io::Write;
        let served = app.served();
        let mut out = std::io::stdout().lock();
        writeln!(out, "datos: {}", served.data.display())?;
        if let Some(socket) = &served.admin_socket {
            writeln!(out, "administración local: {}", socket.display())?;
        }
        writeln!(out, "conocimiento: {}", served.knowledge)?;
        writeln!(out, "plantillas: {}", served.templates)?;
        writeln!(out, "secobot escuchando en http://{addr}")?;
        out.flush()?;
    }
    tracing::info!(%addr, "listening");
    app.run_until_stopped(crate::shutdown::signal()).await
}
