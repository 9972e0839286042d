//! The chat widget as people use it, in a real headless Chromium (issue 13):
//! where new answers land, what the page scrolls, where the focus goes, links,
//! confirmations of one's own messages, offline typing, limits, rating,
//! transcript, the embed launcher and both color schemes.

use std::time::Duration;

use fantoccini::actions::{WheelAction, WheelActions};
use fantoccini::Locator;
use serde_json::{json, Value};

use crate::browser_support::{Browser, Scheme};
use crate::helpers::*;

pub(crate) const WAIT: Duration = Duration::from_secs(15);
const ENTER: &str = "\u{E007}";

/// Questions with answers of every length (some much taller than a phone).
const QUESTIONS: [&str; 10] = [
    "olvidé mi contraseña",
    "cuáles son los canales de soporte",
    "cómo cargo la factura en el plan de pagos",
    "cómo presento una oferta",
    "cómo creo un proceso de contratación",
    "qué es la firma electrónica",
    "cómo busco procesos",
    "cómo cambio el correo de mi usuario",
    "qué navegador debo usar",
    "qué son los datos abiertos de secop",
];

/// Messages in the log that are not the user's.
const ANSWERS: &str = "document.querySelectorAll('#chat-log .msg:not(.msg-user)').length";

/// Sizes the window so the page's viewport is `width`×`height`.
async fn set_viewport(browser: &Browser, width: u32, height: u32) {
    browser.c().set_window_size(width, height).await.unwrap();
    let extra = browser
        .js("return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];")
        .await;
    let dx = extra[0].as_u64().unwrap_or(0) as u32;
    let dy = extra[1].as_u64().unwrap_or(0) as u32;
    if dx > 0 || dy > 0 {
        browser
            .c()
            .set_window_size(width + dx, height + dy)
            .await
            .unwrap();
    }
}

async fn open_widget(server: &TestServer, browser: &Browser) {
    browser.goto(&format!("{}/", server.http_url)).await;
    wait_connected(browser).await;
}

/// Opens the widget at `width`×`height` with a new conversation (nothing
/// kept from an earlier one in this browser).
pub(crate) async fn open_fresh_widget(
    server: &TestServer,
    browser: &Browser,
    width: u32,
    height: u32,
) {
    set_viewport(browser, width, height).await;
    // Cleared from a page of the same origin that runs no widget: cleared
    // under a live widget, the conversation it then saved (a late reply, or
    // leaving the page) came back on the next load.
    browser.goto(&format!("{}/healthz", server.http_url)).await;
    browser
        .js("localStorage.clear(); sessionStorage.clear(); return true;")
        .await;
    open_widget(server, browser).await;
}

async fn wait_connected(browser: &Browser) {
    browser
        .wait_js(
            "the widget says Conectado",
            "(document.querySelector('#chat-status')||{}).textContent === 'Conectado' && document.querySelectorAll('#chat-log .msg').length > 0",
            WAIT,
        )
        .await;
}

async fn answers(browser: &Browser) -> u64 {
    browser
        .js(&format!("return {ANSWERS};"))
        .await
        .as_u64()
        .unwrap()
}

/// Waits until the log stops changing (every reply of the turn is in, the
/// scroll position is final).
pub(crate) async fn settle(browser: &Browser) {
    let probe = "const l = document.querySelector('#chat-log'); return [l.childElementCount, l.scrollTop, l.scrollHeight].join(',');";
    let mut last = browser.js(probe).await;
    let mut same = 0;
    while same < 3 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let now = browser.js(probe).await;
        if now == last {
            same += 1;
        } else {
            same = 0;
            last = now;
        }
    }
}

/// Types `text` and Enter into the text box; waits for an answer.
pub(crate) async fn ask(browser: &Browser, text: &str) {
    let before = answers(browser).await;
    browser
        .c()
        .find(Locator::Css("#chat-input"))
        .await
        .unwrap()
        .send_keys(&format!("{text}{ENTER}"))
        .await
        .unwrap();
    browser
        .wait_js(
            &format!("an answer to {text:?}"),
            &format!("{ANSWERS} > {before}"),
            WAIT,
        )
        .await;
    settle(browser).await;
}

/// Where the first message after the user's last one starts, against what
/// the log shows on screen.
pub(crate) const FIRST_LINE_OF_ANSWER: &str = "
    const msgs = Array.from(document.querySelectorAll('#chat-log .msg'));
    let last = -1;
    msgs.forEach((m, i) => { if (m.classList.contains('msg-user')) last = i; });
    const first = msgs[last + 1];
    if (!first) return { ok: false, why: 'no answer after the question' };
    const log = document.querySelector('#chat-log').getBoundingClientRect();
    const body = (first.querySelector('.msg-body') || first).getBoundingClientRect();
    const top = Math.max(log.top, 0), bottom = Math.min(log.bottom, window.innerHeight);
    return {
        ok: body.top >= top - 2 && body.top + 30 <= bottom + 1,
        answer_top: body.top, visible_from: top, visible_to: bottom,
        answer: first.innerText.slice(0, 80),
    };";

#[tokio::test]
async fn browser_widget_answer_below_the_fold_first_line_in_view_after_each_of_ten_questions() {
    let server = TestServer::default_start();
    let browser = Browser::start().await;
    for (width, height) in [(390, 844), (1280, 800)] {
        open_fresh_widget(&server, &browser, width, height).await;
        for question in QUESTIONS {
            ask(&browser, question).await;
            let seen = browser.js(FIRST_LINE_OF_ANSWER).await;
            assert_eq!(
                seen["ok"],
                json!(true),
                "{width}×{height}: after {question:?} the answer's first line is not in view: {seen}"
            );
        }
    }
    browser.close().await;
}

#[tokio::test]
async fn browser_widget_answer_below_the_fold_reader_scrolled_up_is_not_moved_and_gets_a_button() {
    let server = TestServer::default_start();
    let browser = Browser::start().await;
    set_viewport(&browser, 1280, 800).await;
    open_widget(&server, &browser).await;
    for question in &QUESTIONS[..4] {
        ask(&browser, question).await;
    }
    // The user scrolls up to read an earlier answer.
    browser
        .js("document.querySelector('#chat-log').scrollTop = 0; return true;")
        .await;
    settle(&browser).await;
    assert_eq!(
        browser
            .js("return document.querySelector('#chat-new').hidden;")
            .await,
        json!(true),
        "the new-message button shows with nothing new"
    );
    // Another tab of the same conversation asks: this tab gets its question and the answer.
    let session = browser
        .js("return localStorage.getItem('secobot.session');")
        .await;
    let before = answers(&browser).await;
    let mut other = server.connect().await;
    other.hello(session.as_str(), Some(0)).await;
    other.say(QUESTIONS[4]).await;
    browser
        .wait_js(
            "the other tab's answer",
            &format!("{ANSWERS} > {before}"),
            WAIT,
        )
        .await;
    settle(&browser).await;
    let top = browser
        .js("return document.querySelector('#chat-log').scrollTop;")
        .await;
    assert!(
        top.as_f64().unwrap() < 5.0,
        "the reader was moved away from what they were reading (scrollTop {top})"
    );
    let button = browser
        .js("const b = document.querySelector('#chat-new'); return !b.hidden && b.getBoundingClientRect().height > 0 ? b.textContent : null;")
        .await;
    assert_eq!(button, json!("Mensaje nuevo ↓"));
    browser.click("#chat-new").await;
    settle(&browser).await;
    let seen = browser.js(FIRST_LINE_OF_ANSWER).await;
    assert_eq!(seen["ok"], json!(true), "after the button: {seen}");
    assert_eq!(
        browser
            .js("return document.querySelector('#chat-new').hidden;")
            .await,
        json!(true)
    );
    other.close().await;
    browser.close().await;
}

#[tokio::test]
async fn browser_widget_page_grows_into_grey_space_document_stays_the_viewport() {
    let server = TestServer::default_start();
    // A long conversation, replayed into the page.
    let (mut ws, _) = server.fresh().await;
    for q in QUESTIONS {
        ws.say(q).await;
    }
    let session = ws.session.clone().unwrap();
    ws.close().await;
    let browser = Browser::start().await;
    for (width, height) in [(390, 844), (1280, 800)] {
        set_viewport(&browser, width, height).await;
        browser.adopt_session(&server.http_url, &session).await;
        wait_connected(&browser).await;
        browser
            .wait_js(
                "the conversation replayed",
                "document.querySelectorAll('#chat-log .msg-user').length >= 10",
                WAIT,
            )
            .await;
        // The user scrolls the log back to the start to read it all.
        browser
            .js("document.querySelector('#chat-log').scrollTop = 0; return true;")
            .await;
        settle(&browser).await;
        let sizes = browser
            .js("return { doc: document.documentElement.scrollHeight, body: document.body.scrollHeight, view: window.innerHeight };")
            .await;
        let view = sizes["view"].as_f64().unwrap();
        assert!(
            sizes["doc"].as_f64().unwrap() <= view + 1.0
                && sizes["body"].as_f64().unwrap() <= view + 1.0,
            "{width}×{height}: the document is taller than the screen: {sizes}"
        );
        // The wheel over the header scrolls nothing: the page stays put.
        let mut wheel = WheelActions::new("wheel".into());
        wheel.push(WheelAction::Scroll {
            duration: None,
            x: 40,
            y: 20,
            delta_x: 0,
            delta_y: 600,
        });
        browser.c().perform_actions(wheel).await.unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        let moved = browser
            .js("return { y: window.scrollY, header: document.querySelector('.chat-header').getBoundingClientRect().top };")
            .await;
        assert_eq!(
            moved,
            json!({"y": 0, "header": 0}),
            "{width}×{height}: the wheel over the header scrolled the page"
        );
    }
    browser.close().await;
}

/// The focused element, described.
pub(crate) const ACTIVE: &str = "const a = document.activeElement; return a ? (a.id ? '#' + a.id : a.tagName + ':' + a.textContent.trim().slice(0, 40)) : null;";

/// Presses the button labelled `label` (prefix) in the last message, with the keyboard.
pub(crate) async fn press_by_keyboard(browser: &Browser, label: &str) {
    let before = answers(browser).await;
    let found = browser
        .js(&format!(
            "const b = Array.from(document.querySelectorAll('#chat-log .reply-buttons button:not([disabled])')).reverse().find(b => b.textContent.trim().startsWith({}));
             if (!b) return false; b.focus(); return document.activeElement === b;",
            json!(label)
        ))
        .await;
    assert_eq!(found, json!(true), "no button {label:?} to press");
    browser
        .c()
        .active_element()
        .await
        .unwrap()
        .send_keys(ENTER)
        .await
        .unwrap();
    browser
        .wait_js(
            &format!("an answer to {label:?}"),
            &format!("{ANSWERS} > {before}"),
            WAIT,
        )
        .await;
    settle(browser).await;
}

/// Types into whatever has the focus, as a person does, then Enter.
async fn type_into_focus(browser: &Browser, text: &str) {
    browser
        .c()
        .active_element()
        .await
        .unwrap()
        .send_keys(&format!("{text}{ENTER}"))
        .await
        .unwrap();
}

#[tokio::test]
async fn browser_widget_typing_opens_a_case_by_accident_focus_is_the_text_box_after_every_turn() {
    let server = TestServer::default_start();
    let browser = Browser::start().await;
    open_widget(&server, &browser).await;
    // Buttons answered by more buttons: the focus must come back to the text box.
    ask(&browser, "mi usuario está bloqueado").await;
    press_by_keyboard(&browser, "No estoy seguro").await;
    assert_eq!(
        browser.js(ACTIVE).await,
        json!("#chat-input"),
        "after a button answered by buttons"
    );

    // crear-caso by keyboard only, up to its confirmation.
    browser
        .js("document.querySelector('#chat-escalate').focus(); return true;")
        .await;
    let before = answers(&browser).await;
    type_into_focus(&browser, "").await;
    browser
        .wait_js(
            "the first step of crear-caso",
            &format!("{ANSWERS} > {before}"),
            WAIT,
        )
        .await;
    settle(&browser).await;
    for _ in 0..20 {
        let step = browser
            .js("const m = Array.from(document.querySelectorAll('#chat-log .msg-bot')).pop(); return m ? m.innerText : '';")
            .await;
        let step = step.as_str().unwrap_or("").to_owned();
        assert_eq!(
            browser.js(ACTIVE).await,
            json!("#chat-input"),
            "the focus after the step: {step}"
        );
        if step.contains("Confirmar y crear el caso") {
            break;
        }
        let has = |l: &str| step.contains(l);
        let before = answers(&browser).await;
        if has("No acepto") {
            // The privacy notice: its policy opens in a new tab, and it is
            // accepted with the keyboard like any other button.
            let link = browser
                .js("const m = Array.from(document.querySelectorAll('#chat-log .msg-bot')).pop(); const a = m && m.querySelector('a[href]'); return a ? [a.textContent, a.target, a.rel] : null;")
                .await;
            assert_eq!(
                link[0],
                json!("política de tratamiento de datos personales"),
                "{link}"
            );
            assert_eq!(link[1], json!("_blank"), "{link}");
            assert!(
                link[2].as_str().unwrap_or("").contains("noopener"),
                "{link}"
            );
            press_by_keyboard(&browser, "Acepto").await;
            continue;
        }
        if has("Cédula de ciudadanía") {
            press_by_keyboard(&browser, "Cédula de ciudadanía").await;
            continue;
        }
        if has("Comprador (Entidad Estatal)") {
            press_by_keyboard(&browser, "Comprador").await;
            continue;
        }
        let text = if has("correo") {
            "ana.perez@example.com"
        } else if has("teléfono") {
            "3001234567"
        } else if has("número de su documento") {
            "1020304050"
        } else if has("Entidad Estatal o Proveedor") {
            "Alcaldía de Villa de Leyva"
        } else if has("describa el problema") {
            "No puedo cargar la factura del contrato"
        } else {
            "Ana María Pérez Gómez"
        };
        type_into_focus(&browser, text).await;
        browser
            .wait_js("the next step", &format!("{ANSWERS} > {before}"), WAIT)
            .await;
        settle(&browser).await;
    }
    // The confirmation is on screen; the next typed sentence (with spaces,
    // which press a focused button) must be a message, not a confirmation.
    type_into_focus(&browser, "espere un momento por favor").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    settle(&browser).await;
    let state = browser
        .js("return { mine: Array.from(document.querySelectorAll('#chat-log .msg-user')).map(m => m.innerText), ticket: !!document.querySelector('#chat-log .msg-ticket') };")
        .await;
    assert_eq!(
        state["ticket"],
        json!(false),
        "typing created a case: {state}"
    );
    assert!(
        state["mine"].as_array().unwrap().iter().any(|m| m
            .as_str()
            .unwrap_or("")
            .contains("espere un momento por favor")),
        "the typed sentence is not a message: {state}"
    );
    // Even with the confirm button focused (a user tabbing around), typing
    // goes to the text box: the sentence is sent, the button is not pressed.
    let focused = browser
        .js("const b = Array.from(document.querySelectorAll('#chat-log .reply-buttons button:not([disabled])')).reverse().find(b => b.textContent.trim().startsWith('Confirmar')); if (!b) return false; b.focus(); return document.activeElement === b;")
        .await;
    assert_eq!(focused, json!(true), "no confirm button left to focus");
    type_into_focus(&browser, "una pregunta más antes").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    settle(&browser).await;
    let state = browser
        .js("return { mine: Array.from(document.querySelectorAll('#chat-log .msg-user')).map(m => m.innerText), ticket: !!document.querySelector('#chat-log .msg-ticket') };")
        .await;
    assert_eq!(
        state["ticket"],
        json!(false),
        "typing on the focused button created a case: {state}"
    );
    assert!(
        state["mine"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m.as_str().unwrap_or("").contains("una pregunta más antes")),
        "the sentence typed on the button is not a message: {state}"
    );
    browser.close().await;
}

#[tokio::test]
async fn browser_widget_urls_in_answers_are_plain_text_now_links_in_a_new_tab() {
    let server = TestServer::default_start();
    let browser = Browser::start().await;
    open_widget(&server, &browser).await;
    ask(&browser, "cuáles son los canales de soporte").await;
    let links = browser
        .js("return Array.from(document.querySelectorAll('#chat-log .msg-bot .msg-body a')).map(a => ({href: a.href, target: a.target, rel: a.rel}));")
        .await;
    let form = links
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["href"].as_str()
                == Some("https://www.colombiacompra.gov.co/soporte/formulario-de-soporte")
        })
        .unwrap_or_else(|| panic!("the support form's address is not a link: {links}"));
    assert_eq!(form["target"], "_blank", "{form}");
    let rel = form["rel"].as_str().unwrap();
    assert!(
        rel.contains("noopener") && rel.contains("noreferrer"),
        "{form}"
    );
    browser.close().await;
}

/// A server with `accounts`, a user who opened a case and closed the chat,
/// and a headless browser that took the conversation up again, connected:
/// (server, browser, session, ticket id).
async fn browser_on_a_case(accounts: &[(&str, &str)]) -> (AgentServer, Browser, String, String) {
    let server = start_with_agents(accounts, &[]);
    let (user, session, ticket) = user_with_ticket(&server, "No puedo cargar la factura").await;
    user.close().await;
    let browser = Browser::start().await;
    browser.adopt_session(&server.http_url, &session).await;
    wait_connected(&browser).await;
    (server, browser, session, ticket)
}

/// Each of the user's messages on screen: its text, its seq and whether it still waits.
const MINE: &str = "return Array.from(document.querySelectorAll('#chat-log .msg-user')).map(m => ({ text: m.querySelector('.msg-body').textContent, seq: m.dataset.seq ? Number(m.dataset.seq) : null, pending: m.classList.contains('is-pending') }));";

#[tokio::test]
async fn browser_widget_message_to_an_agent_stays_sending_now_confirmed_by_its_seq() {
    let (server, browser, session, _ticket) = browser_on_a_case(&[("ana", "agent")]).await;
    let (mut agent, _) = agent_console(&server, "ana").await;
    let claimed = claim(&mut agent, &session).await;
    assert!(is_type(&claimed, "claimed"), "{claimed}");
    // To the agent: nobody answers at once; the message is confirmed anyway.
    browser
        .type_into(
            "#chat-input",
            &format!("Hola, ¿me ayuda con la factura?{ENTER}"),
        )
        .await;
    browser
        .wait_js(
            "the message to the agent is confirmed",
            "(() => { const m = Array.from(document.querySelectorAll('#chat-log .msg-user')).pop(); return m && !m.classList.contains('is-pending') && m.dataset.seq; })()",
            WAIT,
        )
        .await;
    // The agent hands back; the next question is answered by the bot.
    agent
        .send_json(json!({"type": "release", "session": session}))
        .await;
    browser
        .wait_js(
            "the hand-back notice",
            "document.querySelector('#chat-log').innerText.includes('salió') || (document.querySelector('#chat-agent')||{}).textContent.includes('salió')",
            WAIT,
        )
        .await;
    ask(&browser, "olvidé mi contraseña").await;
    browser
        .wait_js(
            "every message of mine confirmed",
            "Array.from(document.querySelectorAll('#chat-log .msg-user')).every(m => !m.classList.contains('is-pending') && m.dataset.seq)",
            WAIT,
        )
        .await;
    // Every message on screen carries the seq it is stored with.
    let mine = browser.js(MINE).await;
    let mut check = server.connect().await;
    let welcome = check.hello(Some(&session), Some(0)).await;
    let mut stored: Vec<Value> = welcome["history"].as_array().unwrap().clone();
    stored.extend(check.drain(Duration::from_millis(300)).await);
    for m in mine.as_array().unwrap() {
        let seq = m["seq"].as_u64().unwrap();
        let at = stored
            .iter()
            .find(|r| r["seq"].as_u64() == Some(seq))
            .unwrap_or_else(|| panic!("no stored message with seq {seq}: {m}"));
        assert_eq!(
            at["from"], "user",
            "seq {seq} is not the user's: {at} (screen: {m})"
        );
        assert_eq!(
            at["text"], m["text"],
            "seq {seq} on screen is another message"
        );
    }
    check.close().await;
    browser.close().await;
}

/// Whether «Hablar con una persona» shows, as the user sees it.
const ESCALATE_SHOWN: &str = "(() => { const b = document.querySelector('#chat-escalate'); return !!b && !b.hidden && b.offsetParent !== null; })()";

#[tokio::test]
async fn browser_widget_talk_to_a_person_is_hidden_while_an_agent_attends() {
    let (server, browser, session, _ticket) = browser_on_a_case(&[("ana", "agent")]).await;
    assert_eq!(
        browser.js(&format!("return {ESCALATE_SHOWN};")).await,
        json!(true),
        "before anyone attends"
    );
    // An agent takes the conversation: the button has nothing to offer.
    let (mut agent, _) = agent_console(&server, "ana").await;
    assert!(is_type(&claim(&mut agent, &session).await, "claimed"));
    browser
        .wait_js(
            "the button hidden while Ana attends",
            &format!("!{ESCALATE_SHOWN}"),
            WAIT,
        )
        .await;
    // A reload during the live chat: still hidden.
    browser.c().refresh().await.unwrap();
    wait_connected(&browser).await;
    browser
        .wait_js(
            "the button hidden after a reload",
            &format!("!{ESCALATE_SHOWN}"),
            WAIT,
        )
        .await;
    // She hands back: the user may ask for a person again.
    agent
        .send_json(json!({"type": "release", "session": session}))
        .await;
    browser
        .wait_js("the button back after the hand-back", ESCALATE_SHOWN, WAIT)
        .await;
    browser.close().await;
}

/// Makes the widget's socket fail (as when the network is down) until
/// `window.__offline` is false again.
const GO_OFFLINE: &str = "
    if (!window.__RealWebSocket) {
        window.__RealWebSocket = window.WebSocket;
        window.WebSocket = function (url, protocols) {
            return new window.__RealWebSocket(window.__offline ? 'ws://127.0.0.1:9/' : url, protocols);
        };
        window.WebSocket.prototype = window.__RealWebSocket.prototype;
        Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
    }
    window.__offline = true;
    window.secobot.reconnect();
    return true;";

#[tokio::test]
async fn browser_widget_offline_enter_shows_nothing_now_queued_and_sent_on_reconnect() {
    let server = TestServer::default_start();
    let browser = Browser::start().await;
    open_widget(&server, &browser).await;
    // Changes of the live status region, counted while offline.
    browser
        .js("window.__statusChanges = 0; new MutationObserver(() => { window.__statusChanges += 1; }).observe(document.querySelector('#chat-status'), { childList: true, characterData: true, subtree: true }); return true;")
        .await;
    browser.js(GO_OFFLINE).await;
    browser
        .wait_js(
            "the widget says it is offline",
            "(document.querySelector('#chat-status')||{}).dataset.state === 'offline'",
            WAIT,
        )
        .await;
    browser.js("window.__statusChanges = 0; return true;").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let changes = browser.js("return window.__statusChanges;").await;
    assert_eq!(
        changes,
        json!(0),
        "the offline status (a live region) changed {changes} times in 2.5 s: screen readers hear it every second"
    );
    browser
        .type_into("#chat-input", &format!("olvidé mi contraseña{ENTER}"))
        .await;
    browser
        .type_into("#chat-input", &format!("cómo presento una oferta{ENTER}"))
        .await;
    let queued = browser
        .js("return Array.from(document.querySelectorAll('#chat-log .msg-user')).map(m => m.innerText);")
        .await;
    let queued: Vec<&str> = queued
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        queued.len() >= 2
            && queued[queued.len() - 2].contains("olvidé mi contraseña")
            && queued[queued.len() - 1].contains("cómo presento una oferta")
            && queued
                .iter()
                .rev()
                .take(2)
                .all(|t| t.contains("Se enviará al reconectar")),
        "the messages typed offline are not shown as waiting: {queued:?}"
    );
    // A queued message can wait for minutes: its text keeps full contrast.
    browser.screenshots("widget-queued").await;
    let violations = browser.axe_violations().await;
    assert!(
        violations.is_empty(),
        "the widget with queued messages fails axe: {violations:#?}"
    );
    // Back online: both are sent, in order, and answered.
    let before = answers(&browser).await;
    browser
        .js("window.__offline = false; document.querySelector('#chat-retry').click(); return true;")
        .await;
    wait_connected(&browser).await;
    browser
        .wait_js(
            "both queued messages answered",
            &format!("{ANSWERS} >= {before} + 2 && Array.from(document.querySelectorAll('#chat-log .msg-user')).every(m => m.dataset.seq && !m.classList.contains('is-queued'))"),
            WAIT,
        )
        .await;
    let mine = browser.js(MINE).await;
    let mine = mine.as_array().unwrap();
    let n = mine.len();
    assert!(
        mine[n - 2]["seq"].as_u64() < mine[n - 1]["seq"].as_u64(),
        "sent out of order: {mine:?}"
    );
    let source = browser
        .js("return !!document.querySelector(\"#chat-log a.source[href$='/kb/olvide-mi-contrasena']\");")
        .await;
    assert_eq!(
        source,
        json!(true),
        "the first queued question was not answered"
    );
    browser.close().await;
}

#[tokio::test]
async fn browser_widget_too_long_error_states_the_limit_and_keeps_the_text() {
    let server = TestServer::default_start();
    let browser = Browser::start().await;
    open_widget(&server, &browser).await;
    let long = "a".repeat(4001);
    browser
        .js(&format!(
            "const i = document.querySelector('#chat-input'); i.value = {}; i.dispatchEvent(new Event('input')); return true;",
            json!(long)
        ))
        .await;
    browser
        .c()
        .find(Locator::Css("#chat-input"))
        .await
        .unwrap()
        .send_keys(ENTER)
        .await
        .unwrap();
    let alert = browser
        .wait_js(
            "an error naming the limit",
            "(document.querySelector('#chat-alert')||{}).textContent",
            WAIT,
        )
        .await;
    assert!(
        alert.as_str().unwrap().contains("4.000"),
        "the error does not state the limit: {alert}"
    );
    let kept = browser
        .js("return document.querySelector('#chat-input').value.length;")
        .await;
    assert_eq!(kept, json!(4001), "the text was cleared");
    browser.close().await;
}

/// The counter counts what is sent and checked (the text without the spaces
/// and line breaks around it), so it never says "too long" of a text the
/// server accepts, nor the other way round.
#[tokio::test]
async fn browser_widget_counter_counts_what_is_sent_so_it_agrees_with_the_limit() {
    let server = TestServer::default_start();
    let browser = Browser::start().await;
    open_widget(&server, &browser).await;
    // Types `text` into the box; the counter's text and whether it says "over".
    let counter_for = |text: String| {
        let browser = &browser;
        async move {
            browser
                .js(&format!(
                    "const i = document.querySelector('#chat-input'); i.value = {}; i.dispatchEvent(new Event('input')); const c = document.querySelector('#chat-counter'); return [c.textContent, c.dataset.over];",
                    json!(text)
                ))
                .await
        }
    };
    let counter = counter_for(format!("{}\n  ", "a".repeat(4000))).await;
    assert_eq!(
        counter,
        json!(["4.000 de 4.000 caracteres", "false"]),
        "a text at the limit with a trailing line break"
    );
    let counter = counter_for(format!(" {}", "a".repeat(4001))).await;
    assert_eq!(
        counter,
        json!([
            "4.001 de 4.000 caracteres: el texto es demasiado largo.",
            "true"
        ]),
        "one character over, as the error will say"
    );
    browser.close().await;
}

#[tokio::test]
async fn browser_widget_rating_after_an_agent_resolves() {
    let (server, browser, session, ticket) = browser_on_a_case(&[("sara", "supervisor")]).await;
    let (mut agent, _) = agent_console(&server, "sara").await;
    assert!(is_type(&claim(&mut agent, &session).await, "claimed"));
    agent
        .send_json(
            json!({"type": "resolve", "session": session, "note": "Se corrigió la factura."}),
        )
        .await;
    browser
        .wait_js(
            "the rating question",
            "(document.querySelector('#chat-log .rating legend')||{}).textContent === '¿Cómo le pareció la atención?'",
            WAIT,
        )
        .await;
    let violations = browser.axe_violations().await;
    assert!(
        violations.is_empty(),
        "the rating form: {}",
        violations.join("\n")
    );
    browser.click("#rating-score-4").await;
    browser
        .type_into("#rating-comment", "Muy amable y rápido")
        .await;
    browser.click("#chat-log .rating-send").await;
    browser
        .wait_js(
            "the thanks",
            "(document.querySelector('#chat-log .rating-thanks')||{}).textContent",
            WAIT,
        )
        .await;
    // A reload does not ask again.
    browser.c().refresh().await.unwrap();
    wait_connected(&browser).await;
    settle(&browser).await;
    assert_eq!(
        browser
            .js("return !!document.querySelector('#chat-log .rating');")
            .await,
        json!(false),
        "asked again after rating"
    );
    // The supervisors' list shows it; /metrics counts it.
    let cookie = login(&server, "sara").await;
    let page = http_request(
        &server.http_url,
        "GET",
        "/agent/tickets",
        &[("Cookie", &cookie)],
        b"",
    )
    .await;
    let row = page
        .body
        .split("<tr")
        .find(|r| r.contains(&format!("data-ticket=\"{ticket}\"")))
        .unwrap_or_else(|| panic!("no row for {ticket}"));
    assert!(row.contains("4 de 5"), "{row}");
    assert!(row.contains("Muy amable y rápido"), "{row}");
    assert!(
        row.contains(&format!("/agent/transcript/{ticket}")),
        "no transcript link in the row: {row}"
    );
    let metrics = http_get(&server.http_url, "/metrics").await.body;
    assert!(
        metrics.contains("secobot_ratings_total{score=\"4\"} 1"),
        "{metrics}"
    );
    browser.close().await;
}

#[tokio::test]
async fn browser_widget_transcript_link_opens_a_printable_page() {
    let server = TestServer::default_start();
    let browser = Browser::start().await;
    open_widget(&server, &browser).await;
    ask(&browser, "olvidé mi contraseña").await;
    let href = browser
        .wait_js(
            "the transcript link",
            "(() => { const a = document.querySelector('#chat-transcript'); return a && !a.hidden ? a.getAttribute('href') : null; })()",
            WAIT,
        )
        .await;
    let href = href.as_str().unwrap().to_owned();
    assert!(href.starts_with("/chat/transcript?key="), "{href}");
    let session = browser
        .js("return localStorage.getItem('secobot.session');")
        .await;
    let session = session.as_str().unwrap_or("");
    assert!(
        !session.is_empty() && !href.contains(session),
        "the transcript link carries the session token: {href}"
    );
    browser.goto(&format!("{}{href}", server.http_url)).await;
    let text = browser.js("return document.body.innerText;").await;
    let text = text.as_str().unwrap();
    assert!(text.contains("olvidé mi contraseña"), "{text}");
    assert!(text.contains("Asistente"), "{text}");
    let stamp = regex_like_date(text);
    assert!(stamp, "no dd/mm/aaaa HH:MM time in the transcript: {text}");
    browser.close().await;
}

/// Whether `text` holds a `dd/mm/aaaa HH:MM` time.
fn regex_like_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.windows(16).any(|w| {
        let d = |i: usize| w[i].is_ascii_digit();
        d(0) && d(1)
            && w[2] == b'/'
            && d(3)
            && d(4)
            && w[5] == b'/'
            && (6..10).all(d)
            && w[10] == b' '
            && d(11)
            && d(12)
            && w[13] == b':'
            && d(14)
            && d(15)
    })
}

/// Serves one HTML page (for any path) on a free local port: the agency's
/// site in the embed test. The page is set after the port is known.
async fn host_site() -> (u16, std::sync::Arc<std::sync::Mutex<String>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let page = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let shared = page.clone();
    // Fire-and-forget: ends with the test's runtime.
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = listener.accept().await {
            let body = shared.lock().unwrap().clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(body.as_bytes()).await;
            });
        }
    });
    (port, page)
}

#[tokio::test]
async fn browser_widget_embed_opens_the_widget_only_on_allowed_origins() {
    let (port, page) = host_site().await;
    // The site is allowed as http://127.0.0.1:PORT; http://localhost:PORT is
    // the same page on another origin, not allowed.
    let server = TestServer::start(Opts {
        args: vec![
            "--allowed-origins".into(),
            format!("http://127.0.0.1:{port}"),
        ],
        ..Opts::default()
    });
    *page.lock().unwrap() = format!(
        "<!doctype html><html lang=\"es\"><head><meta charset=\"utf-8\"><title>Agencia</title></head>\
         <body><h1>Sitio de la Agencia</h1><a id=\"before\" href=\"#\">Inicio</a>\
         <script src=\"{}/embed.js\"></script></body></html>",
        server.http_url
    );
    let browser = Browser::start().await;

    browser.goto(&format!("http://127.0.0.1:{port}/")).await;
    let launcher = browser
        .wait_js(
            "the launcher on the allowed site",
            "(() => { const b = document.querySelector('#secobot-launcher'); return b ? { text: b.textContent, expanded: b.getAttribute('aria-expanded'), tag: b.tagName } : null; })()",
            WAIT,
        )
        .await;
    assert_eq!(
        launcher,
        json!({"text": "¿Necesita ayuda?", "expanded": "false", "tag": "BUTTON"})
    );
    // Keyboard: focus the launcher, Enter opens the panel with the widget.
    browser
        .js("document.querySelector('#secobot-launcher').focus(); return true;")
        .await;
    browser
        .c()
        .active_element()
        .await
        .unwrap()
        .send_keys(ENTER)
        .await
        .unwrap();
    browser
        .wait_js(
            "the panel opens",
            "document.querySelector('#secobot-launcher').getAttribute('aria-expanded') === 'true' && !!document.querySelector('#secobot-panel iframe')",
            WAIT,
        )
        .await;
    let frame = browser
        .c()
        .find(Locator::Css("#secobot-panel iframe"))
        .await
        .unwrap();
    browser.c().clone().enter_frame(0).await.unwrap();
    let _ = frame;
    wait_connected(&browser).await;
    browser.c().clone().enter_parent_frame().await.unwrap();
    // Escape closes it and gives the focus back to the launcher.
    browser
        .c()
        .active_element()
        .await
        .unwrap()
        .send_keys("\u{E00C}")
        .await
        .unwrap();
    browser
        .wait_js(
            "Escape closes the panel and returns the focus",
            "document.querySelector('#secobot-launcher').getAttribute('aria-expanded') === 'false' && document.activeElement === document.querySelector('#secobot-launcher') && getComputedStyle(document.querySelector('#secobot-panel')).display === 'none'",
            WAIT,
        )
        .await;

    // The same page on an origin that is not allowed: no launcher.
    browser.goto(&format!("http://localhost:{port}/")).await;
    browser
        .wait_js("the page loads", "document.readyState === 'complete'", WAIT)
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        browser
            .js("return !!document.querySelector('#secobot-launcher');")
            .await,
        json!(false),
        "the launcher runs on a site that is not allowed"
    );
    // Nor can that site frame the widget itself.
    browser
        .js(&format!(
            "const f = document.createElement('iframe'); f.id = 'sneak'; f.src = {}; document.body.appendChild(f); return true;",
            json!(format!("{}/", server.http_url))
        ))
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    browser.c().clone().enter_frame(0).await.unwrap();
    let inside = browser
        .js("return !!document.querySelector('#chat-log');")
        .await;
    browser.c().clone().enter_parent_frame().await.unwrap();
    assert_eq!(inside, json!(false), "another origin framed the widget");
    browser.close().await;
}

/// The pages of the widget side, with an answer (feedback buttons) on screen.
async fn axe_pages(scheme: Scheme) -> Vec<String> {
    let server = TestServer::default_start();
    let browser = Browser::start_scheme(scheme).await;
    let mut problems = Vec::new();
    open_widget(&server, &browser).await;
    ask(&browser, "olvidé mi contraseña").await;
    let href = browser
        .js("return document.querySelector('#chat-transcript').getAttribute('href');")
        .await;
    for v in browser.axe_violations().await {
        problems.push(format!("/ ({scheme:?}): {v}"));
    }
    // An experimental rule axe leaves out by default; the 👍/👎 buttons broke it.
    let mismatch = browser
        .c()
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { runOnly: { type: 'rule', values: ['label-content-name-mismatch'] } })
                .then(r => done(r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.html).join(' | '))))
                .catch(e => done(['axe-error: ' + e]));",
            vec![],
        )
        .await
        .unwrap();
    for v in mismatch.as_array().unwrap() {
        problems.push(format!("/ ({scheme:?}): {}", v.as_str().unwrap_or("?")));
    }
    let transcript = href.as_str().unwrap_or("/chat/transcript").to_owned();
    for path in [
        "/kb",
        "/kb?q=factura",
        "/kb/olvide-mi-contrasena",
        transcript.as_str(),
        "/kb/no-existe",
        "/no-existe/de-verdad",
        "/agent/unlock",
    ] {
        browser.goto(&format!("{}{path}", server.http_url)).await;
        for v in browser.axe_violations().await {
            problems.push(format!("{path} ({scheme:?}): {v}"));
        }
    }
    browser.close().await;
    problems
}

#[tokio::test]
async fn browser_widget_axe_finds_nothing_in_light_mode() {
    let problems = axe_pages(Scheme::Light).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn browser_widget_axe_finds_nothing_in_dark_mode() {
    let problems = axe_pages(Scheme::Dark).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Rewrites the next `welcome` frames the widget receives, adding `agents`
/// (the lead's business-hours field), then reconnects.
fn welcome_with_agents(agents: &Value) -> String {
    format!(
        "const agents = {agents};
         const Real = window.__RealWS || window.WebSocket;
         window.__RealWS = Real;
         window.WebSocket = function (url, protocols) {{
             const ws = new Real(url, protocols);
             const add = ws.addEventListener.bind(ws);
             ws.addEventListener = (type, fn, opts) => add(type, type !== 'message' ? fn : (e) => {{
                 let data = e.data;
                 try {{ const f = JSON.parse(data); if (f.type === 'welcome') {{ f.agents = agents; data = JSON.stringify(f); }} }} catch (_) {{}}
                 fn({{ data }});
             }}, opts);
             return ws;
         }};
         window.WebSocket.prototype = Real.prototype;
         Object.assign(window.WebSocket, {{ CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 }});
         window.secobot.reconnect();
         return true;"
    )
}

#[tokio::test]
async fn browser_widget_header_says_whether_agents_are_available() {
    let server = TestServer::default_start();
    let browser = Browser::start().await;
    open_widget(&server, &browser).await;
    // With no agent at a console, the server says so in every welcome.
    browser
        .wait_js(
            "the header says nobody attends now",
            "(document.querySelector('#chat-agents')||{}).textContent === 'Asesores no disponibles en este momento'",
            WAIT,
        )
        .await;
    let header = "(() => { const p = document.querySelector('#chat-agents'); return p && !p.hidden ? p.textContent : null; })()";
    browser
        .js(&welcome_with_agents(&json!({
            "available": false, "hours": "lunes a viernes de 7:00 a 19:00", "next": "30/11/2026 07:00"
        })))
        .await;
    browser
        .wait_js(
            "the header says when agents are back",
            &format!(
                "{header} === 'Asesores fuera de horario · disponibles desde el 30/11/2026 07:00'"
            ),
            WAIT,
        )
        .await;
    browser
        .js(&welcome_with_agents(&json!({
            "available": false, "hours": "lunes a viernes de 7:00 a 19:00", "next": "el lunes 30/11/2026 a las 7:00"
        })))
        .await;
    browser
        .wait_js(
            "the server's own wording of the next opening",
            &format!("{header} === 'Asesores fuera de horario · disponibles desde el lunes 30/11/2026 a las 7:00'"),
            WAIT,
        )
        .await;
    browser
        .js(&welcome_with_agents(
            &json!({"available": true, "hours": null, "next": null}),
        ))
        .await;
    browser
        .wait_js(
            "the header says agents are available",
            &format!("{header} === 'Asesores disponibles'"),
            WAIT,
        )
        .await;
    let violations = browser.axe_violations().await;
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    browser.close().await;
}

#[tokio::test]
async fn browser_widget_visitor_who_never_wrote_is_not_told_their_conversation_was_lost() {
    let server = TestServer::default_start();
    let browser = Browser::start().await;
    open_widget(&server, &browser).await;
    // Came, read the greeting, left; comes back later.
    browser.goto(&format!("{}/healthz", server.http_url)).await;
    open_widget(&server, &browser).await;
    let log = browser
        .js("return document.querySelector('#chat-log').innerText;")
        .await;
    assert!(
        !log.as_str()
            .unwrap_or("")
            .contains("No encontramos su conversación"),
        "a visitor who never wrote was told their conversation was lost:\n{log}"
    );
    // Once they write, the conversation is kept for their next visit.
    ask(&browser, "olvidé mi contraseña").await;
    browser.goto(&format!("{}/healthz", server.http_url)).await;
    open_widget(&server, &browser).await;
    browser
        .wait_js(
            "the conversation resumed",
            "document.querySelector('#chat-log').innerText.includes('olvidé mi contraseña')",
            WAIT,
        )
        .await;
    let log = browser
        .js("return document.querySelector('#chat-log').innerText;")
        .await;
    assert!(
        !log.as_str()
            .unwrap_or("")
            .contains("No encontramos su conversación"),
        "{log}"
    );
    browser.close().await;
}
