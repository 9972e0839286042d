//! Agents managed while the server runs: `/agent/admin` (HTTP and a browser),
//! `secobot agent …` through the admin socket, and the audit log.

use std::time::Duration;

use crate::browser_support::{Browser, Scheme};
use crate::helpers::*;

/// `POST path` form-encoded with a cookie (and an `Origin`, if given).
async fn post_form(
    server: &TestServer,
    cookie: &str,
    origin: Option<&str>,
    path: &str,
    fields: &[(&str, &str)],
) -> HttpResponse {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
        .collect();
    let mut headers = vec![
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Cookie", cookie),
    ];
    if let Some(o) = origin {
        headers.push(("Origin", o));
    }
    http_request(
        &server.http_url,
        "POST",
        path,
        &headers,
        body.join("&").as_bytes(),
    )
    .await
}

async fn get_with(server: &TestServer, cookie: &str, path: &str) -> HttpResponse {
    http_request(&server.http_url, "GET", path, &[("Cookie", cookie)], b"").await
}

/// The one-time password shown on the page.
fn shown_password(body: &str) -> String {
    let start = body
        .find("id=\"one-time-password\">")
        .unwrap_or_else(|| panic!("no one-time password on the page:\n{body}"))
        + "id=\"one-time-password\">".len();
    let end = body[start..].find("</code>").unwrap() + start;
    body[start..end].to_owned()
}

fn own_origin(server: &TestServer) -> String {
    server.http_url.clone()
}

#[tokio::test]
async fn supervisor_adds_an_agent_on_admin_page_who_logs_in_without_restart() {
    let server = start_with_agents(&[("jefa", "supervisor")], &[]);
    let cookie = login(&server, "jefa").await;
    let origin = own_origin(&server);

    let page = get_with(&server, &cookie, "/agent/admin").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("data-account=\"jefa\""), "{}", page.body);

    let r = post_form(
        &server,
        &cookie,
        Some(&origin),
        "/agent/admin/add",
        &[
            ("username", "nuevo"),
            ("display_name", "Nuevo Asesor"),
            ("role", "agent"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let password = shown_password(&r.body);
    assert!(password.len() >= 16, "{password}");

    // The new account logs in at once, no restart.
    let login = login_json(&server, "nuevo", &password).await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert_eq!(login.json()["agent"]["display_name"], "Nuevo Asesor");

    // A second add of the same name is refused, in Spanish.
    let again = post_form(
        &server,
        &cookie,
        Some(&origin),
        "/agent/admin/add",
        &[
            ("username", "nuevo"),
            ("display_name", ""),
            ("role", "agent"),
        ],
    )
    .await;
    assert_eq!(again.status, 400);
    assert!(again.body.contains("Ya existe la cuenta"), "{}", again.body);

    // Role and display name change; the audit log lists every change, by
    // whom, in Bogotá time, and never the password.
    let r = post_form(
        &server,
        &cookie,
        Some(&origin),
        "/agent/admin/display-name",
        &[("username", "nuevo"), ("display_name", "Nuevo Pérez")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post_form(
        &server,
        &cookie,
        Some(&origin),
        "/agent/admin/role",
        &[("username", "nuevo"), ("role", "supervisor")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let page = get_with(&server, &cookie, "/agent/admin").await;
    assert!(!page.body.contains(&password), "password shown again");
    let audit = &page.body[page.body.find("id=\"audit\"").expect("audit table")..];
    for needle in [
        "creó la cuenta",
        "cambió el nombre visible",
        "cambió el rol de asesor a supervisor",
    ] {
        assert!(
            audit.contains(needle),
            "{needle} not in the audit:\n{audit}"
        );
    }
    assert!(audit.contains("<td>jefa</td>"), "{audit}");
    let stamp = regex_like_date(audit);
    assert!(stamp, "no dd/mm/yyyy hh:mm time in the audit:\n{audit}");
}

/// Whether `text` holds a `dd/mm/yyyy hh:mm` time.
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

#[tokio::test]
async fn admin_page_refuses_non_supervisors_in_spanish_and_foreign_origins() {
    let server = start_with_agents(&[("jefa", "supervisor"), ("ana", "agent")], &[]);
    let ana = login(&server, "ana").await;
    let r = get_with(&server, &ana, "/agent/admin").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("Solo los supervisores"), "{}", r.body);
    let r = post_form(
        &server,
        &ana,
        None,
        "/agent/admin/add",
        &[("username", "colado"), ("role", "supervisor")],
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("Solo los supervisores"), "{}", r.body);

    // A supervisor's cookie sent from another site does nothing.
    let jefa = login(&server, "jefa").await;
    let r = post_form(
        &server,
        &jefa,
        Some("http://evil.example"),
        "/agent/admin/disable",
        &[("username", "ana")],
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Without a login: to the login page.
    let r = server.get("/agent/admin").await;
    assert_eq!(r.status, 303, "{}", r.body);

    let list = run_cli(
        &["agent", "list", "--data", server.data_dir.to_str().unwrap()],
        "",
    );
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(!listed.contains("colado"), "{listed}");
    assert!(!listed.contains("deshabilitada"), "{listed}");
}

/// Sends frames the console answers with an `error`, until the socket refuses.
async fn flood(console: &mut WsClient) {
    for _ in 0..300 {
        if console
            .try_send_raw_text("no es json".into())
            .await
            .is_err()
        {
            break;
        }
    }
}

/// Kind: the closing handshake on the console. A console still sending
/// when the server closes it (here: its agent disabled) must get the Close
/// frame with its code; a socket dropped with the agent's frames unread was
/// reset by the kernel, and the Close that said why was lost.
#[tokio::test]
async fn the_console_close_code_reaches_an_agent_that_is_still_sending() {
    let names: Vec<String> = (0..8).map(|i| format!("agente{i}")).collect();
    let mut accounts = vec![("jefa", "supervisor")];
    accounts.extend(names.iter().map(|n| (n.as_str(), "agent")));
    let server = start_with_agents(&accounts, &[]);
    let jefa = login(&server, "jefa").await;
    for name in &names {
        let cookie = login(&server, name).await;
        let (mut console, _) = agent_socket(&server, &cookie).await;
        flood(&mut console).await;
        let r = post_form(
            &server,
            &jefa,
            Some(&own_origin(&server)),
            "/agent/admin/disable",
            &[("username", name.as_str())],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        flood(&mut console).await;
        assert_eq!(
            console.close_code(Duration::from_secs(10)).await,
            Some(1008),
            "{name}"
        );
    }
}

#[tokio::test]
async fn disabled_agent_loses_logins_console_socket_and_login() {
    let server = start_with_agents(&[("jefa", "supervisor"), ("ana", "agent")], &[]);
    let jefa = login(&server, "jefa").await;
    let ana = login(&server, "ana").await;
    let (mut console, _) = agent_socket(&server, &ana).await;

    let r = post_form(
        &server,
        &jefa,
        Some(&own_origin(&server)),
        "/agent/admin/disable",
        &[("username", "ana")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    assert_eq!(
        console.close_code(Duration::from_secs(5)).await,
        Some(1008),
        "the console of a disabled agent must close"
    );
    // Her cookie no longer opens the console, nor the socket.
    let page = get_with(&server, &ana, "/agent").await;
    assert!(page.body.contains("login-username"), "{}", page.body);
    assert_eq!(
        ws_upgrade(&agent_ws_url(&server), &[("Cookie", &ana)])
            .await
            .err(),
        Some(401)
    );
    let r = login_json(&server, "ana", &password_for("ana")).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("deshabilitado"), "{}", r.body);

    // Enabled again, she logs in; a supervisor cannot disable herself.
    let r = post_form(
        &server,
        &jefa,
        Some(&own_origin(&server)),
        "/agent/admin/enable",
        &[("username", "ana")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        login_json(&server, "ana", &password_for("ana"))
            .await
            .status,
        200
    );
    let r = post_form(
        &server,
        &jefa,
        Some(&own_origin(&server)),
        "/agent/admin/disable",
        &[("username", "jefa")],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);

    // A password reset is shown once and replaces the old one.
    let r = post_form(
        &server,
        &jefa,
        Some(&own_origin(&server)),
        "/agent/admin/password",
        &[("username", "ana")],
    )
    .await;
    let fresh = shown_password(&r.body);
    assert_eq!(
        login_json(&server, "ana", &password_for("ana"))
            .await
            .status,
        401
    );
    assert_eq!(login_json(&server, "ana", &fresh).await.status, 200);

    let page = get_with(&server, &jefa, "/agent/admin").await;
    for needle in [
        "deshabilitó la cuenta",
        "habilitó la cuenta",
        "restableció la contraseña",
    ] {
        assert!(page.body.contains(needle), "{needle}:\n{}", page.body);
    }
}

#[tokio::test]
async fn agent_add_cli_against_a_running_server_works_through_the_admin_socket() {
    let server = start_with_agents(&[("jefa", "supervisor")], &[]);
    let data = server.data_dir.to_str().unwrap().to_owned();
    let socket = server.data_dir.join("admin.sock");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&socket)
            .expect("admin.sock in the data folder")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "admin.sock mode {mode:o}");
    }

    let out = run_cli(
        &[
            "agent",
            "add",
            "pedro",
            "--display-name",
            "Pedro Gómez",
            "--data",
            &data,
        ],
        &format!("{}\n", password_for("pedro")),
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        login_json(&server, "pedro", &password_for("pedro"))
            .await
            .status,
        200,
        "pedro logs in at once"
    );

    let out = run_cli(&["agent", "disable", "pedro", "--data", &data], "");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        login_json(&server, "pedro", &password_for("pedro"))
            .await
            .status,
        403
    );
    let out = run_cli(&["agent", "list", "--data", &data], "");
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("pedro\tagent\tPedro Gómez\tdeshabilitada")),
        "{listed}"
    );
    let out = run_cli(&["agent", "remove", "nadie", "--data", &data], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("No existe la cuenta"),
        "{out:?}"
    );

    let out = run_cli(&["agent", "audit", "--data", &data], "");
    let audit = String::from_utf8_lossy(&out.stdout);
    assert!(audit.contains("línea de comandos"), "{audit}");
    assert!(audit.contains("creó la cuenta"), "{audit}");
    assert!(audit.contains("deshabilitó la cuenta"), "{audit}");
    assert!(!audit.contains(&password_for("pedro")), "{audit}");

    // The supervisors' page shows the command line's changes too.
    let jefa = login(&server, "jefa").await;
    let page = get_with(&server, &jefa, "/agent/admin").await;
    assert!(page.body.contains("línea de comandos"), "{}", page.body);

    // Stopped server: the same command works on the folder directly.
    let mut server = server;
    server.terminate();
    let out = run_cli(&["agent", "enable", "pedro", "--data", &data], "");
    assert!(out.status.success(), "{out:?}");
    assert!(!socket.exists(), "the socket file is removed at shutdown");
}

#[tokio::test]
async fn browser_supervisor_adds_an_agent_on_admin_page() {
    let server = start_with_agents(&[("jefa", "supervisor")], &[]);
    for scheme in [Scheme::Light, Scheme::Dark] {
        let b = Browser::start_scheme(scheme).await;
        b.goto(&format!("{}/agent", server.http_url)).await;
        b.type_into("#login-username", "jefa").await;
        b.type_into("#login-password", &password_for("jefa")).await;
        b.click("#login-submit").await;
        b.wait_js(
            "the console shows the admin link to a supervisor",
            "!!document.querySelector('#admin-link')",
            Duration::from_secs(15),
        )
        .await;
        b.click("#admin-link").await;
        b.wait_js(
            "the admin page opens",
            "!!document.querySelector('#add-agent')",
            Duration::from_secs(10),
        )
        .await;
        let v = b.axe_violations().await;
        assert!(v.is_empty(), "{scheme:?} /agent/admin: {v:#?}");
        // The page follows the scheme (axe alone would pass one that ignores it).
        let rgb = b
            .js("const m = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number); return m[0] + m[1] + m[2];")
            .await
            .as_u64()
            .unwrap();
        if scheme == Scheme::Dark {
            assert!(rgb < 200, "dark /agent/admin background sums to {rgb}");
        } else {
            assert!(rgb > 500, "light /agent/admin background sums to {rgb}");
        }

        let name = match scheme {
            Scheme::Light => "clara",
            Scheme::Dark => "oscura",
        };
        b.type_into("#add-username", name).await;
        b.type_into("#add-display-name", "Asesora Nueva").await;
        b.click("#add-agent button[type=submit]").await;
        let password = b
            .wait_js(
                "the one-time password is shown",
                "(document.querySelector('#one-time-password')||{}).textContent",
                Duration::from_secs(10),
            )
            .await;
        let password = password.as_str().unwrap().to_owned();
        let v = b.axe_violations().await;
        assert!(v.is_empty(), "{scheme:?} after adding: {v:#?}");
        b.close().await;

        let r = login_json(&server, name, &password).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
}
