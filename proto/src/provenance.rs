//! Provenance: where an observation came from, which parser produced it, and the evidence behind it.

use crate::digest::Sha256Digest;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Most frames one claim may carry as evidence.
pub const EVIDENCE_MAX_FRAMES: usize = 4;
/// Most bytes kept of one evidence frame (the digest always covers the whole captured frame).
pub const EVIDENCE_MAX_FRAME_BYTES: usize = 2048;
/// Most files one claim may cite.
pub const EVIDENCE_MAX_FILES: usize = 16;

/// Where, by what, and from which bytes an observation was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The input the agent read.
    pub source: Source,
    /// The parser that produced the observation.
    pub parser: ParserRef,
    /// When the observed thing was seen (capture time for packets, read time for files).
    pub observed_at: Timestamp,
    /// Frames and files that back the observation.
    #[serde(default)]
    pub evidence: Evidence,
}

/// The input an observation was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A live capture interface.
    Interface {
        /// Interface name, e.g. `eth1`.
        name: String,
    },
    /// An offline capture file.
    CaptureFile {
        /// Path as given to the agent.
        path: String,
    },
    /// A host inventory collector (dpkg, sshd_config, /proc/net ...).
    HostCollector {
        /// Collector name.
        name: String,
    },
    /// The agent itself (self-telemetry).
    Agent,
}

/// Name and version of the parser that produced an observation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParserRef {
    /// Parser name, e.g. `modbus` or `dpkg-status`.
    pub name: String,
    /// Parser version (bumped when its output changes meaning).
    pub version: String,
}

impl ParserRef {
    /// Builds a parser reference.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        ParserRef {
            name: name.into(),
            version: version.into(),
        }
    }
}

/// The frames and files an observation rests on.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Evidence {
    /// Network frames (digest of each, and a bounded copy).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<EvidenceFrame>,
    /// Host files (path and digest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<EvidenceFile>,
}

/// One captured frame behind a claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceFrame {
    /// SHA-256 of the whole captured frame.
    pub sha256: Sha256Digest,
    /// Capture time of the frame.
    pub timestamp: Timestamp,
    /// Link type of the frame (pcap LINKTYPE_* value), so it can be written back to a pcap.
    pub linktype: u32,
    /// Length of the frame on the wire.
    pub orig_len: u32,
    /// The first bytes of the frame, at most [`EVIDENCE_MAX_FRAME_BYTES`].
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

impl EvidenceFrame {
    /// Builds evidence for a frame, keeping a bounded copy of its bytes.
    pub fn capture(timestamp: Timestamp, linktype: u32, orig_len: u32, frame: &[u8]) -> Self {
        EvidenceFrame {
            sha256: Sha256Digest::of(frame),
            timestamp,
            linktype,
            orig_len,
            data: frame[..frame.len().min(EVIDENCE_MAX_FRAME_BYTES)].to_vec(),
        }
    }
}

/// One host file behind a claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceFile {
    /// Path of the file on the host.
    pub path: String,
    /// SHA-256 of the file's content when read.
    pub sha256: Sha256Digest,
}

impl Evidence {
    /// Checks the bounds every receiver enforces.
    pub fn check_bounds(&self) -> Result<(), String> {
        if self.frames.len() > EVIDENCE_MAX_FRAMES {
            return Err(format!(
                "{} evidence frames (most {EVIDENCE_MAX_FRAMES})",
                self.frames.len()
            ));
        }
        if let Some(f) = self
            .frames
            .iter()
            .find(|f| f.data.len() > EVIDENCE_MAX_FRAME_BYTES)
        {
            return Err(format!(
                "evidence frame of {} bytes (most {EVIDENCE_MAX_FRAME_BYTES})",
                f.data.len()
            ));
        }
        if self.files.len() > EVIDENCE_MAX_FILES {
            return Err(format!(
                "{} evidence files (most {EVIDENCE_MAX_FILES})",
                self.files.len()
            ));
        }
        Ok(())
    }
}
