//! Everything people read that is not knowledge content: reply wording and
//! pages, from handlebars templates under `templates/` (a folder on disk, or the
//! copy embedded in the binary: see `bundled`), plus Markdown → safe HTML.
//!
//! All templates are registered at start-up in strict mode, so a broken one
//! (or one missing) stops the server before it serves anything. Pages are
//! HTML-escaped; reply templates produce plain text (the widget shows it as
//! text), so they are not.

use std::collections::HashMap;
use std::path::PathBuf;

use handlebars::Handlebars;
use serde::Serialize;

pub use crate::bundled::TemplateSource;

/// The reply templates the code uses; each must exist as `templates/replies/<name>.hbs`.
pub const REPLY_TEMPLATES: &[&str] = &[
    "greeting",
    "courtesy_greeting",
    "courtesy_thanks",
    "courtesy_farewell",
    "courtesy_opening",
    "new_conversation",
    "fallback",
    "out_of_scope",
    "suggest",
    "flow_cancelled",
    "flow_ended",
    "flow_not_a_button",
    "flow_lost",
    "flow_resume",
    "ticket_opened",
    "ticket_exists",
    "ticket_status",
    "agent_joined",
    "agent_left",
    "queue_position",
    "no_agents",
    "outside_hours",
    "ticket_resolved",
    "also_asked",
    "secret_masked",
    "case_follow_up",
    "case_lookup_number",
    "case_lookup_email",
    "case_lookup_cancelled",
    "case_lookup_not_found",
    "case_lookup_locked",
    "case_lookup_found",
    "case_reply_prompt",
    "case_reply_added",
    "case_reply_closed",
    "case_reply_failed",
    "fallback_case",
    "fallback_nearest",
];

/// The e-mail templates; each must exist as `templates/mail/<name>.hbs`, plain
/// text whose first line is `Asunto: …`, then a blank line and the body.
pub const MAIL_TEMPLATES: &[&str] = &["caso_abierto", "respuesta_agente", "caso_resuelto"];

/// The page templates; each must exist as `templates/<name>.hbs`.
pub const PAGE_TEMPLATES: &[&str] = &[
    "widget",
    "kb",
    "entry",
    "agent",
    "agent_login",
    "tickets",
    "case",
    "admin",
    "agent_forbidden",
    "not_found",
    "error",
    "transcript",
];

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("failed to read template {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("template {path} is invalid: {source}")]
    Template {
        path: PathBuf,
        source: Box<handlebars::TemplateError>,
    },
    #[error("template {0} is missing under templates/")]
    Missing(String),
    #[error("failed to render {name}: {source}")]
    Render {
        name: String,
        source: Box<handlebars::RenderError>,
    },
}

/// A static file served under `/assets/`.
pub struct Asset {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

pub struct Renderer {
    pages: Handlebars<'static>,
    replies: Handlebars<'static>,
    /// Lenient, unescaped: flow steps' `say`, which may name fields not yet known.
    flow_text: Handlebars<'static>,
    /// The same, for the HTML version: typed values are escaped for Markdown
    /// (and so for HTML), so `<img …>` typed as a name stays text.
    flow_markdown: Handlebars<'static>,
    assets: HashMap<String, Asset>,
    /// Changes when assets change, for cache-busting URLs.
    pub asset_version: String,
}

impl Renderer {
    /// Loads and checks every template from `source`.
    ///
    /// # Errors
    /// A template that cannot be read or parsed, or one the code needs that
    /// is missing from both the folder and the binary.
    pub fn load(source: &TemplateSource) -> Result<Self, RenderError> {
        let mut pages = Handlebars::new();
        pages.set_strict_mode(true);
        let mut replies = Handlebars::new();
        replies.set_strict_mode(true);
        replies.register_escape_fn(handlebars::no_escape);
        let mut flow_text = Handlebars::new();
        flow_text.register_escape_fn(handlebars::no_escape);
        let mut flow_markdown = Handlebars::new();
        flow_markdown.register_escape_fn(escape_markdown);

        for name in PAGE_TEMPLATES {
            register(&mut pages, name, source, &format!("{name}.hbs"))?;
        }
        for name in REPLY_TEMPLATES {
            register(&mut replies, name, source, &format!("replies/{name}.hbs"))?;
        }
        for name in MAIL_TEMPLATES {
            register(
                &mut replies,
                &format!("mail/{name}"),
                source,
                &format!("mail/{name}.hbs"),
            )?;
        }
        let mut assets = HashMap::new();
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for (name, bytes) in read_assets(source)? {
            for b in &bytes {
                // FNV-1a: a cheap content fingerprint, not a security measure.
                hash = (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
            }
            let content_type = content_type(&name);
            assets.insert(
                name,
                Asset {
                    bytes,
                    content_type,
                },
            );
        }
        Ok(Renderer {
            pages,
            replies,
            flow_text,
            flow_markdown,
            assets,
            asset_version: format!("{hash:016x}"),
        })
    }

    /// An e-mail's subject and body from `templates/mail/<name>.hbs`.
    ///
    /// # Errors
    /// The template failed, or has no `Asunto:` first line.
    pub fn mail<T: Serialize>(&self, name: &str, data: &T) -> Result<(String, String), String> {
        let text = self
            .replies
            .render(&format!("mail/{name}"), data)
            .map_err(|e| format!("plantilla de correo {name}: {e}"))?;
        let (first, body) = text.split_once('\n').unwrap_or((text.as_str(), ""));
        let subject = first
            .strip_prefix("Asunto:")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("la plantilla de correo {name} debe empezar con «Asunto: …»"))?;
        Ok((subject.to_owned(), body.trim().to_owned() + "\n"))
    }

    /// Renders reply wording. A failure is logged and the template name is
    /// returned, so a wording mistake never breaks a conversation.
    pub fn reply<T: Serialize>(&self, name: &str, data: &T) -> String {
        match self.replies.render(name, data) {
            Ok(text) => text.trim().to_owned(),
            Err(e) => {
                tracing::error!(template = name, error = %e, "failed to render reply template");
                name.to_owned()
            }
        }
    }

    /// Renders a flow step's `say` with the fields collected so far; on error,
    /// the text as written.
    pub fn flow_text<T: Serialize>(&self, template: &str, data: &T) -> String {
        match self.flow_text.render_template(template, data) {
            Ok(text) => text.trim().to_owned(),
            Err(e) => {
                tracing::warn!(error = %e, "failed to render a flow step");
                template.to_owned()
            }
        }
    }

    /// Renders a flow step's `say` as Markdown for its HTML version: the
    /// template's own Markdown stays, every value typed by a person is escaped.
    pub fn flow_markdown<T: Serialize>(&self, template: &str, data: &T) -> String {
        match self.flow_markdown.render_template(template, data) {
            Ok(text) => text.trim().to_owned(),
            Err(e) => {
                tracing::warn!(error = %e, "failed to render a flow step");
                escape_markdown(template)
            }
        }
    }

    /// Renders a page.
    ///
    /// # Errors
    /// When the template fails on this data (a missing variable in strict mode).
    pub fn page<T: Serialize>(&self, name: &str, data: &T) -> Result<String, RenderError> {
        self.pages
            .render(name, data)
            .map_err(|source| RenderError::Render {
                name: name.to_owned(),
                source: Box::new(source),
            })
    }

    pub fn asset(&self, name: &str) -> Option<&Asset> {
        self.assets.get(name)
    }
}

/// Compiles every flow step's `say`, so `check` and reloads catch a broken
/// template (`{{#if}}` without its close, say) with its file and line.
pub fn check_flow_templates(
    knowledge: &crate::knowledge::Knowledge,
) -> Vec<crate::problem::Problem> {
    let mut problems = Vec::new();
    for flow in &knowledge.flows {
        for step in flow.steps.values() {
            if let Err(e) = handlebars::Template::compile(&step.say) {
                problems.push(crate::problem::Problem::new(
                    &flow.path,
                    step.line,
                    format!(
                        "el texto (say) del paso «{}» tiene un error de plantilla: revise que cada {{{{ tenga su }}}} y cada {{{{#if …}}}} su {{{{/if}}}} ({})",
                        step.name,
                        e.reason().to_string().chars().take(80).collect::<String>()
                    ),
                ));
            }
        }
    }
    problems
}

/// Makes a value inert in Markdown and HTML: every ASCII punctuation character
/// is backslash-escaped (CommonMark then prints it literally, `<` as `&lt;`),
/// and line breaks become spaces so a value cannot start a block.
pub fn escape_markdown(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn register(
    hb: &mut Handlebars<'static>,
    name: &str,
    source: &TemplateSource,
    relative: &str,
) -> Result<(), RenderError> {
    let (text, path) = match source {
        TemplateSource::Dir(dir) => {
            let path = dir.join(relative);
            match std::fs::read_to_string(&path) {
                Ok(t) => (t, path),
                // A folder made by `secobot init --templates` before this
                // version lacks the templates added since: the embedded copy
                // serves, so an upgrade does not stop the server.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let text = embedded_template(relative)
                        .ok_or_else(|| RenderError::Missing(path.display().to_string()))?;
                    tracing::warn!(
                        "falta la plantilla {}: se usa la copia incluida en el programa",
                        path.display()
                    );
                    (text, path)
                }
                Err(source) => return Err(RenderError::Read { path, source }),
            }
        }
        TemplateSource::Embedded => (
            embedded_template(relative).ok_or_else(|| RenderError::Missing(relative.to_owned()))?,
            PathBuf::from(relative),
        ),
    };
    hb.register_template_string(name, text)
        .map_err(|source| RenderError::Template {
            path,
            source: Box::new(source),
        })
}

/// The binary's copy of the template at `relative` (under `templates/`).
fn embedded_template(relative: &str) -> Option<String> {
    crate::bundled::template(relative).map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// The files directly under `assets/`, by name, in name order.
fn read_assets(source: &TemplateSource) -> Result<Vec<(String, Vec<u8>)>, RenderError> {
    let mut out = Vec::new();
    match source {
        TemplateSource::Dir(dir) => {
            let Ok(read) = std::fs::read_dir(dir.join("assets")) else {
                return Ok(out);
            };
            let mut paths: Vec<PathBuf> = read.filter_map(Result::ok).map(|e| e.path()).collect();
            paths.sort();
            for path in paths.into_iter().filter(|p| p.is_file()) {
                let bytes = std::fs::read(&path).map_err(|source| RenderError::Read {
                    path: path.clone(),
                    source,
                })?;
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_owned();
                out.push((name, bytes));
            }
        }
        TemplateSource::Embedded => {
            for path in crate::bundled::template_paths() {
                let Some(name) = path.strip_prefix("assets/") else {
                    continue;
                };
                if name.contains('/') {
                    continue;
                }
                if let Some(bytes) = crate::bundled::template(&path) {
                    out.push((name.to_owned(), bytes.into_owned()));
                }
            }
        }
    }
    Ok(out)
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

pub use crate::markdown::markdown;

/// A date as people in Colombia write it: `29/11/2026`.
pub fn date(d: chrono::NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn typed_values_stay_text_in_flow_html() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let r = Renderer::load(&TemplateSource::Dir(dir)).unwrap();
        let md = r.flow_markdown(
            "**Nombre:** {{nombre}}",
            &serde_json::json!({"nombre": "<img src=x onerror=alert(1)> *hola* [a](http://x)"}),
        );
        let html = markdown(&md);
        assert!(html.contains("<strong>Nombre:</strong>"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<em>"), "{html}");
        assert!(!html.contains("<a "), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
    }

    #[test]
    fn bundled_templates_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let r = Renderer::load(&TemplateSource::Dir(dir)).unwrap();
        assert!(r.asset("widget.js").is_some());
        let text = r.reply("greeting", &serde_json::json!({}));
        assert!(!text.is_empty());
    }

    #[test]
    fn a_template_missing_from_an_older_folder_is_served_from_the_binary() {
        let tmp = tempfile::tempdir().unwrap();
        crate::bundled::init(tmp.path(), true).unwrap();
        let dir = tmp.path().join("templates");
        std::fs::remove_file(dir.join("replies/courtesy_thanks.hbs")).unwrap();
        let r = Renderer::load(&TemplateSource::Dir(dir)).unwrap();
        assert!(r
            .reply("courtesy_thanks", &serde_json::json!({}))
            .contains("Con gusto"));
    }

    #[test]
    fn embedded_templates_match_the_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let disk = Renderer::load(&TemplateSource::Dir(dir)).unwrap();
        let embedded = Renderer::load(&TemplateSource::Embedded).unwrap();
        assert_eq!(disk.asset_version, embedded.asset_version);
        assert!(embedded.asset("console.js").is_some());
    }

    #[test]
    fn dates_are_day_month_year() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 9).unwrap();
        assert_eq!(date(d), "09/11/2026");
    }
}
