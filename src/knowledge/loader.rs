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
    /// The group folder of a FAQ (`faq/<group>/<id>.md`), for the help center.
    pub group: Option<String>,
    /// Where the facts come from: public URLs, or `seed` for the seed letter.
    pub sources: Vec<String>,
    /// When the facts were last checked (`reviewed:`), if it could be read.
    pub reviewed: Option<chrono::NaiveDate>,
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

/// A canned response for agents (`respuestas/<id>.md`): a title to find it
/// by, and a Markdown text the agent edits before sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canned {
    pub id: String,
    pub title: String,
    pub body: String,
    pub path: PathBuf,
}

impl Canned {
    /// Whether every word of `query` is in the title or the id, ignoring case
    /// and accents (agents type `/contra` for «Contraseña»).
    pub fn matches(&self, query: &str) -> bool {
        let haystack = fold(&format!("{} {}", self.title, self.id));
        fold(query)
            .split_whitespace()
            .all(|word| haystack.contains(word))
    }
}

/// Lowercase without accents, for matching what agents type.
fn fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfd()
        .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Everything read from the folder, problems included.
#[derive(Debug, Default, Clone)]
pub struct Loaded {
    pub entries: Vec<Entry>,
    pub flows: Vec<FlowDef>,
    /// Canned responses for agents (`respuestas/`), in file order.
    pub canned: Vec<Canned>,
    pub synonyms: Vec<Vec<String>>,
    /// Phrases that are out of scope (`fuera-de-alcance.txt`): matching one means "fallback".
    pub out_of_scope: Vec<String>,
    /// By out-of-scope phrase: where to go instead (the `> ` line that
    /// precedes the phrase's group), if the editor wrote one.
    pub out_of_scope_advice: Vec<Option<String>>,
    pub problems: Vec<Problem>,
    /// Things an editor should look at that do not stop the folder from being
    /// served (missing sources, old review dates); `check --strict` fails on them.
    pub warnings: Vec<Problem>,
    /// Files that are not content (editor backups, swap files, dotfiles): skipped.
    pub ignored: Vec<PathBuf>,
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
    #[serde(default)]
    sources: Vec<String>,
    #[serde(default)]
    reviewed: Option<Scalar>,
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
    let mut entry_files: Vec<(PathBuf, EntryKind, Option<String>)> = Vec::new();
    for path in files(&dir.join("faq"), "md", &mut out) {
        entry_files.push((path, EntryKind::Faq, None));
    }
    for (group, group_dir) in groups(&dir.join("faq"), &mut out) {
        for path in files(&group_dir, "md", &mut out) {
            entry_files.push((path, EntryKind::Faq, Some(group.clone())));
        }
    }
    for path in files(&dir.join("terms"), "md", &mut out) {
        entry_files.push((path, EntryKind::Terms, None));
    }
    // Ids are checked in file order; reading and parsing, most of a large
    // folder's load, run on every core, and their results are taken in order.
    let mut unique = Vec::with_capacity(entry_files.len());
    for (path, kind, group) in entry_files {
        if let Some(id) = unique_id(&path, &mut ids, &mut out.problems) {
            unique.push((id, path, kind, group));
        }
    }
    let (parsed, _) = super::parallel::map_in_order(
        &unique,
        64,
        || (),
        |(), item| {
            let (id, path, kind, group) = item;
            let text = read(path)?;
            let mut entry = parse_entry(id, *kind, path, &text)?;
            entry.group = group.clone();
            let warnings = source_warnings(&entry, &text);
            Ok::<_, Vec<Problem>>((entry, warnings))
        },
    );
    for result in parsed {
        match result {
            Ok((entry, warnings)) => {
                out.warnings.extend(warnings);
                out.entries.push(entry);
            }
            Err(mut problems) => out.problems.append(&mut problems),
        }
    }
    for path in files(&dir.join("flows"), "yaml", &mut out) {
        let Some((id, text)) = read_unique(&path, &mut ids, &mut out.problems) else {
            continue;
        };
        match flows::parse(&id, &path, &text) {
            Ok(flow) => out.flows.push(flow),
            Err(mut problems) => out.problems.append(&mut problems),
        }
    }
    // Same header and rules as an entry: a title, then a non-empty body.
    for path in files(&dir.join("respuestas"), "md", &mut out) {
        let Some((id, text)) = read_unique(&path, &mut ids, &mut out.problems) else {
            continue;
        };
        match parse_entry(&id, EntryKind::Faq, &path, &text) {
            Ok(e) => out.canned.push(Canned {
                id: e.id,
                title: e.title,
                body: e.body,
                path: e.path,
            }),
            Err(mut problems) => out.problems.append(&mut problems),
        }
    }
    let entry_ids: HashSet<String> = out.entries.iter().map(|e| e.id.clone()).collect();
    let flow_ids: HashSet<String> = out.flows.iter().map(|f| f.id.clone()).collect();
    for flow in &out.flows {
        flows::check_references(flow, &entry_ids, &flow_ids, &mut out.problems);
    }
    if out.problems.is_empty() {
        flows::check_journeys(&out.flows, super::ESCALATION_FLOW, &mut out.problems);
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
    let lines = read_lines(&dir.join("fuera-de-alcance.txt"), &mut out.problems);
    (out.out_of_scope, out.out_of_scope_advice) = out_of_scope(lines);
    out
}

/// Splits `fuera-de-alcance.txt`'s lines into phrases and, for each, the
/// advice of the last `> ` line before it ("> El RUP lo llevan las Cámaras de
/// Comercio…"). A `#` comment between groups does not reset it: a new `> `
/// line does.
fn out_of_scope(lines: Vec<String>) -> (Vec<String>, Vec<Option<String>>) {
    let mut phrases = Vec::new();
    let mut advice = Vec::new();
    let mut current: Option<String> = None;
    for line in lines {
        match line.strip_prefix('>') {
            Some(text) => {
                let text = text.trim();
                current = (!text.is_empty()).then(|| text.to_owned());
            }
            None => {
                phrases.push(line);
                advice.push(current.clone());
            }
        }
    }
    (phrases, advice)
}

/// The id and text of a file, if its name is a valid id not used before.
fn read_unique(
    path: &Path,
    ids: &mut HashSet<String>,
    problems: &mut Vec<Problem>,
) -> Option<(String, String)> {
    let id = unique_id(path, ids, problems)?;
    match read(path) {
        Ok(text) => Some((id, text)),
        Err(mut p) => {
            problems.append(&mut p);
            None
        }
    }
}

/// The id of a file, if its name is a valid id not used before.
fn unique_id(
    path: &Path,
    ids: &mut HashSet<String>,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    let id = file_id(path, problems)?;
    if !ids.insert(id.clone()) {
        problems.push(Problem::new(
            path,
            1,
            format!("el id «{id}» ya existe en otro archivo; los ids deben ser únicos en toda la carpeta"),
        ));
        return None;
    }
    Some(id)
}

/// The text of a file, or the problem that says why it cannot be read.
fn read(path: &Path) -> Result<String, Vec<Problem>> {
    std::fs::read_to_string(path).map_err(|e| {
        vec![Problem::new(
            path,
            0,
            format!("no se pudo leer el archivo: {e}"),
        )]
    })
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

/// The paths in `dir` (following symlinks), sorted; a missing folder is simply empty.
fn list(dir: &Path, out: &mut Loaded) -> Vec<PathBuf> {
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            out.problems.push(Problem::new(
                dir,
                0,
                format!("no se pudo leer la carpeta: {e}"),
            ));
            return Vec::new();
        }
    };
    let mut paths: Vec<PathBuf> = read.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    paths
}

/// The files with `ext` in `dir`, sorted. Anything else that is a file (editor
/// backups like `x.md.orig`, `#x.md#`, `x.md~`, swap files, dotfiles) is not
/// content: it is listed in `ignored`, never an error, so a stray file cannot
/// block a reload.
fn files(dir: &Path, ext: &str, out: &mut Loaded) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for path in list(dir, out) {
        if !path.is_file() {
            continue;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let content = !name.starts_with('.')
            && !name.starts_with('#')
            && path.extension().and_then(|e| e.to_str()) == Some(ext);
        if content {
            found.push(path);
        } else {
            out.ignored.push(path);
        }
    }
    found
}

/// The group folders of `faq/` (`faq/<group>/`), named like ids.
fn groups(faq: &Path, out: &mut Loaded) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    for path in list(faq, out) {
        if !path.is_dir() {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned();
        if name.starts_with('.') {
            continue;
        }
        if is_id(&name) {
            found.push((name, path));
        } else {
            out.problems.push(Problem::new(
                &path,
                0,
                format!("nombre de grupo inválido «{name}»: use solo minúsculas sin tildes, números y guiones"),
            ));
        }
    }
    found
}

fn is_id(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The 1-based line of a front-matter key, or 1 when it is missing.
fn key_line(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map_or(1, |i| i + 1)
}

/// Missing or malformed `sources:` and an unreadable `reviewed:` date. The age
/// of the review is judged later, against a configurable limit ([`stale_reviews`]).
fn source_warnings(entry: &Entry, text: &str) -> Vec<Problem> {
    let mut warnings = Vec::new();
    let path = &entry.path;
    if entry.sources.is_empty() {
        warnings.push(Problem::new(
            path,
            key_line(text, "sources"),
            "la entrada no tiene fuentes (sources): añada las URL públicas de donde salen los datos, o «seed»",
        ));
    }
    for source in &entry.sources {
        let ok =
            source == "seed" || source.starts_with("https://") || source.starts_with("http://");
        if !ok {
            warnings.push(Problem::new(
                path,
                key_line(text, "sources"),
                format!("fuente no reconocida «{source}»: use una URL que empiece por https:// o «seed»"),
            ));
        }
    }
    if entry.reviewed.is_none() {
        warnings.push(Problem::new(
            path,
            key_line(text, "reviewed"),
            "falta la fecha de revisión (reviewed) o no se puede leer: escríbala como AAAA-MM-DD, por ejemplo 2026-11-29",
        ));
    }
    warnings
}

/// Entries whose `reviewed:` date is more than `max_months` before `today`.
pub fn stale_reviews(entries: &[Entry], max_months: u32, today: chrono::NaiveDate) -> Vec<Problem> {
    let Some(limit) = today.checked_sub_months(chrono::Months::new(max_months)) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|e| {
            let reviewed = e.reviewed?;
            (reviewed < limit).then(|| {
                let line = std::fs::read_to_string(&e.path)
                    .map_or(1, |text| key_line(&text, "reviewed"));
                Problem::new(
                    &e.path,
                    line,
                    format!(
                        "los datos se revisaron el {} (hace más de {max_months} meses): verifique las fuentes y actualice la fecha",
                        reviewed.format("%d/%m/%Y")
                    ),
                )
            })
        })
        .collect()
}

fn file_id(path: &Path, problems: &mut Vec<Problem>) -> Option<String> {
    let id = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("")
        .to_owned();
    if is_id(&id) {
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
        group: None,
        sources: front
            .sources
            .into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        reviewed: front.reviewed.and_then(|r| match r {
            Scalar::Text(t) => chrono::NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").ok(),
            Scalar::Number(_) => None,
        }),
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
