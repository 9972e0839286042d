//! `secobot ask` and `secobot eval`: the bot's first reply to a question, in
//! process, exactly as a fresh conversation would get it.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::config::KnowledgeArgs;
use crate::conversation::{Bot, ConversationState, Effects, Reply, ReplyKind, UserInput};
use crate::knowledge::{Knowledge, Mode, ESCALATION_FLOW};
use crate::render::Renderer;

/// The label a first reply earns, in the vocabulary of the evaluation files:
/// an entry id, `flow:ID`, `escalate`, `suggest` or `fallback`.
pub fn label(replies: &[Reply], effects: &Effects) -> String {
    if effects.open_ticket {
        return "escalate".into();
    }
    let Some(reply) = replies.first() else {
        return "fallback".into();
    };
    match reply.kind {
        ReplyKind::Answer => reply
            .sources
            .first()
            .map(|s| s.id.clone())
            .unwrap_or_else(|| "answer".into()),
        ReplyKind::Flow => match &reply.flow {
            Some(f) if f.id == ESCALATION_FLOW => "escalate".into(),
            Some(f) => format!("flow:{}", f.id),
            None => "flow".into(),
        },
        ReplyKind::Suggest => "suggest".into(),
        ReplyKind::Ticket => "escalate".into(),
        _ => "fallback".into(),
    }
}

/// The bot's replies to `question` as the first message of a new conversation.
pub fn first_reply(
    knowledge: &Knowledge,
    render: &Renderer,
    question: &str,
) -> (Vec<Reply>, Effects) {
    let bot = Bot { knowledge, render };
    let mut state = ConversationState::default();
    let mut effects = Effects::default();
    let replies = bot.respond(
        &mut state,
        &UserInput::Say(question.to_owned()),
        &mut effects,
    );
    (replies, effects)
}

fn load(
    args: &KnowledgeArgs,
    templates: &Path,
    mode: Mode,
) -> anyhow::Result<(Knowledge, Renderer)> {
    let knowledge = Knowledge::load(&args.knowledge, mode, args.thresholds())
        .map_err(|p| anyhow::anyhow!("{p}"))
        .with_context(|| {
            format!(
                "the knowledge folder {} has problems",
                args.knowledge.display()
            )
        })?;
    let render = Renderer::load(templates)
        .with_context(|| format!("failed to load templates from {}", templates.display()))?;
    Ok((knowledge, render))
}

/// `secobot ask`.
///
/// # Errors
/// When the folder or the templates cannot be loaded.
pub fn ask(
    args: &KnowledgeArgs,
    templates: &Path,
    question: &str,
    json: bool,
) -> anyhow::Result<i32> {
    let (knowledge, render) = load(args, templates, Mode::Spanish)?;
    let (replies, _) = first_reply(&knowledge, &render, question);
    let mut out = std::io::stdout().lock();
    for reply in &replies {
        if json {
            writeln!(out, "{}", serde_json::to_string(reply)?)?;
        } else {
            writeln!(out, "[{}] {}", reply.kind.as_str(), reply.text)?;
            for s in &reply.sources {
                writeln!(out, "Fuente: {} ({})", s.title, s.url)?;
            }
            for b in &reply.buttons {
                writeln!(out, "  [{}]", b.label)?;
            }
        }
    }
    Ok(0)
}

/// Scores of one evaluation run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Share of in-scope rows answered with the expected label.
    pub recall: f64,
    /// Share of `fallback` rows that got `fallback` or `suggest`.
    pub fallback: f64,
    pub n: usize,
}

/// One miss: question, expected, got.
pub type Miss = (String, String, String);

/// Scores `rows` of (question, expected).
pub fn score(
    knowledge: &Knowledge,
    render: &Renderer,
    rows: &[(String, String)],
) -> (Score, Vec<Miss>) {
    let (mut hits, mut in_scope, mut fb_ok, mut fb_rows) = (0usize, 0usize, 0usize, 0usize);
    let mut misses = Vec::new();
    for (question, expected) in rows {
        let (replies, effects) = first_reply(knowledge, render, question);
        let got = label(&replies, &effects);
        let ok = if expected == "fallback" {
            fb_rows += 1;
            let ok = got == "fallback" || got == "suggest";
            fb_ok += usize::from(ok);
            ok
        } else {
            in_scope += 1;
            let ok = got == *expected;
            hits += usize::from(ok);
            ok
        };
        if !ok {
            misses.push((question.clone(), expected.clone(), got));
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    (
        Score {
            recall: ratio(hits, in_scope),
            fallback: ratio(fb_ok, fb_rows),
            n: rows.len(),
        },
        misses,
    )
}

/// Reads `question<TAB>expected` rows, skipping a header and blank lines.
///
/// # Errors
/// When the file cannot be read.
pub fn read_tsv(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read {}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(q, e)| (q.trim().to_owned(), e.trim().to_owned()))
        .filter(|(q, e)| !(q.is_empty() || e.is_empty() || (q == "question" && e == "expected")))
        .collect())
}

/// `secobot eval`.
///
/// # Errors
/// When the file, the folder or the templates cannot be loaded.
pub fn run(
    args: &KnowledgeArgs,
    templates: &Path,
    file: &Path,
    mode: Mode,
    verbose: bool,
) -> anyhow::Result<i32> {
    let (knowledge, render) = load(args, templates, mode)?;
    let rows = read_tsv(file)?;
    let mut out = std::io::stdout().lock();
    if verbose {
        for (q, e) in &rows {
            let hits = knowledge.search(q);
            let top: Vec<String> = hits
                .iter()
                .take(3)
                .map(|h| format!("{:?}={:.2}", h.target, h.confidence))
                .collect();
            let (replies, effects) = first_reply(&knowledge, &render, q);
            writeln!(
                out,
                "{}\t{}\t{}\t{}",
                label(&replies, &effects),
                e,
                top.join(" "),
                q
            )?;
        }
    }
    let (score, misses) = score(&knowledge, &render, &rows);
    for (q, e, g) in &misses {
        writeln!(out, "MISS\t{q}\texpected {e}\tgot {g}")?;
    }
    writeln!(
        out,
        "recall@1 {:.3} fallback {:.3} n {}",
        score.recall, score.fallback, score.n
    )?;
    Ok(0)
}
