//! IP reassembly (IPv4 and IPv6 fragments), bounded: at most `max_datagrams` reassemblies at once,
//! at most `max_bytes` buffered in all, each datagram at most 65,535 bytes, and a reassembly not
//! completed within `timeout` is dropped. Overlapping fragments keep the first data seen.

use foldhash::HashMap;
use shoko_proto::Timestamp;
use std::net::IpAddr;

/// Identifies the fragments of one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragKey {
    /// VLAN.
    pub vlan: Option<u16>,
    /// Source.
    pub src: IpAddr,
    /// Destination.
    pub dst: IpAddr,
    /// IP protocol of the payload.
    pub proto: u8,
    /// Identification.
    pub id: u32,
}

/// Bounds of the reassembly.
#[derive(Debug, Clone, Copy)]
pub struct DefragLimits {
    /// Reassemblies in progress at once.
    pub max_datagrams: usize,
    /// Bytes buffered in all.
    pub max_bytes: usize,
    /// Nanoseconds (capture time) a reassembly may take.
    pub timeout_ns: i64,
}

impl Default for DefragLimits {
    fn default() -> Self {
        DefragLimits {
            max_datagrams: 4096,
            max_bytes: 16 << 20,
            timeout_ns: 30_000_000_000,
        }
    }
}

/// Counters of the reassembly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DefragStats {
    /// Datagrams reassembled.
    pub reassembled: u64,
    /// Fragments refused by the bounds (too many reassemblies, too many bytes, too large).
    pub refused: u64,
    /// Reassemblies dropped unfinished after the timeout.
    pub timed_out: u64,
}

#[derive(Debug)]
struct Partial {
    data: Vec<u8>,
    /// Byte ranges received, sorted and merged.
    have: Vec<(usize, usize)>,
    /// Total length, known once the last fragment arrived.
    total: Option<usize>,
    started: Timestamp,
}

/// The reassembly table.
#[derive(Debug, Default)]
pub struct Defragmenter {
    limits: DefragLimits,
    partial: HashMap<FragKey, Partial>,
    bytes: usize,
    stats: DefragStats,
}

const MAX_DATAGRAM: usize = 65_535;

impl Defragmenter {
    /// An empty table with the given bounds.
    pub fn new(limits: DefragLimits) -> Self {
        Defragmenter {
            limits,
            ..Default::default()
        }
    }

    /// Counters.
    pub fn stats(&self) -> DefragStats {
        self.stats
    }

    /// Reassemblies in progress and bytes they hold.
    pub fn in_progress(&self) -> (usize, usize) {
        (self.partial.len(), self.bytes)
    }

    /// Adds a fragment; returns the whole payload once every fragment arrived.
    pub fn add(
        &mut self,
        key: FragKey,
        offset: usize,
        more: bool,
        data: &[u8],
        ts: Timestamp,
    ) -> Option<Vec<u8>> {
        self.expire(ts);
        let end = offset.checked_add(data.len())?;
        if end > MAX_DATAGRAM || (more && data.is_empty()) {
            self.stats.refused += 1;
            return None;
        }
        if !self.partial.contains_key(&key) {
            if self.partial.len() >= self.limits.max_datagrams {
                self.stats.refused += 1;
                return None;
            }
            self.partial.insert(
                key,
                Partial {
                    data: Vec::new(),
                    have: Vec::new(),
                    total: None,
                    started: ts,
                },
            );
        }
        let p = self.partial.get_mut(&key)?;
        let grow = end.saturating_sub(p.data.len());
        if self.bytes + grow > self.limits.max_bytes {
            self.stats.refused += 1;
            return None;
        }
        if grow > 0 {
            p.data.resize(end, 0);
            self.bytes += grow;
        }
        // Copy only the parts not received yet (first data wins).
        let mut pos = offset;
        for &(s, e) in p.have.iter().chain(std::iter::once(&(end, end))) {
            if e <= pos {
                continue;
            }
            if s > pos {
                let upto = s.min(end);
                p.data[pos..upto].copy_from_slice(&data[pos - offset..upto - offset]);
            }
            pos = pos.max(e);
            if pos >= end {
                break;
            }
        }
        p.have.push((offset, end));
        p.have.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(p.have.len());
        for &(s, e) in &p.have {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        p.have = merged;
        if !more {
            p.total = Some(end);
        }
        let done = p.total.is_some_and(|t| p.have.len() == 1 && p.have[0] == (0, t));
        if !done {
            return None;
        }
        let p = self.partial.remove(&key)?;
        self.bytes -= p.data.len();
        self.stats.reassembled += 1;
        let mut data = p.data;
        data.truncate(p.total.unwrap_or(0));
        Some(data)
    }

    fn expire(&mut self, now: Timestamp) {
        let timeout = self.limits.timeout_ns;
        let before = self.partial.len();
        let mut freed = 0;
        self.partial.retain(|_, p| {
            let keep = now.0 - p.started.0 <= timeout && now.0 >= p.started.0;
            if !keep {
                freed += p.data.len();
            }
            keep
        });
        self.bytes -= freed;
        self.stats.timed_out += (before - self.partial.len()) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u32) -> FragKey {
        FragKey {
            vlan: None,
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            proto: 17,
            id,
        }
    }

    #[test]
    fn out_of_order_overlapping_and_bounded() {
        let mut d = Defragmenter::new(DefragLimits {
            max_datagrams: 2,
            max_bytes: 1 << 20,
            timeout_ns: 1000,
        });
        let t = Timestamp(0);
        assert_eq!(d.add(key(1), 8, false, b"89abcdef", t), None);
        assert_eq!(d.add(key(1), 4, true, b"4567XXXX", t), None); // overlaps: first data wins at 8..
        assert_eq!(
            d.add(key(1), 0, true, b"0123", t).as_deref(),
            Some(&b"0123456789abcdef"[..])
        );
        assert_eq!(d.in_progress(), (0, 0));
        // Bounded count; and reassemblies time out.
        d.add(key(2), 0, true, b"a", t);
        d.add(key(3), 0, true, b"a", t);
        assert_eq!(d.add(key(4), 0, true, b"a", t), None);
        assert_eq!(d.stats().refused, 1);
        assert_eq!(d.add(key(5), 0, true, b"a", Timestamp(5000)), None);
        assert_eq!(d.stats().timed_out, 2);
        assert_eq!(d.in_progress(), (1, 1));
        // Oversized datagrams are refused.
        assert_eq!(d.add(key(6), 65_530, false, b"0123456789", t), None);
    }
}
