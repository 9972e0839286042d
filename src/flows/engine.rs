//! The flow engine: a pure state machine, `(definition, state, input) → outcome`.
//!
//! No I/O and no rendering: the conversation persists the [`FlowState`] and
//! turns each [`Outcome`] into replies. Fields collected along the way live in
//! the conversation (so an escalation can reuse what is already known) and are
//! passed in by reference.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::{Action, ButtonDef, FlowDef, Step, StepKind, MAX_EDITS};
use super::validate;
use crate::knowledge::analyzer::fold;
use crate::tickets::Priority;

/// Fields collected in a conversation (nombre, correo…).
pub type Fields = BTreeMap<String, String>;

/// Where a conversation is inside a flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowState {
    pub flow: String,
    pub step: String,
    /// Corrections (`edit` buttons) made in this run of the flow.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub edits: u8,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

impl FlowState {
    pub fn new(flow: &str, step: &str) -> Self {
        FlowState {
            flow: flow.to_owned(),
            step: step.to_owned(),
            edits: 0,
        }
    }
}

/// What happens next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Show this step (its text, then its buttons or input).
    At(FlowState),
    /// The typed value was refused: show the reason and the same step again.
    Invalid { state: FlowState, reason: String },
    /// Show this final step's text; the flow is over.
    Finished(FlowState),
    /// The flow is over; nothing more to show.
    Ended,
    /// Show a knowledge entry; the flow is over.
    Answer(String),
    /// Start another flow.
    Handover(String),
    /// Start the escalation flow.
    Escalate(Priority),
    /// Open a ticket with the collected fields; the flow is over.
    OpenTicket,
    /// The step only takes buttons and the text matches none of them.
    NotAButton(FlowState),
    /// The state names a step that no longer exists (the folder changed).
    Lost,
}

/// Moves to `step`, skipping steps whose data is already known (see
/// [`Step::skip_if_known`]).
pub fn enter(flow: &FlowDef, step: &str, fields: &Fields) -> Outcome {
    enter_with(flow, step, fields, 0)
}

fn enter_with(flow: &FlowDef, step: &str, fields: &Fields, edits: u8) -> Outcome {
    let mut name = step.to_owned();
    // Each step is skipped at most once, so a cycle of known fields cannot loop forever.
    for _ in 0..=flow.steps.len() {
        let Some(current) = flow.step(&name) else {
            return Outcome::Lost;
        };
        if let Some(next) = skip_to(current, fields) {
            name = next.to_owned();
            continue;
        }
        let at = FlowState {
            flow: flow.id.clone(),
            step: name,
            edits,
        };
        return match current.kind {
            StepKind::End => Outcome::Finished(at),
            _ => Outcome::At(at),
        };
    }
    Outcome::Lost
}

/// Where a step whose data is known continues, if it can be skipped.
fn skip_to<'a>(step: &'a Step, fields: &Fields) -> Option<&'a str> {
    if !step.skip_if_known {
        return None;
    }
    let known = |k: &str| fields.get(k).filter(|v| !v.is_empty());
    match &step.kind {
        StepKind::Input { field, next, .. } => known(field).map(|_| next.as_str()),
        StepKind::Buttons(buttons) => buttons.iter().find_map(|b| match &b.action {
            Action::Goto(next)
                if !b.set.is_empty() && b.set.iter().all(|(k, v)| known(k) == Some(v)) =>
            {
                Some(next.as_str())
            }
            _ => None,
        }),
        StepKind::End => None,
    }
}

/// The buttons to show at `state`, with their indices in the step: a button
/// leading to the corrections menu is hidden once [`MAX_EDITS`] were made.
pub fn visible_buttons<'a>(
    flow: &'a FlowDef,
    state: &FlowState,
) -> impl Iterator<Item = (usize, &'a ButtonDef)> {
    let exhausted = state.edits >= MAX_EDITS;
    flow.step(&state.step)
        .map(Step::buttons)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .filter(move |(_, b)| {
            !(exhausted
                && match &b.action {
                    Action::Goto(s) => flow.step(s).is_some_and(Step::offers_edits),
                    Action::Edit(_) => true,
                    _ => false,
                })
        })
}

/// Starts the flow at its first step.
pub fn start(flow: &FlowDef, fields: &Fields) -> Outcome {
    enter(flow, &flow.start, fields)
}

/// The user pressed button `index` of the current step.
pub fn press(flow: &FlowDef, state: &FlowState, index: usize, fields: &mut Fields) -> Outcome {
    let Some(button) = flow.step(&state.step).and_then(|s| s.buttons().get(index)) else {
        return Outcome::Lost;
    };
    if !visible_buttons(flow, state).any(|(i, _)| i == index) {
        // A stale button (corrections used up): back to where the flow stands.
        return enter_with(flow, &flow.start, fields, state.edits);
    }
    if button.reset {
        fields.clear();
    }
    for k in &button.clear {
        fields.remove(k);
    }
    for (k, v) in &button.set {
        fields.insert(k.clone(), v.clone());
    }
    match &button.action {
        Action::Goto(step) => enter_with(flow, step, fields, state.edits),
        Action::Edit(step) => {
            if let Some(target) = flow.step(step) {
                for k in target.collects() {
                    fields.remove(k);
                }
            }
            enter_with(flow, step, fields, state.edits.saturating_add(1))
        }
        Action::Answer(id) => Outcome::Answer(id.clone()),
        Action::Flow(id) => Outcome::Handover(id.clone()),
        Action::Escalate(p) => Outcome::Escalate(*p),
        Action::End => Outcome::Ended,
        Action::OpenTicket => Outcome::OpenTicket,
    }
}

/// The user typed `text` at the current step.
pub fn type_text(flow: &FlowDef, state: &FlowState, text: &str, fields: &mut Fields) -> Outcome {
    let Some(step) = flow.step(&state.step) else {
        return Outcome::Lost;
    };
    if let Some(index) = match_label(flow, state, text) {
        return press(flow, state, index, fields);
    }
    match &step.kind {
        StepKind::Input {
            kind, field, next, ..
        } => match validate::check(*kind, text, fields) {
            Ok(value) => {
                fields.insert(field.clone(), value);
                enter_with(flow, next, fields, state.edits)
            }
            Err(reason) => Outcome::Invalid {
                state: state.clone(),
                reason,
            },
        },
        _ => Outcome::NotAButton(state.clone()),
    }
}

/// A typed text that names one of the step's buttons, so that a user who
/// types instead of pressing is understood ("cédula de ciudadanía",
/// "ciudadania", "CC", "sí"). In order, the first rule that singles out one
/// button wins:
/// 1. the whole label;
/// 2. every word typed is a word of one label (a word of 4 letters or more
///    may be its beginning: "extranj");
/// 3. a short code the button stores ("CC", "NIT");
/// 4. every word of one label of two words or more is in the text ("tengo
///    cédula de extranjería"). One-word labels ("No") never match this way:
///    "no me llega el correo" is a new question, not the button "No".
///
/// Words like "de", "la", "mi" are ignored; accents and case never matter.
/// Several buttons matching ("cédula") is no match: the step is shown again.
pub fn match_label(flow: &FlowDef, state: &FlowState, text: &str) -> Option<usize> {
    let typed = fold(text);
    if typed.is_empty() {
        return None;
    }
    let buttons: Vec<(usize, &ButtonDef)> = visible_buttons(flow, state).collect();
    if let Some((i, _)) = buttons.iter().find(|(_, b)| fold(&b.label) == typed) {
        return Some(*i);
    }
    let typed_words = significant_words(text);
    let labels: Vec<(usize, Vec<String>)> = buttons
        .iter()
        .map(|(i, b)| (*i, significant_words(&b.label)))
        .collect();
    let named_by_words = |(_, label): &&(usize, Vec<String>)| {
        !typed_words.is_empty()
            && typed_words.iter().all(|t| {
                label
                    .iter()
                    .any(|l| l == t || (t.chars().count() >= 4 && l.starts_with(t.as_str())))
            })
    };
    let by_code = |(_, b): &&(usize, &ButtonDef)| {
        b.set
            .values()
            .any(|v| (2..=4).contains(&v.chars().count()) && fold(v) == typed)
    };
    let in_text = |(_, label): &&(usize, Vec<String>)| {
        label.len() >= 2 && label.iter().all(|l| typed_words.contains(l))
    };
    let single = |found: Vec<usize>| match found.as_slice() {
        [one] => Some(*one),
        _ => None,
    };
    single(
        labels
            .iter()
            .filter(named_by_words)
            .map(|(i, _)| *i)
            .collect(),
    )
    .or_else(|| single(buttons.iter().filter(by_code).map(|(i, _)| *i).collect()))
    .or_else(|| single(labels.iter().filter(in_text).map(|(i, _)| *i).collect()))
}

/// Words that say nothing about which button is meant.
const FILLER: &[&str] = &[
    "a", "al", "de", "del", "el", "en", "es", "la", "las", "lo", "los", "mi", "mis", "o", "por",
    "soy", "su", "un", "una", "y",
];

/// The folded words of `text`, fillers left out.
fn significant_words(text: &str) -> Vec<String> {
    crate::knowledge::analyzer::words(text)
        .map(|w| fold(&w))
        .filter(|w| !w.is_empty() && !FILLER.contains(&w.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const FLOW: &str = "title: Caso
triggers: [crear caso]
steps:
  nombre:
    say: Su nombre
    input: text
    field: nombre
    next: tipo
    skip_if_known: true
  tipo:
    say: Tipo de documento
    buttons:
      - label: Cédula de ciudadanía
        set: {tipo_documento: CC}
        goto: numero
      - label: NIT
        set: {tipo_documento: NIT}
        goto: numero
  numero:
    say: Número
    input: document
    field: numero_documento
    next: confirmar
  confirmar:
    say: '¿Confirma, {{nombre}}?'
    buttons:
      - label: Sí, crear
        open_ticket: true
      - label: Corregir
        reset: true
        goto: nombre
      - label: No, cancelar
        end: true
  ";

    fn flow() -> FlowDef {
        super::super::parse("caso", Path::new("caso.yaml"), FLOW).unwrap()
    }

    fn at(step: &str) -> Outcome {
        Outcome::At(FlowState::new("caso", step))
    }

    fn state(step: &str) -> FlowState {
        FlowState::new("caso", step)
    }

    #[test]
    fn walks_the_table() {
        let flow = flow();
        let mut fields = Fields::new();
        assert_eq!(start(&flow, &fields), at("nombre"));
        // (step, typed or pressed, expected outcome)
        enum In {
            Type(&'static str),
            Press(usize),
        }
        let table = [
            ("nombre", In::Type("Ana Pérez"), at("tipo")),
            (
                "tipo",
                In::Type("perro"),
                Outcome::NotAButton(state("tipo")),
            ),
            ("tipo", In::Type("nit"), at("numero")),
            (
                "numero",
                In::Type("12"),
                Outcome::Invalid {
                    state: state("numero"),
                    reason: String::new(),
                },
            ),
            ("numero", In::Type("900123456-8"), at("confirmar")),
            ("confirmar", In::Type("si"), Outcome::OpenTicket),
            ("confirmar", In::Press(1), at("nombre")),
            ("confirmar", In::Press(2), Outcome::Ended),
        ];
        for (step, input, want) in table {
            let got = match input {
                In::Type(t) => type_text(&flow, &state(step), t, &mut fields),
                In::Press(i) => press(&flow, &state(step), i, &mut fields),
            };
            match (&got, &want) {
                (Outcome::Invalid { state: a, .. }, Outcome::Invalid { state: b, .. }) => {
                    assert_eq!(a, b)
                }
                _ => assert_eq!(got, want, "at {step}"),
            }
            if step == "confirmar" {
                // Re-fill after a reset so later rows have data.
                fields.insert("nombre".into(), "Ana".into());
            }
        }
    }

    #[test]
    fn skips_known_fields() {
        let flow = flow();
        let fields = Fields::from([("nombre".to_owned(), "Ana".to_owned())]);
        assert_eq!(start(&flow, &fields), at("tipo"));
        assert_eq!(enter(&flow, "nada", &fields), Outcome::Lost);
    }

    const DOCUMENTS: &str = "title: Documento
triggers: [documento]
steps:
  tipo:
    say: Tipo de documento
    buttons:
      - label: Cédula de ciudadanía
        set: {tipo_documento: CC}
        goto: fin
      - label: Cédula de extranjería
        set: {tipo_documento: CE}
        goto: fin
      - label: NIT
        set: {tipo_documento: NIT}
        goto: fin
      - label: Tarjeta de identidad
        set: {tipo_documento: TI}
        goto: fin
      - label: Pasaporte
        set: {tipo_documento: PA}
        goto: fin
  fin:
    say: ¿Sigue?
    buttons:
      - label: Sí
        goto: tipo
      - label: No
        end: true
";

    #[test]
    fn typed_answers_name_a_button_by_its_distinguishing_words() {
        let flow = super::super::parse("doc", Path::new("doc.yaml"), DOCUMENTS).unwrap();
        let at = |step: &str| FlowState::new("doc", step);
        for (typed, button) in [
            ("cedula de ciudadania", Some(0)),
            ("CIUDADANÍA", Some(0)),
            ("mi cédula de extranjería", Some(1)),
            ("extranj", Some(1)),
            ("cc", Some(0)),
            ("Nit", Some(2)),
            ("ti", Some(3)),
            ("tarjeta", Some(3)),
            ("es un pasaporte", Some(4)),
            ("tengo cédula de extranjería", Some(1)),
            // Two buttons fit: shown again, never guessed.
            ("cedula", None),
            ("ced", None),
            ("perro", None),
            ("", None),
        ] {
            assert_eq!(match_label(&flow, &at("tipo"), typed), button, "{typed:?}");
        }
        for (typed, button) in [
            ("sí", Some(0)),
            ("SI", Some(0)),
            ("no", Some(1)),
            // A new question at a yes/no step is not the button "No".
            ("no me llega el correo", None),
            ("si pero no", None),
        ] {
            assert_eq!(match_label(&flow, &at("fin"), typed), button, "{typed:?}");
        }
    }
}
