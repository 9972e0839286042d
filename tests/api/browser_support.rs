//! A real headless Chromium for the browser tests, driven through chromedriver:
//! each `Browser` starts its own chromedriver (in its own process group, on a
//! free port) and one session; both go away on drop.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::wd::WindowHandle;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tempfile::TempDir;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// Chromium's command line. The anti-throttling flags keep timers and sockets
/// running at full speed in windows that are not in front (a test may drive
/// two windows of one session).
const CHROMIUM_FLAGS: &[&str] = &[
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
];

/// What the page shows, for a failure message: the URL, the widget's status,
/// the chat log and the agent queue where the page has them, and all its text.
const DIAGNOSTIC_JS: &str = "
    const text = s => { const e = document.querySelector(s); return e ? e.innerText : null; };
    return {
        url: location.href,
        status: (document.querySelector('#chat-status') || {}).textContent || null,
        chat_log: text('#chat-log'),
        queue: text('#queue'),
        page: document.body ? document.body.innerText : '',
    };";

/// The color scheme the page sees through `prefers-color-scheme`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Light,
    Dark,
}

/// axe-core's browser build, installed by scripts/test.sh with npm under
/// `target/axe` (or named by `AXE_CORE_JS`).
fn axe_source() -> String {
    let path = std::env::var("AXE_CORE_JS").unwrap_or_else(|_| {
        format!(
            "{}/target/axe/node_modules/axe-core/axe.min.js",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is missing at {path} ({e}): run scripts/test.sh, which installs it \
             with `npm install --prefix target/axe axe-core`"
        )
    })
}

/// chromedriver and one browser session; both go away on drop.
pub struct Browser {
    client: Option<Client>,
    driver: Child,
    profile: TempDir,
}

impl Browser {
    pub async fn start() -> Browser {
        Self::start_scheme(Scheme::Light).await
    }

    /// A browser whose pages see `prefers-color-scheme: dark` when `scheme` is
    /// `Dark` (Chromium's `--force-dark-mode`).
    pub async fn start_scheme(scheme: Scheme) -> Browser {
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
        let mut browser = Browser {
            client: None,
            driver,
            profile: tempfile::tempdir().unwrap(),
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "chromedriver did not listen on port {port} within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
        if scheme == Scheme::Dark {
            args.push("--force-dark-mode".into());
        }
        args.push(format!(
            "--user-data-dir={}",
            browser.profile.path().display()
        ));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": CHROMIUM, "args": args }),
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

    pub fn c(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    /// Loads `url` in the current window.
    pub async fn goto(&self, url: &str) {
        self.c()
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("could not load {url}: {e}"));
    }

    pub async fn js(&self, script: &str) -> Value {
        self.c()
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed ({e}): {script}"))
    }

    /// Polls a JS expression until it is truthy; returns its value.
    pub async fn wait_js(&self, what: &str, expr: &str, limit: Duration) -> Value {
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
                panic!("{what}: not within {limit:?}.\n{}", self.diagnostic().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The page as text, for a failure message (see `DIAGNOSTIC_JS`).
    async fn diagnostic(&self) -> String {
        let d = match self.c().execute(DIAGNOSTIC_JS, vec![]).await {
            Ok(d) => d,
            Err(e) => return format!("(could not read the page: {e})"),
        };
        let mut out = format!("url: {}\n", d["url"].as_str().unwrap_or("?"));
        if let Some(status) = d["status"].as_str() {
            out.push_str(&format!("#chat-status: {status}\n"));
        }
        for (key, name) in [("chat_log", "#chat-log"), ("queue", "#queue")] {
            if let Some(t) = d[key].as_str() {
                out.push_str(&format!("{name}:\n{t}\n"));
            }
        }
        out.push_str(&format!("page text:\n{}", d["page"].as_str().unwrap_or("")));
        out
    }

    pub async fn switch(&self, window: &WindowHandle) {
        self.c()
            .switch_to_window(window.clone())
            .await
            .expect("switch_to_window");
    }

    /// Opens the widget at `base` on conversation `session`, as the same
    /// user's browser would. The token is stored from a same-origin page
    /// without the widget (`/healthz`), so no widget of this browser can race
    /// it by storing a fresh conversation of its own first.
    pub async fn adopt_session(&self, base: &str, session: &str) {
        self.goto(&format!("{base}/healthz")).await;
        self.js(&format!(
            "localStorage.setItem('secobot.session', {}); return true;",
            serde_json::json!(session)
        ))
        .await;
        self.goto(&format!("{base}/")).await;
    }

    pub async fn click(&self, css: &str) {
        self.c()
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("could not click {css}: {e}"));
    }

    /// Clears the field and types `text` into it.
    pub async fn type_into(&self, css: &str, text: &str) {
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

    /// Runs axe-core on the current page (WCAG 2.1 A/AA rules and best
    /// practices) and returns one line per violated rule: its id, impact, help
    /// text and the first offending nodes. Empty when the page passes.
    pub async fn axe_violations(&self) -> Vec<String> {
        let loaded = self.js("return typeof window.axe === 'object';").await;
        if loaded != Value::Bool(true) {
            // Script injection through WebDriver is not subject to the page's CSP.
            self.js(&format!("{}\n;return true;", axe_source())).await;
        }
        let result = self
            .c()
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 // A message still fading in is not the page's contrast.
                 Promise.all(document.getAnimations().map(a => a.finished.catch(() => null)))
                    .then(() => axe.run(document, { resultTypes: ['violations'] }))
                    .then(r => done(r.violations.map(v => ({
                        id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ': ' + (n.failureSummary || '').replace(/\\s+/g, ' '))
                    }))))
                    .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]));",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("axe-core did not run: {e}"));
        result
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|v| {
                format!(
                    "{} ({}): {} — {}",
                    v["id"].as_str().unwrap_or("?"),
                    v["impact"].as_str().unwrap_or("?"),
                    v["help"].as_str().unwrap_or(""),
                    v["nodes"]
                        .as_array()
                        .map(|n| n
                            .iter()
                            .filter_map(|x| x.as_str())
                            .collect::<Vec<_>>()
                            .join(" | "))
                        .unwrap_or_default()
                )
            })
            .collect()
    }

    /// With `SECOBOT_SCREENSHOTS=DIR`, saves the page at phone and desktop
    /// size as `DIR/<name>-<width>.png` (for reviewing layouts by eye;
    /// nothing is asserted on them).
    pub async fn screenshots(&self, name: &str) {
        let Ok(dir) = std::env::var("SECOBOT_SCREENSHOTS") else {
            return;
        };
        for (w, h) in [(390u32, 844u32), (1280, 800)] {
            self.c().set_window_size(w, h).await.unwrap();
            let png = self.c().screenshot().await.unwrap();
            std::fs::write(format!("{dir}/{name}-{w}.png"), png).unwrap();
        }
    }

    pub async fn close(mut self) {
        if let Some(c) = self.client.take() {
            let _ = c.close().await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole group: chromedriver and the browser it started.
        if let Ok(group) = libc::pid_t::try_from(self.driver.id()) {
            // SAFETY: signalling our own child's process group has no memory effects.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
