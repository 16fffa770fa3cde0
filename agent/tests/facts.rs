//! The identity facts of `../shared/pcaps/dev/facts.json`, checked through the `shoko-agent
//! analyze --json` contract: for each fact, the asset with the subject's IP or MAC must carry every
//! expected token (case-insensitive substring of one of its values).
//!
//! This file checks the IT and layer-2 facts (the [sensor] capability); the industrial-protocol
//! facts belong to the dissectors of the [ics] capability.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dev() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/pcaps/dev")
}

/// The facts this capability answers, by (file name, `what`).
const SENSOR_FACTS: [(&str, &str); 14] = [
    ("EIP-IPAddressChangeAttempt.pcap", "DHCP hostname"),
    ("EIP-IPAddressChangeAttempt.pcap", "NetBIOS host announcement"),
    ("EIP-FirmwareChange.pcap", "CDP platform and IOS version"),
    ("wrapup.pcapng", "LLDP host"),
    ("Profinet_Failed.pcap", "LLDP SCADA PC"),
    ("mb2.pcap", "LLDP SCALANCE switch with firmware"),
    ("mb2.pcap", "Modbus/TCP server role"),
    ("c37_pmu_unclean.pcap", "LLDP Hirschmann switch"),
    ("LLDP_and_CDP.cap", "LLDP/CDP Cisco switch"),
    ("DHCP.cap", "DHCP hostname"),
    ("SSHv2.cap", "SSH server banner"),
    ("HTTP.cap", "HTTP Server header"),
    ("packet-c.cap", "DHCP vendor class of an IP phone"),
    ("802.1Q_tunneling.cap", "CDP router over 802.1Q"),
];

fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.to_lowercase()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k.to_lowercase());
            strings(x, out)
        }),
        other => out.push(other.to_string().to_lowercase()),
    }
}

fn subject_matches(asset: &serde_json::Value, subject: &serde_json::Value) -> bool {
    let has = |field: &str, want: &serde_json::Value| {
        let wanted: Vec<&str> = match want {
            serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect(),
            other => other.as_str().into_iter().collect(),
        };
        asset[field]
            .as_array()
            .is_some_and(|vals| vals.iter().any(|v| wanted.iter().any(|w| v == w)))
    };
    subject.get("ip").is_some_and(|ip| has("ips", ip)) || subject.get("mac").is_some_and(|m| has("macs", m))
}

#[test]
fn sensor_identity_facts_are_found() {
    let facts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dev().join("facts.json")).unwrap()).unwrap();
    let mut docs: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut checked = 0;
    for fact in facts["facts"].as_array().unwrap() {
        let file = fact["file"].as_str().unwrap();
        let name = Path::new(file).file_name().unwrap().to_str().unwrap();
        let what = fact["what"].as_str().unwrap();
        if !SENSOR_FACTS.contains(&(name, what)) {
            continue;
        }
        checked += 1;
        let doc = docs.entry(file.to_owned()).or_insert_with(|| {
            let out = Command::new(env!("CARGO_BIN_EXE_shoko-agent"))
                .args(["analyze", "--pcap"])
                .arg(dev().join(file))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{file}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice(&out.stdout).unwrap()
        });
        let assets: Vec<&serde_json::Value> = doc["assets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| subject_matches(a, &fact["subject"]))
            .collect();
        let mut values = Vec::new();
        for a in &assets {
            strings(a, &mut values);
        }
        for group in fact["expect"].as_array().unwrap() {
            let ok = group.as_array().unwrap().iter().any(|tok| {
                values
                    .iter()
                    .any(|v| v.contains(&tok.as_str().unwrap().to_lowercase()))
            });
            if !ok {
                failures.push(format!(
                    "{name}: {what}: subject {} lacks {group} ({} assets matched)",
                    fact["subject"],
                    assets.len()
                ));
            }
        }
    }
    assert_eq!(checked, SENSOR_FACTS.len());
    assert!(
        failures.is_empty(),
        "{} facts missing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
