//! NET rules. `net-1.1/no-enterprise-to-control`: no conversation between an enterprise (or
//! internet) address and a control, field or safety zone; IACS zones reach the enterprise only
//! through a DMZ, on declared conduits. Each conversation in the period between an IACS zone and
//! another place is a subject: with the enterprise or the internet it is violated; with another
//! zone (a DMZ, another IACS zone) it is satisfied on a declared conduit that allows its service
//! and violated off one; with an address in no declared zone (and not public) it is unknown.

use super::{
    DIRECT_ENTERPRISE_IACS, Evidence, Inputs, Observed, Outcome, REMOTE_ACCESS_AROUND_JUMP_HOST,
    UNDECLARED_CONDUIT, finding,
};
use crate::assess::declared::{Declared, Zone, ZoneKind};
use crate::assess::rules::Finding;
use crate::fuse::flows::{FlowKey, FlowTotals};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// A conversation: originator, responder, transport, responder port.
type Conversation = (String, String, &'static str, u16);

/// Where an address is: a declared zone, the internet (a public address in no zone), or unknown.
pub(super) enum Place<'a> {
    Zone(&'a Zone),
    Internet,
    Undeclared,
}

pub(super) fn place(declared: &Declared, ip: IpAddr) -> Place<'_> {
    match declared.zone_of(ip) {
        Some(z) => Place::Zone(z),
        None if is_public(ip) => Place::Internet,
        None => Place::Undeclared,
    }
}

/// True for a unicast address outside the private, loopback, link-local and documentation ranges.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            !(v.is_private()
                || v.is_loopback()
                || v.is_link_local()
                || v.is_multicast()
                || v.is_broadcast()
                || v.is_unspecified()
                || v.is_documentation())
        }
        IpAddr::V6(v) => {
            let first = v.segments()[0];
            !(v.is_loopback()
                || v.is_multicast()
                || v.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// The name a place has in findings.
pub(super) fn name(p: &Place<'_>) -> String {
    match p {
        Place::Zone(z) => format!("{} ({})", z.name, z.kind.as_str()),
        Place::Internet => "internet".into(),
        Place::Undeclared => "no declared zone".into(),
    }
}

/// A place's short name (the zone's, `internet` or `undeclared`), for kinds of violation.
pub(super) fn label(p: &Place<'_>) -> String {
    match p {
        Place::Zone(z) => z.name.clone(),
        Place::Internet => "internet".into(),
        Place::Undeclared => "undeclared".into(),
    }
}

/// `a -> b` of two places' short names.
pub(super) fn pair(a: &Place<'_>, b: &Place<'_>) -> String {
    format!("{} -> {}", label(a), label(b))
}

fn is_enterprise(p: &Place<'_>) -> bool {
    matches!(p, Place::Internet) || matches!(p, Place::Zone(z) if z.kind == ZoneKind::Enterprise)
}

pub(super) fn is_iacs(p: &Place<'_>) -> bool {
    matches!(p, Place::Zone(z) if z.kind.is_iacs())
}

/// Conversations with their hourly rows.
pub type Conversations = BTreeMap<Conversation, Vec<(FlowKey, FlowTotals)>>;

/// Groups hourly flow rows by conversation.
pub fn conversations(rows: Vec<(FlowKey, FlowTotals)>) -> Conversations {
    let mut conversations = Conversations::new();
    for (k, t) in rows {
        conversations
            .entry((k.orig_ip.clone(), k.resp_ip.clone(), k.transport, k.resp_port))
            .or_default()
            .push((k, t));
    }
    conversations
}

/// A conversation's hourly rows as evidence.
pub(super) fn flow_evidence(rows: &[(FlowKey, FlowTotals)]) -> Vec<Evidence> {
    rows.iter()
        .map(|(k, t)| Evidence::Flows {
            hour: shoko_proto::Timestamp(k.hour),
            orig: k.orig_ip.clone(),
            resp: k.resp_ip.clone(),
            transport: k.transport.to_string(),
            port: k.resp_port,
            app_protocol: (!k.app_protocol.is_empty()).then(|| k.app_protocol.clone()),
            flows: t.flows,
        })
        .collect()
}

/// One finding per conversation (originator, responder, transport, port) between two different
/// places, summed over the period's hours.
pub fn segmentation(inputs: &Inputs<'_>, seen: &Observed) -> Vec<Finding> {
    let Some(declared) = inputs.declared else {
        return Vec::new();
    };
    let rule = "net-1.1/no-enterprise-to-control";
    let mut out = Vec::new();
    for ((orig, resp, transport, port), rows) in &seen.conversations {
        let (transport, port) = (*transport, *port);
        let (Ok(o), Ok(r)) = (orig.parse::<IpAddr>(), resp.parse::<IpAddr>()) else {
            continue;
        };
        let (from, to) = (place(declared, o), place(declared, r));
        let same = match (&from, &to) {
            (Place::Zone(a), Place::Zone(b)) => a.name == b.name,
            (Place::Internet, Place::Internet) | (Place::Undeclared, Place::Undeclared) => true,
            _ => false,
        };
        if same || !(is_iacs(&from) || is_iacs(&to)) {
            continue;
        }
        let app = app_of(rows);
        let direct = (is_enterprise(&from) && is_iacs(&to)) || (is_iacs(&from) && is_enterprise(&to));
        let (outcome, detail) = if direct {
            (
                Outcome::Violated,
                format!(
                    "{} talks to {} directly, not through a DMZ",
                    name(&from),
                    name(&to)
                ),
            )
        } else if let (Place::Zone(a), Place::Zone(b)) = (&from, &to) {
            on_conduit(declared, (a, b), (transport, port, app))
        } else {
            (
                Outcome::Unknown,
                format!("{} to {}: declare the zone to judge it", name(&from), name(&to)),
            )
        };
        let evidence = flow_evidence(rows);
        let kind = if direct {
            DIRECT_ENTERPRISE_IACS
        } else {
            UNDECLARED_CONDUIT
        };
        out.push(
            finding(
                rule,
                format!("{orig} -> {resp} {transport}/{port}"),
                outcome,
                detail,
                evidence,
            )
            .of_kind(kind, pair(&from, &to)),
        );
    }
    out
}

/// Whether a conversation between two zones runs on a declared conduit allowing its service.
pub(super) fn on_conduit(
    declared: &Declared,
    (a, b): (&Zone, &Zone),
    (transport, port, app): (&str, u16, Option<&str>),
) -> (Outcome, String) {
    let (from, to) = (name(&Place::Zone(a)), name(&Place::Zone(b)));
    let conduits: Vec<&str> = declared
        .conduits_between(&a.name, &b.name)
        .map(|c| c.name.as_str())
        .collect();
    let carrying = declared
        .conduits_between(&a.name, &b.name)
        .find(|c| c.services.is_empty() || c.services.iter().any(|s| s.matches(transport, port, app)));
    match (carrying, conduits.as_slice()) {
        (Some(c), _) => (
            Outcome::Satisfied,
            format!("{from} to {to} on conduit {}", c.name),
        ),
        (None, []) => (Outcome::Violated, format!("{from} to {to}: no declared conduit")),
        (None, [one]) => (
            Outcome::Violated,
            format!("{from} to {to}: {transport}/{port} is not a service of conduit {one}"),
        ),
        (None, several) => (
            Outcome::Violated,
            format!(
                "{from} to {to}: {transport}/{port} is a service of none of the conduits {}",
                several.join(", ")
            ),
        ),
    }
}

/// The application protocol of a conversation's rows, when one was recognised.
pub(super) fn app_of(rows: &[(FlowKey, FlowTotals)]) -> Option<&str> {
    rows.iter()
        .map(|(k, _)| k.app_protocol.as_str())
        .find(|a| !a.is_empty())
}

/// Remote-access services: (transport, port, protocol name).
pub(super) const REMOTE_ACCESS: &[(&str, u16, &str)] = &[
    ("tcp", 22, "ssh"),
    ("tcp", 23, "telnet"),
    ("tcp", 3389, "rdp"),
    ("tcp", 5900, "vnc"),
    ("tcp", 5938, "teamviewer"),
    ("tcp", 7070, "anydesk"),
];

/// `net-3.2/via-jump-hosts`: each remote-access conversation into a control, field or safety zone
/// comes from a declared jump host or the remote-access zone.
pub fn remote_access(inputs: &Inputs<'_>, seen: &Observed) -> Vec<Finding> {
    let Some(declared) = inputs.declared else {
        return Vec::new();
    };
    let rule = "net-3.2/via-jump-hosts";
    let mut out = Vec::new();
    for ((orig, resp, transport, port), rows) in &seen.conversations {
        let (transport, port) = (*transport, *port);
        let app = app_of(rows);
        let Some((_, _, service)) = REMOTE_ACCESS
            .iter()
            .find(|(t, p, n)| (*t == transport && *p == port) || app == Some(*n))
        else {
            continue;
        };
        let (Ok(o), Ok(r)) = (orig.parse::<IpAddr>(), resp.parse::<IpAddr>()) else {
            continue;
        };
        if !is_iacs(&place(declared, r)) {
            continue;
        }
        let from = place(declared, o);
        let (outcome, detail) = if declared.jump_hosts.contains(&o) {
            (Outcome::Satisfied, format!("{service} from jump host {orig}"))
        } else if matches!(from, Place::Zone(z) if z.kind == ZoneKind::RemoteAccess) {
            (
                Outcome::Satisfied,
                format!("{service} from the remote-access zone"),
            )
        } else {
            (
                Outcome::Violated,
                format!(
                    "{service} into {} from {} ({orig}), not a jump host",
                    name_of(declared, r),
                    name(&from)
                ),
            )
        };
        let to = place(declared, r);
        out.push(
            finding(
                rule,
                format!("{orig} -> {resp} {transport}/{port}"),
                outcome,
                detail,
                flow_evidence(rows),
            )
            .of_kind(REMOTE_ACCESS_AROUND_JUMP_HOST, pair(&from, &to)),
        );
    }
    out
}

/// The name of the place of an address.
fn name_of(declared: &Declared, ip: IpAddr) -> String {
    name(&place(declared, ip))
}

/// `net-1.9/approved-time-sources`: NTP conversations from IACS zones go to approved time sources.
pub fn time_sources(inputs: &Inputs<'_>, seen: &Observed) -> Vec<Finding> {
    let Some(declared) = inputs.declared else {
        return Vec::new();
    };
    let rule = "net-1.9/approved-time-sources";
    let mut out = Vec::new();
    for ((orig, resp, transport, port), rows) in &seen.conversations {
        let (transport, port) = (*transport, *port);
        if (transport, port) != ("udp", 123) {
            continue;
        }
        let (Ok(o), Ok(r)) = (orig.parse::<IpAddr>(), resp.parse::<IpAddr>()) else {
            continue;
        };
        if !is_iacs(&place(declared, o)) {
            continue;
        }
        let (outcome, detail) = if declared.time_sources.contains(&r) {
            (Outcome::Satisfied, format!("{resp} is an approved time source"))
        } else {
            (
                Outcome::Violated,
                format!("{resp} ({}) is not an approved time source", name_of(declared, r)),
            )
        };
        out.push(finding(
            rule,
            format!("{orig} -> {resp} ntp"),
            outcome,
            detail,
            flow_evidence(rows),
        ));
    }
    out
}

/// `net-1.2/assets-in-zones` (each asset with an address is inside a declared zone) and
/// `net-1.7/allowed-services` (each service seen in the period is allowed for the asset's zone
/// or device class; unknown without a list to judge by).
pub fn zones_and_services(inputs: &Inputs<'_>, seen: &Observed) -> Vec<Finding> {
    let Some(declared) = inputs.declared else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let period = seen.period;
    for asset in seen.present_assets() {
        let Some(ip) = asset.ips.first().copied() else {
            continue;
        };
        let zone = declared.zone_of(ip);
        let (outcome, detail) = match zone {
            Some(z) => (Outcome::Satisfied, format!("in zone {}", z.name)),
            None => (Outcome::Violated, format!("{ip} is in no declared zone")),
        };
        out.push(finding(
            "net-1.2/assets-in-zones",
            asset.key.clone(),
            outcome,
            detail,
            Vec::new(),
        ));
        let class = asset.attributes.get("class");
        let class_list = class.and_then(|c| declared.class_services.get(c));
        for s in asset
            .services
            .iter()
            .filter(|s| s.last_seen >= period.start && s.first_seen < period.end)
        {
            let zone = declared.zone_of(s.ip);
            let protocol = s.protocol.as_deref();
            let allowed = |list: &[crate::assess::declared::ServiceSpec]| {
                list.iter()
                    .any(|spec| spec.matches(s.transport.as_str(), s.port, protocol))
            };
            let zone_list = zone
                .map(|z| z.allowed_services.as_slice())
                .filter(|l| !l.is_empty());
            let (outcome, detail) = match (zone_list, class_list) {
                (None, None) => (
                    Outcome::Unknown,
                    "no allowed services declared for its zone or class".to_string(),
                ),
                (z, c) if z.is_some_and(allowed) || c.is_some_and(|l| allowed(l)) => {
                    (Outcome::Satisfied, "allowed".to_string())
                }
                _ => (
                    Outcome::Violated,
                    format!(
                        "not allowed in {} for class {}",
                        zone.map_or("no zone", |z| z.name.as_str()),
                        class.map_or("-", |c| c.as_str())
                    ),
                ),
            };
            let subject = format!(
                "{} {}/{} {}",
                s.ip,
                s.transport.as_str(),
                s.port,
                protocol.unwrap_or("?")
            );
            let evidence = vec![Evidence::Observation { id: s.observation_id }];
            out.push(finding(
                "net-1.7/allowed-services",
                subject,
                outcome,
                detail,
                evidence,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::rules::testdata::{Plant, flow, outcomes, service, sighting};
    use shoko_proto::Transport;

    const ZONES: &str = r#"
[plant]
jump_hosts = ["10.10.4.10"]
time_sources = ["10.10.1.5"]

[[zone]]
name = "scada"
kind = "control"
cidrs = ["10.10.1.0/24"]
allowed_services = ["rdp"]

[[zone]]
name = "cell"
kind = "field"
cidrs = ["10.10.2.0/24"]

[[zone]]
name = "remote"
kind = "remote-access"
cidrs = ["10.10.4.0/24"]

[[class]]
class = "plc"
services = ["modbus"]
"#;

    #[test]
    fn a_flow_may_run_on_any_of_the_conduits_joining_its_zones() {
        let text = format!(
            "{ZONES}\n[[conduit]]\nname = \"polling\"\nzones = [\"scada\", \"cell\"]\n\
             services = [\"modbus\"]\n\n[[conduit]]\nname = \"maintenance\"\n\
             zones = [\"cell\", \"scada\"]\nservices = [\"tcp/23\"]\n"
        );
        let declared = Declared::parse(&text, "zones.toml").unwrap();
        let (scada, cell) = (&declared.zones[0], &declared.zones[1]);
        let judge = |port, app| on_conduit(&declared, (scada, cell), ("tcp", port, app));
        assert_eq!(
            judge(502, Some("modbus")),
            (
                Outcome::Satisfied,
                "scada (control) to cell (field) on conduit polling".to_string()
            )
        );
        assert_eq!(
            judge(23, Some("telnet")),
            (
                Outcome::Satisfied,
                "scada (control) to cell (field) on conduit maintenance".to_string()
            )
        );
        assert_eq!(
            judge(80, Some("http")),
            (
                Outcome::Violated,
                "scada (control) to cell (field): tcp/80 is a service of none of the conduits \
                 polling, maintenance"
                    .to_string()
            )
        );
    }

    #[test]
    fn remote_access_time_sources_zones_and_services() {
        let plant = Plant::new(
            vec![
                sighting("00:80:f4:0a:0b:0c", "10.10.2.21", Some("plc")),
                sighting("00:0c:29:00:00:09", "10.30.0.9", None),
                service("10.10.2.21", Transport::Tcp, 502, "modbus"),
                service("10.10.2.21", Transport::Tcp, 80, "http"),
                flow("10.10.4.10", "10.10.1.20", Transport::Tcp, 3389),
                flow("10.10.4.11", "10.10.1.20", Transport::Tcp, 3389),
                flow("10.20.0.7", "10.10.2.21", Transport::Tcp, 22),
                flow("10.10.2.21", "10.10.1.5", Transport::Udp, 123),
                flow("10.10.2.21", "8.8.8.8", Transport::Udp, 123),
            ],
            Some(ZONES),
        );
        let (inputs, seen) = (plant.inputs(), plant.observed(0, 3_600_000_000_000));
        let outcomes = |found| outcomes(found, "");
        let s = |v: &str| v.to_string();
        assert_eq!(
            outcomes(remote_access(&inputs, &seen)),
            [
                (
                    s("10.10.4.10 -> 10.10.1.20 tcp/3389"),
                    Outcome::Satisfied,
                    s("rdp from jump host 10.10.4.10")
                ),
                (
                    s("10.10.4.11 -> 10.10.1.20 tcp/3389"),
                    Outcome::Satisfied,
                    s("rdp from the remote-access zone")
                ),
                (
                    s("10.20.0.7 -> 10.10.2.21 tcp/22"),
                    Outcome::Violated,
                    s("ssh into cell (field) from no declared zone (10.20.0.7), not a jump host")
                ),
            ]
        );
        assert_eq!(
            outcomes(time_sources(&inputs, &seen)),
            [
                (
                    s("10.10.2.21 -> 10.10.1.5 ntp"),
                    Outcome::Satisfied,
                    s("10.10.1.5 is an approved time source")
                ),
                (
                    s("10.10.2.21 -> 8.8.8.8 ntp"),
                    Outcome::Violated,
                    s("8.8.8.8 (internet) is not an approved time source")
                ),
            ]
        );
        assert_eq!(
            outcomes(zones_and_services(&inputs, &seen)),
            [
                (s("mac:00:80:f4:0a:0b:0c"), Outcome::Satisfied, s("in zone cell")),
                (
                    s("10.10.2.21 tcp/80 http"),
                    Outcome::Violated,
                    s("not allowed in cell for class plc")
                ),
                (s("10.10.2.21 tcp/502 modbus"), Outcome::Satisfied, s("allowed")),
                (
                    s("mac:00:0c:29:00:00:09"),
                    Outcome::Violated,
                    s("10.30.0.9 is in no declared zone")
                ),
            ]
        );
    }
}
