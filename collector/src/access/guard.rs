//! What stands between the login form and the password check: a few verifiers lent out one at a
//! time (so concurrent logins cannot take more memory than they hold: each Argon2id check needs
//! 19 MiB), a bounded queue for them, and a growing delay per (user name, source address) after
//! repeated failures, so guessing one account from one address slows down without locking its
//! owner out from another.

use super::password::Verifier;
use prometheus_client::metrics::counter::Counter;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Failures allowed before the first delay.
const FREE_FAILURES: u32 = 5;
/// The longest delay.
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// A (user, address) with no failure for this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// (user, address) pairs remembered at once; the oldest is forgotten first when full.
const MAX_TRACKED: usize = 10_000;
/// Logins waiting for a verifier; more are told to come back.
const MAX_WAITING: usize = 256;
/// Longest user name looked at (longer names cannot exist; they are cut for the audit log).
pub const MAX_NAME: usize = 128;

/// Failures of one user name from one address.
struct Failures {
    count: u32,
    last: Instant,
    not_before: Instant,
}

/// The login guard of one collector process.
pub struct LoginGuard {
    slots: Arc<Semaphore>,
    verifiers: Mutex<Vec<Verifier>>,
    waiting: Semaphore,
    failures: Mutex<HashMap<(String, IpAddr), Failures>>,
}

/// Why a login was not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many recent failures for this user from this address: retry after the delay.
    BackingOff(Duration),
    /// Every verifier busy and the queue full.
    Busy,
}

/// A verifier lent to one login; returned when dropped.
pub struct Lease {
    verifier: Option<Verifier>,
    guard: Arc<LoginGuard>,
    _slot: OwnedSemaphorePermit,
}

impl Lease {
    /// The verifier.
    pub fn verifier(&mut self) -> &mut Verifier {
        self.verifier
            .as_mut()
            .expect("a lease holds its verifier until dropped")
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(v) = self.verifier.take() {
            self.guard
                .verifiers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(v);
        }
    }
}

impl LoginGuard {
    /// A guard with `slots` verifiers (each holding 19 MiB); `checks` counts verifications.
    pub fn new(slots: usize, checks: &Counter) -> Arc<Self> {
        let slots = slots.max(1);
        Arc::new(LoginGuard {
            slots: Arc::new(Semaphore::new(slots)),
            verifiers: Mutex::new((0..slots).map(|_| Verifier::new(checks.clone())).collect()),
            waiting: Semaphore::new(MAX_WAITING),
            failures: Mutex::new(HashMap::new()),
        })
    }

    /// A verifier for a login by `user` from `source`, waiting for one to be free; refused while
    /// the pair backs off or when too many logins wait.
    pub async fn lease(self: &Arc<Self>, user: &str, source: IpAddr) -> Result<Lease, Refusal> {
        if let Some(wait) = self.delay(user, source) {
            return Err(Refusal::BackingOff(wait));
        }
        let _queued = self.waiting.try_acquire().map_err(|_| Refusal::Busy)?;
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Refusal::Busy)?;
        let verifier = self.verifiers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        Ok(Lease {
            verifier,
            guard: self.clone(),
            _slot: slot,
        })
    }

    /// How long `user` from `source` must still wait, if at all.
    fn delay(&self, user: &str, source: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let f = failures.get(&(user.to_owned(), source))?;
        (f.not_before > now).then(|| f.not_before - now)
    }

    /// Records a failed password for `user` from `source`.
    pub fn failed(&self, user: &str, source: IpAddr) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let key = (user.to_owned(), source);
        if !failures.contains_key(&key) && failures.len() >= MAX_TRACKED {
            failures.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
            if failures.len() >= MAX_TRACKED
                && let Some(oldest) = failures
                    .iter()
                    .min_by_key(|(_, f)| f.last)
                    .map(|(k, _)| k.clone())
            {
                failures.remove(&oldest);
            }
        }
        let f = failures.entry(key).or_insert(Failures {
            count: 0,
            last: now,
            not_before: now,
        });
        if now.duration_since(f.last) >= FORGET_AFTER {
            f.count = 0;
        }
        f.count += 1;
        f.last = now;
        f.not_before = now + delay_after(f.count);
    }

    /// Forgets the failures of `user` from `source` after a successful login.
    pub fn succeeded(&self, user: &str, source: IpAddr) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(user.to_owned(), source));
    }
}

/// The delay after `count` failures: none for the first few, then 1 s doubling up to 15 minutes.
fn delay_after(count: u32) -> Duration {
    match count.checked_sub(FREE_FAILURES) {
        None => Duration::ZERO,
        Some(n) => Duration::from_secs(1u64 << n.min(20)).min(MAX_DELAY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_after_the_free_failures_and_are_capped() {
        let d: Vec<u64> = (1..=17).map(|n| delay_after(n).as_secs()).collect();
        assert_eq!(
            d,
            [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
        );
    }

    #[tokio::test]
    async fn one_pair_backs_off_others_do_not() {
        let guard = LoginGuard::new(1, &Counter::default());
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..5 {
            guard.failed("admin", a);
        }
        assert!(matches!(
            guard.lease("admin", a).await,
            Err(Refusal::BackingOff(_))
        ));
        assert!(guard.lease("admin", b).await.is_ok());
        assert!(guard.lease("other", a).await.is_ok());
        guard.succeeded("admin", a);
        assert!(guard.lease("admin", a).await.is_ok());
    }

    #[test]
    fn the_table_of_failures_is_bounded() {
        let guard = LoginGuard::new(1, &Counter::default());
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        for i in 0..MAX_TRACKED + 10 {
            guard.failed(&format!("user{i}"), a);
        }
        assert_eq!(guard.failures.lock().unwrap().len(), MAX_TRACKED);
    }
}
