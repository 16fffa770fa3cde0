//! Per-agent rate limits: a token bucket of observations per agent id (shared by its sessions). An
//! agent over its rate is not refused: its session waits before reading the next batch, so TCP
//! slows the agent down and it keeps its batches.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One agent's bucket: tokens may go negative (debt) after a large batch.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Observation rate limits of all agents.
#[derive(Debug)]
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// `per_sec` observations per second per agent with bursts of `burst`; 0 disables the limit.
    pub fn new(per_sec: u64, burst: u64) -> Self {
        RateLimiter {
            per_sec: per_sec as f64,
            burst: burst.max(per_sec) as f64,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `observations` from the agent's bucket at `now`; returns how long the agent's session
    /// should wait before reading its next batch (zero within the rate).
    pub fn charge(&self, agent: &str, observations: usize, now: Instant) -> Duration {
        if self.per_sec <= 0.0 {
            return Duration::ZERO;
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let b = buckets.entry(agent.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.per_sec).min(self.burst) - observations as f64;
        b.at = now;
        if b.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.tokens / self.per_sec)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_the_burst_free_beyond_it_paced() {
        let limiter = RateLimiter::new(1_000, 2_000);
        let t0 = Instant::now();
        assert_eq!(limiter.charge("a", 1_500, t0), Duration::ZERO);
        // 500 left; 1,500 more is 1,000 in debt: one second at 1,000/s.
        assert_eq!(limiter.charge("a", 1_500, t0), Duration::from_secs(1));
        // After that second the debt is paid.
        assert_eq!(
            limiter.charge("a", 0, t0 + Duration::from_secs(1)),
            Duration::ZERO
        );
        // Agents have their own buckets; a limit of 0 is no limit.
        assert_eq!(limiter.charge("b", 2_000, t0), Duration::ZERO);
        assert_eq!(RateLimiter::new(0, 0).charge("a", 1 << 30, t0), Duration::ZERO);
        // Idle time refills up to the burst only.
        assert_eq!(
            limiter.charge("b", 2_000, t0 + Duration::from_secs(60)),
            Duration::ZERO
        );
        assert!(limiter.charge("b", 1, t0 + Duration::from_secs(60)) > Duration::ZERO);
    }
}
