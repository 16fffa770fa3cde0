//! shoko-agent: the passive network sensor and host agent.
//!
//! Packets flow `capture` -> `decode` -> `flow` + `inventory` (in `pipeline`) -> observations ->
//! `uplink` to the collector, or -> `analyze` document for offline use. Host inventories flow
//! `host` (one collector per source) -> `host::observations` -> `host::delta` -> `uplink`, on the
//! schedule of `host_schedule`.

pub mod analyze;
pub mod capture;
pub mod config;
pub mod decode;
pub mod dissect;
pub mod findings;
pub mod flow;
pub mod host;
pub mod host_schedule;
pub mod identity;
pub mod inventory;
pub mod live;
pub mod logging;
pub mod pipeline;
pub mod service;
pub mod spool;
pub mod synth;
pub mod telemetry;
pub mod uplink;
