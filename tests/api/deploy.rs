//! The deployment of docs/deploy.md, for real: nginx with the documented
//! configuration (docs/nginx/secobot.conf) in front of two instances on one
//! PostgreSQL database. WebSockets pass through it, any instance serves any
//! conversation, and when one instance dies the user resumes through nginx.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::helpers::*;
use crate::postgres_support::Postgres;

/// nginx run in the foreground with its own prefix; stopped when dropped.
struct Nginx {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    /// SIGTERM to the master, which stops its workers (a SIGKILL would leave
    /// them running, holding the port); SIGKILL only if it does not exit.
    fn drop(&mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: signalling our own child process has no memory effects.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx_binary() -> String {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("nginx is missing (scripts/test.sh installs nginx-light)")
        .to_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts nginx with docs/nginx/secobot.conf, its two example instances
/// replaced by `upstreams`.
fn start_nginx(upstreams: [&str; 2]) -> Nginx {
    let documented =
        std::fs::read_to_string(manifest_dir().join("docs/nginx/secobot.conf")).unwrap();
    let port = free_port();
    let mut conf = documented.clone();
    for (example, real) in [
        ("10.0.0.11:8080", upstreams[0]),
        ("10.0.0.12:8080", upstreams[1]),
        ("listen 80;", &format!("listen 127.0.0.1:{port};")),
    ] {
        assert!(
            conf.contains(example),
            "docs/nginx/secobot.conf no longer has {example:?}: update this test with it"
        );
        conf = conf.replace(example, real);
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    std::fs::write(dir.path().join("secobot.conf"), conf).unwrap();
    std::fs::write(
        dir.path().join("nginx.conf"),
        format!(
            "pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n\
             access_log off;\nclient_body_temp_path {d}/body;\nproxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\nuwsgi_temp_path {d}/uwsgi;\nscgi_temp_path {d}/scgi;\n\
             include {d}/secobot.conf;\n}}\n"
        ),
    )
    .unwrap();
    let child = Command::new(nginx_binary())
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(dir.path().join("nginx.conf"))
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("failed to start nginx");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "nginx did not listen on {port} within 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Nginx {
        child,
        port,
        _dir: dir,
    }
}

#[tokio::test]
async fn the_documented_nginx_config_serves_two_instances_and_survives_one() {
    let pg = Postgres::start();
    let url = pg.url().to_owned();
    let instance = || {
        TestServer::start(Opts {
            args: vec![
                "--database".into(),
                url.clone(),
                "--trusted-proxy".into(),
                "127.0.0.1".into(),
            ],
            ..Opts::default()
        })
    };
    let mut a = instance();
    let b = instance();
    let host = |s: &TestServer| s.http_url.trim_start_matches("http://").to_owned();
    let nginx = start_nginx([&host(&a), &host(&b)]);
    let front = format!("http://127.0.0.1:{}", nginx.port);
    eventually(
        Duration::from_secs(10),
        "nginx answers /healthz",
        || async {
            let r = http_get(&front, "/healthz").await;
            if r.status == 200 && r.json()["storage"]["backend"] == "postgresql" {
                Ok(())
            } else {
                Err(format!("{} {}", r.status, r.body))
            }
        },
    )
    .await;

    // A conversation through nginx, over several connections: whichever
    // instance each lands on, it is the same conversation.
    let ws_url = format!("ws://127.0.0.1:{}/ws", nginx.port);
    let mut user = WsClient::connect(&ws_url).await;
    user.hello(None, None).await;
    let session = user.session.clone().unwrap();
    let frames = user.say("¿Cómo cambio mi contraseña?").await;
    assert!(!bot_replies(&frames).is_empty(), "{}", pretty(&frames));
    for _ in 0..3 {
        let seen = user.max_seq();
        drop(user);
        user = WsClient::connect(&ws_url).await;
        let welcome = user.hello(Some(&session), Some(seen)).await;
        assert_eq!(welcome["session"], session.as_str(), "{welcome}");
        let frames = user.say("Gracias, ¿y si no me llega el correo?").await;
        assert!(!bot_replies(&frames).is_empty(), "{}", pretty(&frames));
    }

    // One instance dies: nginx sends the next handshake to the other, and
    // the conversation resumes from the database with nothing missing.
    let seen = user.max_seq();
    drop(user);
    a.kill9();
    let mut back = WsClient::connect(&ws_url).await;
    let welcome = back.hello(Some(&session), Some(seen)).await;
    assert_eq!(welcome["session"], session.as_str(), "{welcome}");
    let frames = back.say("Sigo aquí").await;
    let seqs: Vec<u64> = replies(&frames)
        .iter()
        .filter_map(|r| r["seq"].as_u64())
        .collect();
    assert_eq!(
        seqs.first(),
        Some(&(seen + 2)),
        "after {seen} (and the question, not echoed to its own tab, at {}) comes the answer: {}",
        seen + 1,
        pretty(&frames)
    );
    let healthy = http_get(&front, "/healthz").await;
    assert_eq!(healthy.status, 200, "{}", healthy.body);
    drop(b);
    drop(nginx);
}
