//! NET rules. `net-1.1/no-enterprise-to-control`: no conversation between an enterprise (or
//! internet) address and a control, field or safety zone; IACS zones reach the enterprise only
//! through a DMZ, on declared conduits. Each conversation in the period between an IACS zone and
//! another place is a subject: with the enterprise or the internet it is violated; with another
//! zone (a DMZ, another IACS zone) it is satisfied on a declared conduit that allows its service
//! and violated off one; with an address in no declared zone (and not public) it is unknown.

use super::{Evidence, Inputs, Outcome, Period, finding};
use crate::assess::declared::{Declared, Zone, ZoneKind};
use crate::assess::rules::Finding;
use crate::fuse::flows::{FlowKey, FlowTotals};
use crate::store::StoreError;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// A conversation: originator, responder, transport, responder port.
type Conversation = (String, String, &'static str, u16);

/// Where an address is: a declared zone, the internet (a public address in no zone), or unknown.
enum Place<'a> {
    Zone(&'a Zone),
    Internet,
    Undeclared,
}

fn place(declared: &Declared, ip: IpAddr) -> Place<'_> {
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
fn name(p: &Place<'_>) -> String {
    match p {
        Place::Zone(z) => format!("{} ({})", z.name, z.kind.as_str()),
        Place::Internet => "internet".into(),
        Place::Undeclared => "no declared zone".into(),
    }
}

fn is_enterprise(p: &Place<'_>) -> bool {
    matches!(p, Place::Internet) || matches!(p, Place::Zone(z) if z.kind == ZoneKind::Enterprise)
}

fn is_iacs(p: &Place<'_>) -> bool {
    matches!(p, Place::Zone(z) if z.kind.is_iacs())
}

/// One finding per conversation (originator, responder, transport, port) between two different
/// places, summed over the period's hours.
pub fn segmentation(inputs: &Inputs<'_>, period: Period) -> Result<Vec<Finding>, StoreError> {
    let Some(declared) = inputs.declared else {
        return Ok(Vec::new());
    };
    let rule = "net-1.1/no-enterprise-to-control";
    let mut conversations: BTreeMap<Conversation, Vec<(FlowKey, FlowTotals)>> = BTreeMap::new();
    for (k, t) in inputs.store.flow_hours_between(period.start, period.end)? {
        conversations
            .entry((k.orig_ip.clone(), k.resp_ip.clone(), k.transport, k.resp_port))
            .or_default()
            .push((k, t));
    }
    let mut out = Vec::new();
    for ((orig, resp, transport, port), rows) in conversations {
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
        let app = rows
            .iter()
            .map(|(k, _)| k.app_protocol.as_str())
            .find(|a| !a.is_empty());
        let (outcome, detail) =
            if (is_enterprise(&from) && is_iacs(&to)) || (is_iacs(&from) && is_enterprise(&to)) {
                (
                    Outcome::Violated,
                    format!(
                        "{} talks to {} directly, not through a DMZ",
                        name(&from),
                        name(&to)
                    ),
                )
            } else if let (Place::Zone(a), Place::Zone(b)) = (&from, &to) {
                match declared.conduit_between(&a.name, &b.name) {
                    Some(c)
                        if c.services.is_empty()
                            || c.services.iter().any(|s| s.matches(transport, port, app)) =>
                    {
                        (
                            Outcome::Satisfied,
                            format!("{} to {} on conduit {}", name(&from), name(&to), c.name),
                        )
                    }
                    Some(c) => (
                        Outcome::Violated,
                        format!(
                            "{} to {}: {transport}/{port} is not a service of conduit {}",
                            name(&from),
                            name(&to),
                            c.name
                        ),
                    ),
                    None => (
                        Outcome::Violated,
                        format!("{} to {}: no declared conduit", name(&from), name(&to)),
                    ),
                }
            } else {
                (
                    Outcome::Unknown,
                    format!("{} to {}: declare the zone to judge it", name(&from), name(&to)),
                )
            };
        let evidence = rows
            .iter()
            .map(|(k, t)| Evidence::Flows {
                hour: shoko_proto::Timestamp(k.hour),
                orig: k.orig_ip.clone(),
                resp: k.resp_ip.clone(),
                transport: k.transport.to_string(),
                port: k.resp_port,
                app_protocol: (!k.app_protocol.is_empty()).then(|| k.app_protocol.clone()),
                flows: t.flows,
            })
            .collect();
        out.push(finding(
            rule,
            format!("{orig} -> {resp} {transport}/{port}"),
            outcome,
            detail,
            evidence,
        ));
    }
    Ok(out)
}
