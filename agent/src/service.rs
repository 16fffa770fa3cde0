//! `shoko-agent run`: the long-running agent. Configured capture files are analysed once; each
//! configured interface is captured on its own thread for as long as the agent runs, reporting
//! assets, finished flows and events every `report_interval_secs`; with `[host] enabled`, a host
//! inventory is taken every `host.interval_secs` and on SIGUSR1 and sent as a full or change-only
//! snapshot; self-telemetry (packets received and dropped, the last inventory cycle's cost) goes
//! out every `telemetry_interval_secs`. Everything is delivered through one uplink; SIGTERM or
//! Ctrl-C stops the captures, sends their last reports and flushes.

use crate::config::AgentConfig;
use crate::host_schedule::HostSchedule;
use crate::identity::Identity;
use crate::live::{self, Report};
use crate::pipeline::{Sensor, SensorLimits};
use crate::spool::Spool;
use crate::uplink::{Uplink, UplinkConfig, UplinkError, UplinkStatus};
use shoko_proto::{Observation, ObservationBody, ParserRef, Provenance, Source, Timestamp};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tracing::{info, warn};

/// Why the agent stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration or identity bundle is unusable.
    #[error("{0:#}")]
    Config(anyhow::Error),
    /// A configured interface cannot be captured.
    #[error("interface {interface}: {source}")]
    Interface {
        /// The interface.
        interface: String,
        /// Why.
        source: std::io::Error,
    },
    /// The collector refused the agent, or delivery failed for good.
    #[error(transparent)]
    Uplink(#[from] UplinkError),
}

/// Reports held between the capture threads and the uplink; when full, captures wait (and the
/// kernel counts drops) instead of memory growing.
const REPORT_QUEUE: usize = 4;

/// Runs the agent described by the configuration file until SIGTERM or Ctrl-C.
pub async fn run(config: &Path) -> Result<(), RunError> {
    let cfg = AgentConfig::load(config).map_err(RunError::Config)?;
    let mut up = Identity::load(&cfg.identity)
        .map_err(anyhow::Error::from)
        .and_then(|id| UplinkConfig::from_identity(&id, cfg.collector.clone()))
        .map_err(RunError::Config)?;
    up.batch_max_observations = cfg.uplink.batch_max_observations;
    up.window = cfg.uplink.window;
    up.max_pending_batches = cfg.uplink.max_pending_batches;
    up.max_frame_len = cfg.uplink.max_frame_len;
    // Interfaces are opened before anything is delivered: a wrong name fails at start.
    let mut sources = Vec::new();
    for i in &cfg.capture.interfaces {
        let source = live::open(&i.name, i.backend, &i.ring()).map_err(|source| RunError::Interface {
            interface: i.name.clone(),
            source,
        })?;
        sources.push(source);
    }
    let started = Instant::now();
    let uplink = match cfg.spool.enabled {
        true => {
            let (spool, recovered) = Spool::open(cfg.spool.config(up.max_frame_len))
                .map_err(|e| RunError::Config(anyhow::anyhow!("spool {}: {e}", cfg.spool.dir.display())))?;
            info!(
                spool = %cfg.spool.dir.display(),
                batches = recovered.batches,
                already_sent = recovered.numbered,
                truncated_bytes = recovered.truncated_bytes,
                "spool opened"
            );
            for t in &recovered.truncated {
                warn!(segment = %t, "spool segment truncated at a torn write");
            }
            Uplink::with_spool(up, spool)
        }
        false => Uplink::start(up),
    };
    info!(config = %config.display(), interfaces = sources.len(), "agent running");
    let mut file_packets = 0;
    for file in &cfg.capture.files {
        let mut sensor = Sensor::new(SensorLimits::default());
        match sensor.process_file(file) {
            Ok(_) => {
                let out = sensor.output();
                file_packets += out.stats.packets;
                let source = Source::CaptureFile {
                    path: file.display().to_string(),
                };
                uplink.submit(out.to_observations(&source)).await?;
            }
            Err(e) => warn!(error = %e, "capture file skipped"),
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, mut reports) = mpsc::channel::<Report>(REPORT_QUEUE);
    let every = Duration::from_secs(cfg.capture.report_interval_secs);
    let mut captures = Vec::new();
    for source in sources {
        let (tx, stop) = (tx.clone(), stop.clone());
        captures.push(std::thread::spawn(move || {
            let interface = source.interface().to_owned();
            let mut deliver = |r: Report| tx.blocking_send(r).is_ok();
            if let Err(e) = live::run_reporting(source, SensorLimits::default(), every, &stop, &mut deliver) {
                warn!(interface, error = %e, "live capture stopped");
            }
        }));
    }
    drop(tx);
    // Per interface: (packets, drops) as last reported.
    let mut counters: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut tick = tokio::time::interval(Duration::from_secs(cfg.telemetry_interval_secs));
    let signal = |kind: tokio::signal::unix::SignalKind, name: &str| {
        tokio::signal::unix::signal(kind)
            .map_err(|e| RunError::Config(anyhow::anyhow!("cannot watch {name}: {e}")))
    };
    let mut terminate = signal(tokio::signal::unix::SignalKind::terminate(), "SIGTERM")?;
    let mut on_demand = signal(tokio::signal::unix::SignalKind::user_defined1(), "SIGUSR1")?;
    let mut host = cfg.host.enabled.then(|| HostSchedule::new(cfg.host.clone()));
    let host_every = Duration::from_secs(host.as_ref().map_or(3600, HostSchedule::interval_secs));
    let mut host_tick = tokio::time::interval(host_every);
    let mut progress = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let (packets, drops) = counters.values().fold((file_packets, 0), |(p, d), (cp, cd)| (p + cp, d + cd));
                let mut t = telemetry(started, packets, drops, &uplink.status());
                if let ObservationBody::AgentTelemetry(a) = &mut t.body {
                    a.host_cycle = host.as_ref().and_then(HostSchedule::last_cycle);
                }
                uplink.submit(vec![t]).await?;
            }
            _ = host_tick.tick(), if host.is_some() => {
                if let Some(h) = host.as_mut() {
                    h.cycle(&uplink).await?;
                }
            }
            _ = on_demand.recv() => match host.as_mut() {
                Some(h) => h.cycle(&uplink).await?,
                None => info!("SIGUSR1 ignored: no host inventory configured"),
            },
            _ = progress.tick(), if host.is_some() => {
                if let Some(h) = host.as_mut() {
                    h.note_progress(&uplink.status());
                }
            }
            Some(r) = reports.recv() => {
                counters.insert(r.interface.clone(), (r.packets, r.drops));
                uplink.submit(r.observations).await?;
            }
            _ = tokio::signal::ctrl_c() => break,
            _ = terminate.recv() => break,
        }
    }
    info!("stopping; delivering the captures' last reports and what is pending");
    stop.store(true, Ordering::Relaxed);
    while let Some(r) = reports.recv().await {
        uplink.submit(r.observations).await?;
    }
    for c in captures {
        let _ = c.join();
    }
    match uplink.flush(Duration::from_secs(10)).await {
        Ok(()) => {
            if let Some(h) = host.as_mut() {
                h.note_progress(&uplink.status());
            }
        }
        Err(e) => warn!(error = %e, "stopped with undelivered batches"),
    }
    Ok(())
}

fn telemetry(started: Instant, packets: u64, drops: u64, uplink: &UplinkStatus) -> Observation {
    Observation {
        provenance: Provenance {
            source: Source::Agent,
            parser: ParserRef::new("telemetry", env!("CARGO_PKG_VERSION")),
            observed_at: Timestamp::now(),
            evidence: Default::default(),
        },
        body: ObservationBody::AgentTelemetry(crate::telemetry::snapshot(started, packets, drops, uplink)),
    }
}
