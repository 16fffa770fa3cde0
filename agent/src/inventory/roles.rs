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

fn with_role<'a>(a: &'a AssetRecord, set: &[&str], role: &str) -> BTreeSet<&'a str> {
    a.protocols
        .iter()
        .filter(|(p, roles)| set.contains(&p.as_str()) && roles.contains(role))
        .map(|(p, _)| p.as_str())
        .collect()
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
        let mut reasons = Vec::new();
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
        let class = if a.router || !net_caps.is_empty() {
            if a.router {
                reasons.push("forwards traffic of several IP addresses".to_string());
            }
            for c in net_caps {
                reasons.push(format!("announces capabilities {c} in LLDP/CDP"));
            }
            "network-device"
        } else if !with_role(a, IED_PROTOCOLS, "server").is_empty() {
            for p in with_role(a, IED_PROTOCOLS, "server") {
                reasons.push(format!("serves or publishes {p}"));
            }
            "ied"
        } else if !with_role(a, CONTROLLER_PROTOCOLS, "server").is_empty() {
            for p in with_role(a, CONTROLLER_PROTOCOLS, "server") {
                reasons.push(format!("serves {p}"));
            }
            "plc"
        } else if !with_role(a, CONTROLLER_PROTOCOLS, "client").is_empty() {
            let count = a
                .ips
                .iter()
                .filter_map(|ip| polled.get(ip))
                .map(BTreeSet::len)
                .sum::<usize>();
            for p in with_role(a, CONTROLLER_PROTOCOLS, "client") {
                reasons.push(format!("polls controllers over {p}"));
            }
            reasons.push(format!("talks to {count} controller(s)"));
            "hmi-scada"
        } else if a.protocols.keys().any(|p| IT_PROTOCOLS.contains(&p.as_str()))
            || a.identities
                .iter()
                .any(|i| i.identity.protocol.starts_with("netbios") || i.identity.protocol == "dhcp")
        {
            reasons.push("uses or offers IT protocols only".to_string());
            "it-host"
        } else {
            continue;
        };
        a.class = Some(class);
        a.class_reasons = reasons;
    }
}
