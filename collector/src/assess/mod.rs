//! Assessment against IEC 62443-2-1:2024: the requirement catalog (`catalog`), the declared state
//! the observations are compared with (`declared`: zones, conduits, allowed services) and what
//! people attest (`attest`: documents, mitigations, not-applicable statements); the rules engine
//! (`rules`) evaluates subjects per period into findings with their evidence; `score` turns the
//! findings of consecutive periods and the attestations into maturity levels, and `explain`
//! shows them.

pub mod attest;
pub mod catalog;
pub mod declared;
pub mod explain;
pub mod rules;
pub mod score;
