//! Reads `knowledge/` into validated entries, flows and synonym groups.
//!
//! A broken file never stops the others from being read: every problem is
//! collected as `path:line: message` (in Spanish, for an editor). The caller
//! decides what a folder with problems means (`check` exits 1; the server keeps
//! its last good version).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::flows::{self, FlowDef};
use crate::problem::Problem;

/// Which part of the folder an entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Faq,
    Terms,
}

/// A question-and-answer or a section of the terms of use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub kind: EntryKind,
    pub title: String,
    pub questions: Vec<String>,
    pub section: Option<String>,
    /// The official page, when the entry names one.
    pub url: Option<String>,
    /// The answer, in Markdown.
    pub body: String,
    pub path: PathBuf,
    /// The answer as sanitised HTML (title included), rendered on first use:
    /// rendering 10,000 entries up front would slow every reload.
    pub html: std::sync::OnceLock<String>,
}

impl Entry {
    /// The answer as sanitised HTML, with the title in bold.
    pub fn answer_html(&self) -> &str {
        self.html.get_or_init(|| {
            crate::markdown::markdown(&format!("**{}**\n\n{}", self.title, self.body))
        })
    }

    /// Where a source link points: the entry's own url, or its page on this server.
    pub fn link(&self) -> String {
        self.url
            .clone()
            .unwrap_or_else(|| format!("/kb/{}", self.id))
    }
}

/// Everything read from the folder, problems included.
#[derive(Debug, Default)]
pub struct Loaded {
    pub entries: Vec<Entry>,
    pub flows: Vec<FlowDef>,
    pub synonyms: Vec<Vec<String>>,
    /// Phrases that are out of scope (`fuera-de-alcance.txt`): matching one means "fallback".
    pub out_of_scope: Vec<String>,
    pub problems: Vec<Problem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    questions: Vec<String>,
    #[serde(default)]
    section: Option<Scalar>,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Number(i64),
}

/// Reads the whole folder.
pub fn load(dir: &Path) -> Loaded {
    let mut out = Loaded::default();
    if !dir.is_dir() {
        out.problems.push(Problem::new(
            dir,
            0,
            "la carpeta de conocimiento no existe o no es una carpeta",
        ));
        return out;
    }
    let mut ids: HashSet<String> = HashSet::new();
    for (sub, kind) in [("faq", EntryKind::Faq), ("terms", EntryKind::Terms)] {
        for path in files(&dir.join(sub), "md", &mut out.problems) {
            let Some((id, text)) = read_unique(&path, &mut ids, &mut out.problems) else {
                continue;
            };
            match parse_entry(&id, kind, &path, &text) {
                Ok(entry) => out.entries.push(entry),
                Err(mut problems) => out.problems.append(&mut problems),
            }
        }
    }
    for path in files(&dir.join("flows"), "yaml", &mut out.problems) {
        let Some((id, text)) = read_unique(&path, &mut ids, &mut out.problems) else {
            continue;
        };
        match flows::parse(&id, &path, &text) {
            Ok(flow) => out.flows.push(flow),
            Err(mut problems) => out.problems.append(&mut problems),
        }
    }
    let entry_ids: HashSet<String> = out.entries.iter().map(|e| e.id.clone()).collect();
    let flow_ids: HashSet<String> = out.flows.iter().map(|f| f.id.clone()).collect();
    for flow in &out.flows {
        flows::check_references(flow, &entry_ids, &flow_ids, &mut out.problems);
    }
    out.synonyms = read_lines(&dir.join("synonyms.txt"), &mut out.problems)
        .into_iter()
        .map(|line| {
            line.split(',')
                .map(|w| w.trim().to_owned())
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
        })
        .filter(|g| g.len() > 1)
        .collect();
    out.out_of_scope = read_lines(&dir.join("fuera-de-alcance.txt"), &mut out.problems);
    out
}

/// The id and text of a file, if its name is a valid id not used before.
fn read_unique(
    path: &Path,
    ids: &mut HashSet<String>,
    problems: &mut Vec<Problem>,
) -> Option<(String, String)> {
    let id = file_id(path, problems)?;
    if !ids.insert(id.clone()) {
        problems.push(Problem::new(
            path,
            1,
            format!("el id «{id}» ya existe en otro archivo; los ids deben ser únicos en toda la carpeta"),
        ));
        return None;
    }
    match std::fs::read_to_string(path) {
        Ok(text) => Some((id, text)),
        Err(e) => {
            problems.push(Problem::new(
                path,
                0,
                format!("no se pudo leer el archivo: {e}"),
            ));
            None
        }
    }
}

/// Non-empty, non-comment lines of an optional text file.
fn read_lines(path: &Path, problems: &mut Vec<Problem>) -> Vec<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            problems.push(Problem::new(
                path,
                0,
                format!("no se pudo leer el archivo: {e}"),
            ));
            Vec::new()
        }
    }
}

/// The files with `ext` in `dir`, sorted; a missing folder is simply empty.
fn files(dir: &Path, ext: &str, problems: &mut Vec<Problem>) -> Vec<PathBuf> {
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            problems.push(Problem::new(
                dir,
                0,
                format!("no se pudo leer la carpeta: {e}"),
            ));
            return Vec::new();
        }
    };
    let mut out: Vec<PathBuf> = read
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            // Editors' swap and backup files are not content.
            !name.starts_with('.') && !name.ends_with('~')
        })
        .filter(|p| {
            let ok = p.extension().and_then(|e| e.to_str()) == Some(ext);
            if !ok {
                problems.push(Problem::new(
                    p,
                    0,
                    format!("archivo ignorado: en esta carpeta solo van archivos .{ext}"),
                ));
            }
            ok
        })
        .collect();
    out.sort();
    out
}

fn file_id(path: &Path, problems: &mut Vec<Problem>) -> Option<String> {
    let id = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("")
        .to_owned();
    let valid = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Some(id)
    } else {
        problems.push(Problem::new(path, 0, format!("nombre de archivo inválido «{id}»: use solo minúsculas sin tildes, números y guiones")));
        None
    }
}

/// Parses one entry: `---` front matter `---` then the Markdown body.
///
/// # Errors
/// Every problem found, with its line.
pub fn parse_entry(
    id: &str,
    kind: EntryKind,
    path: &Path,
    text: &str,
) -> Result<Entry, Vec<Problem>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    if lines.first().map(|l| l.trim_end()) != Some("---") {
        return Err(vec![Problem::new(
            path,
            1,
            "falta el encabezado: el archivo debe empezar con una línea «---»",
        )]);
    }
    let Some(close) = lines
        .iter()
        .skip(1)
        .position(|l| l.trim_end() == "---")
        .map(|i| i + 1)
    else {
        return Err(vec![Problem::new(
            path,
            1,
            "el encabezado no se cierra: falta la segunda línea «---»",
        )]);
    };
    let yaml = lines[1..close].join("\n");
    let front: FrontMatter = match serde_saphyr::from_str(&yaml) {
        Ok(f) => f,
        Err(e) => {
            // The YAML starts on line 2 of the file.
            let mut p = flows::yaml_problem(path, &e);
            p.line += 1;
            return Err(vec![p]);
        }
    };
    let mut problems = Vec::new();
    let title = front.title.unwrap_or_default().trim().to_owned();
    if title.is_empty() {
        problems.push(Problem::new(
            path,
            2,
            "falta el título (title) en el encabezado",
        ));
    }
    let body = lines[close + 1..].join("\n").trim().to_owned();
    if body.is_empty() {
        problems.push(Problem::new(
            path,
            close + 2,
            "la respuesta está vacía: escriba el texto después del encabezado",
        ));
    }
    let section = front.section.map(|s| match s {
        Scalar::Text(t) => t,
        Scalar::Number(n) => n.to_string(),
    });
    if let Some(url) = &front.url {
        if !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/')) {
            problems.push(Problem::new(
                path,
                2,
                format!("url inválida «{url}»: debe empezar por https://"),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Entry {
        id: id.to_owned(),
        kind,
        title,
        questions: front
            .questions
            .into_iter()
            .map(|q| q.trim().to_owned())
            .filter(|q| !q.is_empty())
            .collect(),
        section,
        url: front.url,
        body,
        path: path.to_path_buf(),
        html: std::sync::OnceLock::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Entry, Vec<Problem>> {
        parse_entry("x", EntryKind::Faq, Path::new("faq/x.md"), text)
    }

    #[test]
    fn reads_a_good_entry() {
        let e = parse("---\ntitle: Hola\nquestions:\n  - uno\nsection: 6\n---\nCuerpo\n").unwrap();
        assert_eq!(e.title, "Hola");
        assert_eq!(e.questions, vec!["uno"]);
        assert_eq!(e.section.as_deref(), Some("6"));
        assert_eq!(e.link(), "/kb/x");
    }

    #[test]
    fn reports_problems_with_lines() {
        let cases = [
            ("sin encabezado", 1, "falta el encabezado"),
            ("---\ntitle: a\n", 1, "no se cierra"),
            ("---\nquestions: []\n---\nCuerpo", 2, "falta el título"),
            ("---\ntitle: a\n---\n\n", 4, "vacía"),
            (
                "---\ntitle: a\ncolor: azul\n---\nCuerpo",
                3,
                "YAML inválido",
            ),
            (
                "---\ntitle: a\nquestions:\n  - [roto\n---\nCuerpo",
                4,
                "YAML inválido",
            ),
        ];
        for (text, line, needle) in cases {
            let problems = parse(text).unwrap_err();
            assert!(
                problems
                    .iter()
                    .any(|p| p.line == line && p.message.contains(needle)),
                "{text:?}: {problems:?}"
            );
        }
    }
}
