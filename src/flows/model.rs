//! A validated flow definition, as the engine runs it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::tickets::Priority;

/// What a typed answer must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Text,
    Email,
    Phone,
    Document,
}

impl InputKind {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "text" => Some(InputKind::Text),
            "email" => Some(InputKind::Email),
            "phone" => Some(InputKind::Phone),
            "document" => Some(InputKind::Document),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            InputKind::Text => "text",
            InputKind::Email => "email",
            InputKind::Phone => "phone",
            InputKind::Document => "document",
        }
    }
}

/// What pressing a button does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Go to another step of the same flow.
    Goto(String),
    /// Show a knowledge entry and end the flow.
    Answer(String),
    /// Hand over to another flow.
    Flow(String),
    /// Start the escalation flow with this priority.
    Escalate(Priority),
    /// End the flow.
    End,
    /// Open a ticket with the fields collected (escalation flow only).
    OpenTicket,
    /// Ask again for the data this step collects (a correction from a
    /// summary), then go on: steps whose data is still known are skipped, so
    /// the user lands back on the summary. At most [`MAX_EDITS`] per flow.
    Edit(String),
}

/// How many corrections (`edit` buttons) one run of a flow allows. Bounded so
/// that a user pressing buttons can never go round the summary forever.
pub const MAX_EDITS: u8 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ButtonDef {
    pub label: String,
    pub action: Action,
    /// Fields stored when pressed.
    pub set: BTreeMap<String, String>,
    /// Clears the fields collected so far before acting.
    pub reset: bool,
    /// Fields cleared before acting (e.g. the number when the document type is corrected).
    pub clear: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// Offers buttons only.
    Buttons(Vec<ButtonDef>),
    /// Asks for typed input (and may also offer buttons).
    Input {
        kind: InputKind,
        field: String,
        next: String,
        buttons: Vec<ButtonDef>,
    },
    /// Says its text and ends the flow.
    End,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    /// Handlebars template; may use fields collected earlier.
    pub say: String,
    pub kind: StepKind,
    /// Skip the step when its data is already known: an input step whose
    /// field is filled; a buttons step one of whose buttons `set`s exactly
    /// what is known (its `goto` is followed as if pressed).
    pub skip_if_known: bool,
    pub line: usize,
    /// The HTML of `say` when it uses no fields, rendered on first use.
    pub static_html: std::sync::OnceLock<String>,
}

impl Step {
    /// Whether `say` is the same for everyone (no `{{…}}`), so its HTML can be cached.
    pub fn is_static(&self) -> bool {
        !self.say.contains("{{")
    }

    /// The fields this step collects: an input's field, or the keys its buttons set.
    pub fn collects(&self) -> Vec<&str> {
        match &self.kind {
            StepKind::Input { field, .. } => vec![field.as_str()],
            _ => {
                let mut keys: Vec<&str> = self
                    .buttons()
                    .iter()
                    .flat_map(|b| b.set.keys().map(String::as_str))
                    .collect();
                keys.sort_unstable();
                keys.dedup();
                keys
            }
        }
    }

    /// Whether some button of this step leads to a correction (`edit`).
    pub fn offers_edits(&self) -> bool {
        self.buttons()
            .iter()
            .any(|b| matches!(b.action, Action::Edit(_)))
    }

    pub fn buttons(&self) -> &[ButtonDef] {
        match &self.kind {
            StepKind::Buttons(b) => b,
            StepKind::Input { buttons, .. } => buttons,
            StepKind::End => &[],
        }
    }
}

/// A guided flow loaded from `knowledge/flows/<id>.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowDef {
    pub id: String,
    pub title: String,
    pub triggers: Vec<String>,
    pub start: String,
    /// The least priority of a case opened during or after this flow
    /// (`priority: alta` on security flows: an intrusion is urgent wherever
    /// the user asks for a person).
    pub priority: Priority,
    pub steps: BTreeMap<String, Step>,
    pub path: PathBuf,
}

impl FlowDef {
    pub fn step(&self, name: &str) -> Option<&Step> {
        self.steps.get(name)
    }
}
