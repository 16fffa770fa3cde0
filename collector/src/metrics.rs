//! Prometheus metrics of the collector, served at `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Label of a refusal reason.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// Why.
    pub reason: String,
}

/// Label of a SIEM destination.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DestinationLabel {
    /// Its name.
    pub destination: String,
}

/// All collector metrics.
pub struct Metrics {
    registry: Registry,
    /// Sessions opened (handshake and hello passed).
    pub sessions: Counter,
    /// Sessions open now.
    pub sessions_open: Gauge,
    /// Connections or sessions refused, by reason.
    pub refused: Family<ReasonLabel, Counter>,
    /// Batches stored.
    pub batches_stored: Counter,
    /// Batches acknowledged as duplicates.
    pub batches_duplicate: Counter,
    /// Observations stored.
    pub observations_stored: Counter,
    /// Seconds from receiving a batch to acknowledging it.
    pub ingest_seconds: Histogram,
    /// Batches waiting for the store writer.
    pub ingest_queue_depth: Gauge,
    /// Store transactions committed by the writer (each holding one or more batches).
    pub ingest_commits: Counter,
    /// Times an agent over its rate limit was read more slowly.
    pub ingest_throttled: Counter,
    /// Upkeep runs by job and outcome (`retention_done`, `not_seen_skipped`, ...).
    pub upkeep_runs: Family<ReasonLabel, Counter>,
    /// Observations deleted by retention.
    pub retention_deleted: Counter,
    /// Items delivered to each SIEM destination.
    pub siem_delivered: Family<DestinationLabel, Counter>,
    /// Failed delivery rounds per SIEM destination (each retried).
    pub siem_failures: Family<DestinationLabel, Counter>,
    /// Argon2id password verifications run (one per login attempt checked).
    pub login_password_checks: Counter,
    /// Failed login attempts by reason: `wrong` (name or password), `backoff` (refused while the
    /// user backs off from that address), `busy` (every verifier busy, the queue full).
    pub login_failures: Family<ReasonLabel, Counter>,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("shoko");
        let m = Metrics {
            sessions: Counter::default(),
            sessions_open: Gauge::default(),
            refused: Family::default(),
            batches_stored: Counter::default(),
            batches_duplicate: Counter::default(),
            observations_stored: Counter::default(),
            ingest_seconds: Histogram::new([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0]),
            ingest_queue_depth: Gauge::default(),
            ingest_commits: Counter::default(),
            ingest_throttled: Counter::default(),
            upkeep_runs: Family::default(),
            retention_deleted: Counter::default(),
            siem_delivered: Family::default(),
            siem_failures: Family::default(),
            login_password_checks: Counter::default(),
            login_failures: Family::default(),
            registry: Registry::default(),
        };
        // (name, help, metric): one line each.
        macro_rules! register {
            ($($name:literal, $help:literal, $metric:expr;)*) => {
                $(registry.register($name, $help, $metric.clone());)*
            };
        }
        register! {
            "ingest_sessions", "Agent sessions opened", m.sessions;
            "ingest_sessions_open", "Agent sessions open now", m.sessions_open;
            "ingest_refused", "Connections or sessions refused, by reason", m.refused;
            "ingest_batches_stored", "Batches durably stored", m.batches_stored;
            "ingest_batches_duplicate", "Re-sent batches acknowledged without storing", m.batches_duplicate;
            "ingest_observations_stored", "Observations durably stored", m.observations_stored;
            "ingest_batch_seconds", "Seconds from receiving a batch to its ack", m.ingest_seconds;
            "ingest_queue_depth", "Batches waiting for the store writer", m.ingest_queue_depth;
            "ingest_commits", "Store transactions committed (each holding one or more batches)", m.ingest_commits;
            "ingest_throttled", "Times an agent over its rate limit was read more slowly", m.ingest_throttled;
            "upkeep_runs", "Upkeep runs by job and outcome (skipped: another collector ran it)", m.upkeep_runs;
            "retention_deleted_observations", "Raw observations deleted by retention", m.retention_deleted;
            "siem_delivered", "Change records and events delivered, per SIEM destination", m.siem_delivered;
            "siem_failures", "Failed SIEM delivery rounds (retried), per destination", m.siem_failures;
            "login_password_checks", "Argon2id password verifications run", m.login_password_checks;
            "login_failures", "Failed login attempts: wrong, backoff (delay after failures), busy (queue full)", m.login_failures;
        }
        Metrics { registry, ..m }
    }

    /// Counts a refusal.
    pub fn refuse(&self, reason: &str) {
        self.refused
            .get_or_create(&ReasonLabel {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Counts a failed login attempt.
    pub fn login_failed(&self, reason: &str) {
        self.login_failures
            .get_or_create(&ReasonLabel {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
