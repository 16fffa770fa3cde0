//! The flow table: bidirectional conversations keyed by VLAN and 5-tuple, bounded in entries and
//! reassembly memory, expired by idle, close and active timeouts (capture time), with Zeek-style
//! TCP state and history. The originator is the side that sent the SYN, or else the first packet.
//!
//! TCP payload is reassembled in order for the first bytes of each direction and offered to the
//! stream dissectors ([`crate::dissect::stream`]); connections of an industrial protocol are
//! framed PDU by PDU for their whole life ([`pdu_stream`]).

pub mod conn_log;
pub mod pdu_stream;
pub mod stream;
pub mod tcp;

use crate::decode::{Decoded, Net, Transport as L4, tcp_flags};
use crate::dissect::ics::framer::MAX_PDU;
use crate::dissect::{self, StreamView, ics};
use crate::findings::{Findings, FrameRef};
use crate::inventory::ports;
use foldhash::HashMap;
use pdu_stream::{PduStats, PduStream};
use serde::Serialize;
use shoko_proto::{Endpoint, FlowSummary, MacAddr, Timestamp, Transport};
use std::net::IpAddr;
use stream::{Added, DirStream};
use tcp::{DirFlags, History};

const SECOND: i64 = 1_000_000_000;
/// Payload segments of a TCP connection offered to industrial protocol detection.
const MAX_DETECT_TRIES: u8 = 4;

/// Bounds and timeouts of the flow table.
#[derive(Debug, Clone, Copy)]
pub struct FlowLimits {
    /// Most flows tracked at once; packets of further flows are counted and not tracked.
    pub max_flows: usize,
    /// Finished flows held until drained; more are counted and dropped.
    pub max_finished: usize,
    /// Seconds a TCP flow may stay silent.
    pub tcp_idle_secs: i64,
    /// Seconds a UDP or other flow may stay silent.
    pub udp_idle_secs: i64,
    /// Seconds a closed (FIN or RST) TCP flow is kept for late packets.
    pub closed_idle_secs: i64,
    /// Seconds after which a long-lived flow is reported and its counters restarted.
    pub active_secs: i64,
    /// Bytes reassembled per direction for the stream dissectors.
    pub stream_budget: usize,
    /// Most bytes of reassembly buffers reserved at once.
    pub max_stream_bytes: usize,
}

impl Default for FlowLimits {
    fn default() -> Self {
        FlowLimits {
            max_flows: 500_000,
            max_finished: 1_000_000,
            tcp_idle_secs: 300,
            udp_idle_secs: 60,
            closed_idle_secs: 5,
            active_secs: 1800,
            stream_budget: 4096,
            max_stream_bytes: 64 << 20,
        }
    }
}

/// Counters of the flow table.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct FlowStats {
    /// Flows created.
    pub created: u64,
    /// Flows ended by an idle or close timeout.
    pub expired: u64,
    /// Reports of long-lived flows at the active timeout.
    pub active_reports: u64,
    /// Packets of flows not tracked because the table was full.
    pub dropped_packets: u64,
    /// Finished flows dropped because nobody drained them.
    pub finished_dropped: u64,
    /// TCP directions whose reassembly stopped at a gap.
    pub stream_gaps: u64,
    /// TCP flows not reassembled because the reassembly memory was full.
    pub streams_refused: u64,
    /// Industrial-protocol PDU framing.
    pub pdus: PduStats,
}

/// Bidirectional flow key: the two endpoints in canonical (sorted) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FlowKey {
    vlan: Option<u16>,
    proto: u8,
    lo: (IpAddr, u16),
    hi: (IpAddr, u16),
}

#[derive(Debug)]
struct FlowEntry {
    orig: (IpAddr, u16),
    orig_mac: Option<MacAddr>,
    resp_mac: Option<MacAddr>,
    orig_packets: u64,
    orig_bytes: u64,
    orig_payload: u64,
    resp_packets: u64,
    resp_bytes: u64,
    resp_payload: u64,
    first_seen: Timestamp,
    last_seen: Timestamp,
    orig_flags: DirFlags,
    resp_flags: DirFlags,
    history: History,
    /// Reassembly of [originator, responder] directions while dissectors still want bytes.
    streams: Option<Box<[DirStream; 2]>>,
    /// PDU framing once the connection showed an industrial protocol.
    pdus: Option<Box<PduStream>>,
    /// Payload segments offered to industrial protocol detection so far.
    detect_tries: u8,
}

impl FlowEntry {
    fn closed(&self) -> bool {
        self.orig_flags.rst || self.resp_flags.rst || (self.orig_flags.fin && self.resp_flags.fin)
    }

    /// The originator's and the responder's endpoints.
    fn endpoints(&self, key: &FlowKey) -> (Endpoint, Endpoint) {
        let resp = if self.orig == key.lo { key.hi } else { key.lo };
        (
            Endpoint {
                ip: self.orig.0,
                port: self.orig.1,
                mac: self.orig_mac,
            },
            Endpoint {
                ip: resp.0,
                port: resp.1,
                mac: self.resp_mac,
            },
        )
    }
}

/// Bounded flow table.
#[derive(Debug)]
pub struct FlowTable {
    limits: FlowLimits,
    flows: HashMap<FlowKey, FlowEntry>,
    finished: Vec<FlowSummary>,
    stats: FlowStats,
    stream_bytes: usize,
    last_sweep: Option<Timestamp>,
}

/// The transport of an IP protocol number.
fn transport_of(proto: u8) -> Transport {
    match proto {
        6 => Transport::Tcp,
        17 => Transport::Udp,
        _ => Transport::Other,
    }
}

impl FlowTable {
    /// An empty table with the given bounds.
    pub fn new(limits: FlowLimits) -> Self {
        FlowTable {
            limits,
            flows: HashMap::default(),
            finished: Vec::new(),
            stats: FlowStats::default(),
            stream_bytes: 0,
            last_sweep: None,
        }
    }

    /// Counters.
    pub fn stats(&self) -> FlowStats {
        self.stats
    }

    /// Number of flows held.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// True when no flow is held.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Bytes reserved by reassembly buffers.
    pub fn stream_bytes(&self) -> usize {
        self.stream_bytes
    }

    /// Accounts one decoded frame, handing new stream bytes to the dissectors.
    pub fn observe(&mut self, d: &Decoded<'_>, f: &FrameRef<'_>, findings: &mut Findings) {
        let Net::Ip(ip) = &d.net else { return };
        self.maybe_sweep(f.ts);
        let (sport, dport, flags, seq, payload) = match ip.transport {
            L4::Tcp {
                sport,
                dport,
                flags,
                seq,
                payload,
            } => (sport, dport, flags, seq, payload),
            L4::Udp {
                sport,
                dport,
                payload,
            } => (sport, dport, 0, 0, payload),
            L4::Other => (0, 0, 0, 0, &[][..]),
        };
        let a = (ip.src, sport);
        let b = (ip.dst, dport);
        let key = FlowKey {
            vlan: d.vlan,
            proto: ip.proto,
            lo: a.min(b),
            hi: a.max(b),
        };
        let is_new = !self.flows.contains_key(&key);
        if is_new && !self.make_room(f.ts) {
            self.stats.dropped_packets += 1;
            return;
        }
        let tcp = ip.proto == 6 && ip.frag.is_none();
        let wants_stream =
            tcp && self.stream_bytes + 2 * self.limits.stream_budget <= self.limits.max_stream_bytes;
        let entry = self.flows.entry(key).or_insert_with(|| FlowEntry {
            orig: a,
            orig_mac: d.src_mac,
            resp_mac: d.dst_mac,
            orig_packets: 0,
            orig_bytes: 0,
            orig_payload: 0,
            resp_packets: 0,
            resp_bytes: 0,
            resp_payload: 0,
            first_seen: f.ts,
            last_seen: f.ts,
            orig_flags: DirFlags::default(),
            resp_flags: DirFlags::default(),
            history: History::default(),
            streams: None,
            pdus: None,
            detect_tries: 0,
        });
        if is_new {
            self.stats.created += 1;
            if wants_stream {
                entry.streams = Some(Box::default());
                self.stream_bytes += 2 * self.limits.stream_budget;
            } else if tcp {
                self.stats.streams_refused += 1;
            }
        }
        if tcp && flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN && entry.orig != a {
            // The first packet seen was the responder's; the SYN names the real originator.
            std::mem::swap(&mut entry.orig_packets, &mut entry.resp_packets);
            std::mem::swap(&mut entry.orig_bytes, &mut entry.resp_bytes);
            std::mem::swap(&mut entry.orig_payload, &mut entry.resp_payload);
            std::mem::swap(&mut entry.orig_mac, &mut entry.resp_mac);
            std::mem::swap(&mut entry.orig_flags, &mut entry.resp_flags);
            if let Some(s) = entry.streams.as_mut() {
                s.swap(0, 1);
            }
            entry.orig = a;
        }
        let from_orig = entry.orig == a;
        entry.last_seen = entry.last_seen.max(f.ts);
        let (packets, bytes, carried, dir_flags) = if from_orig {
            (
                &mut entry.orig_packets,
                &mut entry.orig_bytes,
                &mut entry.orig_payload,
                &mut entry.orig_flags,
            )
        } else {
            (
                &mut entry.resp_packets,
                &mut entry.resp_bytes,
                &mut entry.resp_payload,
                &mut entry.resp_flags,
            )
        };
        *packets += 1;
        *bytes += u64::from(ip.len);
        *carried += payload.len() as u64;
        if !tcp {
            return;
        }
        dir_flags.add(flags);
        entry.history.segment(flags, payload.len(), from_orig);
        let (orig, resp) = entry.endpoints(&key);
        if !payload.is_empty() {
            if entry.pdus.is_none() && entry.detect_tries < MAX_DETECT_TRIES {
                entry.detect_tries += 1;
                if let Some(protocol) = ics::detect_tcp(payload, sport, dport) {
                    let buffering = self.stream_bytes + 2 * MAX_PDU <= self.limits.max_stream_bytes;
                    if buffering {
                        self.stream_bytes += 2 * MAX_PDU;
                    }
                    self.stats.pdus.connections += 1;
                    entry.pdus = Some(Box::new(PduStream::new(protocol, buffering)));
                }
            }
            if let Some(p) = entry.pdus.as_mut() {
                let syn = flags & tcp_flags::SYN != 0;
                p.segment(
                    orig,
                    resp,
                    from_orig,
                    seq,
                    syn,
                    payload,
                    f,
                    findings,
                    &mut self.stats.pdus,
                );
            }
        }
        let Some(streams) = entry.streams.as_mut() else {
            return;
        };
        let dir = &mut streams[usize::from(!from_orig)];
        match dir.add(
            seq,
            flags & tcp_flags::SYN != 0,
            payload,
            self.limits.stream_budget,
        ) {
            Added::Gap => {
                self.stats.stream_gaps += 1;
                entry.history.push(b'g', from_orig);
            }
            Added::Nothing => {}
            Added::Data => {
                let view = StreamView {
                    client: orig,
                    server: resp,
                    from_client: from_orig,
                    transport: Transport::Tcp,
                    data: &dir.buf,
                };
                dissect::stream(&view, f, findings, &mut dir.progress);
                if dir.progress.finished() {
                    dir.stop();
                }
            }
        }
        if streams.iter().all(|s| s.stopped) {
            entry.streams = None;
            self.stream_bytes -= 2 * self.limits.stream_budget;
        }
    }

    /// True when a new flow may be added. A full table is swept for idle flows at most once per
    /// second of capture time, so a flood of new flows cannot turn every packet into a full scan.
    fn make_room(&mut self, now: Timestamp) -> bool {
        if self.flows.len() < self.limits.max_flows {
            return true;
        }
        if self
            .last_sweep
            .is_none_or(|t| now.0 - t.0 >= SECOND || now.0 < t.0)
        {
            self.sweep(now);
        }
        self.flows.len() < self.limits.max_flows
    }

    fn maybe_sweep(&mut self, now: Timestamp) {
        let due = self
            .last_sweep
            .is_none_or(|t| now.0 - t.0 >= 10 * SECOND || now.0 < t.0);
        if due {
            self.sweep(now);
        }
    }

    /// Expires idle and closed flows and reports long-lived ones, as of capture time `now`.
    pub fn sweep(&mut self, now: Timestamp) {
        self.last_sweep = Some(now);
        let l = self.limits;
        let mut expired = Vec::new();
        let mut active = Vec::new();
        for (k, e) in &self.flows {
            let idle = now.0 - e.last_seen.0;
            let limit = if k.proto != 6 {
                l.udp_idle_secs
            } else if e.closed() {
                l.closed_idle_secs
            } else {
                l.tcp_idle_secs
            };
            if idle > limit * SECOND {
                expired.push(*k);
            } else if now.0 - e.first_seen.0 > l.active_secs * SECOND {
                active.push(*k);
            }
        }
        for k in expired {
            if let Some(e) = self.flows.remove(&k) {
                self.stats.expired += 1;
                self.finish(&k, e);
            }
        }
        for k in active {
            if let Some(e) = self.flows.get_mut(&k) {
                self.stats.active_reports += 1;
                let summary = summarize(&k, e);
                e.first_seen = now;
                (e.orig_packets, e.orig_bytes, e.orig_payload) = (0, 0, 0);
                (e.resp_packets, e.resp_bytes, e.resp_payload) = (0, 0, 0);
                self.push_finished(summary);
            }
        }
    }

    fn finish(&mut self, k: &FlowKey, e: FlowEntry) {
        if e.streams.is_some() {
            self.stream_bytes -= 2 * self.limits.stream_budget;
        }
        if e.pdus.as_ref().is_some_and(|p| p.buffering) {
            self.stream_bytes -= 2 * MAX_PDU;
        }
        let summary = summarize(k, &e);
        self.push_finished(summary);
    }

    fn push_finished(&mut self, s: FlowSummary) {
        if self.finished.len() >= self.limits.max_finished {
            self.stats.finished_dropped += 1;
        } else {
            self.finished.push(s);
        }
    }

    /// Ends every flow (end of input).
    pub fn flush(&mut self) {
        let all: Vec<_> = self.flows.drain().collect();
        for (k, e) in all {
            self.finish(&k, e);
        }
    }

    /// Takes the finished flows, oldest first.
    pub fn drain_finished(&mut self) -> Vec<FlowSummary> {
        let mut out = std::mem::take(&mut self.finished);
        out.sort_by(|a, b| (a.first_seen, &a.orig, &a.resp).cmp(&(b.first_seen, &b.orig, &b.resp)));
        out
    }
}

fn summarize(k: &FlowKey, e: &FlowEntry) -> FlowSummary {
    let (orig, resp) = e.endpoints(k);
    let transport = transport_of(k.proto);
    let app_protocol = e
        .pdus
        .as_ref()
        .map(|p| p.protocol())
        .or_else(|| ports::well_known(transport, resp.port))
        .or_else(|| ports::well_known(transport, orig.port))
        .map(str::to_owned);
    let state = if k.proto == 6 {
        tcp::conn_state(e.orig_flags, e.resp_flags)
    } else {
        tcp::datagram_state(e.resp_packets)
    };
    FlowSummary {
        vlan: k.vlan,
        transport,
        ip_proto: k.proto,
        orig,
        resp,
        orig_packets: e.orig_packets,
        orig_bytes: e.orig_bytes,
        resp_packets: e.resp_packets,
        resp_bytes: e.resp_bytes,
        first_seen: e.first_seen,
        last_seen: e.last_seen,
        app_protocol,
        history: (!e.history.is_empty()).then(|| e.history.as_str().to_owned()),
        orig_payload_bytes: e.orig_payload,
        resp_payload_bytes: e.resp_payload,
        state: Some(state.to_owned()),
    }
}
