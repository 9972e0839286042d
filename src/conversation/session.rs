//! A live conversation: its state behind an async lock, its subscribers, and
//! the user tabs present on it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::broadcast;

use super::reply::Reply;
use super::state::{ConversationState, SessionId};

/// Something a conversation's subscribers must see.
#[derive(Debug, Clone)]
pub enum SessionEvent {
    /// A new message. `origin` is the connection whose user wrote it: that tab
    /// already shows it, so it gets no echo (its other tabs do).
    Reply {
        reply: Arc<Reply>,
        origin: Option<u64>,
        /// The message as the socket layer encodes it, filled by the first
        /// subscriber that needs it: a message fanned out to many tabs is
        /// encoded once, not once per tab.
        wire: Arc<std::sync::OnceLock<String>>,
    },
    Ticket {
        id: String,
        status: String,
    },
    Agent {
        joined: bool,
        name: String,
    },
    /// Someone is (or stopped) typing: the user (for the agent holding the
    /// conversation) or the agent (for the user's tabs). Never stored.
    Typing {
        by_agent: bool,
        on: bool,
    },
}

/// A live conversation: its state behind an async lock (held across the
/// durable write, so appends are ordered) and its subscribers.
pub struct Session {
    pub id: SessionId,
    pub(super) state: tokio::sync::Mutex<ConversationState>,
    pub(super) events: broadcast::Sender<SessionEvent>,
    /// User tabs open on this conversation (see [`Presence`]): an agent's
    /// reply is e-mailed when there are none.
    pub(super) user_tabs: AtomicUsize,
}

/// A user tab's presence on a conversation, counted while it is held: the
/// socket keeps it for as long as it is connected. With PostgreSQL, when the
/// last tab here closes, the other instances are told at once (an agent's
/// reply written there is then e-mailed; see `crate::cluster`).
pub struct Presence {
    session: Arc<Session>,
    shared: Option<crate::store::PgStore>,
}

impl Presence {
    pub(super) fn new(session: &Arc<Session>, shared: Option<&crate::store::PgStore>) -> Self {
        session.user_tabs.fetch_add(1, Ordering::Relaxed);
        Presence {
            session: session.clone(),
            shared: shared.cloned(),
        }
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        let last = self.session.user_tabs.fetch_sub(1, Ordering::Relaxed) == 1;
        let (Some(pg), true) = (self.shared.take(), last) else {
            return;
        };
        let id = self.session.id.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = pg.user_left(&id).await {
                    // The next heartbeat (2 s) removes the row anyway.
                    tracing::debug!(error = %e, "failed to record that a user left");
                }
            });
        }
    }
}

impl Session {
    /// Whether a tab of the user has this conversation open on this instance.
    pub fn has_user_tab(&self) -> bool {
        self.user_tabs.load(Ordering::Relaxed) > 0
    }

    /// A receiver of everything published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.events.subscribe()
    }

    /// A copy of the state (for the agent console).
    pub async fn snapshot(&self) -> ConversationState {
        self.state.lock().await.clone()
    }
}
