//! Periodic upkeep, every `retention_interval_secs`: retention (the raw observations received more
//! than `retention_days` ago that no evidence refers to are deleted) and absent assets (an asset
//! not seen for `asset_not_seen_days` becomes an `asset_not_seen` change). Where collectors share
//! PostgreSQL, one runs each at a time.

use crate::metrics::{Metrics, ReasonLabel};
use crate::store::Store;
use shoko_proto::Timestamp;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What upkeep does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpkeepConfig {
    /// Days raw observations are kept (0: forever).
    pub retention_days: u64,
    /// Days after which an asset not seen is recorded absent (0: never).
    pub not_seen_days: u64,
    /// Time between runs.
    pub interval: Duration,
}

/// The time `days` before `now`.
pub fn cutoff(now: Timestamp, days: u64) -> Timestamp {
    let ns = i64::try_from(u128::from(days) * 86_400 * 1_000_000_000).unwrap_or(i64::MAX);
    Timestamp(now.0.saturating_sub(ns))
}

/// Counts a run of `job` with its outcome.
fn count(metrics: &Metrics, job: &str, outcome: &str) {
    metrics
        .upkeep_runs
        .get_or_create(&ReasonLabel {
            reason: format!("{job}_{outcome}"),
        })
        .inc();
}

/// Runs both jobs once, now, logging and counting what they did.
fn run_once(store: &dyn Store, cfg: UpkeepConfig, metrics: &Metrics) {
    let now = Timestamp::now();
    if cfg.retention_days > 0 {
        match store.prune_observations(cutoff(now, cfg.retention_days)) {
            Ok(r) if r.skipped => count(metrics, "retention", "skipped"),
            Ok(r) => {
                metrics.retention_deleted.inc_by(r.deleted);
                tracing::info!(
                    deleted = r.deleted,
                    days = cfg.retention_days,
                    "retention: old observations deleted"
                );
                count(metrics, "retention", "done");
            }
            Err(e) => {
                tracing::error!(error = %e, "retention failed");
                count(metrics, "retention", "failed");
            }
        }
    }
    if cfg.not_seen_days > 0 {
        match store.record_not_seen(cutoff(now, cfg.not_seen_days), now) {
            Ok(None) => count(metrics, "not_seen", "skipped"),
            Ok(Some(n)) => {
                if n > 0 {
                    tracing::info!(
                        assets = n,
                        days = cfg.not_seen_days,
                        "assets not seen recorded as changes"
                    );
                }
                count(metrics, "not_seen", "done");
            }
            Err(e) => {
                tracing::error!(error = %e, "recording absent assets failed");
                count(metrics, "not_seen", "failed");
            }
        }
    }
}

/// Starts the job (nothing when both parts are off); it ends when `stop` turns true.
pub fn spawn(
    store: Arc<dyn Store>,
    cfg: UpkeepConfig,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) -> Option<JoinHandle<()>> {
    if cfg.retention_days == 0 && cfg.not_seen_days == 0 {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(cfg.interval.max(Duration::from_secs(1)));
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop.changed() => return,
            }
            let (store, metrics) = (store.clone(), metrics.clone());
            if let Err(e) = tokio::task::spawn_blocking(move || run_once(store.as_ref(), cfg, &metrics)).await
            {
                tracing::error!(error = %e, "upkeep failed");
            }
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

    #[test]
    fn a_run_records_both_jobs_outcomes() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::sqlite::SqliteStore::open(&dir.path().join("s.db")).unwrap();
        let batch = crate::store::suite::sighting_batch("s", 1, Some("00:00:bc:00:00:01"), "10.0.0.1");
        store.ingest(&batch, Timestamp(1)).unwrap();
        let metrics = Metrics::new();
        let cfg = UpkeepConfig {
            retention_days: 90,
            not_seen_days: 7,
            interval: Duration::from_secs(3600),
        };
        run_once(&store, cfg, &metrics);
        let text = metrics.encode();
        for line in [
            r#"shoko_upkeep_runs_total{reason="retention_done"} 1"#,
            r#"shoko_upkeep_runs_total{reason="not_seen_done"} 1"#,
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        // The sighting (of 1970) is long absent; received now, it is kept.
        let kinds: Vec<String> = store.changes().unwrap().into_iter().map(|c| c.kind).collect();
        assert_eq!(kinds, ["new_asset", "asset_not_seen"]);
        assert_eq!(store.counts().unwrap().observations, 1);
    }
}
