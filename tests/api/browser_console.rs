//! The agent console in a real browser (issue 13, console side): what the
//! user sees of an agent's Markdown, Bogotá times, case ids, focus, typing
//! indicators, canned responses, notifications and accessibility in both
//! color schemes. Users are driven over the socket unless the widget itself
//! is what is checked.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;

use crate::browser_support::{Browser, Scheme};
use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(10);

/// Logs `name` in through the login form and waits for the console to connect.
async fn console_login(b: &Browser, server: &TestServer, name: &str) {
    b.goto(&format!("{}/agent", server.http_url)).await;
    // The login form, or (once in about 25 CI runs, from a fresh browser
    // profile, cause not found) the console already open for this agent.
    let shown = b
        .wait_js(
            "the login form",
            "document.querySelector('#login-username') ? 'login' : (document.querySelector('#console') ? document.querySelector('#console').getAttribute('data-name') : '')",
            Duration::from_secs(15),
        )
        .await;
    if shown == json!("login") {
        b.type_into("#login-username", name).await;
        b.type_into("#login-password", &password_for(name)).await;
        b.click("#login-submit").await;
    } else {
        assert_eq!(shown, json!(name), "a console open for another agent");
    }
    b.wait_js(
        "the console connects after login",
        "document.querySelector('#console-status') && document.querySelector('#console-status').getAttribute('data-state') === 'online'",
        Duration::from_secs(15),
    )
    .await;
}

/// Takes case `id` from the queue and waits for its panel.
async fn console_claim(b: &Browser, id: &str) {
    let item = format!("#queue .queue-item[data-ticket=\"{id}\"] button.claim");
    b.wait_js(
        "the case's claim button",
        &format!("document.querySelector('{item}') && !document.querySelector('{item}').disabled"),
        WAIT,
    )
    .await;
    b.click(&item).await;
    b.wait_js(
        "the conversation panel",
        &format!(
            "document.querySelector('.conversation[data-ticket=\"{id}\"] textarea.agent-input')"
        ),
        WAIT,
    )
    .await;
}

/// Opens the widget on the conversation `session` (as the same user's browser).
async fn widget_on(b: &Browser, server: &TestServer, session: &str) {
    b.adopt_session(&server.http_url, session).await;
    b.wait_js(
        "the widget resumes the conversation",
        "(document.querySelector('#chat-status')||{}).textContent === 'Conectado' && document.querySelectorAll('#chat-log .msg').length > 3",
        WAIT,
    )
    .await;
}

/// Sends WebDriver keys to the element without clearing it.
async fn press(b: &Browser, css: &str, keys: &str) {
    b.c()
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .send_keys(keys)
        .await
        .unwrap_or_else(|e| panic!("could not type into {css}: {e}"));
}

const ARROW_DOWN: &str = "\u{E015}";
const ENTER: &str = "\u{E007}";
const ESCAPE: &str = "\u{E00C}";

#[tokio::test]
async fn console_insert_shows_the_user_no_markdown_markers() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let b = Browser::start().await;
    let agent_win = b.c().window().await.unwrap();
    let user_win = b.c().new_window(false).await.unwrap().handle;
    let (_user, session, id) = user_with_ticket(&server, "Olvidé mi contraseña.").await;

    b.switch(&agent_win).await;
    console_login(&b, &server, "ana").await;
    console_claim(&b, &id).await;
    b.type_into(".conversation input.kb-search", "olvidé mi contraseña")
        .await;
    b.click(".conversation button.kb-search-go").await;
    b.wait_js(
        "the article about a forgotten password",
        "Array.from(document.querySelectorAll('.kb-result')).some(r => r.getAttribute('data-id') === 'olvide-mi-contrasena')",
        WAIT,
    )
    .await;
    b.click(".kb-result[data-id=\"olvide-mi-contrasena\"] button.kb-insert")
        .await;
    let inserted = b
        .js("return document.querySelector('.conversation textarea.agent-input').value;")
        .await;
    assert!(
        inserted
            .as_str()
            .unwrap()
            .contains("**«¿Olvidó su contraseña?»**"),
        "{inserted}"
    );
    b.click(".conversation button.agent-send").await;
    b.wait_js(
        "the agent's message in the console, rendered",
        "Array.from(document.querySelectorAll('.transcript .msg-agent .msg-text')).some(m => m.querySelector('strong') && m.textContent.includes('¿Olvidó su contraseña?'))",
        WAIT,
    )
    .await;
    let console_text = b
        .js("return Array.from(document.querySelectorAll('.transcript .msg-agent .msg-text')).map(m => m.textContent).join('\\n');")
        .await;
    assert!(
        !console_text.as_str().unwrap().contains("**"),
        "{console_text}"
    );

    b.switch(&user_win).await;
    widget_on(&b, &server, &session).await;
    let seen = b
        .wait_js(
            "the agent's message in the widget",
            "(() => { const m = Array.from(document.querySelectorAll('#chat-log .msg-agent')).find(m => m.textContent.includes('¿Olvidó su contraseña?')); return m ? { text: m.innerText, strong: m.querySelectorAll('strong').length, items: m.querySelectorAll('li').length } : null; })()",
            WAIT,
        )
        .await;
    let text = seen["text"].as_str().unwrap();
    assert!(
        !text.contains("**"),
        "Markdown markers shown to the user:\n{text}"
    );
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with("- ")),
        "a Markdown list marker shown to the user:\n{text}"
    );
    assert!(seen["strong"].as_u64().unwrap() > 0, "{seen}");
    assert!(seen["items"].as_u64().unwrap() >= 3, "{seen}");
    b.close().await;
}

/// Every case field reads as words for the agent: a label, never a raw key
/// such as `autorizacion_datos`, and the consent as "Aceptada".
#[tokio::test]
async fn console_case_fields_are_labelled_never_raw_keys() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let b = Browser::start().await;
    let (_user, _session, id) = user_with_ticket(&server, "No puedo publicar.").await;
    console_login(&b, &server, "ana").await;
    console_claim(&b, &id).await;
    let fields = b
        .wait_js(
            "the case fields",
            "(() => { const dts = Array.from(document.querySelectorAll('.conversation dl dt')); return dts.length > 3 && dts.map(dt => [dt.textContent, (dt.nextElementSibling||{}).textContent]); })()",
            WAIT,
        )
        .await;
    let pairs = fields.as_array().unwrap();
    for pair in pairs {
        let label = pair[0].as_str().unwrap();
        assert!(
            !label.contains('_') && label.chars().next().is_some_and(char::is_uppercase),
            "a raw field key shown to the agent: {label:?} in {fields}"
        );
    }
    assert!(
        pairs
            .iter()
            .any(|p| p[0] == "Autorización de datos personales" && p[1] == "Aceptada"),
        "the consent is not shown in words: {fields}"
    );
    b.close().await;
}

#[tokio::test]
async fn console_times_are_bogota_ids_keep_their_case_and_focus_stays_put() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let b = Browser::start().await;
    let before = chrono::Utc::now() - chrono::Duration::hours(5);
    let (_user, _session, id) = user_with_ticket(&server, "No puedo publicar.").await;
    let after = chrono::Utc::now() - chrono::Duration::hours(5);
    console_login(&b, &server, "ana").await;
    console_claim(&b, &id).await;

    let notice = b
        .wait_js(
            "the claim notice",
            "document.querySelector('#console-notice').textContent",
            WAIT,
        )
        .await;
    assert!(
        notice
            .as_str()
            .unwrap()
            .contains(&format!("Tomó el caso {id}")),
        "{notice}"
    );
    let created = b
        .js("return document.querySelector('.conversation dd[data-field=\"creado\"]').textContent;")
        .await;
    let expected: Vec<String> = [before, after]
        .iter()
        .map(|t| t.format("%d/%m/%Y %H:%M").to_string())
        .collect();
    assert!(
        expected.iter().any(|e| created == json!(e)),
        "case created at {created}, expected Bogotá time {expected:?}"
    );
    let due = b
        .js("return document.querySelector('.conversation .conv-due').textContent;")
        .await;
    assert!(
        regex_like_date(due.as_str().unwrap().trim_start_matches("Fecha límite: ")),
        "{due}"
    );
    // Every message time is Bogotá's hour (UTC−5), whatever the computer's zone.
    let wrong = b
        .js("return Array.from(document.querySelectorAll('.transcript time.msg-time')).filter(t => {
                const d = new Date(new Date(t.getAttribute('datetime')).getTime() - 5 * 3600000);
                const hm = String(d.getUTCHours()).padStart(2, '0') + ':' + String(d.getUTCMinutes()).padStart(2, '0');
                return t.textContent !== hm;
             }).map(t => t.textContent + ' for ' + t.getAttribute('datetime'));")
        .await;
    assert_eq!(wrong, json!([]), "message times not in Bogotá time");

    // The resolution note says who reads it.
    b.click(".conversation button.resolve").await;
    let label = b
        .js("const n = document.querySelector('.conversation textarea.resolve-note'); return document.querySelector('label[for=\"' + n.id + '\"]').textContent + ' | ' + document.getElementById(n.getAttribute('aria-describedby')).textContent;")
        .await;
    assert!(
        label.as_str().unwrap().contains("para el usuario")
            && label.as_str().unwrap().contains("El usuario leerá"),
        "{label}"
    );
    b.click(".conversation button.resolve-cancel").await;

    // "Devolver al bot": focus goes somewhere, not to the page's body.
    b.click(".conversation button.release").await;
    b.wait_js(
        "the panel closes after the hand-back",
        "!document.querySelector('.conversation')",
        WAIT,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let focused = b
        .js("const a = document.activeElement; return a && a !== document.body ? (a.id || a.className) : null;")
        .await;
    assert!(!focused.is_null(), "focus was lost after the hand-back");
    b.close().await;
}

fn regex_like_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[2] == b'/'
        && b[5] == b'/'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 2 || i == 5 || c.is_ascii_digit())
}

#[tokio::test]
async fn console_and_widget_show_each_other_typing() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let b = Browser::start().await;
    let agent_win = b.c().window().await.unwrap();
    let user_win = b.c().new_window(false).await.unwrap().handle;
    let (_user, session, id) = user_with_ticket(&server, "Error al firmar.").await;
    b.switch(&agent_win).await;
    console_login(&b, &server, "ana").await;
    console_claim(&b, &id).await;

    b.switch(&user_win).await;
    widget_on(&b, &server, &session).await;
    b.type_into("#chat-input", "Tengo una pregunta").await;

    b.switch(&agent_win).await;
    b.wait_js(
        "the console shows the user typing",
        "(document.querySelector('.conversation .conv-typing')||{}).textContent === 'El usuario está escribiendo…'",
        WAIT,
    )
    .await;
    let live = b
        .js("return document.querySelector('.conversation .conv-typing').getAttribute('aria-live');")
        .await;
    assert_eq!(live, json!("polite"));
    b.type_into(".conversation textarea.agent-input", "Con gusto le")
        .await;

    b.switch(&user_win).await;
    b.wait_js(
        "the widget shows the agent typing",
        "(document.querySelector('#chat-typing')||{}).textContent === 'El asesor está escribiendo…'",
        WAIT,
    )
    .await;
    let role = b
        .js("const t = document.querySelector('#chat-typing'); return [t.getAttribute('role'), t.getAttribute('aria-live')];")
        .await;
    assert_eq!(role, json!(["status", "polite"]));
    // The agent stops: the indicator goes away by itself.
    b.wait_js(
        "the widget hides the indicator after the agent stops",
        "document.querySelector('#chat-typing').textContent === ''",
        Duration::from_secs(12),
    )
    .await;
    b.close().await;
}

#[tokio::test]
async fn console_canned_responses_work_from_the_keyboard() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let b = Browser::start().await;
    let (_user, _session, id) = user_with_ticket(&server, "No recuerdo mi clave.").await;
    console_login(&b, &server, "ana").await;
    console_claim(&b, &id).await;
    let input = ".conversation textarea.agent-input";
    b.type_into(input, "/restab").await;
    b.wait_js(
        "the canned list with the password reset",
        "Array.from(document.querySelectorAll('.conversation .canned-list [role=option]')).some(o => o.textContent === 'Pasos para restablecer la contraseña')",
        WAIT,
    )
    .await;
    let a11y = b
        .js("const i = document.querySelector('.conversation textarea.agent-input'); const l = document.getElementById(i.getAttribute('aria-controls'));
             return { role: l.getAttribute('role'), active: i.getAttribute('aria-activedescendant'), selected: l.querySelector('[aria-selected=true]').id, hidden: l.hidden };")
        .await;
    assert_eq!(a11y["role"], "listbox", "{a11y}");
    assert_eq!(a11y["active"], a11y["selected"], "{a11y}");
    assert_eq!(a11y["hidden"], false, "{a11y}");
    press(&b, input, ARROW_DOWN).await;
    press(&b, input, ENTER).await;
    let value = b
        .js("return document.querySelector('.conversation textarea.agent-input').value;")
        .await;
    assert!(
        value
            .as_str()
            .unwrap()
            .starts_with("La contraseña la puede recuperar"),
        "Enter did not put the canned text in the box: {value}"
    );
    let closed = b
        .js("return document.querySelector('.conversation .canned-list').hidden;")
        .await;
    assert_eq!(closed, json!(true));
    // Escape closes the list and leaves the text.
    b.type_into(input, "/desp").await;
    b.wait_js(
        "the closing response offered",
        "document.querySelectorAll('.conversation .canned-list [role=option]').length > 0 && !document.querySelector('.conversation .canned-list').hidden",
        WAIT,
    )
    .await;
    press(&b, input, ESCAPE).await;
    let after = b
        .js("return [document.querySelector('.conversation .canned-list').hidden, document.querySelector('.conversation textarea.agent-input').value];")
        .await;
    assert_eq!(after, json!([true, "/desp"]));
    b.close().await;
}

#[tokio::test]
async fn console_counts_unread_beeps_and_notifies_while_hidden() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let b = Browser::start().await;
    console_login(&b, &server, "ana").await;
    let off = b
        .js("return document.querySelector('#sound-toggle').getAttribute('aria-pressed');")
        .await;
    assert_eq!(off, json!("false"), "the sound is on by default");
    // Stand-ins for the browser's audio and notifications, and a hidden tab.
    b.js("window.__beeps = 0; window.__notes = [];
          window.AudioContext = function () {
            const node = () => ({ connect() {}, start() { window.__beeps += 1; }, stop() {}, frequency: {}, gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} } });
            this.currentTime = 0; this.destination = {}; this.createOscillator = node; this.createGain = node;
          };
          window.Notification = function (title, options) { window.__notes.push(title + ' | ' + (options && options.body)); };
          window.Notification.permission = 'granted';
          return true;")
        .await;
    b.click("#sound-toggle").await;
    let on = b
        .js("return [document.querySelector('#sound-toggle').getAttribute('aria-pressed'), localStorage.getItem('secobot.console.sound'), window.__beeps];")
        .await;
    assert_eq!(
        on,
        json!(["true", "1", 1]),
        "the toggle should play a sample beep"
    );
    b.js("Object.defineProperty(document, 'hidden', { configurable: true, get: () => true }); return true;")
        .await;

    let (mut user, _session, id) = user_with_ticket(&server, "Necesito ayuda con el RUP.").await;
    b.wait_js(
        "the tab title counts the new case",
        "document.title.startsWith('(1 sin leer)')",
        WAIT,
    )
    .await;
    let seen = b.js("return [window.__beeps, window.__notes];").await;
    assert_eq!(seen[0], json!(2), "{seen}");
    assert!(
        seen[1][0].as_str().unwrap().contains(&id),
        "no desktop notification for {id}: {seen}"
    );

    // Back in the tab: read.
    b.js("Object.defineProperty(document, 'hidden', { configurable: true, get: () => false }); document.dispatchEvent(new Event('visibilitychange')); return true;")
        .await;
    b.wait_js(
        "the unread count clears",
        "!document.title.includes('sin leer')",
        WAIT,
    )
    .await;
    // A held user writing while hidden counts too.
    console_claim(&b, &id).await;
    b.js("Object.defineProperty(document, 'hidden', { configurable: true, get: () => true }); return true;")
        .await;
    // An agent holds it: no bot answer to wait for.
    user.send_json(json!({"type": "say", "text": "¿Sigue ahí?"}))
        .await;
    b.wait_js(
        "the user's message counts while hidden",
        "document.title.startsWith('(1 sin leer)') && window.__notes.length === 2",
        WAIT,
    )
    .await;
    // The sound choice is remembered.
    b.goto(&format!("{}/agent", server.http_url)).await;
    let remembered = b
        .wait_js(
            "the sound toggle after a reload",
            "document.querySelector('#sound-toggle') && document.querySelector('#sound-toggle').getAttribute('aria-pressed')",
            WAIT,
        )
        .await;
    assert_eq!(remembered, json!("true"));
    b.close().await;
}

#[tokio::test]
async fn console_pages_have_no_axe_violations_in_either_scheme() {
    let server = start_with_agents(&[("ana", "agent"), ("sofia", "supervisor")], &[]);
    let (mut user, session, id) = user_with_ticket(&server, "No puedo firmar.").await;
    let mut failures = Vec::new();
    for scheme in [Scheme::Light, Scheme::Dark] {
        let b = Browser::start_scheme(scheme).await;
        b.goto(&format!("{}/agent", server.http_url)).await;
        for v in b.axe_violations().await {
            failures.push(format!("{scheme:?} login: {v}"));
        }
        // The page follows the scheme (axe alone would pass a page that ignores it).
        let rgb = b
            .js("const m = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number); return m[0] + m[1] + m[2];")
            .await
            .as_u64()
            .unwrap();
        let dark = scheme == Scheme::Dark;
        assert!(
            if dark { rgb < 200 } else { rgb > 500 },
            "{scheme:?}: the login page's background sums to {rgb}"
        );
        console_login(&b, &server, "ana").await;
        if b.js("return !!document.querySelector('.conversation');")
            .await
            == json!(false)
        {
            console_claim(&b, &id).await;
        }
        if scheme == Scheme::Light {
            user.send_json(json!({"type": "say", "text": "Gracias, espero."}))
                .await;
        }
        // The panel links the case's page (reply after the user leaves).
        let href = b
            .js("const a = document.querySelector('.conversation a.case-page-link'); return a ? a.getAttribute('href') : null;")
            .await;
        assert_eq!(href, json!(format!("/agent/tickets/{id}")));
        // A panel with a message, a note, search results and the canned list open.
        b.type_into(
            ".conversation textarea.note-input",
            "Revisar certificado de firma.",
        )
        .await;
        b.click(".conversation button.note-save").await;
        b.wait_js(
            "the note in the panel",
            "document.querySelectorAll('.conversation .notes-list .note').length > 0",
            WAIT,
        )
        .await;
        b.type_into(".conversation input.kb-search", "contraseña")
            .await;
        b.click(".conversation button.kb-search-go").await;
        b.wait_js(
            "search results",
            "document.querySelectorAll('.kb-result').length > 0",
            WAIT,
        )
        .await;
        b.type_into(".conversation textarea.agent-input", "/").await;
        b.wait_js(
            "the canned list",
            "!document.querySelector('.conversation .canned-list').hidden",
            WAIT,
        )
        .await;
        for v in b.axe_violations().await {
            failures.push(format!("{scheme:?} console: {v}"));
        }
        b.goto(&format!("{}/agent/admin", server.http_url)).await;
        for v in b.axe_violations().await {
            failures.push(format!("{scheme:?} 403 page: {v}"));
        }
        b.goto(&format!("{}/agent", server.http_url)).await;
        b.wait_js("the console", "document.querySelector('#logout')", WAIT)
            .await;
        b.click("#logout").await;
        // The logout is a form POST whose redirect shows the login form: a
        // navigation started before it lands aborts it and keeps Ana's cookie.
        b.wait_js(
            "the login form after logging out",
            "document.querySelector('#login-username')",
            WAIT,
        )
        .await;
        console_login(&b, &server, "sofia").await;
        b.goto(&format!("{}/agent/tickets", server.http_url)).await;
        b.wait_js(
            "the ticket list",
            &format!("document.body.textContent.includes('{id}')"),
            WAIT,
        )
        .await;
        for v in b.axe_violations().await {
            failures.push(format!("{scheme:?} tickets: {v}"));
        }
        let table = b
            .js("const m = getComputedStyle(document.querySelector('.table-wrap')).backgroundColor.match(/\\d+/g).map(Number); return m[0] + m[1] + m[2];")
            .await
            .as_u64()
            .unwrap();
        assert!(
            if dark { table < 200 } else { table > 500 },
            "{scheme:?}: the ticket table's background sums to {table}"
        );
        b.goto(&format!("{}/agent/tickets/{id}", server.http_url))
            .await;
        b.wait_js(
            "the case page",
            "document.querySelector('#case-reply')",
            WAIT,
        )
        .await;
        for v in b.axe_violations().await {
            failures.push(format!("{scheme:?} case page: {v}"));
        }
        b.close().await;
    }
    let _ = session;
    assert!(
        failures.is_empty(),
        "axe violations:\n{}",
        failures.join("\n")
    );
}

const TAB: &str = "\u{E004}";

/// Presses `keys` on whatever has the focus.
async fn keys_to_focus(b: &Browser, keys: &str) {
    b.c()
        .active_element()
        .await
        .unwrap()
        .send_keys(keys)
        .await
        .unwrap();
}

/// Presses Tab until `css` has the focus (at most 60 times), as a keyboard user does.
async fn tab_to(b: &Browser, css: &str) {
    let check = format!(
        "return document.activeElement === document.querySelector({});",
        json!(css)
    );
    for _ in 0..60 {
        if b.js(&check).await == json!(true) {
            return;
        }
        keys_to_focus(b, TAB).await;
    }
    panic!("Tab never reached {css}");
}

#[tokio::test]
async fn browser_case_page_reply_and_resolve_by_keyboard_only() {
    let server = start_with_agents(&[("ana", "agent")], &[]);
    let (user, session, id) = user_with_ticket(&server, "No puedo ver mis procesos.").await;
    let last_seen = user.max_seq();
    user.close().await;
    let b = Browser::start().await;
    console_login(&b, &server, "ana").await;
    b.goto(&format!("{}/agent/tickets", server.http_url)).await;
    let link = format!("a[href=\"/agent/tickets/{id}\"]");
    tab_to(&b, &link).await;
    keys_to_focus(&b, ENTER).await;
    b.wait_js(
        "the case page",
        "document.querySelector('#reply-text')",
        WAIT,
    )
    .await;
    b.screenshots("case-open").await;
    tab_to(&b, "#reply-text").await;
    keys_to_focus(&b, "Ya habilitamos su acceso; ingrese de nuevo, por favor.").await;
    keys_to_focus(&b, TAB).await;
    keys_to_focus(&b, ENTER).await;
    b.wait_js(
        "the confirmation",
        "(document.querySelector('#case-status-message')||{textContent:''}).textContent.includes('Respuesta enviada')",
        WAIT,
    )
    .await;
    let status = b
        .js("return document.querySelector('#case-status').textContent;")
        .await;
    assert_eq!(status, json!("Esperando usuario"));
    b.screenshots("case-answered").await;
    tab_to(&b, "#resolve-note").await;
    keys_to_focus(&b, "Acceso habilitado.").await;
    keys_to_focus(&b, TAB).await;
    keys_to_focus(&b, ENTER).await;
    b.wait_js(
        "the case resolved",
        "document.querySelector('#case-status').textContent === 'Resuelto'",
        WAIT,
    )
    .await;
    b.close().await;
    // The user, back, reads both.
    let mut back = server.connect().await;
    let welcome = back.hello(Some(&session), Some(last_seen)).await;
    let text = welcome["history"].to_string();
    assert!(text.contains("Ya habilitamos su acceso"), "{welcome}");
    assert!(text.contains("Acceso habilitado."), "{welcome}");
}
