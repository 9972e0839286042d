//! Typing indicators between a user and the agent holding the conversation.
//!
//! Never stored. Each side is throttled on its own: an "on" is forwarded at
//! most once a second, an "off" only after an "on", and an "on" not followed
//! by more typing is turned off after [`SILENCE`] (a closed tab or a lost
//! connection must not leave "escribiendo…" on the other screen).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{AgentError, Agents};
use crate::conversation::{Session, SessionEvent, SessionId};

/// At most one forwarded "on" per side in this time.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Silence after which an indicator that is on is turned off.
pub const SILENCE: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Side {
    on: bool,
    last_on: Option<Instant>,
    /// The last "on" received, forwarded or not.
    active: Instant,
    /// Bumped by each forwarded "on": only the newest expiry may turn it off.
    generation: u64,
}

/// What to do with an indicator change.
#[derive(Debug, PartialEq, Eq)]
pub enum Admit {
    /// Drop it (a repeat within the throttle, or an "off" for nothing on).
    Drop,
    /// Forward an "off".
    Off,
    /// Forward an "on", then check for silence with this generation.
    On(u64),
}

/// What an expiry check found.
#[derive(Debug, PartialEq, Eq)]
pub enum Expiry {
    /// Turn it off now (forward an "off").
    Off,
    /// Still typing: check again at this instant.
    Later(Instant),
    /// Already off, or a newer "on" owns the expiry.
    Done,
}

/// Per conversation and side (`by_agent`), what the other side was last told.
#[derive(Debug, Default)]
pub struct TypingGate {
    sides: Mutex<HashMap<(SessionId, bool), Side>>,
}

impl TypingGate {
    pub fn admit(&self, session: &SessionId, by_agent: bool, on: bool, now: Instant) -> Admit {
        let Ok(mut sides) = self.sides.lock() else {
            return Admit::Drop;
        };
        let side = sides.entry((session.clone(), by_agent)).or_insert(Side {
            on: false,
            last_on: None,
            active: now,
            generation: 0,
        });
        if !on {
            if !side.on {
                return Admit::Drop;
            }
            side.on = false;
            return Admit::Off;
        }
        side.active = now;
        let due = side
            .last_on
            .is_none_or(|t| now.duration_since(t) >= MIN_INTERVAL);
        if !due {
            return Admit::Drop;
        }
        side.on = true;
        side.last_on = Some(now);
        side.generation += 1;
        Admit::On(side.generation)
    }

    pub fn expire(
        &self,
        session: &SessionId,
        by_agent: bool,
        generation: u64,
        now: Instant,
    ) -> Expiry {
        let Ok(mut sides) = self.sides.lock() else {
            return Expiry::Done;
        };
        let Some(side) = sides.get_mut(&(session.clone(), by_agent)) else {
            return Expiry::Done;
        };
        if !side.on || side.generation != generation {
            return Expiry::Done;
        }
        let quiet_at = side.active + SILENCE;
        if now < quiet_at {
            return Expiry::Later(quiet_at);
        }
        side.on = false;
        Expiry::Off
    }

    /// The conversation left its agent: nothing more to throttle for it.
    pub fn forget(&self, session: &SessionId) {
        if let Ok(mut sides) = self.sides.lock() {
            sides.retain(|(s, _), _| s != session);
        }
    }
}

impl Agents {
    /// The user of `session` is (or stopped) typing: forwarded to the agent
    /// holding the conversation, if one does.
    pub fn typing_from_user(&self, session: &Arc<Session>, on: bool) {
        let held = self
            .queue
            .lock()
            .map(|q| q.get(&session.id).is_some_and(|w| w.held_by.is_some()))
            .unwrap_or(false);
        if held {
            self.forward_typing(session.clone(), false, on);
        }
    }

    /// The agent holding `session` is (or stopped) typing to the user.
    ///
    /// # Errors
    /// Not held, or the conversation cannot be read.
    pub async fn typing_from_agent(
        &self,
        agent: &str,
        session: &SessionId,
        on: bool,
    ) -> Result<(), AgentError> {
        self.check_holder(agent, session)?;
        let live = self.hub.get(session).await?.ok_or(AgentError::Unknown)?;
        self.forward_typing(live, true, on);
        Ok(())
    }

    fn forward_typing(&self, live: Arc<Session>, by_agent: bool, on: bool) {
        match self.typing.admit(&live.id, by_agent, on, Instant::now()) {
            Admit::Drop => {}
            Admit::Off => self.hub.publish(
                &live,
                SessionEvent::Typing {
                    by_agent,
                    on: false,
                },
            ),
            Admit::On(generation) => {
                self.hub
                    .publish(&live, SessionEvent::Typing { by_agent, on: true });
                let gate = self.typing.clone();
                let hub = self.hub.clone();
                tokio::spawn(async move {
                    let mut at = Instant::now() + SILENCE;
                    loop {
                        tokio::time::sleep_until(at.into()).await;
                        match gate.expire(&live.id, by_agent, generation, Instant::now()) {
                            Expiry::Off => {
                                hub.publish(
                                    &live,
                                    SessionEvent::Typing {
                                        by_agent,
                                        on: false,
                                    },
                                );
                                break;
                            }
                            Expiry::Later(next) => at = next,
                            Expiry::Done => break,
                        }
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_each_side_and_turns_off_after_silence() {
        let gate = TypingGate::default();
        let s = SessionId::generate();
        let t0 = Instant::now();
        assert_eq!(gate.admit(&s, false, true, t0), Admit::On(1));
        // A repeat within the second is dropped; the other side is independent.
        assert_eq!(
            gate.admit(&s, false, true, t0 + Duration::from_millis(300)),
            Admit::Drop
        );
        assert_eq!(gate.admit(&s, true, true, t0), Admit::On(1));
        // Flapping does not beat the throttle: off goes through, the next on waits.
        assert_eq!(
            gate.admit(&s, false, false, t0 + Duration::from_millis(400)),
            Admit::Off
        );
        assert_eq!(
            gate.admit(&s, false, false, t0 + Duration::from_millis(450)),
            Admit::Drop
        );
        assert_eq!(
            gate.admit(&s, false, true, t0 + Duration::from_millis(500)),
            Admit::Drop
        );
        assert_eq!(
            gate.admit(&s, false, true, t0 + Duration::from_millis(1000)),
            Admit::On(2)
        );
        // Typing continues (dropped repeats count as activity): the expiry waits.
        let t = t0 + Duration::from_millis(1500);
        assert_eq!(gate.admit(&s, false, true, t), Admit::Drop);
        assert_eq!(
            gate.expire(&s, false, 1, t0 + SILENCE),
            Expiry::Done,
            "an older generation"
        );
        assert_eq!(
            gate.expire(&s, false, 2, t0 + SILENCE),
            Expiry::Later(t + SILENCE)
        );
        assert_eq!(gate.expire(&s, false, 2, t + SILENCE), Expiry::Off);
        assert_eq!(gate.expire(&s, false, 2, t + SILENCE), Expiry::Done);
        gate.forget(&s);
        assert!(gate.sides.lock().unwrap().is_empty());
    }
}
