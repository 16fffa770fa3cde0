//! The sensor pipeline: capture -> decode -> flow table and inventory -> observations.

use crate::capture::Packet;
use crate::capture::file::{CaptureFile, CaptureFileError};
use crate::decode::{self, DecodeError};
use crate::flow::FlowTable;
use crate::inventory::{AssetRecord, FrameContext, Inventory, InventoryDrops, InventoryLimits};
use serde::Serialize;
use shoko_proto::{
    AssetRef, AssetSighting, Evidence, FlowSummary, Observation, ObservationBody, ParserRef, Provenance,
    Service, Source, Timestamp,
};
use std::collections::BTreeMap;
use std::path::Path;

/// Version of the sensor's own parsers, recorded in every observation's provenance.
pub const SENSOR_PARSER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Bounds of the sensor's tables.
#[derive(Debug, Clone, Copy)]
pub struct SensorLimits {
    /// Inventory bounds.
    pub inventory: InventoryLimits,
    /// Most flows tracked.
    pub max_flows: usize,
}

impl Default for SensorLimits {
    fn default() -> Self {
        SensorLimits {
            inventory: InventoryLimits::default(),
            max_flows: 1_000_000,
        }
    }
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
    /// Packets of flows not tracked because the flow table was full.
    pub flows_dropped: u64,
    /// Entries the inventory bounds refused.
    pub inventory_dropped: InventoryDrops,
    /// Capture time of the first frame.
    pub first_packet: Option<Timestamp>,
    /// Capture time of the last frame.
    pub last_packet: Option<Timestamp>,
}

/// The sensor: feed it packets, then take its findings.
pub struct Sensor {
    inventory: Inventory,
    flows: FlowTable,
    stats: SensorStats,
}

/// What a sensor run found.
#[derive(Debug, Clone, Serialize)]
pub struct SensorOutput {
    /// Discovered assets.
    pub assets: Vec<AssetRecord>,
    /// Flow summaries.
    pub flows: Vec<FlowSummary>,
    /// Counters.
    pub stats: SensorStats,
}

impl Sensor {
    /// A sensor with the given bounds.
    pub fn new(limits: SensorLimits) -> Self {
        Sensor {
            inventory: Inventory::new(limits.inventory),
            flows: FlowTable::new(limits.max_flows),
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
                let cx = FrameContext {
                    ts: pkt.ts,
                    linktype: pkt.linktype,
                    orig_len: pkt.orig_len,
                    raw: pkt.data,
                };
                self.inventory.observe(&d, &cx);
                self.flows.observe(&d, pkt.ts);
            }
            Err(DecodeError::UnsupportedLinkType(lt)) => {
                *s.unsupported_link_types.entry(lt).or_default() += 1;
            }
            Err(DecodeError::Malformed(_)) => s.decode_errors += 1,
        }
    }

    /// Reads a whole capture file. Returns the reason reading stopped early, if it did.
    pub fn process_file(&mut self, path: &Path) -> Result<Option<String>, CaptureFileError> {
        let file = CaptureFile::open(path)?;
        let summary = file.read_all(&mut |p| self.process(&p))?;
        Ok(summary.damaged)
    }

    /// Frames processed so far.
    pub fn packets(&self) -> u64 {
        self.stats.packets
    }

    /// The findings so far.
    pub fn output(&self) -> SensorOutput {
        let mut stats = self.stats.clone();
        stats.flows_dropped = self.flows.dropped();
        stats.inventory_dropped = self.inventory.drops();
        SensorOutput {
            assets: self.inventory.assets(),
            flows: self.flows.summaries(),
            stats,
        }
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
        let mut out = Vec::with_capacity(self.assets.len() * 2 + self.flows.len());
        for a in &self.assets {
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
                }),
            });
            for s in &a.services {
                out.push(Observation {
                    provenance: prov(
                        "service",
                        s.first_seen,
                        Evidence {
                            frames: vec![s.evidence.clone()],
                            files: vec![],
                        },
                    ),
                    body: ObservationBody::Service(Service {
                        asset: AssetRef {
                            mac: a.mac,
                            ip: Some(s.ip),
                            vlan: a.vlans.first().copied(),
                            host_id: None,
                        },
                        transport: s.transport,
                        port: s.port,
                        protocol: s.protocol.clone(),
                        banner: None,
                        detected_by: Some(s.detected_by.to_owned()),
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
        out
    }
}
