//! `secobot ask` and `secobot eval`: the bot's first reply to a question, in
//! process, exactly as a fresh conversation would get it.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::config::KnowledgeArgs;
use crate::conversation::{Bot, ConversationState, Effects, Reply, ReplyKind, UserInput};
use crate::knowledge::classifier::Classifier;
use crate::knowledge::{Knowledge, Mode, ESCALATION_FLOW};
use crate::render::{Renderer, TemplateSource};
use crate::tickets::hours::Availability;

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
    let bot = Bot {
        knowledge,
        render,
        availability: Availability::always(),
        privacy_url: crate::tickets::privacy::DEFAULT_POLICY_URL,
    };
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
    templates: &TemplateSource,
    mode: Mode,
) -> anyhow::Result<(Knowledge, Renderer)> {
    let source = args.source()?;
    let knowledge = Knowledge::load(source.path(), mode, args.thresholds())
        .map_err(|p| anyhow::anyhow!("{p}"))
        .with_context(|| format!("the knowledge folder {source} has problems"))?;
    let render = Renderer::load(templates)
        .with_context(|| format!("failed to load templates from {templates}"))?;
    Ok((knowledge, render))
}

/// `secobot ask`.
///
/// # Errors
/// When the folder or the templates cannot be loaded.
pub fn ask(
    args: &KnowledgeArgs,
    templates: &TemplateSource,
    question: &str,
    json: bool,
    explain: bool,
) -> anyhow::Result<i32> {
    let (knowledge, render) = load(args, templates, Mode::Spanish)?;
    let (replies, _) = first_reply(&knowledge, &render, question);
    let mut out = std::io::stdout().lock();
    if explain {
        writeln!(out, "{}", knowledge.explain(question))?;
    }
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
    /// recall@1: share of in-scope rows answered with the expected label.
    pub recall: f64,
    /// Honest refusals: share of `fallback` rows that got `fallback` or `suggest`.
    pub fallback: f64,
    /// Share of all rows answered confidently (an entry, a flow or an
    /// escalation) with something other than what was expected.
    pub wrong_confident: f64,
    pub n: usize,
}

/// One miss: question, expected, got.
pub type Miss = (String, String, String);

/// Whether a label is a confident answer (not a refusal, not a choice).
fn is_confident(label: &str) -> bool {
    label != "fallback" && label != "suggest"
}

/// Scores labels given by any system to `rows` of (question, expected).
pub fn score_with(
    rows: &[(String, String)],
    mut answer: impl FnMut(&str) -> String,
) -> (Score, Vec<Miss>) {
    let (mut hits, mut in_scope, mut fb_ok, mut fb_rows, mut wrong) = (0, 0, 0, 0, 0usize);
    let mut misses = Vec::new();
    for (question, expected) in rows {
        let got = answer(question);
        let ok = if expected == "fallback" {
            fb_rows += 1;
            let ok = !is_confident(&got);
            fb_ok += usize::from(ok);
            ok
        } else {
            in_scope += 1;
            let ok = got == *expected;
            hits += usize::from(ok);
            ok
        };
        if !ok && is_confident(&got) {
            wrong += 1;
        }
        if !ok {
            misses.push((question.clone(), expected.clone(), got));
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    (
        Score {
            recall: ratio(hits, in_scope),
            fallback: ratio(fb_ok, fb_rows),
            wrong_confident: ratio(wrong, rows.len()),
            n: rows.len(),
        },
        misses,
    )
}

/// Scores the bot on `rows` of (question, expected).
pub fn score(
    knowledge: &Knowledge,
    render: &Renderer,
    rows: &[(String, String)],
) -> (Score, Vec<Miss>) {
    score_with(rows, |question| {
        let (replies, effects) = first_reply(knowledge, render, question);
        label(&replies, &effects)
    })
}

/// The character n-gram peer trained on the folder's titles and phrasings.
pub struct NgramPeer {
    model: Classifier,
    labels: Vec<String>,
}

impl NgramPeer {
    /// Trains on every entry's and flow's title and `questions:`/triggers.
    pub fn train(knowledge: &Knowledge) -> Self {
        let mut labels = Vec::new();
        let mut examples: Vec<(&str, usize)> = Vec::new();
        for e in &knowledge.entries {
            let class = labels.len();
            labels.push(e.id.clone());
            examples.push((&e.title, class));
            examples.extend(e.questions.iter().map(|q| (q.as_str(), class)));
        }
        for f in &knowledge.flows {
            let class = labels.len();
            labels.push(if f.id == ESCALATION_FLOW {
                "escalate".to_owned()
            } else {
                format!("flow:{}", f.id)
            });
            examples.push((&f.title, class));
            examples.extend(f.triggers.iter().map(|q| (q.as_str(), class)));
        }
        NgramPeer {
            model: Classifier::train(&examples, labels.len()),
            labels,
        }
    }

    /// The label the peer gives: its class, or `fallback` under its threshold.
    pub fn label(&self, question: &str) -> String {
        let p = self.model.predict(question);
        if p.probability < self.model.threshold {
            return "fallback".into();
        }
        self.labels
            .get(p.class)
            .cloned()
            .unwrap_or_else(|| "fallback".into())
    }

    pub fn threshold(&self) -> f32 {
        self.model.threshold
    }
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
        .map(|(q, e)| (q.trim().to_owned(), expected_label(e.trim())))
        .filter(|(q, e)| !(q.is_empty() || e.is_empty() || (q == "question" && e == "expected")))
        .collect())
}

/// The label a row's `expected` stands for: the escalation flow is written
/// `escalate` or `flow:crear-caso` by different writers, and every system
/// labels it `escalate` (see [`label`]).
fn expected_label(expected: &str) -> String {
    if expected.strip_prefix("flow:") == Some(ESCALATION_FLOW) {
        "escalate".to_owned()
    } else {
        expected.to_owned()
    }
}

/// Which system's misses `secobot eval` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum System {
    /// secobot's own ranking.
    #[default]
    Secobot,
    /// tantivy's default tokenizer: no synonyms, no typo tolerance, no n-grams.
    Tantivy,
    /// TF-IDF over character 2–5-grams plus logistic regression.
    Ngram,
}

/// `secobot eval`: scores secobot and both baselines on the same rows, side by
/// side, and lists the misses of `show`.
///
/// # Errors
/// When the file, the folder or the templates cannot be loaded.
pub fn run(
    args: &KnowledgeArgs,
    templates: &TemplateSource,
    file: &Path,
    show: System,
    verbose: bool,
) -> anyhow::Result<i32> {
    let (knowledge, render) = load(args, templates, Mode::Spanish)?;
    let (baseline, _) = load(args, templates, Mode::Baseline)?;
    let peer = NgramPeer::train(&knowledge);
    let rows = read_tsv(file)?;
    let mut out = std::io::stdout().lock();
    let secobot = score(&knowledge, &render, &rows);
    let tantivy = score(&baseline, &render, &rows);
    let ngram = score_with(&rows, |q| peer.label(q));
    let shown = match show {
        System::Secobot => &secobot,
        System::Tantivy => &tantivy,
        System::Ngram => &ngram,
    };
    if verbose {
        for (q, e) in &rows {
            let hits = knowledge.search(q);
            let top: Vec<String> = hits
                .iter()
                .take(3)
                .map(|h| {
                    let id = knowledge
                        .target_id(h.target)
                        .unwrap_or_else(|| "fuera-de-alcance".into());
                    format!("{id}={:.2}", h.confidence)
                })
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
    for (q, e, g) in &shown.1 {
        writeln!(out, "MISS\t{q}\texpected {e}\tgot {g}")?;
    }
    writeln!(
        out,
        "{:<22} {:>8} {:>9} {:>15} {:>5}",
        "system", "recall@1", "refusals", "wrong-confident", "n"
    )?;
    for (name, (s, _)) in [
        ("secobot", &secobot),
        ("baseline tantivy", &tantivy),
        ("baseline ngram", &ngram),
    ] {
        writeln!(
            out,
            "{name:<22} {:>8.3} {:>9.3} {:>15.3} {:>5}",
            s.recall, s.fallback, s.wrong_confident, s.n
        )?;
    }
    writeln!(
        out,
        "(ngram threshold by 5-fold CV: {:.2})",
        peer.threshold()
    )?;
    // The contract's last line (PROTOCOL.md), for the system whose misses are listed.
    let s = shown.0;
    writeln!(
        out,
        "recall@1 {:.3} fallback {:.3} n {}",
        s.recall, s.fallback, s.n
    )?;
    Ok(0)
}
