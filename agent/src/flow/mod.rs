//! The flow table: bidirectional conversations keyed by VLAN and 5-tuple, bounded in entries.
//! The originator is the side that sent the SYN, or else the first packet seen.

use crate::decode::{Decoded, Net, Transport as L4, tcp_flags};
use crate::inventory::ports;
use shoko_proto::{Endpoint, FlowSummary, MacAddr, Timestamp, Transport};
use std::collections::HashMap;
use std::net::IpAddr;

/// Bidirectional flow key: the two endpoints in canonical (sorted) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FlowKey {
    vlan: Option<u16>,
    proto: u8,
    lo: (IpAddr, u16),
    hi: (IpAddr, u16),
}

#[derive(Debug, Clone)]
struct FlowEntry {
    orig: (IpAddr, u16),
    orig_mac: Option<MacAddr>,
    resp_mac: Option<MacAddr>,
    orig_packets: u64,
    orig_bytes: u64,
    resp_packets: u64,
    resp_bytes: u64,
    first_seen: Timestamp,
    last_seen: Timestamp,
}

/// Bounded flow table.
#[derive(Debug)]
pub struct FlowTable {
    max_flows: usize,
    flows: HashMap<FlowKey, FlowEntry>,
    dropped: u64,
}

impl FlowTable {
    /// A table holding at most `max_flows` flows; packets of further flows are counted as dropped.
    pub fn new(max_flows: usize) -> Self {
        FlowTable {
            max_flows,
            flows: HashMap::new(),
            dropped: 0,
        }
    }

    /// Packets not tracked because the table was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Number of flows held.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// True when no flow is held.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Accounts one decoded frame.
    pub fn observe(&mut self, d: &Decoded<'_>, ts: Timestamp) {
        let Net::Ip(ip) = &d.net else { return };
        let (sport, dport, syn_only) = match ip.transport {
            L4::Tcp {
                sport, dport, flags, ..
            } => (
                sport,
                dport,
                flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN,
            ),
            L4::Udp { sport, dport, .. } => (sport, dport, false),
            L4::Other => (0, 0, false),
        };
        let a = (ip.src, sport);
        let b = (ip.dst, dport);
        let key = FlowKey {
            vlan: d.vlan,
            proto: ip.proto,
            lo: a.min(b),
            hi: a.max(b),
        };
        let bytes = u64::from(ip.len);
        let full = self.flows.len() >= self.max_flows;
        let entry = match self.flows.get_mut(&key) {
            Some(e) => e,
            None if full => {
                self.dropped += 1;
                return;
            }
            None => self.flows.entry(key).or_insert(FlowEntry {
                orig: a,
                orig_mac: d.src_mac,
                resp_mac: d.dst_mac,
                orig_packets: 0,
                orig_bytes: 0,
                resp_packets: 0,
                resp_bytes: 0,
                first_seen: ts,
                last_seen: ts,
            }),
        };
        if syn_only && entry.orig != a {
            // The first packet seen was the responder's; the SYN names the real originator.
            std::mem::swap(&mut entry.orig_packets, &mut entry.resp_packets);
            std::mem::swap(&mut entry.orig_bytes, &mut entry.resp_bytes);
            std::mem::swap(&mut entry.orig_mac, &mut entry.resp_mac);
            entry.orig = a;
        }
        entry.last_seen = entry.last_seen.max(ts);
        if entry.orig == a {
            entry.orig_packets += 1;
            entry.orig_bytes += bytes;
        } else {
            entry.resp_packets += 1;
            entry.resp_bytes += bytes;
        }
    }

    /// All flows as summaries, oldest first.
    pub fn summaries(&self) -> Vec<FlowSummary> {
        let mut out: Vec<FlowSummary> = self
            .flows
            .iter()
            .map(|(k, e)| {
                let resp = if e.orig == k.lo { k.hi } else { k.lo };
                let transport = match k.proto {
                    6 => Transport::Tcp,
                    17 => Transport::Udp,
                    _ => Transport::Other,
                };
                let app_protocol = ports::well_known(transport, resp.1)
                    .or_else(|| ports::well_known(transport, e.orig.1))
                    .map(str::to_owned);
                FlowSummary {
                    vlan: k.vlan,
                    transport,
                    ip_proto: k.proto,
                    orig: Endpoint {
                        ip: e.orig.0,
                        port: e.orig.1,
                        mac: e.orig_mac,
                    },
                    resp: Endpoint {
                        ip: resp.0,
                        port: resp.1,
                        mac: e.resp_mac,
                    },
                    orig_packets: e.orig_packets,
                    orig_bytes: e.orig_bytes,
                    resp_packets: e.resp_packets,
                    resp_bytes: e.resp_bytes,
                    first_seen: e.first_seen,
                    last_seen: e.last_seen,
                    app_protocol,
                    history: None,
                }
            })
            .collect();
        out.sort_by(|a, b| (a.first_seen, &a.orig, &a.resp).cmp(&(b.first_seen, &b.orig, &b.resp)));
        out
    }
}
