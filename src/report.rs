//! `secobot report unanswered`: what users asked that the bot could not answer
//! (a `fallback`) or answered badly (a thumbs-down), for content editors.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;

use anyhow::Context;

use crate::config::DataArgs;
use crate::knowledge::analyzer::{fold, words};
use crate::store::records::{Author, MessageKind};
use crate::store::{ConversationDump, Store};

/// One group of similar questions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Group {
    /// The normalised text (lowercase, no accents, no punctuation).
    pub key: String,
    /// The most recent original wording.
    pub example: String,
    pub count: usize,
    pub last: String,
    pub fallback: usize,
    pub thumbs_down: usize,
}

/// Normalises a question for grouping.
pub fn normalise(text: &str) -> String {
    words(text)
        .map(|w| fold(&w))
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Groups unanswered questions over all conversations, most frequent first.
pub fn groups(conversations: &[ConversationDump]) -> Vec<Group> {
    let mut by_key: HashMap<String, Group> = HashMap::new();
    for conv in conversations {
        let down: BTreeSet<u64> = conv
            .feedback
            .iter()
            .filter(|(_, f)| !f.useful)
            .map(|(seq, _)| *seq)
            .collect();
        let mut last_question: Option<(&str, &str)> = None;
        let mut counted_for: Option<&str> = None;
        for m in &conv.messages {
            if m.from == Author::User && m.kind == MessageKind::Echo {
                last_question = Some((m.text.as_str(), m.ts.as_str()));
                counted_for = None;
                continue;
            }
            if m.from != Author::Bot {
                continue;
            }
            let is_fallback = m.kind == MessageKind::Fallback;
            let is_down = down.contains(&m.seq);
            if !(is_fallback || is_down) {
                continue;
            }
            let Some((question, ts)) = last_question else {
                continue;
            };
            if counted_for == Some(question) {
                continue;
            }
            counted_for = Some(question);
            let key = normalise(question);
            if key.is_empty() {
                continue;
            }
            let g = by_key.entry(key.clone()).or_insert_with(|| Group {
                key,
                example: question.to_owned(),
                count: 0,
                last: String::new(),
                fallback: 0,
                thumbs_down: 0,
            });
            g.count += 1;
            g.fallback += usize::from(is_fallback);
            g.thumbs_down += usize::from(is_down && !is_fallback);
            if ts >= g.last.as_str() {
                g.last = ts.to_owned();
                g.example = question.to_owned();
            }
        }
    }
    let mut out: Vec<Group> = by_key.into_values().collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(b.last.cmp(&a.last)));
    out
}

/// Prints the report.
///
/// # Errors
/// When the data folder cannot be opened or read.
pub fn unanswered(data: &DataArgs, json: bool) -> anyhow::Result<i32> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    let dumps = runtime.block_on(async {
        let cache = data.cache_mb * 1024 * 1024;
        // A running server holds sled's lock; then it writes a consistent copy
        // (a backup, through its admin socket) and the report reads that.
        let _copy;
        if data.database.is_some() {
            // PostgreSQL serves readers beside a running server.
            let store = data
                .open_store()
                .await
                .with_context(|| format!("failed to open {}", data.describe()))?;
            return store
                .scan_conversations()
                .await
                .context("failed to read the conversations");
        }
        let store = match Store::open(&data.data, cache) {
            Ok(s) => s,
            Err(_) if data.data.is_dir() => {
                _copy = tempfile::tempdir().context("failed to create a temporary folder")?;
                let out = _copy.path().join("copia");
                let request = crate::admin::channel::Request::Backup { out: out.clone() };
                match crate::admin::channel::call(&data.data, &request).await {
                    Ok(Some(done)) if done.code == 0 => {}
                    Ok(Some(failed)) => anyhow::bail!(
                        "the running server could not copy its data folder: {}",
                        failed.stderr.trim()
                    ),
                    Ok(None) | Err(_) => anyhow::bail!(
                        "the data folder {} is in use and its server's admin socket does not answer",
                        data.data.display()
                    ),
                }
                Store::open(&out, cache)
                    .with_context(|| format!("failed to open a copy of {}", data.data.display()))?
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("failed to open the data folder {}", data.data.display())
                })
            }
        };
        store
            .scan_conversations().await
            .context("failed to read conversations")
    })?;
    let groups = groups(&dumps);
    let mut out = std::io::stdout().lock();
    if json {
        for g in &groups {
            writeln!(out, "{}", serde_json::to_string(g)?)?;
        }
    } else {
        writeln!(out, "veces\túltima vez\tsin respuesta\tno útil\tpregunta")?;
        for g in &groups {
            let day = g.last.get(..16).unwrap_or(&g.last).replace('T', " ");
            writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}",
                g.count,
                day,
                g.fallback,
                g.thumbs_down,
                printable(&g.example)
            )?;
        }
        if groups.is_empty() {
            writeln!(out, "(no hay preguntas sin respuesta)")?;
        }
    }
    Ok(0)
}

/// User text made safe for an operator's terminal: control characters (ESC,
/// BEL, tabs and line breaks that would break the columns), bidi overrides and
/// other invisible format characters are shown as `\u{…}` escapes.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || crate::text::is_invisible(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{Reply, ReplyKind};
    use crate::store::{Feedback, MessageRecord};

    #[test]
    fn printable_escapes_terminal_controls() {
        assert_eq!(
            printable("hola\u{1b}[2J\u{7}mundo\u{202e}"),
            "hola\\u{1b}[2J\\u{7}mundo\\u{202e}"
        );
        assert_eq!(printable("qué es SECOP"), "qué es SECOP");
    }

    fn msg(seq: u64, from: Author, kind: ReplyKind, text: &str) -> MessageRecord {
        let mut r = Reply::new(from.into(), kind, text);
        r.seq = seq;
        r.ts = format!("2026-11-25T10:00:{seq:02}Z");
        r.into()
    }

    #[test]
    fn groups_fallbacks_and_thumbs_down() {
        let a = ConversationDump {
            session: "a".into(),
            messages: vec![
                msg(1, Author::User, ReplyKind::Echo, "¿Cómo saco el pasaporte?"),
                msg(2, Author::Bot, ReplyKind::Fallback, "no sé"),
                msg(3, Author::User, ReplyKind::Echo, "olvidé mi clave"),
                msg(4, Author::Bot, ReplyKind::Answer, "..."),
            ],
            feedback: vec![(
                4,
                Feedback {
                    useful: false,
                    ts: String::new(),
                },
            )],
        };
        let b = ConversationDump {
            session: "b".into(),
            messages: vec![
                msg(1, Author::User, ReplyKind::Echo, "como saco el PASAPORTE"),
                msg(2, Author::Bot, ReplyKind::Fallback, "no sé"),
            ],
            feedback: vec![],
        };
        let g = groups(&[a, b]);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].key, "como saco el pasaporte");
        assert_eq!(g[0].count, 2);
        assert_eq!(g[1].thumbs_down, 1);
    }
}
