//! Live capture: frames from a receive-only [`LiveSource`] into a sensor, either for a bounded time
//! (`shoko-agent capture`) or for as long as the agent runs, reporting what was found at a fixed
//! interval (`shoko-agent run`).

use crate::capture::LiveSource;
use crate::capture::afpacket::{AfPacketRing, RingConfig, RingStats};
use crate::capture::pnet::PnetCapture;
use crate::pipeline::{Sensor, SensorLimits};
use serde::Deserialize;
use shoko_proto::{Observation, Source, Timestamp};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Which capture backend reads an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The AF_PACKET TPACKET_V3 ring (Linux): fast, with kernel drop counters.
    #[default]
    Afpacket,
    /// The portable `pnet_datalink` backend: any system, slower; drop counters on Linux only.
    Pnet,
}

/// Opens `interface` with `backend`.
pub fn open(interface: &str, backend: Backend, ring: &RingConfig) -> io::Result<Box<dyn LiveSource>> {
    let source: Box<dyn LiveSource> = match backend {
        Backend::Afpacket => Box::new(AfPacketRing::open(interface, ring)?),
        Backend::Pnet => Box::new(PnetCapture::open(interface, ring.promiscuous)?),
    };
    tracing::info!(
        interface,
        ?backend,
        promiscuous = ring.promiscuous,
        "live capture started (receive-only)"
    );
    Ok(source)
}

/// Captures for `duration`, feeding `sensor`; returns the kernel's counters when the backend has
/// them.
pub fn capture_for(
    source: &mut dyn LiveSource,
    duration: Duration,
    sensor: &mut Sensor,
) -> io::Result<Option<RingStats>> {
    let end = Instant::now() + duration;
    let mut last_progress = Instant::now();
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let wait = (end - now).min(Duration::from_millis(200));
        source.next_batch(wait, &mut |p| sensor.process(&p))?;
        if last_progress.elapsed() >= Duration::from_secs(10) {
            last_progress = Instant::now();
            tracing::info!(
                interface = source.interface(),
                packets = source.packets(),
                "capturing"
            );
        }
    }
    // Frames already waiting when time is up are still read.
    while source.next_batch(Duration::ZERO, &mut |p| sensor.process(&p))? > 0 {}
    source.kernel_stats()
}

/// What a running capture reports at each interval.
#[derive(Debug)]
pub struct Report {
    /// The interface.
    pub interface: String,
    /// Observations: assets seen since the last report, finished flows, new events.
    pub observations: Vec<Observation>,
    /// Frames handed to the sensor since the capture started.
    pub packets: u64,
    /// Frames the kernel dropped since the capture started (0 when the backend cannot tell).
    pub drops: u64,
}

/// Runs a capture until `stop` is set, handing a [`Report`] to `deliver` every `every` and a
/// last one (with every open flow finished) at the end. `deliver` returns false when nobody
/// listens any more, which also ends the capture.
pub fn run_reporting(
    mut source: Box<dyn LiveSource>,
    limits: SensorLimits,
    every: Duration,
    stop: &AtomicBool,
    deliver: &mut dyn FnMut(Report) -> bool,
) -> io::Result<()> {
    let mut sensor = Sensor::new(limits);
    let interface = source.interface().to_owned();
    let origin = Source::Interface {
        name: interface.clone(),
    };
    let mut since = Timestamp::now();
    let mut next = Instant::now() + every;
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        if !stopping {
            source.next_batch(Duration::from_millis(200), &mut |p| sensor.process(&p))?;
        }
        if stopping || Instant::now() >= next {
            let now = Timestamp::now();
            let out = if stopping {
                sensor.output()
            } else {
                sensor.report(since)
            };
            since = now;
            next = Instant::now() + every;
            let kernel = source.kernel_stats()?.unwrap_or_default();
            let report = Report {
                interface: interface.clone(),
                observations: out.to_observations(&origin),
                packets: source.packets(),
                drops: kernel.drops,
            };
            tracing::debug!(
                interface,
                observations = report.observations.len(),
                "capture report"
            );
            if !deliver(report) || stopping {
                return Ok(());
            }
        }
    }
}
