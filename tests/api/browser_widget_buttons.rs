//! The buttons under an answer in a real headless Chromium: a person offered
//! after a question asked first («…? Si no se puede por aquí, un asesor»)
//! is one key away on a phone and on a desktop, and starts the case flow.

use serde_json::json;

use crate::browser_support::Browser;
use crate::browser_widget::{
    ask, open_fresh_widget, press_by_keyboard, ACTIVE, FIRST_LINE_OF_ANSWER,
};
use crate::helpers::*;

/// The labels of the buttons under the last bot message that has any.
const LAST_BUTTONS: &str = "
    const rows = Array.from(document.querySelectorAll('#chat-log .reply-buttons'));
    const last = rows[rows.length - 1];
    return last ? Array.from(last.querySelectorAll('button')).map(b => b.textContent.trim()) : [];";

/// The text of the last `n` messages that are not the user's, one per line.
async fn bot_texts(browser: &Browser, n: usize) -> String {
    browser
        .js(&format!(
            "return Array.from(document.querySelectorAll('#chat-log .msg:not(.msg-user)')).slice(-{n}).map(m => m.innerText).join('\\n');"
        ))
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Opens a fresh widget at `width`×`height`, asks `question`, checks that
/// the reply's first line is in view, and gives the reply's text.
async fn ask_in_view(
    server: &TestServer,
    browser: &Browser,
    (width, height): (u32, u32),
    question: &str,
) -> String {
    open_fresh_widget(server, browser, width, height).await;
    ask(browser, question).await;
    let seen = browser.js(FIRST_LINE_OF_ANSWER).await;
    assert_eq!(seen["ok"], json!(true), "{width}×{height}: {seen}");
    bot_texts(browser, 1).await
}

#[tokio::test]
async fn browser_widget_conditional_request_for_a_person_answer_first_then_the_person_by_keyboard()
{
    let server = TestServer::default_start();
    let browser = Browser::start().await;
    for (width, height) in [(390, 844), (1280, 800)] {
        // The answer, in view, with the person offered under it.
        let text = ask_in_view(
            &server,
            &browser,
            (width, height),
            "buenas tardes como cambio el correo de mi usuario? si no se puede por aca quisiera hablar con un asesor",
        )
        .await;
        assert!(
            text.contains("correo"),
            "{width}×{height}: not the e-mail answer: {text}"
        );
        let buttons = browser.js(LAST_BUTTONS).await;
        assert!(
            buttons
                .as_array()
                .is_some_and(|b| b.iter().any(|l| l == "Hablar con una persona")),
            "{width}×{height}: no «Hablar con una persona» under the answer: {buttons}"
        );
        // The focus stays in the text box after the answer.
        assert_eq!(
            browser.js(ACTIVE).await,
            json!("#chat-input"),
            "{width}×{height}"
        );
        // Pressed with the keyboard, it starts the case flow.
        press_by_keyboard(&browser, "Hablar con una persona").await;
        let text = bot_texts(&browser, 3).await;
        assert!(
            text.contains("crear un caso"),
            "{width}×{height}: the case flow did not start: {text}"
        );
    }
    browser.close().await;
}

/// A refusal that names the nearest topic, in a real Chromium on a phone and
/// a desktop: its first line is in view, the topic is the first button under
/// it and the person the second, the focus stays in the text box, and the
/// topic pressed with the keyboard answers it.
#[tokio::test]
async fn browser_widget_a_refusal_offers_the_nearest_topic_one_key_away() {
    let server = TestServer::default_start();
    let browser = Browser::start().await;
    for (width, height) in [(390, 844), (1280, 800)] {
        let text = ask_in_view(
            &server,
            &browser,
            (width, height),
            "Respetados señores: en mi calidad de Secretario de Hacienda del municipio solicito se me indique quién figura como administrador de la cuenta de la alcaldía, toda vez que el funcionario que la tenía ya no labora con nosotros.",
        )
        .await;
        assert!(
            text.contains("no encontré una respuesta confiable")
                && text.contains("El tema más parecido"),
            "{width}×{height}: not a refusal naming a topic: {text}"
        );
        let buttons = browser.js(LAST_BUTTONS).await;
        let labels: Vec<&str> = buttons
            .as_array()
            .map(|b| b.iter().filter_map(|l| l.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(labels.len(), 2, "{width}×{height}: {buttons}");
        assert!(
            text.contains(labels[0]),
            "{width}×{height}: the first button is not the topic named: {buttons}"
        );
        assert_eq!(labels[1], "Hablar con una persona", "{width}×{height}");
        assert_eq!(
            browser.js(ACTIVE).await,
            json!("#chat-input"),
            "{width}×{height}"
        );
        let topic = labels[0].to_owned();
        press_by_keyboard(&browser, &topic).await;
        let text = bot_texts(&browser, 1).await;
        assert!(
            text.contains("administrador"),
            "{width}×{height}: the topic did not answer: {text}"
        );
    }
    browser.close().await;
}

/// A phone turned, the on-screen keyboard opening or a window resized
/// changes the log's size. A conversation that fit without scrolling keeps
/// its top in view when the log shrinks (the browser's scroll anchoring
/// keeps the scroll position, 0); a reader following it must keep the
/// first line of the last answer in view instead.
#[tokio::test]
async fn browser_widget_a_resize_keeps_the_answer_being_read_in_view() {
    let server = TestServer::default_start();
    let browser = Browser::start().await;
    open_fresh_widget(&server, &browser, 1280, 1400).await;
    ask(&browser, "olvidé mi contraseña").await;
    let fits = browser
        .js("const l = document.querySelector('#chat-log'); return l.scrollHeight <= l.clientHeight + 1;")
        .await;
    assert_eq!(
        fits,
        json!(true),
        "the conversation must fit unscrolled first"
    );
    for (width, height) in [(390, 600), (1280, 1400), (390, 844)] {
        browser.c().set_window_size(width, height).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let seen = browser.js(FIRST_LINE_OF_ANSWER).await;
        assert_eq!(
            seen["ok"],
            json!(true),
            "after resizing to {width}×{height} the answer's first line is not in view: {seen}"
        );
    }
    browser.close().await;
}
