//! The agent's self-telemetry: resident memory and CPU time read from `/proc/self`.

use crate::uplink::UplinkStatus;
use shoko_proto::{AgentTelemetry, SpoolDropped};
use std::time::Instant;

/// Resident set size in bytes (0 where `/proc` is unavailable).
pub fn rss_bytes() -> u64 {
    // statm: size resident shared ... in pages.
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// User plus system CPU time in milliseconds (0 where `/proc` is unavailable).
pub fn cpu_ms() -> u64 {
    // stat: fields after the parenthesised command; utime and stime are fields 14 and 15, in
    // clock ticks (100 Hz on Linux).
    let Ok(s) = std::fs::read_to_string("/proc/self/stat") else {
        return 0;
    };
    let Some(rest) = s.rfind(')').map(|i| &s[i + 2..]) else {
        return 0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) * 10
}

/// Returns freed heap memory to the operating system (glibc keeps it otherwise) and lets the
/// kernel drop the resident pages of the agent's own executable (code and read-only data come
/// back from the page cache when next used), so that the agent is small again between inventory
/// cycles.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages of the allocator's own heap.
    unsafe {
        libc::malloc_trim(0);
    }
    #[cfg(target_os = "linux")]
    page_out_executable();
}

/// Advises the kernel to page out the read-only mappings of the agent's executable.
#[cfg(target_os = "linux")]
fn page_out_executable() {
    let (Ok(exe), Ok(maps)) = (
        std::fs::read_link("/proc/self/exe"),
        std::fs::read_to_string("/proc/self/maps"),
    ) else {
        return;
    };
    for line in maps.lines() {
        // "start-end perms offset dev inode path"
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(range), Some(perms), Some(path)) = (f.first(), f.get(1), f.get(5)) else {
            continue;
        };
        if perms.contains('w') || std::path::Path::new(path) != exe {
            continue;
        }
        let Some((Ok(start), Ok(end))) = range
            .split_once('-')
            .map(|(a, b)| (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)))
        else {
            continue;
        };
        // SAFETY: MADV_PAGEOUT on a file-backed read-only mapping of this process only drops
        // resident pages; their content is unchanged and faults back in on the next access.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_PAGEOUT);
        }
    }
}

/// A telemetry observation body for an agent started at `started`.
pub fn snapshot(
    started: Instant,
    packets_received: u64,
    packets_dropped: u64,
    uplink: &UplinkStatus,
) -> AgentTelemetry {
    AgentTelemetry {
        agent_version: env!("CARGO_PKG_VERSION").into(),
        rss_bytes: rss_bytes(),
        cpu_ms: cpu_ms(),
        uptime_s: started.elapsed().as_secs(),
        packets_received,
        packets_dropped,
        spool_batches: uplink.pending_batches as u64,
        spool_bytes: uplink.spool.map_or(0, |s| s.bytes),
        host_cycle: None,
        spool_dropped: uplink.spool.map(|s| SpoolDropped {
            batches: s.dropped_batches,
            flow_observations: s.dropped_flow_observations,
            other_observations: s.dropped_other_observations,
        }),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_own_process() {
        assert!(super::rss_bytes() > 1 << 20);
    }
}
