//! Storing batches, engine-neutral: each engine offers the statements of one write transaction
//! ([`IngestTx`]); the order they run in, and so what a stored batch means, is written once here
//! (and the fusion of its observations once in [`crate::fuse::apply`]).
//!
//! Engines that several collectors write at once (PostgreSQL) make each statement safe under
//! concurrency: a batch is claimed by inserting its key (a re-send finds it taken), "created" is
//! what the insert itself reports, and an asset is locked before its identities and services are
//! compared with what is stored.

use super::chain::Seal;
use super::{IngestOutcome, StoreError};
use crate::evidence::chain;
use crate::fuse::apply::{Evidence, fuse_observation};
use crate::fuse::flows::FlowRollup;
use shoko_proto::{Envelope, ObservationBody, Timestamp};

/// An observation ready to insert: its index in the batch, kind, time and encoded body.
pub struct EncodedObservation {
    /// Index in the batch.
    pub idx: i32,
    /// Observation kind (`asset_sighting` ...).
    pub kind: &'static str,
    /// When it was observed (ns).
    pub observed_at: i64,
    /// MessagePack with named fields.
    pub body: Vec<u8>,
}

/// An asset found or created by its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpsertedAsset {
    /// The asset row of the key.
    pub id: i64,
    /// True when this call created it.
    pub created: bool,
    /// The asset it was merged into, if it was.
    pub merged_into: Option<i64>,
}

/// What identifies a device identity of an asset, as one protocol tells it (two protocols telling
/// different firmware at once are a conflict of claims, not a change).
#[derive(Debug, Clone, Copy)]
pub struct IdentityKey<'a> {
    /// The protocol that told it.
    pub protocol: &'a str,
    /// Vendor ("" when unknown).
    pub vendor: &'a str,
    /// Product or model.
    pub product: &'a str,
    /// Serial ("" when unknown).
    pub serial: &'a str,
}

/// The newest stored value of something observed again and again (an identity's firmware, a
/// software item's version): the value, when it was observed, and that observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Newest {
    /// The value of the newest observation.
    pub value: Option<String>,
    /// When it was observed.
    pub last_seen: i64,
    /// That observation.
    pub observation_id: i64,
}

/// A software item of an asset as observed.
#[derive(Debug, Clone, Copy)]
pub struct SoftwareRow<'a> {
    /// Where it was learnt (`dpkg`, `rpm`, `apk`, `ssh-banner` ...).
    pub source: &'a str,
    /// Name.
    pub name: &'a str,
    /// Version.
    pub version: Option<&'a str>,
    /// Package URL.
    pub purl: Option<&'a str>,
    /// When it was observed.
    pub at: i64,
    /// The observation.
    pub observation_id: i64,
}

/// A service of an asset as stored.
#[derive(Debug, Clone, Copy)]
pub struct ServiceRow<'a> {
    /// IP it is offered on ("" when unknown).
    pub ip: &'a str,
    /// `tcp`, `udp` ...
    pub transport: &'a str,
    /// Port.
    pub port: u16,
    /// Protocol, when known.
    pub protocol: Option<&'a str>,
    /// Banner, when one was seen.
    pub banner: Option<&'a str>,
    /// How the protocol was recognised.
    pub detected_by: Option<&'a str>,
    /// When it was observed.
    pub at: i64,
    /// The observation showing it.
    pub observation_id: i64,
}

/// A value claimed for an attribute of an asset by one source.
#[derive(Debug, Clone, Copy)]
pub struct ClaimRow<'a> {
    /// `vendor`, `model`, `firmware`, `hostname`, `class` ...
    pub attribute: &'a str,
    /// The value claimed.
    pub value: &'a str,
    /// `<agent id>/<protocol>`, `<agent id>/host`, `<agent id>/sensor`.
    pub source: &'a str,
    /// Confidence, 0-100.
    pub confidence: u8,
    /// When it was claimed.
    pub at: i64,
    /// The observation claiming it.
    pub observation_id: i64,
}

/// A change of an asset: what changed, from which value to which, and the observation that showed
/// the old value.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// `new_asset`, `new_service`, `firmware_change` ...
    pub kind: &'a str,
    /// What the attribute belongs to.
    pub subject: &'a str,
    /// Value before.
    pub old: Option<&'a str>,
    /// Value after.
    pub new: Option<&'a str>,
    /// The observation that showed the value before.
    pub previous: Option<i64>,
}

impl<'a> Change<'a> {
    /// Something first seen (no value before): a new asset, a new service.
    pub fn first_seen(kind: &'a str, subject: &'a str, value: Option<&'a str>) -> Self {
        Change {
            kind,
            subject,
            old: None,
            new: value,
            previous: None,
        }
    }
}

/// The statements of one write transaction of an engine. Times are ns since the epoch.
pub trait IngestTx {
    /// Records batch `(agent_id, seq)`; false when it was already stored.
    fn claim_batch(&mut self, batch: &Envelope, received_at: Timestamp) -> Result<bool, StoreError>;
    /// Counts a stored batch for its agent; returns the agent's highest stored sequence.
    fn advance_agent(&mut self, agent_id: &str, seq: u64, received_at: Timestamp) -> Result<u64, StoreError>;
    /// The agent's stored batch count (once a batch is counted: that batch's chain position) and
    /// its chain head.
    fn chain_head(&mut self, agent_id: &str) -> Result<(i64, Option<Vec<u8>>), StoreError>;
    /// Seals a stored batch into its agent's chain and makes its digest the agent's head.
    fn seal_batch(&mut self, agent_id: &str, seq: u64, seal: &Seal) -> Result<(), StoreError>;
    /// The agent's highest stored sequence (0 for none).
    fn highest_seq(&mut self, agent_id: &str) -> Result<u64, StoreError>;
    /// Inserts a batch's observations; their ids, in the order given.
    fn insert_observations(
        &mut self,
        batch: &Envelope,
        rows: &[EncodedObservation],
    ) -> Result<Vec<i64>, StoreError>;
    /// Links observations (id, asset id) to the assets they are about (to the asset one was merged
    /// into since).
    fn link_observations(&mut self, links: &[(i64, i64)]) -> Result<(), StoreError>;
    /// Finds or creates the asset with `key`, widening its seen interval (first, last) and setting
    /// the router flag if given.
    fn upsert_asset(
        &mut self,
        key: &str,
        mac: Option<&str>,
        router: bool,
        seen: (i64, i64),
    ) -> Result<UpsertedAsset, StoreError>;
    /// Widens an asset's seen interval and router flag.
    fn widen_asset(&mut self, asset: i64, router: bool, seen: (i64, i64)) -> Result<(), StoreError>;
    /// The asset with `key` and the asset it was merged into.
    fn asset_by_key(&mut self, key: &str) -> Result<Option<(i64, Option<i64>)>, StoreError>;
    /// The key of an asset.
    fn asset_key(&mut self, asset: i64) -> Result<String, StoreError>;
    /// Reserves a key not seen yet for asset `into`.
    fn insert_alias(&mut self, key: &str, mac: Option<&str>, into: i64, at: i64) -> Result<(), StoreError>;
    /// The other assets whose own identity claims `vendor` and `serial`.
    fn serial_twins(&mut self, vendor: &str, serial: &str, except: i64) -> Result<Vec<i64>, StoreError>;
    /// Moves everything of asset `from` to asset `into` and points `from` there.
    fn merge_assets(&mut self, from: i64, into: i64) -> Result<(), StoreError>;
    /// Holds the asset against other writers until the transaction ends.
    fn lock_asset(&mut self, asset: i64) -> Result<(), StoreError>;
    /// Records an address of an asset (widening its seen interval; a VLAN given replaces the stored).
    fn add_address(
        &mut self,
        asset: i64,
        ip: &str,
        vlan: Option<u16>,
        seen: (i64, i64),
    ) -> Result<(), StoreError>;
    /// Records a VLAN of an asset.
    fn add_vlan(&mut self, asset: i64, vlan: u16) -> Result<(), StoreError>;
    /// The asset a host agent's machine id belongs to.
    fn host_asset(&mut self, host_id: &str) -> Result<Option<i64>, StoreError>;
    /// Records the asset a machine id belongs to, seen at `at`.
    fn set_host(&mut self, host_id: &str, asset: i64, at: i64) -> Result<(), StoreError>;
    /// The asset most recently holding `ip`.
    fn asset_of_ip(&mut self, ip: &str) -> Result<Option<i64>, StoreError>;
    /// A stored identity of an asset.
    fn identity(&mut self, asset: i64, key: IdentityKey<'_>) -> Result<Option<Newest>, StoreError>;
    /// Makes a claim the identity's newest: a first claim inserts it, a newer one replaces its
    /// firmware (when it has one), time and observation.
    fn save_identity(
        &mut self,
        asset: i64,
        key: IdentityKey<'_>,
        firmware: Option<&str>,
        at: i64,
        observation_id: i64,
    ) -> Result<(), StoreError>;
    /// Widens an identity's interval back to `at` (an older claim arriving late).
    fn widen_identity(&mut self, asset: i64, key: IdentityKey<'_>, at: i64) -> Result<(), StoreError>;
    /// A stored software item of an asset.
    fn software(&mut self, asset: i64, source: &str, name: &str) -> Result<Option<Newest>, StoreError>;
    /// True when the asset had software recorded before `at` (its first inventory is not new).
    fn had_software(&mut self, asset: i64, at: i64) -> Result<bool, StoreError>;
    /// Makes a software observation the item's newest.
    fn save_software(&mut self, asset: i64, item: &SoftwareRow<'_>) -> Result<(), StoreError>;
    /// Records a service of an asset; true when this call created it.
    fn upsert_service(&mut self, asset: i64, service: &ServiceRow<'_>) -> Result<bool, StoreError>;
    /// The newest value `source` claimed for an attribute of an asset.
    fn latest_claim(
        &mut self,
        asset: i64,
        attribute: &str,
        source: &str,
    ) -> Result<Option<Newest>, StoreError>;
    /// Records a claim (counting it, widening its interval, keeping the newest observation).
    fn upsert_claim(&mut self, asset: i64, claim: &ClaimRow<'_>) -> Result<(), StoreError>;
    /// Adds a batch's flows to their hourly rows.
    fn add_flow_hours(&mut self, flows: &FlowRollup) -> Result<(), StoreError>;
    /// Records a change of an asset, shown by observation `observation_id` at `at`.
    fn record_change(
        &mut self,
        asset: i64,
        change: &Change<'_>,
        at: i64,
        observation_id: i64,
    ) -> Result<(), StoreError>;
}

/// Stores batches inside one transaction: each batch's record, its agent's progress, its
/// observations and their fusion into assets; a batch already stored is a duplicate.
pub fn store_batches<T: IngestTx>(
    tx: &mut T,
    batches: &[Envelope],
    received_at: Timestamp,
) -> Result<Vec<IngestOutcome>, StoreError> {
    batches.iter().map(|b| store_batch(tx, b, received_at)).collect()
}

fn store_batch<T: IngestTx>(
    tx: &mut T,
    batch: &Envelope,
    received_at: Timestamp,
) -> Result<IngestOutcome, StoreError> {
    if !tx.claim_batch(batch, received_at)? {
        return Ok(IngestOutcome::Duplicate {
            highest: tx.highest_seq(&batch.agent_id)?,
        });
    }
    let highest = tx.advance_agent(&batch.agent_id, batch.seq, received_at)?;
    let rows = batch
        .observations
        .iter()
        .enumerate()
        .map(|(idx, o)| {
            Ok(EncodedObservation {
                idx: idx as i32,
                kind: o.body.kind(),
                observed_at: o.provenance.observed_at.0,
                body: rmp_serde::to_vec_named(o).map_err(|e| StoreError::Encoding(e.to_string()))?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let leaves = rows
        .iter()
        .flat_map(|o| chain::leaf(i64::from(o.idx), o.kind, o.observed_at, &o.body))
        .collect();
    let (position, head) = tx.chain_head(&batch.agent_id)?;
    let place = chain::Place {
        agent_id: &batch.agent_id,
        seq: batch.seq,
        position,
        received_at: received_at.0,
    };
    let seal = chain::seal(place, head.as_deref(), leaves);
    tx.seal_batch(&batch.agent_id, batch.seq, &seal)?;
    let ids = tx.insert_observations(batch, &rows)?;
    let mut links = Vec::new();
    let mut flows = FlowRollup::default();
    for (o, id) in batch.observations.iter().zip(ids) {
        if let ObservationBody::FlowSummary(f) = &o.body {
            flows.add(f);
        }
        let ev = Evidence {
            agent_id: &batch.agent_id,
            at: o.provenance.observed_at.0,
            observation_id: id,
        };
        if let Some(asset) = fuse_observation(tx, &o.body, &ev)? {
            links.push((id, asset));
        }
    }
    tx.link_observations(&links)?;
    if !flows.is_empty() {
        tx.add_flow_hours(&flows)?;
    }
    Ok(IngestOutcome::Stored { highest })
}
