//! The host agent's schedule inside `shoko-agent run`: an inventory every `host.interval_secs`
//! (and at once on SIGUSR1), taken on a blocking thread, sent as a full or change-only snapshot
//! through the uplink; the acknowledged state is saved once the collector has acknowledged every
//! batch up to the snapshot's. Each cycle's wall time, CPU time and RSS go out with the telemetry.

use crate::config::HostSettings;
use crate::host::delta::{self, AckedSnapshot};
use crate::host::{HostSource, LinuxHost, observations, root::HostRoot};
use crate::telemetry;
use crate::uplink::{Uplink, UplinkError, UplinkStatus};
use shoko_proto::{HostCycle, Timestamp};
use std::sync::Arc;
use std::time::Instant;
use tracing::{info, warn};

/// The host inventory schedule of one agent.
pub struct HostSchedule {
    source: Arc<dyn HostSource>,
    settings: HostSettings,
    acked: AckedSnapshot,
    /// Acknowledged-batch count to reach, and the state to save then.
    awaiting: Option<(u64, AckedSnapshot)>,
    last: Option<HostCycle>,
}

impl HostSchedule {
    /// A schedule for the configured host; the acknowledged state is read from its file (an
    /// unreadable one is reported and replaced by a full snapshot).
    pub fn new(settings: HostSettings) -> Self {
        let acked = AckedSnapshot::load(&settings.state_file).unwrap_or_else(|e| {
            warn!(error = %e, "host snapshot state unusable; the next snapshot is full");
            AckedSnapshot::default()
        });
        HostSchedule {
            source: Arc::new(LinuxHost(HostRoot::new(&settings.root))),
            settings,
            acked,
            awaiting: None,
            last: None,
        }
    }

    /// Seconds between cycles.
    pub fn interval_secs(&self) -> u64 {
        self.settings.interval_secs
    }

    /// Takes an inventory and queues its snapshot for delivery.
    pub async fn cycle(&mut self, uplink: &Uplink) -> Result<(), UplinkError> {
        let source = self.source.clone();
        let (cpu0, started) = (telemetry::cpu_ms(), Instant::now());
        let taken = tokio::task::spawn_blocking(move || {
            let inv = source.inventory();
            let at = Timestamp::now();
            let facts = observations::facts(&inv, at);
            let items = observations::items(&inv, at);
            (facts, items)
        })
        .await;
        let Ok((facts, items)) = taken else {
            warn!("host inventory cycle failed");
            return Ok(());
        };
        let now = Timestamp::now().0 / 1_000_000_000;
        let full_every = i64::try_from(self.settings.full_snapshot_secs).unwrap_or(i64::MAX);
        let plan = delta::plan(facts, items, &self.acked, now, full_every, false);
        let cycle = HostCycle {
            duration_ms: started.elapsed().as_millis() as u64,
            cpu_ms: telemetry::cpu_ms().saturating_sub(cpu0),
            rss_bytes: telemetry::rss_bytes(),
            items: plan.snapshot.items,
            sent: plan.snapshot.sent,
            full: plan.snapshot.full,
        };
        info!(
            root = %self.source.describe(),
            full = cycle.full,
            items = cycle.items,
            sent = cycle.sent,
            removed = plan.snapshot.removed.len(),
            duration_ms = cycle.duration_ms,
            cpu_ms = cycle.cpu_ms,
            "host inventory cycle"
        );
        self.last = Some(cycle);
        uplink.submit(plan.observations).await?;
        // Batches are acknowledged in order: once every batch queued so far is, so is this one.
        let st = uplink.status();
        self.awaiting = Some((st.acked_batches + st.pending_batches as u64, plan.next));
        Ok(())
    }

    /// Saves the acknowledged state once the uplink has acknowledged the last snapshot.
    pub fn note_progress(&mut self, status: &UplinkStatus) {
        let Some((target, _)) = &self.awaiting else {
            return;
        };
        if status.acked_batches < *target {
            return;
        }
        let (_, next) = self.awaiting.take().expect("checked above");
        if let Err(e) = next.save(&self.settings.state_file) {
            warn!(error = %e, file = %self.settings.state_file.display(), "host snapshot state not saved");
        }
        self.acked = next;
        // The cycle's memory is free now: give it back while the agent idles.
        telemetry::release_free_memory();
    }

    /// The last cycle's cost, for telemetry.
    pub fn last_cycle(&self) -> Option<HostCycle> {
        self.last.clone()
    }
}
