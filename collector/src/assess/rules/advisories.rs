//! Rules over the imported advisories and their matches on the inventory: assets whose firmware
//! or packages an advisory affects (COMP 3.3), every vulnerable or unpatched asset mitigated by an
//! attested compensating control (COMP 3.5), advisory feeds imported within 30 days and matched
//! vulnerabilities triaged within the SLA (EVENT 1.9).

use super::{Evidence, Inputs, KNOWN_EXPLOITED_UNMITIGATED, Observed, Outcome, finding};
use crate::advisory::matching::Match;
use crate::assess::attest::{AttestationKind, AttestationView, day_of};
use crate::assess::rules::Finding;
use std::collections::BTreeMap;

const DAY_NS: i64 = 86_400_000_000_000;

/// Feeds older than this are stale (EVENT 1.9).
const FRESH_DAYS: i64 = 30;

/// A vulnerability matched longer than this counts against the COMP 3.3 metric.
const PENDING_DAYS: i64 = 30;

fn evidence(m: &Match) -> Vec<Evidence> {
    m.evidence
        .map(|id| Evidence::Observation { id })
        .into_iter()
        .collect()
}

/// The matches of the assets known before the period's end, by asset.
fn matches_by_asset(seen: &Observed) -> BTreeMap<i64, Vec<&Match>> {
    let mut by_asset: BTreeMap<i64, Vec<&Match>> = BTreeMap::new();
    for m in seen
        .vulnerabilities
        .matches
        .iter()
        .filter(|m| m.since < seen.period.end)
    {
        by_asset.entry(m.asset_id).or_default().push(m);
    }
    by_asset
}

/// A valid mitigation for the asset, or for the advisory or one of its CVEs.
fn mitigation<'a>(seen: &'a Observed, asset: i64, m: Option<&Match>) -> Option<&'a AttestationView> {
    let day = day_of(seen.period.end);
    let mut scopes = vec![format!("asset:{asset}")];
    if let Some(m) = m {
        scopes.push(format!("vulnerability:{}", m.advisory));
        scopes.extend(m.cves.iter().map(|c| format!("vulnerability:{c}")));
    }
    // A mitigation of a known-exploited vulnerability lifts a critical gate: four eyes.
    let exploited = m.is_some_and(|m| !m.known_exploited.is_empty());
    seen.attestations.iter().find(|a| {
        a.statement.kind == AttestationKind::Mitigation
            && scopes.contains(&a.statement.scope)
            && a.attested_at < seen.period.end
            && a.is_valid(day)
            && (!exploited || a.countersigned_before(seen.period.end))
    })
}

fn listing(ms: &[&Match]) -> String {
    ms.iter()
        .map(|m| {
            let kev = if m.known_exploited.is_empty() {
                ""
            } else {
                ", known exploited"
            };
            format!("{} ({}{kev})", m.advisory, m.cves.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// COMP 3.3: assets with a known firmware version an advisory affects are violated, the others
/// with a known firmware satisfied; hosts with an affected package violated.
pub fn patch_status(seen: &Observed) -> Vec<Finding> {
    let rule = "comp-3.3/no-pending-security-patches";
    let by_asset = matches_by_asset(seen);
    let mut out = Vec::new();
    for a in seen.present_assets() {
        let mine = by_asset.get(&a.id).map(Vec::as_slice).unwrap_or_default();
        let firmware = a.attributes.get("firmware");
        if mine.is_empty() && (firmware.is_none() || seen.hosts.contains_key(&a.id)) {
            continue;
        }
        let subject = format!("asset {} {} advisories", a.id, a.key);
        if mine.is_empty() {
            let detail = format!(
                "no imported advisory affects firmware {}",
                firmware.map(String::as_str).unwrap_or_default()
            );
            out.push(finding(rule, subject, Outcome::Satisfied, detail, vec![]).valued(Some(0.0)));
            continue;
        }
        let over = mine
            .iter()
            .any(|m| seen.period.end.0 - m.since.0 > PENDING_DAYS * DAY_NS);
        let evidence = mine.iter().flat_map(|m| evidence(m)).collect();
        out.push(
            finding(
                rule,
                subject,
                Outcome::Violated,
                format!("affected by {}", listing(mine)),
                evidence,
            )
            .valued(Some(if over { 1.0 } else { 0.0 })),
        );
    }
    out
}

/// COMP 3.5: each asset an advisory affects, and each host with security updates pending, has a
/// valid mitigation attested (for the asset, the advisory or one of its CVEs).
pub fn mitigations(seen: &Observed) -> Vec<Finding> {
    let rule = "comp-3.5/mitigations-attested";
    let mut out = Vec::new();
    for (asset, ms) in matches_by_asset(seen) {
        for m in ms {
            let subject = format!("asset {asset} {} {}", m.asset, m.advisory);
            let (outcome, detail) = match mitigation(seen, asset, Some(m)) {
                Some(a) => (
                    Outcome::Satisfied,
                    format!("mitigated by attestation {}: {}", a.id, a.statement.title),
                ),
                None => (
                    Outcome::Violated,
                    format!(
                        "{} {} affected; no valid mitigation attested",
                        m.product, m.version
                    ),
                ),
            };
            let f = finding(rule, subject, outcome, detail, evidence(m));
            out.push(match m.known_exploited.is_empty() {
                true => f,
                false => f.of_kind(KNOWN_EXPLOITED_UNMITIGATED, m.product.clone()),
            });
        }
    }
    for (asset, host) in &seen.hosts {
        let pending = host
            .patch_state(seen.period)
            .map(|(_, id, p)| (id, p.security_pending));
        let Some((id, n)) = pending.filter(|(_, n)| *n > 0) else {
            continue;
        };
        let subject = format!("host {} (asset {asset}) pending security updates", host.hostname);
        let (outcome, detail) = match mitigation(seen, *asset, None) {
            Some(a) => (
                Outcome::Satisfied,
                format!(
                    "{n} security updates pending, mitigated by attestation {}: {}",
                    a.id, a.statement.title
                ),
            ),
            None => (
                Outcome::Violated,
                format!("{n} security updates pending and no valid mitigation attested"),
            ),
        };
        out.push(finding(
            rule,
            subject,
            outcome,
            detail,
            vec![Evidence::Observation { id }],
        ));
    }
    out
}

/// EVENT 1.9: each feed imported within 30 days of the period's end; each match triaged (a valid
/// mitigation attested) within the SLA, counted from when the match stands.
pub fn vulnerability_handling(inputs: &Inputs<'_>, seen: &Observed) -> Vec<Finding> {
    let end = seen.period.end;
    let mut out = Vec::new();
    let mut newest: BTreeMap<&str, (i64, &str)> = BTreeMap::new();
    for f in seen.vulnerabilities.feeds.iter().filter(|f| f.imported_at < end) {
        newest.insert(&f.feed, (f.imported_at.0, &f.file));
    }
    if newest.is_empty() {
        out.push(finding(
            "event-1.9/feeds-fresh",
            "advisory feeds".into(),
            Outcome::Violated,
            "no advisory feed imported (shoko-collector advisories import)".into(),
            vec![],
        ));
    }
    for (feed, (at, file)) in newest {
        let days = (end.0 - at) / DAY_NS;
        let outcome = if days <= FRESH_DAYS {
            Outcome::Satisfied
        } else {
            Outcome::Violated
        };
        let detail = format!("last imported {days} days before the period's end ({file})");
        out.push(finding(
            "event-1.9/feeds-fresh",
            format!("feed {feed}"),
            outcome,
            detail,
            vec![],
        ));
    }
    let sla = inputs.sla_ns("EVENT 1.9");
    for (asset, ms) in matches_by_asset(seen) {
        for m in ms {
            let subject = format!("asset {asset} {} {}", m.asset, m.advisory);
            let age = (end.0 - m.since.0) / DAY_NS;
            let (outcome, detail) = match mitigation(seen, asset, Some(m)) {
                Some(a) => (
                    Outcome::Satisfied,
                    format!("triaged: mitigation attested ({})", a.id),
                ),
                None if end.0 - m.since.0 > sla => (
                    Outcome::Violated,
                    format!("matched {age} days ago, not triaged within {} days", sla / DAY_NS),
                ),
                None => (
                    Outcome::Pending,
                    format!("matched {age} days ago, awaiting triage"),
                ),
            };
            out.push(finding(
                "event-1.9/vulnerabilities-triaged",
                subject,
                outcome,
                detail,
                evidence(m),
            ));
        }
    }
    out
}
