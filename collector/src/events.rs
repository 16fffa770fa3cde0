//! Protocol events as `GET /api/v1/events` and `shoko-collector events` list them: the writes,
//! commands, mode changes and program transfers the sensors saw, newest first, each with the
//! observation that carries it (its evidence) and the asset it was fused into.

use crate::filter::EventFilter;
use crate::store::{Store, StoreError};
use serde::Serialize;
use shoko_proto::{AssetRef, ObservationBody, Severity, Timestamp};
use std::collections::BTreeMap;

/// One protocol event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventView {
    /// The observation carrying it.
    pub observation_id: i64,
    /// The asset it was fused into (the device acted upon).
    pub asset_id: Option<i64>,
    /// When the sensor saw it.
    pub observed_at: Timestamp,
    /// Protocol (`modbus`, `s7comm` ...).
    pub protocol: String,
    /// Event kind (`write`, `plc_stop` ...).
    pub kind: String,
    /// Severity.
    pub severity: Severity,
    /// Who did it.
    pub actor: Option<AssetRef>,
    /// To whom.
    pub target: Option<AssetRef>,
    /// Protocol-specific details.
    pub details: BTreeMap<String, String>,
}

/// The stored protocol events that `filter` keeps, newest first, at most `filter.limit` (1,000
/// when not given).
pub fn list(store: &dyn Store, filter: &EventFilter) -> Result<Vec<EventView>, StoreError> {
    let stored = store.observations_of_kind("protocol_event", Timestamp(0), Timestamp::now())?;
    Ok(stored
        .into_iter()
        .rev()
        .filter_map(|o| match o.observation.body {
            ObservationBody::ProtocolEvent(e) => Some(EventView {
                observation_id: o.id,
                asset_id: o.asset_id,
                observed_at: o.observation.provenance.observed_at,
                protocol: e.protocol,
                kind: e.kind,
                severity: e.severity,
                actor: e.actor,
                target: e.target,
                details: e.details,
            }),
            _ => None,
        })
        .filter(|e| filter.matches(e))
        .take(filter.limit.unwrap_or(1000))
        .collect())
}
