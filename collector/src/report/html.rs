//! The report as one self-contained HTML page (embedded stylesheet, no scripts, nothing fetched)
//! that prints to PDF from a browser: A4 pages, repeated table headers, rows kept whole.

use super::{EvidenceSummary, Report};
use crate::assess::rules::{Evidence, Finding};
use crate::assess::score::{Level, RequirementScore};
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The stylesheet of reports and the web UI.
pub const STYLE: &str = include_str!("style.css");

/// Levels in the order the heat map shows them.
pub const HEAT_LEVELS: [Level; 7] = [
    Level::Ml4,
    Level::Ml3,
    Level::Ml2,
    Level::Ml1,
    Level::NotMet,
    Level::InsufficientEvidence,
    Level::NotApplicable,
];

/// A level as a coloured badge.
pub fn level_badge(level: Level) -> Markup {
    html! { span class={ "level level-" (level.as_str()) } { (level.as_str()) } }
}

/// A share as a percentage, or a dash.
pub fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{:.0}%", v * 100.0))
}

/// One piece of evidence in words.
pub fn evidence_text(e: &Evidence) -> String {
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
            "{flows} flows {orig} -> {resp} {transport}/{port}{} in the hour of {hour}",
            app_protocol
                .as_deref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default()
        ),
    }
}

/// The heat map: rows SPE, columns levels, cells requirement counts.
pub fn heat_map(scores: &[RequirementScore]) -> Markup {
    let mut spes: Vec<&str> = scores.iter().map(|s| s.spe.as_str()).collect();
    spes.dedup();
    html! {
        table class="heat" {
            thead { tr { th { "SPE" } @for l in HEAT_LEVELS { th { (level_badge(l)) } } } }
            tbody {
                @for spe in &spes {
                    tr {
                        th { (spe) }
                        @for l in HEAT_LEVELS {
                            @let n = scores.iter().filter(|s| s.spe == *spe && s.level == l).count();
                            td class=[(n == 0).then_some("zero")] { (n) }
                        }
                    }
                }
            }
        }
    }
}

/// The scores table.
pub fn scores_table(scores: &[RequirementScore]) -> Markup {
    html! {
        table {
            thead { tr {
                th { "Requirement" } th { "Title" } th { "Level" } th { "Practice" } th { "Document" }
                th class="num" { "Observability" } th class="num" { "Conformance" } th class="num" { "Metric" }
                th { "Coverage (current period)" }
            } }
            tbody {
                @for s in scores {
                    @let current = s.periods.first();
                    tr {
                        td { (s.requirement) } td { (s.title) } td { (level_badge(s.level)) }
                        td { (level_badge(s.practice)) }
                        td { @if let Some(d) = s.documentary { (level_badge(d)) } @else { "–" } }
                        td class="num" { (percent(current.and_then(|p| p.observability))) }
                        td class="num" { (percent(current.and_then(|p| p.conformance))) }
                        td class="num" { (current.and_then(|p| p.metric).map_or_else(|| "–".into(), |m| format!("{m:.2}"))) }
                        td { (current.map(|p| p.coverage_statement.as_str()).unwrap_or("–")) }
                    }
                }
            }
        }
    }
}

/// A list of findings with their evidence.
pub fn findings_list(findings: &[Finding]) -> Markup {
    html! {
        table {
            thead { tr { th { "Subject" } th { "Outcome" } th { "Why" } th { "Evidence" } } }
            tbody {
                @for f in findings {
                    @let outcome = serde_json::to_value(f.outcome).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
                    tr {
                        td class="mono" { (f.subject) }
                        td class={ "outcome-" (outcome) } { (outcome) }
                        td { (f.detail) }
                        td { ul class="evidence" { @for e in &f.evidence { li { (evidence_text(e)) } } } }
                    }
                }
            }
        }
    }
}

fn evidence_section(score: &RequirementScore, summary: &EvidenceSummary) -> Markup {
    html! {
        h3 id={ "req-" (score.requirement.replace(' ', "-")) } { (score.requirement) " " (score.title) " " (level_badge(score.level)) }
        p {
            (summary.satisfied) " satisfied, " (summary.violated) " violated, " (summary.unknown)
            " without data, " (summary.pending) " pending in the current period."
        }
        ul { @for r in &score.reasons { li { (r) } } }
        @if !summary.not_satisfied.is_empty() {
            (findings_list(&summary.not_satisfied))
        }
    }
}

/// The whole report page.
pub fn render(r: &Report) -> String {
    let a = &r.assessment;
    let period = |i: usize| {
        r.scope
            .periods
            .get(i)
            .map(|p| format!("{} to {}", p.start, p.end))
            .unwrap_or_default()
    };
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "shoko evidence report – " (a.standard) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "IEC 62443-2-1 evidence report" }
                p class="meta" {
                    "Generated " (r.generated_at) " by shoko. Catalog " (a.catalog_version) " (" (a.standard) "). "
                    "Assessment digest " code { (a.digest) }
                }
                h2 { "1. Scope" }
                table { tbody {
                    tr { th { "Current period" } td { (period(0)) } }
                    tr { th { "Periods assessed" } td { (r.scope.periods.len()) " of " (r.scope.period_days) " days, back to " (r.scope.periods.last().map(|p| p.start.to_string()).unwrap_or_default()) } }
                    tr { th { "Requirements" } td { (r.scope.requirements.len()) ": " (r.scope.requirements.join(", ")) } }
                    tr { th { "Assets" } td { (r.scope.assets) } }
                    tr { th { "Declared zones" } td { @if r.scope.zones.is_empty() { "none declared" } @else { (r.scope.zones.join(", ")) } } }
                    tr { th { "Agents" } td { @for ag in &r.scope.agents { span class="mono" { (ag.agent_id) } " (" (ag.batches) " batches, last " (ag.last_seen) ") " } } }
                } }
                h2 { "2. Method" }
                @for m in &r.method { p { (m) } }
                h2 { "3. Maturity" }
                (heat_map(&a.scores))
                (scores_table(&a.scores))
                section class="break" {
                    h2 { "4. Evidence per requirement" }
                    @for (s, e) in a.scores.iter().zip(&r.evidence) { (evidence_section(s, e)) }
                }
                section class="break" {
                    h2 { "5. Inventory" }
                    table {
                        thead { tr { th { "Id" } th { "Asset" } th { "Vendor" } th { "Model" } th { "Firmware" } th { "Zone" } th { "Class" } th { "Addresses" } th { "Protocols" } th { "Last seen" } } }
                        tbody { @for i in &r.inventory { tr {
                            td class="num" { (i.id) } td class="mono" { (i.key) } td { (i.vendor) } td { (i.model) } td { (i.firmware) }
                            td { (i.zone) } td { (i.class) } td class="mono" { (i.ips.join(" ")) } td { (i.protocols.join(", ")) } td { (i.last_seen) }
                        } } }
                    }
                }
                h2 { "6. Changes" }
                table {
                    thead { tr { th { "Id" } th { "Asset" } th { "Kind" } th { "Subject" } th { "Before" } th { "After" } th { "Observed" } th { "Status" } } }
                    tbody { @for c in &r.changes { tr {
                        td class="num" { (c.id) } td class="num" { (c.asset_id) } td { (c.kind) } td { (c.subject) }
                        td { (c.old_value.as_deref().unwrap_or("")) } td { (c.new_value.as_deref().unwrap_or("")) } td { (c.observed_at) }
                        td { (c.status) @if let Some(by) = &c.decided_by { " by " (by) } @if let Some(re) = &c.reference { " (" (re) ")" } }
                    } } }
                }
                h2 { "7. Vulnerabilities" }
                @if r.vulnerabilities.is_empty() { p { "No imported advisory matches an asset." } }
                @else {
                    table {
                        thead { tr { th { "Asset" } th { "Advisory" } th { "CVEs" } th { "Exploited" } th { "Product" } th { "Version" } th { "Affected" } th class="num" { "Confidence" } } }
                        tbody { @for m in &r.vulnerabilities { tr {
                            td class="mono" { (m.asset) } td { (m.advisory) " " span class="muted" { (m.title) } } td { (m.cves.join(", ")) }
                            td { (m.known_exploited.join(", ")) } td { (m.product) } td { (m.version) } td { (m.affected) }
                            td class="num" { (format!("{:.2}", m.confidence)) }
                        } } }
                    }
                }
                h2 { "8. Attestations" }
                table {
                    thead { tr { th { "Id" } th { "Kind" } th { "Covers" } th { "Statement" } th { "By" } th { "When" } th { "Revoked" } } }
                    tbody { @for t in &r.attestations {
                        tr {
                            td class="num" { (t.id) } td { (t.statement.kind.as_str()) }
                            td { (t.statement.scope) }
                            td { (t.statement.title) @if let Some(v) = &t.statement.version { " v" (v) } }
                            td { (t.attested_by) } td { (t.attested_at) }
                            td { @if let Some(at) = t.revoked_at { (at) " by " (t.revoked_by.as_deref().unwrap_or("")) } }
                        }
                    } }
                }
                section class="break" {
                    h2 { "Appendix: catalog and thresholds" }
                    @let s = &r.appendix.scoring;
                    table { tbody {
                        tr { th { "Catalog" } td { (r.appendix.catalog_version) " – " (r.appendix.standard) } }
                        tr { th { "Period" } td { (s.period_days) " days" } }
                        tr { th { "Observability for a rating" } td { (percent(Some(s.observability_min))) } }
                        tr { th { "ML3" } td { "conformance ≥ " (percent(Some(s.ml3_conformance))) " and observability ≥ " (percent(Some(s.ml3_observability))) " in each of the last " (s.ml3_periods) " periods, at least " (s.min_subjects) " subjects in each unless a requirement sets its own, no violation past its SLA, no kind of violation recurring" } }
                        tr { th { "ML4" } td { "metric at target in each of the last " (s.ml3_periods) " periods and not worsening over " (s.ml4_periods) " periods" } }
                        tr { th { "Gates" } td { "a critical kind of violation in any of the last " (s.ml3_periods) " periods caps the requirement at ML1, documents or not" } }
                        tr { th { "Records of practice" } td { "count for their period when entered within it or " (s.record_grace_days) " days after" } }
                        tr { th { "Violation SLA" } td { (s.violation_sla_days) " days unless a requirement sets its own" } }
                        tr { th { "Assessment digest" } td class="mono" { (r.appendix.assessment_digest) } }
                    } }
                    p class="muted" { "An evidence bundle (shoko-collector export-evidence) carries this report with the findings, observations, attestations and frames behind it, signed with the collector's Ed25519 key; shoko-collector verify-bundle checks it offline." }
                }
            }
        }
    };
    page.into_string()
}
