//! Login throttling: failed attempts per username and per address in a sliding window.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per username, and per address, within `WINDOW`.
const PER_USER: usize = 5;
const PER_ADDRESS: usize = 20;
const WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl Throttle {
    /// Whether another attempt is allowed now.
    pub fn allowed(&self, user: &str, address: &str) -> bool {
        let Ok(mut map) = self.failures.lock() else {
            return true;
        };
        let now = Instant::now();
        let mut count = |key: String| {
            let list = map.entry(key).or_default();
            list.retain(|t| now.duration_since(*t) < WINDOW);
            list.len()
        };
        count(format!("u:{user}")) < PER_USER && count(format!("a:{address}")) < PER_ADDRESS
    }

    pub fn failed(&self, user: &str, address: &str) {
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
        let now = Instant::now();
        map.entry(format!("u:{user}")).or_default().push(now);
        map.entry(format!("a:{address}")).or_default().push(now);
        // Keep the map bounded under a spray of usernames.
        if map.len() > 100_000 {
            map.retain(|_, v| v.last().is_some_and(|t| now.duration_since(*t) < WINDOW));
        }
    }

    pub fn succeeded(&self, user: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&format!("u:{user}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_five_failures_per_user() {
        let t = Throttle::default();
        for _ in 0..5 {
            assert!(t.allowed("ana", "1.2.3.4"));
            t.failed("ana", "1.2.3.4");
        }
        assert!(!t.allowed("ana", "5.6.7.8"));
        assert!(t.allowed("luis", "5.6.7.8"));
    }
}
