//! The uplink: delivers observations to the collector over mutually authenticated TLS 1.3.
//!
//! Observations are queued as batches; batches are numbered when first sent and re-sent byte for byte
//! until the collector acknowledges them, so a lost ack never stores a batch twice. Connections are
//! retried with exponential back-off.

mod client;
pub mod tls;

pub use client::{Uplink, UplinkConfig, UplinkError, UplinkStatus};
