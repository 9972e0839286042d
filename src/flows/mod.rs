//! Guided flows: their definition (read from `knowledge/flows/*.yaml`), checks
//! of typed answers, and the engine that moves a conversation through them.
//!
//! Pure: no I/O, no rendering, no sockets. The conversation owns persistence.

pub mod engine;
mod journeys;
pub mod model;
mod parse;
pub mod validate;

pub use engine::{FlowState, Outcome};
pub use journeys::{check_journeys, MAX_BUTTON_PATH};
pub use model::{Action, ButtonDef, FlowDef, InputKind, Step, StepKind, MAX_EDITS};
pub use parse::{check_references, parse, yaml_problem, MAX_DEPTH};
