//! The local admin channel: a Unix socket `admin.sock` in the data folder,
//! mode 0600, through which `secobot agent …` and `secobot backup` reach the
//! running server (sled lets one process open a folder, so the running server
//! must make the change itself).
//!
//! Why a Unix socket: it needs no password or port, only the operator's own
//! user can open it (file mode 0600, and the server also checks the peer's uid
//! with SO_PEERCRED), and it lives beside the data it guards. One JSON request
//! line in, one JSON [`Outcome`] line out.
//!
//! The command line uses [`call`]: when nothing listens on the socket (no
//! server, or a stale file after a crash) it returns `None` and the command
//! opens the data folder itself.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use super::Admin;
use crate::agents::Agents;
use crate::shutdown::CancellationToken;
use crate::store::{Store, Subject};

/// The socket's file name inside the data folder.
pub const SOCKET: &str = "admin.sock";

/// Largest request accepted, in bytes.
const MAX_REQUEST: u64 = 64 * 1024;

/// What the command line asks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    AgentAdd {
        name: String,
        display_name: String,
        role: String,
        password: String,
    },
    AgentList,
    AgentRemove {
        name: String,
    },
    AgentDisable {
        name: String,
    },
    AgentEnable {
        name: String,
    },
    AgentUnlock {
        name: String,
    },
    AgentPassword {
        name: String,
    },
    Audit {
        limit: usize,
    },
    Backup {
        /// Absolute: the server's working directory is not the caller's.
        out: PathBuf,
    },
    /// Everything held about a person, as JSON (habeas data).
    DataExport {
        subject: Subject,
    },
    /// Erases everything held about a person (habeas data).
    DataDelete {
        subject: Subject,
    },
}

/// What the command prints and its exit code, the same whether the server or
/// the command itself did the work.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    fn ok(stdout: String) -> Self {
        Outcome {
            code: 0,
            stdout,
            stderr: String::new(),
        }
    }

    fn fail(stderr: String) -> Self {
        Outcome {
            code: 1,
            stdout: String::new(),
            stderr,
        }
    }
}

/// Runs a request against `store` (and the live agents, inside the server).
pub async fn handle(
    store: &Store,
    live: Option<&Arc<Agents>>,
    actor: &str,
    request: Request,
) -> Outcome {
    let admin = Admin::new(store, live, actor);
    let result = match request {
        Request::AgentAdd {
            name,
            display_name,
            role,
            password,
        } => admin
            .add(&name, &display_name, &role, Some(password), true)
            .await
            .map(|(a, _)| format!("cuenta {} ({}) lista\n", a.name, a.role.as_str())),
        Request::AgentList => admin.list().await.map(|all| {
            all.iter()
                .map(|a| {
                    format!(
                        "{}\t{}\t{}{}\n",
                        a.name,
                        a.role,
                        a.display_name,
                        if a.disabled { "\tdeshabilitada" } else { "" }
                    )
                })
                .collect()
        }),
        Request::AgentRemove { name } => admin
            .remove(&name)
            .await
            .map(|()| format!("cuenta {name} eliminada\n")),
        Request::AgentDisable { name } => admin
            .set_enabled(&name, false)
            .await
            .map(|_| format!("cuenta {name} deshabilitada; sus sesiones se cerraron\n")),
        Request::AgentEnable { name } => admin
            .set_enabled(&name, true)
            .await
            .map(|_| format!("cuenta {name} habilitada\n")),
        Request::AgentUnlock { name } => {
            let live_note = if live.is_some() {
                ""
            } else {
                " (el servidor no está en marcha: no había bloqueos)"
            };
            admin
                .unlock(&name)
                .await
                .map(|()| format!("usuario {name} desbloqueado{live_note}\n"))
        }
        Request::AgentPassword { name } => admin
            .reset_password(&name)
            .await
            .map(|p| format!("nueva contraseña de {name} (se muestra una sola vez): {p}\n")),
        Request::Audit { limit } => store
            .audit_log(limit)
            .await
            .map(|log| {
                log.iter()
                    .map(|e| {
                        format!(
                            "{}\t{}\t{}\t{}\n",
                            crate::local_time::date_time(e.at),
                            e.actor,
                            e.target,
                            e.detail
                        )
                    })
                    .collect()
            })
            .map_err(super::AdminError::from),
        Request::DataExport { subject } => {
            return super::personal_data::export(store, actor, &subject).await
        }
        Request::DataDelete { subject } => {
            return super::personal_data::delete(store, live, actor, &subject).await
        }
        Request::Backup { out } => {
            let Some(store) = store.sled().cloned() else {
                return Outcome::fail(format!(
                    "error: {}\n",
                    crate::store::StoreError::SledOnly("backup")
                ));
            };
            let target = out.clone();
            return match tokio::task::spawn_blocking(move || store.backup(&target)).await {
                Ok(Ok(info)) => Outcome::ok(format!("{}: {info}\n", out.display())),
                Ok(Err(e)) => Outcome::fail(format!("error: {e}\n")),
                Err(e) => Outcome::fail(format!("error: {e}\n")),
            };
        }
    };
    match result {
        Ok(text) => Outcome::ok(text),
        Err(e) => Outcome::fail(format!("error: {e}\n")),
    }
}

/// The socket of the server using `data`.
pub fn socket_path(data: &Path) -> PathBuf {
    data.join(SOCKET)
}

/// Listens on `data/admin.sock` until `shutdown`, then removes the file.
///
/// # Errors
/// When the socket cannot be created (e.g. a path longer than the OS allows).
pub fn serve(
    data: &Path,
    store: Store,
    agents: Arc<Agents>,
    shutdown: CancellationToken,
) -> std::io::Result<PathBuf> {
    let path = socket_path(data);
    // This process holds the data folder's lock, so a socket file left here
    // belongs to a server that is gone.
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = UnixListener::bind(&path)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    let cleanup = path.clone();
    // Ends with the shutdown token.
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                a = listener.accept() => a,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "admin channel accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let (store, agents) = (store.clone(), agents.clone());
            // One short request per connection; ends when it is answered.
            tokio::spawn(async move {
                if let Err(e) = answer(stream, &store, &agents).await {
                    tracing::warn!(error = %e, "admin channel request failed");
                }
            });
        }
        let _ = std::fs::remove_file(&cleanup);
    });
    Ok(path)
}

async fn answer(stream: UnixStream, store: &Store, agents: &Arc<Agents>) -> std::io::Result<()> {
    let peer = stream.peer_cred()?;
    // SAFETY: geteuid has no preconditions and no memory effects.
    let me = unsafe { libc::geteuid() };
    let (read, mut write) = stream.into_split();
    if peer.uid() != me && peer.uid() != 0 {
        let refused = Outcome::fail(format!(
            "error: solo el usuario que ejecuta el servidor (uid {me}) puede administrarlo\n"
        ));
        return send(&mut write, &refused).await;
    }
    let mut line = String::new();
    BufReader::new(read.take(MAX_REQUEST))
        .read_line(&mut line)
        .await?;
    let outcome = match serde_json::from_str::<Envelope>(&line) {
        Ok(envelope) => {
            let actor = format!(
                "línea de comandos: {} (uid {})",
                envelope.user.chars().take(32).collect::<String>(),
                peer.uid()
            );
            handle(store, Some(agents), &actor, envelope.request).await
        }
        Err(e) => Outcome::fail(format!("error: petición inválida: {e}\n")),
    };
    send(&mut write, &outcome).await
}

async fn send(
    write: &mut tokio::net::unix::OwnedWriteHalf,
    outcome: &Outcome,
) -> std::io::Result<()> {
    let mut text = serde_json::to_string(outcome).map_err(std::io::Error::other)?;
    text.push('\n');
    write.write_all(text.as_bytes()).await?;
    write.shutdown().await
}

/// A request and who sends it (the operator's login name, for the audit log;
/// the uid comes from the kernel).
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    user: String,
    request: Request,
}

/// The operator's login name, as the shell knows it.
pub fn operator() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "operador".to_owned())
}

/// Sends `request` to the server using `data`. `None` when no server listens
/// there (then the caller works on the folder directly).
///
/// # Errors
/// When a server listens but the exchange fails.
pub async fn call(data: &Path, request: &Request) -> std::io::Result<Option<Outcome>> {
    let stream = match UnixStream::connect(socket_path(data)).await {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    let (read, mut write) = stream.into_split();
    let mut text = serde_json::to_string(&Envelope {
        user: operator(),
        request: request.clone(),
    })
    .map_err(std::io::Error::other)?;
    text.push('\n');
    write.write_all(text.as_bytes()).await?;
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    serde_json::from_str(&line)
        .map(Some)
        .map_err(std::io::Error::other)
}
