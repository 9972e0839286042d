//! The agent console and the user widget side by side in one headless Chromium
//! (two windows of one chromedriver session).

use std::time::Duration;

use serde_json::json;

use crate::browser_support::Browser;
use crate::helpers::*;

/// In the widget: types `text`, waits for the send button and sends it.
async fn widget_send(b: &Browser, text: &str) {
    b.type_into("#chat-input", text).await;
    b.wait_js(
        "#chat-send enabled",
        "!document.querySelector('#chat-send').disabled",
        Duration::from_secs(5),
    )
    .await;
    b.click("#chat-send").await;
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
        widget_send(b, answer).await;
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
    b.goto(&format!("{}/agent", server.http_url)).await;
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
    b.goto(&format!("{}/", server.http_url)).await;
    let id = widget_opens_a_case(&b).await;
    assert!(has_ticket_id(&id), "{id}");

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
    widget_send(&b, XSS).await;
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
