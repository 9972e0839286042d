//! The chat widget in a real headless Chromium, driven through chromedriver.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::helpers::*;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver and a browser session; both go away on drop.
struct Browser {
    client: Option<Client>,
    driver: Child,
    _profile: TempDir,
}

impl Browser {
    async fn start() -> Browser {
        for (path, pkg) in [(CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: the browser tests need Debian's {pkg}. \
                 Run scripts/test.sh (it installs chromium and chromium-driver), \
                 or `apt-get install -y chromium chromium-driver`."
            );
        }
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        // Its own process group, so that Chromium goes away with it even when a
        // test panics before closing the session.
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("failed to start chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let mut browser = Browser {
            client: None,
            driver,
            _profile: profile,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "chromedriver did not listen on port {port} within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-breakpad",
                    "--disable-crash-reporter",
                    "--window-size=1024,900",
                    format!("--user-data-dir={}", browser._profile.path().display()),
                ]
            }),
        );
        let client = tokio::time::timeout(
            Duration::from_secs(60),
            ClientBuilder::rustls()
                .expect("rustls client")
                .capabilities(caps)
                .connect(&format!("http://127.0.0.1:{port}")),
        )
        .await
        .expect("timed out starting a Chromium session")
        .expect("could not start a Chromium session through chromedriver");
        browser.client = Some(client);
        browser
    }

    fn c(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    async fn js(&self, script: &str) -> Value {
        self.c()
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed ({e}): {script}"))
    }

    /// Polls a JS expression until it is truthy; returns its value.
    async fn wait_js(&self, what: &str, expr: &str, limit: Duration) -> Value {
        let script = format!("return ({expr});");
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let v = self.js(&script).await;
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return v;
            }
            if tokio::time::Instant::now() >= deadline {
                let log = self
                    .js("return document.querySelector('#chat-log') ? document.querySelector('#chat-log').innerText : document.body.innerText;")
                    .await;
                let status = self
                    .js("return (document.querySelector('#chat-status')||{}).textContent || null;")
                    .await;
                panic!(
                    "{what}: not within {limit:?}.\nstatus: {status}\nchat log:\n{}",
                    log.as_str().unwrap_or("")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_connected(&self) {
        self.wait_js(
            "the widget says Conectado",
            "(document.querySelector('#chat-status')||{}).textContent === 'Conectado' && document.querySelectorAll('#chat-log .msg').length > 0",
            Duration::from_secs(10),
        )
        .await;
    }

    async fn close(mut self) {
        if let Some(c) = self.client.take() {
            let _ = c.close().await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole group: chromedriver and the browser it started.
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--"])
            .arg(format!("-{}", self.driver.id()))
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

const SOURCE_SELECTOR: &str = ".msg-bot a.source[href$='/kb/olvide-mi-contrasena']";

#[tokio::test]
async fn widget_answers_with_a_source_and_replays_after_reload() {
    let server = TestServer::default_start();
    let browser = Browser::start().await;
    browser
        .c()
        .goto(&format!("{}/", server.http_url))
        .await
        .unwrap();
    browser.wait_connected().await;

    let live = browser
        .js("const l = document.querySelector('#chat-log'); return l && l.getAttribute('aria-live');")
        .await;
    assert!(
        matches!(live.as_str(), Some("polite") | Some("assertive")),
        "#chat-log should have aria-live: {live}"
    );

    let question = "olvidé mi contraseña";
    let input = browser.c().find(Locator::Css("#chat-input")).await.unwrap();
    input.send_keys(question).await.unwrap();
    browser
        .c()
        .find(Locator::Css("#chat-send"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_js(
            "a bot message citing /kb/olvide-mi-contrasena",
            &format!("document.querySelector(\"{SOURCE_SELECTOR}\")"),
            Duration::from_secs(10),
        )
        .await;
    let user_text = format!(
        "Array.from(document.querySelectorAll('#chat-log .msg-user')).some(m => m.textContent.includes({}))",
        json!(question)
    );
    assert_eq!(
        browser.js(&format!("return {user_text};")).await,
        json!(true),
        "the user's message is not shown"
    );

    browser.c().refresh().await.unwrap();
    browser.wait_connected().await;
    browser
        .wait_js(
            "after reload, the question and its cited answer are replayed",
            &format!("({user_text}) && document.querySelector(\"{SOURCE_SELECTOR}\")"),
            Duration::from_secs(10),
        )
        .await;
    browser.close().await;
}

#[tokio::test]
async fn widget_walks_the_unsolicited_email_flow_to_its_end() {
    let server = TestServer::default_start();
    let browser = Browser::start().await;
    browser
        .c()
        .goto(&format!("{}/", server.http_url))
        .await
        .unwrap();
    browser.wait_connected().await;

    let mut count = browser
        .js("return document.querySelectorAll('#chat-log .msg-bot').length;")
        .await
        .as_u64()
        .unwrap();
    // The greeting's topic button.
    let clicked = browser
        .js(
            "const b = Array.from(document.querySelectorAll('#chat-log .reply-buttons button:not([disabled])'))
               .find(b => b.textContent.trim() === 'Recibí un correo que no pedí');
             if (!b) return false; b.click(); return true;",
        )
        .await;
    assert_eq!(
        clicked,
        json!(true),
        "no greeting button «Recibí un correo que no pedí»"
    );

    let mut transcript = Vec::new();
    let mut ended = false;
    for _ in 0..=12 {
        // Wait for the bot's next message.
        browser
            .wait_js(
                "the bot's next message",
                &format!("document.querySelectorAll('#chat-log .msg-bot').length > {count}"),
                Duration::from_secs(10),
            )
            .await;
        // Let the rest of the turn render.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let state = browser
            .js(
                "const ms = document.querySelectorAll('#chat-log .msg-bot');
                 const last = ms[ms.length - 1];
                 const b = last.querySelector('.reply-buttons button:not([disabled])');
                 return { n: ms.length, text: last.textContent, button: b ? b.textContent.trim() : null };",
            )
            .await;
        count = state["n"].as_u64().unwrap();
        transcript.push(state["text"].as_str().unwrap_or("").to_owned());
        let Some(label) = state["button"].as_str() else {
            ended = true;
            break;
        };
        let clicked = browser
            .js("const ms = document.querySelectorAll('#chat-log .msg-bot');
                 const b = ms[ms.length - 1].querySelector('.reply-buttons button:not([disabled])');
                 if (!b) return false; b.click(); return true;")
            .await;
        assert_eq!(clicked, json!(true), "could not click «{label}»");
    }
    assert!(
        ended,
        "the flow did not end within 12 clicks:\n{}",
        transcript.join("\n---\n")
    );
    let all = transcript.join("\n");
    // From correo-no-solicitado.yaml, step no-completo: the password did not change,
    // and the e-mails can be ignored.
    assert!(
        all.contains("sigue siendo la misma") && all.contains("caso omiso"),
        "the flow never said the password is unchanged / the e-mails can be ignored:\n{}",
        transcript.join("\n---\n")
    );
    // Nothing is left to click.
    let enabled = browser
        .js("return document.querySelectorAll('#chat-log .reply-buttons button:not([disabled])').length;")
        .await;
    assert_eq!(enabled, json!(0), "buttons still enabled after the end");
    browser.close().await;
}
