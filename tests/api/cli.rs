//! The command line: `check`, `ask`, `eval`.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::helpers::*;

fn secobot(args: &[&std::ffi::OsStr]) -> Output {
    let out = Command::new(bin())
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("failed to run secobot");
    out
}

fn run(args: &[&str], knowledge: &Path) -> Output {
    let mut all: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
    all.push("--knowledge".into());
    all.push(knowledge.into());
    let refs: Vec<&std::ffi::OsStr> = all.iter().map(|s| s.as_os_str()).collect();
    secobot(&refs)
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The line numbers of `path:line: message` lines about `file`.
fn problem_lines(stdout: &str, file: &str) -> Vec<usize> {
    stdout
        .lines()
        .filter_map(|l| {
            let at = l.find(&format!("{file}:"))?;
            let rest = &l[at + file.len() + 1..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if digits.is_empty() || !rest[digits.len()..].starts_with(": ") {
                return None;
            }
            digits.parse().ok()
        })
        .collect()
}

#[test]
fn check_accepts_the_bundled_knowledge() {
    let (_tmp, k) = knowledge_copy();
    let out = run(&["check"], &k);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
}

#[test]
fn check_reports_broken_front_matter_with_file_and_line() {
    let (_tmp, k) = knowledge_copy();
    let file = k.join("faq/acceso/olvide-mi-contrasena.md");
    let text = std::fs::read_to_string(&file).unwrap();
    let title_line = text
        .lines()
        .position(|l| l.starts_with("title:"))
        .expect("no title line")
        + 1;
    let broken: String = text
        .lines()
        .map(|l| {
            if l.starts_with("title:") {
                "title: [roto"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&file, broken + "\n").unwrap();

    let out = run(&["check"], &k);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines = problem_lines(&stdout, "olvide-mi-contrasena.md");
    assert!(
        !lines.is_empty(),
        "no `…/olvide-mi-contrasena.md:N: message` line:\n{}",
        describe(&out)
    );
    let closing = text
        .lines()
        .enumerate()
        .skip(1)
        .find(|(_, l)| l.trim() == "---")
        .map(|(i, _)| i + 1)
        .unwrap();
    assert!(
        lines.iter().any(|&n| n >= title_line && n <= closing),
        "line numbers {lines:?} do not point into the front matter (title at {title_line}):\n{stdout}"
    );
}

#[test]
fn check_reports_a_dangling_goto_with_file_and_line() {
    let (_tmp, k) = knowledge_copy();
    let file = k.join("flows/usuario-bloqueado.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let goto_line = text
        .lines()
        .position(|l| l.trim() == "goto: fui-yo")
        .expect("no `goto: fui-yo` in usuario-bloqueado.yaml")
        + 1;
    let broken = text.replacen("goto: fui-yo", "goto: paso-que-no-existe", 1);
    std::fs::write(&file, broken).unwrap();

    let out = run(&["check"], &k);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines = problem_lines(&stdout, "usuario-bloqueado.yaml");
    assert!(
        !lines.is_empty(),
        "no `…/usuario-bloqueado.yaml:N: message` line:\n{}",
        describe(&out)
    );
    assert!(
        lines.iter().any(|&n| n == goto_line || n + 1 == goto_line),
        "no problem reported at the dangling goto (line {goto_line}); lines {lines:?}:\n{stdout}"
    );
    assert!(
        stdout.contains("paso-que-no-existe"),
        "the message should name the missing step:\n{stdout}"
    );
}

#[test]
fn check_reports_a_broken_step_template_with_file_and_line() {
    let (_tmp, k) = knowledge_copy();
    let file = k.join("flows/usuario-bloqueado.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let step_line = text
        .lines()
        .position(|l| l.trim() == "inicio:")
        .expect("no `inicio:` step in usuario-bloqueado.yaml")
        + 1;
    let broken = text.replacen("say: |\n", "say: |\n      {{#if nombre}} sin cerrar\n", 1);
    assert_ne!(broken, text, "the first step should use a block `say: |`");
    std::fs::write(&file, broken).unwrap();

    let out = run(&["check"], &k);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines = problem_lines(&stdout, "usuario-bloqueado.yaml");
    assert_eq!(lines, vec![step_line], "{stdout}");
    assert!(stdout.contains("«inicio»"), "{stdout}");
}

#[test]
fn ask_json_answers_from_the_knowledge() {
    let (_tmp, k) = knowledge_copy();
    let templates = manifest_dir().join("templates");
    let out = run(
        &[
            "ask",
            "--json",
            "--templates",
            templates.to_str().unwrap(),
            "¿Cuáles son los canales de atención de soporte?",
        ],
        &k,
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first = stdout.lines().next().expect("no output");
    let reply: Value = serde_json::from_str(first)
        .unwrap_or_else(|e| panic!("first line is not JSON ({e}): {first}"));
    assert_eq!(reply["kind"], "answer", "{reply}");
    assert_eq!(reply["sources"][0]["id"], "canales-de-soporte", "{reply}");
}

#[test]
fn eval_scores_a_tsv() {
    let (tmp, k) = knowledge_copy();
    let tsv = tmp.path().join("mini.tsv");
    std::fs::write(
        &tsv,
        "question\texpected\n\
         olvidé mi contraseña, cómo la recupero\tolvide-mi-contrasena\n\
         ¿Cuáles son los canales de atención de soporte?\tcanales-de-soporte\n\
         mi usuario quedó bloqueado por intentos fallidos\tflow:usuario-bloqueado\n\
         quiero hablar con una persona\tescalate\n\
         receta del ajiaco santafereño con guascas\tfallback\n",
    )
    .unwrap();
    let templates = manifest_dir().join("templates");
    let out = run(
        &[
            "eval",
            "--templates",
            templates.to_str().unwrap(),
            tsv.to_str().unwrap(),
        ],
        &k,
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().expect("no output");
    let t: Vec<&str> = last.split_whitespace().collect();
    assert!(
        t.len() == 6 && t[0] == "recall@1" && t[2] == "fallback" && t[4] == "n",
        "last line is not `recall@1 R fallback F n N`: {last:?}"
    );
    let r: f64 = t[1].parse().expect("R is a number");
    let f: f64 = t[3].parse().expect("F is a number");
    assert!(
        (0.0..=1.0).contains(&r) && (0.0..=1.0).contains(&f),
        "{last}"
    );
    assert_eq!(
        t[5], "5",
        "n should count the 5 rows (not the header): {last}"
    );
    assert!(r >= 0.8, "these easy rows should score: {stdout}");
}
