//! The retention job: every `retention_interval_secs`, deletes the raw observations received more
//! than `retention_days` ago that no evidence refers to (the store decides which, and where collectors
//! share PostgreSQL only one runs it at a time).

use crate::metrics::{Metrics, ReasonLabel};
use crate::store::{PruneReport, Store, StoreError};
use shoko_proto::Timestamp;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The time before which received observations go, `days` before `now`.
pub fn cutoff(now: Timestamp, days: u64) -> Timestamp {
    let ns = i64::try_from(u128::from(days) * 86_400 * 1_000_000_000).unwrap_or(i64::MAX);
    Timestamp(now.0.saturating_sub(ns))
}

/// Runs retention once, now.
pub fn run_once(store: &dyn Store, days: u64) -> Result<PruneReport, StoreError> {
    store.prune_observations(cutoff(Timestamp::now(), days))
}

/// Starts the job (nothing when `days` is 0); it ends when `stop` turns true.
pub fn spawn(
    store: Arc<dyn Store>,
    days: u64,
    interval: Duration,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) -> Option<JoinHandle<()>> {
    if days == 0 {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval.max(Duration::from_secs(1)));
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop.changed() => return,
            }
            let store = store.clone();
            let outcome = tokio::task::spawn_blocking(move || run_once(store.as_ref(), days)).await;
            let label = match outcome {
                Ok(Ok(r)) if r.skipped => {
                    tracing::info!("retention: another collector is running it");
                    "skipped"
                }
                Ok(Ok(r)) => {
                    metrics.retention_deleted.inc_by(r.deleted);
                    tracing::info!(deleted = r.deleted, days, "retention: old observations deleted");
                    "done"
                }
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "retention failed");
                    "failed"
                }
                Err(e) => {
                    tracing::error!(error = %e, "retention failed");
                    "failed"
                }
            };
            metrics
                .retention_runs
                .get_or_create(&ReasonLabel { reason: label.into() })
                .inc();
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_is_whole_days_back_and_saturates() {
        assert_eq!(
            cutoff(Timestamp(2 * 86_400_000_000_000), 1),
            Timestamp(86_400_000_000_000)
        );
        assert_eq!(cutoff(Timestamp(5), u64::MAX), Timestamp(5 - i64::MAX));
    }
}
