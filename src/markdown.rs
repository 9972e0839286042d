//! Markdown → safe HTML (pulldown-cmark, then ammonia). Shared by answers and pages.

/// Markdown → HTML, sanitised (no scripts, no event handlers, safe links).
pub fn markdown(md: &str) -> String {
    use pulldown_cmark::{html, Options, Parser};
    let parser = Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH);
    let mut out = String::with_capacity(md.len() * 3 / 2);
    html::push_html(&mut out, parser);
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer"))
        .clean(&out)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_sanitised() {
        let html = markdown("**hola** <script>alert(1)</script> <img src=x onerror=alert(1)> [a](javascript:alert(1))");
        assert!(html.contains("<strong>hola</strong>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("onerror"));
        assert!(!html.contains("javascript:"));
    }
}
