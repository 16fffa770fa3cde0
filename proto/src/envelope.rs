//! Envelopes: numbered batches of observations from one agent.

use crate::observation::Observation;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Most observations one envelope may carry.
pub const ENVELOPE_MAX_OBSERVATIONS: usize = 50_000;

/// A batch of observations. `(agent_id, seq)` identifies it: a receiver stores a batch once, however
/// often it is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Protocol version the batch is written in.
    pub protocol_version: u16,
    /// The sending agent (must match its certificate).
    pub agent_id: String,
    /// Batch sequence number, increasing by one per batch, starting at 1.
    pub seq: u64,
    /// When the agent first sent the batch.
    pub sent_at: Timestamp,
    /// The observations.
    pub observations: Vec<Observation>,
}

/// Why an envelope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Sequence numbers start at 1.
    #[error("sequence number 0 is not allowed")]
    ZeroSequence,
    /// Stores keep sequence numbers as signed 64-bit integers.
    #[error("sequence number {0} is over {max}", max = i64::MAX)]
    SequenceTooLarge(u64),
    /// Too many observations.
    #[error("{0} observations in one batch (most {ENVELOPE_MAX_OBSERVATIONS})")]
    TooManyObservations(usize),
    /// An observation's evidence is over its bounds.
    #[error("observation {index}: {reason}")]
    EvidenceOverBounds {
        /// Index of the observation in the batch.
        index: usize,
        /// What bound was exceeded.
        reason: String,
    },
}

impl Envelope {
    /// Checks the bounds every receiver enforces.
    pub fn validate(&self) -> Result<(), EnvelopeError> {
        if self.seq == 0 {
            return Err(EnvelopeError::ZeroSequence);
        }
        if i64::try_from(self.seq).is_err() {
            return Err(EnvelopeError::SequenceTooLarge(self.seq));
        }
        if self.observations.len() > ENVELOPE_MAX_OBSERVATIONS {
            return Err(EnvelopeError::TooManyObservations(self.observations.len()));
        }
        for (index, o) in self.observations.iter().enumerate() {
            o.provenance
                .evidence
                .check_bounds()
                .map_err(|reason| EnvelopeError::EvidenceOverBounds { index, reason })?;
        }
        Ok(())
    }
}
