//! The help center: `/kb` (every entry by group, search) and `/kb/{id}`.

use std::path::Path;
use std::time::Duration;

use crate::browser_support::Browser;
use crate::helpers::*;

/// An entry file of the bundled folder: `(group anchor on /kb, id, text)`.
struct Bundled {
    anchor: String,
    id: String,
    text: String,
}

/// Every entry of the bundled knowledge folder, read the way an editor lays it
/// out (editor backups and hidden files are not entries).
fn bundled_entries() -> Vec<Bundled> {
    let root = manifest_dir().join("knowledge");
    let mut out = Vec::new();
    let mut read = |dir: &Path, anchor: &str| {
        for file in std::fs::read_dir(dir).unwrap() {
            let path = file.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if !path.is_file() || !name.ends_with(".md") || name.starts_with(['.', '#']) {
                continue;
            }
            out.push(Bundled {
                anchor: anchor.to_owned(),
                id: name.trim_end_matches(".md").to_owned(),
                text: std::fs::read_to_string(&path).unwrap(),
            });
        }
    };
    let faq = root.join("faq");
    read(&faq, "otras-preguntas");
    for group in std::fs::read_dir(&faq).unwrap() {
        let path = group.unwrap().path();
        if path.is_dir() {
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            read(&path, &format!("grupo-{name}"));
        }
    }
    read(&root.join("terms"), "terminos-de-uso");
    assert!(
        out.len() > 20,
        "the bundled folder has entries: {}",
        out.len()
    );
    out
}

/// The part of a `/kb` page that is the section with this anchor.
fn section<'a>(body: &'a str, anchor: &str) -> &'a str {
    let start = body
        .find(&format!("<section class=\"kb-group\" id=\"{anchor}\""))
        .unwrap_or_else(|| panic!("no section #{anchor} on /kb"));
    let rest = &body[start..];
    let end = rest.find("</section>").unwrap_or(rest.len());
    &rest[..end]
}

/// The entry ids of the search results, in order.
fn result_ids(body: &str) -> Vec<String> {
    body.split("class=\"kb-result-title\" href=\"/kb/")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

fn assert_page_headers(page: &HttpResponse, what: &str) {
    assert!(
        page.header("content-type")
            .unwrap_or("")
            .contains("text/html"),
        "{what}: content-type {:?}",
        page.header("content-type")
    );
    let csp = page.header("content-security-policy").unwrap_or("");
    assert!(csp.contains("script-src 'self'"), "{what}: CSP {csp:?}");
    assert_eq!(
        page.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert!(page.body.contains("lang=\"es-CO\""), "{what}: lang");
    assert_eq!(page.body.matches("<h1").count(), 1, "{what}: one h1");
}

#[tokio::test]
async fn kb_lists_every_bundled_entry_in_its_group() {
    let server = TestServer::default_start();
    let page = server.get("/kb").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_page_headers(&page, "/kb");
    let body = &page.body;

    for heading in [
        "Acceso y usuarios",
        "Registro de cuentas",
        "Entidades estatales",
        "Proveedores",
        "Tienda Virtual del Estado Colombiano",
        "Términos de uso",
    ] {
        assert!(body.contains(heading), "/kb has no heading {heading:?}");
    }
    let pos = |a: &str| body.find(&format!("id=\"{a}\"")).unwrap_or(usize::MAX);
    assert!(
        pos("grupo-acceso") < pos("grupo-proveedores")
            && pos("grupo-proveedores") < pos("terminos-de-uso"),
        "groups in order: acceso, …, proveedores, …, términos de uso"
    );

    let entries = bundled_entries();
    for e in &entries {
        let link = format!("href=\"/kb/{}\"", e.id);
        assert!(
            section(body, &e.anchor).contains(&link),
            "/kb does not list {} under #{}",
            e.id,
            e.anchor
        );
    }
    assert!(
        body.contains(&format!("{} respuestas", entries.len())),
        "/kb gives the total of {} entries",
        entries.len()
    );

    // The search form works without JavaScript: a GET form to /kb with a labelled `q`.
    assert!(body.contains("<form class=\"kb-search\" method=\"get\" action=\"/kb\""));
    assert!(body.contains("<label for=\"kb-q\"") && body.contains("id=\"kb-q\" name=\"q\""));
    assert!(!body.contains("<script"), "/kb needs no script");
}

#[tokio::test]
async fn kb_search_finds_the_invoice_entry_near_the_top() {
    let server = TestServer::default_start();
    let page = server.get("/kb?q=factura+plan+de+pagos").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let ids = result_ids(&page.body);
    // First today; "near the top" keeps the test about the page, not the ranking.
    assert!(
        ids.iter()
            .take(3)
            .any(|id| id == "cargar-factura-plan-pagos"),
        "results: {ids:?}"
    );
    assert!(ids.len() <= 8, "a handful of results: {ids:?}");
    assert!(page
        .body
        .contains("Resultados para «factura plan de pagos»"));
    assert!(
        page.body.contains("value=\"factura plan de pagos\""),
        "the box keeps the query"
    );

    // Same search, typed the way people type it.
    let typed = server
        .get("/kb?q=%C2%BFD%C3%B3nde+subo+la+cuenta+de+cobro%3F")
        .await;
    let ids = result_ids(&typed.body);
    assert!(
        ids.iter()
            .take(3)
            .any(|id| id == "cargar-factura-plan-pagos"),
        "«¿Dónde subo la cuenta de cobro?»: {ids:?}"
    );
}

#[tokio::test]
async fn kb_search_escapes_a_hostile_query_and_says_kindly_when_nothing_fits() {
    let server = TestServer::default_start();
    let hostile = "<script>alert(1)</script>\"><img src=x onerror=alert(1)>";
    let encoded: String = hostile.bytes().map(|b| format!("%{b:02X}")).collect();
    let page = server.get(&format!("/kb?q={encoded}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        !page.body.contains("<script"),
        "a script tag reached the page"
    );
    assert!(!page.body.contains("<img"), "an img tag reached the page");
    assert!(
        page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the query is shown as text"
    );

    let nothing = server.get("/kb?q=zzqx+wvyk").await;
    assert_eq!(nothing.status, 200);
    assert!(
        nothing
            .body
            .contains("No encontramos una respuesta para «zzqx wvyk»"),
        "{}",
        nothing.body
    );
    assert!(result_ids(&nothing.body).is_empty());
    assert!(nothing.body.contains("href=\"/\""), "offers the chat");
    assert!(
        nothing.body.contains("id=\"grupo-acceso\""),
        "the full list follows"
    );

    let slash = server.get("/kb/").await;
    assert_eq!(slash.status, 308, "/kb/ redirects");
    assert_eq!(slash.header("location"), Some("/kb"));

    // Repeated, empty and stray parameters are not errors.
    for path in ["/kb?q=", "/kb?q=a&q=b", "/kb?x=1", "/kb?q=%FF%FE"] {
        assert_eq!(server.get(path).await.status, 200, "GET {path}");
    }
}

#[tokio::test]
async fn kb_entry_page_shows_group_sources_review_date_and_related() {
    let server = TestServer::default_start();
    let entries = bundled_entries();
    let entry = entries
        .iter()
        .find(|e| e.id == "cargar-factura-plan-pagos")
        .expect("the bundled folder has cargar-factura-plan-pagos");
    let page = server.get("/kb/cargar-factura-plan-pagos").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_page_headers(&page, "/kb/cargar-factura-plan-pagos");
    let body = &page.body;

    assert!(
        body.contains(&format!("<a href=\"/kb#{}\">Proveedores</a>", entry.anchor)),
        "breadcrumb to the group"
    );
    assert!(body.contains("<a href=\"/kb\">Centro de ayuda</a>"));

    let sources = front_list(&entry.text, "sources");
    assert!(!sources.is_empty());
    for url in &sources {
        assert!(
            body.contains(&format!(
                "<a href=\"{}\" target=\"_blank\" rel=\"noopener noreferrer\">",
                html_escape(url)
            )),
            "source {url} is not a new-tab link"
        );
    }

    let reviewed = front_value(&entry.text, "reviewed").expect("reviewed:");
    let (y, rest) = reviewed.split_once('-').unwrap();
    let (m, d) = rest.split_once('-').unwrap();
    assert!(
        body.contains(&format!("Revisado el {d}/{m}/{y}")),
        "review date as dd/mm/yyyy ({reviewed})"
    );

    let related = &body[body.find("Temas relacionados").expect("related topics")..];
    let related = &related[..related.find("</section>").unwrap()];
    let links = related.matches("href=\"/kb/").count();
    assert!((3..=5).contains(&links), "3 to 5 related topics: {related}");
    assert!(
        !related.contains("href=\"/kb/cargar-factura-plan-pagos\""),
        "not itself"
    );
    assert!(body.contains("href=\"/\""), "a link to the chat");

    // A `seed` source is plain words, not a link.
    if let Some(seeded) = entries
        .iter()
        .find(|e| front_list(&e.text, "sources").iter().any(|s| s == "seed"))
    {
        let page = server.get(&format!("/kb/{}", seeded.id)).await;
        assert!(page
            .body
            .contains("Carta de respuesta de Colombia Compra Eficiente"));
        assert!(!page.body.contains("href=\"seed\""));
    }

    // A terms section links back to the terms of use.
    let terms = server.get("/kb/firma-electronica").await;
    assert!(terms
        .body
        .contains("<a href=\"/kb#terminos-de-uso\">Términos de uso</a>"));
}

#[tokio::test]
async fn kb_unknown_entry_gives_the_spanish_404_page() {
    let server = TestServer::default_start();
    let page = server.get("/kb/no-existe-esta-entrada").await;
    assert_eq!(page.status, 404);
    assert_page_headers(&page, "404");
    assert!(
        page.body.contains("No encontramos esa página"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("href=\"/kb\""),
        "points to the help center"
    );
}

#[tokio::test]
async fn kb_pages_fit_a_390px_phone_and_show_keyboard_focus() {
    let server = TestServer::default_start();
    let browser = Browser::start().await;
    browser.c().set_window_size(390, 844).await.unwrap();
    let mut paths = vec!["/kb".to_owned(), "/kb?q=factura+plan+de+pagos".to_owned()];
    paths.extend(bundled_entries().iter().map(|e| format!("/kb/{}", e.id)));
    for path in &paths {
        browser.goto(&format!("{}{path}", server.http_url)).await;
        let widths = browser
            .wait_js(
                &format!("{path} loaded"),
                "document.readyState === 'complete' && [document.documentElement.scrollWidth, window.innerWidth]",
                Duration::from_secs(10),
            )
            .await;
        let (scroll, inner) = (widths[0].as_i64().unwrap(), widths[1].as_i64().unwrap());
        assert!(inner <= 400, "the window is phone-sized: {inner}px");
        assert!(
            scroll <= inner,
            "{path} scrolls sideways at {inner}px: {scroll}px wide"
        );
    }

    // The search field has a label and a visible keyboard focus.
    browser.goto(&format!("{}/kb", server.http_url)).await;
    let focus = browser
        .js("const q = document.querySelector('#kb-q'); q.focus(); const s = getComputedStyle(q); return [q.labels.length, s.outlineStyle, s.outlineWidth];")
        .await;
    assert_eq!(focus[0], 1, "one label for the search field: {focus}");
    assert_ne!(focus[1], "none", "a visible focus outline: {focus}");
    assert_ne!(focus[2], "0px", "a visible focus outline: {focus}");
    browser.close().await;
}

/// A `key: value` of the front matter (value unquoted).
fn front_value(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
}

/// The `- item` lines under `key:` in the front matter.
fn front_list(text: &str, key: &str) -> Vec<String> {
    let mut lines = text
        .lines()
        .skip_while(|l| !l.starts_with(&format!("{key}:")));
    lines.next();
    lines
        .map_while(|l| l.trim_start().strip_prefix("- "))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .collect()
}
