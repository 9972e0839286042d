//! Markdown → safe HTML (pulldown-cmark, then ammonia), and → a short plain-text
//! excerpt. Shared by answers and pages.
//!
//! Bare addresses in the text (`https://…`, `www.…`, e-mails) become links
//! (found by `linkify`, which gets the edges right around punctuation), and
//! every link opens in a new tab without handing the opener or the referrer to
//! the other site: answers are read inside the chat, which must stay open.

use pulldown_cmark::{CowStr, Event, LinkType, Tag, TagEnd};

/// Markdown → HTML, sanitised (no scripts, no event handlers, safe links),
/// with bare URLs made links and every link opening in a new tab.
pub fn markdown(md: &str) -> String {
    use pulldown_cmark::{html, Options, Parser};
    let parser = Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH);
    let mut out = String::with_capacity(md.len() * 3 / 2);
    html::push_html(&mut out, Linkified::new(parser));
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer"))
        .set_tag_attribute_value("a", "target", "_blank")
        .clean(&out)
        .to_string()
}

/// Wraps a Markdown event stream: text outside links and code blocks is split
/// at the URLs and e-mail addresses it holds, each becoming a link.
struct Linkified<'a, I> {
    inner: I,
    /// Inside a link (its text is already a link) or a code block.
    verbatim: usize,
    pending: std::collections::VecDeque<Event<'a>>,
    finder: linkify::LinkFinder,
}

impl<'a, I: Iterator<Item = Event<'a>>> Linkified<'a, I> {
    fn new(inner: I) -> Self {
        let mut finder = linkify::LinkFinder::new();
        // `www.secop.gov.co` has no scheme; which scheme-less finds to keep is
        // decided in `href_for`.
        finder.url_must_have_scheme(false);
        Linkified {
            inner,
            verbatim: 0,
            pending: std::collections::VecDeque::new(),
            finder,
        }
    }

    fn split(&mut self, text: &str) {
        let mut rest_start = 0;
        for link in self.finder.links(text) {
            let Some(href) = href_for(link.as_str(), link.kind()) else {
                continue;
            };
            if link.start() > rest_start {
                self.pending.push_back(Event::Text(CowStr::from(
                    text[rest_start..link.start()].to_owned(),
                )));
            }
            let tag = Tag::Link {
                link_type: LinkType::Autolink,
                dest_url: CowStr::from(href),
                title: CowStr::from(""),
                id: CowStr::from(""),
            };
            self.pending.push_back(Event::Start(tag));
            self.pending
                .push_back(Event::Text(CowStr::from(link.as_str().to_owned())));
            self.pending.push_back(Event::End(TagEnd::Link));
            rest_start = link.end();
        }
        if rest_start < text.len() {
            self.pending
                .push_back(Event::Text(CowStr::from(text[rest_start..].to_owned())));
        }
    }
}

/// Where a found address should point, or `None` to leave it as text: a URL
/// with a scheme as is, `www.…` over https, an e-mail as `mailto:`. Other
/// scheme-less matches (`archivo.pdf`, `secop.gov.co`) stay text: too many
/// words with a dot look like domains.
fn href_for(found: &str, kind: &linkify::LinkKind) -> Option<String> {
    match kind {
        linkify::LinkKind::Email => Some(format!("mailto:{found}")),
        linkify::LinkKind::Url => {
            let lower = found.to_ascii_lowercase();
            if lower.starts_with("http://") || lower.starts_with("https://") {
                Some(found.to_owned())
            } else if lower.starts_with("www.") {
                Some(format!("https://{found}"))
            } else {
                None
            }
        }
        _ => None,
    }
}

impl<'a, I: Iterator<Item = Event<'a>>> Iterator for Linkified<'a, I> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        if let Some(e) = self.pending.pop_front() {
            return Some(e);
        }
        let event = self.inner.next()?;
        match &event {
            Event::Start(Tag::Link { .. } | Tag::CodeBlock(_)) => self.verbatim += 1,
            Event::End(TagEnd::Link | TagEnd::CodeBlock) => {
                self.verbatim = self.verbatim.saturating_sub(1)
            }
            Event::Text(text) if self.verbatim == 0 => {
                let text = text.clone();
                self.split(&text);
                return self.pending.pop_front();
            }
            _ => {}
        }
        Some(event)
    }
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

    #[test]
    fn bare_urls_and_www_addresses_become_links_that_open_in_a_new_tab() {
        let html = markdown(
            "Formulario: https://www.colombiacompra.gov.co/soporte/formulario. \
             Términos en www.secop.gov.co/terminos (página oficial), o escriba a soporte@example.gov.co.",
        );
        assert!(
            html.contains(r#"<a href="https://www.colombiacompra.gov.co/soporte/formulario" rel="noopener noreferrer" target="_blank">https://www.colombiacompra.gov.co/soporte/formulario</a>."#)
                || html.contains(r#"href="https://www.colombiacompra.gov.co/soporte/formulario""#),
            "{html}"
        );
        // The trailing period and the parenthesis are not part of the address.
        assert!(
            html.contains(r#"href="https://www.secop.gov.co/terminos""#),
            "{html}"
        );
        assert!(
            html.contains(r#"href="mailto:soporte@example.gov.co""#),
            "{html}"
        );
        for a in html.split("<a ").skip(1) {
            let tag = &a[..a.find('>').unwrap()];
            assert!(tag.contains(r#"target="_blank""#), "{tag}");
            assert!(tag.contains(r#"rel="noopener noreferrer""#), "{tag}");
        }
        assert_eq!(html.matches("<a ").count(), 3, "{html}");
    }

    #[test]
    fn written_links_open_in_a_new_tab_and_are_not_linked_twice() {
        let html =
            markdown("Vea [el formulario](https://example.gov.co/f) o <https://example.gov.co/g>.");
        assert_eq!(html.matches("<a ").count(), 2, "{html}");
        assert_eq!(html.matches(r#"target="_blank""#).count(), 2, "{html}");
        assert_eq!(
            html.matches(r#"rel="noopener noreferrer""#).count(),
            2,
            "{html}"
        );
    }

    #[test]
    fn code_and_words_with_dots_stay_text() {
        let html = markdown(
            "Suba `https://x.example/a` y el archivo factura.pdf.\n\n```\nhttps://y.example\n```",
        );
        assert!(!html.contains("<a "), "{html}");
    }

    #[test]
    fn linkified_text_is_still_sanitised() {
        let html =
            markdown("https://example.gov.co/?q=<script>alert(1)</script> javascript:alert(1)");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains(r#"href="javascript"#), "{html}");
    }
}
