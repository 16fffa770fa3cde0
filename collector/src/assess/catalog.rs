//! The requirement catalog as data: the IEC 62443-2-1:2024 requirement ids shoko assesses, their
//! paraphrased titles, groups and SPEs, whether telemetry can evidence them, their rules,
//! SLAs, metrics, cross references and the scoring thresholds. One versioned file is embedded
//! (`collector/catalog/iec-62443-2-1-2024.toml`); a user's copy replaces it. Every catalog is
//! checked on load; errors name the file and line.

use super::rules::KINDS;
use super::rules::coverage::Population;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use toml::Spanned;

/// The catalog shipped with shoko.
pub const EMBEDDED: &str = include_str!("../../catalog/iec-62443-2-1-2024.toml");

/// Every requirement id a catalog defines, in order.
pub const REQUIREMENT_IDS: [&str; 38] = [
    "CM 1.1",
    "CM 1.2",
    "CM 1.3",
    "CM 1.4",
    "NET 1.1",
    "NET 1.2",
    "NET 1.3",
    "NET 1.4",
    "NET 1.5",
    "NET 1.6",
    "NET 1.7",
    "NET 1.8",
    "NET 1.9",
    "NET 2.1",
    "NET 2.2",
    "NET 2.3",
    "NET 3.1",
    "NET 3.2",
    "NET 3.3",
    "COMP 1.1",
    "COMP 1.2",
    "COMP 2.1",
    "COMP 2.2",
    "COMP 2.3",
    "COMP 3.1",
    "COMP 3.2",
    "COMP 3.3",
    "COMP 3.4",
    "COMP 3.5",
    "EVENT 1.1",
    "EVENT 1.2",
    "EVENT 1.3",
    "EVENT 1.4",
    "EVENT 1.5",
    "EVENT 1.6",
    "EVENT 1.7",
    "EVENT 1.8",
    "EVENT 1.9",
];

/// Scoring thresholds (the spec's defaults in the embedded catalog).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    /// Days in one evaluation period.
    pub period_days: u32,
    /// Below this observability a requirement has insufficient evidence.
    pub observability_min: f64,
    /// Conformance needed in each of the last `ml3_periods` periods for ML3.
    pub ml3_conformance: f64,
    /// Observability needed for ML3.
    pub ml3_observability: f64,
    /// Consecutive periods ML3 looks at.
    pub ml3_periods: u32,
    /// Periods over which an ML4 metric must be at target or improving.
    pub ml4_periods: u32,
    /// Longest a violation may stay open for ML3 (requirements may set their own `sla_days`).
    pub violation_sla_days: u32,
    /// Subjects a period needs for ML3 or ML4 (requirements may set their own `min_subjects`).
    #[serde(default = "default_min_subjects")]
    pub min_subjects: u32,
    /// Days after its period within which a record of practice must be entered to count for it.
    #[serde(default = "default_record_grace_days")]
    pub record_grace_days: u32,
    /// Hours after its period's end within which an observation must be received to count as
    /// contemporaneous; later ones are retrospective (they show a period's state, not practice).
    #[serde(default = "default_retrospective_grace_hours")]
    pub retrospective_grace_hours: u32,
    /// Minutes an observation's capture time may lie after its receipt before it is from the
    /// future (a wrong clock).
    #[serde(default = "default_future_tolerance_minutes")]
    pub future_tolerance_minutes: u32,
}

/// The shortest period scores are computed over: four of them must span a month of practice.
pub const MIN_PERIOD_DAYS: u32 = 7;

fn default_min_subjects() -> u32 {
    5
}

fn default_record_grace_days() -> u32 {
    7
}

fn default_retrospective_grace_hours() -> u32 {
    48
}

fn default_future_tolerance_minutes() -> u32 {
    5
}

/// A security program element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spe {
    /// `CM`, `NET`, `COMP`, `EVENT`.
    pub code: String,
    /// Its number in the standard (2, 3, 4, 7).
    pub number: u32,
    /// Paraphrased title.
    pub title: String,
}

/// A group of requirements (`NET 1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// `NET 1`.
    pub id: String,
    /// Paraphrased title.
    pub title: String,
}

/// What can evidence a requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceKind {
    /// Observations can show the practice (up to ML4).
    Telemetry,
    /// Only attested documents and records (up to ML2 unless records of practice are attested).
    AttestationOnly,
}

/// Which way a metric improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Lower is better.
    Lower,
    /// Higher is better.
    Higher,
}

/// How a period's metric value is computed from the requirement's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    /// Satisfied / (satisfied + violated).
    Conformance,
    /// Median of the values the rules give their subjects.
    Median,
    /// Mean of those values.
    Mean,
}

/// An ML4 process metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    /// What is measured.
    pub name: String,
    /// Target value.
    pub target: f64,
    /// Which way is better.
    pub better: Better,
    /// How a period's value is computed.
    pub measure: Measure,
}

/// One evidence rule: a stable id and what it checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// `net-1.1/no-enterprise-to-control`.
    pub id: String,
    /// What it checks.
    pub description: String,
}

/// A requirement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Requirement {
    /// `NET 1.1`.
    pub id: String,
    /// Its SPE code (`NET`).
    pub spe: String,
    /// Its group (`NET 1`).
    pub group: String,
    /// Paraphrased title.
    pub title: String,
    /// What can evidence it.
    pub evidence: EvidenceKind,
    /// Its evidence rules (none when attestation-only).
    pub rules: Vec<Rule>,
    /// Days a violation or an open item may last (the scoring default when not set).
    pub sla_days: u32,
    /// Its ML4 metric, if it has one.
    pub metric: Option<Metric>,
    /// Kinds of violation (`rules::KINDS`) that cap it at ML1 while one was seen in the last
    /// `ml3_periods` periods, whatever the ratio and the documents.
    pub critical: Vec<String>,
    /// Subjects a period needs for ML3 or ML4 (fewer where the subjects are zones or zone pairs).
    pub min_subjects: u32,
    /// What its evidence is gathered from (zones seen by sensors, hosts with agents): its
    /// observability is measured against that population, and ML3 needs it known.
    #[serde(default)]
    pub population: Option<Population>,
    /// Cross references by framework (a working crosswalk).
    pub crossref: BTreeMap<String, Vec<String>>,
    /// A user's note.
    pub note: Option<String>,
}

/// A requirement as written in the file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequirementFile {
    id: Spanned<String>,
    title: String,
    evidence: EvidenceKind,
    rules: Vec<Spanned<String>>,
    #[serde(default)]
    sla_days: Option<u32>,
    #[serde(default)]
    metric: Option<Metric>,
    #[serde(default)]
    critical: Vec<Spanned<String>>,
    #[serde(default)]
    min_subjects: Option<u32>,
    #[serde(default)]
    population: Option<Population>,
    #[serde(default)]
    crossref: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    note: Option<String>,
}

/// The file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    version: String,
    standard: String,
    crosswalk: String,
    scoring: Spanned<Scoring>,
    spe: Vec<Spe>,
    group: Vec<Group>,
    requirement: Vec<RequirementFile>,
}

/// A checked catalog.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalog {
    /// Catalog version (stored with every score).
    pub version: String,
    /// The standard it covers.
    pub standard: String,
    /// How the cross references are to be read.
    pub crosswalk: String,
    /// Scoring thresholds.
    pub scoring: Scoring,
    /// SPEs.
    pub spes: Vec<Spe>,
    /// Groups.
    pub groups: Vec<Group>,
    /// Requirements, in catalog order.
    pub requirements: Vec<Requirement>,
}

/// Why a catalog was refused: the file, the line where known, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CatalogError(String);

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(1, |t| t.matches('\n').count() + 1)
}

impl Catalog {
    /// The embedded catalog.
    pub fn embedded() -> Self {
        Catalog::parse(EMBEDDED, "embedded catalog").expect("the embedded catalog is checked by its tests")
    }

    /// Loads `path`, or the embedded catalog without one.
    pub fn load(path: Option<&Path>) -> Result<Self, CatalogError> {
        match path {
            None => Ok(Catalog::embedded()),
            Some(p) => {
                let text =
                    std::fs::read_to_string(p).map_err(|e| CatalogError(format!("{}: {e}", p.display())))?;
                Catalog::parse(&text, &p.display().to_string())
            }
        }
    }

    /// Parses and checks a catalog; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, CatalogError> {
        let file: CatalogFile = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| format!(":{}", line_of(text, s.start)))
                .unwrap_or_default();
            CatalogError(format!("{origin}{line}: {}", e.message()))
        })?;
        let at =
            |offset: usize, msg: String| CatalogError(format!("{origin}:{}: {msg}", line_of(text, offset)));
        let scoring_at = file.scoring.span().start;
        let scoring = file.scoring.into_inner();
        check_scoring(&scoring).map_err(|m| at(scoring_at, m))?;
        let spes: BTreeSet<&str> = file.spe.iter().map(|s| s.code.as_str()).collect();
        let groups: BTreeSet<&str> = file.group.iter().map(|g| g.id.as_str()).collect();
        let mut seen = BTreeSet::new();
        let mut requirements = Vec::new();
        for r in &file.requirement {
            let (id, offset) = (r.id.get_ref().clone(), r.id.span().start);
            if !REQUIREMENT_IDS.contains(&id.as_str()) {
                return Err(at(offset, format!("unknown requirement id {id:?}")));
            }
            if !seen.insert(id.clone()) {
                return Err(at(offset, format!("requirement {id} is defined twice")));
            }
            let (spe, number) = id.split_once(' ').unwrap_or_default();
            let spe = spe.to_string();
            let group = format!("{spe} {}", number.split('.').next().unwrap_or_default());
            if !spes.contains(spe.as_str()) {
                return Err(at(
                    offset,
                    format!("requirement {id}: no [[spe]] with code {spe:?}"),
                ));
            }
            if !groups.contains(group.as_str()) {
                return Err(at(
                    offset,
                    format!("requirement {id}: no [[group]] with id {group:?}"),
                ));
            }
            let rules = rules(&id, r, text, origin)?;
            match (r.evidence, rules.is_empty()) {
                (EvidenceKind::Telemetry, true) => {
                    return Err(at(
                        offset,
                        format!("requirement {id}: telemetry evidence needs at least one rule"),
                    ));
                }
                (EvidenceKind::AttestationOnly, false) => {
                    return Err(at(
                        offset,
                        format!("requirement {id}: attestation-only has no rules"),
                    ));
                }
                (EvidenceKind::AttestationOnly, true) if r.metric.is_some() => {
                    return Err(at(
                        offset,
                        format!("requirement {id}: attestation-only has no metric (telemetry measures it)"),
                    ));
                }
                _ => {}
            }
            for kind in &r.critical {
                if !KINDS.iter().any(|(k, _)| k == kind.get_ref()) {
                    let known: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
                    return Err(at(
                        kind.span().start,
                        format!(
                            "requirement {id}: unknown kind of violation {:?} (known: {})",
                            kind.get_ref(),
                            known.join(", ")
                        ),
                    ));
                }
            }
            requirements.push(Requirement {
                id,
                spe,
                group,
                title: r.title.clone(),
                evidence: r.evidence,
                rules,
                sla_days: r.sla_days.unwrap_or(scoring.violation_sla_days),
                metric: r.metric.clone(),
                critical: r.critical.iter().map(|k| k.get_ref().clone()).collect(),
                min_subjects: r.min_subjects.unwrap_or(scoring.min_subjects),
                population: r.population,
                crossref: r.crossref.clone(),
                note: r.note.clone(),
            });
        }
        let missing: Vec<&str> = REQUIREMENT_IDS
            .iter()
            .filter(|id| !seen.contains(**id))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(CatalogError(format!(
                "{origin}: requirements missing: {}",
                missing.join(", ")
            )));
        }
        Ok(Catalog {
            version: file.version,
            standard: file.standard,
            crosswalk: file.crosswalk,
            scoring,
            spes: file.spe,
            groups: file.group,
            requirements,
        })
    }

    /// A requirement by id (`NET 1.1` or `NET-1.1`).
    pub fn requirement(&self, id: &str) -> Option<&Requirement> {
        let id = id.replacen('-', " ", 1);
        self.requirements.iter().find(|r| r.id.eq_ignore_ascii_case(&id))
    }
}

/// Thresholds must be fractions and counts that make sense.
fn check_scoring(s: &Scoring) -> Result<(), String> {
    for (name, v) in [
        ("observability_min", s.observability_min),
        ("ml3_conformance", s.ml3_conformance),
        ("ml3_observability", s.ml3_observability),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return Err(format!("scoring.{name} = {v}: expected a fraction from 0 to 1"));
        }
    }
    if s.period_days < MIN_PERIOD_DAYS {
        return Err(format!(
            "scoring.period_days = {}: periods shorter than {MIN_PERIOD_DAYS} days are refused (four of them must span a month of practice)",
            s.period_days
        ));
    }
    if s.ml3_periods == 0 {
        return Err("scoring: ml3_periods must be at least 1".into());
    }
    if s.ml4_periods < s.ml3_periods {
        return Err(format!(
            "scoring.ml4_periods = {} is shorter than ml3_periods = {}",
            s.ml4_periods, s.ml3_periods
        ));
    }
    Ok(())
}

/// The rules of a requirement, each `id: description` with an id of that requirement
/// (`net-1.1/...` for NET 1.1).
fn rules(id: &str, r: &RequirementFile, text: &str, origin: &str) -> Result<Vec<Rule>, CatalogError> {
    let prefix = format!("{}/", id.to_lowercase().replace(' ', "-"));
    r.rules
        .iter()
        .map(|rule| {
            let fail =
                |m: String| CatalogError(format!("{origin}:{}: {m}", line_of(text, rule.span().start)));
            let (rule_id, description) = rule
                .get_ref()
                .split_once(": ")
                .ok_or_else(|| fail(format!("rule {:?}: expected \"ID: description\"", rule.get_ref())))?;
            if !rule_id.starts_with(&prefix) || rule_id.len() == prefix.len() {
                return Err(fail(format!(
                    "rule {rule_id:?} of {id}: its id must start with {prefix:?}"
                )));
            }
            Ok(Rule {
                id: rule_id.to_string(),
                description: description.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalog_has_every_requirement_with_the_spec_defaults() {
        let c = Catalog::embedded();
        let ids: Vec<&str> = c.requirements.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, REQUIREMENT_IDS);
        assert_eq!(
            c.scoring,
            Scoring {
                period_days: 7,
                observability_min: 0.5,
                ml3_conformance: 0.95,
                ml3_observability: 0.8,
                ml3_periods: 4,
                ml4_periods: 8,
                violation_sla_days: 30,
                min_subjects: 5,
                record_grace_days: 7,
                retrospective_grace_hours: 48,
                future_tolerance_minutes: 5,
            }
        );
        let critical: Vec<(&str, &[String])> = c
            .requirements
            .iter()
            .filter(|r| !r.critical.is_empty())
            .map(|r| (r.id.as_str(), r.critical.as_slice()))
            .collect();
        assert_eq!(
            critical,
            [
                ("NET 1.1", &["direct-enterprise-iacs".to_string()][..]),
                ("NET 1.3", &["safety-undeclared-conduit".to_string()][..]),
                ("NET 3.2", &["remote-access-around-jump-host".to_string()][..]),
                ("COMP 1.1", &["cleartext-admin-into-iacs".to_string()][..]),
                ("COMP 3.5", &["known-exploited-unmitigated".to_string()][..]),
            ]
        );
        let attestation_only: Vec<&str> = c
            .requirements
            .iter()
            .filter(|r| r.evidence == EvidenceKind::AttestationOnly)
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(
            attestation_only,
            [
                "NET 1.5",
                "NET 1.8",
                "NET 2.3",
                "COMP 2.3",
                "EVENT 1.3",
                "EVENT 1.8"
            ]
        );
        let cm14 = c.requirement("CM-1.4").unwrap();
        assert_eq!(
            (cm14.group.as_str(), cm14.spe.as_str(), cm14.sla_days),
            ("CM 1", "CM", 7)
        );
        assert_eq!(cm14.metric.as_ref().unwrap().better, Better::Lower);
        assert_eq!(
            c.requirement("NET 1.1").unwrap().rules[0].id,
            "net-1.1/no-enterprise-to-control"
        );
        assert_eq!(c.requirement("net 1.7").unwrap().sla_days, 30);
        assert_eq!(
            c.requirement("COMP 1.1").unwrap().crossref["62443-3-3"],
            ["SR 7.6", "SR 7.7"]
        );
    }

    fn refused(edit: impl Fn(&str) -> String) -> String {
        Catalog::parse(&edit(EMBEDDED), "my.toml")
            .unwrap_err()
            .to_string()
    }

    /// The line of the first occurrence of `needle` in the embedded catalog.
    fn line(needle: &str) -> usize {
        line_of(EMBEDDED, EMBEDDED.find(needle).unwrap())
    }

    #[test]
    fn mistakes_are_refused_naming_the_line() {
        let dup = refused(|t| t.replacen("id = \"CM 1.2\"", "id = \"CM 1.1\"", 1));
        assert_eq!(
            dup,
            format!(
                "my.toml:{}: requirement CM 1.1 is defined twice",
                line("id = \"CM 1.2\"")
            )
        );
        let unknown = refused(|t| t.replacen("id = \"NET 1.9\"", "id = \"NET 1.10\"", 1));
        assert_eq!(
            unknown,
            format!(
                "my.toml:{}: unknown requirement id \"NET 1.10\"",
                line("id = \"NET 1.9\"")
            )
        );
        let rule = refused(|t| {
            t.replacen(
                "\"cm-1.2/conduits-documented:",
                "\"cm-1.3/conduits-documented:",
                1,
            )
        });
        assert_eq!(
            rule,
            format!(
                "my.toml:{}: rule \"cm-1.3/conduits-documented\" of CM 1.2: its id must start with \"cm-1.2/\"",
                line("\"cm-1.2/conduits-documented:")
            )
        );
        let fraction = refused(|t| t.replacen("ml3_conformance = 0.95", "ml3_conformance = 95", 1));
        assert!(fraction.starts_with("my.toml:"), "{fraction}");
        assert!(fraction.contains("ml3_conformance"), "{fraction}");
        let metric = refused(|t| {
            t.replacen(
                "evidence = \"attestation-only\"\nrules = []",
                "evidence = \"attestation-only\"\nrules = []\nmetric = { name = \"m\", target = 1.0, better = \"higher\", measure = \"mean\" }",
                1,
            )
        });
        assert_eq!(
            metric,
            format!(
                "my.toml:{}: requirement NET 1.5: attestation-only has no metric (telemetry measures it)",
                line("id = \"NET 1.5\"")
            )
        );
        let kind = refused(|t| t.replacen("evidence = \"attestation-only\"", "evidence = \"interview\"", 1));
        assert!(
            kind.starts_with(&format!("my.toml:{}: ", line("evidence = \"attestation-only\""))),
            "{kind}"
        );
        let missing = refused(|t| {
            let start = t.find("[[requirement]]\nid = \"EVENT 1.9\"").unwrap();
            t[..start].to_string()
        });
        assert_eq!(missing, "my.toml: requirements missing: EVENT 1.9");
        let critical = refused(|t| {
            t.replacen(
                "critical = [\"direct-enterprise-iacs\"]",
                "critical = [\"scary\"]",
                1,
            )
        });
        assert_eq!(
            critical,
            format!(
                "my.toml:{}: requirement NET 1.1: unknown kind of violation \"scary\" (known: direct-enterprise-iacs, undeclared-conduit, safety-undeclared-conduit, remote-access-around-jump-host, cleartext-admin-into-iacs, cleartext-management, known-exploited-unmitigated)",
                line("critical = [\"direct-enterprise-iacs\"]")
            )
        );
        // Four one-day periods are no month of practice.
        let short = refused(|t| t.replacen("period_days = 7", "period_days = 1", 1));
        assert_eq!(
            short,
            format!(
                "my.toml:{}: scoring.period_days = 1: periods shorter than 7 days are refused (four of them must span a month of practice)",
                line("[scoring]")
            )
        );
    }
}
