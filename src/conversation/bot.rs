//! The bot's side of a turn: from what the user did to the replies it gets.
//!
//! Decides between the flow in progress, the knowledge index and escalation,
//! and words the replies through `render`. Touches only the conversation state
//! it is given; storage and delivery are the caller's (see `Hub`).

use serde_json::json;

use super::courtesy::courtesy;
use super::reply::{Author, Button, FlowRef, Reply, ReplyKind, Source};
use super::state::ConversationState;
use crate::flows::{self, engine, FlowDef, FlowState, Outcome, StepKind};
use crate::knowledge::analyzer::fold;
use crate::knowledge::{Decision, Entry, Knowledge, Topic, ESCALATION_FLOW};
use crate::render::{markdown, Renderer};
use crate::tickets::hours::Availability;
use crate::tickets::{privacy, Priority};

/// What the user did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserInput {
    Say(String),
    Choose(String),
    Escalate(Option<String>),
}

/// Side effects the caller must carry out after the bot's replies.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// Open a ticket with the conversation's fields.
    pub open_ticket: bool,
    /// The user asked about their case: answer with its live status.
    pub ticket_status: bool,
    /// Look up a case from another browser: (case number, e-mail).
    pub case_lookup: Option<(String, String)>,
    /// Add the user's words to a case verified by a lookup: (case number, text).
    pub case_reply: Option<(String, String)>,
}

/// Button values. Stateless ones (`tema:`, `escalar`) work any time; the
/// others only while their message is the latest with buttons.
const TOPIC_PREFIX: &str = "tema:";
const STEP_PREFIX: &str = "paso:";
pub const ESCALATE_VALUE: &str = "escalar";
const RESUME_VALUE: &str = "volver";
const CASE_STATUS_ENTRY: &str = "estado-de-caso";

/// Words that leave a flow.
const CANCEL_WORDS: &[&str] = &[
    "cancelar",
    "salir",
    "cancela",
    "terminar",
    "detener",
    "parar",
    "cancelarr",
];

pub struct Bot<'a> {
    pub knowledge: &'a Knowledge,
    pub render: &'a Renderer,
    /// Whether agents attend now: outside hours an escalation says when they are back.
    pub availability: Availability,
    /// The data-treatment policy (`--privacy-url`), for `{{politica_datos_url}}`.
    pub privacy_url: &'a str,
}

impl Bot<'_> {
    /// The first message of a new conversation.
    pub fn greeting(&self) -> Reply {
        let mut buttons = Vec::new();
        for (id, label) in [
            ("olvide-mi-contrasena", "Olvidé mi contraseña"),
            ("usuario-bloqueado", "Mi usuario está bloqueado"),
            ("correo-no-solicitado", "Recibí un correo que no pedí"),
            ("acceso-no-autorizado", "Alguien entró a mi cuenta"),
        ] {
            if self.knowledge.topic(id).is_some() {
                buttons.push(Button {
                    label: label.to_owned(),
                    value: format!("{TOPIC_PREFIX}{id}"),
                });
            }
        }
        buttons.push(escalate_button());
        Reply::bot(ReplyKind::Notice, self.render.reply("greeting", &json!({})))
            .with_buttons(buttons)
    }

    pub fn new_conversation_notice(&self) -> Reply {
        Reply::new(
            Author::System,
            ReplyKind::Notice,
            self.render.reply("new_conversation", &json!({})),
        )
    }

    /// The bot's replies to one user action.
    pub fn respond(
        &self,
        state: &mut ConversationState,
        input: &UserInput,
        effects: &mut Effects,
    ) -> Vec<Reply> {
        let mut out = Vec::new();
        if !matches!(input, UserInput::Say(_)) {
            // A button or "talk to a person" leaves a case follow-up.
            state.lookup = None;
        }
        match input {
            UserInput::Say(text) => self.on_text(state, text, effects, &mut out),
            UserInput::Choose(value) => self.on_choose(state, value, effects, &mut out),
            UserInput::Escalate(text) => {
                if let Some(t) = text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                    state.fields.insert("descripcion".into(), t.to_owned());
                }
                self.escalate(state, Priority::Normal, effects, &mut out);
            }
        }
        state.offer(&out);
        out
    }

    /// How a choice reads in the transcript when it is not among the last
    /// buttons (an older message's topic or "talk to a person" button).
    pub fn choice_label(&self, value: &str) -> String {
        if value == ESCALATE_VALUE {
            return escalate_button().label;
        }
        value
            .strip_prefix(TOPIC_PREFIX)
            .and_then(|id| self.knowledge.topic(id))
            .map(|t| t.title().to_owned())
            .unwrap_or_else(|| value.to_owned())
    }

    /// Whether a `choose` value can be accepted now.
    pub fn accepts_choice(state: &ConversationState, value: &str) -> bool {
        value.starts_with(TOPIC_PREFIX)
            || value == ESCALATE_VALUE
            || state.buttons.iter().any(|b| b.value == value)
    }

    fn on_text(
        &self,
        state: &mut ConversationState,
        text: &str,
        effects: &mut Effects,
        out: &mut Vec<Reply>,
    ) {
        if self.lookup_text(state, text, effects, out) {
            return;
        }
        if let Some(flow_state) = state.flow.clone() {
            let Some(flow) = self.knowledge.flow(&flow_state.flow) else {
                state.flow = None;
                out.push(Reply::bot(
                    ReplyKind::Notice,
                    self.render.reply("flow_lost", &json!({})),
                ));
                return;
            };
            if is_cancel(text) {
                state.flow = None;
                state.suspended = None;
                out.push(Reply::bot(
                    ReplyKind::Notice,
                    self.render
                        .reply("flow_cancelled", &json!({ "title": flow.title })),
                ));
                return;
            }
            let expects_typed = flow
                .step(&flow_state.step)
                .is_some_and(|s| matches!(s.kind, StepKind::Input { kind, .. } if kind != flows::InputKind::Text));
            let mut fields = state.fields.clone();
            let outcome = engine::type_text(flow, &flow_state, text, &mut fields);
            match outcome {
                Outcome::NotAButton(_) => {
                    if self.answer_aside(state, flow, text, effects, out) {
                        return;
                    }
                    out.push(self.reprompt(
                        state,
                        flow,
                        &flow_state,
                        self.render.reply("flow_not_a_button", &json!({})),
                    ));
                }
                Outcome::Invalid { state: at, reason } => {
                    // A real question typed where an e-mail was expected is answered.
                    if expects_typed
                        && text.split_whitespace().count() >= 3
                        && self.answer_aside(state, flow, text, effects, out)
                    {
                        return;
                    }
                    out.push(self.reprompt(state, flow, &at, reason));
                }
                other => {
                    state.fields = fields;
                    self.apply(state, flow, other, effects, out);
                }
            }
            return;
        }
        if let Some(kind) = courtesy(text) {
            out.push(Reply::bot(
                ReplyKind::Notice,
                self.render.reply(kind.template(), &json!({})),
            ));
            return;
        }
        state.topic_text = Some(text.to_owned());
        let understood = self.knowledge.understand(text);
        match understood.decision {
            Decision::Answer { topic, .. } => {
                self.topic(state, topic, effects, out);
                self.offer_also(&understood.also, out);
            }
            Decision::Suggest(topics) => {
                let buttons = topics
                    .iter()
                    .map(|t| Button {
                        label: t.title().to_owned(),
                        value: format!("{TOPIC_PREFIX}{}", t.id()),
                    })
                    .chain(std::iter::once(escalate_button()))
                    .collect();
                out.push(
                    Reply::bot(ReplyKind::Suggest, self.render.reply("suggest", &json!({})))
                        .with_buttons(buttons),
                );
            }
            Decision::Fallback { out_of_scope } => {
                // With a case open, what the bot cannot answer is for the case:
                // the message is in its conversation, which the agent reads.
                if let (Some(id), Some(status)) = (&state.ticket, &state.ticket_status) {
                    if status != "resuelto" {
                        out.push(Reply::bot(
                            ReplyKind::Notice,
                            self.render.reply("fallback_case", &json!({ "id": id })),
                        ));
                        return;
                    }
                }
                let advice = out_of_scope.and_then(|i| self.knowledge.out_of_scope_advice(i));
                // Not sure enough to answer, but one topic came near: it is
                // offered by name, the refusal stays honest about it.
                let nearest = understood.nearest.as_ref().map(|t| Button {
                    label: t.title().to_owned(),
                    value: format!("{TOPIC_PREFIX}{}", t.id()),
                });
                let name = match (out_of_scope, &nearest) {
                    (Some(_), _) => "out_of_scope",
                    (None, Some(_)) => "fallback_nearest",
                    (None, None) => "fallback",
                };
                let title = nearest.as_ref().map(|b| b.label.as_str());
                out.push(
                    Reply::bot(
                        ReplyKind::Fallback,
                        self.render
                            .reply(name, &json!({ "advice": advice, "title": title })),
                    )
                    .with_buttons(nearest.into_iter().chain([escalate_button()]).collect()),
                );
                // A message about another service may still hold a clear
                // SECOP II question in one clause ("¿cómo cambio el correo de
                // mi usuario? Ahora tengo uno de Gmail"): offered, not answered.
                self.offer_also(&understood.also, out);
            }
        }
    }

    /// Offers the other clear questions of a message as buttons under an
    /// entry's answer or a refusal ("También preguntó: …"). A flow's step keeps its own
    /// buttons: they must stay the latest, so nothing is added after a flow.
    fn offer_also(&self, also: &[Topic<'_>], out: &mut [Reply]) {
        let Some(reply) = out.last_mut() else {
            return;
        };
        if !matches!(reply.kind, ReplyKind::Answer | ReplyKind::Fallback) {
            return;
        }
        for topic in also {
            if topic.id() == ESCALATION_FLOW {
                // Offered after a question asked first («…; si no, un asesor»).
                reply.buttons.push(escalate_button());
                continue;
            }
            reply.buttons.push(Button {
                label: self
                    .render
                    .reply("also_asked", &json!({ "title": topic.title() })),
                value: format!("{TOPIC_PREFIX}{}", topic.id()),
            });
        }
    }

    /// Answers a question asked in the middle of a flow, setting the flow aside
    /// with a button to come back. Returns false when the text is no question
    /// the bot can answer (then the flow re-asks).
    fn answer_aside(
        &self,
        state: &mut ConversationState,
        flow: &FlowDef,
        text: &str,
        effects: &mut Effects,
        out: &mut Vec<Reply>,
    ) -> bool {
        let Decision::Answer { topic, .. } = self.knowledge.decide(text) else {
            return false;
        };
        match topic {
            Topic::Flow(other) if other.id != flow.id => {
                // A new problem: follow it (the old flow is dropped, not trapped).
                state.topic_text = Some(text.to_owned());
                self.topic(state, topic, effects, out);
            }
            Topic::Flow(_) => return false,
            Topic::Entry(entry) => {
                state.suspended = state.flow.take();
                let mut reply = self.entry_reply(entry);
                reply.buttons.push(Button {
                    label: self
                        .render
                        .reply("flow_resume", &json!({ "title": flow.title })),
                    value: RESUME_VALUE.to_owned(),
                });
                out.push(reply);
            }
        }
        true
    }

    fn on_choose(
        &self,
        state: &mut ConversationState,
        value: &str,
        effects: &mut Effects,
        out: &mut Vec<Reply>,
    ) {
        if self.choose_lookup(state, value, out) {
            return;
        }
        if value == ESCALATE_VALUE {
            self.escalate(state, Priority::Normal, effects, out);
        } else if value == RESUME_VALUE {
            if let Some(suspended) = state.suspended.take() {
                if let Some(flow) = self.knowledge.flow(&suspended.flow) {
                    let outcome = engine::enter(flow, &suspended.step, &state.fields);
                    self.apply(state, flow, outcome, effects, out);
                    return;
                }
            }
            out.push(Reply::bot(
                ReplyKind::Notice,
                self.render.reply("flow_lost", &json!({})),
            ));
        } else if let Some(id) = value.strip_prefix(TOPIC_PREFIX) {
            match self.knowledge.topic(id) {
                Some(topic) => {
                    state.flow = None;
                    self.topic(state, topic, effects, out);
                }
                None => out.push(Reply::bot(
                    ReplyKind::Notice,
                    self.render.reply("flow_lost", &json!({})),
                )),
            }
        } else if let Some(index) = value
            .strip_prefix(STEP_PREFIX)
            .and_then(|i| i.parse::<usize>().ok())
        {
            let flow = state
                .flow
                .clone()
                .and_then(|fs| self.knowledge.flow(&fs.flow).map(|f| (fs, f)));
            let Some((flow_state, flow)) = flow else {
                out.push(Reply::bot(
                    ReplyKind::Notice,
                    self.render.reply("flow_lost", &json!({})),
                ));
                return;
            };
            let outcome = engine::press(flow, &flow_state, index, &mut state.fields);
            self.apply(state, flow, outcome, effects, out);
        }
    }

    /// Answers an entry or starts a flow.
    fn topic(
        &self,
        state: &mut ConversationState,
        topic: Topic<'_>,
        effects: &mut Effects,
        out: &mut Vec<Reply>,
    ) {
        match topic {
            Topic::Entry(entry) => {
                out.push(self.entry_reply(entry));
                if entry.id == CASE_STATUS_ENTRY {
                    if state.ticket.is_some() {
                        effects.ticket_status = true;
                    } else {
                        self.start_lookup(state, out);
                    }
                }
            }
            Topic::Flow(flow) if flow.id == ESCALATION_FLOW => {
                // The words that asked for a person are not the problem: the
                // form asks for it rather than filing "quiero hablar con…".
                state.topic_text = None;
                self.escalate(state, Priority::Normal, effects, out)
            }
            Topic::Flow(flow) => {
                state.suspended = None;
                let outcome = engine::start(flow, &state.fields);
                self.apply(state, flow, outcome, effects, out);
            }
        }
    }

    /// Starts the escalation flow (unless a case is already open).
    fn escalate(
        &self,
        state: &mut ConversationState,
        priority: Priority,
        effects: &mut Effects,
        out: &mut Vec<Reply>,
    ) {
        if let (Some(id), Some(status)) = (&state.ticket, &state.ticket_status) {
            if status != "resuelto" {
                out.push(Reply::bot(
                    ReplyKind::Notice,
                    self.render.reply(
                        "ticket_exists",
                        &json!({
                            "id": id,
                            "status": crate::tickets::Status::parse(status)
                                .map_or_else(|| status.replace('_', " "), |s| s.label().to_owned()),
                        }),
                    ),
                ));
                return;
            }
        }
        let Some(flow) = self.knowledge.flow(ESCALATION_FLOW) else {
            // Without the flow there is no form: open the case with what we know.
            effects.open_ticket = true;
            return;
        };
        if state
            .flow
            .as_ref()
            .is_some_and(|f| f.flow == ESCALATION_FLOW)
        {
            // Already collecting the case: show where we are.
            if let Some(fs) = state.flow.clone() {
                let outcome = engine::enter(flow, &fs.step, &state.fields);
                self.apply(state, flow, outcome, effects, out);
            }
            return;
        }
        if !self.availability.in_hours {
            out.push(Reply::bot(
                ReplyKind::Notice,
                self.render.reply(
                    "outside_hours",
                    &json!({ "hours": self.availability.hours, "next": self.availability.next }),
                ),
            ));
        }
        state.origin = state.flow.as_ref().map(|f| f.flow.clone());
        state.priority = priority.max(state.flow_priority);
        if !state.fields.contains_key("descripcion") {
            if let (Some(origin), Some(text)) = (&state.origin, &state.topic_text) {
                let title = self
                    .knowledge
                    .flow(origin)
                    .map(|f| f.title.as_str())
                    .unwrap_or(origin);
                state
                    .fields
                    .insert("descripcion".into(), format!("{title}: «{text}»"));
            }
        }
        state.suspended = None;
        let outcome = engine::start(flow, &state.fields);
        self.apply(state, flow, outcome, effects, out);
    }

    /// Turns an engine outcome into replies and state.
    fn apply(
        &self,
        state: &mut ConversationState,
        flow: &FlowDef,
        outcome: Outcome,
        effects: &mut Effects,
        out: &mut Vec<Reply>,
    ) {
        state.flow_priority = state.flow_priority.max(flow.priority);
        match outcome {
            Outcome::At(at) => {
                out.push(self.step_reply(state, flow, &at, None));
                state.flow = Some(at);
            }
            Outcome::Invalid { state: at, reason } => {
                out.push(self.reprompt(state, flow, &at, reason))
            }
            Outcome::NotAButton(at) => {
                out.push(self.reprompt(
                    state,
                    flow,
                    &at,
                    self.render.reply("flow_not_a_button", &json!({})),
                ));
            }
            Outcome::Finished(at) => {
                state.flow = None;
                out.push(self.step_reply(state, flow, &at, None));
            }
            Outcome::Ended => {
                state.flow = None;
                out.push(Reply::bot(
                    ReplyKind::Notice,
                    self.render.reply("flow_ended", &json!({})),
                ));
            }
            Outcome::Answer(id) => {
                state.flow = None;
                match self.knowledge.entry(&id) {
                    Some(entry) => out.push(self.entry_reply(entry)),
                    None => out.push(Reply::bot(
                        ReplyKind::Notice,
                        self.render.reply("flow_lost", &json!({})),
                    )),
                }
            }
            Outcome::Handover(id) => {
                state.flow = None;
                match self.knowledge.topic(&id) {
                    Some(topic) => self.topic(state, topic, effects, out),
                    None => out.push(Reply::bot(
                        ReplyKind::Notice,
                        self.render.reply("flow_lost", &json!({})),
                    )),
                }
            }
            Outcome::Escalate(priority) => self.escalate(state, priority, effects, out),
            Outcome::OpenTicket => {
                state.flow = None;
                effects.open_ticket = true;
            }
            Outcome::Lost => {
                state.flow = None;
                out.push(Reply::bot(
                    ReplyKind::Notice,
                    self.render.reply("flow_lost", &json!({})),
                ));
            }
        }
    }

    /// A step's text with its buttons and expected input.
    fn step_reply(
        &self,
        state: &ConversationState,
        flow: &FlowDef,
        at: &FlowState,
        prefix: Option<String>,
    ) -> Reply {
        let Some(step) = flow.step(&at.step) else {
            return Reply::bot(
                ReplyKind::Notice,
                self.render.reply("flow_lost", &json!({})),
            );
        };
        // A refusal or reminder (`prefix`) repeats only the step's question
        // (its last paragraph), not a long introduction the user already read.
        let say = match &prefix {
            Some(_) => last_paragraph(&step.say),
            None => step.say.as_str(),
        };
        let fields = self.with_policy_url(say, &state.fields);
        let said = self.render.flow_text(say, &*fields);
        // Field values are the user's own text: in the HTML they are escaped
        // (not merely sanitised), so typed markup always shows as text.
        let html = match (&prefix, step.is_static()) {
            (None, true) => step.static_html.get_or_init(|| markdown(&said)).clone(),
            _ => {
                let said_md = self.render.flow_markdown(say, &*fields);
                match &prefix {
                    Some(p) => markdown(&format!("{p}\n\n{said_md}")),
                    None => markdown(&said_md),
                }
            }
        };
        let text = match prefix {
            Some(p) => format!("{p}\n\n{said}"),
            None => said,
        };
        let input = match &step.kind {
            StepKind::Input { kind, .. } => Some(kind.as_str().to_owned()),
            _ => None,
        };
        let buttons = engine::visible_buttons(flow, at)
            .map(|(i, b)| Button {
                label: b.label.clone(),
                value: format!("{STEP_PREFIX}{i}"),
            })
            .collect();
        let mut reply = Reply::bot(ReplyKind::Flow, text).with_buttons(buttons);
        reply.html = Some(html);
        reply.flow = Some(FlowRef {
            id: flow.id.clone(),
            step: at.step.clone(),
            input,
        });
        reply
    }

    /// The fields a step's text is rendered with, plus the privacy policy's
    /// address when the text names it (the only value a flow gets from the
    /// server's configuration rather than from the user).
    fn with_policy_url<'f>(
        &self,
        say: &str,
        fields: &'f flows::engine::Fields,
    ) -> std::borrow::Cow<'f, flows::engine::Fields> {
        if !say.contains(privacy::POLICY_URL_VAR) {
            return std::borrow::Cow::Borrowed(fields);
        }
        let mut with = fields.clone();
        with.insert(
            privacy::POLICY_URL_VAR.to_owned(),
            self.privacy_url.to_owned(),
        );
        std::borrow::Cow::Owned(with)
    }

    /// The same step again, after a refusal or an unclear answer: the reason,
    /// then the step's question and its buttons.
    fn reprompt(
        &self,
        state: &ConversationState,
        flow: &FlowDef,
        at: &FlowState,
        reason: String,
    ) -> Reply {
        self.step_reply(state, flow, at, Some(reason))
    }

    /// A knowledge entry as an answer, citing it.
    pub fn entry_reply(&self, entry: &Entry) -> Reply {
        let mut reply = Reply::bot(
            ReplyKind::Answer,
            format!("{}\n\n{}", entry.title, entry.body),
        );
        reply.html = Some(entry.answer_html().to_owned());
        reply.sources = vec![Source {
            id: entry.id.clone(),
            title: entry.title.clone(),
            url: entry.link(),
        }];
        reply
    }
}

fn escalate_button() -> Button {
    Button {
        label: "Hablar con una persona".to_owned(),
        value: ESCALATE_VALUE.to_owned(),
    }
}

pub(super) fn is_cancel(text: &str) -> bool {
    let folded: Vec<String> = text
        .split_whitespace()
        .map(fold)
        .filter(|w| !w.is_empty())
        .collect();
    match folded.as_slice() {
        [one] => CANCEL_WORDS.contains(&one.as_str()),
        [a, b] => {
            (a == "quiero" || a == "deseo" || a == "no") && CANCEL_WORDS.contains(&b.as_str())
                || (CANCEL_WORDS.contains(&a.as_str()) && b == "flujo")
        }
        _ => false,
    }
}

/// The last paragraph of a step's text: its question ("¿Cuál es su nombre
/// completo?"), after any introduction. Lists and quotes stay whole.
fn last_paragraph(say: &str) -> &str {
    let trimmed = say.trim_end();
    match trimmed.rfind("\n\n") {
        Some(i) => {
            let last = trimmed[i..].trim_start();
            let is_block =
                last.starts_with(['-', '*', '>']) || last.starts_with(|c: char| c.is_ascii_digit());
            if is_block {
                trimmed
            } else {
                last
            }
        }
        None => trimmed,
    }
}
