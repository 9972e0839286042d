//! The chat widget in a real headless Chromium, driven through chromedriver.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;

use crate::browser_support::Browser;
use crate::helpers::*;

impl Browser {
    async fn wait_connected(&self) {
        self.wait_js(
            "the widget says Conectado",
            "(document.querySelector('#chat-status')||{}).textContent === 'Conectado' && document.querySelectorAll('#chat-log .msg').length > 0",
            Duration::from_secs(10),
        )
        .await;
    }
}

/// A server with default options and a browser showing its widget, connected.
async fn widget() -> (TestServer, Browser) {
    let server = TestServer::default_start();
    let browser = Browser::start().await;
    browser.goto(&format!("{}/", server.http_url)).await;
    browser.wait_connected().await;
    (server, browser)
}

const SOURCE_SELECTOR: &str = ".msg-bot a.source[href$='/kb/olvide-mi-contrasena']";

#[tokio::test]
async fn widget_answers_with_a_source_and_replays_after_reload() {
    let (_server, browser) = widget().await;

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
    let (_server, browser) = widget().await;

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
