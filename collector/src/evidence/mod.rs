//! Tamper evidence and what an auditor takes away: the hash chain of stored batches
//! ([`chain`], checked by `verify-store`), evidence frames as pcap ([`frames`]) and signed evidence
//! bundles ([`bundle`]).

pub mod bundle;
pub mod chain;
pub mod frames;
