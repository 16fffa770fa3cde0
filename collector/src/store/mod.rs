//! Storage: the collector's durable record of batches, observations and fused assets.
//! One trait, one module per engine; SQLite is the embedded default.

pub mod sqlite;

use serde::Serialize;
use shoko_proto::{Envelope, MacAddr, Timestamp, Transport};
use std::net::IpAddr;

/// What storing a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Stored now; `highest` is the agent's highest stored sequence number.
    Stored {
        /// Highest stored sequence number of the agent.
        highest: u64,
    },
    /// Already stored earlier (a re-send); nothing written.
    Duplicate {
        /// Highest stored sequence number of the agent.
        highest: u64,
    },
}

/// Why the store failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Database(String),
    /// An observation could not be encoded for storage.
    #[error("encoding: {0}")]
    Encoding(String),
    /// The record named does not exist.
    #[error("{0}: not found")]
    NotFound(String),
}

/// A fused asset as listed by `assets` and `GET /api/v1/assets`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssetView {
    /// Stable asset id.
    pub id: i64,
    /// Fusion key.
    pub key: String,
    /// MAC addresses (lowercase colon hex).
    pub macs: Vec<MacAddr>,
    /// IP addresses.
    pub ips: Vec<IpAddr>,
    /// VLANs.
    pub vlans: Vec<u16>,
    /// True for a router's MAC.
    pub router: bool,
    /// First seen.
    pub first_seen: Timestamp,
    /// Last seen.
    pub last_seen: Timestamp,
    /// Services offered.
    pub services: Vec<ServiceView>,
}

/// A service of an asset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceView {
    /// IP the service is offered on.
    pub ip: IpAddr,
    /// Transport.
    pub transport: Transport,
    /// Port.
    pub port: u16,
    /// Protocol, when known.
    pub protocol: Option<String>,
    /// How the protocol was recognised.
    pub detected_by: Option<String>,
    /// First seen.
    pub first_seen: Timestamp,
    /// Last seen.
    pub last_seen: Timestamp,
}

/// An agent that has delivered batches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentView {
    /// Agent id.
    pub agent_id: String,
    /// First batch received.
    pub first_seen: Timestamp,
    /// Last batch received.
    pub last_seen: Timestamp,
    /// Highest batch sequence number stored.
    pub highest_seq: u64,
    /// Batches stored.
    pub batches: u64,
}

/// Counts for a summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StoreCounts {
    /// Agents that delivered.
    pub agents: u64,
    /// Batches stored.
    pub batches: u64,
    /// Observations stored.
    pub observations: u64,
    /// Assets.
    pub assets: u64,
}

/// A change record: an attribute of an asset that took a new value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeView {
    /// Change id.
    pub id: i64,
    /// The asset.
    pub asset_id: i64,
    /// What changed (`firmware_change`).
    pub kind: String,
    /// What the attribute belongs to (`Rockwell Automation/Allen-Bradley 1756-ENBT/A 0x0051aec3`).
    pub subject: String,
    /// Value before.
    pub old_value: Option<String>,
    /// Value after.
    pub new_value: Option<String>,
    /// When the new value was observed.
    pub observed_at: Timestamp,
    /// The observation showing the new value.
    pub observation_id: i64,
    /// The observation that showed the old value.
    pub previous_observation_id: Option<i64>,
    /// `open`, or the latest decision: `acknowledged` or `rejected`.
    pub status: String,
    /// The change reference of the latest decision (ticket, work order).
    pub reference: Option<String>,
    /// Who made the latest decision.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<Timestamp>,
}

/// What is decided about a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionKind {
    /// The change was authorised.
    Acknowledged,
    /// The change was not authorised.
    Rejected,
}

impl DecisionKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Acknowledged => "acknowledged",
            DecisionKind::Rejected => "rejected",
        }
    }
}

/// A decision on a change: an attested record of who decided what, when and under which change
/// reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Acknowledged or rejected.
    pub kind: DecisionKind,
    /// Change reference (ticket, work order).
    pub reference: String,
    /// Who decided.
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// Free text.
    pub comment: String,
}

/// A storage engine.
pub trait Store: Send + Sync {
    /// Durably stores batches in one transaction (each once per agent id and sequence number);
    /// one outcome per batch, in order. Nothing is stored when it fails.
    fn ingest_many(
        &self,
        batches: &[Envelope],
        received_at: Timestamp,
    ) -> Result<Vec<IngestOutcome>, StoreError>;
    /// Durably stores one batch.
    fn ingest(&self, batch: &Envelope, received_at: Timestamp) -> Result<IngestOutcome, StoreError> {
        let mut outcomes = self.ingest_many(std::slice::from_ref(batch), received_at)?;
        outcomes
            .pop()
            .ok_or_else(|| StoreError::Database("no outcome for the batch".into()))
    }
    /// Highest sequence number stored for an agent (0 for none).
    fn highest_seq(&self, agent_id: &str) -> Result<u64, StoreError>;
    /// All assets, ordered by id.
    fn assets(&self) -> Result<Vec<AssetView>, StoreError>;
    /// Change records, oldest first, with their latest decision.
    fn changes(&self) -> Result<Vec<ChangeView>, StoreError>;
    /// Records a decision on a change.
    fn decide(&self, change_id: i64, decision: &Decision) -> Result<(), StoreError>;
    /// Agents that delivered, ordered by id.
    fn agents(&self) -> Result<Vec<AgentView>, StoreError>;
    /// Row counts.
    fn counts(&self) -> Result<StoreCounts, StoreError>;
}

/// A one-observation batch for tests: agent `agent_id`, sequence `seq`, an asset sighting of `ip`
/// (with `mac` when given).
#[cfg(test)]
pub fn sighting_batch(agent_id: &str, seq: u64, mac: Option<&str>, ip: &str) -> Envelope {
    use shoko_proto::{AssetSighting, Observation, ObservationBody, ParserRef, Provenance, Source};
    Envelope {
        protocol_version: 1,
        agent_id: agent_id.into(),
        seq,
        sent_at: Timestamp(5),
        observations: vec![Observation {
            provenance: Provenance {
                source: Source::Agent,
                parser: ParserRef::new("test", "1"),
                observed_at: Timestamp(10),
                evidence: Default::default(),
            },
            body: ObservationBody::AssetSighting(AssetSighting {
                mac: mac.map(|m| m.parse().unwrap()),
                ips: vec![ip.parse().unwrap()],
                first_seen: Timestamp(10),
                last_seen: Timestamp(20),
                ..Default::default()
            }),
        }],
    }
}
