//! Host rules, over what host agents report: the outcome of their configuration checks (each
//! rule names the checks that evidence it), the freshness and completeness of their inventories,
//! whether their hardening drifted or regressed after a patch, and their patch state.
//!
//! A host is in scope when it reported within the look-back (`LOOKBACK_DAYS` before the period's
//! end); one that reported nothing in the period is a subject without data (unknown). A check
//! a host reports as not applicable (no wireless interface) leaves the host out of that rule.

use super::{Evidence, Inputs, Observed, Outcome, Period, finding};
use crate::assess::rules::Finding;
use crate::store::{Store, StoreError, StoredObservation};
use shoko_proto::{CheckOutcome, HostFacts, ObservationBody, PatchSummary, Timestamp};
use std::collections::BTreeMap;

const DAY_NS: i64 = 86_400_000_000_000;

/// How far before a period's end hosts are looked for (and patch history read).
pub const LOOKBACK_DAYS: i64 = 38;

/// Security updates pending longer than this count against the COMP 3.3 metric.
const PENDING_DAYS: i64 = 30;

/// Rules decided by host configuration checks, with the checks each reads.
const CHECK_RULES: &[(&str, &[&str])] = &[
    (
        "comp-1.1/host-hardening",
        &[
            "firewall.default_deny_inbound",
            "services.cleartext_servers",
            "ssh.password_authentication",
            "ssh.permit_root_login",
        ],
    ),
    ("comp-1.2/usb-storage-blocked", &["media.usb_storage_blocked"]),
    ("comp-2.1/recent-scan", &["malware.recent_scan"]),
    ("comp-2.2/protection-running", &["malware.protection_current"]),
    ("comp-3.1/signed-packages", &["packages.signatures_enforced"]),
    ("event-1.1/audit-running", &["audit.rules_present"]),
    ("event-1.4/logs-forwarded", &["logs.forwarded"]),
    ("event-1.5/trustworthy-time", &["time.synchronisation_configured"]),
    ("event-1.6/log-permissions", &["logs.not_world_writable"]),
    ("net-1.1/no-default-route", &["network.no_default_route"]),
    ("net-1.6/host-firewall", &["firewall.default_deny_inbound"]),
    ("net-1.9/hosts-synchronised", &["time.synchronisation_configured"]),
    ("net-2.1/wireless-security", &["wireless.enterprise_security"]),
    (
        "net-3.1/allowed-remote-access",
        &["services.remote_access_software"],
    ),
    ("net-3.3/idle-timeout", &["ssh.idle_timeout"]),
];

/// One reported check outcome.
#[derive(Debug, Clone)]
pub struct CheckSeen {
    /// When the host observed it.
    pub at: Timestamp,
    /// The observation.
    pub observation_id: i64,
    /// Its outcome.
    pub outcome: CheckOutcome,
    /// Why.
    pub reason: String,
}

/// One host's reports over the look-back, oldest first.
#[derive(Debug, Clone, Default)]
pub struct HostReports {
    /// Its name.
    pub hostname: String,
    /// Inventories (time, observation, facts).
    pub facts: Vec<(Timestamp, i64, HostFacts)>,
    /// Check outcomes by check id.
    pub checks: BTreeMap<String, Vec<CheckSeen>>,
}

impl HostReports {
    /// The newest outcome of `check` observed in `period`.
    fn latest_check(&self, check: &str, period: Period) -> Option<&CheckSeen> {
        self.checks
            .get(check)?
            .iter()
            .rev()
            .find(|c| c.at >= period.start && c.at < period.end)
    }

    /// Whether it reported an inventory in `period`.
    pub fn reported_in(&self, period: Period) -> bool {
        self.latest_facts(period).is_some()
    }

    /// The newest inventory observed in `period`.
    fn latest_facts(&self, period: Period) -> Option<&(Timestamp, i64, HostFacts)> {
        self.facts
            .iter()
            .rev()
            .find(|(at, ..)| *at >= period.start && *at < period.end)
    }

    /// The newest patch state (read from package indexes) reported in `period`, with when and the
    /// observation.
    pub fn patch_state(&self, period: Period) -> Option<(Timestamp, i64, &PatchSummary)> {
        self.facts
            .iter()
            .rev()
            .filter(|(at, ..)| *at >= period.start && *at < period.end)
            .find_map(|(at, id, f)| Some((*at, *id, f.patch.as_ref().filter(|p| p.indexes > 0)?)))
    }

    /// Checks whose outcome went from pass to fail in `period` (after `since` when given), with
    /// the observation showing the failure.
    fn regressions(&self, period: Period, since: Option<Timestamp>) -> Vec<(&str, i64)> {
        let mut out = Vec::new();
        for (id, seen) in &self.checks {
            let mut last: Option<CheckOutcome> = None;
            for c in seen.iter().filter(|c| c.at < period.end) {
                let counts = c.at >= period.start && since.is_none_or(|s| c.at >= s);
                if counts && last == Some(CheckOutcome::Pass) && c.outcome == CheckOutcome::Fail {
                    out.push((id.as_str(), c.observation_id));
                }
                last = Some(c.outcome);
            }
        }
        out
    }
}

/// Every host that reported in the look-back before `end`, by asset id.
pub fn read_hosts(store: &dyn Store, end: Timestamp) -> Result<BTreeMap<i64, HostReports>, StoreError> {
    let start = Timestamp(end.0.saturating_sub(LOOKBACK_DAYS * DAY_NS));
    let mut hosts: BTreeMap<i64, HostReports> = BTreeMap::new();
    let with_asset = |o: StoredObservation| o.asset_id.map(|a| (a, o));
    for (asset, o) in store
        .observations_of_kind("host_facts", start, end)?
        .into_iter()
        .filter_map(with_asset)
    {
        if let ObservationBody::HostFacts(f) = o.observation.body {
            let host = hosts.entry(asset).or_default();
            host.hostname.clone_from(&f.hostname);
            host.facts.push((o.observation.provenance.observed_at, o.id, f));
        }
    }
    for (asset, o) in store
        .observations_of_kind("config_check", start, end)?
        .into_iter()
        .filter_map(with_asset)
    {
        if let ObservationBody::ConfigCheck(c) = o.observation.body {
            let host = hosts.entry(asset).or_default();
            host.checks.entry(c.check_id).or_default().push(CheckSeen {
                at: o.observation.provenance.observed_at,
                observation_id: o.id,
                outcome: c.outcome,
                reason: c.reason,
            });
        }
    }
    Ok(hosts)
}

/// The name a finding gives a host.
fn host_name(asset: i64, host: &HostReports) -> String {
    if host.hostname.is_empty() {
        format!("host asset {asset}")
    } else {
        format!("host {} (asset {asset})", host.hostname)
    }
}

/// One finding per host and check of each check rule.
pub fn configuration_checks(inputs: &Inputs<'_>, seen: &Observed) -> Vec<Finding> {
    let mut out = Vec::new();
    for (asset, host) in &seen.hosts {
        for (rule, checks) in CHECK_RULES {
            if *rule == "net-1.1/no-default-route" && outside_iacs(inputs, seen, *asset) {
                continue;
            }
            for check in *checks {
                let subject = format!("{} {check}", host_name(*asset, host));
                let Some(c) = host.latest_check(check, seen.period) else {
                    let detail = if host.checks.contains_key(*check) {
                        "the host reported no outcome of this check in the period"
                    } else {
                        "the host agent does not report this check"
                    };
                    out.push(finding(rule, subject, Outcome::Unknown, detail.into(), vec![]));
                    continue;
                };
                let outcome = match c.outcome {
                    CheckOutcome::NotApplicable => continue,
                    CheckOutcome::Pass => Outcome::Satisfied,
                    CheckOutcome::Unknown => Outcome::Unknown,
                    CheckOutcome::Fail if *rule == "net-3.1/allowed-remote-access" => {
                        allowed_remote_access(inputs, &c.reason)
                    }
                    CheckOutcome::Fail => Outcome::Violated,
                };
                let evidence = vec![Evidence::Observation { id: c.observation_id }];
                out.push(finding(rule, subject, outcome, c.reason.clone(), evidence));
            }
        }
    }
    out
}

/// True when every address of the asset is in a declared zone outside the IACS.
fn outside_iacs(inputs: &Inputs<'_>, seen: &Observed, asset: i64) -> bool {
    let Some(declared) = inputs.declared else {
        return false;
    };
    let Some(a) = seen.assets.iter().find(|a| a.id == asset) else {
        return false;
    };
    !a.ips.is_empty()
        && a.ips
            .iter()
            .all(|ip| declared.zone_of(*ip).is_some_and(|z| !z.kind.is_iacs()))
}

/// Remote-access software found on a host is satisfied when each item the check names (a package,
/// a unit, a listening port) starts with an application of the declared allow-list.
fn allowed_remote_access(inputs: &Inputs<'_>, reason: &str) -> Outcome {
    let allowed = inputs
        .declared
        .map(|d| d.remote_access_apps.as_slice())
        .unwrap_or_default();
    let items = reason.strip_prefix("remote-access software: ").unwrap_or(reason);
    let all_allowed = !allowed.is_empty()
        && top_level_items(items).iter().all(|item| {
            let name = item.split([' ', '.']).next().unwrap_or_default();
            allowed.iter().any(|a| a.eq_ignore_ascii_case(name))
        });
    if all_allowed {
        Outcome::Satisfied
    } else {
        Outcome::Violated
    }
}

/// `a, b (x, y), c` split at the commas outside parentheses.
fn top_level_items(list: &str) -> Vec<&str> {
    let (mut items, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, ch) in list.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(list[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(list[start..].trim());
    items.retain(|i| !i.is_empty());
    items
}

/// CM 1.1 inventories younger than a day at the period's end, CM 1.3 hardening stable and full
/// inventories received.
pub fn inventories(seen: &Observed) -> Vec<Finding> {
    let period = seen.period;
    let mut out = Vec::new();
    for (asset, host) in &seen.hosts {
        let name = host_name(*asset, host);
        let latest = host.facts.iter().rev().find(|(at, ..)| *at < period.end);
        let (outcome, detail, evidence) = match latest {
            Some((at, id, _)) => {
                let hours = (period.end.0 - at.0) / 3_600_000_000_000;
                let outcome = if hours < 24 {
                    Outcome::Satisfied
                } else {
                    Outcome::Violated
                };
                let detail = format!("newest inventory {hours} h before the period's end");
                (outcome, detail, vec![Evidence::Observation { id: *id }])
            }
            None => (Outcome::Unknown, "no inventory yet".to_string(), vec![]),
        };
        out.push(finding(
            "cm-1.1/host-inventory-fresh",
            name.clone(),
            outcome,
            detail,
            evidence,
        ));

        let full = host
            .facts
            .iter()
            .rev()
            .filter(|(at, ..)| *at >= period.start && *at < period.end)
            .find(|(.., f)| f.snapshot.as_ref().is_none_or(|s| s.full));
        let (outcome, detail, evidence) = match (full, host.latest_facts(period)) {
            (Some((_, id, f)), _) => (
                Outcome::Satisfied,
                format!(
                    "full inventory with {} items",
                    f.snapshot.as_ref().map_or(0, |s| s.items)
                ),
                vec![Evidence::Observation { id: *id }],
            ),
            (None, Some((_, id, _))) => (
                Outcome::Violated,
                "only partial inventories in the period".to_string(),
                vec![Evidence::Observation { id: *id }],
            ),
            (None, None) => (Outcome::Unknown, "no inventory in the period".to_string(), vec![]),
        };
        out.push(finding(
            "cm-1.3/configuration-monitored",
            name.clone(),
            outcome,
            detail,
            evidence,
        ));

        let reported = host
            .checks
            .values()
            .flatten()
            .any(|c| c.at >= period.start && c.at < period.end);
        let regressed = host.regressions(period, None);
        let (outcome, detail) = match (reported, regressed.is_empty()) {
            (false, _) => (Outcome::Unknown, "no check outcome in the period".to_string()),
            (true, true) => (Outcome::Satisfied, "no check went from pass to fail".to_string()),
            (true, false) => (
                Outcome::Violated,
                format!(
                    "went from pass to fail: {}",
                    regressed.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
                ),
            ),
        };
        let evidence = regressed
            .iter()
            .map(|(_, id)| Evidence::Observation { id: *id })
            .collect();
        out.push(
            finding("cm-1.3/hardening-stable", name, outcome, detail, evidence)
                .valued(Some(regressed.len() as f64)),
        );
    }
    out
}

/// COMP 3.2 patches installed, COMP 3.3 no security updates pending (with the metric: pending
/// over 30 days), COMP 3.4 no hardening regression after a package operation.
pub fn patches(seen: &Observed) -> Vec<Finding> {
    let period = seen.period;
    let mut out = Vec::new();
    for (asset, host) in &seen.hosts {
        let name = host_name(*asset, host);
        let Some((at, id, patch)) = host.patch_state(period) else {
            let detail = "no package index state reported in the period".to_string();
            out.push(finding(
                "comp-3.2/patches-installed",
                name.clone(),
                Outcome::Unknown,
                detail.clone(),
                vec![],
            ));
            out.push(finding(
                "comp-3.3/no-pending-security-patches",
                name,
                Outcome::Unknown,
                detail,
                vec![],
            ));
            continue;
        };
        let evidence = vec![Evidence::Observation { id }];
        let last_operation = patch.last_package_operation.as_deref().and_then(operation_time);
        let operation_days = last_operation.map(|t| (at.0 - t.0) / DAY_NS);
        let (outcome, detail) = match (patch.security_pending, operation_days) {
            (0, _) => (Outcome::Satisfied, "no security update pending".to_string()),
            (n, Some(days)) if days <= PENDING_DAYS => (
                Outcome::Satisfied,
                format!("{n} security updates pending; packages last changed {days} days ago"),
            ),
            (n, Some(days)) => (
                Outcome::Violated,
                format!("{n} security updates pending; packages last changed {days} days ago"),
            ),
            (n, None) => (
                Outcome::Violated,
                format!("{n} security updates pending; no package operation on record"),
            ),
        };
        out.push(finding(
            "comp-3.2/patches-installed",
            name.clone(),
            outcome,
            detail,
            evidence.clone(),
        ));

        let pending_since = pending_since(host, period.end);
        let over = pending_since.is_some_and(|since| period.end.0 - since.0 > PENDING_DAYS * DAY_NS);
        let (outcome, detail) = if patch.security_pending == 0 {
            (
                Outcome::Satisfied,
                format!("{} updates pending, none for security", patch.pending),
            )
        } else {
            (
                Outcome::Violated,
                format!(
                    "{} security updates pending ({} in all){}",
                    patch.security_pending,
                    patch.pending,
                    if over { ", for over 30 days" } else { "" }
                ),
            )
        };
        out.push(
            finding(
                "comp-3.3/no-pending-security-patches",
                name.clone(),
                outcome,
                detail,
                evidence,
            )
            .valued(Some(if over { 1.0 } else { 0.0 })),
        );

        if let Some(op) = last_operation.filter(|t| *t >= period.start && *t < period.end) {
            let regressed = host.regressions(period, Some(op));
            let outcome = if regressed.is_empty() {
                Outcome::Satisfied
            } else {
                Outcome::Violated
            };
            let detail = if regressed.is_empty() {
                "no check went from pass to fail after the package operation".to_string()
            } else {
                format!(
                    "after the package operation, went from pass to fail: {}",
                    regressed.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
                )
            };
            let mut evidence = vec![Evidence::Observation { id }];
            evidence.extend(regressed.iter().map(|(_, id)| Evidence::Observation { id: *id }));
            out.push(finding(
                "comp-3.4/no-regression-after-patch",
                name,
                outcome,
                detail,
                evidence,
            ));
        }
    }
    out
}

/// Since when the host's newest inventories have had security updates pending (none when the
/// newest has none).
fn pending_since(host: &HostReports, end: Timestamp) -> Option<Timestamp> {
    let mut since = None;
    for (at, _, f) in host.facts.iter().filter(|(at, ..)| *at < end) {
        match f.patch.as_ref().filter(|p| p.indexes > 0) {
            Some(p) if p.security_pending > 0 => since = since.or(Some(*at)),
            Some(_) => since = None,
            None => {}
        }
    }
    since
}

/// A package operation time as hosts report it (`YYYY-MM-DD HH:MM:SS`, UTC).
fn operation_time(s: &str) -> Option<Timestamp> {
    Timestamp::parse_rfc3339(&format!("{}Z", s.replacen(' ', "T", 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_access_items_split_outside_parentheses() {
        assert_eq!(
            top_level_items("xrdp, xrdp.service (enabled, running), VNC port 5900 listening on 0.0.0.0"),
            [
                "xrdp",
                "xrdp.service (enabled, running)",
                "VNC port 5900 listening on 0.0.0.0"
            ]
        );
        assert_eq!(
            operation_time("2026-11-02 10:00:00"),
            Timestamp::parse_rfc3339("2026-11-02T10:00:00Z")
        );
    }
}
