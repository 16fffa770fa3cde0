//! What the store keeps of each agent's hash chain of batches (see [`crate::evidence::chain`]
//! for how the digests are made and checked), as rows read back for verification.

use super::{Columns, StoreError, required_int};

/// The link a stored batch adds to its agent's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    /// Position in the agent's chain (1 for the agent's first stored batch).
    pub position: i64,
    /// Digest of the batch before it (32 zero bytes for the first sealed batch).
    pub prev: [u8; 32],
    /// SHA-256 of each observation of the batch, by index, concatenated.
    pub leaves: Vec<u8>,
    /// The batch's digest over the above.
    pub digest: [u8; 32],
}

/// An agent's chain as the agent row keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// Agent id.
    pub agent_id: String,
    /// Batches stored for it.
    pub batches: i64,
    /// Batches stored before chaining began (not sealed).
    pub unsealed: i64,
    /// Digest of its newest sealed batch.
    pub head: Option<Vec<u8>>,
}

/// A sealed batch as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBatch {
    /// Batch sequence number.
    pub seq: u64,
    /// When the collector received it (ns).
    pub received_at: i64,
    /// Observations it carried.
    pub observation_count: i64,
    /// Position in the agent's chain.
    pub position: i64,
    /// Digest of the batch before it, as stored.
    pub prev: Vec<u8>,
    /// Its digest, as stored.
    pub digest: Vec<u8>,
    /// Its observations' SHA-256, as stored.
    pub leaves: Vec<u8>,
}

/// A stored observation as it was inserted (what its leaf digest covers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRow {
    /// Index in its batch.
    pub idx: i64,
    /// Kind.
    pub kind: String,
    /// When it was observed (ns).
    pub observed_at: i64,
    /// Encoded body.
    pub body: Vec<u8>,
}

/// A chain head from a row of `sql::CHAIN_HEADS`.
pub(super) fn chain_head_row(r: &impl Columns) -> Result<ChainHead, StoreError> {
    Ok(ChainHead {
        agent_id: r.required_text(0)?,
        batches: required_int(r, 1)?,
        unsealed: required_int(r, 2)?,
        head: r.opt_bytes(3)?,
    })
}

/// A sealed batch from a row of `sql::SEALED_BATCHES`.
pub(super) fn sealed_batch_row(r: &impl Columns) -> Result<SealedBatch, StoreError> {
    Ok(SealedBatch {
        seq: required_int(r, 0)? as u64,
        received_at: required_int(r, 1)?,
        observation_count: required_int(r, 2)?,
        position: required_int(r, 3)?,
        prev: r.opt_bytes(4)?.unwrap_or_default(),
        digest: r.opt_bytes(5)?.unwrap_or_default(),
        leaves: r.opt_bytes(6)?.unwrap_or_default(),
    })
}

/// A stored observation from a row of `sql::BATCH_ROWS`.
pub(super) fn stored_row(r: &impl Columns) -> Result<StoredRow, StoreError> {
    Ok(StoredRow {
        idx: required_int(r, 0)?,
        kind: r.required_text(1)?,
        observed_at: required_int(r, 2)?,
        body: r.bytes(3)?,
    })
}
