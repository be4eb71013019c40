//! Per-automation trigger rate limits: a token bucket per automation,
//! refilled continuously. A trigger over the limit gets 429 with a
//! Retry-After saying when the next one will be accepted.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Take one token for `key` at `per_minute` (burst = one minute's
    /// worth). `Err(wait)` says how long until a token is free.
    pub fn check(&self, key: &str, per_minute: u32) -> Result<(), Duration> {
        if per_minute == 0 {
            return Err(Duration::from_secs(60));
        }
        let capacity = f64::from(per_minute);
        let rate = capacity / 60.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: capacity,
            last: now,
        });
        let elapsed = now.duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

impl RateLimiter {
    /// Forget `key`'s bucket: a changed limit starts full.
    pub fn reset(&self, key: &str) {
        self.buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refuse_with_a_wait() {
        let rl = RateLimiter::default();
        assert!(rl.check("a", 2).is_ok());
        assert!(rl.check("a", 2).is_ok());
        let wait = rl.check("a", 2).expect_err("third in the same minute");
        assert!(
            wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert!(rl.check("b", 2).is_ok(), "buckets are per automation");
        assert!(rl.check("c", 0).is_err());
    }
}
