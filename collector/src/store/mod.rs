//! Storage: the collector's durable record of batches, observations and fused assets.
//! One trait, one module per engine; SQLite is the embedded default.

pub mod chain;
pub mod ingest;
pub mod postgres;
pub mod sql;
pub mod sqlite;
#[cfg(test)]
pub mod suite;

use crate::access::records::{AuditEntry, CredentialRecord, NewCredential, NewUser, UserRecord};
use crate::assess::attest::{AttestationView, NewAttestation};
use crate::baseline::{BaselineView, NewBaseline, Snapshot};
use crate::fuse::claims::{AttributeView, ClaimView};
use crate::fuse::flows::{ConversationView, FlowKey, FlowTotals};
use serde::Serialize;
use shoko_proto::{Envelope, MacAddr, Timestamp, Transport};
use std::collections::{BTreeMap, BTreeSet};
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
    /// A concurrent writer conflicted (a deadlock or serialization failure between collectors);
    /// the same call again can succeed.
    #[error("conflict with a concurrent writer: {0}")]
    Conflict(String),
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
    /// Best value of each claimed attribute (vendor, model, firmware, hostname, class ...).
    pub attributes: BTreeMap<String, String>,
    /// Attributes whose sources claim different values over the same period.
    pub conflicts: Vec<String>,
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
    /// The observation that first showed it.
    pub observation_id: i64,
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
    /// The collector's time minus the agent's, as measured in its latest session handshake
    /// (nanoseconds; none before one was measured).
    pub clock_offset_ns: Option<i64>,
    /// When it was measured.
    pub clock_measured_at: Option<Timestamp>,
}

/// An observation about an asset: the evidence behind what is stored of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservationRef {
    /// Observation id.
    pub id: i64,
    /// The agent that sent it.
    pub agent_id: String,
    /// Its batch.
    pub seq: u64,
    /// Its index in the batch.
    pub idx: u32,
    /// Its kind (`asset_sighting`, `identity_claim` ...).
    pub kind: String,
    /// When it was observed.
    pub observed_at: Timestamp,
}

/// A stored observation decoded, with the asset it was fused into.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredObservation {
    /// Observation id.
    pub id: i64,
    /// The asset it is about, when it names one.
    pub asset_id: Option<i64>,
    /// The observation as the agent sent it.
    pub observation: shoko_proto::Observation,
}

/// A saved assessment: when it ran, the period it scored, the catalog, the digest of all its
/// evidence and the whole assessment as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SavedAssessment {
    /// Id (ignored when saving).
    pub id: i64,
    /// When it was computed.
    pub assessed_at: Timestamp,
    /// End of its latest period.
    pub period_end: Timestamp,
    /// Days per period.
    pub period_days: u32,
    /// Catalog version.
    pub catalog_version: String,
    /// SHA-256 (hex) over the evidence digests of its scores.
    pub digest: String,
    /// The assessment (JSON).
    #[serde(skip)]
    pub body: String,
}

/// One imported advisory file to store: its advisories and KEV entries (JSON), replacing earlier
/// ones of the same id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedImport {
    /// `csaf`, `osv`, `debian`, `kev`.
    pub feed: String,
    /// The file's name.
    pub file: String,
    /// Its SHA-256 (hex).
    pub sha256: String,
    /// When it was imported.
    pub imported_at: Timestamp,
    /// (id, advisory JSON).
    pub advisories: Vec<(String, String)>,
    /// (CVE, entry JSON).
    pub known_exploited: Vec<(String, String)>,
}

/// A record of an imported advisory file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedImportView {
    /// Its feed.
    pub feed: String,
    /// The file's name.
    pub file: String,
    /// Its SHA-256.
    pub sha256: String,
    /// Advisories or entries it held.
    pub entries: i64,
    /// When.
    pub imported_at: Timestamp,
}

/// A software item of an asset, as the asset page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SoftwareView {
    /// Where it was learnt (`dpkg`, `rpm`, `apk`, `ssh-banner` ...).
    pub source: String,
    /// Name.
    pub name: String,
    /// Version of the newest observation.
    pub version: Option<String>,
    /// Package URL.
    pub purl: Option<String>,
    /// First seen.
    pub first_seen: Timestamp,
    /// Last seen.
    pub last_seen: Timestamp,
    /// The newest observation.
    pub observation_id: i64,
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
    /// When the collector received the observation showing it (the clock of its SLA).
    pub detected_at: Option<Timestamp>,
}

/// One asset with everything stored about it: what `GET /api/v1/assets/{id}` answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssetDetail {
    /// The asset, with its best attribute values.
    pub asset: AssetView,
    /// Each attribute with every claim and its conflicting values.
    pub attributes: Vec<AttributeView>,
    /// Its software.
    pub software: Vec<SoftwareView>,
    /// Its conversations over all hours stored, the busiest first.
    pub flows: Vec<ConversationView>,
    /// Its change records, oldest first.
    pub changes: Vec<ChangeView>,
    /// The observations about it, in the order stored.
    pub evidence: Vec<ObservationRef>,
}

impl AssetDetail {
    /// Reads asset `id` from a store.
    pub fn read(store: &dyn Store, id: i64) -> Result<Self, StoreError> {
        let asset = store
            .assets()?
            .into_iter()
            .find(|a| a.id == id)
            .ok_or_else(|| StoreError::NotFound(format!("asset {id}")))?;
        let ips: Vec<String> = asset.ips.iter().map(ToString::to_string).collect();
        let flows = crate::fuse::flows::conversations(&store.flow_hours(&ips)?, &ips);
        Ok(AssetDetail {
            asset,
            software: store.asset_software(id)?,
            flows,
            attributes: crate::fuse::claims::attributes(store.claims(id)?),
            changes: store
                .changes()?
                .into_iter()
                .filter(|c| c.asset_id == id)
                .collect(),
            evidence: store.asset_observations(id)?,
        })
    }
}

/// What a retention run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// Observations deleted.
    pub deleted: u64,
    /// True when another collector was running it (nothing done here).
    pub skipped: bool,
}

/// Observations deleted per transaction by retention (ingest goes on between them).
pub const PRUNE_CHUNK: i64 = 10_000;

/// A result row of either engine, read by column index.
trait Columns {
    /// A text column (none for NULL).
    fn text(&self, i: usize) -> Result<Option<String>, StoreError>;
    /// An integer column (none for NULL).
    fn int(&self, i: usize) -> Result<Option<i64>, StoreError>;
    /// A binary column.
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError>;
    /// A binary column (none for NULL).
    fn opt_bytes(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError>;
    /// A text column that is never NULL.
    fn required_text(&self, i: usize) -> Result<String, StoreError> {
        self.text(i)?
            .ok_or_else(|| StoreError::Encoding(format!("column {i} is NULL")))
    }
}

impl Columns for rusqlite::Row<'_> {
    fn text(&self, i: usize) -> Result<Option<String>, StoreError> {
        self.get(i).map_err(|e| StoreError::Database(e.to_string()))
    }
    fn int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        self.get(i).map_err(|e| StoreError::Database(e.to_string()))
    }
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        self.get(i).map_err(|e| StoreError::Database(e.to_string()))
    }
    fn opt_bytes(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(i).map_err(|e| StoreError::Database(e.to_string()))
    }
}

impl Columns for tokio_postgres::Row {
    fn text(&self, i: usize) -> Result<Option<String>, StoreError> {
        self.try_get(i).map_err(|e| StoreError::Database(e.to_string()))
    }
    fn int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        // BIGINT, or INTEGER columns (ports, indexes, confidences).
        self.try_get::<_, Option<i64>>(i)
            .or_else(|_| self.try_get::<_, Option<i32>>(i).map(|v| v.map(i64::from)))
            .map_err(|e| StoreError::Database(e.to_string()))
    }
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        self.try_get(i).map_err(|e| StoreError::Database(e.to_string()))
    }
    fn opt_bytes(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError> {
        self.try_get(i).map_err(|e| StoreError::Database(e.to_string()))
    }
}

/// A text column that is never NULL.
fn required_text(r: &impl Columns, i: usize) -> Result<String, StoreError> {
    r.required_text(i)
}

/// An integer column that is never NULL.
fn required_int(r: &impl Columns, i: usize) -> Result<i64, StoreError> {
    r.int(i)?
        .ok_or_else(|| StoreError::Encoding(format!("column {i} is NULL")))
}

/// A change from a row of `sql::CHANGES`.
fn change_view(r: &impl Columns) -> Result<ChangeView, StoreError> {
    Ok(ChangeView {
        id: required_int(r, 0)?,
        asset_id: required_int(r, 1)?,
        kind: r.required_text(2)?,
        subject: r.required_text(3)?,
        old_value: r.text(4)?,
        new_value: r.text(5)?,
        observed_at: Timestamp(required_int(r, 6)?),
        observation_id: required_int(r, 7)?,
        previous_observation_id: r.int(8)?,
        status: r.required_text(9)?,
        reference: r.text(10)?,
        decided_by: r.text(11)?,
        decided_at: r.int(12)?.map(Timestamp),
        detected_at: r.int(13)?.map(Timestamp),
    })
}

/// An agent from a row of `sql::AGENTS`.
fn agent_view(r: &impl Columns) -> Result<AgentView, StoreError> {
    Ok(AgentView {
        agent_id: r.required_text(0)?,
        first_seen: Timestamp(required_int(r, 1)?),
        last_seen: Timestamp(required_int(r, 2)?),
        highest_seq: required_int(r, 3)? as u64,
        batches: required_int(r, 4)? as u64,
        clock_offset_ns: r.int(5)?,
        clock_measured_at: r.int(6)?.map(Timestamp),
    })
}

/// An observation reference from a row of `sql::ASSET_OBSERVATIONS`.
fn observation_ref(r: &impl Columns) -> Result<ObservationRef, StoreError> {
    Ok(ObservationRef {
        id: required_int(r, 0)?,
        agent_id: r.required_text(1)?,
        seq: required_int(r, 2)? as u64,
        idx: required_int(r, 3)? as u32,
        kind: r.required_text(4)?,
        observed_at: Timestamp(required_int(r, 5)?),
    })
}

/// A decoded observation from a row of `sql::OBSERVATIONS_OF_KIND`.
fn stored_observation(r: &impl Columns) -> Result<StoredObservation, StoreError> {
    let id = required_int(r, 0)?;
    let observation = rmp_serde::from_slice(&r.bytes(2)?)
        .map_err(|e| StoreError::Encoding(format!("observation {id}: {e}")))?;
    Ok(StoredObservation {
        id,
        asset_id: r.int(1)?,
        observation,
    })
}

/// A saved assessment from a row of `sql::ASSESSMENTS`.
fn saved_assessment(r: &impl Columns) -> Result<SavedAssessment, StoreError> {
    Ok(SavedAssessment {
        id: required_int(r, 0)?,
        assessed_at: Timestamp(required_int(r, 1)?),
        period_end: Timestamp(required_int(r, 2)?),
        period_days: required_int(r, 3)? as u32,
        catalog_version: r.required_text(4)?,
        digest: r.required_text(5)?,
        body: r.required_text(6)?,
    })
}

/// A software item from a row of `sql::ASSET_SOFTWARE`.
fn software_view(r: &impl Columns) -> Result<SoftwareView, StoreError> {
    Ok(SoftwareView {
        source: r.required_text(0)?,
        name: r.required_text(1)?,
        version: r.text(2)?,
        purl: r.text(3)?,
        first_seen: Timestamp(required_int(r, 4)?),
        last_seen: Timestamp(required_int(r, 5)?),
        observation_id: required_int(r, 6)?,
    })
}

/// An asset's software item from a row of `sql::ALL_SOFTWARE`.
fn asset_software_row(r: &impl Columns) -> Result<(i64, SoftwareView), StoreError> {
    Ok((required_int(r, 7)?, software_view(r)?))
}

/// A feed import record from a row of `sql::FEED_IMPORTS`.
fn feed_import_view(r: &impl Columns) -> Result<FeedImportView, StoreError> {
    Ok(FeedImportView {
        feed: r.required_text(0)?,
        file: r.required_text(1)?,
        sha256: r.required_text(2)?,
        entries: required_int(r, 3)?,
        imported_at: Timestamp(required_int(r, 4)?),
    })
}

/// An advisory and when it was imported, from a row of `sql::ADVISORIES`.
fn advisory_row(r: &impl Columns) -> Result<(String, Timestamp), StoreError> {
    Ok((r.required_text(0)?, Timestamp(required_int(r, 1)?)))
}

/// The one text column of a row.
fn first_text(r: &impl Columns) -> Result<String, StoreError> {
    r.required_text(0)
}

/// A claim with its asset id from a row of `sql::CLAIMS`.
fn claim_row(r: &impl Columns) -> Result<(i64, ClaimView), StoreError> {
    let claim = ClaimView {
        attribute: r.required_text(1)?,
        value: r.required_text(2)?,
        source: r.required_text(3)?,
        confidence: u8::try_from(required_int(r, 4)?).unwrap_or(u8::MAX),
        first_seen: Timestamp(required_int(r, 5)?),
        last_seen: Timestamp(required_int(r, 6)?),
        claims: required_int(r, 7)? as u64,
        observation_id: required_int(r, 8)?,
    };
    Ok((required_int(r, 0)?, claim))
}

/// A baseline from a row of `sql::BASELINES`.
fn baseline_view(r: &impl Columns) -> Result<BaselineView, StoreError> {
    Ok(BaselineView {
        id: required_int(r, 0)?,
        name: r.required_text(1)?,
        approved_by: r.required_text(2)?,
        approved_at: Timestamp(required_int(r, 3)?),
        comment: r.required_text(4)?,
        scope: crate::baseline::scope_from_text(&r.required_text(5)?)?,
        assets: required_int(r, 6)? as u64,
    })
}

/// An hourly flow row from the columns of `sql::flow_columns!`.
fn flow_row(r: &impl Columns) -> Result<(FlowKey, FlowTotals), StoreError> {
    let int = |i| required_int(r, i);
    let key = FlowKey {
        hour: int(0)?,
        vlan: i32::try_from(int(1)?).unwrap_or(-1),
        transport: transport(&r.required_text(2)?).as_str(),
        orig_ip: r.required_text(3)?,
        resp_ip: r.required_text(4)?,
        resp_port: u16::try_from(int(5)?).unwrap_or_default(),
        app_protocol: r.required_text(6)?,
    };
    let totals = FlowTotals {
        flows: int(7)?,
        packets: int(8)?,
        bytes: int(9)?,
        first_seen: int(10)?,
        last_seen: int(11)?,
    };
    Ok((key, totals))
}

/// An attestation from a row of `sql::ATTESTATIONS`.
fn attestation_view(r: &impl Columns) -> Result<AttestationView, StoreError> {
    let id = required_int(r, 0)?;
    let kind = r.required_text(1)?;
    let statement = crate::assess::attest::Statement {
        kind: crate::assess::attest::AttestationKind::from_stored(&kind)
            .ok_or_else(|| StoreError::Encoding(format!("attestation {id}: unknown kind {kind:?}")))?,
        scope: r.required_text(2)?,
        title: r.required_text(3)?,
        version: r.text(4)?,
        owner: r.text(5)?,
        approved_on: r.text(6)?,
        next_review: r.text(7)?,
        file_name: r.text(8)?,
        sha256: r.text(9)?,
        expires: r.text(10)?,
    };
    Ok(AttestationView {
        id,
        statement,
        attested_by: r.required_text(11)?,
        attested_at: Timestamp(required_int(r, 12)?),
        revoked_by: r.text(13)?,
        revoked_at: r.int(14)?.map(Timestamp),
        revoke_reason: r.text(15)?,
        countersigned_by: r.text(16)?,
        countersigned_at: r.int(17)?.map(Timestamp),
    })
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

    /// A stored name (or `acknowledge` / `reject`) as a decision.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "acknowledged" | "acknowledge" => Some(DecisionKind::Acknowledged),
            "rejected" | "reject" => Some(DecisionKind::Rejected),
            _ => None,
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

/// Adds rows that belong to assets (by asset id) to those assets; rows of unknown assets are
/// skipped. Engines read each table once and assemble the views with this.
fn attach<R>(
    assets: &mut [AssetView],
    rows: impl IntoIterator<Item = (i64, R)>,
    add: impl Fn(&mut AssetView, R),
) {
    let index: std::collections::HashMap<i64, usize> =
        assets.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
    for (id, row) in rows {
        if let Some(&i) = index.get(&id) {
            add(&mut assets[i], row);
        }
    }
}

/// Sets the assets' best attribute values and conflicts from their claims (asset id, claim).
fn summarise_claims(assets: &mut [AssetView], claims: Vec<(i64, ClaimView)>) {
    let mut by_asset: BTreeMap<i64, Vec<ClaimView>> = BTreeMap::new();
    for (id, c) in claims {
        by_asset.entry(id).or_default().push(c);
    }
    attach(assets, by_asset, |a, claims| {
        for attribute in crate::fuse::claims::attributes(claims) {
            if !attribute.conflicting.is_empty() {
                a.conflicts.push(attribute.name.clone());
            }
            a.attributes.insert(attribute.name, attribute.value);
        }
    });
}

/// A stored transport name as a transport.
pub(crate) fn transport(name: &str) -> Transport {
    match name {
        "tcp" => Transport::Tcp,
        "udp" => Transport::Udp,
        _ => Transport::Other,
    }
}

/// A storage engine.
/// When observations of a period count as received late or as from the future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiptWindow {
    /// Received after this: retrospective.
    pub late_after: Timestamp,
    /// Captured more than this many nanoseconds after they were received: from the future.
    pub future_ns: i64,
}

/// How the observations of a period were received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Receipt {
    /// Observations captured in the period.
    pub observations: i64,
    /// Of them, received after the period's end and its grace window (retrospective).
    pub late: i64,
    /// Of them, captured later than they were received (beyond the tolerance).
    pub future: i64,
    /// UTC days of the period with an observation captured.
    pub days: i64,
}

/// A receipt from a row of `sql::RECEIPT_BETWEEN`.
fn receipt_row(r: &impl Columns) -> Result<Receipt, StoreError> {
    Ok(Receipt {
        observations: r.int(0)?.unwrap_or(0),
        late: r.int(1)?.unwrap_or(0),
        future: r.int(2)?.unwrap_or(0),
        days: r.int(3)?.unwrap_or(0),
    })
}

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
    /// How many write transactions the engine usefully commits at once (SQLite: one writer).
    fn writers(&self) -> usize {
        1
    }
    /// Highest sequence number stored for an agent (0 for none).
    fn highest_seq(&self, agent_id: &str) -> Result<u64, StoreError>;
    /// All assets, ordered by id.
    fn assets(&self) -> Result<Vec<AssetView>, StoreError>;
    /// The hourly flow rows of the hours from `start` up to `end`.
    fn flow_hours_between(
        &self,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Vec<(FlowKey, FlowTotals)>, StoreError>;
    /// The hourly flow rows in which any of `ips` took part.
    fn flow_hours(&self, ips: &[String]) -> Result<Vec<(FlowKey, FlowTotals)>, StoreError>;
    /// Deletes the raw observations received before `before` that no change, identity, service
    /// or claim refers to (their hourly flow totals stay; the batch records stay, so a re-send is
    /// still a duplicate); where several collectors share the store, one runs it at a time and
    /// the others skip.
    fn prune_observations(&self, before: Timestamp) -> Result<PruneReport, StoreError>;
    /// Records an `asset_not_seen` change for each asset last seen before `since` (once per
    /// absence), noticed at `at`; how many. `None` when another collector is doing it.
    fn record_not_seen(&self, since: Timestamp, at: Timestamp) -> Result<Option<u64>, StoreError>;
    /// Records an attestation; its id.
    fn attest(&self, attestation: &NewAttestation) -> Result<i64, StoreError>;
    /// Every attestation (revoked ones too), oldest first.
    fn attestations(&self) -> Result<Vec<AttestationView>, StoreError>;
    /// Revokes an attestation (NotFound when there is none not revoked yet).
    fn revoke_attestation(&self, id: i64, by: &str, at: Timestamp, reason: &str) -> Result<(), StoreError>;
    /// Countersigns an attestation (a second administrator's approval); NotFound when it is
    /// revoked, countersigned already or absent.
    fn countersign_attestation(&self, id: i64, by: &str, at: Timestamp) -> Result<(), StoreError>;
    /// Stores an approved baseline; its id.
    fn approve_baseline(&self, baseline: &NewBaseline) -> Result<i64, StoreError>;
    /// Baselines, oldest first.
    fn baselines(&self) -> Result<Vec<BaselineView>, StoreError>;
    /// The asset snapshots of a baseline, by asset id.
    fn baseline_snapshots(&self, baseline_id: i64) -> Result<Vec<Snapshot>, StoreError>;
    /// Every claim of an asset's attributes.
    fn claims(&self, asset_id: i64) -> Result<Vec<ClaimView>, StoreError>;
    /// The software of an asset, by source and name.
    fn asset_software(&self, asset_id: i64) -> Result<Vec<SoftwareView>, StoreError>;
    /// The observations about an asset, in the order stored.
    fn asset_observations(&self, asset_id: i64) -> Result<Vec<ObservationRef>, StoreError>;
    /// Change records, oldest first, with their latest decision.
    fn changes(&self) -> Result<Vec<ChangeView>, StoreError>;
    /// Records a decision on a change.
    fn decide(&self, change_id: i64, decision: &Decision) -> Result<(), StoreError>;
    /// Agents that delivered, ordered by id.
    fn agents(&self) -> Result<Vec<AgentView>, StoreError>;
    /// Row counts.
    fn counts(&self) -> Result<StoreCounts, StoreError>;
    /// The observations of `kind` (`config_check`, `host_facts` ...) made from `start` up to
    /// `end`, decoded, oldest first.
    fn observations_of_kind(
        &self,
        kind: &str,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Vec<StoredObservation>, StoreError>;
    /// Saves an assessment; its id.
    fn save_assessment(&self, assessment: &SavedAssessment) -> Result<i64, StoreError>;
    /// The newest `limit` saved assessments, newest first.
    fn assessments(&self, limit: u32) -> Result<Vec<SavedAssessment>, StoreError>;
    /// Stores an imported advisory file in one transaction.
    fn import_feed(&self, import: &FeedImport) -> Result<(), StoreError>;
    /// Every stored advisory (JSON) with when it was imported.
    fn advisories(&self) -> Result<Vec<(String, Timestamp)>, StoreError>;
    /// Every stored KEV entry (JSON).
    fn known_exploited(&self) -> Result<Vec<String>, StoreError>;
    /// Every imported file, oldest first.
    fn feed_imports(&self) -> Result<Vec<FeedImportView>, StoreError>;
    /// The software of every asset, with its asset id.
    fn all_software(&self) -> Result<Vec<(i64, SoftwareView)>, StoreError>;
    /// One stored observation, decoded (none when there is no such id, or retention deleted it).
    fn observation(&self, id: i64) -> Result<Option<StoredObservation>, StoreError>;
    /// At most `limit` change records with ids above `after`, oldest first.
    fn changes_after(&self, after: i64, limit: u32) -> Result<Vec<ChangeView>, StoreError>;
    /// At most `limit` observations of `kind` with ids above `after`, by id, decoded.
    fn observations_after(
        &self,
        kind: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredObservation>, StoreError>;
    /// A SIEM destination's progress through a stream (`change`, `event`): the last id delivered.
    fn siem_cursor(&self, destination: &str, stream: &str) -> Result<i64, StoreError>;
    /// Records items of a stream delivered to a destination at `at` after `attempts` attempts,
    /// and advances its progress to the last, in one transaction.
    fn record_deliveries(
        &self,
        destination: &str,
        stream: &str,
        items: &[i64],
        at: Timestamp,
        attempts: u32,
    ) -> Result<(), StoreError>;
    /// Every delivered item of a stream with when it first reached any destination.
    fn first_deliveries(&self, stream: &str) -> Result<Vec<(i64, Timestamp)>, StoreError>;
    /// How the observations captured in `[start, end)` were received (agent telemetry aside).
    fn receipt_between(
        &self,
        start: Timestamp,
        end: Timestamp,
        window: ReceiptWindow,
    ) -> Result<Receipt, StoreError>;
    /// Agents that delivered a batch received in `[start, end)`.
    fn agents_reporting_between(
        &self,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<BTreeSet<String>, StoreError>;
    /// Assets with an observation captured in `[start, end)`: what was seen in a period, with
    /// nothing assumed between two sightings.
    fn assets_observed_between(&self, start: Timestamp, end: Timestamp) -> Result<BTreeSet<i64>, StoreError>;
    /// Records an agent's clock offset (the collector's time minus the agent's) measured at
    /// `at` in a session handshake; nothing for an agent that delivered nothing yet.
    fn record_clock(&self, agent_id: &str, offset_ns: i64, at: Timestamp) -> Result<(), StoreError>;
    /// Adds a user; its id.
    fn save_user(&self, user: &NewUser) -> Result<i64, StoreError>;
    /// Every user, by id.
    fn users(&self) -> Result<Vec<UserRecord>, StoreError>;
    /// Disables a user (NotFound when there is no such user not disabled yet).
    fn disable_user(&self, id: i64, at: Timestamp) -> Result<(), StoreError>;
    /// Stores a credential; its id.
    fn save_credential(&self, credential: &NewCredential) -> Result<i64, StoreError>;
    /// The credential whose secret has this SHA-256 (hex), with its user.
    fn credential(&self, secret_sha256: &str) -> Result<Option<(CredentialRecord, UserRecord)>, StoreError>;
    /// Every credential, by id.
    fn credentials(&self) -> Result<Vec<CredentialRecord>, StoreError>;
    /// Revokes a credential (NotFound when there is none not revoked yet).
    fn revoke_credential(&self, id: i64, at: Timestamp) -> Result<(), StoreError>;
    /// Records an audit entry; its id.
    fn record_audit(&self, entry: &AuditEntry) -> Result<i64, StoreError>;
    /// The newest `limit` audit entries, newest first.
    fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;
    /// Every agent's hash chain as its agent row keeps it, by agent id.
    fn chain_heads(&self) -> Result<Vec<chain::ChainHead>, StoreError>;
    /// At most `limit` sealed batches of an agent from chain position `from` on, in chain order.
    fn sealed_batches(
        &self,
        agent_id: &str,
        from: i64,
        limit: u32,
    ) -> Result<Vec<chain::SealedBatch>, StoreError>;
    /// The stored observations of a batch, by index.
    fn batch_rows(&self, agent_id: &str, seq: u64) -> Result<Vec<chain::StoredRow>, StoreError>;
    /// A mark the store keeps about itself (`pruned_before`: the newest retention cut-off).
    fn store_mark(&self, name: &str) -> Result<Option<i64>, StoreError>;
}

/// A user from columns `at..at + 6` (id, name, role, hash, created, disabled).
fn user_record(r: &impl Columns, at: usize) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: required_int(r, at)?,
        name: r.required_text(at + 1)?,
        role: r.required_text(at + 2)?,
        password_hash: r.required_text(at + 3)?,
        created_at: Timestamp(required_int(r, at + 4)?),
        disabled_at: r.int(at + 5)?.map(Timestamp),
    })
}

/// A credential and its user from a row of `sql::CREDENTIALS`.
fn credential_row(r: &impl Columns) -> Result<(CredentialRecord, UserRecord), StoreError> {
    let credential = CredentialRecord {
        id: required_int(r, 0)?,
        kind: r.required_text(1)?,
        name: r.required_text(2)?,
        user_id: required_int(r, 3)?,
        user: r.required_text(4)?,
        created_at: Timestamp(required_int(r, 5)?),
        expires_at: r.int(6)?.map(Timestamp),
        revoked_at: r.int(7)?.map(Timestamp),
    };
    Ok((credential, user_record(r, 8)?))
}

/// An audit entry from a row of `sql::AUDIT_LOG`.
fn audit_row(r: &impl Columns) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: required_int(r, 0)?,
        at: Timestamp(required_int(r, 1)?),
        actor: r.required_text(2)?,
        action: r.required_text(3)?,
        target: r.required_text(4)?,
        detail: r.required_text(5)?,
        source: r.required_text(6)?,
    })
}
