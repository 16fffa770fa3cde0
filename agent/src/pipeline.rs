//! The sensor pipeline: capture -> decode -> inventory, dissectors and flow table -> observations.

use crate::capture::Packet;
use crate::capture::file::{CaptureFile, CaptureFileError, FileReadSummary};
use crate::decode::defrag::{DefragLimits, DefragStats, Defragmenter, FragKey};
use crate::decode::{self, DecodeError, Decoded, Ip, Net};
use crate::dissect;
use crate::findings::{EventRecord, FindingDrops, FindingLimits, Findings, FrameRef, Seen};
use crate::flow::{FlowLimits, FlowStats, FlowTable};
use crate::inventory::{AssetRecord, Inventory, InventoryDrops, InventoryLimits, roles};
use serde::Serialize;
use shoko_proto::{
    AssetRef, AssetSighting, Evidence, FlowSummary, IdentityClaim, Observation, ObservationBody, ParserRef,
    Provenance, Service, SoftwareItem, Source, Timestamp,
};
use std::collections::BTreeMap;
use std::path::Path;

/// Version of the sensor's own parsers, recorded in every observation's provenance.
pub const SENSOR_PARSER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Bounds of the sensor's tables.
#[derive(Debug, Clone, Copy, Default)]
pub struct SensorLimits {
    /// Inventory bounds.
    pub inventory: InventoryLimits,
    /// Flow table bounds and timeouts.
    pub flows: FlowLimits,
    /// Findings bounds.
    pub findings: FindingLimits,
    /// IP reassembly bounds.
    pub defrag: DefragLimits,
}

/// Counters of one sensor run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SensorStats {
    /// Frames read.
    pub packets: u64,
    /// Bytes captured.
    pub bytes: u64,
    /// Frames that failed to decode.
    pub decode_errors: u64,
    /// Frames of unsupported link types, by link type.
    pub unsupported_link_types: BTreeMap<u32, u64>,
    /// Flow table counters.
    pub flows: FlowStats,
    /// IP reassembly counters.
    pub defrag: DefragStats,
    /// Entries the inventory bounds refused.
    pub inventory_dropped: InventoryDrops,
    /// Findings the bounds refused.
    pub findings_dropped: FindingDrops,
    /// Capture time of the first frame.
    pub first_packet: Option<Timestamp>,
    /// Capture time of the last frame.
    pub last_packet: Option<Timestamp>,
}

/// Entries held in each bounded table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSizes {
    /// Open flows.
    pub flows: usize,
    /// Bytes reserved by stream reassembly.
    pub stream_bytes: usize,
    /// MAC addresses.
    pub macs: usize,
    /// IP addresses.
    pub ips: usize,
    /// Services.
    pub services: usize,
}

/// The sensor: feed it packets, then take its findings.
pub struct Sensor {
    inventory: Inventory,
    flows: FlowTable,
    findings: Findings,
    defrag: Defragmenter,
    stats: SensorStats,
}

/// What a sensor run found.
#[derive(Debug, Clone, Serialize)]
pub struct SensorOutput {
    /// Discovered assets.
    pub assets: Vec<AssetRecord>,
    /// Flow summaries.
    pub flows: Vec<FlowSummary>,
    /// Protocol events.
    pub events: Vec<EventRecord>,
    /// Counters.
    pub stats: SensorStats,
}

impl Sensor {
    /// A sensor with the given bounds.
    pub fn new(limits: SensorLimits) -> Self {
        Sensor {
            inventory: Inventory::new(limits.inventory),
            flows: FlowTable::new(limits.flows),
            findings: Findings::new(limits.findings),
            defrag: Defragmenter::new(limits.defrag),
            stats: SensorStats::default(),
        }
    }

    /// Processes one frame.
    pub fn process(&mut self, pkt: &Packet<'_>) {
        let s = &mut self.stats;
        s.packets += 1;
        s.bytes += pkt.data.len() as u64;
        s.first_packet = Some(s.first_packet.map_or(pkt.ts, |t| t.min(pkt.ts)));
        s.last_packet = Some(s.last_packet.map_or(pkt.ts, |t| t.max(pkt.ts)));
        match decode::decode(pkt) {
            Ok(d) => {
                let f = FrameRef {
                    ts: pkt.ts,
                    linktype: pkt.linktype,
                    orig_len: pkt.orig_len,
                    raw: pkt.data,
                };
                self.inventory.observe(&d, &f);
                match &d.net {
                    Net::Ip(ip) if ip.frag.is_some() => self.reassemble(&d, ip, &f),
                    _ => {
                        dissect::frame(&d, &f, &mut self.findings);
                        self.flows.observe(&d, &f, &mut self.findings);
                    }
                }
            }
            Err(DecodeError::UnsupportedLinkType(lt)) => {
                let count = s.unsupported_link_types.entry(lt).or_default();
                if *count == 0 {
                    tracing::warn!(
                        linktype = lt,
                        "frames of an unsupported link type are counted and skipped"
                    );
                }
                *count += 1;
            }
            Err(DecodeError::Malformed(_)) => s.decode_errors += 1,
        }
    }

    /// Adds a fragment; a completed datagram goes on to the dissectors and the flow table as one
    /// packet (its evidence is the last fragment's frame).
    fn reassemble(&mut self, d: &Decoded<'_>, ip: &Ip<'_>, f: &FrameRef<'_>) {
        let Some(frag) = ip.frag else { return };
        let key = FragKey {
            vlan: d.vlan,
            src: ip.src,
            dst: ip.dst,
            proto: ip.proto,
            id: frag.id,
        };
        let Some(payload) = self.defrag.add(key, frag.offset, frag.more, ip.payload, f.ts) else {
            return;
        };
        let header = if ip.src.is_ipv4() { 20 } else { 40 };
        let whole = Decoded {
            src_mac: d.src_mac,
            dst_mac: d.dst_mac,
            vlan: d.vlan,
            net: Net::Ip(Ip {
                src: ip.src,
                dst: ip.dst,
                proto: ip.proto,
                len: (header + payload.len()) as u32,
                frag: None,
                payload: &payload,
                transport: decode::transport_of_payload(ip.proto, &payload),
            }),
        };
        dissect::frame(&whole, f, &mut self.findings);
        self.flows.observe(&whole, f, &mut self.findings);
    }

    /// Reads a whole capture file: what it gave, and why reading stopped early if it did.
    pub fn process_file(&mut self, path: &Path) -> Result<FileReadSummary, CaptureFileError> {
        CaptureFile::open(path)?.read_all(&mut |p| self.process(&p))
    }

    /// Frames processed so far.
    pub fn packets(&self) -> u64 {
        self.stats.packets
    }

    /// Sizes of the bounded tables now.
    pub fn table_sizes(&self) -> TableSizes {
        let (macs, ips, services) = self.inventory.sizes();
        TableSizes {
            flows: self.flows.len(),
            stream_bytes: self.flows.stream_bytes(),
            macs,
            ips,
            services,
        }
    }

    /// Ends the input: every open flow is finished. Returns the findings.
    pub fn output(&mut self) -> SensorOutput {
        self.flows.flush();
        self.report(Timestamp(i64::MIN))
    }

    /// A report of a running sensor, open flows left open: the flows finished (or reported at
    /// their active timeout) since the last report, the events since then, and the assets that
    /// were seen, or about which something was learnt, at or after `since` (capture time).
    pub fn report(&mut self, since: Timestamp) -> SensorOutput {
        let mut flows = self.flows.drain_finished();
        for f in &mut flows {
            if let Some((found, _)) = self.findings.services.get(&(f.resp.ip, f.transport, f.resp.port)) {
                f.app_protocol = Some(found.protocol.clone());
            }
        }
        let mut assets = self.inventory.assets(&self.findings);
        roles::assign_roles(&mut assets, &flows);
        roles::classify(&mut assets, &flows);
        for a in &mut assets {
            a.identities.retain(|i| i.seen.last_seen >= since);
            a.software.retain(|s| s.seen.last_seen >= since);
        }
        assets.retain(|a| a.last_seen >= since || !a.identities.is_empty() || !a.software.is_empty());
        let mut stats = self.stats.clone();
        stats.flows = self.flows.stats();
        stats.defrag = self.defrag.stats();
        stats.inventory_dropped = self.inventory.drops();
        stats.findings_dropped = self.findings.drops();
        SensorOutput {
            assets,
            flows,
            events: self.findings.take_events(),
            stats,
        }
    }
}

fn evidence(seen: &Seen) -> Evidence {
    Evidence {
        frames: seen.frames.clone(),
        files: vec![],
    }
}

impl SensorOutput {
    /// Turns the findings into observations attributed to `source`.
    pub fn to_observations(&self, source: &Source) -> Vec<Observation> {
        let prov = |parser: &str, at: Timestamp, evidence: Evidence| Provenance {
            source: source.clone(),
            parser: ParserRef::new(parser, SENSOR_PARSER_VERSION),
            observed_at: at,
            evidence,
        };
        let mut out = Vec::with_capacity(self.assets.len() * 3 + self.flows.len() + self.events.len());
        for a in &self.assets {
            let asset = AssetRef {
                mac: a.mac,
                ip: a.ips.first().copied(),
                vlan: a.vlans.first().copied(),
                host_id: None,
            };
            out.push(Observation {
                provenance: prov("inventory", a.last_seen, Evidence::default()),
                body: ObservationBody::AssetSighting(AssetSighting {
                    mac: a.mac,
                    ips: a.ips.clone(),
                    vlans: a.vlans.clone(),
                    router: a.router,
                    first_seen: a.first_seen,
                    last_seen: a.last_seen,
                    packets: a.packets,
                    bytes: a.bytes,
                    class: a.class.map(str::to_owned),
                    class_reasons: a.class_reasons.clone(),
                    protocols: a
                        .protocols
                        .iter()
                        .map(|(p, roles)| (p.clone(), roles.iter().map(|r| (*r).to_owned()).collect()))
                        .collect(),
                }),
            });
            for s in &a.services {
                let frames = Evidence {
                    frames: vec![s.evidence.clone()],
                    files: vec![],
                };
                out.push(Observation {
                    provenance: prov("service", s.first_seen, frames),
                    body: ObservationBody::Service(Service {
                        asset: AssetRef {
                            ip: Some(s.ip),
                            ..asset.clone()
                        },
                        transport: s.transport,
                        port: s.port,
                        protocol: s.protocol.clone(),
                        banner: s.banner.clone(),
                        detected_by: Some(s.detected_by.to_owned()),
                        bound: None,
                        process: None,
                    }),
                });
            }
            for i in &a.identities {
                out.push(Observation {
                    provenance: prov(&i.identity.protocol, i.seen.first_seen, evidence(&i.seen)),
                    body: ObservationBody::IdentityClaim(IdentityClaim {
                        asset: asset.clone(),
                        identity: i.identity.clone(),
                    }),
                });
            }
            for s in &a.software {
                out.push(Observation {
                    provenance: prov(s.software.source, s.seen.first_seen, evidence(&s.seen)),
                    body: ObservationBody::SoftwareItem(SoftwareItem {
                        asset: asset.clone(),
                        name: s.software.name.clone(),
                        version: s.software.version.clone(),
                        source: s.software.source.to_owned(),
                        package_manager: None,
                        purl: None,
                        update: None,
                    }),
                });
            }
        }
        for f in &self.flows {
            out.push(Observation {
                provenance: prov("flow", f.last_seen, Evidence::default()),
                body: ObservationBody::FlowSummary(f.clone()),
            });
        }
        for e in &self.events {
            out.push(Observation {
                provenance: prov(&e.event.protocol, e.seen.first_seen, evidence(&e.seen)),
                body: ObservationBody::ProtocolEvent(e.event.clone()),
            });
        }
        out
    }
}
