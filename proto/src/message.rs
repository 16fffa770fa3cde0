//! Session messages between an agent and a collector.
//!
//! A session: the agent sends [`Message::Hello`]; the collector answers [`Message::Welcome`] with the
//! chosen protocol version (or [`Message::Error`] and closes); then the agent sends
//! [`Message::Batch`]es and the collector answers each with [`Message::Ack`] once it is durably
//! stored. Any refusal is an [`Message::Error`] followed by closing the connection.

use crate::envelope::Envelope;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// One framed message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Message {
    /// Agent -> collector: opens a session.
    Hello {
        /// The agent's id (must match its certificate).
        agent_id: String,
        /// Agent software version.
        agent_version: String,
        /// Protocol versions the agent speaks.
        protocol_versions: Vec<u16>,
        /// The agent's clock when it sent the hello: the collector measures the agent's clock
        /// offset from it (absent from older agents).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent_time: Option<Timestamp>,
    },
    /// Collector -> agent: session accepted.
    Welcome {
        /// Protocol version chosen for the session.
        protocol_version: u16,
        /// Collector software version.
        collector_version: String,
        /// Highest batch sequence number already stored for this agent (0 for none), so a restarted
        /// agent numbers new batches after it.
        highest_stored_seq: u64,
    },
    /// Agent -> collector: a batch of observations.
    Batch(Envelope),
    /// Collector -> agent: a batch is durably stored.
    Ack {
        /// The sequence number of the batch acknowledged.
        seq: u64,
        /// Highest sequence number durably stored for this agent.
        highest_stored_seq: u64,
        /// True when the batch had already been stored (a re-send).
        duplicate: bool,
    },
    /// Either side: a refusal. The sender closes the connection after it.
    Error {
        /// What went wrong.
        code: ErrorCode,
        /// A human-readable explanation.
        message: String,
    },
}

impl Message {
    /// Short name of the message type, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Message::Hello { .. } => "hello",
            Message::Welcome { .. } => "welcome",
            Message::Batch(_) => "batch",
            Message::Ack { .. } => "ack",
            Message::Error { .. } => "error",
        }
    }
}

/// Typed refusal reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No protocol version in common.
    UnsupportedVersion,
    /// The agent id in a message differs from the certificate's.
    AgentIdMismatch,
    /// The agent's certificate has been revoked.
    Revoked,
    /// A message arrived out of order (e.g. a batch before hello).
    ProtocolViolation,
    /// A frame longer than the maximum frame length.
    FrameTooLarge,
    /// Bytes that do not decode as a message.
    Malformed,
    /// A batch over its bounds.
    InvalidBatch,
    /// The collector cannot store now; retry later.
    Unavailable,
    /// Anything else.
    Internal,
}
