//! Capture sources: where packets come from. Each source hands packets to a sink one at a time,
//! borrowing its own buffer, so no packet is copied on the way in. Files are read whole
//! ([`file`]); live interfaces are [`LiveSource`]s: the TPACKET_V3 ring ([`afpacket`], Linux) or
//! the portable `pnet_datalink` backend ([`pnet`]).

pub mod afpacket;
pub mod file;
pub mod pnet;

use afpacket::RingStats;
use shoko_proto::Timestamp;
use std::io;
use std::time::Duration;

/// A live, receive-only capture on one interface.
pub trait LiveSource: Send {
    /// The interface captured.
    fn interface(&self) -> &str;

    /// Waits up to `timeout` for frames and hands each to `sink`; returns how many were handed.
    fn next_batch(&mut self, timeout: Duration, sink: &mut dyn FnMut(Packet<'_>)) -> io::Result<usize>;

    /// The kernel's counters (frames received and dropped), when the backend has them.
    fn kernel_stats(&mut self) -> io::Result<Option<RingStats>>;

    /// Frames handed to sinks so far.
    fn packets(&self) -> u64;
}

/// pcap LINKTYPE_* values the decoder understands.
pub mod linktype {
    /// BSD loopback (4-byte address family in host byte order).
    pub const NULL: u32 = 0;
    /// Ethernet.
    pub const ETHERNET: u32 = 1;
    /// Raw IP (OpenBSD value).
    pub const RAW_OPENBSD: u32 = 12;
    /// Raw IP (BSD/OS value).
    pub const RAW_BSDOS: u32 = 14;
    /// Raw IP.
    pub const RAW: u32 = 101;
    /// OpenBSD loopback (4-byte address family in network byte order).
    pub const LOOP: u32 = 108;
    /// Linux cooked capture v1.
    pub const LINUX_SLL: u32 = 113;
    /// Raw IPv4.
    pub const IPV4: u32 = 228;
    /// Raw IPv6.
    pub const IPV6: u32 = 229;
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: u32 = 276;
}

/// One captured frame, borrowed from the source's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// Capture time.
    pub ts: Timestamp,
    /// pcap link type of `data`.
    pub linktype: u32,
    /// Length of the frame on the wire (may exceed `data.len()` when the capture was truncated).
    pub orig_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}
