//! How an assessment is shown: the scores table with the distribution per group and SPE, and the
//! explanation of one requirement (its derivation, thresholds, numbers per period, each rule's
//! counts and the subjects that violate it or lack data, with their evidence).

use super::catalog::Scoring;
use super::rules::{Evidence, Finding, Outcome};
use super::score::{Assessment, Derivation, RequirementScore, Rollup, fraction, period_label};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// A rule's counts in the current period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCounts {
    /// Rule id.
    pub rule: String,
    /// Satisfied.
    pub satisfied: usize,
    /// Violated.
    pub violated: usize,
    /// Unknown.
    pub unknown: usize,
    /// Not due yet.
    pub pending: usize,
}

/// Why a requirement has its level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// Catalog version.
    pub catalog_version: String,
    /// Thresholds.
    pub scoring: Scoring,
    /// The score (with its derivation and numbers per period).
    pub score: RequirementScore,
    /// Each rule's counts in the current period.
    pub rules: Vec<RuleCounts>,
    /// The current period's findings that are not satisfied, with their evidence.
    pub findings: Vec<Finding>,
}

/// The explanation of `requirement` (already in the catalog's spelling), none when the
/// assessment has no such requirement.
pub fn explain(derivation: &Derivation, requirement: &str) -> Option<Explanation> {
    let a = &derivation.assessment;
    let score = a.scores.iter().find(|s| s.requirement == requirement)?.clone();
    let current = derivation
        .findings()
        .first()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mine: Vec<&Finding> = current.iter().filter(|f| f.requirement == requirement).collect();
    let mut counts: BTreeMap<&str, RuleCounts> = BTreeMap::new();
    for f in &mine {
        let c = counts.entry(&f.rule).or_insert_with(|| RuleCounts {
            rule: f.rule.clone(),
            satisfied: 0,
            violated: 0,
            unknown: 0,
            pending: 0,
        });
        match f.outcome {
            Outcome::Satisfied => c.satisfied += 1,
            Outcome::Violated => c.violated += 1,
            Outcome::Unknown => c.unknown += 1,
            Outcome::Pending => c.pending += 1,
        }
    }
    let mut findings: Vec<Finding> = mine
        .into_iter()
        .filter(|f| f.outcome != Outcome::Satisfied)
        .cloned()
        .collect();
    findings.sort_by_key(|f| f.outcome);
    Some(Explanation {
        catalog_version: a.catalog_version.clone(),
        scoring: a.scoring,
        score,
        rules: counts.into_values().collect(),
        findings,
    })
}

/// The scores table, then the distribution per group and SPE.
pub fn scores_table(a: &Assessment) -> String {
    let mut out = String::new();
    let now = a.periods.first().map(period_label).unwrap_or_default();
    let _ = writeln!(
        out,
        "{} (CM, NET, COMP, EVENT), catalog {}, period {now} ({} days; {} periods read)\n",
        a.standard,
        a.catalog_version,
        a.period_days,
        a.periods.len()
    );
    let _ = writeln!(
        out,
        "{:<10} {:<22} {:<22} {:<4} {:>5} {:>5} {:>14}  TITLE",
        "REQ", "LEVEL", "PRACTICE", "DOC", "OBS", "CONF", "SAT/VIOL/UNK"
    );
    for s in &a.scores {
        let p = &s.periods[0];
        let _ = writeln!(
            out,
            "{:<10} {:<22} {:<22} {:<4} {:>5} {:>5} {:>14}  {}",
            s.requirement,
            s.level.as_str(),
            s.practice.as_str(),
            s.documentary.map_or("-", |l| l.as_str()),
            fraction(p.observability),
            fraction(p.conformance),
            format!("{}/{}/{}", p.satisfied, p.violated, p.unknown),
            s.title
        );
    }
    for (heading, rollups) in [("GROUP", &a.groups), ("SPE", &a.spes)] {
        let _ = writeln!(out, "\n{heading:<8} {:<8} DISTRIBUTION", "LOWEST");
        for r in rollups {
            let _ = writeln!(out, "{:<8} {:<8} {}", r.id, lowest(r), distribution(r));
        }
    }
    let _ = writeln!(out, "\nevidence digest {}", a.digest);
    out
}

fn lowest(r: &Rollup) -> &'static str {
    r.lowest.map_or("-", |l| l.as_str())
}

fn distribution(r: &Rollup) -> String {
    r.levels
        .iter()
        .map(|(level, n)| format!("{level} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How one piece of evidence is written.
pub fn evidence_line(e: &Evidence) -> String {
    match e {
        Evidence::Observation { id } => format!("observation {id}"),
        Evidence::Change { id } => format!("change {id}"),
        Evidence::Flows {
            hour,
            orig,
            resp,
            transport,
            port,
            app_protocol,
            flows,
        } => format!(
            "{flows} flows {orig} -> {resp} {transport}/{port}{} in the hour from {}",
            app_protocol
                .as_deref()
                .map(|p| format!(" {p}"))
                .unwrap_or_default(),
            hour
        ),
    }
}

impl std::fmt::Display for Explanation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.score;
        let sc = &self.scoring;
        writeln!(
            f,
            "{} {} (group {}, SPE {}; {})",
            s.requirement,
            s.title,
            s.group,
            s.spe,
            match s.evidence {
                super::catalog::EvidenceKind::Telemetry => "telemetry",
                super::catalog::EvidenceKind::AttestationOnly => "attestation-only",
            }
        )?;
        writeln!(
            f,
            "level {} (practice {}, documentary {})\n\nDerivation:",
            s.level.as_str(),
            s.practice.as_str(),
            s.documentary.map_or("-", |l| l.as_str())
        )?;
        for r in &s.reasons {
            writeln!(f, "  - {r}")?;
        }
        writeln!(
            f,
            "\nThresholds (catalog {}): observability >= {} to rate; ML3: conformance >= {} and observability >= {} in each of {} periods with at least {} subjects, no violation open over {} days, none recurring; ML4: metric at target in those periods and not worsening over {} periods",
            self.catalog_version,
            sc.observability_min,
            sc.ml3_conformance,
            sc.ml3_observability,
            sc.ml3_periods,
            s.min_subjects,
            s.sla_days,
            sc.ml4_periods
        )?;
        if !s.critical.is_empty() {
            writeln!(f, "Critical violations (ML1 at most):")?;
            for c in &s.critical {
                writeln!(f, "  - {c}")?;
            }
        }
        if let Some(m) = &s.metric {
            writeln!(
                f,
                "Metric: {} (target {}, {:?} is better)",
                m.name, m.target, m.better
            )?;
        }
        writeln!(f, "\nPeriods (newest first):")?;
        for p in &s.periods {
            writeln!(
                f,
                "  {}  subjects {:>5}  satisfied {:>5}  violated {:>5}  unknown {:>5}  obs {:>4}  conf {:>4}  metric {}{}",
                period_label(&p.period),
                p.subjects,
                p.satisfied,
                p.violated,
                p.unknown,
                fraction(p.observability),
                fraction(p.conformance),
                p.metric.map_or("-".into(), |v| format!("{v:.2}")),
                match (p.records, p.records_late) {
                    (0, 0) => String::new(),
                    (n, 0) => format!("  records {n}"),
                    (n, late) => format!("  records {n} (and {late} recorded late)"),
                }
            )?;
            writeln!(f, "      coverage: {}", p.coverage_statement)?;
        }
        writeln!(f, "\nRules (current period):")?;
        for r in &self.rules {
            writeln!(
                f,
                "  {}: {} satisfied, {} violated, {} unknown, {} pending",
                r.rule, r.satisfied, r.violated, r.unknown, r.pending
            )?;
        }
        if !self.findings.is_empty() {
            writeln!(f, "\nNot satisfied (current period):")?;
        }
        for x in &self.findings {
            writeln!(f, "  {:?} {}: {} ({})", x.outcome, x.subject, x.detail, x.rule)?;
            for e in &x.evidence {
                writeln!(f, "      {}", evidence_line(e))?;
            }
        }
        if !s.attestations.is_empty() {
            let ids: Vec<String> = s.attestations.iter().map(i64::to_string).collect();
            writeln!(f, "\nAttestations used: {}", ids.join(", "))?;
        }
        writeln!(f, "\nEvidence digest {}", s.evidence_digest)
    }
}
