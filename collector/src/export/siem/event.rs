//! The neutral form of what is forwarded: a change record or a protocol event, with a stable id
//! per stream, a severity 0-10 (as CEF counts) and its fields.

use crate::store::{ChangeView, StoredObservation};
use shoko_proto::{AssetRef, ObservationBody, Severity, Timestamp};
use std::collections::BTreeMap;

/// One forwarded item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiemEvent {
    /// `change` or `event`.
    pub stream: &'static str,
    /// Its id in the stream (change id, observation id).
    pub id: i64,
    /// When it happened (observed).
    pub at: Timestamp,
    /// What (`firmware_change`, `modbus_write`, `s7comm_plc_stop` ...).
    pub kind: String,
    /// 0 (information) to 10 (very high).
    pub severity: u8,
    /// The asset it is about, when known.
    pub asset_id: Option<i64>,
    /// One line for people.
    pub summary: String,
    /// Everything else, by name.
    pub fields: BTreeMap<String, String>,
}

/// The severity of a change kind.
fn change_severity(kind: &str) -> u8 {
    match kind {
        "firmware_change" | "protocol_event" => 8,
        "new_asset" | "attribute_change" | "assets_merged" => 5,
        "new_service" | "asset_not_seen" => 4,
        _ => 3,
    }
}

/// An event severity on the 0-10 scale.
pub fn event_severity(s: Severity) -> u8 {
    match s {
        Severity::Info => 2,
        Severity::Low => 4,
        Severity::Medium => 6,
        Severity::High => 9,
    }
}

/// An asset reference's parts as fields (`actor_ip`, `actor_mac` ...).
fn add_ref(fields: &mut BTreeMap<String, String>, role: &str, r: Option<&AssetRef>) {
    let Some(r) = r else { return };
    if let Some(ip) = r.ip {
        fields.insert(format!("{role}_ip"), ip.to_string());
    }
    if let Some(mac) = r.mac {
        fields.insert(format!("{role}_mac"), mac.to_string());
    }
    if let Some(host) = &r.host_id {
        fields.insert(format!("{role}_host_id"), host.clone());
    }
}

impl SiemEvent {
    /// A change record.
    pub fn from_change(c: &ChangeView) -> Self {
        let mut fields = BTreeMap::from([
            ("subject".to_string(), c.subject.clone()),
            ("status".to_string(), c.status.clone()),
            ("observation_id".to_string(), c.observation_id.to_string()),
        ]);
        if let Some(v) = &c.old_value {
            fields.insert("old_value".into(), v.clone());
        }
        if let Some(v) = &c.new_value {
            fields.insert("new_value".into(), v.clone());
        }
        let change = match (&c.old_value, &c.new_value) {
            (Some(old), Some(new)) => format!(": {old} -> {new}"),
            (None, Some(new)) => format!(": {new}"),
            _ => String::new(),
        };
        SiemEvent {
            stream: "change",
            id: c.id,
            at: c.observed_at,
            kind: c.kind.clone(),
            severity: change_severity(&c.kind),
            asset_id: Some(c.asset_id),
            summary: format!("{} of asset {} ({}){change}", c.kind, c.asset_id, c.subject),
            fields,
        }
    }

    /// A protocol event observation (none for another kind).
    pub fn from_event(o: &StoredObservation) -> Option<Self> {
        let ObservationBody::ProtocolEvent(e) = &o.observation.body else {
            return None;
        };
        let mut fields = BTreeMap::from([
            ("protocol".to_string(), e.protocol.clone()),
            ("event".to_string(), e.kind.clone()),
        ]);
        add_ref(&mut fields, "actor", e.actor.as_ref());
        add_ref(&mut fields, "target", e.target.as_ref());
        for (k, v) in &e.details {
            fields.insert(format!("detail_{k}"), v.clone());
        }
        let who = |r: Option<&AssetRef>| {
            r.and_then(|r| r.ip.map(|ip| ip.to_string()).or(r.mac.map(|m| m.to_string())))
                .unwrap_or_else(|| "?".into())
        };
        Some(SiemEvent {
            stream: "event",
            id: o.id,
            at: o.observation.provenance.observed_at,
            kind: format!("{}_{}", e.protocol, e.kind),
            severity: event_severity(e.severity),
            asset_id: o.asset_id,
            summary: format!(
                "{} {} from {} to {}",
                e.protocol,
                e.kind,
                who(e.actor.as_ref()),
                who(e.target.as_ref())
            ),
            fields,
        })
    }
}
