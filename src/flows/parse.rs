//! Reads a flow file (YAML) into a [`FlowDef`], reporting every problem with its line.
//!
//! Two passes: [`parse`] checks one file on its own (YAML, keys, step names,
//! reachability, that every step can end); [`check_references`] checks what
//! needs the whole folder (entry ids and flow ids named by buttons).

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::model::{Action, ButtonDef, FlowDef, InputKind, Step, StepKind};
use crate::problem::Problem;
use crate::tickets::Priority;

/// The longest path of steps a flow may have before it ends.
pub const MAX_DEPTH: usize = 12;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlow {
    title: String,
    triggers: Vec<String>,
    #[serde(default)]
    start: Option<Spanned<String>>,
    #[serde(default)]
    priority: Option<String>,
    steps: IndexMap<String, Spanned<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    say: String,
    #[serde(default)]
    buttons: Vec<Spanned<RawButton>>,
    #[serde(default)]
    input: Option<Spanned<String>>,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    next: Option<Spanned<String>>,
    #[serde(default)]
    skip_if_known: bool,
    #[serde(default)]
    end: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawButton {
    label: String,
    #[serde(default)]
    goto: Option<String>,
    #[serde(default)]
    answer: Option<String>,
    #[serde(default)]
    flow: Option<String>,
    #[serde(default)]
    escalate: Option<String>,
    #[serde(default)]
    end: bool,
    #[serde(default)]
    open_ticket: bool,
    #[serde(default)]
    set: BTreeMap<String, String>,
    #[serde(default)]
    reset: bool,
    #[serde(default)]
    clear: Vec<String>,
    #[serde(default)]
    edit: Option<String>,
}

/// Parses and checks one flow file.
///
/// # Errors
/// Every problem found, each with the file and line.
pub fn parse(id: &str, path: &Path, text: &str) -> Result<FlowDef, Vec<Problem>> {
    let raw: RawFlow = serde_saphyr::from_str(text).map_err(|e| vec![yaml_problem(path, &e)])?;
    let mut problems = Vec::new();
    if raw.title.trim().is_empty() {
        problems.push(Problem::new(path, 1, "falta el título (title)"));
    }
    if raw.triggers.iter().all(|t| t.trim().is_empty()) {
        problems.push(Problem::new(
            path,
            1,
            "el flujo necesita al menos una frase en triggers",
        ));
    }
    if raw.steps.is_empty() {
        problems.push(Problem::new(path, 1, "el flujo no tiene pasos (steps)"));
        return Err(problems);
    }
    let names: HashSet<&str> = raw.steps.keys().map(String::as_str).collect();
    let start = match &raw.start {
        Some(s) => {
            if !names.contains(s.value.as_str()) {
                problems.push(Problem::new(
                    path,
                    line(&s.referenced),
                    format!("el paso inicial «{}» no existe", s.value),
                ));
            }
            s.value.clone()
        }
        None => raw.steps.keys().next().cloned().unwrap_or_default(),
    };

    let priority = match raw.priority.as_deref().map(str::trim) {
        None => Priority::Normal,
        Some(p) => Priority::parse(p).unwrap_or_else(|| {
            problems.push(Problem::new(
                path,
                1,
                format!("prioridad desconocida «{p}» en priority: use normal o alta"),
            ));
            Priority::Normal
        }),
    };
    let mut steps = BTreeMap::new();
    for (name, raw_step) in &raw.steps {
        let at = line(&raw_step.referenced).saturating_sub(1).max(1);
        if !valid_name(name) {
            problems.push(Problem::new(
                path,
                at,
                format!("nombre de paso inválido «{name}»: use minúsculas, números y guiones"),
            ));
        }
        if let Some(step) = build_step(path, name, at, &raw_step.value, &names, &mut problems) {
            steps.insert(name.clone(), step);
        }
    }
    let flow = FlowDef {
        id: id.to_owned(),
        title: raw.title.trim().to_owned(),
        triggers: raw
            .triggers
            .into_iter()
            .filter(|t| !t.trim().is_empty())
            .collect(),
        start,
        priority,
        steps,
        path: path.to_path_buf(),
    };
    if problems.is_empty() {
        check_graph(&flow, &mut problems);
    }
    if problems.is_empty() {
        Ok(flow)
    } else {
        Err(problems)
    }
}

fn build_step(
    path: &Path,
    name: &str,
    at: usize,
    raw: &RawStep,
    names: &HashSet<&str>,
    problems: &mut Vec<Problem>,
) -> Option<Step> {
    if raw.say.trim().is_empty() {
        problems.push(Problem::new(
            path,
            at,
            format!("el paso «{name}» no dice nada (say vacío)"),
        ));
    }
    let before = problems.len();
    let buttons: Vec<ButtonDef> = raw
        .buttons
        .iter()
        .filter_map(|b| build_button(path, &b.value, line(&b.referenced), names, problems))
        .collect();
    let kind = match (&raw.input, raw.end) {
        (Some(_), true) => {
            problems.push(Problem::new(
                path,
                at,
                format!(
                    "el paso «{name}» no puede pedir un dato (input) y terminar (end) a la vez"
                ),
            ));
            return None;
        }
        (None, true) => {
            if !buttons.is_empty() || raw.next.is_some() {
                problems.push(Problem::new(
                    path,
                    at,
                    format!("el paso final «{name}» (end: true) no puede tener botones ni next"),
                ));
            }
            StepKind::End
        }
        (Some(input), false) => {
            let Some(kind) = InputKind::parse(input.value.trim()) else {
                problems.push(Problem::new(
                    path,
                    line(&input.referenced),
                    format!(
                        "tipo de dato desconocido «{}»: use text, email, phone o document",
                        input.value
                    ),
                ));
                return None;
            };
            let Some(field) = raw.field.as_ref().filter(|f| !f.trim().is_empty()) else {
                problems.push(Problem::new(
                    path,
                    at,
                    format!(
                        "el paso «{name}» pide un dato pero no dice en qué campo guardarlo (field)"
                    ),
                ));
                return None;
            };
            let Some(next) = &raw.next else {
                problems.push(Problem::new(
                    path,
                    at,
                    format!("el paso «{name}» pide un dato pero no dice a qué paso seguir (next)"),
                ));
                return None;
            };
            if !names.contains(next.value.as_str()) {
                problems.push(Problem::new(
                    path,
                    line(&next.referenced),
                    format!("el paso «{}» no existe (next de «{name}»)", next.value),
                ));
            }
            StepKind::Input {
                kind,
                field: field.trim().to_owned(),
                next: next.value.clone(),
                buttons,
            }
        }
        (None, false) => {
            if raw.next.is_some() {
                problems.push(Problem::new(
                    path,
                    at,
                    format!("el paso «{name}» tiene next pero no pide ningún dato (input)"),
                ));
            }
            if buttons.is_empty() && problems.len() == before {
                problems.push(Problem::new(path, at, format!("el paso «{name}» no tiene botones, ni pide un dato, ni termina (end: true)")));
            }
            if buttons.len() > 8 {
                problems.push(Problem::new(
                    path,
                    at,
                    format!(
                        "el paso «{name}» tiene {} botones; el máximo es 8",
                        buttons.len()
                    ),
                ));
            }
            StepKind::Buttons(buttons)
        }
    };
    if raw.skip_if_known
        && matches!(kind, StepKind::Buttons(_))
        && !kind_sets_fields_and_goes_on(&kind)
    {
        problems.push(Problem::new(
            path,
            at,
            format!("el paso «{name}» tiene skip_if_known, pero para saltarlo cada botón debe guardar un dato (set) y seguir a otro paso (goto)"),
        ));
    }
    Some(Step {
        name: name.to_owned(),
        say: raw.say.trim_end().to_owned(),
        kind,
        skip_if_known: raw.skip_if_known,
        line: at,
        static_html: std::sync::OnceLock::new(),
    })
}

/// Whether every button of a buttons step sets a field and goes to a step,
/// so the step can be skipped when what it sets is known.
fn kind_sets_fields_and_goes_on(kind: &StepKind) -> bool {
    match kind {
        StepKind::Buttons(buttons) => buttons
            .iter()
            .all(|b| !b.set.is_empty() && matches!(b.action, Action::Goto(_))),
        _ => false,
    }
}

fn build_button(
    path: &Path,
    raw: &RawButton,
    at: usize,
    names: &HashSet<&str>,
    problems: &mut Vec<Problem>,
) -> Option<ButtonDef> {
    if raw.label.trim().is_empty() {
        problems.push(Problem::new(path, at, "un botón no tiene texto (label)"));
    }
    let mut actions = Vec::new();
    if let Some(step) = &raw.goto {
        if !names.contains(step.as_str()) {
            problems.push(Problem::new(
                path,
                at,
                format!(
                    "el paso «{step}» no existe (goto del botón «{}»)",
                    raw.label
                ),
            ));
        }
        actions.push(Action::Goto(step.clone()));
    }
    if let Some(id) = &raw.answer {
        actions.push(Action::Answer(id.clone()));
    }
    if let Some(id) = &raw.flow {
        actions.push(Action::Flow(id.clone()));
    }
    if let Some(p) = &raw.escalate {
        match Priority::parse(p.trim()) {
            Some(p) => actions.push(Action::Escalate(p)),
            None => problems.push(Problem::new(
                path,
                at,
                format!("prioridad desconocida «{p}» en escalate: use normal o alta"),
            )),
        }
    }
    if raw.end {
        actions.push(Action::End);
    }
    if raw.open_ticket {
        actions.push(Action::OpenTicket);
    }
    if let Some(step) = &raw.edit {
        if !names.contains(step.as_str()) {
            problems.push(Problem::new(
                path,
                at,
                format!(
                    "el paso «{step}» no existe (edit del botón «{}»)",
                    raw.label
                ),
            ));
        }
        actions.push(Action::Edit(step.clone()));
    }
    match actions.len() {
        1 => Some(ButtonDef {
            label: raw.label.trim().to_owned(),
            action: actions.remove(0),
            set: raw.set.clone(),
            reset: raw.reset,
            clear: raw.clear.clone(),
        }),
        0 => {
            problems.push(Problem::new(path, at, format!("el botón «{}» no dice qué hace: use goto, answer, flow, escalate, end, open_ticket o edit", raw.label)));
            None
        }
        _ => {
            problems.push(Problem::new(
                path,
                at,
                format!(
                    "el botón «{}» tiene más de una acción; deje solo una",
                    raw.label
                ),
            ));
            None
        }
    }
}

/// The steps a step can move to within the flow.
fn successors(step: &Step) -> Vec<&str> {
    let mut out: Vec<&str> = step
        .buttons()
        .iter()
        .filter_map(|b| match &b.action {
            Action::Goto(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    if let StepKind::Input { next, .. } = &step.kind {
        out.push(next);
    }
    out
}

/// Whether the step can end the flow by itself.
fn ends_here(step: &Step) -> bool {
    matches!(step.kind, StepKind::End)
        || step
            .buttons()
            .iter()
            .any(|b| !matches!(b.action, Action::Goto(_)))
}

/// Unreachable steps, steps that can never end, and paths that are too long.
fn check_graph(flow: &FlowDef, problems: &mut Vec<Problem>) {
    // Reachable from start, with the shortest distance.
    let mut depth: BTreeMap<&str, usize> = BTreeMap::new();
    let mut queue = VecDeque::from([(flow.start.as_str(), 1usize)]);
    while let Some((name, d)) = queue.pop_front() {
        if depth.contains_key(name) {
            continue;
        }
        depth.insert(name, d);
        if let Some(step) = flow.step(name) {
            for next in successors(step) {
                queue.push_back((next, d + 1));
            }
        }
    }
    for step in flow.steps.values() {
        if !depth.contains_key(step.name.as_str()) {
            problems.push(Problem::new(
                &flow.path,
                step.line,
                format!(
                    "el paso «{}» no se puede alcanzar desde el inicio «{}»",
                    step.name, flow.start
                ),
            ));
        }
    }
    // Steps that can reach an end (fixed point over predecessors).
    let mut can_end: BTreeSet<&str> = flow
        .steps
        .values()
        .filter(|s| ends_here(s))
        .map(|s| s.name.as_str())
        .collect();
    loop {
        let before = can_end.len();
        for step in flow.steps.values() {
            if successors(step).iter().any(|n| can_end.contains(n)) {
                can_end.insert(step.name.as_str());
            }
        }
        if can_end.len() == before {
            break;
        }
    }
    for step in flow.steps.values() {
        if !can_end.contains(step.name.as_str()) {
            problems.push(Problem::new(&flow.path, step.line, format!("desde el paso «{}» la conversación nunca puede terminar: agregue un botón que termine, responda o escale", step.name)));
        }
    }
    // The shortest way to an end from the start must fit in MAX_DEPTH steps.
    if let Some(step) = flow
        .steps
        .values()
        .filter(|s| ends_here(s))
        .filter_map(|s| depth.get(s.name.as_str()).map(|d| (s, *d)))
        .min_by_key(|(_, d)| *d)
        .filter(|(_, d)| *d > MAX_DEPTH)
        .map(|(s, _)| s)
    {
        problems.push(Problem::new(
            &flow.path,
            step.line,
            format!("el flujo necesita más de {MAX_DEPTH} pasos para terminar"),
        ));
    }
}

/// Checks ids that need the whole folder: entries for `answer`, flows for `flow`.
pub fn check_references(
    flow: &FlowDef,
    entry_ids: &HashSet<String>,
    flow_ids: &HashSet<String>,
    problems: &mut Vec<Problem>,
) {
    for step in flow.steps.values() {
        for button in step.buttons() {
            match &button.action {
                Action::Answer(id) if !entry_ids.contains(id) => problems.push(Problem::new(
                    &flow.path,
                    step.line,
                    format!(
                        "la entrada «{id}» no existe (answer del botón «{}»)",
                        button.label
                    ),
                )),
                Action::Flow(id) if !flow_ids.contains(id) => problems.push(Problem::new(
                    &flow.path,
                    step.line,
                    format!(
                        "el flujo «{id}» no existe (flow del botón «{}»)",
                        button.label
                    ),
                )),
                _ => {}
            }
        }
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn line(loc: &serde_saphyr::Location) -> usize {
    usize::try_from(loc.line()).unwrap_or(0).max(1)
}

/// A YAML error as a problem; the parser's message is English, so we say what it is.
pub fn yaml_problem(path: &Path, err: &serde_saphyr::Error) -> Problem {
    let at = err.location().map(|l| line(&l)).unwrap_or(1);
    let detail = err.without_snippet().to_string();
    let detail = detail.lines().next().unwrap_or_default().trim();
    Problem::new(path, at, format!("YAML inválido: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "title: Prueba
triggers:
  - algo
steps:
  inicio:
    say: Hola
    buttons:
      - label: Sí
        goto: dato
      - label: No
        end: true
  dato:
    say: Su correo
    input: email
    field: correo
    next: fin
  fin:
    say: Gracias {{correo}}
    end: true
";

    #[test]
    fn parses_a_good_flow() {
        let flow = parse("prueba", Path::new("f.yaml"), GOOD).unwrap();
        assert_eq!(flow.start, "inicio");
        assert_eq!(flow.steps.len(), 3);
    }

    #[test]
    fn reports_problems_with_lines() {
        let cases: &[(&str, &str, usize)] = &[
            (&GOOD.replace("goto: dato", "goto: nada"), "«nada» no existe", 8),
            (&GOOD.replace("input: email", "input: color"), "tipo de dato desconocido", 14),
            (&GOOD.replace("  fin:\n    say: Gracias {{correo}}\n    end: true\n", "  fin:\n    say: Gracias\n    buttons:\n      - label: otra\n        goto: fin\n"), "nunca puede terminar", 17),
            (&GOOD.replace("title: Prueba", "title: [roto"), "YAML inválido", 1),
            (&GOOD.replace("      - label: Sí\n        goto: dato\n", ""), "no se puede alcanzar", 10),
            (&GOOD.replace("say: Hola", "say: Hola\n    color: azul"), "YAML inválido", 7),
        ];
        for (text, needle, line) in cases {
            let problems = parse("prueba", Path::new("f.yaml"), text).unwrap_err();
            assert!(
                problems
                    .iter()
                    .any(|p| p.message.contains(needle) && p.line == *line),
                "expected «{needle}» at line {line}, got {problems:?}"
            );
        }
    }
}
