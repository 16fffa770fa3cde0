//! Flows rolled up per hour: every flow summary adds to the row of its hour (by its first packet)
//! and its conversation (VLAN, transport, originator IP, responder IP and port, application
//! protocol), so that who talks to whom, on what and how much stays queryable after the raw
//! observations are gone. A batch's flows are summed here first and written as one set of rows,
//! in key order (so concurrent writers lock rows in the same order).

use serde::Serialize;
use shoko_proto::{FlowSummary, Timestamp};
use std::collections::BTreeMap;

/// Nanoseconds in an hour.
pub const HOUR_NS: i64 = 3_600_000_000_000;

/// The conversation and hour a flow adds to.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlowKey {
    /// Start of the hour (ns).
    pub hour: i64,
    /// VLAN (-1 untagged).
    pub vlan: i32,
    /// `tcp`, `udp` ...
    pub transport: &'static str,
    /// Originator.
    pub orig_ip: String,
    /// Responder.
    pub resp_ip: String,
    /// Responder port.
    pub resp_port: u16,
    /// Application protocol ("" unknown).
    pub app_protocol: String,
}

/// What flows of one conversation in one hour add up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowTotals {
    /// Flows.
    pub flows: i64,
    /// Packets both ways.
    pub packets: i64,
    /// Bytes both ways.
    pub bytes: i64,
    /// First packet.
    pub first_seen: i64,
    /// Last packet.
    pub last_seen: i64,
}

impl FlowTotals {
    /// Adds another's totals (widening the interval).
    pub fn add(&mut self, o: &FlowTotals) {
        if self.flows == 0 {
            *self = *o;
            return;
        }
        self.flows += o.flows;
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.first_seen = self.first_seen.min(o.first_seen);
        self.last_seen = self.last_seen.max(o.last_seen);
    }
}

/// Sums flow summaries per hour and conversation.
#[derive(Debug, Default)]
pub struct FlowRollup(BTreeMap<FlowKey, FlowTotals>);

fn saturating(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl FlowRollup {
    /// Adds one flow.
    pub fn add(&mut self, f: &FlowSummary) {
        let first = f.first_seen.0;
        let key = FlowKey {
            hour: first.div_euclid(HOUR_NS) * HOUR_NS,
            vlan: f.vlan.map_or(-1, i32::from),
            transport: f.transport.as_str(),
            orig_ip: f.orig.ip.to_string(),
            resp_ip: f.resp.ip.to_string(),
            resp_port: f.resp.port,
            app_protocol: f.app_protocol.clone().unwrap_or_default(),
        };
        let totals = FlowTotals {
            flows: 1,
            packets: saturating(f.orig_packets.saturating_add(f.resp_packets)),
            bytes: saturating(f.orig_bytes.saturating_add(f.resp_bytes)),
            first_seen: first,
            last_seen: f.last_seen.0.max(first),
        };
        self.0.entry(key).or_default().add(&totals);
    }

    /// The rows, in key order.
    pub fn rows(&self) -> impl Iterator<Item = (&FlowKey, &FlowTotals)> {
        self.0.iter()
    }

    /// True without flows.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// An asset's conversation with one peer, over all hours: what the asset page lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversationView {
    /// `out` (the asset originated) or `in`.
    pub direction: &'static str,
    /// The asset's address in it.
    pub ip: String,
    /// The other side.
    pub peer: String,
    /// VLAN, when tagged.
    pub vlan: Option<u16>,
    /// Transport.
    pub transport: &'static str,
    /// Responder port.
    pub port: u16,
    /// Application protocol, when known.
    pub app_protocol: Option<String>,
    /// Flows.
    pub flows: i64,
    /// Packets both ways.
    pub packets: i64,
    /// Bytes both ways.
    pub bytes: i64,
    /// First packet.
    pub first_seen: Timestamp,
    /// Last packet.
    pub last_seen: Timestamp,
}

/// Sums the hourly rows of conversations involving `ips` into one row per conversation, the
/// busiest first.
pub fn conversations(rows: &[(FlowKey, FlowTotals)], ips: &[String]) -> Vec<ConversationView> {
    type Conversation<'a> = (&'static str, &'a str, &'a str, i32, &'static str, u16, &'a str);
    let mut by: BTreeMap<Conversation<'_>, FlowTotals> = BTreeMap::new();
    for (k, totals) in rows {
        for (direction, own, peer) in [("out", &k.orig_ip, &k.resp_ip), ("in", &k.resp_ip, &k.orig_ip)] {
            if ips.contains(own) {
                let key = (
                    direction,
                    own.as_str(),
                    peer.as_str(),
                    k.vlan,
                    k.transport,
                    k.resp_port,
                    k.app_protocol.as_str(),
                );
                by.entry(key).or_default().add(totals);
            }
        }
    }
    let mut out: Vec<ConversationView> = by
        .into_iter()
        .map(
            |((direction, ip, peer, vlan, transport, port, app), t)| ConversationView {
                direction,
                ip: ip.to_string(),
                peer: peer.to_string(),
                vlan: u16::try_from(vlan).ok(),
                transport,
                port,
                app_protocol: (!app.is_empty()).then(|| app.to_string()),
                flows: t.flows,
                packets: t.packets,
                bytes: t.bytes,
                first_seen: Timestamp(t.first_seen),
                last_seen: Timestamp(t.last_seen),
            },
        )
        .collect();
    out.sort_by(|a, b| {
        b.bytes
            .cmp(&a.bytes)
            .then_with(|| (&a.peer, a.port).cmp(&(&b.peer, b.port)))
    });
    out
}
