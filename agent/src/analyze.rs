//! The offline inventory document written by `shoko-agent analyze`:
//! `{"assets": [...], "flows": [...], "events": [...], "stats": {...}}`.
//! Its schema is described in `deploy/docs/inventory-schema.md`.

use crate::pipeline::{SensorOutput, SensorStats};
use serde::Serialize;
use shoko_proto::{FlowSummary, MacAddr, ProtocolEvent, Timestamp, Transport};
use std::net::IpAddr;

/// Version of the document's schema.
pub const INVENTORY_SCHEMA_VERSION: u32 = 1;

/// The whole document.
#[derive(Debug, Serialize)]
pub struct InventoryDocument {
    /// Schema version.
    pub schema_version: u32,
    /// Discovered assets.
    pub assets: Vec<AssetDoc>,
    /// Flows.
    pub flows: Vec<FlowSummary>,
    /// Protocol events.
    pub events: Vec<ProtocolEvent>,
    /// Counters.
    pub stats: StatsDoc,
}

/// One asset.
#[derive(Debug, Serialize)]
pub struct AssetDoc {
    /// Its MACs (lowercase colon hex); empty for routed assets.
    pub macs: Vec<MacAddr>,
    /// Its IPs.
    pub ips: Vec<IpAddr>,
    /// VLANs.
    pub vlans: Vec<u16>,
    /// True for a MAC forwarding traffic of other IPs.
    pub router: bool,
    /// First seen.
    pub first_seen: Timestamp,
    /// Last seen.
    pub last_seen: Timestamp,
    /// Frames sent.
    pub packets: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Services offered.
    pub services: Vec<ServiceDoc>,
}

/// One service of an asset.
#[derive(Debug, Serialize)]
pub struct ServiceDoc {
    /// The IP it is offered on.
    pub ip: IpAddr,
    /// Transport.
    pub transport: Transport,
    /// Port.
    pub port: u16,
    /// Protocol, when known.
    pub protocol: Option<String>,
    /// `port` or `content`.
    pub detected_by: &'static str,
    /// SHA-256 of the frame that showed it.
    pub evidence: String,
}

/// Per-file and overall counters.
#[derive(Debug, Serialize)]
pub struct StatsDoc {
    /// Files read, in order.
    pub files: Vec<FileStats>,
    /// Sensor counters.
    #[serde(flatten)]
    pub sensor: SensorStats,
    /// Wall-clock time of the analysis in milliseconds.
    pub elapsed_ms: u64,
}

/// What reading one file gave.
#[derive(Debug, Clone, Serialize)]
pub struct FileStats {
    /// The file.
    pub path: String,
    /// Frames read from it.
    pub packets: u64,
    /// Why reading stopped early, if it did.
    pub damaged: Option<String>,
}

impl InventoryDocument {
    /// Builds the document from a sensor's output.
    pub fn new(out: SensorOutput, files: Vec<FileStats>, elapsed_ms: u64) -> Self {
        let assets = out
            .assets
            .into_iter()
            .map(|a| AssetDoc {
                macs: a.mac.into_iter().collect(),
                ips: a.ips,
                vlans: a.vlans,
                router: a.router,
                first_seen: a.first_seen,
                last_seen: a.last_seen,
                packets: a.packets,
                bytes: a.bytes,
                services: a
                    .services
                    .into_iter()
                    .map(|(ip, s)| ServiceDoc {
                        ip,
                        transport: s.transport,
                        port: s.port,
                        protocol: s.protocol,
                        detected_by: s.detected_by,
                        evidence: s.evidence.sha256.to_hex(),
                    })
                    .collect(),
            })
            .collect();
        InventoryDocument {
            schema_version: INVENTORY_SCHEMA_VERSION,
            assets,
            flows: out.flows,
            events: Vec::new(),
            stats: StatsDoc {
                files,
                sensor: out.stats,
                elapsed_ms,
            },
        }
    }
}
