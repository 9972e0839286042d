//! The help center (`/kb`): the knowledge entries as browsable groups, search
//! results and related topics, as plain views for the page templates.
//!
//! Owns the headings and order of the groups and what counts as "related".
//! It reads the folder and ranks with [`Knowledge::search`], exactly as the bot
//! does, and never changes either. No axum, no handlebars: `server::pages`
//! renders these views with `templates/kb.hbs` and `templates/entry.hbs`.

use std::cmp::Ordering;

use serde::Serialize;

use crate::knowledge::{analyzer, Entry, EntryKind, Knowledge, Target};

/// The group folders of `knowledge/faq/` in the order the help center shows
/// them (what people look for first comes first), with their headings. A
/// folder not listed here still shows, after these, under its own name.
const GROUPS: &[(&str, &str)] = &[
    ("acceso", "Acceso y usuarios"),
    ("registro", "Registro de cuentas"),
    ("entidades", "Entidades estatales"),
    ("proveedores", "Proveedores"),
    ("tvec", "Tienda Virtual del Estado Colombiano"),
    ("consulta", "Consulta pública y datos abiertos"),
    ("errores", "Errores técnicos y navegadores"),
    ("seguridad", "Seguridad y datos personales"),
    ("soporte", "Soporte y casos"),
];

/// Most results a search lists.
pub const MAX_RESULTS: usize = 8;
/// Longest query searched, in characters (the chat allows more, but a search
/// box needs no more than a sentence); the rest is ignored.
pub const MAX_QUERY_CHARS: usize = 200;
/// A result must reach this share of the best result's confidence: below it,
/// hits share a word or two with the query but answer something else.
const RELATIVE_FLOOR: f32 = 0.7;
/// Related topics on an entry page: at most this many…
const MAX_RELATED: usize = 5;
/// …at least this many when the folder has them…
const MIN_RELATED: usize = 3;
/// …of which at most this many come from the search (the rest from the group).
const RELATED_FROM_SEARCH: usize = 3;
/// Length of a result's excerpt, in characters.
const EXCERPT_CHARS: usize = 180;

/// The wording for a `seed` source: the letter the project's facts started from.
pub const SEED_SOURCE: &str = "Carta de respuesta de Colombia Compra Eficiente (caso de origen)";

/// Where an entry sits in the help center.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Group {
    /// `faq/<name>/`.
    Folder(String),
    /// FAQ files directly in `faq/`.
    Other,
    /// `terms/`: sections of the terms of use.
    Terms,
}

impl Group {
    pub fn of(entry: &Entry) -> Group {
        match (entry.kind, &entry.group) {
            (EntryKind::Terms, _) => Group::Terms,
            (EntryKind::Faq, Some(name)) => Group::Folder(name.clone()),
            (EntryKind::Faq, None) => Group::Other,
        }
    }

    /// The Spanish heading people see.
    pub fn heading(&self) -> String {
        match self {
            Group::Folder(name) => GROUPS
                .iter()
                .find(|(folder, _)| folder == name)
                .map_or_else(|| folder_heading(name), |(_, h)| (*h).to_owned()),
            Group::Other => "Otras preguntas".to_owned(),
            Group::Terms => "Términos de uso".to_owned(),
        }
    }

    /// The id of the group's section on `/kb`. Folder names are ids
    /// (lowercase, digits, hyphens), so `grupo-<name>` never collides with
    /// the two fixed anchors.
    pub fn anchor(&self) -> String {
        match self {
            Group::Folder(name) => format!("grupo-{name}"),
            Group::Other => "otras-preguntas".to_owned(),
            Group::Terms => "terminos-de-uso".to_owned(),
        }
    }

    /// Known folders in [`GROUPS`] order, then unknown folders by name, then
    /// the loose FAQs, then the terms of use.
    fn rank(&self) -> (usize, &str) {
        match self {
            Group::Folder(name) => (
                GROUPS
                    .iter()
                    .position(|(folder, _)| folder == name)
                    .unwrap_or(GROUPS.len()),
                name,
            ),
            Group::Other => (GROUPS.len() + 1, ""),
            Group::Terms => (GROUPS.len() + 2, ""),
        }
    }
}

/// `capacitacion-virtual` → `Capacitacion virtual`: a heading for a folder an
/// editor added before anyone gave it a proper one here.
fn folder_heading(name: &str) -> String {
    let words = name.replace('-', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// How titles sort: case, accents and the opening `¿` ignored.
fn title_key(title: &str) -> String {
    title
        .split_whitespace()
        .map(analyzer::fold)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn by_title(a: &Entry, b: &Entry) -> Ordering {
    title_key(&a.title)
        .cmp(&title_key(&b.title))
        .then_with(|| a.id.cmp(&b.id))
}

/// A link to an entry page.
#[derive(Debug, Clone, Serialize)]
pub struct EntryLink {
    pub id: String,
    pub title: String,
    pub href: String,
}

impl EntryLink {
    fn of(entry: &Entry) -> Self {
        EntryLink {
            id: entry.id.clone(),
            title: entry.title.clone(),
            href: format!("/kb/{}", entry.id),
        }
    }
}

/// A group's heading and anchor, for breadcrumbs and result labels.
#[derive(Debug, Clone, Serialize)]
pub struct GroupRef {
    pub heading: String,
    pub anchor: String,
}

impl From<&Group> for GroupRef {
    fn from(group: &Group) -> Self {
        GroupRef {
            heading: group.heading(),
            anchor: group.anchor(),
        }
    }
}

/// One section of `/kb`.
#[derive(Debug, Serialize)]
pub struct GroupView {
    pub heading: String,
    pub anchor: String,
    pub count: usize,
    pub entries: Vec<EntryLink>,
}

/// Every entry of the folder, by group, in the order of [`Group::rank`];
/// entries by title within a group.
pub fn groups(knowledge: &Knowledge) -> Vec<GroupView> {
    let mut grouped: Vec<(Group, Vec<&Entry>)> = Vec::new();
    for entry in &knowledge.entries {
        let group = Group::of(entry);
        match grouped.iter_mut().find(|(g, _)| *g == group) {
            Some((_, entries)) => entries.push(entry),
            None => grouped.push((group, vec![entry])),
        }
    }
    grouped.sort_by(|(a, _), (b, _)| a.rank().cmp(&b.rank()));
    grouped
        .into_iter()
        .map(|(group, mut entries)| {
            entries.sort_by(|a, b| by_title(a, b));
            GroupView {
                heading: group.heading(),
                anchor: group.anchor(),
                count: entries.len(),
                entries: entries.into_iter().map(EntryLink::of).collect(),
            }
        })
        .collect()
}

/// One search result.
#[derive(Debug, Serialize)]
pub struct SearchResult {
    #[serde(flatten)]
    pub link: EntryLink,
    pub group: GroupRef,
    /// The first paragraph of the answer, as plain text.
    pub excerpt: String,
}

/// What a search found.
#[derive(Debug, Default, Serialize)]
pub struct Search {
    /// Best first; empty when nothing answers the query well.
    pub results: Vec<SearchResult>,
    /// The query is closer to a topic support does not handle
    /// (`fuera-de-alcance.txt`) than to any entry: the bot would say so too.
    pub out_of_scope: bool,
    /// A guided flow answers the query best: the title, for a pointer to the chat.
    pub flow: Option<String>,
}

/// The query as searched: trimmed, and cut to [`MAX_QUERY_CHARS`].
pub fn clean_query(raw: &str) -> String {
    raw.trim().chars().take(MAX_QUERY_CHARS).collect::<String>()
}

/// Searches the entries with the bot's own ranking. `floor` is the lowest
/// confidence worth showing (the bot's suggest threshold: what it would
/// still offer as a choice).
pub fn search(knowledge: &Knowledge, query: &str, floor: f32) -> Search {
    let hits = knowledge.search(query);
    let best_entry = hits
        .iter()
        .find(|h| matches!(h.target, Target::Entry(_)))
        .map_or(0.0, |h| h.confidence);
    let mut search = Search::default();
    if let Some(top) = hits.first().filter(|h| h.confidence >= floor) {
        match top.target {
            Target::OutOfScope(_) => {
                search.out_of_scope = true;
                return search;
            }
            Target::Flow(i) => search.flow = knowledge.flows.get(i).map(|f| f.title.clone()),
            Target::Entry(_) => {}
        }
    }
    let cut = floor.max(best_entry * RELATIVE_FLOOR);
    search.results = hits
        .iter()
        .filter(|h| h.confidence >= cut)
        .filter_map(|h| match h.target {
            Target::Entry(i) => knowledge.entries.get(i),
            _ => None,
        })
        .take(MAX_RESULTS)
        .map(|entry| SearchResult {
            link: EntryLink::of(entry),
            group: GroupRef::from(&Group::of(entry)),
            excerpt: crate::markdown::excerpt(&entry.body, EXCERPT_CHARS),
        })
        .collect();
    search
}

/// Up to [`MAX_RELATED`] other entries for an entry page: first the best
/// search hits for its title (at most [`RELATED_FROM_SEARCH`], each above
/// `floor`), then entries of its group, closest first. When the group is too
/// small, the next-closest entries of the folder make up [`MIN_RELATED`].
pub fn related(knowledge: &Knowledge, entry: &Entry, floor: f32) -> Vec<EntryLink> {
    // Every other entry with its confidence for the title (0 when not a hit),
    // closest first; ties keep title order.
    let mut confidence = vec![0.0f32; knowledge.entries.len()];
    for hit in knowledge.search(&entry.title) {
        if let Target::Entry(i) = hit.target {
            if let Some(c) = confidence.get_mut(i) {
                *c = c.max(hit.confidence);
            }
        }
    }
    let mut others: Vec<(usize, &Entry)> = knowledge
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.id != entry.id)
        .collect();
    others.sort_by(|(i, a), (j, b)| {
        confidence[*j]
            .total_cmp(&confidence[*i])
            .then_with(|| by_title(a, b))
    });
    let group = Group::of(entry);
    let mut picked: Vec<usize> = Vec::new();
    // Adds entries of `others` that pass `ok`, in order, until `picked` has `wanted`.
    let mut fill = |wanted: usize, ok: &dyn Fn(usize, &Entry) -> bool| {
        for &(i, e) in &others {
            if picked.len() >= wanted {
                break;
            }
            if ok(i, e) && !picked.contains(&i) {
                picked.push(i);
            }
        }
    };
    fill(RELATED_FROM_SEARCH, &|i, _| confidence[i] >= floor);
    fill(MAX_RELATED, &|_, e| Group::of(e) == group);
    fill(MIN_RELATED, &|_, _| true);
    picked
        .into_iter()
        .filter_map(|i| knowledge.entries.get(i))
        .map(EntryLink::of)
        .collect()
}

/// One source of an entry: a link, or plain words (`seed`, or something
/// that is not an http(s) URL, which `check` warns about and is never a link).
#[derive(Debug, Serialize)]
pub struct SourceView {
    pub label: String,
    pub href: Option<String>,
}

fn source_view(source: &str) -> SourceView {
    if source == "seed" {
        return SourceView {
            label: SEED_SOURCE.to_owned(),
            href: None,
        };
    }
    let rest = source
        .strip_prefix("https://")
        .or_else(|| source.strip_prefix("http://"));
    match rest {
        Some(rest) => SourceView {
            label: rest
                .strip_prefix("www.")
                .unwrap_or(rest)
                .trim_end_matches('/')
                .to_owned(),
            href: Some(source.to_owned()),
        },
        None => SourceView {
            label: source.to_owned(),
            href: None,
        },
    }
}

/// A date for people and for `<time datetime>`.
#[derive(Debug, Serialize)]
pub struct DateView {
    /// `29/11/2026`.
    pub text: String,
    /// `2026-11-29`.
    pub iso: String,
}

/// Everything an entry page shows besides the answer itself.
#[derive(Debug, Serialize)]
pub struct EntryPage {
    pub id: String,
    pub title: String,
    /// "Pregunta frecuente" or "Términos y condiciones de uso".
    pub kind: &'static str,
    pub section: Option<String>,
    pub url: Option<String>,
    pub group: GroupRef,
    pub sources: Vec<SourceView>,
    pub reviewed: Option<DateView>,
    pub related: Vec<EntryLink>,
}

/// The page of one entry; `floor` as in [`related`].
pub fn entry_page(knowledge: &Knowledge, entry: &Entry, floor: f32) -> EntryPage {
    EntryPage {
        id: entry.id.clone(),
        title: entry.title.clone(),
        kind: match entry.kind {
            EntryKind::Faq => "Pregunta frecuente",
            EntryKind::Terms => "Términos y condiciones de uso",
        },
        section: entry.section.clone(),
        url: entry.url.clone(),
        group: GroupRef::from(&Group::of(entry)),
        sources: entry.sources.iter().map(|s| source_view(s)).collect(),
        reviewed: entry.reviewed.map(|d| DateView {
            text: crate::render::date(d),
            iso: d.format("%Y-%m-%d").to_string(),
        }),
        related: related(knowledge, entry, floor),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::{Mode, Thresholds};
    use std::path::Path;

    fn write(dir: &Path, rel: &str, title: &str, questions: &[&str], extra: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let qs: String = questions.iter().map(|q| format!("  - \"{q}\"\n")).collect();
        std::fs::write(
            path,
            format!("---\ntitle: \"{title}\"\nquestions:\n{qs}{extra}---\nRespuesta de {title}.\n"),
        )
        .unwrap();
    }

    fn folder() -> (tempfile::TempDir, Knowledge) {
        let tmp = tempfile::tempdir().unwrap();
        let k = tmp.path();
        write(k, "faq/proveedores/factura.md", "¿Cómo cargo la factura en el plan de pagos?", &["subir factura plan de pagos", "cuenta de cobro"], "sources:\n  - https://www.colombiacompra.gov.co/guia/\n  - seed\n  - javascript:alert(1)\nreviewed: 2026-11-29\n");
        write(
            k,
            "faq/proveedores/oferta.md",
            "Presentar una oferta",
            &["como presento mi oferta"],
            "",
        );
        write(
            k,
            "faq/proveedores/estado-factura.md",
            "¿En qué estado va mi factura?",
            &["estado de la factura", "la entidad no aprueba mi factura"],
            "",
        );
        write(
            k,
            "faq/acceso/contrasena.md",
            "Olvidé mi contraseña",
            &["olvide la clave"],
            "",
        );
        write(
            k,
            "faq/acceso/correo.md",
            "Cambiar el correo",
            &["cambiar mi correo"],
            "",
        );
        write(
            k,
            "faq/capacitacion-virtual/cursos.md",
            "Cursos virtuales",
            &["donde hay cursos"],
            "",
        );
        write(
            k,
            "faq/suelta.md",
            "Una pregunta suelta",
            &["algo suelto"],
            "",
        );
        write(
            k,
            "terms/uso.md",
            "Uso indebido",
            &["uso indebido de la plataforma"],
            "section: 7\n",
        );
        std::fs::write(
            k.join("fuera-de-alcance.txt"),
            "contraseña del correo de gmail\n",
        )
        .unwrap();
        let knowledge = Knowledge::load(k, Mode::Spanish, Thresholds::default()).unwrap();
        (tmp, knowledge)
    }

    #[test]
    fn groups_come_in_order_with_headings_and_sorted_titles() {
        let (_tmp, k) = folder();
        let groups = groups(&k);
        let headings: Vec<&str> = groups.iter().map(|g| g.heading.as_str()).collect();
        assert_eq!(
            headings,
            [
                "Acceso y usuarios",
                "Proveedores",
                "Capacitacion virtual",
                "Otras preguntas",
                "Términos de uso"
            ]
        );
        let anchors: Vec<&str> = groups.iter().map(|g| g.anchor.as_str()).collect();
        assert_eq!(anchors[0], "grupo-acceso");
        assert_eq!(anchors[3..], ["otras-preguntas", "terminos-de-uso"]);
        // "¿Cómo…" sorts as "como", before "¿En…" and "Presentar".
        let ids: Vec<&str> = groups[1].entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["factura", "estado-factura", "oferta"]);
        assert_eq!(groups[1].count, 3);
        assert_eq!(groups[0].entries[0].href, "/kb/correo");
    }

    #[test]
    fn search_lists_entries_best_first_and_knows_when_nothing_fits() {
        let (_tmp, k) = folder();
        let floor = Thresholds::default().suggest;
        let found = search(&k, "factura plan de pagos", floor);
        assert_eq!(found.results[0].link.id, "factura", "{found:?}");
        assert_eq!(found.results[0].group.heading, "Proveedores");
        assert!(found.results.len() <= MAX_RESULTS);

        let nothing = search(&k, "zzzz qqqq", floor);
        assert!(nothing.results.is_empty(), "{nothing:?}");
        assert!(!nothing.out_of_scope);

        let elsewhere = search(&k, "olvidé la contraseña del correo de gmail", floor);
        assert!(elsewhere.out_of_scope, "{elsewhere:?}");
        assert!(elsewhere.results.is_empty());
    }

    #[test]
    fn queries_are_trimmed_and_capped() {
        assert_eq!(clean_query("  hola  "), "hola");
        assert_eq!(
            clean_query(&"á".repeat(500)).chars().count(),
            MAX_QUERY_CHARS
        );
    }

    #[test]
    fn related_are_others_closest_first_then_the_group() {
        let (_tmp, k) = folder();
        let entry = k.entry("factura").unwrap();
        let found = related(&k, entry, Thresholds::default().suggest);
        let ids: Vec<&str> = found.iter().map(|e| e.id.as_str()).collect();
        assert!(!ids.contains(&"factura"), "{ids:?}");
        assert!((MIN_RELATED..=MAX_RELATED).contains(&ids.len()), "{ids:?}");
        assert_eq!(ids[0], "estado-factura", "{ids:?}");
        assert!(ids.contains(&"oferta"), "the group fills in: {ids:?}");

        // A group of one still gets MIN_RELATED from the rest of the folder.
        let alone = related(&k, k.entry("suelta").unwrap(), 0.28);
        assert_eq!(alone.len(), MIN_RELATED, "{alone:?}");
    }

    #[test]
    fn entry_page_shows_sources_plainly_and_the_review_date() {
        let (_tmp, k) = folder();
        let page = entry_page(&k, k.entry("factura").unwrap(), 0.28);
        assert_eq!(page.group.anchor, "grupo-proveedores");
        let reviewed = page.reviewed.unwrap();
        assert_eq!(
            (reviewed.text.as_str(), reviewed.iso.as_str()),
            ("29/11/2026", "2026-11-29")
        );
        assert_eq!(page.sources[0].label, "colombiacompra.gov.co/guia");
        assert_eq!(
            page.sources[0].href.as_deref(),
            Some("https://www.colombiacompra.gov.co/guia/")
        );
        assert_eq!(page.sources[1].label, SEED_SOURCE);
        assert!(page.sources[1].href.is_none());
        assert!(page.sources[2].href.is_none(), "never a javascript: link");

        let terms = entry_page(&k, k.entry("uso").unwrap(), 0.28);
        assert_eq!(terms.group.heading, "Términos de uso");
        assert_eq!(terms.section.as_deref(), Some("7"));
        assert!(terms.reviewed.is_none());
    }
}
