//! Roles and device classes: which application protocols each asset serves or uses (from flows
//! that were answered), and a coarse class (PLC, IED, HMI/SCADA, network device, IT host) with the
//! reasons that decided it.

use super::AssetRecord;
use shoko_proto::FlowSummary;
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

/// Industrial protocols whose server is a controller or field device.
const CONTROLLER_PROTOCOLS: &[&str] = &[
    "modbus",
    "iso-tsap",
    "s7comm",
    "enip",
    "dnp3",
    "iec104",
    "bacnet",
    "omron-fins",
    "ads",
    "melsec",
    "hart-ip",
    "pcworx",
    "crimson-v3",
    "niagara-fox",
];

/// Industrial protocols whose server is a substation IED.
const IED_PROTOCOLS: &[&str] = &["mms", "goose", "sampled-values", "c37.118"];

/// IT protocols that mark a general-purpose host when the asset uses or offers them.
const IT_PROTOCOLS: &[&str] = &[
    "netbios-ns",
    "netbios-ssn",
    "smb",
    "msrpc",
    "rdp",
    "http",
    "https",
    "dns",
    "mssql",
];

/// Records the roles of each asset from answered flows.
pub fn assign_roles(assets: &mut [AssetRecord], flows: &[FlowSummary]) {
    let mut by_ip: HashMap<IpAddr, usize> = HashMap::new();
    for (i, a) in assets.iter().enumerate() {
        for ip in &a.ips {
            by_ip.insert(*ip, i);
        }
    }
    for f in flows {
        let Some(proto) = f.app_protocol.as_deref() else {
            continue;
        };
        if f.resp_packets == 0 {
            continue; // nobody answered: no role proven
        }
        if let Some(&i) = by_ip.get(&f.resp.ip) {
            assets[i]
                .protocols
                .entry(proto.to_owned())
                .or_default()
                .insert("server");
        }
        if let Some(&i) = by_ip.get(&f.orig.ip) {
            assets[i]
                .protocols
                .entry(proto.to_owned())
                .or_default()
                .insert("client");
        }
    }
    for a in assets.iter_mut() {
        for s in &a.services {
            if let Some(p) = &s.protocol {
                a.protocols.entry(p.clone()).or_default().insert("server");
            }
        }
    }
}

/// The protocols of `set` in which the asset plays `role`, in name order.
fn with_role<'a>(a: &'a AssetRecord, set: &[&str], role: &str) -> Vec<&'a str> {
    a.protocols
        .iter()
        .filter(|(p, roles)| set.contains(&p.as_str()) && roles.contains(role))
        .map(|(p, _)| p.as_str())
        .collect()
}

/// The class of one asset and the reasons for it; `None` when nothing decides.
fn class_of(
    a: &AssetRecord,
    polled: &HashMap<IpAddr, BTreeSet<IpAddr>>,
) -> Option<(&'static str, Vec<String>)> {
    let net_caps: Vec<&str> = a
        .identities
        .iter()
        .filter(|i| matches!(i.identity.protocol.as_str(), "lldp" | "cdp"))
        .filter_map(|i| i.identity.device_type.as_deref())
        .filter(|t| {
            ["bridge", "router", "switch", "repeater", "wlan-ap"]
                .iter()
                .any(|c| t.contains(c))
        })
        .collect();
    if a.router || !net_caps.is_empty() {
        let mut reasons = Vec::new();
        if a.router {
            reasons.push("forwards traffic of several IP addresses".to_string());
        }
        reasons.extend(
            net_caps
                .iter()
                .map(|c| format!("announces capabilities {c} in LLDP/CDP")),
        );
        return Some(("network-device", reasons));
    }
    let ied = with_role(a, IED_PROTOCOLS, "server");
    if !ied.is_empty() {
        return Some((
            "ied",
            ied.iter().map(|p| format!("serves or publishes {p}")).collect(),
        ));
    }
    let served = with_role(a, CONTROLLER_PROTOCOLS, "server");
    if !served.is_empty() {
        return Some(("plc", served.iter().map(|p| format!("serves {p}")).collect()));
    }
    let polls = with_role(a, CONTROLLER_PROTOCOLS, "client");
    if !polls.is_empty() {
        let count = a
            .ips
            .iter()
            .filter_map(|ip| polled.get(ip))
            .map(BTreeSet::len)
            .sum::<usize>();
        let mut reasons: Vec<String> = polls
            .iter()
            .map(|p| format!("polls controllers over {p}"))
            .collect();
        reasons.push(format!("talks to {count} controller(s)"));
        return Some(("hmi-scada", reasons));
    }
    let it = a.protocols.keys().any(|p| IT_PROTOCOLS.contains(&p.as_str()))
        || a.identities
            .iter()
            .any(|i| i.identity.protocol.starts_with("netbios") || i.identity.protocol == "dhcp");
    it.then(|| ("it-host", vec!["uses or offers IT protocols only".to_string()]))
}

/// Chooses each asset's class and says why.
pub fn classify(assets: &mut [AssetRecord], flows: &[FlowSummary]) {
    // Distinct controllers each client polls.
    let mut polled: HashMap<IpAddr, BTreeSet<IpAddr>> = HashMap::new();
    for f in flows {
        if f.resp_packets > 0
            && f.app_protocol
                .as_deref()
                .is_some_and(|p| CONTROLLER_PROTOCOLS.contains(&p))
        {
            polled.entry(f.orig.ip).or_default().insert(f.resp.ip);
        }
    }
    for a in assets.iter_mut() {
        if let Some((class, reasons)) = class_of(a, &polled) {
            a.class = Some(class);
            a.class_reasons = reasons;
        }
    }
}
