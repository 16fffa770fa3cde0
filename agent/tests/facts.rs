//! The identity facts of `../shared/pcaps/dev/facts.json`, checked through the `shoko-agent
//! analyze --json` contract: for each fact, the asset with the subject's IP or MAC must carry every
//! expected token (case-insensitive substring of one of its values).
//!
//! Every fact is checked: IT and layer-2 facts (LLDP, CDP, DHCP, NetBIOS, SSH, HTTP) and the
//! industrial ones (EtherNet/IP, S7, PROFINET DCP, BACnet, MMS, GOOSE, IEC 104, DNP3, ADS,
//! HART-IP, FINS, Fox, OPC UA): identity recall must be 100%. `ics.rs` checks the industrial
//! identities field by field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dev() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/pcaps/dev")
}

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
fn every_identity_fact_is_found() {
    let facts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dev().join("facts.json")).unwrap()).unwrap();
    let mut docs: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut checked = 0;
    for fact in facts["facts"].as_array().unwrap() {
        let file = fact["file"].as_str().unwrap();
        let name = Path::new(file).file_name().unwrap().to_str().unwrap();
        let what = fact["what"].as_str().unwrap();
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
    assert_eq!(checked, 31);
    assert!(
        failures.is_empty(),
        "{} facts missing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
