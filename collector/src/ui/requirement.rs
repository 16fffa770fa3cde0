//! One requirement: its level and why (the derivation in words), the numbers of every period
//! against the thresholds, each rule's counts, and the subjects not satisfied with links to the
//! observations, changes and flows that decided them.

use super::{AsOf, Nav, derive, error_page, read};
use crate::assess::explain::{Explanation, explain};
use crate::assess::rules::{Evidence, Finding};
use crate::assess::score::period_label;
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::report::html::{evidence_text, level_badge, percent};
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use std::collections::HashMap;

/// Findings listed at most (all are in the evidence bundle).
const LISTED: usize = 500;

/// `GET /requirements/{id}`.
pub async fn page(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(as_of): Query<AsOf>,
) -> Response {
    let at = match as_of.resolve(&caller) {
        Ok(at) => at,
        Err(r) => return *r,
    };
    let Some(requirement) = s.basis.catalog.requirement(&id).map(|r| r.id.clone()) else {
        return error_page(
            StatusCode::NOT_FOUND,
            Some(&caller),
            &format!("requirement {id}: not in the catalog"),
        );
    };
    let derivation = match derive(&s, &caller, at).await {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let Some(x) = explain(&derivation, &requirement) else {
        return error_page(
            StatusCode::NOT_FOUND,
            Some(&caller),
            &format!("requirement {id}: not assessed"),
        );
    };
    let assets = match read(&s, &caller, |st| st.assets()).await {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let by_ip: HashMap<String, i64> = assets
        .iter()
        .flat_map(|a| a.ips.iter().map(move |ip| (ip.to_string(), a.id)))
        .collect();
    let body = render(&x, &as_of, &by_ip);
    super::page(&requirement, &caller, Some(Nav::Dashboard), body)
}

fn render(x: &Explanation, as_of: &AsOf, by_ip: &HashMap<String, i64>) -> Markup {
    let s = &x.score;
    let t = &x.scoring;
    html! {
        p { a href={ "/" (as_of.query()) } { "← Dashboard" } }
        h1 { (s.requirement) " " (s.title) }
        p class="meta" { (s.group) " · " (s.spe) " · evidence: " (format!("{:?}", s.evidence).to_lowercase()) " · catalog " (x.catalog_version) }
        table class="facts" id="score" { tbody {
            tr { th { "Level" } td id="level" { (level_badge(s.level)) } }
            tr { th { "Practice (from evidence)" } td { (level_badge(s.practice)) } }
            tr { th { "Documentary (attested)" } td { @if let Some(d) = s.documentary { (level_badge(d)) } @else { "no valid approved document" } } }
            @if let Some(na) = &s.not_applicable { tr { th { "Not applicable" } td { (na) } } }
            tr { th { "Violation SLA" } td { (s.sla_days) " days" } }
            @if let Some(m) = &s.metric { tr { th { "Metric" } td { (m.name) ", target " (m.target) " (" (format!("{:?}", m.better).to_lowercase()) " is better)" } } }
            @if !s.attestations.is_empty() { tr { th { "Attestations" } td { @for a in &s.attestations { "#" (a) " " } } } }
            tr { th { "Evidence digest" } td class="mono" { (s.evidence_digest) } }
        } }
        h2 { "Why" }
        ul id="reasons" { @for r in &s.reasons { li { (r) } } }
        @if !s.overdue.is_empty() {
            p class="notice" { "Violations open past the SLA: " (s.overdue.join(", ")) }
        }
        h2 { "Periods" }
        table id="periods" {
            thead { tr { th { "Period" } th class="num" { "Subjects" } th class="num" { "Satisfied" } th class="num" { "Violated" } th class="num" { "Without data" }
                th class="num" { "Observability" } th class="num" { "Conformance" } th class="num" { "Metric" } th class="num" { "Records" } th class="num" { "Recorded late" } th { "Coverage" } } }
            tbody { @for p in &s.periods { tr {
                td { (period_label(&p.period)) } td class="num" { (p.subjects) } td class="num" { (p.satisfied) } td class="num" { (p.violated) }
                td class="num" { (p.unknown) } td class="num" { (percent(p.observability)) } td class="num" { (percent(p.conformance)) }
                td class="num" { (p.metric.map_or_else(|| "–".into(), |m| format!("{m:.2}"))) } td class="num" { (p.records) } td class="num" { (p.records_late) } td class="coverage" { (p.coverage_statement) }
            } } }
        }
        p class="muted" {
            "Thresholds: observability ≥ " (percent(Some(t.observability_min))) " for a rating; ML3 with conformance ≥ "
            (percent(Some(t.ml3_conformance))) " and observability ≥ " (percent(Some(t.ml3_observability))) " in each of "
            (t.ml3_periods) " periods with at least " (s.min_subjects) " subjects, no violation past its SLA and none recurring; ML4 with the metric at target in each of those periods and not worsening over " (t.ml4_periods) " periods. A critical violation in any of the last " (t.ml3_periods) " periods caps the level at ML1."
        }
        h2 { "Rules" }
        table id="rules" {
            thead { tr { th { "Rule" } th class="num" { "Satisfied" } th class="num" { "Violated" } th class="num" { "Without data" } th class="num" { "Pending" } } }
            tbody { @for r in &x.rules { tr {
                td class="mono" { (r.rule) } td class="num" { (r.satisfied) } td class="num" { (r.violated) } td class="num" { (r.unknown) } td class="num" { (r.pending) }
            } } }
        }
        h2 { "Subjects not satisfied in the current period" }
        @if x.findings.is_empty() { p class="muted" { "None: every subject with data satisfies the requirement." } }
        @else {
            @if x.findings.len() > LISTED { p class="muted" { "The first " (LISTED) " of " (x.findings.len()) "; the evidence bundle has all." } }
            (findings(&x.findings, by_ip))
        }
    }
}

/// Findings with their evidence linked.
fn findings(findings: &[Finding], by_ip: &HashMap<String, i64>) -> Markup {
    html! {
        table id="findings" {
            thead { tr { th { "Subject" } th { "Outcome" } th { "Why" } th { "Evidence" } } }
            tbody { @for f in findings.iter().take(LISTED) {
                @let outcome = format!("{:?}", f.outcome).to_lowercase();
                tr {
                    td class="mono" { (f.subject) }
                    td class={ "outcome-" (outcome) } { (outcome) }
                    td { (f.detail) }
                    td { ul class="evidence" { @for e in &f.evidence { li { (evidence_link(e, by_ip)) } } } }
                }
            } }
        }
    }
}

/// A piece of evidence as a link to where it is shown: observations and changes to theirs,
/// flows to the originating asset's flows (or an inventory search for an unknown address).
fn evidence_link(e: &Evidence, by_ip: &HashMap<String, i64>) -> Markup {
    let href = match e {
        Evidence::Observation { id } => format!("/observations/{id}"),
        Evidence::Change { id } => format!("/changes?status=all#change-{id}"),
        Evidence::Flows { orig, .. } => match by_ip.get(orig) {
            Some(id) => format!("/assets/{id}#flows"),
            None => format!("/inventory?q={}", super::encode(orig)),
        },
    };
    html! { a class="evidence-link" href=(href) { (evidence_text(e)) } }
}
