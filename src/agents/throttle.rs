//! Login throttling, in a sliding window.
//!
//! - Per (user, address): 5 failures, then that address waits. Counted *before*
//!   the password is checked ([`Throttle::begin`] reserves the attempt under
//!   the lock), so concurrent guesses cannot race past the limit.
//! - Per address: 20 failures over every username (password spraying).
//! - Per user over all addresses: a slower limit (30) that only applies to
//!   addresses that never logged in as that user, so strangers cannot lock an
//!   agent out of their own desk.
//! - A supervisor can clear a user's failures ([`Throttle::unlock`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per (username, address), per address, and per username
/// from unknown addresses, within `WINDOW`.
const PER_USER_ADDRESS: usize = 5;
const PER_ADDRESS: usize = 20;
const PER_USER_GLOBAL: usize = 30;
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long an address that logged in as a user stays known for it.
const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
/// Keep the maps bounded under a spray of usernames or addresses.
const MAX_KEYS: usize = 100_000;

#[derive(Default)]
struct Inner {
    failures: HashMap<String, Vec<Instant>>,
    known: HashMap<(String, String), Instant>,
}

#[derive(Default)]
pub struct Throttle {
    inner: Mutex<Inner>,
}

/// An attempt in progress, already counted as a failure until it succeeds.
#[must_use = "an attempt must end with `Throttle::succeeded` or stay a failure"]
pub struct Attempt {
    user: String,
    address: String,
    at: Instant,
}

fn keys(user: &str, address: &str) -> [String; 3] {
    [
        format!("ua:{user}\n{address}"),
        format!("a:{address}"),
        format!("u:{user}"),
    ]
}

impl Throttle {
    /// Reserves an attempt for `user` from `address`, counting it as a failure
    /// until [`Throttle::succeeded`] says otherwise.
    ///
    /// # Errors
    /// How long until an attempt is allowed again, when it is not now.
    pub fn begin(&self, user: &str, address: &str) -> Result<Attempt, Duration> {
        let Ok(mut inner) = self.inner.lock() else {
            // A panic elsewhere poisoned the lock: refusing everyone is worse.
            return Ok(Attempt {
                user: user.to_owned(),
                address: address.to_owned(),
                at: Instant::now(),
            });
        };
        let now = Instant::now();
        let known = inner
            .known
            .get(&(user.to_owned(), address.to_owned()))
            .is_some_and(|t| now.duration_since(*t) < KNOWN_FOR);
        let [ua, a, u] = keys(user, address);
        let mut wait = Duration::ZERO;
        for (key, limit, applies) in [
            (&ua, PER_USER_ADDRESS, true),
            (&a, PER_ADDRESS, true),
            (&u, PER_USER_GLOBAL, !known),
        ] {
            let list = inner.failures.entry(key.clone()).or_default();
            list.retain(|t| now.duration_since(*t) < WINDOW);
            if applies && list.len() >= limit {
                let oldest = list.iter().min().copied().unwrap_or(now);
                wait = wait.max(WINDOW.saturating_sub(now.duration_since(oldest)));
            }
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        for key in [ua, a, u] {
            inner.failures.entry(key).or_default().push(now);
        }
        if inner.failures.len() > MAX_KEYS {
            inner
                .failures
                .retain(|_, v| v.last().is_some_and(|t| now.duration_since(*t) < WINDOW));
        }
        Ok(Attempt {
            user: user.to_owned(),
            address: address.to_owned(),
            at: now,
        })
    }

    /// The attempt had the right password: it was no failure, and this
    /// address is now known for this user.
    pub fn succeeded(&self, attempt: Attempt) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let [ua, a, u] = keys(&attempt.user, &attempt.address);
        inner.failures.remove(&ua);
        for key in [a, u] {
            if let Some(list) = inner.failures.get_mut(&key) {
                if let Some(pos) = list.iter().position(|t| *t == attempt.at) {
                    list.remove(pos);
                }
            }
        }
        if inner.known.len() > MAX_KEYS {
            let now = Instant::now();
            inner
                .known
                .retain(|_, t| now.duration_since(*t) < KNOWN_FOR);
        }
        inner
            .known
            .insert((attempt.user, attempt.address), Instant::now());
    }

    /// Clears every failure counted against `user` (a supervisor's unlock).
    pub fn unlock(&self, user: &str) {
        if let Ok(mut inner) = self.inner.lock() {
            let mine = format!("u:{user}");
            let prefix = format!("ua:{user}\n");
            inner
                .failures
                .retain(|k, _| *k != mine && !k.starts_with(&prefix));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_per_user_and_address() {
        let t = Throttle::default();
        for _ in 0..5 {
            let _failed = t.begin("ana", "1.2.3.4").unwrap();
        }
        assert!(t.begin("ana", "1.2.3.4").is_err());
        assert!(
            t.begin("ana", "5.6.7.8").is_ok(),
            "another address is not locked"
        );
        assert!(t.begin("luis", "1.2.3.4").is_ok());
    }

    #[test]
    fn strangers_cannot_lock_out_a_known_address() {
        let t = Throttle::default();
        let ok = t.begin("ana", "10.0.0.1").unwrap();
        t.succeeded(ok);
        for i in 0..40 {
            let _ = t.begin("ana", &format!("192.0.2.{i}"));
        }
        assert!(
            t.begin("ana", "198.51.100.7").is_err(),
            "global per-user limit"
        );
        assert!(
            t.begin("ana", "10.0.0.1").is_ok(),
            "the agent's own address"
        );
        t.unlock("ana");
        assert!(
            t.begin("ana", "198.51.100.7").is_ok(),
            "after a supervisor's unlock"
        );
    }
}
