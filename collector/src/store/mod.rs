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
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Database(String),
    /// An observation could not be encoded for storage.
    #[error("encoding: {0}")]
    Encoding(String),
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

/// A storage engine.
pub trait Store: Send + Sync {
    /// Durably stores a batch (once per agent id and sequence number).
    fn ingest(&self, batch: &Envelope, received_at: Timestamp) -> Result<IngestOutcome, StoreError>;
    /// Highest sequence number stored for an agent (0 for none).
    fn highest_seq(&self, agent_id: &str) -> Result<u64, StoreError>;
    /// All assets, ordered by id.
    fn assets(&self) -> Result<Vec<AssetView>, StoreError>;
    /// Agents that delivered, ordered by id.
    fn agents(&self) -> Result<Vec<AgentView>, StoreError>;
    /// Row counts.
    fn counts(&self) -> Result<StoreCounts, StoreError>;
}
