//! The axe-core harness itself: it must see a violation where there is one and
//! must see the color scheme the browser was asked for, or the pages' own
//! accessibility tests (0 violations, light and dark) would prove nothing.

use serde_json::json;

use crate::browser_support::{Browser, Scheme};

const BROKEN_PAGE: &str = "data:text/html;charset=utf-8,<!doctype html><html lang=es><head><title>t</title></head><body><main><img src=x.png><button></button></main></body></html>";

#[tokio::test]
async fn axe_harness_reports_missing_names() {
    let browser = Browser::start().await;
    browser.goto(BROKEN_PAGE).await;
    let violations = browser.axe_violations().await;
    let ids: Vec<&str> = violations
        .iter()
        .map(|v| v.split(' ').next().unwrap_or(""))
        .collect();
    assert!(ids.contains(&"image-alt"), "{violations:#?}");
    assert!(ids.contains(&"button-name"), "{violations:#?}");
    browser.close().await;
}

#[tokio::test]
async fn dark_scheme_browser_matches_prefers_color_scheme_dark() {
    for (scheme, dark) in [(Scheme::Light, false), (Scheme::Dark, true)] {
        let browser = Browser::start_scheme(scheme).await;
        browser.goto(BROKEN_PAGE).await;
        let seen = browser
            .js("return matchMedia('(prefers-color-scheme: dark)').matches;")
            .await;
        assert_eq!(seen, json!(dark), "{scheme:?}");
        browser.close().await;
    }
}
