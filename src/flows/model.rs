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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ButtonDef {
    pub label: String,
    pub action: Action,
    /// Fields stored when pressed.
    pub set: BTreeMap<String, String>,
    /// Clears the fields collected so far before acting.
    pub reset: bool,
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
        skip_if_known: bool,
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
    pub line: usize,
    /// The HTML of `say` when it uses no fields, rendered on first use.
    pub static_html: std::sync::OnceLock<String>,
}

impl Step {
    /// Whether `say` is the same for everyone (no `{{…}}`), so its HTML can be cached.
    pub fn is_static(&self) -> bool {
        !self.say.contains("{{")
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
    pub steps: BTreeMap<String, Step>,
    pub path: PathBuf,
}

impl FlowDef {
    pub fn step(&self, name: &str) -> Option<&Step> {
        self.steps.get(name)
    }
}
