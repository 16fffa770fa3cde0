//! Assessment against IEC 62443-2-1:2024: the requirement catalog (`catalog`) and the declared
//! state the observations are compared with (`declared`: zones, conduits, allowed services).
//! Rules, scoring and advisories build on these.

pub mod catalog;
pub mod declared;
