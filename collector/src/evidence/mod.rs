//! Tamper evidence and what an auditor takes away: the hash chain of stored batches
//! ([`chain`], checked by `verify-store`).

pub mod chain;
