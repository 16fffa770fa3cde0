//! The auditor's report: scope, method, scores with a summary of their evidence, inventory,
//! changes, vulnerabilities, attestations and an appendix of the catalog and thresholds, built
//! once ([`Report::build`]) and written as self-contained printable HTML ([`html`]), JSON (the
//! struct itself) or CSV tables ([`csv`]).

pub mod csv;
pub mod html;

use crate::advisory::Vulnerabilities;
use crate::advisory::matching::Match;
use crate::assess::attest::AttestationView;
use crate::assess::catalog::Scoring;
use crate::assess::rules::{Finding, Inputs, Outcome, Period};
use crate::assess::score::{Assessment, Derivation, assess};
use crate::store::{AgentView, AssetView, ChangeView, StoreError};
use serde::Serialize;
use shoko_proto::Timestamp;

/// Subjects not satisfied listed per requirement in the report (all are in the bundle).
pub const LISTED_PER_REQUIREMENT: usize = 25;

/// What the report covers.
#[derive(Debug, Clone, Serialize)]
pub struct Scope {
    /// The assessed periods, newest first.
    pub periods: Vec<Period>,
    /// Days per period.
    pub period_days: u32,
    /// The requirements reported (all when none was named).
    pub requirements: Vec<String>,
    /// Agents that delivered evidence.
    pub agents: Vec<AgentView>,
    /// Assets in the inventory.
    pub assets: usize,
    /// Declared zones (name and kind).
    pub zones: Vec<String>,
}

/// The current period's evidence behind one requirement's score, in short.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceSummary {
    /// Requirement id.
    pub requirement: String,
    /// Findings satisfied in the current period.
    pub satisfied: usize,
    /// Violated.
    pub violated: usize,
    /// Without data.
    pub unknown: usize,
    /// Not due yet.
    pub pending: usize,
    /// The first subjects not satisfied, with their evidence (at most
    /// [`LISTED_PER_REQUIREMENT`]).
    pub not_satisfied: Vec<Finding>,
}

/// One inventory row.
#[derive(Debug, Clone, Serialize)]
pub struct InventoryRow {
    /// Asset id.
    pub id: i64,
    /// Fusion key.
    pub key: String,
    /// Best vendor.
    pub vendor: String,
    /// Best model or product.
    pub model: String,
    /// Best firmware or OS version.
    pub firmware: String,
    /// Declared zone of its first address in one ("" when none).
    pub zone: String,
    /// Device class.
    pub class: String,
    /// IP addresses.
    pub ips: Vec<String>,
    /// Protocols of its services.
    pub protocols: Vec<String>,
    /// Last seen.
    pub last_seen: Timestamp,
}

/// The method, in words, for the report's reader.
pub const METHOD: &[&str] = &[
    "Evidence is gathered passively: network sensors on SPAN/TAP ports decode industrial and IT protocols without transmitting, and host agents read configuration, software and patch state. Every observation is stored with its provenance (agent, parser, capture time, frame digests) and sealed into a per-agent hash chain on receipt.",
    "Observations are fused into assets by identity keys in order of strength (vendor and serial, machine id, MAC, IP within a VLAN). Changes of identity, firmware, services and software are recorded with the observations before and after.",
    "Each requirement of the catalog is evaluated by rules over each period: every subject in scope (an asset, a conversation, a change, a host) is satisfied, violated, or without data. Observability is the share of subjects with data, conformance the share of decided subjects satisfied.",
    "Maturity per requirement: insufficient evidence below the observability threshold; ML1 when practised at all; ML3 when conformance and observability hold at the thresholds in each of the last periods, each with enough subjects, no violation open past its SLA and no kind of violation recurring (the same kind at the same place in two periods, whichever hosts); ML4 when the requirement's metric is also at target in each of those periods and not worsening over the longer window (an improving trend alone is not enough); ML2 requires a valid approved document, and levels above ML1 require one.",
    "Gates and attestations (shoko's policy): a critical kind of violation (a direct enterprise-to-control flow, remote access around the jump hosts, Telnet into an IACS zone, a safety zone on an undeclared conduit, a known-exploited vulnerability without mitigation) in any of the last periods caps the requirement at ML1 whatever the documents; a document over practice that is not met leaves it not met; a not-applicable statement contradicted by a violation in the period is set aside; records of practice count only when entered within their period or the grace days after. Attestations are listed with who made them.",
];

/// The catalog and thresholds used.
#[derive(Debug, Clone, Serialize)]
pub struct Appendix {
    /// Catalog version.
    pub catalog_version: String,
    /// The standard.
    pub standard: String,
    /// Thresholds.
    pub scoring: Scoring,
    /// SHA-256 over every score's evidence.
    pub assessment_digest: String,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// When it was produced.
    pub generated_at: Timestamp,
    /// What it covers.
    pub scope: Scope,
    /// How the evidence was gathered and scored.
    pub method: Vec<String>,
    /// The scores (of the reported requirements; roll-ups over all).
    pub assessment: Assessment,
    /// Per reported requirement, the current period's evidence in short.
    pub evidence: Vec<EvidenceSummary>,
    /// The inventory.
    pub inventory: Vec<InventoryRow>,
    /// Change records.
    pub changes: Vec<ChangeView>,
    /// Vulnerabilities: advisories matching assets.
    pub vulnerabilities: Vec<Match>,
    /// Attestations (revoked ones too).
    pub attestations: Vec<AttestationView>,
    /// Catalog and thresholds.
    pub appendix: Appendix,
}

/// A report and the derivation it was built from (all periods' findings, for evidence bundles).
pub struct Built {
    /// The report.
    pub report: Report,
    /// The scores with every period's findings.
    pub derivation: Derivation,
}

impl Report {
    /// Assesses the periods of `period_days` ending at `at` and gathers the rest; `requirements`
    /// (catalog ids) limits the scores and evidence reported, empty for all.
    pub fn build(
        inputs: &Inputs<'_>,
        at: Timestamp,
        period_days: u32,
        requirements: &[String],
    ) -> Result<Built, StoreError> {
        let derivation = assess(inputs, at, period_days)?;
        let store = inputs.store;
        let assets = store.assets()?;
        let wanted = |id: &str| requirements.is_empty() || requirements.iter().any(|r| r == id);
        let mut assessment = derivation.assessment.clone();
        assessment.scores.retain(|s| wanted(&s.requirement));
        let current = derivation
            .findings()
            .first()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let evidence = assessment
            .scores
            .iter()
            .map(|s| summarise(&s.requirement, current))
            .collect();
        let report = Report {
            generated_at: Timestamp::now(),
            scope: Scope {
                periods: assessment.periods.clone(),
                period_days,
                requirements: assessment.scores.iter().map(|s| s.requirement.clone()).collect(),
                agents: store.agents()?,
                assets: assets.len(),
                zones: inputs.declared.map_or_else(Vec::new, |d| {
                    d.zones
                        .iter()
                        .map(|z| format!("{} ({})", z.name, z.kind.as_str()))
                        .collect()
                }),
            },
            method: METHOD.iter().map(|m| m.to_string()).collect(),
            evidence,
            inventory: assets.iter().map(|a| inventory_row(a, inputs)).collect(),
            changes: store.changes()?,
            vulnerabilities: Vulnerabilities::read(store, &assets)?.matches,
            attestations: store.attestations()?,
            appendix: Appendix {
                catalog_version: assessment.catalog_version.clone(),
                standard: assessment.standard.clone(),
                scoring: assessment.scoring,
                assessment_digest: assessment.digest.clone(),
            },
            assessment,
        };
        Ok(Built { report, derivation })
    }
}

/// The current period's findings of one requirement, counted, with the first not satisfied.
fn summarise(requirement: &str, findings: &[Finding]) -> EvidenceSummary {
    let mine: Vec<&Finding> = findings.iter().filter(|f| f.requirement == requirement).collect();
    let count = |o: Outcome| mine.iter().filter(|f| f.outcome == o).count();
    EvidenceSummary {
        requirement: requirement.to_string(),
        satisfied: count(Outcome::Satisfied),
        violated: count(Outcome::Violated),
        unknown: count(Outcome::Unknown),
        pending: count(Outcome::Pending),
        not_satisfied: mine
            .iter()
            .filter(|f| matches!(f.outcome, Outcome::Violated | Outcome::Unknown))
            .take(LISTED_PER_REQUIREMENT)
            .map(|f| (*f).clone())
            .collect(),
    }
}

/// An asset as an inventory row.
pub fn inventory_row(a: &AssetView, inputs: &Inputs<'_>) -> InventoryRow {
    let attribute = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| a.attributes.get(*n))
            .cloned()
            .unwrap_or_default()
    };
    let zone = inputs
        .declared
        .and_then(|d| a.ips.iter().find_map(|ip| d.zone_of(*ip)))
        .map(|z| z.name.clone())
        .unwrap_or_default();
    let mut protocols: Vec<String> = a.services.iter().filter_map(|s| s.protocol.clone()).collect();
    protocols.sort();
    protocols.dedup();
    InventoryRow {
        id: a.id,
        key: a.key.clone(),
        vendor: attribute(&["vendor"]),
        model: attribute(&["model", "product"]),
        firmware: attribute(&["firmware", "os"]),
        zone,
        class: attribute(&["class", "device_type"]),
        ips: a.ips.iter().map(|ip| ip.to_string()).collect(),
        protocols,
        last_seen: a.last_seen,
    }
}
