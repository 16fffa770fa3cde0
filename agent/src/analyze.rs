//! The offline inventory document written by `shoko-agent analyze`:
//! `{"assets": [...], "flows": [...], "events": [...], "stats": {...}}`.
//! Its schema is described in `deploy/docs/inventory-schema.md`.

use crate::findings::EventRecord;
use crate::inventory::AssetRecord;
use crate::pipeline::{SensorOutput, SensorStats};
use serde::Serialize;
use shoko_proto::FlowSummary;

/// Version of the document's schema.
pub const INVENTORY_SCHEMA_VERSION: u32 = 1;

/// The whole document.
#[derive(Debug, Serialize)]
pub struct InventoryDocument {
    /// Schema version.
    pub schema_version: u32,
    /// Discovered assets.
    pub assets: Vec<AssetRecord>,
    /// Flows.
    pub flows: Vec<FlowSummary>,
    /// Protocol events.
    pub events: Vec<EventRecord>,
    /// Counters.
    pub stats: StatsDoc,
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
    /// Kernel counters of a live capture (absent for files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<KernelStats>,
}

/// Kernel counters of a live capture ring.
#[derive(Debug, Clone, Serialize)]
pub struct KernelStats {
    /// The interface.
    pub interface: String,
    /// Frames the kernel saw for the socket (including drops).
    pub packets: u64,
    /// Frames dropped because the ring was full.
    pub drops: u64,
    /// Times the ring froze for lack of free blocks.
    pub freezes: u64,
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
    /// Frames left out for want of a capture time (pcapng Simple Packet Blocks before any
    /// timestamped packet).
    #[serde(skip_serializing_if = "is_zero")]
    pub untimed: u64,
    /// Frames left out because they name an interface their section never described.
    #[serde(skip_serializing_if = "is_zero")]
    pub undescribed_interface: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl InventoryDocument {
    /// Builds the document from a sensor's output.
    pub fn new(out: SensorOutput, files: Vec<FileStats>, elapsed_ms: u64) -> Self {
        InventoryDocument {
            schema_version: INVENTORY_SCHEMA_VERSION,
            assets: out.assets,
            flows: out.flows,
            events: out.events,
            stats: StatsDoc {
                files,
                sensor: out.stats,
                elapsed_ms,
                kernel: None,
            },
        }
    }
}
