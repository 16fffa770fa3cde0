//! The rules engine: each telemetry rule of the catalog evaluates its subjects (changes,
//! conversations between zones, services ...) over one period to satisfied, violated or unknown,
//! keeping references to what decided it. One module per SPE; scoring builds on the findings.

mod advisories;
mod cm;
mod comp;
pub mod coverage;
pub mod host;
mod inventory;
mod net;
mod siem;
#[cfg(test)]
mod testdata;
mod traffic;

use super::catalog::Catalog;
use super::declared::Declared;
use crate::advisory::Vulnerabilities;
use crate::assess::attest::AttestationView;
use crate::baseline::BaselineView;
use crate::store::{AssetView, ChangeView, Receipt, ReceiptWindow, Store, StoreError};
use serde::{Deserialize, Serialize};
use shoko_proto::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// What a rule found for one subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The subject does what the requirement asks.
    Satisfied,
    /// It does not.
    Violated,
    /// The data cannot tell (yet).
    Unknown,
    /// Not due yet (an open change within its SLA): neither in nor out of scope.
    Pending,
}

/// What decided a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Evidence {
    /// A stored observation.
    Observation {
        /// Its id.
        id: i64,
    },
    /// A change record.
    Change {
        /// Its id.
        id: i64,
    },
    /// An hourly flow row (the flows of one conversation in one hour).
    Flows {
        /// Start of the hour.
        hour: Timestamp,
        /// Originator.
        orig: String,
        /// Responder.
        resp: String,
        /// `tcp`, `udp` ...
        transport: String,
        /// Responder port.
        port: u16,
        /// Application protocol, when known.
        app_protocol: Option<String>,
        /// Flows in that hour.
        flows: i64,
    },
}

/// One subject's outcome under one rule in one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Requirement id (`NET 1.1`).
    pub requirement: String,
    /// Rule id (`net-1.1/no-enterprise-to-control`).
    pub rule: String,
    /// What was evaluated (`10.20.0.11 -> 10.10.2.21 tcp/502`, `change 17`).
    pub subject: String,
    /// The outcome.
    pub outcome: Outcome,
    /// Why, in words.
    pub detail: String,
    /// What decided it.
    pub evidence: Vec<Evidence>,
    /// The subject's value for the requirement's metric (hours to acknowledge a change, 1 for a
    /// host with security patches pending over 30 days ...), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// What kind of violation it is and where, when the rule tells kinds apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
}

/// A kind of violation and where it happened: recurrence is judged per rule, kind and place
/// (whichever hosts were involved), and the catalog names the kinds that are critical.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Kind {
    /// One of [`KINDS`].
    pub name: String,
    /// Where: a zone pair (`office -> cell-1`), a zone, or a device class.
    pub place: String,
}

/// Every kind of violation the rules tell apart, with what it means.
pub const KINDS: &[(&str, &str)] = &[
    (
        DIRECT_ENTERPRISE_IACS,
        "a flow between an enterprise or Internet address and a control, field or safety zone, not through a DMZ",
    ),
    (
        UNDECLARED_CONDUIT,
        "a flow between two zones on no declared conduit carrying its service",
    ),
    (
        SAFETY_UNDECLARED_CONDUIT,
        "a flow into a safety zone on no declared conduit carrying its service",
    ),
    (
        REMOTE_ACCESS_AROUND_JUMP_HOST,
        "a remote-access session into an IACS zone from neither a jump host nor the remote-access zone",
    ),
    (
        CLEARTEXT_ADMIN_INTO_IACS,
        "a cleartext remote shell (Telnet) on an asset in a control, field or safety zone",
    ),
    (CLEARTEXT_MANAGEMENT, "any other cleartext management service"),
    (
        KNOWN_EXPLOITED_UNMITIGATED,
        "a vulnerability the KEV catalog lists as exploited, with no valid mitigation attested",
    ),
];

/// See [`KINDS`].
pub const DIRECT_ENTERPRISE_IACS: &str = "direct-enterprise-iacs";
/// See [`KINDS`].
pub const UNDECLARED_CONDUIT: &str = "undeclared-conduit";
/// See [`KINDS`].
pub const SAFETY_UNDECLARED_CONDUIT: &str = "safety-undeclared-conduit";
/// See [`KINDS`].
pub const REMOTE_ACCESS_AROUND_JUMP_HOST: &str = "remote-access-around-jump-host";
/// See [`KINDS`].
pub const CLEARTEXT_ADMIN_INTO_IACS: &str = "cleartext-admin-into-iacs";
/// See [`KINDS`].
pub const CLEARTEXT_MANAGEMENT: &str = "cleartext-management";
/// See [`KINDS`].
pub const KNOWN_EXPLOITED_UNMITIGATED: &str = "known-exploited-unmitigated";

impl Finding {
    /// The finding with its metric value.
    fn valued(self, value: Option<f64>) -> Self {
        Finding { value, ..self }
    }

    /// A violation of kind `name` at `place` (other outcomes carry no kind).
    fn of_kind(self, name: &'static str, place: String) -> Self {
        let kind = (self.outcome == Outcome::Violated).then(|| Kind {
            name: name.to_owned(),
            place,
        });
        Finding { kind, ..self }
    }
}

/// A period: from `start` up to (not including) `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// First instant.
    pub start: Timestamp,
    /// First instant after it.
    pub end: Timestamp,
}

impl Period {
    /// The `days` days ending at `end`.
    pub fn ending(end: Timestamp, days: u32) -> Self {
        Period {
            start: Timestamp(end.0.saturating_sub(i64::from(days) * 86_400_000_000_000)),
            end,
        }
    }
}

/// What the rules read.
pub struct Inputs<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// The catalog (rule ids, SLAs).
    pub catalog: &'a Catalog,
    /// The declared zones and conduits, if any.
    pub declared: Option<&'a Declared>,
}

impl Inputs<'_> {
    /// When observations of `period` count as retrospective or from the future.
    pub fn receipt_window(&self, period: Period) -> ReceiptWindow {
        let s = &self.catalog.scoring;
        ReceiptWindow {
            late_after: Timestamp(
                period
                    .end
                    .0
                    .saturating_add(i64::from(s.retrospective_grace_hours) * 3_600_000_000_000),
            ),
            future_ns: i64::from(s.future_tolerance_minutes) * 60_000_000_000,
        }
    }

    /// The SLA of a requirement in nanoseconds.
    fn sla_ns(&self, requirement: &str) -> i64 {
        let days = self
            .catalog
            .requirement(requirement)
            .map_or(self.catalog.scoring.violation_sla_days, |r| r.sla_days);
        i64::from(days) * 86_400_000_000_000
    }
}

/// The requirement of a rule (`cm-1.4/...` -> `CM 1.4`).
pub fn requirement_of(rule: &str) -> String {
    let prefix = rule.split('/').next().unwrap_or_default();
    prefix.replacen('-', " ", 1).to_uppercase()
}

/// A finding of `rule` (whose requirement is its prefix, `cm-1.4/...` -> `CM 1.4`).
fn finding(
    rule: &str,
    subject: String,
    outcome: Outcome,
    detail: String,
    evidence: Vec<Evidence>,
) -> Finding {
    Finding {
        requirement: requirement_of(rule),
        rule: rule.to_string(),
        subject,
        outcome,
        detail,
        evidence,
        value: None,
        kind: None,
    }
}

/// What the rules read of the store for one period, read once for all of them.
pub struct Observed {
    /// The period.
    pub period: Period,
    /// Assets with their services and best attributes.
    pub assets: Vec<AssetView>,
    /// Change records with their latest decisions.
    pub changes: Vec<ChangeView>,
    /// The period's conversations with their hourly flow rows.
    pub conversations: net::Conversations,
    /// Hosts that reported within the look-back, by asset id.
    pub hosts: BTreeMap<i64, host::HostReports>,
    /// The latest baseline approved before the period's end, with the ids of its assets.
    pub baseline: Option<(BaselineView, BTreeSet<i64>)>,
    /// Every attestation.
    pub attestations: Vec<AttestationView>,
    /// The imported advisories' matches and feeds.
    pub vulnerabilities: Vulnerabilities,
    /// When each change record first reached a SIEM destination, by change id.
    pub deliveries: BTreeMap<i64, Timestamp>,
    /// OPC UA servers offering an endpoint without security, by address.
    pub opcua_without_security: BTreeMap<IpAddr, (String, i64)>,
    /// Assets observed in the period (captured in it) and not in a zone out of scope: only these
    /// are present, nothing is assumed between two sightings.
    pub present: BTreeSet<i64>,
    /// How the period's observations were received (late ones are retrospective).
    pub receipt: Receipt,
    /// How much of the expected population the period's evidence covers.
    pub coverage: coverage::Coverage,
}

impl Observed {
    /// Reads what the rules need of `period`.
    pub fn read(inputs: &Inputs<'_>, period: Period) -> Result<Self, StoreError> {
        let assets = inputs.store.assets()?;
        let mut present = inputs.store.assets_observed_between(period.start, period.end)?;
        if let Some(d) = inputs.declared {
            let out_of_scope = |a: &AssetView| {
                a.ips
                    .first()
                    .and_then(|ip| d.zone_of(*ip))
                    .is_some_and(|z| !z.in_scope)
            };
            for a in assets.iter().filter(|a| out_of_scope(a)) {
                present.remove(&a.id);
            }
        }
        let mut seen = Observed {
            period,
            vulnerabilities: Vulnerabilities::read(inputs.store, &assets)?,
            assets,
            changes: inputs.store.changes()?,
            conversations: net::conversations(inputs.store.flow_hours_between(period.start, period.end)?),
            hosts: host::read_hosts(inputs.store, period.end)?,
            baseline: latest_baseline(inputs.store, period.end)?,
            attestations: inputs.store.attestations()?,
            deliveries: inputs.store.first_deliveries("change")?.into_iter().collect(),
            opcua_without_security: comp::opcua_without_security(inputs.store, period)?,
            present,
            receipt: inputs
                .store
                .receipt_between(period.start, period.end, inputs.receipt_window(period))?,
            coverage: coverage::Coverage::default(),
        };
        seen.coverage = coverage::read(inputs, &seen)?;
        Ok(seen)
    }

    /// The assets observed in the period.
    pub fn present_assets(&self) -> impl Iterator<Item = &AssetView> {
        self.assets.iter().filter(|a| self.present.contains(&a.id))
    }
}

/// The latest baseline approved before `end`, with its assets.
fn latest_baseline(
    store: &dyn Store,
    end: Timestamp,
) -> Result<Option<(BaselineView, BTreeSet<i64>)>, StoreError> {
    let Some(b) = store.baselines()?.into_iter().rev().find(|b| b.approved_at < end) else {
        return Ok(None);
    };
    let members = store
        .baseline_snapshots(b.id)?
        .into_iter()
        .map(|s| s.asset_id)
        .collect();
    Ok(Some((b, members)))
}

/// Every implemented rule over one period, findings ordered by requirement, rule and subject.
pub fn evaluate(inputs: &Inputs<'_>, period: Period) -> Result<Vec<Finding>, StoreError> {
    Ok(evaluate_observed(inputs, &Observed::read(inputs, period)?))
}

/// Every implemented rule over what was read of one period.
pub fn evaluate_observed(inputs: &Inputs<'_>, seen: &Observed) -> Vec<Finding> {
    let mut findings = cm::change_control(inputs, seen);
    findings.extend(cm::events_triaged(inputs, seen));
    findings.extend(host::configuration_checks(inputs, seen));
    findings.extend(host::inventories(seen));
    findings.extend(host::patches(seen));
    findings.extend(inventory::baseline_membership(seen));
    findings.extend(inventory::identity_known(seen));
    findings.extend(inventory::baseline_reviewed(seen));
    findings.extend(advisories::patch_status(seen));
    findings.extend(advisories::mitigations(seen));
    findings.extend(advisories::vulnerability_handling(inputs, seen));
    findings.extend(traffic::conduits(inputs, seen));
    findings.extend(traffic::outside_dependencies(inputs, seen));
    findings.extend(traffic::session_length(inputs, seen));
    findings.extend(traffic::sensor_coverage(inputs, seen));
    findings.extend(traffic::syslog_destinations(inputs, seen));
    findings.extend(net::segmentation(inputs, seen));
    findings.extend(net::zones_and_services(inputs, seen));
    findings.extend(net::time_sources(inputs, seen));
    findings.extend(net::remote_access(inputs, seen));
    findings.extend(comp::cleartext_management(inputs, seen));
    findings.extend(siem::events_delivered(seen));
    findings
        .sort_by(|a, b| (&a.requirement, &a.rule, &a.subject).cmp(&(&b.requirement, &b.rule, &b.subject)));
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_names_its_requirement() {
        let f = finding(
            "net-1.1/no-enterprise-to-control",
            "s".into(),
            Outcome::Violated,
            "d".into(),
            vec![],
        );
        assert_eq!(f.requirement, "NET 1.1");
        let f = finding("comp-3.3/x", "s".into(), Outcome::Satisfied, "d".into(), vec![]);
        assert_eq!(f.requirement, "COMP 3.3");
        assert_eq!(
            Period::ending(Timestamp(7 * 86_400_000_000_000), 7).start,
            Timestamp(0)
        );
    }
}
