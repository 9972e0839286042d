//! Support agents: accounts, the live queue of escalated conversations, claims,
//! hand-back and resolution. No sockets here: `server::ws_agent` speaks the
//! protocol and calls these operations.
//!
//! Every change a user or agent is told about is durable first: ticket and
//! conversation state are written together through `Hub::append`, then the
//! queue is updated and published.

pub mod accounts;
mod cases;
pub mod cli;
mod notes;
mod queue;
mod throttle;
pub mod typing;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

pub use accounts::{Account, Role};
pub use cases::MAX_REPLY_CHARS;
pub use throttle::Throttle;
use typing::TypingGate;

use crate::config::ServeArgs;
use crate::conversation::{
    Author, ConversationError, Hub, Reply, ReplyKind, SessionEvent, SessionId, TicketRef,
};
use crate::server::protocol::{ErrorCode, QueueItem};
use crate::shutdown::CancellationToken;
use crate::store::StoreError;
use crate::tickets::{Note, Status, Ticket, TicketId};

/// One escalated conversation in the queue.
#[derive(Debug, Clone)]
struct Waiting {
    ticket: Ticket,
    held_by: Option<String>,
    /// The queue position the user was last told, so changes alone are announced.
    announced: Option<usize>,
}

/// Why an agent operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("another agent holds this conversation")]
    Taken,
    #[error("this agent does not hold the conversation")]
    NotHeld,
    #[error("no escalated conversation with that session")]
    Unknown,
    #[error("empty text")]
    Empty,
    #[error("text longer than {MAX_REPLY_CHARS} characters")]
    TooLong,
    #[error("no case with that number")]
    UnknownCase,
    #[error(transparent)]
    Conversation(#[from] ConversationError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("ticket error: {0}")]
    Ticket(#[from] crate::tickets::TicketError),
}

impl AgentError {
    /// The code the console gets.
    pub fn code(&self) -> ErrorCode {
        match self {
            AgentError::Taken => ErrorCode::YaTomado,
            AgentError::NotHeld => ErrorCode::NotHeld,
            AgentError::Unknown => ErrorCode::UnknownSession,
            AgentError::Empty => ErrorCode::EmptyText,
            // A write that failed (a full disk): the agent's message was not saved.
            AgentError::Store(_) | AgentError::Conversation(ConversationError::Store(_)) => {
                ErrorCode::NotSaved
            }
            _ => ErrorCode::Internal,
        }
    }

    /// What an agent reads on a page, in Spanish, with what to do.
    pub fn explain(&self) -> String {
        match self {
            AgentError::Taken => "Otro asesor atiende esta conversación en vivo; resuélvala desde su consola o pídale que la devuelva.".into(),
            AgentError::NotHeld => "Usted no tiene tomada esta conversación.".into(),
            AgentError::Unknown | AgentError::Conversation(ConversationError::UnknownSession) => {
                "La conversación de este caso ya no existe (se eliminó por la política de retención).".into()
            }
            AgentError::UnknownCase => "No existe un caso con ese número.".into(),
            AgentError::Empty => "Escriba el texto antes de enviarlo.".into(),
            AgentError::TooLong => format!(
                "El texto supera los {} caracteres; acórtelo o divídalo en dos mensajes.",
                crate::server::protocol::thousands(MAX_REPLY_CHARS)
            ),
            AgentError::Ticket(e) => e.to_string(),
            AgentError::Store(_) | AgentError::Conversation(ConversationError::Store(_)) => {
                "No se pudo guardar: el almacenamiento del servidor falló. Intente de nuevo en unos minutos; si persiste, avise al administrador.".into()
            }
            AgentError::Conversation(_) => "Error interno. Intente de nuevo.".into(),
        }
    }
}

/// What a console gets after a claim (or on reconnect, for what it still holds).
#[derive(Debug, Clone)]
pub struct Claimed {
    pub session: SessionId,
    pub ticket: Ticket,
    pub history: Vec<Reply>,
}

pub struct Agents {
    hub: Arc<Hub>,
    queue: Mutex<BTreeMap<SessionId, Waiting>>,
    /// The queue as sent to consoles; bumps on every change.
    published: watch::Sender<Arc<Vec<QueueItem>>>,
    /// Consoles connected per agent.
    online: Mutex<HashMap<String, usize>>,
    /// Pending hand-backs of a disconnected agent's conversations.
    grace: Mutex<HashMap<String, JoinHandle<()>>>,
    grace_period: Duration,
    /// Per agent, cancelled to close their consoles (account disabled or removed).
    revocations: Mutex<HashMap<String, CancellationToken>>,
    /// Typing indicators, throttled per conversation and side.
    typing: Arc<TypingGate>,
    /// Internal notes as they are written, for the consoles holding the case.
    notes: broadcast::Sender<(SessionId, Note)>,
    pub throttle: Throttle,
    pub login_hours: u64,
    pub allowed_origins: Vec<String>,
    pub secure_cookies: bool,
}

impl Agents {
    /// Loads open tickets into the queue and starts following new ones.
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn start(hub: Arc<Hub>, args: &ServeArgs) -> Result<Arc<Self>, StoreError> {
        let mut queue = BTreeMap::new();
        let mut orphaned = Vec::new();
        for ticket in hub.store().tickets().await? {
            let Some((session, held_by)) = queue::queue_place(&ticket) else {
                continue;
            };
            if let Some(agent) = &held_by {
                orphaned.push(agent.clone());
            }
            queue.insert(
                session,
                Waiting {
                    ticket,
                    held_by,
                    announced: None,
                },
            );
        }
        let agents = Arc::new(Agents {
            hub: hub.clone(),
            queue: Mutex::new(queue),
            published: watch::channel(Arc::new(Vec::new())).0,
            online: Mutex::new(HashMap::new()),
            grace: Mutex::new(HashMap::new()),
            grace_period: Duration::from_secs(args.agent_grace_secs),
            revocations: Mutex::new(HashMap::new()),
            typing: Arc::default(),
            notes: broadcast::channel(256).0,
            throttle: Throttle::default(),
            login_hours: args.login_hours,
            allowed_origins: args.allowed_origins.clone(),
            secure_cookies: args.secure_cookies,
        });
        agents.publish();
        // After a restart nobody is connected: holds get the same grace as a disconnect.
        orphaned.sort();
        orphaned.dedup();
        for agent in orphaned {
            agents.start_grace(&agent);
        }
        let follower = agents.clone();
        let mut opened = hub.opened_tickets();
        // Lives as long as the hub's broadcast sender (the whole server).
        tokio::spawn(async move {
            loop {
                match opened.recv().await {
                    Ok(ticket) => follower.enqueue(ticket).await,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(
                            missed = n,
                            "ticket events lagged; reloading the queue from storage"
                        );
                        follower.reload_queue().await;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        Ok(agents)
    }

    /// Drops erased conversations (`secobot data delete`) from the queue and
    /// from the live conversations.
    pub async fn forget(&self, sessions: &[SessionId]) {
        if let Ok(mut queue) = self.queue.lock() {
            for s in sessions {
                queue.remove(s);
            }
        }
        for s in sessions {
            self.hub.forget(s).await;
        }
        self.publish();
    }

    /// Cancelled when `agent`'s consoles must close (the account was disabled
    /// or removed); a console socket watches it.
    pub fn revocation(&self, agent: &str) -> CancellationToken {
        match self.revocations.lock() {
            Ok(mut r) => r.entry(agent.to_owned()).or_default().clone(),
            // A poisoned map: a token that is never cancelled (the login check
            // still refuses a disabled account on every request).
            Err(_) => CancellationToken::new(),
        }
    }

    /// Closes every console of `agent` now.
    pub fn revoke(&self, agent: &str) {
        if let Ok(mut r) = self.revocations.lock() {
            if let Some(token) = r.remove(agent) {
                token.cancel();
            }
        }
    }

    /// The queue now, and its changes from now on.
    pub fn queue(&self) -> watch::Receiver<Arc<Vec<QueueItem>>> {
        self.published.subscribe()
    }

    pub fn online(&self) -> usize {
        self.online.lock().map(|o| o.len()).unwrap_or(0)
    }

    /// A console of `agent` connected: cancels a pending hand-back.
    pub async fn connected(&self, agent: &str) {
        if let Ok(mut online) = self.online.lock() {
            *online.entry(agent.to_owned()).or_default() += 1;
            self.hub.set_agents_online(online.len());
        }
        if let Ok(mut grace) = self.grace.lock() {
            if let Some(handle) = grace.remove(agent) {
                handle.abort();
            }
        }
        self.announce_positions().await;
    }

    /// A console of `agent` disconnected: after the grace period with no
    /// console back, its conversations return to the queue.
    pub fn disconnected(self: &Arc<Self>, agent: &str) {
        let gone = match self.online.lock() {
            Ok(mut online) => {
                let n = online.entry(agent.to_owned()).or_default();
                *n = n.saturating_sub(1);
                let gone = *n == 0;
                if gone {
                    online.remove(agent);
                }
                self.hub.set_agents_online(online.len());
                gone
            }
            Err(_) => false,
        };
        if gone {
            self.start_grace(agent);
        }
    }

    fn start_grace(self: &Arc<Self>, agent: &str) {
        let me = self.clone();
        let name = agent.to_owned();
        let period = self.grace_period;
        let handle = tokio::spawn(async move {
            tokio::time::sleep(period).await;
            if me.present_elsewhere(&name).await {
                // Their console came back on another instance.
                return;
            }
            for session in me.held_by(&name) {
                if let Err(e) = me.release(&name, &session).await {
                    tracing::warn!(error = %e, agent = %name, "failed to hand back after grace");
                }
            }
            if let Ok(mut grace) = me.grace.lock() {
                grace.remove(&name);
            }
        });
        if let Ok(mut grace) = self.grace.lock() {
            if let Some(old) = grace.insert(agent.to_owned(), handle) {
                old.abort();
            }
        }
    }

    /// Whether another instance sharing the database has a console of
    /// `agent` open (never, with sled: there is no other instance).
    async fn present_elsewhere(&self, agent: &str) -> bool {
        let Some(pg) = self.hub.store().postgres() else {
            return false;
        };
        pg.agents_present(crate::cluster::PRESENCE_WINDOW)
            .await
            .is_ok_and(|present| present.contains(agent))
    }

    /// How many agents have a console open only on other instances (from
    /// the presence table): users here are told agents are available, and
    /// learn their place in the queue, when those agents come or go.
    pub async fn set_present_elsewhere(&self, n: usize) {
        if self.hub.set_agents_elsewhere(n) != n {
            self.announce_positions().await;
        }
    }

    /// Agents with a console open on this instance.
    pub fn online_names(&self) -> Vec<String> {
        self.online
            .lock()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Every held conversation and who holds it.
    pub fn holders(&self) -> Vec<(SessionId, String)> {
        self.queue
            .lock()
            .map(|q| {
                q.iter()
                    .filter_map(|(s, w)| Some((s.clone(), w.held_by.clone()?)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How long a holder may be away before their conversations go back.
    pub fn grace_period(&self) -> Duration {
        self.grace_period
    }

    /// Conversations `agent` holds.
    pub fn held_by(&self, agent: &str) -> Vec<SessionId> {
        self.queue
            .lock()
            .map(|q| {
                q.iter()
                    .filter(|(_, w)| w.held_by.as_deref() == Some(agent))
                    .map(|(s, _)| s.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Takes a conversation. Exclusive: a second agent gets `Taken`.
    ///
    /// # Errors
    /// Taken, unknown, or a storage failure (then nothing changed).
    pub async fn claim(&self, agent: &Account, session: &SessionId) -> Result<Claimed, AgentError> {
        // Reserve under the queue lock so two claims cannot both win.
        // Already held by this agent (a second console, a reconnect, or a claim
        // still in flight): no second "joined", no second notice.
        let (mut ticket, held) = {
            let mut queue = self.queue.lock().map_err(|_| AgentError::Unknown)?;
            let waiting = queue.get_mut(session).ok_or(AgentError::Unknown)?;
            let held = match &waiting.held_by {
                Some(holder) if holder != &agent.name => return Err(AgentError::Taken),
                Some(_) => true,
                None => {
                    waiting.held_by = Some(agent.name.clone());
                    false
                }
            };
            (waiting.ticket.clone(), held)
        };
        let already = held
            || (ticket.status == Status::InProgress
                && ticket.handled_by.as_deref() == Some(&agent.name));
        let result = if already {
            Ok(())
        } else {
            ticket
                .claim(&agent.name, Utc::now())
                .map_err(AgentError::from)
        };
        let outcome = match result {
            Ok(()) if already => Ok(None),
            Ok(()) => {
                let text = self
                    .hub
                    .render()
                    .reply("agent_joined", &json!({ "name": agent.display_name }));
                let notice = Reply::new(Author::System, ReplyKind::Notice, text);
                self.record(
                    session,
                    &ticket,
                    Some(agent.name.clone()),
                    &agent.name,
                    notice,
                )
                .await
                .map(Some)
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(appended) => {
                if let Some(live) = appended {
                    self.announce(&live, true, agent.display_name.clone(), &ticket);
                }
                if !held {
                    // A claim that found it held already carries a stale copy.
                    if let Ok(mut queue) = self.queue.lock() {
                        if let Some(w) = queue.get_mut(session) {
                            w.ticket = ticket.clone();
                        }
                    }
                }
                self.publish();
                self.announce_positions().await;
                let history = self.hub.history(session).await?;
                Ok(Claimed {
                    session: session.clone(),
                    ticket,
                    history,
                })
            }
            Err(e) => {
                if let Ok(mut queue) = self.queue.lock() {
                    if let Some(w) = queue.get_mut(session) {
                        if !held {
                            w.held_by = None;
                        }
                    }
                }
                Err(e)
            }
        }
    }

    fn check_holder(&self, agent: &str, session: &SessionId) -> Result<Ticket, AgentError> {
        let queue = self.queue.lock().map_err(|_| AgentError::Unknown)?;
        let w = queue.get(session).ok_or(AgentError::Unknown)?;
        if w.held_by.as_deref() != Some(agent) {
            return Err(AgentError::NotHeld);
        }
        Ok(w.ticket.clone())
    }

    /// An agent writes to the user.
    ///
    /// # Errors
    /// Not held, empty text, or a storage failure.
    pub async fn say(
        &self,
        agent: &Account,
        session: &SessionId,
        text: &str,
    ) -> Result<(), AgentError> {
        self.check_holder(&agent.name, session)?;
        let text = text.trim();
        if text.is_empty() {
            return Err(AgentError::Empty);
        }
        let reply = Self::agent_message(agent, text);
        self.hub
            .append(session, move |state| {
                // Only while this agent holds it (another instance may have
                // handed it back or resolved it meanwhile).
                match &state.held_by {
                    Some(holder) if *holder == agent.name => Ok((vec![reply.clone()], None)),
                    Some(other) => Err(ConversationError::HeldBy(other.clone())),
                    None => Err(ConversationError::HeldBy(String::new())),
                }
            })
            .await
            .map_err(|e| match e {
                ConversationError::HeldBy(_) => AgentError::NotHeld,
                e => e.into(),
            })?;
        Ok(())
    }

    /// An agent's words as the user gets them.
    fn agent_message(agent: &Account, text: &str) -> Reply {
        // An agent pasting a user's credential back gets it masked too.
        let text = crate::text::mask_secrets(text).unwrap_or_else(|| text.to_owned());
        // Agents write the same safe Markdown as entries (an inserted article
        // keeps its bold and lists): the widget shows `html` when present.
        let html = crate::markdown::markdown(&text);
        let mut reply = Reply::new(Author::Agent, ReplyKind::Agent, text);
        reply.html = Some(html);
        reply.agent_name = Some(agent.display_name.clone());
        reply
    }

    /// Hands the conversation back to the bot; the ticket stays open in the queue.
    ///
    /// # Errors
    /// Not held, or a storage failure.
    pub async fn release(&self, agent_name: &str, session: &SessionId) -> Result<(), AgentError> {
        let mut ticket = self.check_holder(agent_name, session)?;
        ticket.release(Utc::now())?;
        let display = self.display_name(agent_name).await;
        let text = self.hub.render().reply(
            "agent_left",
            &json!({ "name": display, "id": ticket.id.as_str(), "status": ticket.status.label() }),
        );
        let notice = Reply::new(Author::System, ReplyKind::Notice, text);
        let live = self
            .record(session, &ticket, None, agent_name, notice)
            .await?;
        self.typing.forget(session);
        self.announce(&live, false, display, &ticket);
        if let Ok(mut queue) = self.queue.lock() {
            if let Some(w) = queue.get_mut(session) {
                w.held_by = None;
                w.announced = None;
                w.ticket = ticket;
            }
        }
        self.publish();
        self.announce_positions().await;
        Ok(())
    }

    /// Resolves the ticket with a note; the conversation goes back to the bot.
    ///
    /// # Errors
    /// Not held, or a storage failure.
    pub async fn resolve(
        &self,
        agent: &Account,
        session: &SessionId,
        note: &str,
    ) -> Result<Ticket, AgentError> {
        let ticket = self.check_holder(&agent.name, session)?;
        self.close(agent, session, ticket, note).await
    }

    /// Resolves `ticket`, tells the user and takes it off the queue.
    async fn close(
        &self,
        agent: &Account,
        session: &SessionId,
        mut ticket: Ticket,
        note: &str,
    ) -> Result<Ticket, AgentError> {
        ticket.resolve(&agent.name, note.trim(), Utc::now())?;
        let text = self.hub.render().reply(
            "ticket_resolved",
            &json!({ "id": ticket.id.as_str(), "note": note.trim() }),
        );
        let mut reply = Reply::new(Author::System, ReplyKind::Ticket, text);
        reply.ticket = Some(TicketRef::of(&ticket));
        let live = self
            .record(session, &ticket, None, &agent.name, reply)
            .await?;
        self.typing.forget(session);
        self.announce(&live, false, agent.display_name.clone(), &ticket);
        if let Ok(mut queue) = self.queue.lock() {
            queue.remove(session);
        }
        self.publish();
        self.announce_positions().await;
        Ok(ticket)
    }

    /// Writes a ticket change, who holds the conversation now, and the message
    /// telling the user, in one durable append, made by agent `acting`.
    ///
    /// Refused ([`AgentError::Taken`]) when another agent holds the
    /// conversation. The check runs on the stored state, under the
    /// conversation's lock, so it holds across instances: a claim committed
    /// elsewhere first makes this append catch up, and find it held.
    async fn record(
        &self,
        session: &SessionId,
        ticket: &Ticket,
        holder: Option<String>,
        acting: &str,
        message: Reply,
    ) -> Result<Arc<crate::conversation::Session>, AgentError> {
        let t = ticket.clone();
        let appended = self
            .hub
            .append(session, move |state| {
                if let Some(other) = state.held_by.as_ref().filter(|h| *h != acting) {
                    return Err(ConversationError::HeldBy(other.clone()));
                }
                state.held_by.clone_from(&holder);
                state.ticket_status = Some(t.status.as_str().to_owned());
                Ok((vec![message.clone()], Some(t.clone())))
            })
            .await;
        match appended {
            Ok((live, _)) => Ok(live),
            Err(ConversationError::HeldBy(_)) => Err(AgentError::Taken),
            Err(e) => Err(e.into()),
        }
    }

    /// Tells the user's tabs that an agent joined or left, and the ticket's status.
    fn announce(
        &self,
        live: &crate::conversation::Session,
        joined: bool,
        name: String,
        ticket: &Ticket,
    ) {
        self.hub.publish(live, SessionEvent::Agent { joined, name });
        self.hub.publish(
            live,
            SessionEvent::Ticket {
                id: ticket.id.to_string(),
                status: ticket.status.as_str().to_owned(),
            },
        );
    }

    async fn display_name(&self, agent: &str) -> String {
        self.hub
            .store()
            .record::<Account>(crate::store::RecordKind::Agent, agent)
            .await
            .ok()
            .flatten()
            .map(|a| a.display_name)
            .unwrap_or_else(|| agent.to_owned())
    }

    /// Every ticket (supervisors' list).
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn tickets(&self) -> Result<Vec<Ticket>, StoreError> {
        self.hub.store().tickets().await
    }

    /// A ticket by id.
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn ticket(&self, id: &TicketId) -> Result<Option<Ticket>, StoreError> {
        self.hub.store().ticket(id).await
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }
}
