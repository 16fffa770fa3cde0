//! shoko-collector: receives observations from agents, stores them, fuses them into assets and
//! serves them.
//!
//! `pki` (CA, certificates, CRL) -> `ingest` (mutual-TLS sessions, group-commit writer) -> `store`
//! (SQLite and PostgreSQL engines behind one trait) with `fuse` (asset identity, claims, flows per
//! hour, change records) -> `assess` (catalog, rules, maturity scores) -> `http` (HTTPS, login and
//! roles from `access`) serving `ui` (web pages) and `api` (JSON, with `filter`); `listing`
//! (terminal), `report` and `evidence` (signed bundles, hash chain) and `export` (CycloneDX,
//! SIEM) for auditors and other tools. `baseline` approves inventories and reports drift;
//! `upkeep` deletes old raw observations and records absent assets. `server` wires them; `demo`
//! runs everything locally.

pub mod access;
pub mod advisory;
pub mod api;
pub mod assess;
pub mod baseline;
pub mod config;
pub mod datadir;
pub mod demo;
pub mod events;
pub mod evidence;
pub mod export;
pub mod filter;
pub mod fuse;
pub mod http;
pub mod ingest;
pub mod listing;
pub mod metrics;
pub mod pki;
pub mod report;
pub mod server;
pub mod store;
pub mod ui;
pub mod upkeep;
