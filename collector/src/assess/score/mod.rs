//! Maturity scoring, as `requirements.md` states it, over the findings of consecutive periods:
//! observability and conformance per period, the practice level (insufficient evidence, not met,
//! ML1, ML3, ML4), the documentary level (ML2 from a valid document), the final level, not
//! applicable (attested, or shown by evidence), and the distribution per group and SPE. Every
//! score carries its thresholds, periods and a digest of the evidence it used, so the same
//! evidence always gives the same score.

use super::attest::{AttestationKind, AttestationView, day_of, parse_date};
use super::catalog::{Better, EvidenceKind, Measure, Metric, Requirement, Scoring};
use super::declared::ZoneKind;
use super::rules::coverage::{Coverage, Population};
use super::rules::{self, Finding, Inputs, Observed, Outcome, Period};
use crate::store::{Receipt, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shoko_proto::{CheckOutcome, Timestamp};
use std::collections::{BTreeMap, BTreeSet};

const DAY_NS: i64 = 86_400_000_000_000;

/// A maturity level, or why there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Level {
    /// Too few subjects with data (observability below the threshold), or nothing at all.
    #[serde(rename = "insufficient-evidence")]
    InsufficientEvidence,
    /// Subjects were evaluated and none satisfied the requirement.
    #[serde(rename = "not-met")]
    NotMet,
    /// Initial: practised at all.
    #[serde(rename = "ML1")]
    Ml1,
    /// Managed: a valid, approved document.
    #[serde(rename = "ML2")]
    Ml2,
    /// Defined: practised across the scope, sustained.
    #[serde(rename = "ML3")]
    Ml3,
    /// Improving: its metric at target or improving.
    #[serde(rename = "ML4")]
    Ml4,
    /// Does not apply (attested, or shown by evidence).
    #[serde(rename = "not-applicable")]
    NotApplicable,
}

impl Level {
    /// How it is written.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::InsufficientEvidence => "insufficient-evidence",
            Level::NotMet => "not-met",
            Level::Ml1 => "ML1",
            Level::Ml2 => "ML2",
            Level::Ml3 => "ML3",
            Level::Ml4 => "ML4",
            Level::NotApplicable => "not-applicable",
        }
    }
}

/// A requirement's numbers in one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodStats {
    /// The period.
    pub period: Period,
    /// Subjects in scope.
    pub subjects: usize,
    /// Satisfied.
    pub satisfied: usize,
    /// Violated.
    pub violated: usize,
    /// Without data to decide.
    pub unknown: usize,
    /// Subjects with data / subjects in scope (none without subjects).
    pub observability: Option<f64>,
    /// Satisfied / (satisfied + violated) (none when neither).
    pub conformance: Option<f64>,
    /// The metric's value (none when the period gives none).
    pub metric: Option<f64>,
    /// Records of practice for days in the period, entered within it or the grace days after.
    pub records: usize,
    /// Records of practice for days in the period entered later (or before it): shown, not
    /// counted.
    pub records_late: usize,
    /// How the period's observations were received: those received late (retrospective) or
    /// captured after their receipt (from the future) keep the period from showing practice.
    pub receipt: Receipt,
    /// How much of the expected population the period's evidence covers.
    pub coverage: Coverage,
    /// The same in words (`hosts with agents 3/12; zones with sensor coverage 4/5; days with
    /// data 7/7`).
    pub coverage_statement: String,
}

impl PeriodStats {
    /// Whether its evidence was received as it happened (no retrospective or future observation).
    pub fn contemporaneous(&self) -> bool {
        self.receipt.late == 0 && self.receipt.future == 0
    }
}

/// One requirement's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequirementScore {
    /// `NET 1.1`.
    pub requirement: String,
    /// Paraphrased title.
    pub title: String,
    /// Group (`NET 1`).
    pub group: String,
    /// SPE (`NET`).
    pub spe: String,
    /// Telemetry or attestation-only.
    pub evidence: EvidenceKind,
    /// The rated level.
    pub level: Level,
    /// What the evidence of practice shows.
    pub practice: Level,
    /// ML2 when a valid document covers it.
    pub documentary: Option<Level>,
    /// Why it does not apply, when it does not.
    pub not_applicable: Option<String>,
    /// The derivation, step by step.
    pub reasons: Vec<String>,
    /// Per period, newest first.
    pub periods: Vec<PeriodStats>,
    /// Longest a violation may stay open for ML3, in days.
    pub sla_days: u32,
    /// Subjects each period needs for ML3 or ML4.
    pub min_subjects: u32,
    /// The metric, when the catalog gives one.
    pub metric: Option<Metric>,
    /// Violations of the current period open longer than the SLA (subjects).
    pub overdue: Vec<String>,
    /// Critical violations of the last `ml3_periods` periods (`period: subject: detail`), newest
    /// first: while there is one the requirement is rated ML1 at most.
    pub critical: Vec<String>,
    /// Kinds of violation (rule, kind, place) seen in 2 or more of the last `ml3_periods`
    /// periods: they block ML3.
    pub recurring: Vec<String>,
    /// Attestations used (ids).
    pub attestations: Vec<i64>,
    /// SHA-256 (hex) of the evidence used: findings of every period and attestations.
    pub evidence_digest: String,
}

/// The distribution of levels in a group or SPE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rollup {
    /// `NET 1` or `NET`.
    pub id: String,
    /// Title.
    pub title: String,
    /// Requirements per level.
    pub levels: BTreeMap<&'static str, usize>,
    /// The lowest level, insufficient evidence included (none when every requirement is not
    /// applicable).
    pub lowest: Option<Level>,
}

/// A whole assessment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// Catalog version.
    pub catalog_version: String,
    /// The standard.
    pub standard: String,
    /// Thresholds used.
    pub scoring: Scoring,
    /// Days per period.
    pub period_days: u32,
    /// The periods, newest first.
    pub periods: Vec<Period>,
    /// Per requirement, in catalog order.
    pub scores: Vec<RequirementScore>,
    /// Per group.
    pub groups: Vec<Rollup>,
    /// Per SPE.
    pub spes: Vec<Rollup>,
    /// SHA-256 (hex) over the scores' evidence digests.
    pub digest: String,
}

/// An assessment with everything it was computed from, for explanations and bundles.
pub struct Derivation {
    /// The scores.
    pub assessment: Assessment,
    /// What they were computed from (every period's findings among it).
    pub input: ScoringInput,
}

impl Derivation {
    /// The findings of each period, newest first.
    pub fn findings(&self) -> &[Vec<Finding>] {
        &self.input.findings
    }
}

/// A requirement as scored: its catalog entry, and why evidence shows it does not apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredRequirement {
    /// The catalog's entry (thresholds, SLA, metric, critical kinds).
    pub requirement: Requirement,
    /// Why the evidence shows it does not apply, when it does (NET 2.x without wireless).
    pub not_applicable_by_evidence: Option<String>,
}

/// Everything the scores are computed from, once the rules have run: the recorded outcomes of
/// every period, how the periods' evidence was received, and the attestations. Evidence bundles
/// carry it (`rescore.json`) so an auditor recomputes every level offline from it alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoringInput {
    /// End of the newest period.
    pub at: Timestamp,
    /// Thresholds.
    pub scoring: Scoring,
    /// The periods, newest first.
    pub periods: Vec<Period>,
    /// How each period's observations were received.
    pub receipts: Vec<Receipt>,
    /// How much of the expected population each period's evidence covers.
    pub coverages: Vec<Coverage>,
    /// The findings of each period.
    pub findings: Vec<Vec<Finding>>,
    /// Every attestation (revoked ones too: scoring looks at when).
    pub attestations: Vec<AttestationView>,
    /// The requirements scored, in catalog order.
    pub requirements: Vec<ScoredRequirement>,
}

impl ScoringInput {
    /// Scores every requirement.
    pub fn scores(&self) -> Vec<RequirementScore> {
        self.requirements
            .iter()
            .map(|r| {
                let context = Context {
                    requirement: &r.requirement,
                    scoring: &self.scoring,
                    periods: &self.periods,
                    findings: &self.findings,
                    receipts: &self.receipts,
                    coverages: &self.coverages,
                    attestations: &self.attestations,
                    at: self.at,
                };
                context.score(r.not_applicable_by_evidence.clone())
            })
            .collect()
    }

    /// The same input limited to `wanted` requirements and their findings.
    pub fn limited_to(&self, wanted: &BTreeSet<&str>) -> ScoringInput {
        ScoringInput {
            findings: self
                .findings
                .iter()
                .map(|p| {
                    p.iter()
                        .filter(|f| wanted.contains(f.requirement.as_str()))
                        .cloned()
                        .collect()
                })
                .collect(),
            requirements: self
                .requirements
                .iter()
                .filter(|r| wanted.contains(r.requirement.id.as_str()))
                .cloned()
                .collect(),
            ..self.clone()
        }
    }
}

/// Scores every requirement of the catalog for the periods of `period_days` ending at `at`.
pub fn assess(inputs: &Inputs<'_>, at: Timestamp, period_days: u32) -> Result<Derivation, StoreError> {
    let scoring = inputs.catalog.scoring;
    let count = scoring.ml4_periods.max(scoring.ml3_periods).max(1);
    let length = i64::from(period_days) * DAY_NS;
    let periods: Vec<Period> = (0..i64::from(count))
        .map(|k| Period::ending(Timestamp(at.0.saturating_sub(k * length)), period_days))
        .collect();
    let mut findings = Vec::with_capacity(periods.len());
    let mut receipts = Vec::with_capacity(periods.len());
    let mut coverages = Vec::with_capacity(periods.len());
    let mut current = None;
    for (k, period) in periods.iter().enumerate() {
        let seen = Observed::read(inputs, *period)?;
        findings.push(rules::evaluate_observed(inputs, &seen));
        receipts.push(seen.receipt);
        coverages.push(seen.coverage);
        if k == 0 {
            current = Some(seen);
        }
    }
    let current = current.expect("at least one period");
    let input = ScoringInput {
        at,
        scoring,
        periods,
        receipts,
        coverages,
        findings,
        attestations: inputs.store.attestations()?,
        requirements: inputs
            .catalog
            .requirements
            .iter()
            .map(|r| ScoredRequirement {
                requirement: r.clone(),
                not_applicable_by_evidence: not_applicable_by_evidence(inputs, r, &current),
            })
            .collect(),
    };
    let scores = input.scores();
    let assessment = Assessment {
        catalog_version: inputs.catalog.version.clone(),
        standard: inputs.catalog.standard.clone(),
        scoring,
        period_days,
        digest: digest_of(
            &scores
                .iter()
                .map(|s| s.evidence_digest.as_str())
                .collect::<Vec<_>>(),
        ),
        groups: rollups(
            &scores,
            titles(&inputs.catalog.groups, |g| (&g.id, &g.title)),
            |s| &s.group,
        ),
        spes: rollups(
            &scores,
            titles(&inputs.catalog.spes, |s| (&s.code, &s.title)),
            |s| &s.spe,
        ),
        periods: input.periods.clone(),
        scores,
    };
    Ok(Derivation { assessment, input })
}

/// What scoring one requirement reads.
struct Context<'a> {
    requirement: &'a Requirement,
    scoring: &'a Scoring,
    periods: &'a [Period],
    findings: &'a [Vec<Finding>],
    receipts: &'a [Receipt],
    coverages: &'a [Coverage],
    attestations: &'a [AttestationView],
    at: Timestamp,
}

impl Context<'_> {
    /// The requirement's findings in period `k`.
    fn findings_of(&self, k: usize) -> impl Iterator<Item = &Finding> {
        self.findings[k]
            .iter()
            .filter(|f| f.requirement == self.requirement.id)
    }

    /// Attestations of `kind` covering the requirement or its group.
    fn covering(&self, kind: AttestationKind) -> impl Iterator<Item = &AttestationView> {
        let r = self.requirement;
        self.attestations.iter().filter(move |a| {
            a.statement.kind == kind
                && a.attested_at <= self.at
                && a.revoked_at.is_none_or(|t| t > self.at)
                && (a.statement.scope == r.id || a.statement.scope == r.group)
        })
    }

    fn stats(&self, k: usize) -> PeriodStats {
        let mut subjects = BTreeSet::new();
        let (mut satisfied, mut violated, mut unknown) = (0, 0, 0);
        let mut values = Vec::new();
        for f in self.findings_of(k) {
            if f.outcome == Outcome::Pending || !subjects.insert((&f.rule, &f.subject)) {
                continue;
            }
            match f.outcome {
                Outcome::Satisfied => satisfied += 1,
                Outcome::Violated => violated += 1,
                Outcome::Unknown | Outcome::Pending => unknown += 1,
            }
            values.extend(f.value);
        }
        let n = subjects.len();
        let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
        let conformance = ratio(satisfied, satisfied + violated);
        let metric = self.requirement.metric.as_ref().and_then(|m| match m.measure {
            Measure::Conformance => conformance,
            Measure::Median => median(&mut values),
            Measure::Mean => mean(&values),
        });
        let period = self.periods[k];
        let grace = i64::from(self.scoring.record_grace_days) * DAY_NS;
        let (on_time, late): (Vec<_>, Vec<_>) = self
            .covering(AttestationKind::Record)
            .filter(|a| {
                let day = a
                    .statement
                    .approved_on
                    .as_deref()
                    .and_then(|d| parse_date(d).ok());
                day.is_some_and(|d| d >= day_of(period.start) && d < day_of(period.end))
            })
            .partition(|a| {
                a.attested_at >= period.start && a.attested_at.0 < period.end.0.saturating_add(grace)
            });
        // Observability against the expected population, when the requirement names one.
        let coverage = self.coverages[k];
        let expected = self.requirement.population.and_then(|p| coverage.ratio(p));
        let observability = match (ratio(satisfied + violated, n), expected) {
            (Some(o), Some(e)) => Some(o.min(e)),
            (o, _) => o,
        };
        PeriodStats {
            period,
            subjects: n,
            satisfied,
            violated,
            unknown,
            observability,
            conformance,
            metric,
            records: on_time.len(),
            records_late: late.len(),
            receipt: self.receipts[k],
            coverage_statement: coverage.statement(),
            coverage,
        }
    }

    /// Subjects violated in the current period and in enough periods before it that they were
    /// open longer than the SLA.
    fn overdue(&self) -> Vec<String> {
        let sla = i64::from(self.requirement.sla_days) * DAY_NS;
        let violated = |k: usize| -> BTreeSet<(String, String)> {
            self.findings_of(k)
                .filter(|f| f.outcome == Outcome::Violated)
                .map(|f| (f.rule.clone(), f.subject.clone()))
                .collect()
        };
        let per_period: Vec<_> = (0..self.periods.len()).map(violated).collect();
        let mut out = Vec::new();
        for key in &per_period[0] {
            let run = per_period.iter().take_while(|v| v.contains(key)).count();
            let oldest = self.periods[run - 1];
            if self.periods[0].end.0 - oldest.start.0 > sla {
                out.push(format!("{} {}", key.0, key.1));
            }
        }
        out
    }

    /// The last `ml3_periods` periods, newest first.
    fn window(&self) -> std::ops::Range<usize> {
        0..(self.scoring.ml3_periods as usize).min(self.periods.len())
    }

    /// Violations of the requirement's critical kinds in the window, newest first.
    fn critical(&self) -> Vec<String> {
        let r = self.requirement;
        self.window()
            .flat_map(|k| {
                self.findings_of(k)
                    .filter(|f| {
                        f.outcome == Outcome::Violated
                            && f.kind
                                .as_ref()
                                .is_some_and(|kind| r.critical.contains(&kind.name))
                    })
                    .map(move |f| {
                        format!(
                            "period {}: {}: {}",
                            period_label(&self.periods[k]),
                            f.subject,
                            f.detail
                        )
                    })
            })
            .collect()
    }

    /// Kinds of violation that recur in the window: `rule kind at place (n of m periods)`. A kind
    /// recurs when it was violated in 2 or more periods, unless by one subject in consecutive
    /// periods (one violation staying open, which the SLA judges). A violation whose rule tells
    /// no kinds apart is of the rule's one kind.
    fn recurring(&self) -> Vec<String> {
        type Key<'f> = (&'f str, &'f str, &'f str);
        let mut seen: BTreeMap<Key<'_>, (BTreeSet<usize>, BTreeSet<&str>)> = BTreeMap::new();
        for k in self.window() {
            for f in self.findings_of(k).filter(|f| f.outcome == Outcome::Violated) {
                let key = match &f.kind {
                    Some(kind) => (f.rule.as_str(), kind.name.as_str(), kind.place.as_str()),
                    None => (f.rule.as_str(), "", ""),
                };
                let (periods, subjects) = seen.entry(key).or_default();
                periods.insert(k);
                subjects.insert(f.subject.as_str());
            }
        }
        let n = self.window().len();
        seen.into_iter()
            .filter(|(_, (periods, subjects))| {
                let first = periods.first().copied().unwrap_or_default();
                let consecutive = periods.iter().copied().eq(first..first + periods.len());
                periods.len() >= 2 && !(subjects.len() == 1 && consecutive)
            })
            .map(|((rule, kind, place), (periods, _))| match kind {
                "" => format!("{rule} violated in {} of {n} periods", periods.len()),
                _ => format!("{rule} {kind} at {place} in {} of {n} periods", periods.len()),
            })
            .collect()
    }

    fn score(&self, evidenced_na: Option<String>) -> RequirementScore {
        let r = self.requirement;
        let periods: Vec<PeriodStats> = (0..self.periods.len()).map(|k| self.stats(k)).collect();
        let mut reasons = Vec::new();
        let day = day_of(self.at);
        let awaiting: Vec<String> = self
            .covering(AttestationKind::Document)
            .chain(self.covering(AttestationKind::NotApplicable))
            .filter(|a| a.is_valid(day) && !a.countersigned_before(self.at))
            .map(|a| {
                format!(
                    "{} {:?} (attestation {})",
                    a.statement.kind.as_str(),
                    a.statement.title,
                    a.id
                )
            })
            .collect();
        if !awaiting.is_empty() {
            reasons.push(format!(
                "awaiting a second administrator's countersignature, so without effect: {}",
                awaiting.join("; ")
            ));
        }
        let documents: Vec<&AttestationView> = self
            .covering(AttestationKind::Document)
            .filter(|a| a.is_valid(day) && a.countersigned_before(self.at))
            .collect();
        let not_applicable = self
            .covering(AttestationKind::NotApplicable)
            .find(|a| a.countersigned_before(self.at))
            .map(|a| {
                format!(
                    "attested by {} (attestation {}): {}",
                    a.attested_by, a.id, a.statement.title
                )
            })
            .or(evidenced_na);
        let overdue = self.overdue();
        let critical = self.critical();
        let recurring = self.recurring();
        let practice = match r.evidence {
            EvidenceKind::Telemetry => self.telemetry_practice(&periods, &overdue, &recurring, &mut reasons),
            EvidenceKind::AttestationOnly => self.attested_practice(&periods, &mut reasons),
        };
        let practice = match critical.first() {
            Some(first) => {
                let more = match critical.len() {
                    1 => String::new(),
                    n => format!(" (and {} more)", n - 1),
                };
                reasons.insert(
                    0,
                    format!(
                        "critical violation in {first}{more}: rated ML1 at most until {} periods pass without one",
                        self.scoring.ml3_periods
                    ),
                );
                practice.min(Level::Ml1)
            }
            None => practice,
        };
        let not_applicable = match not_applicable {
            Some(why) if periods[0].violated > 0 => {
                reasons.push(format!(
                    "not-applicable statement contradicted by evidence ({why}): {} violations in the current period, rated from the evidence",
                    periods[0].violated
                ));
                None
            }
            other => other,
        };
        let documentary = if documents.is_empty() {
            reasons.push("no valid document covers it or its group: not rated above ML1".into());
            None
        } else {
            let d = documents[0];
            let unknown = || "?".to_owned();
            reasons.push(format!(
                "documented: {:?} version {}, owner {}, attested by {}, countersigned by {}, review due {}, SHA-256 {} (attestation {})",
                d.statement.title,
                d.statement.version.as_deref().unwrap_or("?"),
                d.statement.owner.as_deref().unwrap_or("?"),
                d.attested_by,
                d.countersigned_by.clone().unwrap_or_else(unknown),
                d.statement.next_review.as_deref().unwrap_or("?"),
                d.statement.sha256.as_deref().unwrap_or("?"),
                d.id
            ));
            Some(Level::Ml2)
        };
        let level = match (&not_applicable, documentary, practice) {
            (Some(why), ..) => {
                reasons.push(format!("not applicable: {why}"));
                Level::NotApplicable
            }
            (None, Some(_), p @ (Level::Ml3 | Level::Ml4)) => p,
            (None, Some(_), Level::NotMet) => {
                reasons.push(
                    "documented, not practised: a document does not lift practice that is not met".into(),
                );
                Level::NotMet
            }
            (None, Some(_), Level::Ml1) if !critical.is_empty() => {
                reasons.push(format!("documented, critical violation in {}: ML1", critical[0]));
                Level::Ml1
            }
            (None, Some(_), _) => Level::Ml2,
            (None, None, p @ (Level::InsufficientEvidence | Level::NotMet)) => p,
            (None, None, Level::Ml3 | Level::Ml4) => {
                reasons.push(format!(
                    "practice at {}, document it to be rated {}",
                    practice.as_str(),
                    practice.as_str()
                ));
                Level::Ml1
            }
            (None, None, _) => Level::Ml1,
        };
        let mut attestations: Vec<i64> = documents.iter().map(|a| a.id).collect();
        attestations.extend(self.covering(AttestationKind::Record).map(|a| a.id));
        attestations.extend(
            self.covering(AttestationKind::NotApplicable)
                .filter(|a| a.countersigned_before(self.at))
                .map(|a| a.id),
        );
        attestations.sort_unstable();
        let evidence_digest = self.digest(&attestations);
        RequirementScore {
            requirement: r.id.clone(),
            title: r.title.clone(),
            group: r.group.clone(),
            spe: r.spe.clone(),
            evidence: r.evidence,
            level,
            practice,
            documentary,
            not_applicable,
            reasons,
            periods,
            sla_days: r.sla_days,
            min_subjects: r.min_subjects,
            metric: r.metric.clone(),
            overdue,
            critical,
            recurring,
            attestations,
            evidence_digest,
        }
    }

    /// The practice level telemetry shows.
    fn telemetry_practice(
        &self,
        periods: &[PeriodStats],
        overdue: &[String],
        recurring: &[String],
        reasons: &mut Vec<String>,
    ) -> Level {
        let s = self.scoring;
        let now = &periods[0];
        let Some(observability) = now.observability.filter(|_| now.subjects > 0) else {
            reasons.push("no subject in scope in the current period: insufficient evidence".into());
            return Level::InsufficientEvidence;
        };
        if observability < s.observability_min {
            reasons.push(format!(
                "observability {observability:.2} ({} of {} subjects with data) < {}: insufficient evidence",
                now.satisfied + now.violated,
                now.subjects,
                s.observability_min
            ));
            return Level::InsufficientEvidence;
        }
        if now.satisfied == 0 {
            reasons.push(format!("none of {} subjects satisfied: not met", now.subjects));
            return Level::NotMet;
        }
        reasons.push(format!(
            "practised: {} of {} subjects satisfied (ML1)",
            now.satisfied,
            now.satisfied + now.violated
        ));
        let window = &periods[self.window()];
        let min = self.requirement.min_subjects as usize;
        let population = self.requirement.population;
        for p in window {
            if !p.contemporaneous() {
                reasons.push(format!(
                    "period {}: of {} observations, {} received more than {} hours after its end (retrospective) and {} captured after their receipt (from the future): it shows the period's state, not practice: not ML3",
                    period_label(&p.period),
                    p.receipt.observations,
                    p.receipt.late,
                    s.retrospective_grace_hours,
                    p.receipt.future
                ));
                return Level::Ml1;
            }
            let fails_conformance = p.conformance.is_none_or(|c| c < s.ml3_conformance);
            let fails_observability = p.observability.is_none_or(|o| o < s.ml3_observability);
            if fails_conformance || fails_observability {
                reasons.push(format!(
                    "period {}: conformance {} (ML3 needs {}), observability {} (needs {}): not ML3",
                    period_label(&p.period),
                    fraction(p.conformance),
                    s.ml3_conformance,
                    fraction(p.observability),
                    s.ml3_observability
                ));
                return Level::Ml1;
            }
            if p.subjects < min {
                reasons.push(format!(
                    "too few subjects to rate above ML1: {} in period {} (ML3 and ML4 need at least {min} in each of the last {} periods)",
                    p.subjects,
                    period_label(&p.period),
                    window.len()
                ));
                return Level::Ml1;
            }
            if let Some(pop) = population.filter(|pop| p.coverage.ratio(*pop).is_none()) {
                let what = match pop {
                    Population::Zones => {
                        "declare the sensors placed on each zone in scope (`sensors` in zones.toml)"
                    }
                    Population::Hosts => "no in-scope host was seen on the wire or reported by an agent",
                };
                reasons.push(format!(
                    "period {}: coverage of the expected population unknown ({}): {what}: not ML3",
                    period_label(&p.period),
                    p.coverage_statement
                ));
                return Level::Ml1;
            }
        }
        if !overdue.is_empty() {
            reasons.push(format!(
                "{} violations open longer than the {}-day SLA ({}): not ML3",
                overdue.len(),
                self.requirement.sla_days,
                overdue.join("; ")
            ));
            return Level::Ml1;
        }
        if !recurring.is_empty() {
            reasons.push(format!(
                "the same kind of violation recurs ({}): not ML3",
                recurring.join("; ")
            ));
            return Level::Ml1;
        }
        reasons.push(format!(
            "conformance >= {} and observability >= {} in each of the last {} periods, no violation past its SLA, none recurring (ML3)",
            s.ml3_conformance, s.ml3_observability, s.ml3_periods
        ));
        match self.requirement.metric.as_ref() {
            Some(m) => {
                // Only periods whose evidence was received as it happened show a trend.
                let values: Vec<f64> = periods
                    .iter()
                    .rev()
                    .filter(|p| p.contemporaneous())
                    .filter_map(|p| p.metric)
                    .collect();
                let needed = (s.ml4_periods as usize).div_ceil(2);
                if values.len() < needed {
                    reasons.push(format!(
                        "{}: a value in {} of the last {} periods (ML4 needs {}): not ML4",
                        m.name,
                        values.len(),
                        periods.len(),
                        needed
                    ));
                    return Level::Ml3;
                }
                let at_target = |v: f64| match m.better {
                    Better::Lower => v <= m.target,
                    Better::Higher => v >= m.target,
                };
                let recent: Vec<String> = window.iter().map(|p| fraction(p.metric)).collect();
                if !window.iter().all(|p| p.metric.is_some_and(at_target)) {
                    reasons.push(format!(
                        "{} not at target ({}) in each of the last {} periods ({}, newest first): not ML4",
                        m.name,
                        m.target,
                        window.len(),
                        recent.join(", ")
                    ));
                    return Level::Ml3;
                }
                // Within rounding, a flat series is not worsening.
                let slope = trend(&values);
                let worsening = match m.better {
                    Better::Lower => slope > 1e-9,
                    Better::Higher => slope < -1e-9,
                };
                if worsening {
                    reasons.push(format!(
                        "{} at target but worsening over the last {} periods (trend {slope:+.3} per period): not ML4",
                        m.name,
                        periods.len()
                    ));
                    Level::Ml3
                } else {
                    reasons.push(format!(
                        "{} at target ({}) in each of the last {} periods and not worsening over {} (trend {slope:+.3} per period) (ML4)",
                        m.name,
                        m.target,
                        window.len(),
                        periods.len()
                    ));
                    Level::Ml4
                }
            }
            None => {
                reasons.push("no metric in the catalog: not ML4".into());
                Level::Ml3
            }
        }
    }

    /// The practice level attested records show (telemetry cannot speak to it).
    fn attested_practice(&self, periods: &[PeriodStats], reasons: &mut Vec<String>) -> Level {
        let window = &periods[self.window()];
        let late: usize = window.iter().map(|p| p.records_late).sum();
        if late > 0 {
            reasons.push(format!(
                "{late} records of practice recorded late (more than {} days after their period, or before it): not counted",
                self.scoring.record_grace_days
            ));
        }
        if periods[0].records == 0 {
            reasons.push(
                "attestation-only: telemetry cannot show it and no record of practice is attested for the current period"
                    .into(),
            );
            return Level::InsufficientEvidence;
        }
        if window.iter().all(|p| p.records > 0) {
            reasons.push(format!(
                "records of practice attested in each of the last {} periods (ML3)",
                window.len()
            ));
            Level::Ml3
        } else {
            reasons.push("records of practice attested for the current period only (ML1)".into());
            Level::Ml1
        }
    }

    /// SHA-256 over the catalog thresholds, the periods, the requirement's findings of every
    /// period and the attestations used.
    fn digest(&self, attestations: &[i64]) -> String {
        #[derive(Serialize)]
        struct Used<'a> {
            requirement: &'a str,
            sla_days: u32,
            scoring: &'a Scoring,
            metric: Option<&'a Metric>,
            periods: &'a [Period],
            findings: Vec<Vec<&'a Finding>>,
            attestations: Vec<&'a AttestationView>,
        }
        let used = Used {
            requirement: &self.requirement.id,
            sla_days: self.requirement.sla_days,
            scoring: self.scoring,
            metric: self.requirement.metric.as_ref(),
            periods: self.periods,
            findings: (0..self.periods.len())
                .map(|k| self.findings_of(k).collect())
                .collect(),
            attestations: self
                .attestations
                .iter()
                .filter(|a| attestations.contains(&a.id))
                .collect(),
        };
        let json = serde_json::to_vec(&used).unwrap_or_default();
        hex::encode(Sha256::digest(json))
    }
}

/// NET 2.x does not apply when hosts report and none has a wireless network, and no zone is
/// declared wireless.
fn not_applicable_by_evidence(inputs: &Inputs<'_>, r: &Requirement, seen: &Observed) -> Option<String> {
    if r.group != "NET 2" {
        return None;
    }
    let wireless_zone = inputs
        .declared
        .is_some_and(|d| d.zones.iter().any(|z| z.kind == ZoneKind::Wireless));
    let outcomes: Vec<CheckOutcome> = seen
        .hosts
        .values()
        .filter_map(|h| {
            let checks = h.checks.get("wireless.enterprise_security")?;
            checks
                .iter()
                .rev()
                .find(|c| c.at >= seen.period.start && c.at < seen.period.end)
                .map(|c| c.outcome)
        })
        .collect();
    let none_wireless = !outcomes.is_empty() && outcomes.iter().all(|o| *o == CheckOutcome::NotApplicable);
    (none_wireless && !wireless_zone).then(|| {
        format!(
            "none of the {} reporting hosts has a wireless network and no zone is declared wireless",
            outcomes.len()
        )
    })
}

/// (id, title) of each group or SPE, in catalog order.
fn titles<T>(items: &[T], of: impl Fn(&T) -> (&String, &String)) -> Vec<(String, String)> {
    items
        .iter()
        .map(|t| {
            let (id, title) = of(t);
            (id.clone(), title.clone())
        })
        .collect()
}

/// The distribution of levels per group or SPE, in catalog order.
fn rollups(
    scores: &[RequirementScore],
    titles: Vec<(String, String)>,
    key: impl Fn(&RequirementScore) -> &String,
) -> Vec<Rollup> {
    titles
        .into_iter()
        .map(|(id, title)| {
            let members: Vec<&RequirementScore> = scores.iter().filter(|s| *key(s) == id).collect();
            let mut levels = BTreeMap::new();
            for s in &members {
                *levels.entry(s.level.as_str()).or_insert(0) += 1;
            }
            // Insufficient evidence counts as the lowest: a group is no better than what could
            // not be seen in it.
            let lowest = members
                .iter()
                .map(|s| s.level)
                .filter(|l| *l != Level::NotApplicable)
                .min();
            Rollup {
                id,
                title,
                levels,
                lowest,
            }
        })
        .collect()
}

/// SHA-256 (hex) over digests, in order.
fn digest_of(digests: &[&str]) -> String {
    let mut h = Sha256::new();
    for d in digests {
        h.update(d.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// The median (none of nothing).
fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// The mean (none of nothing).
fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Least-squares slope of values over their positions (oldest first).
fn trend(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mx = (n - 1.0) / 2.0;
    let my = values.iter().sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for (i, v) in values.iter().enumerate() {
        let dx = i as f64 - mx;
        num += dx * (v - my);
        den += dx * dx;
    }
    if den == 0.0 { 0.0 } else { num / den }
}

/// `2026-11-15..2026-11-22`.
pub fn period_label(p: &Period) -> String {
    format!("{}..{}", day_of(p.start), day_of(p.end))
}

/// A fraction with two decimals, `-` for none.
pub fn fraction(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.2}"))
}

#[cfg(test)]
mod tests;
