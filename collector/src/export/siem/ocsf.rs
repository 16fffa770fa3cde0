//! OCSF (Open Cybersecurity Schema Framework 1.1) JSON lines appended to a file and synced
//! before a round counts as delivered. Changes of an asset's inventory (new, absent, merged) are
//! Device Inventory Info (5001); other changes Device Config State Change (5019); protocol events
//! Network Activity (4001) with the protocol's details kept under `unmapped`.

use super::event::SiemEvent;
use super::{SiemError, Sink};
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;

/// The OCSF schema version written.
pub const OCSF_VERSION: &str = "1.1.0";

/// (category_uid, class_uid, activity_id) of an event.
fn class_of(e: &SiemEvent) -> (u32, u32, u32) {
    match (e.stream, e.kind.as_str()) {
        ("change", "new_asset" | "asset_not_seen" | "assets_merged") => (5, 5001, 2),
        ("change", _) => (5, 5019, 99),
        _ => (4, 4001, 99),
    }
}

/// An OCSF severity_id (1 informational .. 5 critical) of a 0-10 severity.
fn severity_id(severity: u8) -> u32 {
    match severity {
        9.. => 5,
        7..=8 => 4,
        5..=6 => 3,
        3..=4 => 2,
        _ => 1,
    }
}

/// One event as an OCSF object.
pub fn record(e: &SiemEvent) -> Value {
    let (category_uid, class_uid, activity_id) = class_of(e);
    let endpoint = |role: &str| {
        let ip = e.fields.get(&format!("{role}_ip"));
        let mac = e.fields.get(&format!("{role}_mac"));
        (ip.is_some() || mac.is_some()).then(|| json!({ "ip": ip, "mac": mac }))
    };
    let mut r = json!({
        "category_uid": category_uid,
        "class_uid": class_uid,
        "activity_id": activity_id,
        "type_uid": class_uid * 100 + activity_id,
        "severity_id": severity_id(e.severity),
        "time": e.at.0 / 1_000_000,
        "message": e.summary,
        "metadata": {
            "version": OCSF_VERSION,
            "uid": format!("{}:{}", e.stream, e.id),
            "product": { "name": "shoko-collector", "vendor_name": "shoko", "version": env!("CARGO_PKG_VERSION") },
        },
        "unmapped": { "kind": e.kind, "fields": e.fields },
    });
    if let Some(asset) = e.asset_id {
        r["device"] = json!({ "uid": asset.to_string(), "type_id": 0 });
    }
    if let Some(src) = endpoint("actor") {
        r["src_endpoint"] = src;
    }
    if let Some(dst) = endpoint("target") {
        r["dst_endpoint"] = dst;
    }
    r
}

/// An OCSF JSON lines file.
pub struct OcsfFile {
    path: PathBuf,
}

impl OcsfFile {
    /// Appends to `path` (created when missing).
    pub fn new(path: PathBuf) -> Self {
        OcsfFile { path }
    }
}

impl Sink for OcsfFile {
    fn send(&mut self, events: &[SiemEvent]) -> Result<(), SiemError> {
        let io = |e: std::io::Error| SiemError::Io(format!("{}: {e}", self.path.display()));
        let mut out = Vec::new();
        for e in events {
            out.extend(record(e).to_string().into_bytes());
            out.push(b'\n');
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io)?;
        file.write_all(&out).map_err(io)?;
        file.sync_data().map_err(io)
    }
}
