//! Conversations: who answers a message now (bot, flow or agent), the one path
//! every message takes, its `seq`, and replay. No axum, no sled, no handlebars.
//!
//! Every message of a conversation — the user's, the bot's, an agent's — is
//! appended through [`Hub::append`] under the conversation's lock: it gets the
//! next `seq`, is written durably with the conversation state, and only then is
//! published to the conversation's subscribers (the user's tabs and the agent
//! holding it). So the order on disk is the order on every screen.

mod bot;
mod case_lookup;
mod cases;
mod courtesy;
mod rating;
mod reply;
mod session;
mod state;
mod sync;
pub mod transcript_link;

use transcript_link::TranscriptKeys;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use chrono::Utc;
use serde_json::json;
use tokio::sync::{broadcast, Notify};

pub use bot::{Bot, Effects, UserInput, ESCALATE_VALUE};
pub use case_lookup::case_number;
pub use rating::RateError;
pub use reply::{Author, Button, FlowRef, Reply, ReplyKind, Source, TicketRef};
pub use session::{Presence, Session, SessionEvent};
pub use state::{ConversationState, SessionId};
pub use sync::Appended;

use crate::knowledge::LiveKnowledge;
use crate::mail::MailSettings;
use crate::render::Renderer;
use crate::store::{Commit, Feedback, MessageRecord, Store, StoreError};
use crate::tickets::hours::{Availability, BusinessHours};
use crate::tickets::privacy::PrivacyConsent;
use crate::tickets::Ticket;

/// Why a turn failed. The user sees a generic error; the detail is logged.
#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the choice {0:?} is not on offer")]
    UnknownChoice(String),
    #[error("message {0} does not exist in this conversation")]
    UnknownSeq(u64),
    #[error("no such conversation")]
    UnknownSession,
    /// A change only the holder (or nobody) may make, and `0` holds it:
    /// another agent claimed it, perhaps on another instance.
    #[error("the conversation is held by {0}")]
    HeldBy(String),
}

/// How many times a write refused because another instance wrote the same
/// conversation first is tried again, each time after catching up.
const SEQ_RETRIES: usize = 3;

/// Whether `e` is a commit refused because another instance took its seq.
fn seq_taken(e: &ConversationError) -> bool {
    matches!(e, ConversationError::Store(StoreError::SeqTaken { .. }))
}

/// What `hello` gets back.
pub struct Opened {
    pub session: Arc<Session>,
    /// False when the client named a conversation the server does not know.
    pub resumed: bool,
    pub history: Vec<Reply>,
    pub events: broadcast::Receiver<SessionEvent>,
    /// Counts this tab as present until dropped; keep it with the socket.
    pub presence: Presence,
    /// The conversation's ticket and its status, so a returning user sees it.
    pub ticket: Option<(String, String)>,
    /// The conversation's last seq when it was opened.
    pub last_seq: u64,
}

/// Limits of the conversation layer.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Per-conversation fan-out buffer; a tab that falls further behind is closed
    /// and resumes from its `last_seq`.
    pub fanout: usize,
    /// Messages in one page of replay (`welcome.history`, then `reply` frames
    /// page by page up to the newest).
    pub history: usize,
}

/// The registry of conversations and the one place messages are appended.
pub struct Hub {
    store: Store,
    knowledge: Arc<LiveKnowledge>,
    render: Arc<Renderer>,
    sessions: Mutex<HashMap<SessionId, Weak<Session>>>,
    limits: Limits,
    /// Agents with a console open here; set by `agents`, read when a ticket opens.
    agents_online: AtomicUsize,
    /// Agents with a console open only on other instances (PostgreSQL),
    /// from the presence table; always 0 with sled.
    agents_elsewhere: AtomicUsize,
    /// Tickets opened, for the agents' queue (bounded; a lagging queue reloads from storage).
    opened: broadcast::Sender<Ticket>,
    /// When agents attend (`--hours`); `None`: whenever a console is open.
    hours: Option<BusinessHours>,
    /// What mail needs (links, Message-ID domain), and the outbox worker's bell.
    mail: MailSettings,
    mail_wake: Arc<Notify>,
    /// Whether `--smtp-url` is set (mail is only queued without it).
    smtp_configured: bool,
    /// The data-treatment policy the case form's privacy notice links to.
    privacy_url: String,
    /// Seals session tokens into transcript links (set by the server from
    /// the data folder's secret; without it there are no transcript links).
    transcripts: Option<Arc<TranscriptKeys>>,
}

impl Hub {
    pub fn new(
        store: Store,
        knowledge: Arc<LiveKnowledge>,
        render: Arc<Renderer>,
        limits: Limits,
        hours: Option<BusinessHours>,
    ) -> Self {
        Hub {
            store,
            knowledge,
            render,
            sessions: Mutex::new(HashMap::new()),
            limits,
            agents_online: AtomicUsize::new(0),
            agents_elsewhere: AtomicUsize::new(0),
            opened: broadcast::channel(256).0,
            hours,
            mail: MailSettings::default(),
            privacy_url: crate::tickets::privacy::DEFAULT_POLICY_URL.to_owned(),
            mail_wake: Arc::new(Notify::new()),
            smtp_configured: false,
            transcripts: None,
        }
    }

    /// Sets the keys of transcript links (from the data folder's secret).
    pub fn with_transcript_keys(mut self, keys: TranscriptKeys) -> Self {
        self.transcripts = Some(Arc::new(keys));
        self
    }

    /// The path of the printable transcript of `id`, which never contains the
    /// session token (see [`transcript_link`]); `None` without keys.
    pub fn transcript_path(&self, id: &SessionId) -> Option<String> {
        let key = self.transcripts.as_ref()?.seal(id)?;
        Some(format!("/chat/transcript?key={key}"))
    }

    /// The conversation a transcript key was made for.
    pub fn transcript_session(&self, key: &str) -> Option<SessionId> {
        self.transcripts.as_ref()?.open(key)
    }

    /// Sets how mail is written, and the bell that wakes the outbox worker.
    pub fn with_mail(mut self, settings: MailSettings, wake: Arc<Notify>) -> Self {
        self.mail = settings;
        self.mail_wake = wake;
        self
    }

    /// Sets the policy the privacy notice links to (`--privacy-url`).
    pub fn with_privacy_url(mut self, url: String) -> Self {
        self.privacy_url = url;
        self
    }

    /// Records whether `--smtp-url` is set.
    pub fn with_smtp_configured(mut self, configured: bool) -> Self {
        self.smtp_configured = configured;
        self
    }

    /// Whether mail is sent (`--smtp-url` set) or only queued.
    pub fn smtp_configured(&self) -> bool {
        self.smtp_configured
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn knowledge(&self) -> &Arc<LiveKnowledge> {
        &self.knowledge
    }

    /// The live conversation `id`, loading it from storage if needed.
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn get(&self, id: &SessionId) -> Result<Option<Arc<Session>>, StoreError> {
        if let Some(live) = self.live(id) {
            return Ok(Some(live));
        }
        let Some(state) = self.store.conversation(id).await? else {
            return Ok(None);
        };
        Ok(Some(self.register(id.clone(), state)))
    }

    /// The conversations a user has a tab open on, on this instance.
    pub fn connected_sessions(&self) -> Vec<String> {
        let Ok(sessions) = self.sessions.lock() else {
            return Vec::new();
        };
        sessions
            .values()
            .filter_map(Weak::upgrade)
            .filter(|s| s.has_user_tab())
            .map(|s| s.id.to_string())
            .collect()
    }

    /// Whether a tab of the user has conversation `id` open now.
    pub fn user_connected(&self, id: &SessionId) -> bool {
        self.live(id).is_some_and(|s| s.has_user_tab())
    }

    /// The conversation `id` if someone has it open on this instance (never
    /// read from the store).
    pub fn live_session(&self, id: &SessionId) -> Option<Arc<Session>> {
        self.live(id)
    }

    fn live(&self, id: &SessionId) -> Option<Arc<Session>> {
        let sessions = self.sessions.lock().ok()?;
        sessions.get(id).and_then(Weak::upgrade)
    }

    /// Registers a loaded conversation; if another task registered it first,
    /// that one wins so there is only ever one lock per conversation.
    fn register(&self, id: SessionId, state: ConversationState) -> Arc<Session> {
        let (events, _) = broadcast::channel(self.limits.fanout);
        let fresh = Arc::new(Session {
            id: id.clone(),
            state: tokio::sync::Mutex::new(state),
            events,
            user_tabs: AtomicUsize::new(0),
        });
        let Ok(mut sessions) = self.sessions.lock() else {
            return fresh;
        };
        if let Some(existing) = sessions.get(&id).and_then(Weak::upgrade) {
            return existing;
        }
        // Drop dead entries now and then so the map does not grow forever.
        if sessions.len() > 1024 && sessions.len().is_power_of_two() {
            sessions.retain(|_, w| w.strong_count() > 0);
        }
        sessions.insert(id, Arc::downgrade(&fresh));
        fresh
    }

    /// Opens a conversation for `hello`: resumes `requested` if it exists, or
    /// starts a new one (saying so when the client asked for an unknown one).
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn open(
        &self,
        requested: Option<&str>,
        last_seq: u64,
    ) -> Result<Opened, ConversationError> {
        let wanted = requested.and_then(SessionId::parse);
        if let Some(id) = &wanted {
            if let Some(session) = self.get(id).await? {
                let mut state = session.state.lock().await;
                // Another instance may have written it since this one last did.
                self.catch_up(&session, &mut state).await?;
                // Subscribing under the lock: history holds everything up to now,
                // the receiver everything after. No gap, no duplicate.
                let events = session.subscribe();
                let current = state.last_seq;
                // The first page only; the socket pages the rest up to `current`.
                let history = if state.unsaved.is_empty() {
                    self.replay(id, last_seq, current, self.limits.history)
                        .await?
                } else {
                    state
                        .unsaved
                        .iter()
                        .filter(|m| m.seq > last_seq)
                        .cloned()
                        .collect()
                };
                let ticket = state.ticket.clone().zip(state.ticket_status.clone());
                drop(state);
                return Ok(Opened {
                    presence: Presence::new(&session, self.store.postgres()),
                    session,
                    resumed: true,
                    history,
                    events,
                    ticket,
                    last_seq: current,
                });
            }
        }
        let id = SessionId::generate();
        let state = ConversationState {
            created_at: Utc::now().to_rfc3339(),
            ..ConversationState::default()
        };
        let session = self.register(id.clone(), state);
        let events = session.subscribe();
        let knowledge = self.knowledge.get();
        let bot = Bot {
            knowledge: &knowledge,
            render: &self.render,
            availability: self.availability(),
            privacy_url: &self.privacy_url,
        };
        let mut first = Vec::new();
        if requested.is_some() {
            first.push(bot.new_conversation_notice());
        }
        first.push(bot.greeting());
        let history = {
            let mut state = session.state.lock().await;
            state.offer(&first);
            let now = Utc::now().to_rfc3339();
            for m in &mut first {
                state.last_seq += 1;
                m.seq = state.last_seq;
                m.ts.clone_from(&now);
            }
            // Stored with the first turn (see `ConversationState::unsaved`): a
            // `hello` alone writes nothing, so reconnect loops cannot fill the disk.
            state.unsaved.clone_from(&first);
            first
        };
        // The receiver also got these; the socket skips seqs already in history.
        Ok(Opened {
            presence: Presence::new(&session, self.store.postgres()),
            session,
            resumed: false,
            history,
            events,
            ticket: None,
            last_seq: 0,
        })
    }

    /// A user action: the echo of what they typed (for their other tabs; `origin`
    /// is the connection it came from), then the bot's replies (or nothing from
    /// the bot while an agent holds the conversation).
    ///
    /// # Errors
    /// A choice not on offer, or a storage failure (nothing was published then).
    pub async fn user_input(
        &self,
        session: &Session,
        input: UserInput,
        origin: u64,
    ) -> Result<Vec<Arc<Reply>>, ConversationError> {
        // Credentials are hidden before anything stores, echoes, indexes or shows them.
        let (input, masked) = mask_input(input);
        let mut state = session.state.lock().await;
        let mut retries = 0;
        loop {
            match self
                .user_turn(session, &mut state, &input, masked, origin)
                .await
            {
                Err(e) if seq_taken(&e) && retries < SEQ_RETRIES => {
                    // Another instance wrote this conversation (an agent's
                    // words, a claim): the turn is made again on what it wrote.
                    retries += 1;
                    self.catch_up(session, &mut state).await?;
                }
                done => return done,
            }
        }
    }

    /// One try of a user turn on the locked `state`; on an error `state` is as
    /// it was.
    async fn user_turn(
        &self,
        session: &Session,
        state: &mut ConversationState,
        input: &UserInput,
        masked: bool,
        origin: u64,
    ) -> Result<Vec<Arc<Reply>>, ConversationError> {
        // A turn that is not stored did not happen: its flow step, fields and
        // buttons are put back as they were.
        let before = state.clone();
        let knowledge = self.knowledge.get();
        let bot = Bot {
            knowledge: &knowledge,
            render: &self.render,
            availability: self.availability(),
            privacy_url: &self.privacy_url,
        };
        let mut messages = Vec::new();
        match input {
            UserInput::Say(text) => {
                messages.push(Reply::new(Author::User, ReplyKind::Echo, text.clone()))
            }
            UserInput::Choose(value) => {
                if !Bot::accepts_choice(state, value) {
                    return Err(ConversationError::UnknownChoice(value.clone()));
                }
                let label = state
                    .buttons
                    .iter()
                    .find(|b| b.value == *value)
                    .map(|b| b.label.clone())
                    .unwrap_or_else(|| bot.choice_label(value));
                messages.push(Reply::new(Author::User, ReplyKind::Echo, label));
            }
            UserInput::Escalate(_) => {
                messages.push(Reply::new(
                    Author::User,
                    ReplyKind::Echo,
                    "Quiero hablar con una persona",
                ));
            }
        }
        if masked {
            messages.push(Reply::bot(
                ReplyKind::Notice,
                self.render.reply("secret_masked", &json!({})),
            ));
        }
        let mut ticket = None;
        if matches!(input, UserInput::Say(_) | UserInput::Escalate(_)) {
            // Words for a case that waited on the user go to the case.
            match self.user_follow_up(state).await {
                Ok(Some((t, reply))) => {
                    messages.push(reply);
                    ticket = Some(t);
                }
                Ok(None) => {}
                Err(e) => {
                    *state = before.clone();
                    return Err(e.into());
                }
            }
        }
        let mut case_reply = None;
        if state.held_by.is_none() && ticket.is_none() {
            let mut effects = Effects::default();
            messages.extend(bot.respond(state, input, &mut effects));
            case_reply = effects.case_reply.take();
            if let Some(consent) = PrivacyConsent::newly_given(
                &state.fields,
                state.privacy.as_ref(),
                &self.privacy_url,
                Utc::now(),
            ) {
                state.privacy = Some(consent);
            }
            let extra = self.effects(session, state, &effects).await;
            match extra {
                Ok((t, replies)) => {
                    messages.extend(replies);
                    ticket = t;
                }
                Err(e) => {
                    *state = before.clone();
                    return Err(e.into());
                }
            }
        }
        if let Some((id, text)) = case_reply {
            // The other conversation first: this one then says what happened.
            messages.push(self.add_to_followed_case(&id, &text).await);
        }
        let appended = match self
            .commit(session, state, messages, ticket.as_ref(), Some(origin))
            .await
        {
            Ok(a) => a,
            Err(e) => {
                *state = before.clone();
                return Err(e.into());
            }
        };
        if let Some(ticket) = ticket {
            // The ticket is on disk; now it can be announced, to the user and the queue.
            let _ = session.events.send(SessionEvent::Ticket {
                id: ticket.id.to_string(),
                status: ticket.status.as_str().to_owned(),
            });
            let _ = self.opened.send(ticket);
        }
        Ok(appended)
    }

    /// Carries out the bot's side effects: a new ticket, a case status.
    async fn effects(
        &self,
        session: &Session,
        state: &mut ConversationState,
        effects: &Effects,
    ) -> Result<(Option<Ticket>, Vec<Reply>), StoreError> {
        let mut replies = Vec::new();
        let mut ticket = None;
        if effects.open_ticket {
            let (t, opened) = self.open_ticket(session, state).await?;
            replies.extend(opened);
            ticket = Some(t);
        }
        if effects.ticket_status {
            if let Some(reply) = self.ticket_status_reply(state).await? {
                replies.push(reply);
            }
        }
        if let Some((id, email)) = &effects.case_lookup {
            let reply = self.case_lookup_reply(state, id, email).await?;
            // Its "Responder al caso" button is the one the user may press next.
            state.offer(std::slice::from_ref(&reply));
            replies.push(reply);
        }
        Ok((ticket, replies))
    }

    /// The conversation's last stored seq (waits for a turn in progress).
    pub async fn last_seq(&self, session: &Session) -> u64 {
        session.state.lock().await.last_seq
    }

    /// Stored messages with `after < seq <= upto`, at most `limit`. Bounded by
    /// `upto` (a conversation's `last_seq`) so that a write that failed, and may
    /// linger in the database, is never replayed.
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn replay(
        &self,
        id: &SessionId,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Vec<Reply>, StoreError> {
        if after >= upto {
            return Ok(Vec::new());
        }
        let wanted = usize::try_from(upto - after)
            .unwrap_or(usize::MAX)
            .min(limit);
        let page = self.store.messages_after(id, after, wanted).await?;
        Ok(page
            .into_iter()
            .filter(|m| m.seq <= upto)
            .map(Reply::from)
            .collect())
    }

    /// Every stored message of a conversation, oldest first (an agent sees the whole case).
    ///
    /// # Errors
    /// When the conversation does not exist, or on a storage failure.
    pub async fn history(&self, id: &SessionId) -> Result<Vec<Reply>, ConversationError> {
        let session = self
            .get(id)
            .await?
            .ok_or(ConversationError::UnknownSession)?;
        let upto = self.last_seq(&session).await;
        let mut all = Vec::new();
        let mut after = 0;
        loop {
            let page = self.replay(id, after, upto, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            all.extend(page);
        }
        Ok(all)
    }

    /// Records a thumbs up/down on a bot message of this conversation.
    ///
    /// # Errors
    /// When the message does not exist, or on a storage failure.
    pub async fn feedback(
        &self,
        session: &Session,
        seq: u64,
        useful: bool,
    ) -> Result<(), ConversationError> {
        let state = session.state.lock().await;
        // Nothing stored yet (only the greeting): nothing to rate.
        if seq == 0 || seq > state.last_seq || !state.unsaved.is_empty() {
            return Err(ConversationError::UnknownSeq(seq));
        }
        drop(state);
        self.store
            .put_feedback(
                &session.id,
                seq,
                &Feedback {
                    useful,
                    ts: Utc::now().to_rfc3339(),
                },
            )
            .await?;
        Ok(())
    }

    /// Appends messages (and an optional ticket) with the next seqs, durably,
    /// then publishes them. Call with the conversation's lock held.
    ///
    /// # Errors
    /// On a storage failure; nothing is published then and the state's
    /// `last_seq` is left unchanged.
    pub async fn commit(
        &self,
        session: &Session,
        state: &mut ConversationState,
        mut messages: Vec<Reply>,
        ticket: Option<&Ticket>,
        origin: Option<u64>,
    ) -> Result<Vec<Arc<Reply>>, StoreError> {
        let now = Utc::now().to_rfc3339();
        let before = state.last_seq;
        for m in &mut messages {
            state.last_seq += 1;
            m.seq = state.last_seq;
            m.ts.clone_from(&now);
        }
        let mail = match self.mail_for(session, state, &messages, ticket).await {
            Ok(m) => m,
            Err(e) => {
                state.last_seq = before;
                return Err(e);
            }
        };
        // The greeting, if nobody had written yet: stored now, before the rest.
        let unsaved = std::mem::take(&mut state.unsaved);
        let greeting = unsaved.len();
        // The new messages move into the store's records and back: no copy.
        let records: Vec<MessageRecord> = unsaved
            .iter()
            .cloned()
            .chain(messages)
            .map(MessageRecord::from)
            .collect();
        let result = match state.to_record() {
            Ok(record) => {
                self.store
                    .commit(Commit {
                        session: Some((&session.id, &record)),
                        messages: &records,
                        ticket,
                        mail: &mail,
                    })
                    .await
            }
            Err(e) => Err(e),
        };
        if result.is_ok() && !mail.is_empty() {
            self.mail_wake.notify_one();
        }
        if let Err(e) = result {
            state.last_seq = before;
            state.unsaved = unsaved;
            return Err(e);
        }
        let published: Vec<Arc<Reply>> = records
            .into_iter()
            .skip(greeting)
            .map(|m| Arc::new(Reply::from(m)))
            .collect();
        for m in &published {
            // No subscriber (every tab closed) is fine: the message is stored.
            let origin = origin.filter(|_| m.from == Author::User);
            let _ = session.events.send(SessionEvent::Reply {
                reply: m.clone(),
                origin,
                wire: Arc::default(),
            });
        }
        Ok(published)
    }

    /// Locks a conversation's state for an agent-side change.
    pub async fn lock<'a>(
        &self,
        session: &'a Session,
    ) -> tokio::sync::MutexGuard<'a, ConversationState> {
        session.state.lock().await
    }

    /// Publishes a non-message event (ticket change, agent joined/left).
    pub fn publish(&self, session: &Session, event: SessionEvent) {
        let _ = session.events.send(event);
    }

    pub fn render(&self) -> &Renderer {
        &self.render
    }

    /// Whether a person can attend now (hours and open consoles).
    pub fn availability(&self) -> Availability {
        Availability::at(self.hours.as_ref(), self.agents_online(), Utc::now())
    }

    /// Agents who can attend this instance's users: their consoles may be
    /// open here or on another instance sharing the database.
    pub fn agents_online(&self) -> usize {
        self.agents_online.load(Ordering::Relaxed) + self.agents_elsewhere.load(Ordering::Relaxed)
    }

    pub fn set_agents_online(&self, n: usize) {
        self.agents_online.store(n, Ordering::Relaxed);
    }

    /// Sets how many agents have a console open only on other instances;
    /// returns the previous count.
    pub fn set_agents_elsewhere(&self, n: usize) -> usize {
        self.agents_elsewhere.swap(n, Ordering::Relaxed)
    }

    /// Forgets a conversation whose data was erased (`secobot data delete`):
    /// a tab still open on it goes on from a blank state (no fields, no case;
    /// only the message numbering is kept, so the tab accepts what follows),
    /// so its next turn cannot write the erased data back; a new `hello` with
    /// its token gets none of the erased history.
    pub async fn forget(&self, id: &SessionId) {
        let live = self.live(id);
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.remove(id);
        }
        if let Some(session) = live {
            let mut state = session.state.lock().await;
            *state = ConversationState {
                last_seq: state.last_seq,
                created_at: Utc::now().to_rfc3339(),
                ..ConversationState::default()
            };
        }
    }

    /// Tickets opened from now on.
    pub fn opened_tickets(&self) -> broadcast::Receiver<Ticket> {
        self.opened.subscribe()
    }

    /// Appends messages built from the conversation's state (an agent's words, a
    /// notice), with an optional ticket change, through the one path. `build`
    /// may run again (after catching up) when another instance wrote the
    /// conversation first; its error refuses the change.
    ///
    /// # Errors
    /// What `build` returns, when the conversation does not exist, or on a
    /// storage failure.
    pub async fn append<F>(
        &self,
        id: &SessionId,
        mut build: F,
    ) -> Result<(Arc<Session>, Vec<Arc<Reply>>), ConversationError>
    where
        F: FnMut(&mut ConversationState) -> Result<Appended, ConversationError>,
    {
        let session = self
            .get(id)
            .await?
            .ok_or(ConversationError::UnknownSession)?;
        let mut state = session.state.lock().await;
        let mut retries = 0;
        loop {
            let before = state.clone();
            let attempt = match build(&mut state) {
                Ok((messages, ticket)) => self
                    .commit(&session, &mut state, messages, ticket.as_ref(), None)
                    .await
                    .map_err(ConversationError::from),
                Err(e) => Err(e),
            };
            match attempt {
                Ok(appended) => {
                    drop(state);
                    return Ok((session, appended));
                }
                Err(e) => {
                    // Not on disk: the change did not happen.
                    *state = before;
                    if seq_taken(&e) && retries < SEQ_RETRIES {
                        retries += 1;
                        self.catch_up(&session, &mut state).await?;
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }
}

/// The input with credentials masked, and whether any were.
fn mask_input(input: UserInput) -> (UserInput, bool) {
    match input {
        UserInput::Say(text) => match crate::text::mask_secrets(&text) {
            Some(masked) => (UserInput::Say(masked), true),
            None => (UserInput::Say(text), false),
        },
        UserInput::Escalate(Some(text)) => match crate::text::mask_secrets(&text) {
            Some(masked) => (UserInput::Escalate(Some(masked)), true),
            None => (UserInput::Escalate(Some(text)), false),
        },
        other => (other, false),
    }
}
