//! Exports to other tools: the inventory as a CycloneDX 1.5 BOM ([`cyclonedx`]); change records
//! and protocol events to SIEMs as syslog or OCSF ([`siem`]).

pub mod cyclonedx;
pub mod siem;
