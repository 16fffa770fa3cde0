//! The shoko wire and evidence model, shared by agents and collectors.
//!
//! - [`observation`]: what an agent saw (assets, identities, software, services, flows, host facts,
//!   configuration checks, protocol events, its own telemetry);
//! - [`provenance`]: where each observation came from and the evidence behind it;
//! - [`envelope`]: a numbered batch of observations from one agent;
//! - [`message`]: the session messages (hello, welcome, batch, ack, error);
//! - [`codec`]: length-prefixed MessagePack framing with a maximum frame length.
//!
//! This crate holds no I/O policy: it only says what the bytes mean.

pub mod codec;
pub mod digest;
pub mod envelope;
pub mod message;
pub mod net;
pub mod observation;
pub mod provenance;
pub mod time;

pub use codec::{CodecError, EncodedMessage, MessageCodec};
pub use digest::Sha256Digest;
pub use envelope::{Envelope, EnvelopeError};
pub use message::{ErrorCode, Message};
pub use net::MacAddr;
pub use observation::*;
pub use provenance::*;
pub use time::Timestamp;

/// The protocol versions this build speaks, newest last. A session uses the highest version both
/// sides list in their hello.
pub const SUPPORTED_PROTOCOL_VERSIONS: &[u16] = &[1];

/// The newest protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 1;

/// Default maximum length of one frame on the wire (16 MiB).
pub const DEFAULT_MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

/// Picks the highest version present in both lists, if any.
pub fn negotiate_version(ours: &[u16], theirs: &[u16]) -> Option<u16> {
    ours.iter().copied().filter(|v| theirs.contains(v)).max()
}
