//! The command line (PROTOCOL.md "Command line"): parsing and dispatch, no logic.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::bundled::TemplateSource;
use crate::config::{DataArgs, KnowledgeArgs, ServeArgs};
use crate::knowledge::{Knowledge, Mode};

#[derive(Debug, Parser)]
#[command(
    name = "secobot",
    version,
    about = "Asistente de soporte de SECOP II: servidor de chat, flujos guiados y casos"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `secobot` with no subcommand: the serve flags alone.
#[derive(Debug, Parser)]
struct ServeOnly {
    #[command(flatten)]
    args: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the server (the default).
    Serve(Box<ServeArgs>),
    /// Writes the bundled knowledge folder (and the templates, with
    /// `--templates`) into DIR to start a new deployment; never overwrites.
    Init {
        /// Also write the templates (pages, reply wording, widget assets).
        #[arg(long)]
        templates: bool,
        dir: PathBuf,
    },
    /// Validates the knowledge folder (--knowledge, else ./knowledge if it
    /// exists, else the embedded copy; the one checked is named in the output):
    /// one `path:line: message` per problem; exit 1 if any.
    Check {
        #[command(flatten)]
        knowledge: KnowledgeArgs,
        /// Fail (exit 1) on warnings too: missing sources, unreadable or old review dates.
        #[arg(long)]
        strict: bool,
        /// A `reviewed:` date older than this many months is a warning.
        #[arg(long, env = "SECOBOT_MAX_REVIEW_MONTHS", default_value_t = 18)]
        max_review_months: u32,
    },
    /// What the bot would answer to a first message.
    Ask {
        #[command(flatten)]
        knowledge: KnowledgeArgs,
        /// Print the `reply` JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Explain the ranking: analysed terms, candidates and what each part
        /// contributed, thresholds, and why the reply kind was chosen.
        #[arg(long)]
        explain: bool,
        /// Templates folder (reply wording); without it ./templates if it
        /// exists, else the embedded copy.
        #[arg(long, env = "SECOBOT_TEMPLATES")]
        templates: Option<PathBuf>,
        /// The question.
        question: Vec<String>,
    },
    /// Scores the bot on a TSV of `question<TAB>expected`.
    Eval {
        #[command(flatten)]
        knowledge: KnowledgeArgs,
        /// List the misses of a baseline instead of secobot's: `tantivy` (the
        /// default tokenizer, no synonyms, no typo tolerance) or `ngram`
        /// (TF-IDF character 2–5-grams + logistic regression). Every run
        /// prints all three systems' figures.
        #[arg(long, num_args = 0..=1, default_missing_value = "tantivy", value_enum)]
        baseline: Option<crate::eval::System>,
        /// Templates folder (reply wording); without it ./templates if it
        /// exists, else the embedded copy.
        #[arg(long, env = "SECOBOT_TEMPLATES")]
        templates: Option<PathBuf>,
        /// Print every row, not only the misses.
        #[arg(long)]
        verbose: bool,
        file: PathBuf,
    },
    /// Chooses the n-gram weight and answer threshold by 5-fold cross-validation
    /// on the folder's own phrasings; prints the best settings.
    Calibrate {
        #[command(flatten)]
        knowledge: KnowledgeArgs,
    },
    /// Writes a consistent copy of the data folder into OUT (a new folder),
    /// through the running server when there is one.
    Backup {
        #[command(flatten)]
        data: DataArgs,
        out: PathBuf,
    },
    /// Checks a backup (every record decodes, counts match) and restores it
    /// into --data, which must be empty or not exist.
    Restore {
        backup: PathBuf,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Agent accounts (through the running server when there is one).
    Agent {
        #[command(subcommand)]
        command: AgentCommand,
    },
    /// A person's data (Ley 1581 de 2012, habeas data): export it as JSON or
    /// erase it (through the running server when there is one).
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Reports over stored conversations.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Creates an account, or resets its password, role and display name; the
    /// password is read from stdin.
    Add {
        name: String,
        /// `agent` or `supervisor`.
        #[arg(long, default_value = "agent")]
        role: String,
        /// Display name shown to users (defaults to NAME).
        #[arg(long)]
        display_name: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Lists accounts.
    List {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Removes an account and ends its logins.
    Remove {
        name: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Disables an account: its logins end and its consoles close.
    Disable {
        name: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Enables a disabled account.
    Enable {
        name: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Clears the failed logins counted against an account (running server).
    Unlock {
        name: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Sets a new random password, printed once; the account's logins end.
    Password {
        name: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// The audit log of account changes, newest first (Bogotá time).
    Audit {
        /// How many entries.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// Who a habeas data request is about: exactly one of `--email`, `--document`.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct SubjectArgs {
    /// The person's e-mail, as given in the case form (case-insensitive).
    #[arg(long)]
    pub email: Option<String>,
    /// The person's document number (only its digits count).
    #[arg(long)]
    pub document: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Prints as JSON everything held about the person: cases (fields, notes,
    /// rating, privacy acceptance), their conversations, feedback and mail.
    /// Exit 1 when nothing matches.
    Export {
        #[command(flatten)]
        subject: SubjectArgs,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Erases everything held about the person (cases, conversations, mail),
    /// writes an audit line and rewrites the database files so nothing of it
    /// remains on disk. Exit 1 when nothing matches.
    Delete {
        #[command(flatten)]
        subject: SubjectArgs,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// User questions that got `fallback` or a thumbs-down, grouped, most frequent first.
    Unanswered {
        #[command(flatten)]
        data: DataArgs,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the command line; returns the process exit code.
///
/// # Errors
/// Any failure, with its context chain, for `main` to print.
pub fn run() -> anyhow::Result<i32> {
    let cli = Cli::parse();
    // `secobot` alone serves, with defaults and environment settings.
    let command = match cli.command {
        Some(c) => c,
        None => Command::Serve(Box::new(ServeOnly::parse_from(["secobot"]).args)),
    };
    match command {
        Command::Serve(args) => {
            crate::telemetry::init_tracing();
            args.validate().map_err(anyhow::Error::msg)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("failed to start the async runtime")?;
            runtime.block_on(crate::server::run(*args))?;
            Ok(0)
        }
        Command::Check {
            knowledge,
            strict,
            max_review_months,
        } => check(&knowledge, strict, max_review_months),
        Command::Ask {
            knowledge,
            json,
            explain,
            templates,
            question,
        } => {
            let templates = TemplateSource::resolve(templates.as_deref());
            crate::eval::ask(&knowledge, &templates, &question.join(" "), json, explain)
        }
        Command::Eval {
            knowledge,
            baseline,
            templates,
            verbose,
            file,
        } => {
            let show = baseline.unwrap_or_default();
            let templates = TemplateSource::resolve(templates.as_deref());
            crate::eval::run(&knowledge, &templates, &file, show, verbose)
        }
        Command::Calibrate { knowledge } => calibrate(&knowledge),
        Command::Init { templates, dir } => init(&dir, templates),
        Command::Agent { command } => crate::agents::cli::run(command),
        Command::Data { command } => crate::admin::personal_data::run(command),
        Command::Backup { data, out } => crate::agents::cli::backup(&data, &out),
        Command::Restore { backup, data } => restore(&backup, &data.data),
        Command::Report {
            command: ReportCommand::Unanswered { data, json },
        } => crate::report::unanswered(&data, json),
    }
}

fn check(args: &KnowledgeArgs, strict: bool, max_review_months: u32) -> anyhow::Result<i32> {
    let mut out = std::io::stdout().lock();
    let source = args.source()?;
    eprintln!("revisando: {source}");
    let loaded = Knowledge::load(source.path(), Mode::Spanish, args.thresholds()).and_then(|k| {
        let problems = crate::render::check_flow_templates(&k);
        if problems.is_empty() {
            Ok(k)
        } else {
            Err(crate::problem::Problems(problems))
        }
    });
    match loaded {
        Ok(k) => {
            for path in &k.ignored {
                eprintln!(
                    "{}: ignorado: no es un archivo de conocimiento (copia de respaldo, temporal u oculto)",
                    source.shown(path).display()
                );
            }
            // Colombia keeps UTC−5 all year (no daylight saving).
            let today = (chrono::Utc::now() - chrono::Duration::hours(5)).date_naive();
            let mut warnings = k.warnings.clone();
            warnings.extend(crate::knowledge::loader::stale_reviews(
                &k.entries,
                max_review_months,
                today,
            ));
            for w in &warnings {
                writeln!(
                    out,
                    "{}:{}: aviso: {}",
                    source.shown(&w.path).display(),
                    w.line.max(1),
                    w.message
                )?;
            }
            writeln!(
                out,
                "{}: {} entradas y {} flujos, sin problemas{}",
                source,
                k.entries.len(),
                k.flows.len(),
                match warnings.len() {
                    0 => String::new(),
                    1 => " (1 aviso)".to_owned(),
                    n => format!(" ({n} avisos)"),
                }
            )?;
            Ok(if strict && !warnings.is_empty() { 1 } else { 0 })
        }
        Err(problems) => {
            for p in &problems.0 {
                let shown =
                    crate::problem::Problem::new(&source.shown(&p.path), p.line, &*p.message);
                writeln!(out, "{shown}")?;
            }
            Ok(1)
        }
    }
}

fn restore(backup: &std::path::Path, data: &std::path::Path) -> anyhow::Result<i32> {
    match crate::store::backup::restore(backup, data) {
        Ok(info) => {
            writeln!(
                std::io::stdout(),
                "restaurada en {}: {info}",
                data.display()
            )?;
            Ok(0)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(1)
        }
    }
}

fn init(dir: &std::path::Path, templates: bool) -> anyhow::Result<i32> {
    match crate::bundled::init(dir, templates) {
        Ok(written) => {
            let mut out = std::io::stdout().lock();
            for folder in written {
                writeln!(out, "escrito: {}", folder.display())?;
            }
            writeln!(
                out,
                "Para empezar: cd {} && secobot check && secobot serve --data datos",
                dir.display()
            )?;
            Ok(0)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(1)
        }
    }
}

fn calibrate(args: &KnowledgeArgs) -> anyhow::Result<i32> {
    let source = args.source()?;
    let results = crate::knowledge::calibrate::calibrate(source.path())
        .map_err(|p| anyhow::anyhow!("{p}"))?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:>6} {:>5} {:>8} {:>7} {:>7} {:>6} {:>8} {:>6} {:>9} {:>9}",
        "ngram",
        "bm25",
        "centroid",
        "answer",
        "suggest",
        "margin",
        "recall@1",
        "wrong",
        "refusals",
        "objective"
    )?;
    let best = results.first().map(|c| c.fusion);
    let curve: Vec<_> = if std::env::var_os("SECOBOT_CALIBRATE_CURVE").is_some() {
        results
            .iter()
            .filter(|c| {
                Some(c.fusion) == best
                    && Some(c.thresholds.margin) == results.first().map(|b| b.thresholds.margin)
            })
            .collect()
    } else {
        results.iter().take(10).collect()
    };
    for c in curve {
        writeln!(
            out,
            "{:>6.2} {:>5.2} {:>8.2} {:>7.2} {:>7.2} {:>6.2} {:>8.3} {:>6.3} {:>9.3} {:>9.3}",
            c.fusion.ngram,
            c.fusion.bm25,
            c.fusion.centroid,
            c.thresholds.answer,
            c.thresholds.suggest,
            c.thresholds.margin,
            c.recall,
            c.wrong_confident,
            c.refusals,
            c.objective
        )?;
    }
    if let Some(c) = results.first() {
        writeln!(
            out,
            "{} frases evaluadas en 5 pliegues; mejor ajuste: --answer-threshold {:.2} --suggest-threshold {:.2} --suggest-margin {:.2} (peso de n-gramas {:.2}, descuento BM25 {:.2}, centroide {:.2})",
            c.rows, c.thresholds.answer, c.thresholds.suggest, c.thresholds.margin, c.fusion.ngram, c.fusion.bm25, c.fusion.centroid
        )?;
    }
    Ok(0)
}
