//! shoko-collector: receives observations from agents, stores them, fuses them into assets and
//! serves them.
//!
//! `pki` (CA, certificates, CRL) -> `ingest` (mutual-TLS sessions) -> `store` (engines) with `fuse`
//! (asset identity rules) -> `api` (HTTP JSON). `server` wires them; `demo` runs everything locally.

pub mod api;
pub mod baseline;
pub mod config;
pub mod datadir;
pub mod demo;
pub mod filter;
pub mod fuse;
pub mod ingest;
pub mod listing;
pub mod metrics;
pub mod pki;
pub mod server;
pub mod store;
