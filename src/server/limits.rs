//! Per-address limits: one client (or one NAT) must not fill the disk or take
//! the server's time from everyone else.
//!
//! Token buckets keyed by the peer's address (IPv6 by its /64, which one
//! household or office usually gets whole). Written here rather than with
//! `governor` because that crate is not in the offline registry this project
//! builds from; the bucket is a dozen lines and the map prunes itself.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Above this many tracked addresses, full (idle) buckets are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// One address's allowance.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// A token bucket per address: `rate` per second, bursts of `burst`.
pub struct KeyedLimit {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl KeyedLimit {
    /// `rate` tokens per second, at most `burst` saved up. A rate of 0 disables it.
    pub fn new(rate: f64, burst: u32) -> Self {
        KeyedLimit {
            rate,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `addr`.
    ///
    /// # Errors
    /// How long until a token is available, when none is now.
    pub fn check(&self, addr: IpAddr) -> Result<(), Duration> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let key = bucket_key(addr);
        let now = Instant::now();
        // A poisoned lock means a panic elsewhere mid-update; limiting is not
        // worth refusing everyone over, so let the frame through.
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() > PRUNE_ABOVE {
            let (rate, burst) = (self.rate, self.burst);
            buckets
                .retain(|_, b| b.tokens + now.duration_since(b.last).as_secs_f64() * rate < burst);
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.last).as_secs_f64() * self.rate)
            .min(self.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }
}

/// IPv4 as is; IPv6 by its /64 (an IPv4-mapped address as IPv4).
fn bucket_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

/// The limits every user socket checks, shared by all connections.
pub struct AddressLimits {
    /// New conversations (a `hello` that does not resume one).
    pub conversations: KeyedLimit,
    /// User actions (`say`, `choose`, `escalate`, `feedback`).
    pub turns: KeyedLimit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_burst_with_a_retry_hint() {
        let limit = KeyedLimit::new(1.0, 3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(limit.check(a).is_ok());
        }
        let wait = limit.check(a).unwrap_err();
        assert!(wait > Duration::from_millis(500) && wait <= Duration::from_secs(1));
        assert!(limit.check(b).is_ok(), "another address is not affected");
    }

    #[test]
    fn ipv6_shares_a_bucket_per_64() {
        let limit = KeyedLimit::new(1.0, 1);
        assert!(limit.check("2001:db8::1".parse().unwrap()).is_ok());
        assert!(limit.check("2001:db8::2".parse().unwrap()).is_err());
        assert!(limit.check("2001:db8:0:1::1".parse().unwrap()).is_ok());
    }
}
