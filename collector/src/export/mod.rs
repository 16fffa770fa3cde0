//! Exports to other tools: the inventory as a CycloneDX 1.5 BOM ([`cyclonedx`]).

pub mod cyclonedx;
