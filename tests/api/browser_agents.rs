//! The agent console and the user widget side by side in one headless Chromium
//! (two windows of one chromedriver session).

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::wd::WindowHandle;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::helpers::*;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const XSS: &str = "<img src=x onerror=alert(1)>";

/// chromedriver and one browser session; both go away on drop.
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
                "{path} is missing: the browser tests need Debian's {pkg} \
                 (`apt-get install -y chromium chromium-driver`, or scripts/test.sh)."
            );
        }
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("failed to start chromedriver");
        let mut browser = Browser {
            client: None,
            driver,
            _profile: tempfile::tempdir().unwrap(),
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
                    "--disable-background-timer-throttling",
                    "--disable-backgrounding-occluded-windows",
                    "--disable-renderer-backgrounding",
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
                let page = self
                    .js("return document.body ? document.body.innerText : '';")
                    .await;
                panic!(
                    "{what}: not within {limit:?}.\npage text:\n{}",
                    page.as_str().unwrap_or("")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn switch(&self, window: &WindowHandle) {
        self.c()
            .switch_to_window(window.clone())
            .await
            .expect("switch_to_window");
    }

    async fn click(&self, css: &str) {
        self.c()
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("could not click {css}: {e}"));
    }

    async fn type_into(&self, css: &str, text: &str) {
        let field = self
            .c()
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"));
        field.clear().await.ok();
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("could not type into {css}: {e}"));
    }

    async fn close(mut self) {
        if let Some(c) = self.client.take() {
            let _ = c.close().await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--"])
            .arg(format!("-{}", self.driver.id()))
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// In the widget: asks for a person and completes crear-caso by typing and
/// clicking; returns the ticket id shown.
async fn widget_opens_a_case(b: &Browser) -> String {
    b.wait_js(
        "the widget says Conectado",
        "(document.querySelector('#chat-status')||{}).textContent === 'Conectado' && document.querySelectorAll('#chat-log .msg').length > 0 && !document.querySelector('#chat-escalate').disabled",
        Duration::from_secs(10),
    )
    .await;
    let count_bot = "document.querySelectorAll('#chat-log .msg-bot').length";
    let mut count = b
        .js(&format!("return {count_bot};"))
        .await
        .as_u64()
        .unwrap();
    b.click("#chat-escalate").await;
    for _ in 0..20 {
        b.wait_js(
            "the bot's next message",
            &format!("{count_bot} > {count}"),
            Duration::from_secs(10),
        )
        .await;
        // Let the rest of the turn render.
        tokio::time::sleep(Duration::from_millis(250)).await;
        let state = b
            .js(
                "const ms = document.querySelectorAll('#chat-log .msg-bot');
                 const last = ms[ms.length - 1];
                 const t = document.querySelector('#chat-log .kind-ticket .msg-ticket');
                 const bs = Array.from(last.querySelectorAll('.reply-buttons button:not([disabled])')).map(b => b.textContent.trim());
                 return { n: ms.length, text: last.textContent, buttons: bs,
                          mode: document.querySelector('#chat-input').dataset.mode || '',
                          ticket: t ? t.textContent : null };",
            )
            .await;
        count = state["n"].as_u64().unwrap();
        if let Some(t) = state["ticket"].as_str() {
            let at = t
                .find("SB-")
                .unwrap_or_else(|| panic!("no SB- id in {t:?}"));
            return t[at..at + 9].to_owned();
        }
        let text = state["text"].as_str().unwrap_or("").to_owned();
        let buttons: Vec<String> = state["buttons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        if !buttons.is_empty() {
            let label = buttons
                .iter()
                .find(|l| l.starts_with("Confirmar"))
                .unwrap_or(&buttons[0])
                .clone();
            let clicked = b
                .js(&format!(
                    "const ms = document.querySelectorAll('#chat-log .msg-bot');
                     const b = Array.from(ms[ms.length - 1].querySelectorAll('.reply-buttons button:not([disabled])'))
                       .find(b => b.textContent.trim() === {});
                     if (!b) return false; b.click(); return true;",
                    json!(label)
                ))
                .await;
            assert_eq!(clicked, json!(true), "could not click «{label}»");
            continue;
        }
        let answer = match state["mode"].as_str().unwrap_or("") {
            "email" => "ana.perez@example.com",
            "phone" => "3001234567",
            "document" => "1020304050",
            _ if text.contains("nombre completo") => "Ana María Pérez Gómez",
            _ if text.contains("Entidad Estatal o Proveedor") => "Alcaldía de Villa de Leyva",
            _ if text.to_lowercase().contains("describa el problema") => {
                "No puedo publicar el pliego: sale un error al firmar."
            }
            _ => panic!("unexpected step without buttons:\n{text}"),
        };
        b.type_into("#chat-input", answer).await;
        b.wait_js(
            "#chat-send enabled",
            "!document.querySelector('#chat-send').disabled",
            Duration::from_secs(5),
        )
        .await;
        b.click("#chat-send").await;
    }
    panic!("crear-caso did not end in the widget within 20 steps");
}

#[tokio::test]
async fn console_sees_the_queue_live_claims_and_talks_safely() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let b = Browser::start().await;
    let user_win = b.c().window().await.unwrap();
    let agent_win = b.c().new_window(false).await.unwrap().handle;

    // Page B: the agent logs in first.
    b.switch(&agent_win).await;
    b.c()
        .goto(&format!("{}/agent", server.http_url))
        .await
        .unwrap();
    b.type_into("#login-username", "ana").await;
    b.type_into("#login-password", &password_for("ana")).await;
    b.click("#login-submit").await;
    b.wait_js(
        "the console connects after login",
        "(document.querySelector('#console-status')||{}).getAttribute && document.querySelector('#console-status').getAttribute('data-state') === 'online'",
        Duration::from_secs(15),
    )
    .await;

    // Page A: the user opens a case through the widget.
    b.switch(&user_win).await;
    b.c().goto(&format!("{}/", server.http_url)).await.unwrap();
    let id = widget_opens_a_case(&b).await;
    assert!(
        id.starts_with("SB-") && id[3..].chars().all(|c| c.is_ascii_digit()),
        "{id}"
    );

    // Page B: the case appears without a reload; take it and write.
    b.switch(&agent_win).await;
    let item = format!("#queue .queue-item[data-ticket=\"{id}\"]");
    b.wait_js(
        "the new case appears in the queue without a reload",
        &format!("document.querySelector('{item}') && document.querySelector('{item}').textContent.includes('{id}')"),
        Duration::from_secs(10),
    )
    .await;
    b.wait_js(
        "the claim button is enabled",
        &format!("document.querySelector('{item} button.claim') && !document.querySelector('{item} button.claim').disabled"),
        Duration::from_secs(5),
    )
    .await;
    b.click(&format!("{item} button.claim")).await;
    b.wait_js(
        "the conversation panel opens",
        "document.querySelector('.conversation textarea.agent-input')",
        Duration::from_secs(10),
    )
    .await;
    let greeting = "Hola, soy Ana del equipo de soporte.";
    b.type_into(".conversation textarea.agent-input", greeting)
        .await;
    b.click(".conversation button.agent-send").await;

    // Page A: the agent's words.
    b.switch(&user_win).await;
    b.wait_js(
        "the agent's message in the widget",
        &format!(
            "Array.from(document.querySelectorAll('#chat-log .msg-agent')).some(m => m.textContent.includes({}))",
            json!(greeting)
        ),
        Duration::from_secs(10),
    )
    .await;
    b.type_into("#chat-input", XSS).await;
    b.wait_js(
        "#chat-send enabled",
        "!document.querySelector('#chat-send').disabled",
        Duration::from_secs(5),
    )
    .await;
    b.click("#chat-send").await;
    b.wait_js(
        "the user's markup shown as text in the widget",
        &format!(
            "Array.from(document.querySelectorAll('#chat-log .msg-user')).some(m => m.textContent.includes({}))",
            json!(XSS)
        ),
        Duration::from_secs(10),
    )
    .await;

    // Page B: it arrives as text.
    b.switch(&agent_win).await;
    b.wait_js(
        "the user's markup as literal text in the transcript",
        &format!(
            "Array.from(document.querySelectorAll('.transcript .msg-text')).some(m => m.textContent === {})",
            json!(XSS)
        ),
        Duration::from_secs(10),
    )
    .await;
    // Give a broken page a moment to load the image and fire onerror.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let imgs = b
        .js("return document.querySelectorAll('.transcript img').length;")
        .await;
    assert_eq!(imgs, json!(0), "an <img> was created in the transcript");
    let alert = b.c().get_alert_text().await;
    assert!(
        alert.is_err(),
        "an alert is open in the console: {:?}",
        alert.ok()
    );
    b.switch(&user_win).await;
    let alert = b.c().get_alert_text().await;
    assert!(
        alert.is_err(),
        "an alert is open in the widget: {:?}",
        alert.ok()
    );
    let imgs = b
        .js("return document.querySelectorAll('#chat-log .msg-user img').length;")
        .await;
    assert_eq!(imgs, json!(0), "an <img> was created in the widget");
    b.close().await;
}
