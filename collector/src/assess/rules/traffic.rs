//! Rules over the period's conversations and the declared zones, beyond NET 1.1's segmentation:
//! conduits documented (CM 1.2, NET 1.2), the safety zone reached only on declared conduits
//! (NET 1.3), no dependency on services outside the IACS (NET 1.4), wireless zones only through
//! declared conduits (NET 2.2), remote sessions not longer than 8 hours (NET 3.3), every zone's
//! traffic seen by a sensor (EVENT 1.1), and syslog from the IACS to the declared log servers
//! (EVENT 1.4). Without declared zones none of them has subjects.

use super::net::{Place, REMOTE_ACCESS, app_of, flow_evidence, is_iacs, name, on_conduit, pair, place};
use super::{Inputs, Observed, Outcome, finding};
use super::{SAFETY_UNDECLARED_CONDUIT, UNDECLARED_CONDUIT};
use crate::assess::declared::{Declared, Zone, ZoneKind};
use crate::assess::rules::Finding;
use crate::fuse::flows::{FlowKey, FlowTotals};
use std::net::IpAddr;

const HOUR_NS: i64 = 3_600_000_000_000;

/// Longest remote session allowed (NET 3.3).
const MAX_SESSION_HOURS: i64 = 8;

/// Services an IACS should provide itself (NET 1.4): (transport, port, what).
const DEPENDENCIES: &[(&str, u16, &str)] = &[
    ("udp", 53, "DNS"),
    ("tcp", 53, "DNS"),
    ("udp", 123, "NTP"),
    ("tcp", 88, "Kerberos"),
    ("udp", 88, "Kerberos"),
    ("tcp", 389, "LDAP"),
    ("tcp", 636, "LDAPS"),
    ("tcp", 3268, "directory (global catalog)"),
    ("tcp", 1947, "licence server (Sentinel)"),
    ("tcp", 22350, "licence server (CodeMeter)"),
    ("tcp", 27000, "licence server (FlexNet)"),
];

/// Syslog services (EVENT 1.4).
const SYSLOG: &[(&str, u16)] = &[("udp", 514), ("tcp", 514), ("tcp", 6514)];

/// One conversation with its places.
struct Seen<'a> {
    subject: String,
    from: Place<'a>,
    to: Place<'a>,
    service: (&'static str, u16, Option<&'a str>),
    rows: &'a [(FlowKey, FlowTotals)],
}

/// The period's conversations with their places.
fn conversations<'a>(declared: &'a Declared, seen: &'a Observed) -> impl Iterator<Item = Seen<'a>> {
    seen.conversations
        .iter()
        .filter_map(move |((orig, resp, transport, port), rows)| {
            let (o, r) = (orig.parse::<IpAddr>().ok()?, resp.parse::<IpAddr>().ok()?);
            Some(Seen {
                subject: format!("{orig} -> {resp} {transport}/{port}"),
                from: place(declared, o),
                to: place(declared, r),
                service: (*transport, *port, app_of(rows)),
                rows,
            })
        })
}

fn zone<'a>(p: &Place<'a>) -> Option<&'a Zone> {
    match p {
        Place::Zone(z) => Some(z),
        _ => None,
    }
}

/// Conversations between two different zones that `crosses` selects must run on a declared
/// conduit allowing their service; when `strict`, a conversation of a selected zone with an
/// address in no zone is a violation too.
fn conduit_rule(
    declared: &Declared,
    seen: &Observed,
    (rule, kind): (&str, &'static str),
    crosses: impl Fn(Option<&Zone>, Option<&Zone>) -> bool,
    strict: bool,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in conversations(declared, seen) {
        let (a, b) = (zone(&c.from), zone(&c.to));
        if a.zip(b).is_some_and(|(a, b)| a.name == b.name) || !crosses(a, b) {
            continue;
        }
        let (outcome, detail) = match (a, b) {
            (Some(a), Some(b)) => on_conduit(declared, (a, b), c.service),
            _ if strict => (
                Outcome::Violated,
                format!("{} to {}: no declared conduit", name(&c.from), name(&c.to)),
            ),
            _ => continue,
        };
        let place = pair(&c.from, &c.to);
        out.push(finding(rule, c.subject, outcome, detail, flow_evidence(c.rows)).of_kind(kind, place));
    }
    out
}

fn kind_is(z: Option<&Zone>, kind: ZoneKind) -> bool {
    z.is_some_and(|z| z.kind == kind)
}

/// CM 1.2 and NET 1.2 conduits documented, NET 1.3 safety, NET 2.2 wireless.
pub fn conduits(inputs: &Inputs<'_>, seen: &Observed) -> Vec<Finding> {
    let Some(declared) = inputs.declared else {
        return Vec::new();
    };
    let between_zones = |a: Option<&Zone>, b: Option<&Zone>| a.is_some() && b.is_some();
    let mut out = conduit_rule(
        declared,
        seen,
        ("cm-1.2/conduits-documented", UNDECLARED_CONDUIT),
        between_zones,
        false,
    );
    out.extend(conduit_rule(
        declared,
        seen,
        ("net-1.2/conduits-documented", UNDECLARED_CONDUIT),
        between_zones,
        false,
    ));
    out.extend(conduit_rule(
        declared,
        seen,
        ("net-1.3/safety-conduits-only", SAFETY_UNDECLARED_CONDUIT),
        |a, b| kind_is(a, ZoneKind::Safety) || kind_is(b, ZoneKind::Safety),
        true,
    ));
    out.extend(conduit_rule(
        declared,
        seen,
        ("net-2.2/wireless-conduits-only", UNDECLARED_CONDUIT),
        |a, _| kind_is(a, ZoneKind::Wireless),
        true,
    ));
    out
}

/// NET 1.4: DNS, NTP, directory and licence services used by IACS zones are served inside the
/// IACS (an IACS zone or a DMZ).
pub fn outside_dependencies(inputs: &Inputs<'_>, seen: &Observed) -> Vec<Finding> {
    let Some(declared) = inputs.declared else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for c in conversations(declared, seen) {
        let (transport, port, _) = c.service;
        let Some((.., what)) = DEPENDENCIES
            .iter()
            .find(|(t, p, _)| *t == transport && *p == port)
        else {
            continue;
        };
        if !is_iacs(&c.from) {
            continue;
        }
        let inside = is_iacs(&c.to) || kind_is(zone(&c.to), ZoneKind::Dmz);
        let (outcome, detail) = match (&c.to, inside) {
            (_, true) => (Outcome::Satisfied, format!("{what} served from {}", name(&c.to))),
            (Place::Undeclared, _) => (
                Outcome::Unknown,
                format!("{what} from an address in no declared zone"),
            ),
            _ => (
                Outcome::Violated,
                format!("{what} from {}, outside the IACS", name(&c.to)),
            ),
        };
        out.push(finding(
            "net-1.4/no-outside-dependency",
            c.subject,
            outcome,
            detail,
            flow_evidence(c.rows),
        ));
    }
    out
}

/// NET 3.3: remote-access conversations into IACS zones do not last longer than 8 hours (the
/// longest run of consecutive hours with flows, from its first packet to its last).
pub fn session_length(inputs: &Inputs<'_>, seen: &Observed) -> Vec<Finding> {
    let Some(declared) = inputs.declared else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for c in conversations(declared, seen) {
        let (transport, port, app) = c.service;
        let Some((.., service)) = REMOTE_ACCESS
            .iter()
            .find(|(t, p, n)| (*t == transport && *p == port) || app == Some(*n))
        else {
            continue;
        };
        if !is_iacs(&c.to) {
            continue;
        }
        let longest = longest_run_ns(c.rows);
        let hours = longest as f64 / HOUR_NS as f64;
        let (outcome, detail) = if longest > MAX_SESSION_HOURS * HOUR_NS {
            (
                Outcome::Violated,
                format!("{service} active for {hours:.1} h without a break, over {MAX_SESSION_HOURS} h"),
            )
        } else {
            (
                Outcome::Satisfied,
                format!("{service} active for at most {hours:.1} h at a stretch"),
            )
        };
        out.push(finding(
            "net-3.3/session-length",
            c.subject,
            outcome,
            detail,
            flow_evidence(c.rows),
        ));
    }
    out
}

/// The longest stretch, first packet to last, over hourly rows in consecutive hours.
fn longest_run_ns(rows: &[(FlowKey, FlowTotals)]) -> i64 {
    let mut hours: Vec<(i64, i64, i64)> = rows
        .iter()
        .map(|(k, t)| (k.hour, t.first_seen, t.last_seen))
        .collect();
    hours.sort_unstable();
    let (mut longest, mut run_start, mut previous): (i64, Option<i64>, Option<(i64, i64)>) = (0, None, None);
    for (hour, first, last) in hours {
        let continues = previous.is_some_and(|(h, _)| hour - h <= HOUR_NS);
        let start = if continues {
            run_start.unwrap_or(first)
        } else {
            first
        };
        let end = previous.filter(|_| continues).map_or(last, |(_, l)| l.max(last));
        run_start = Some(start);
        previous = Some((hour, end));
        longest = longest.max(end - start);
    }
    longest
}

/// EVENT 1.1: each declared zone has traffic a sensor saw in the period.
pub fn sensor_coverage(inputs: &Inputs<'_>, seen: &Observed) -> Vec<Finding> {
    let Some(declared) = inputs.declared else {
        return Vec::new();
    };
    let mut seen_in: std::collections::BTreeMap<&str, (i64, Vec<super::Evidence>)> = Default::default();
    for c in conversations(declared, seen) {
        for z in [zone(&c.from), zone(&c.to)].into_iter().flatten() {
            let entry = seen_in.entry(z.name.as_str()).or_default();
            entry.0 += c.rows.iter().map(|(_, t)| t.flows).sum::<i64>();
            if entry.1.is_empty() {
                entry.1 = flow_evidence(&c.rows[..1]);
            }
        }
    }
    declared
        .zones
        .iter()
        .map(|z| {
            let subject = format!("zone {} ({})", z.name, z.kind.as_str());
            match seen_in.remove(z.name.as_str()) {
                Some((flows, evidence)) => finding(
                    "event-1.1/sensor-coverage",
                    subject,
                    Outcome::Satisfied,
                    format!("{flows} flows seen"),
                    evidence,
                ),
                None => finding(
                    "event-1.1/sensor-coverage",
                    subject,
                    Outcome::Violated,
                    "no traffic of this zone seen by a sensor in the period".into(),
                    vec![],
                ),
            }
        })
        .collect()
}

/// EVENT 1.4: syslog from IACS zones goes to a declared log server.
pub fn syslog_destinations(inputs: &Inputs<'_>, seen: &Observed) -> Vec<Finding> {
    let Some(declared) = inputs.declared else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for c in conversations(declared, seen) {
        let (transport, port, app) = c.service;
        let syslog = app == Some("syslog") || SYSLOG.contains(&(transport, port));
        if !syslog || !is_iacs(&c.from) {
            continue;
        }
        let resp = c.rows[0].0.resp_ip.parse::<IpAddr>().ok();
        let (outcome, detail) = if declared.log_servers.is_empty() {
            (
                Outcome::Unknown,
                "no log_servers declared to judge it".to_string(),
            )
        } else if resp.is_some_and(|ip| declared.log_servers.contains(&ip)) {
            (Outcome::Satisfied, "syslog to a declared log server".to_string())
        } else {
            (
                Outcome::Violated,
                format!("syslog to {}, not a declared log server", name(&c.to)),
            )
        };
        out.push(finding(
            "event-1.4/logs-forwarded",
            c.subject,
            outcome,
            detail,
            flow_evidence(c.rows),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::rules::testdata::{Plant, flow, outcomes};
    use shoko_proto::Transport;

    const ZONES: &str = r#"
[plant]
log_servers = ["10.10.9.5"]

[[zone]]
name = "scada"
kind = "control"
cidrs = ["10.10.1.0/24"]

[[zone]]
name = "sis"
kind = "safety"
cidrs = ["10.10.3.0/24"]

[[zone]]
name = "wlan"
kind = "wireless"
cidrs = ["10.10.5.0/24"]

[[zone]]
name = "dmz"
kind = "dmz"
cidrs = ["10.10.9.0/24"]

[[zone]]
name = "office"
kind = "enterprise"
cidrs = ["10.20.0.0/16"]

[[zone]]
name = "spare"
kind = "field"
cidrs = ["10.10.7.0/24"]

[[conduit]]
name = "sis-status"
zones = ["scada", "sis"]
services = ["tcp/502"]

[[conduit]]
name = "wlan-dmz"
zones = ["wlan", "dmz"]
"#;

    #[test]
    fn conduits_safety_wireless_dependencies_coverage_and_syslog() {
        let plant = Plant::new(
            vec![
                flow("10.10.1.20", "10.10.3.5", Transport::Tcp, 502),
                flow("10.10.1.20", "10.10.3.5", Transport::Tcp, 22),
                flow("10.20.0.7", "10.10.3.5", Transport::Tcp, 502),
                flow("10.10.5.30", "10.10.9.7", Transport::Tcp, 443),
                flow("10.10.5.30", "8.8.4.4", Transport::Tcp, 443),
                flow("10.10.1.20", "10.20.0.53", Transport::Udp, 53),
                flow("10.10.1.20", "10.10.9.53", Transport::Udp, 53),
                flow("10.10.1.20", "10.10.9.5", Transport::Udp, 514),
                flow("10.10.1.20", "10.20.0.9", Transport::Udp, 514),
            ],
            Some(ZONES),
        );
        let (inputs, seen) = (plant.inputs(), plant.observed(0, HOUR_NS));
        let of = outcomes;
        let s = |v: &str| v.to_string();
        use Outcome::{Satisfied, Violated};
        assert_eq!(
            of(conduits(&inputs, &seen), "net-1.3/safety-conduits-only"),
            [
                (
                    s("10.10.1.20 -> 10.10.3.5 tcp/22"),
                    Violated,
                    s("scada (control) to sis (safety): tcp/22 is not a service of conduit sis-status")
                ),
                (
                    s("10.10.1.20 -> 10.10.3.5 tcp/502"),
                    Satisfied,
                    s("scada (control) to sis (safety) on conduit sis-status")
                ),
                (
                    s("10.20.0.7 -> 10.10.3.5 tcp/502"),
                    Violated,
                    s("office (enterprise) to sis (safety): no declared conduit")
                ),
            ]
        );
        assert_eq!(
            of(conduits(&inputs, &seen), "net-2.2/wireless-conduits-only"),
            [
                (
                    s("10.10.5.30 -> 10.10.9.7 tcp/443"),
                    Satisfied,
                    s("wlan (wireless) to dmz (dmz) on conduit wlan-dmz")
                ),
                (
                    s("10.10.5.30 -> 8.8.4.4 tcp/443"),
                    Violated,
                    s("wlan (wireless) to internet: no declared conduit")
                ),
            ]
        );
        let documented = of(conduits(&inputs, &seen), "cm-1.2/conduits-documented");
        let count = |o: Outcome| documented.iter().filter(|f| f.1 == o).count();
        assert_eq!((count(Satisfied), count(Violated)), (2, 6));
        assert_eq!(
            documented,
            of(conduits(&inputs, &seen), "net-1.2/conduits-documented")
        );
        assert_eq!(
            of(
                outside_dependencies(&inputs, &seen),
                "net-1.4/no-outside-dependency"
            ),
            [
                (
                    s("10.10.1.20 -> 10.10.9.53 udp/53"),
                    Satisfied,
                    s("DNS served from dmz (dmz)")
                ),
                (
                    s("10.10.1.20 -> 10.20.0.53 udp/53"),
                    Violated,
                    s("DNS from office (enterprise), outside the IACS")
                ),
            ]
        );
        assert_eq!(
            of(syslog_destinations(&inputs, &seen), "event-1.4/logs-forwarded"),
            [
                (
                    s("10.10.1.20 -> 10.10.9.5 udp/514"),
                    Satisfied,
                    s("syslog to a declared log server")
                ),
                (
                    s("10.10.1.20 -> 10.20.0.9 udp/514"),
                    Violated,
                    s("syslog to office (enterprise), not a declared log server")
                ),
            ]
        );
        let coverage = of(sensor_coverage(&inputs, &seen), "event-1.1/sensor-coverage");
        let covered: Vec<(&str, Outcome)> = coverage.iter().map(|(z, o, _)| (z.as_str(), *o)).collect();
        assert_eq!(
            covered,
            [
                ("zone scada (control)", Satisfied),
                ("zone sis (safety)", Satisfied),
                ("zone wlan (wireless)", Satisfied),
                ("zone dmz (dmz)", Satisfied),
                ("zone office (enterprise)", Satisfied),
                ("zone spare (field)", Violated),
            ]
        );
        assert_eq!(coverage[0].2, "6 flows seen");
    }

    fn row(hour: i64, first: i64, last: i64) -> (FlowKey, FlowTotals) {
        (
            FlowKey {
                hour: hour * HOUR_NS,
                ..Default::default()
            },
            FlowTotals {
                flows: 1,
                packets: 2,
                bytes: 120,
                first_seen: hour * HOUR_NS + first,
                last_seen: hour * HOUR_NS + last,
            },
        )
    }

    #[test]
    fn a_session_is_the_longest_run_of_consecutive_hours() {
        let m = 60_000_000_000;
        // 10:30 to 19:45 without a break, then again at 22:00: 9 h 15 min.
        let mut rows: Vec<_> = (10..=19).map(|h| row(h, 0, 59 * m)).collect();
        rows[0] = row(10, 30 * m, 59 * m);
        rows[9] = row(19, 0, 45 * m);
        rows.push(row(22, 0, 10 * m));
        assert_eq!(longest_run_ns(&rows), 9 * HOUR_NS + 15 * m);
        assert_eq!(longest_run_ns(&[row(3, 5 * m, 7 * m)]), 2 * m);
    }
}
