//! Text rendering of the asset, change and baseline lists and the drift report for the terminal.

use crate::assess::attest::AttestationView;
use crate::assess::catalog::{Catalog, EvidenceKind};
use crate::assess::rules::{Finding, KINDS, Outcome};
use crate::baseline::{AssetRefView, BaselineView, Drift};
use crate::events::EventView;
use crate::store::{AssetView, ChangeView};
use shoko_proto::AssetRef;
use std::fmt::Write;

/// Renders assets as an aligned table: id, MAC, IPs, vendor, model, firmware (`!` marks a
/// conflict between sources), services, last seen.
pub fn asset_table(assets: &[AssetView]) -> String {
    let rows: Vec<[String; 8]> = assets
        .iter()
        .map(|a| {
            let mac = a
                .macs
                .first()
                .map(|m| m.to_string())
                .unwrap_or_else(|| "-".into());
            let mac = if a.router { format!("{mac} (router)") } else { mac };
            let ips = if a.ips.is_empty() {
                "-".into()
            } else {
                a.ips.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
            };
            let services = if a.services.is_empty() {
                "-".into()
            } else {
                a.services
                    .iter()
                    .map(|s| {
                        let proto = s.protocol.as_deref().unwrap_or("?");
                        format!("{}/{}({proto})", s.transport.as_str(), s.port)
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let attribute = |names: &[&str]| {
                names
                    .iter()
                    .find_map(|n| {
                        let v = a.attributes.get(*n)?;
                        let conflict = if a.conflicts.iter().any(|c| c == n) {
                            " !"
                        } else {
                            ""
                        };
                        Some(format!("{v}{conflict}"))
                    })
                    .unwrap_or_else(|| "-".into())
            };
            [
                a.id.to_string(),
                mac,
                ips,
                attribute(&["vendor"]),
                attribute(&["model", "product"]),
                attribute(&["firmware"]),
                services,
                a.last_seen.to_string(),
            ]
        })
        .collect();
    table(
        [
            "ID",
            "MAC",
            "IP",
            "VENDOR",
            "MODEL",
            "FIRMWARE",
            "SERVICES",
            "LAST SEEN",
        ],
        &rows,
    )
}

/// Renders change records: id, asset, kind, subject, old and new value, status.
pub fn change_table(changes: &[ChangeView]) -> String {
    let rows: Vec<[String; 7]> = changes
        .iter()
        .map(|c| {
            let status = match (&c.reference, &c.decided_by) {
                (Some(r), Some(by)) => format!("{} ({r}, {by})", c.status),
                _ => c.status.clone(),
            };
            [
                c.id.to_string(),
                c.asset_id.to_string(),
                c.kind.clone(),
                c.subject.clone(),
                c.old_value.clone().unwrap_or_else(|| "-".into()),
                c.new_value.clone().unwrap_or_else(|| "-".into()),
                status,
            ]
        })
        .collect();
    table(["ID", "ASSET", "KIND", "SUBJECT", "OLD", "NEW", "STATUS"], &rows)
}

/// Renders protocol events: observation id, time, protocol, kind, severity, who, to whom (and
/// the asset it was fused into), details.
pub fn event_table(events: &[EventView]) -> String {
    let party = |r: &Option<AssetRef>| {
        r.as_ref()
            .and_then(|r| r.ip.map(|ip| ip.to_string()).or(r.mac.map(|m| m.to_string())))
            .unwrap_or_else(|| "-".into())
    };
    let rows: Vec<[String; 8]> = events
        .iter()
        .map(|e| {
            let details: Vec<String> = e.details.iter().map(|(k, v)| format!("{k}={v}")).collect();
            [
                e.observation_id.to_string(),
                e.observed_at.to_string(),
                e.protocol.clone(),
                e.kind.clone(),
                format!("{:?}", e.severity).to_lowercase(),
                party(&e.actor),
                match e.asset_id {
                    Some(id) => format!("{} (asset {id})", party(&e.target)),
                    None => party(&e.target),
                },
                details.join(", "),
            ]
        })
        .collect();
    table(
        [
            "OBSERVATION",
            "SEEN",
            "PROTOCOL",
            "KIND",
            "SEVERITY",
            "FROM",
            "TO",
            "DETAILS",
        ],
        &rows,
    )
}

/// Renders baselines: id, name, who approved them and when, assets, scope.
pub fn baseline_table(baselines: &[BaselineView]) -> String {
    let rows: Vec<[String; 6]> = baselines
        .iter()
        .map(|b| {
            let scope = serde_json::to_string(&b.scope).unwrap_or_default();
            let scope = if scope == "{}" { "all assets".into() } else { scope };
            [
                b.id.to_string(),
                b.name.clone(),
                b.approved_by.clone(),
                b.approved_at.to_string(),
                b.assets.to_string(),
                scope,
            ]
        })
        .collect();
    table(
        ["ID", "NAME", "APPROVED BY", "APPROVED AT", "ASSETS", "SCOPE"],
        &rows,
    )
}

/// Renders a drift report: the baseline, then unknown, missing and changed assets.
pub fn drift_report(d: &Drift) -> String {
    let b = &d.baseline;
    let mut out = format!(
        "baseline {} \"{}\" approved by {} at {} ({} assets)\n",
        b.id, b.name, b.approved_by, b.approved_at, b.assets
    );
    if d.is_empty() {
        out.push_str("no drift\n");
        return out;
    }
    let seen = |t: Option<shoko_proto::Timestamp>| t.map_or("no longer stored".into(), |t| t.to_string());
    let assets = |v: &[AssetRefView]| -> Vec<[String; 3]> {
        v.iter()
            .map(|a| [a.asset_id.to_string(), a.key.clone(), seen(a.last_seen)])
            .collect()
    };
    let _ = writeln!(out, "\nunknown assets ({}):", d.unknown.len());
    out.push_str(&table(["ID", "KEY", "LAST SEEN"], &assets(&d.unknown)));
    let _ = writeln!(
        out,
        "\nmissing assets, not seen since {} ({}):",
        d.missing_since,
        d.missing.len()
    );
    out.push_str(&table(["ID", "KEY", "LAST SEEN"], &assets(&d.missing)));
    let changed: Vec<[String; 5]> = d
        .changed
        .iter()
        .map(|c| {
            let value = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            [
                c.asset_id.to_string(),
                c.key.clone(),
                c.what.clone(),
                value(&c.baseline),
                value(&c.current),
            ]
        })
        .collect();
    let _ = writeln!(out, "\nchanged ({}):", d.changed.len());
    out.push_str(&table(["ID", "KEY", "WHAT", "BASELINE", "NOW"], &changed));
    out
}

/// Renders the catalog: its version, then each requirement with its group, evidence kind, rules
/// and SLA.
pub fn catalog_table(c: &Catalog) -> String {
    let rows: Vec<[String; 6]> = c
        .requirements
        .iter()
        .map(|r| {
            let evidence = match r.evidence {
                EvidenceKind::Telemetry => "telemetry",
                EvidenceKind::AttestationOnly => "attestation-only",
            };
            [
                r.id.clone(),
                r.title.clone(),
                evidence.into(),
                r.rules.len().to_string(),
                format!("{} d", r.sla_days),
                match r.critical.is_empty() {
                    true => "-".into(),
                    false => r.critical.join(", "),
                },
            ]
        })
        .collect();
    let kinds: Vec<[String; 2]> = KINDS
        .iter()
        .map(|(k, what)| [k.to_string(), what.to_string()])
        .collect();
    format!(
        "{} catalog {} ({} requirements; cross references: {})\n\n{}\nKinds of violation (a requirement's CRITICAL ones cap it at ML1):\n{}",
        c.standard,
        c.version,
        c.requirements.len(),
        c.crosswalk,
        table(["ID", "TITLE", "EVIDENCE", "RULES", "SLA", "CRITICAL"], &rows),
        table(["KIND", "MEANING"], &kinds)
    )
}

/// Renders attestations: id, kind, scope, title, validity dates, digest, who and when; revoked
/// ones say so.
pub fn attestation_table(all: &[AttestationView]) -> String {
    let rows: Vec<[String; 7]> = all
        .iter()
        .map(|a| {
            let st = &a.statement;
            let until = st.next_review.as_deref().or(st.expires.as_deref()).unwrap_or("-");
            let file = match (&st.file_name, &st.sha256) {
                (Some(n), Some(d)) => format!("{n} sha256:{}", d.get(..12).unwrap_or(d)),
                _ => "-".into(),
            };
            let status = match (&a.revoked_by, a.revoked_at) {
                (Some(by), Some(at)) => format!("revoked by {by} at {at}"),
                _ => format!("by {} at {}", a.attested_by, a.attested_at),
            };
            [
                a.id.to_string(),
                st.kind.as_str().into(),
                st.scope.clone(),
                st.title.clone(),
                until.into(),
                file,
                status,
            ]
        })
        .collect();
    table(["ID", "KIND", "SCOPE", "TITLE", "UNTIL", "FILE", "STATUS"], &rows)
}

/// Renders findings: requirement, rule, subject, outcome, why, and how much evidence.
pub fn findings_table(findings: &[Finding]) -> String {
    let rows: Vec<[String; 6]> = findings
        .iter()
        .map(|f| {
            let outcome = match f.outcome {
                Outcome::Satisfied => "satisfied",
                Outcome::Violated => "VIOLATED",
                Outcome::Unknown => "unknown",
                Outcome::Pending => "pending",
            };
            let rule = f.rule.split_once('/').map_or(f.rule.as_str(), |(_, r)| r);
            [
                f.requirement.clone(),
                rule.to_string(),
                f.subject.clone(),
                outcome.into(),
                f.detail.clone(),
                f.evidence.len().to_string(),
            ]
        })
        .collect();
    table(
        ["REQUIREMENT", "RULE", "SUBJECT", "OUTCOME", "WHY", "EVIDENCE"],
        &rows,
    )
}

/// Renders advisory matches: asset, advisory, CVEs (KEV marked), what matched, version,
/// confidence, evidence.
pub fn match_table(matches: &[crate::advisory::matching::Match]) -> String {
    let rows: Vec<[String; 7]> = matches
        .iter()
        .map(|m| {
            let cves: Vec<String> = m
                .cves
                .iter()
                .map(|c| {
                    if m.known_exploited.contains(c) {
                        format!("{c} (KEV)")
                    } else {
                        c.clone()
                    }
                })
                .collect();
            [
                format!("{} {}", m.asset_id, m.asset),
                m.advisory.clone(),
                cves.join(", "),
                m.product.clone(),
                m.version.clone(),
                format!("{:.2}", m.confidence),
                m.evidence.map_or("-".into(), |id| format!("observation {id}")),
            ]
        })
        .collect();
    table(
        [
            "ASSET",
            "ADVISORY",
            "CVES",
            "MATCHED",
            "VERSION",
            "CONFIDENCE",
            "EVIDENCE",
        ],
        &rows,
    )
}

/// An aligned table of `rows` under `header`.
/// Stored text made safe for a terminal: control characters (line breaks, escape sequences)
/// written as escapes, so text from the network or a login form can neither forge lines nor
/// drive the terminal.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return s.into();
    }
    s.chars()
        .map(|c| match c.is_control() {
            true => c.escape_default().to_string(),
            false => c.to_string(),
        })
        .collect::<String>()
        .into()
}

fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let rows: Vec<[String; N]> = rows
        .iter()
        .map(|r| r.clone().map(|c| printable(&c).into_owned()))
        .collect();
    let rows = rows.as_slice();
    let mut widths = header.map(str::len);
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (i, c) in cells.enumerate() {
            let _ = write!(l, "{c:<w$}  ", w = widths[i]);
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for r in rows {
        line(&mut r.iter().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("plain text é"), "plain text é");
        assert_eq!(
            printable("admin\n2026-01-01 user:root login\u{1b}[2J"),
            "admin\\n2026-01-01 user:root login\\u{1b}[2J"
        );
    }
}
