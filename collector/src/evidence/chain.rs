//! The hash chain of stored batches. Each observation's leaf is the SHA-256 of what was stored
//! of it (index, kind, time, encoded body); a batch's digest covers the digest of the agent's
//! batch before it, the agent, the batch's sequence number and chain position, and its leaves.
//! Editing, deleting or inserting an observation or a batch anywhere breaks a link that
//! [`verify`] names; the chain heads it prints (also written into every evidence bundle) let
//! a later check tell that history was not rewritten from the start.

use crate::store::chain::{ChainHead, Seal, SealedBatch};
use crate::store::{Store, StoreError};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Domain separation of the leaf and batch digests (a new format gets a new tag).
const LEAF_TAG: &[u8] = b"shoko/observation/v1\0";
const BATCH_TAG: &[u8] = b"shoko/batch/v1\0";

/// Sealed batches read per query while verifying.
const PAGE: u32 = 500;

/// The SHA-256 of a stored observation.
pub fn leaf(idx: i64, kind: &str, observed_at: i64, body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(LEAF_TAG);
    h.update(idx.to_be_bytes());
    h.update((kind.len() as u32).to_be_bytes());
    h.update(kind.as_bytes());
    h.update(observed_at.to_be_bytes());
    h.update(body);
    h.finalize().into()
}

/// Where a batch sits: its agent, sequence number, position in the agent's chain and when the
/// collector received it (retention goes by it, so it is sealed too).
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// Agent id.
    pub agent_id: &'a str,
    /// Batch sequence number.
    pub seq: u64,
    /// Position in the agent's chain.
    pub position: i64,
    /// When it was received (ns).
    pub received_at: i64,
}

/// The digest of a batch at `place` after `prev`, over its leaves.
pub fn batch_digest(prev: &[u8], place: Place<'_>, leaves: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(BATCH_TAG);
    h.update(prev);
    h.update((place.agent_id.len() as u32).to_be_bytes());
    h.update(place.agent_id.as_bytes());
    h.update(place.seq.to_be_bytes());
    h.update(place.position.to_be_bytes());
    h.update(place.received_at.to_be_bytes());
    h.update(leaves);
    h.finalize().into()
}

/// The seal of a batch being stored at `place` after the chain head `head` (none for an
/// agent's first sealed batch), from its observations' leaves in index order.
pub fn seal(place: Place<'_>, head: Option<&[u8]>, leaves: Vec<u8>) -> Seal {
    let mut prev = [0u8; 32];
    if let Some(head) = head.filter(|h| h.len() == 32) {
        prev.copy_from_slice(head);
    }
    let digest = batch_digest(&prev, place, &leaves);
    Seal {
        position: place.position,
        prev,
        leaves,
        digest,
    }
}

/// Something `verify` found wrong: which agent's chain, which batch, what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Agent id.
    pub agent_id: String,
    /// Batch sequence number, when one batch is concerned.
    pub seq: Option<u64>,
    /// What is wrong.
    pub what: String,
}

/// An agent's chain as verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedHead {
    /// Agent id.
    pub agent_id: String,
    /// Position of its newest sealed batch.
    pub position: i64,
    /// Digest of its newest sealed batch (hex).
    pub digest: String,
}

/// What `verify` checked and found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// Agents whose chains were checked.
    pub agents: usize,
    /// Sealed batches checked.
    pub batches: u64,
    /// Stored observations whose leaves matched.
    pub observations: u64,
    /// Observations absent because retention deleted them (received before its cut-off).
    pub pruned: u64,
    /// Batches stored before chaining began (not checkable).
    pub unsealed: u64,
    /// Every agent's verified head.
    pub heads: Vec<VerifiedHead>,
    /// Everything found wrong; empty when the store is intact.
    pub problems: Vec<Problem>,
}

impl ChainReport {
    /// True when nothing was found wrong.
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks every agent's chain: positions consecutive, each batch linked to the one before, each
/// digest recomputed from the stored leaves, each stored observation matching its leaf, the
/// agent's head on its newest batch. `progress` is called after each agent with (done, total).
///
/// A running collector may store batches and prune observations while this reads: each chain is
/// checked up to the head read at the start, a batch stored since must link to that head and be
/// counted in the agent's head when read again at the end, and the retention cut-off is read
/// again before observations are called missing.
pub fn verify(store: &dyn Store, mut progress: impl FnMut(usize, usize)) -> Result<ChainReport, StoreError> {
    let mut retention = Retention::read(store)?;
    let heads = store.chain_heads()?;
    let mut report = ChainReport {
        agents: heads.len(),
        ..ChainReport::default()
    };
    let mut arrived = Vec::new();
    for (done, head) in heads.iter().enumerate() {
        if let Some(later) = verify_agent(store, head, &mut retention, &mut report)? {
            arrived.push(later);
        }
        progress(done + 1, heads.len());
    }
    if !arrived.is_empty() {
        let now = store.chain_heads()?;
        for (agent_id, later) in arrived {
            let counted = now
                .iter()
                .any(|h| h.agent_id == agent_id && h.batches >= later.position);
            if !counted {
                report.problems.push(Problem {
                    agent_id,
                    seq: Some(later.seq),
                    what: format!(
                        "a batch at position {} beyond the agent's chain head (inserted)",
                        later.position
                    ),
                });
            }
        }
    }
    Ok(report)
}

/// The newest retention cut-off: observations of batches received before it may be gone.
struct Retention(i64);

impl Retention {
    /// The cut-off as stored now.
    fn read(store: &dyn Store) -> Result<Self, StoreError> {
        Ok(Self(store.store_mark("pruned_before")?.unwrap_or(i64::MIN)))
    }

    /// Whether retention may have deleted observations of a batch received at `received_at`,
    /// reading the cut-off again when the one known does not reach it (retention may be running).
    fn reached(&mut self, store: &dyn Store, received_at: i64) -> Result<bool, StoreError> {
        if received_at >= self.0 {
            *self = Self::read(store)?;
        }
        Ok(received_at < self.0)
    }
}

/// Checks what a crash could have left half-written, quickly: each agent's newest sealed batch
/// (its digest, its observations, and that it is the agent's head). The collector runs it at
/// start; `verify-store` checks everything.
pub fn check_newest(store: &dyn Store) -> Result<ChainReport, StoreError> {
    let mut retention = Retention::read(store)?;
    let heads = store.chain_heads()?;
    let mut report = ChainReport {
        agents: heads.len(),
        ..ChainReport::default()
    };
    for head in heads.iter().filter(|h| h.batches > h.unsealed) {
        let newest = store.sealed_batches(&head.agent_id, head.batches, 1)?;
        let Some(batch) = newest.last() else {
            report.problems.push(Problem {
                agent_id: head.agent_id.clone(),
                seq: None,
                what: format!("no sealed batch at position {}, its newest", head.batches),
            });
            continue;
        };
        verify_batch(store, &head.agent_id, batch, &mut retention, &mut report)?;
        if head.head.as_deref() != Some(batch.digest.as_slice()) {
            report.problems.push(Problem {
                agent_id: head.agent_id.clone(),
                seq: Some(batch.seq),
                what: "the agent's chain head is not its newest batch".into(),
            });
        }
    }
    Ok(report)
}

/// Checks one agent's chain up to `head` into `report`; returns the first batch found beyond it
/// (stored since `head` was read, or inserted), already checked to link to it.
fn verify_agent(
    store: &dyn Store,
    head: &ChainHead,
    retention: &mut Retention,
    report: &mut ChainReport,
) -> Result<Option<(String, SealedBatch)>, StoreError> {
    let problem = |seq: Option<u64>, what: String| Problem {
        agent_id: head.agent_id.clone(),
        seq,
        what,
    };
    report.unsealed += head.unsealed as u64;
    let mut expected = head.unsealed + 1;
    let mut prev = [0u8; 32].to_vec();
    let mut beyond = None;
    'walk: loop {
        let page = store.sealed_batches(&head.agent_id, expected, PAGE)?;
        let Some(last) = page.last() else { break };
        let next = last.position + 1;
        for batch in page {
            if batch.position > head.batches {
                beyond = Some(batch);
                break 'walk;
            }
            if batch.position != expected {
                report.problems.push(problem(
                    Some(batch.seq),
                    format!(
                        "chain positions {expected} to {} missing (batches deleted)",
                        batch.position - 1
                    ),
                ));
                prev = batch.prev.clone();
            }
            if batch.prev != prev {
                report.problems.push(problem(
                    Some(batch.seq),
                    format!("not linked to the batch before it (position {})", batch.position),
                ));
            }
            verify_batch(store, &head.agent_id, &batch, retention, report)?;
            prev = batch.digest;
            expected = batch.position + 1;
        }
        expected = expected.max(next);
    }
    let sealed_to = expected - 1;
    if sealed_to < head.batches {
        report.problems.push(problem(
            None,
            format!(
                "{} stored batches but the chain ends at position {sealed_to} (batches deleted or unsealed)",
                head.batches
            ),
        ));
    }
    if sealed_to > head.unsealed {
        if head.head.as_deref() != Some(prev.as_slice()) {
            report.problems.push(problem(
                None,
                "the agent's chain head is not its newest batch (batches removed or replaced)".into(),
            ));
        }
        report.heads.push(VerifiedHead {
            agent_id: head.agent_id.clone(),
            position: sealed_to,
            digest: hex::encode(&prev),
        });
    }
    let Some(later) = beyond else { return Ok(None) };
    if later.position == sealed_to + 1 && later.prev != prev {
        report.problems.push(problem(
            Some(later.seq),
            format!("not linked to the batch before it (position {})", later.position),
        ));
    }
    Ok(Some((head.agent_id.clone(), later)))
}

/// Checks one sealed batch's digest and its stored observations against their leaves.
fn verify_batch(
    store: &dyn Store,
    agent_id: &str,
    batch: &SealedBatch,
    retention: &mut Retention,
    report: &mut ChainReport,
) -> Result<(), StoreError> {
    let mut problem = |what: String| {
        report.problems.push(Problem {
            agent_id: agent_id.to_string(),
            seq: Some(batch.seq),
            what,
        })
    };
    let place = Place {
        agent_id,
        seq: batch.seq,
        position: batch.position,
        received_at: batch.received_at,
    };
    let digest = batch_digest(&batch.prev, place, &batch.leaves);
    if batch.digest != digest {
        problem("the batch's digest does not match its record (batch record altered)".into());
    }
    let count = batch.observation_count.max(0) as usize;
    if batch.leaves.len() != count * 32 {
        problem(format!(
            "{} leaf bytes for {count} observations (batch record altered)",
            batch.leaves.len()
        ));
        return Ok(());
    }
    let mut present = vec![false; count];
    for row in store.batch_rows(agent_id, batch.seq)? {
        let Some(slot) = usize::try_from(row.idx).ok().filter(|&i| i < count) else {
            problem(format!(
                "observation {} is not part of the batch (inserted)",
                row.idx
            ));
            continue;
        };
        present[slot] = true;
        let stored = &batch.leaves[slot * 32..slot * 32 + 32];
        if leaf(row.idx, &row.kind, row.observed_at, &row.body) == stored {
            report.observations += 1;
        } else {
            problem(format!("observation {} was altered ({})", row.idx, row.kind));
        }
    }
    let missing: Vec<usize> = (0..count).filter(|&i| !present[i]).collect();
    if let Some(first) = missing.first() {
        if retention.reached(store, batch.received_at)? {
            report.pruned += missing.len() as u64;
        } else {
            problem(format!(
                "{} observations missing (first: {first}) in a batch retention has not reached",
                missing.len()
            ));
        }
    }
    report.batches += 1;
    Ok(())
}
