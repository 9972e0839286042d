//! Markdown → safe HTML (pulldown-cmark, then ammonia), and → a short plain-text
//! excerpt. Shared by answers and pages.

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

/// The first paragraph (or list item, or heading) of `md` as plain text, cut
/// at a word boundary to at most `max` characters with "…". For result lists:
/// no markup, so the page escapes it like any other text.
pub fn excerpt(md: &str, max: usize) -> String {
    use pulldown_cmark::{Event, Parser, TagEnd};
    let mut text = String::new();
    for event in Parser::new(md) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item)
                if !text.trim().is_empty() =>
            {
                break
            }
            _ => {}
        }
        // Enough to cut from; long bodies are not walked to the end.
        if text.len() > max * 4 {
            break;
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max {
        return text;
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > max / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!(
        "{}…",
        cut.trim_end_matches(|c: char| c.is_whitespace() || c == ',' || c == ':' || c == ';')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_is_the_first_paragraph_as_text_cut_at_a_word() {
        let md = "El **contratista** carga la `factura`\ny la envía.\n\nSegundo párrafo.";
        assert_eq!(
            excerpt(md, 200),
            "El contratista carga la factura y la envía."
        );
        let short = excerpt(md, 20);
        assert!(short.ends_with('…'), "{short}");
        assert!(short.chars().count() <= 20, "{short}");
        assert!(short.starts_with("El contratista"), "{short}");
        assert_eq!(excerpt("1. **Uno** paso\n2. Dos", 200), "Uno paso");
        assert_eq!(excerpt("<script>x</script>", 200), "");
    }

    #[test]
    fn markdown_is_sanitised() {
        let html = markdown("**hola** <script>alert(1)</script> <img src=x onerror=alert(1)> [a](javascript:alert(1))");
        assert!(html.contains("<strong>hola</strong>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("onerror"));
        assert!(!html.contains("javascript:"));
    }
}
