//! Live capture runs: frames from an AF_PACKET ring into a sensor, for a bounded time.

use crate::capture::afpacket::{AfPacketRing, RingConfig, RingStats};
use crate::pipeline::Sensor;
use std::time::{Duration, Instant};

/// Captures on `interface` for `duration`, feeding `sensor`; returns the kernel's counters.
pub fn capture_for(
    interface: &str,
    cfg: &RingConfig,
    duration: Duration,
    sensor: &mut Sensor,
) -> std::io::Result<RingStats> {
    let mut ring = AfPacketRing::open(interface, cfg)?;
    tracing::info!(
        interface,
        block_size = cfg.block_size,
        blocks = cfg.block_count,
        promiscuous = cfg.promiscuous,
        "live capture started (receive-only)"
    );
    let end = Instant::now() + duration;
    let mut last_progress = Instant::now();
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let wait = (end - now).min(Duration::from_millis(200));
        ring.next_block(wait, &mut |p| sensor.process(&p))?;
        if last_progress.elapsed() >= Duration::from_secs(10) {
            last_progress = Instant::now();
            let s = ring.stats()?;
            tracing::info!(interface, packets = s.packets, drops = s.drops, "capturing");
        }
    }
    // Frames already in the ring when time is up are still read.
    while ring.next_block(Duration::ZERO, &mut |p| sensor.process(&p))? > 0 {}
    ring.stats()
}
