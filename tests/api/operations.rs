//! Running it for real: the binary alone in an empty folder (embedded templates
//! and knowledge), `init`, and backups taken while the server runs.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::helpers::*;

/// A `secobot serve` started by hand (own binary path, own working directory).
pub struct Bare {
    child: Child,
    pub http_url: String,
    pub ws_url: String,
    /// What it printed before its URL.
    pub banner: Vec<String>,
}

impl Bare {
    pub fn start(binary: &Path, cwd: &Path, args: &[&str]) -> Bare {
        let mut child = Command::new(binary)
            .arg("serve")
            .arg("--addr")
            .arg("127.0.0.1:0")
            .args(args)
            .current_dir(cwd)
            .env("RUST_LOG", "warn")
            .env_remove("SECOBOT_KNOWLEDGE")
            .env_remove("SECOBOT_TEMPLATES")
            .env_remove("SECOBOT_DATA")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("failed to spawn secobot");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut banner = Vec::new();
        let url = loop {
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    if let Some(at) = line.find("http://") {
                        break line[at..].trim().to_owned();
                    }
                    banner.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    let out = child.wait_with_output().unwrap();
                    panic!(
                        "no URL within 30 s; printed {banner:?}; stderr:\n{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            }
        };
        Bare {
            child,
            ws_url: format!("{}/ws", url.replacen("http://", "ws://", 1)),
            http_url: url,
            banner,
        }
    }

    pub fn terminate(mut self) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: signalling our own child.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

impl Drop for Bare {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn secobot_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "warn")
        .env_remove("SECOBOT_KNOWLEDGE")
        .env_remove("SECOBOT_TEMPLATES")
        .output()
        .expect("failed to run secobot")
}

pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The built binary copied alone into an empty folder.
fn lone_binary() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("secobot");
    std::fs::copy(bin(), &copy).unwrap();
    (dir, copy)
}

#[tokio::test]
async fn binary_alone_in_an_empty_folder_serves_embedded_templates_and_knowledge() {
    let (dir, binary) = lone_binary();
    let server = Bare::start(&binary, dir.path(), &[]);
    let banner = server.banner.join("\n");
    assert!(
        banner.contains(&format!("datos: {}", dir.path().join("data").display())),
        "{banner}"
    );
    assert!(banner.contains("conocimiento incorporado"), "{banner}");
    assert!(banner.contains("plantillas incorporadas"), "{banner}");

    let page = http_get(&server.http_url, "/").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("widget.js"), "{}", page.body);
    let kb = http_get(&server.http_url, "/kb").await;
    assert_eq!(kb.status, 200, "{}", kb.body);
    let script = http_get(&server.http_url, "/assets/widget.js").await;
    assert_eq!(script.status, 200);
    let console = http_get(&server.http_url, "/agent").await;
    assert_eq!(console.status, 200, "{}", console.body);
    assert!(console.body.contains("login-username"), "{}", console.body);
    let admin_js = http_get(&server.http_url, "/assets/admin.js").await;
    assert_eq!(admin_js.status, 200);

    let mut ws = WsClient::connect(&server.ws_url).await;
    ws.hello(None, None).await;
    let frames = ws.say("olvidé mi contraseña de SECOP II").await;
    let reply = replies(&frames)
        .into_iter()
        .find(|r| r["from"] == "bot")
        .cloned()
        .unwrap_or_default();
    assert_eq!(reply["kind"], "answer", "{frames:?}");
    let url = reply["sources"][0]["url"].as_str().unwrap_or_default();
    assert!(url.starts_with("/kb/"), "{reply}");
    let entry = http_get(&server.http_url, url).await;
    assert_eq!(entry.status, 200);
    ws.close().await;
    server.terminate();
    assert!(dir.path().join("data").is_dir(), "data under the cwd");
}

#[test]
fn init_writes_a_folder_that_check_accepts_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("despliegue");
    let out = secobot_in(
        dir.path(),
        &["init", "--templates", target.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(target.join("knowledge/synonyms.txt").is_file());
    assert!(target.join("templates/widget.hbs").is_file());
    assert!(target.join("templates/assets/widget.js").is_file());

    // `check` from inside the new folder picks up ./knowledge and says so.
    let check = secobot_in(&target, &["check"]);
    assert_eq!(check.status.code(), Some(0), "{}", describe(&check));
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(said.starts_with("knowledge: "), "{said}");

    // A second init refuses, in Spanish, naming a file, and changes nothing.
    let edited = target.join("knowledge/synonyms.txt");
    std::fs::write(&edited, "editado\n").unwrap();
    let again = secobot_in(dir.path(), &["init", target.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1), "{}", describe(&again));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("ya existe") && err.contains("knowledge"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&edited).unwrap(), "editado\n");
}

#[test]
fn check_without_a_folder_checks_the_embedded_copy_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = secobot_in(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with("conocimiento incorporado"), "{said}");
}

/// The texts of a `welcome`'s history.
fn history_texts(welcome: &serde_json::Value) -> Vec<String> {
    welcome["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .filter_map(|m| m["text"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn backup_of_a_running_server_restores_a_conversation_that_replays() {
    let mut server = TestServer::default_start();
    let (mut ws, welcome) = server.fresh().await;
    let session = welcome["session"].as_str().unwrap().to_owned();
    ws.say("olvidé mi contraseña de SECOP II").await;
    ws.say("¿cómo me registro como proveedor?").await;

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("copia-1");
    let data = server.data_dir.to_str().unwrap().to_owned();
    let backup = run_cli(&["backup", "--data", &data, out.to_str().unwrap()], "");
    assert_eq!(backup.status.code(), Some(0), "{}", describe(&backup));
    let said = String::from_utf8_lossy(&backup.stdout);
    assert!(said.contains("conversations:"), "{said}");

    // Written after the copy: not in it (a point in time).
    ws.say("mensaje-despues-de-la-copia").await;
    ws.close().await;

    // Never over an existing backup.
    let again = run_cli(&["backup", "--data", &data, out.to_str().unwrap()], "");
    assert_eq!(again.status.code(), Some(1), "{}", describe(&again));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("no está vacía"),
        "{}",
        describe(&again)
    );

    let restored = tmp.path().join("restaurado");
    let r = run_cli(
        &[
            "restore",
            out.to_str().unwrap(),
            "--data",
            restored.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(r.status.code(), Some(0), "{}", describe(&r));
    assert!(
        String::from_utf8_lossy(&r.stdout).contains("conversations:"),
        "{}",
        describe(&r)
    );
    // Never into a folder in use.
    let r = run_cli(&["restore", out.to_str().unwrap(), "--data", &data], "");
    assert_eq!(r.status.code(), Some(1), "{}", describe(&r));

    // A server on the restored folder replays the conversation.
    server.terminate();
    let copy = TestServer::start(Opts {
        data_dir: Some(restored),
        ..Opts::default()
    });
    let mut ws = copy.connect().await;
    let welcome = ws.hello(Some(&session), None).await;
    let texts = history_texts(&welcome);
    assert!(
        texts
            .iter()
            .any(|t| t == "olvidé mi contraseña de SECOP II"),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t == "¿cómo me registro como proveedor?"),
        "{texts:?}"
    );
    assert!(
        !texts.iter().any(|t| t == "mensaje-despues-de-la-copia"),
        "{texts:?}"
    );
    ws.close().await;

    // With the server stopped, the command line copies the folder itself.
    let out2 = tmp.path().join("copia-2");
    let b = run_cli(&["backup", "--data", &data, out2.to_str().unwrap()], "");
    assert_eq!(b.status.code(), Some(0), "{}", describe(&b));
}

#[test]
fn restore_refuses_what_is_not_a_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let junk = tmp.path().join("basura");
    std::fs::create_dir_all(&junk).unwrap();
    std::fs::write(junk.join("conf"), "no soy sled").unwrap();
    let target = tmp.path().join("datos");
    let r = run_cli(
        &[
            "restore",
            junk.to_str().unwrap(),
            "--data",
            target.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(r.status.code(), Some(1), "{}", describe(&r));
    assert!(!target.exists(), "nothing restored");
}
