//! The inventory as a CycloneDX 1.5 JSON BOM: each asset a `device` component (supplier, model,
//! addresses and identity keys as properties) holding its firmware as a `firmware` component and
//! its host software as `application`/`library` components with their package URLs; advisory
//! matches as `vulnerabilities` affecting the firmware or package they matched.

use crate::advisory::matching::Match;
use crate::store::{AssetView, SoftwareView};
use serde_json::{Value, json};
use shoko_proto::Timestamp;
use std::collections::BTreeMap;

/// The BOM's `bom-ref` of an asset.
fn asset_ref(id: i64) -> String {
    format!("asset-{id}")
}

/// The `bom-ref` of an asset's firmware.
fn firmware_ref(id: i64) -> String {
    format!("asset-{id}/firmware")
}

/// A property (name, value).
fn property(name: &str, value: impl ToString) -> Value {
    json!({ "name": name, "value": value.to_string() })
}

/// A host software item as a component.
fn software_component(asset: i64, index: usize, s: &SoftwareView) -> Value {
    let mut c = json!({
        "type": if s.source == "ssh-banner" { "application" } else { "library" },
        "bom-ref": format!("asset-{asset}/software-{index}"),
        "name": s.name,
        "properties": [property("shoko:source", &s.source), property("shoko:observation", s.observation_id)],
    });
    if let Some(v) = &s.version {
        c["version"] = json!(v);
    }
    if let Some(p) = &s.purl {
        c["purl"] = json!(p);
    }
    c
}

/// An asset as a device component.
fn device(a: &AssetView, software: &[&SoftwareView]) -> Value {
    let attr = |names: &[&str]| names.iter().find_map(|n| a.attributes.get(*n)).cloned();
    let model = attr(&["model", "product"]);
    let name = model
        .clone()
        .or_else(|| attr(&["hostname"]))
        .unwrap_or_else(|| a.key.clone());
    let mut properties = vec![property("shoko:asset_key", &a.key)];
    properties.extend(a.macs.iter().map(|m| property("shoko:mac", m)));
    properties.extend(a.ips.iter().map(|ip| property("shoko:ip", ip)));
    for (key, value) in &a.attributes {
        properties.push(property(&format!("shoko:{key}"), value));
    }
    properties.push(property("shoko:first_seen", a.first_seen));
    properties.push(property("shoko:last_seen", a.last_seen));
    let mut c = json!({
        "type": "device",
        "bom-ref": asset_ref(a.id),
        "name": name,
        "properties": properties,
    });
    if let Some(vendor) = attr(&["vendor"]) {
        c["supplier"] = json!({ "name": vendor });
    }
    if let Some(hw) = attr(&["hardware_revision"]) {
        c["version"] = json!(hw);
    }
    let mut children = Vec::new();
    if let Some(fw) = attr(&["firmware"]) {
        children.push(json!({
            "type": "firmware",
            "bom-ref": firmware_ref(a.id),
            "name": format!("{} firmware", model.as_deref().unwrap_or(&name)),
            "version": fw,
        }));
    } else if let Some(os) = attr(&["os"]) {
        children.push(json!({
            "type": "operating-system",
            "bom-ref": firmware_ref(a.id),
            "name": os,
        }));
    }
    children.extend(
        software
            .iter()
            .enumerate()
            .map(|(i, s)| software_component(a.id, i, s)),
    );
    if !children.is_empty() {
        c["components"] = Value::Array(children);
    }
    c
}

/// The vulnerabilities: one per CVE (the advisory id when it names none), affecting every
/// firmware or package it matched.
fn vulnerabilities(matches: &[Match], software_refs: &BTreeMap<(i64, i64), String>) -> Vec<Value> {
    let mut by_id: BTreeMap<String, (Vec<&Match>, Vec<String>)> = BTreeMap::new();
    for m in matches {
        let target = match m.evidence.filter(|_| m.package.is_some()) {
            Some(obs) => software_refs
                .get(&(m.asset_id, obs))
                .cloned()
                .unwrap_or_else(|| asset_ref(m.asset_id)),
            None => firmware_ref(m.asset_id),
        };
        let ids = if m.cves.is_empty() {
            vec![m.advisory.clone()]
        } else {
            m.cves.clone()
        };
        for id in ids {
            let entry = by_id.entry(id).or_default();
            entry.0.push(m);
            if !entry.1.contains(&target) {
                entry.1.push(target.clone());
            }
        }
    }
    by_id
        .into_iter()
        .enumerate()
        .map(|(n, (id, (matches, targets)))| {
            let first = matches[0];
            let mut advisories: Vec<&str> = matches.iter().map(|m| m.advisory.as_str()).collect();
            advisories.sort();
            advisories.dedup();
            let exploited = matches.iter().any(|m| m.known_exploited.contains(&id));
            json!({
                "bom-ref": format!("vulnerability-{n}"),
                "id": id,
                "source": { "name": first.feed.as_str() },
                "references": advisories.iter().map(|a| json!({ "id": a, "source": { "name": first.feed.as_str() } })).collect::<Vec<_>>(),
                "description": first.title,
                "affects": targets.iter().map(|t| json!({ "ref": t })).collect::<Vec<_>>(),
                "properties": [
                    property("shoko:known_exploited", exploited),
                    property("shoko:affected_versions", &first.affected),
                    property("shoko:confidence", format!("{:.2}", matches.iter().map(|m| m.confidence).fold(0.0, f64::max))),
                ],
            })
        })
        .collect()
}

/// The BOM of everything a store holds, made now.
pub fn of_store(store: &dyn crate::store::Store) -> Result<Value, crate::store::StoreError> {
    let assets = store.assets()?;
    let matches = crate::advisory::Vulnerabilities::read(store, &assets)?.matches;
    Ok(bom(
        &assets,
        &store.all_software()?,
        &matches,
        Timestamp::now(),
        env!("CARGO_PKG_VERSION"),
    ))
}

/// The BOM of `assets`, their `software` (asset id, item) and the advisory `matches`, made at
/// `at` by collector version `version`.
pub fn bom(
    assets: &[AssetView],
    software: &[(i64, SoftwareView)],
    matches: &[Match],
    at: Timestamp,
    version: &str,
) -> Value {
    let mut by_asset: BTreeMap<i64, Vec<&SoftwareView>> = BTreeMap::new();
    for (asset, s) in software {
        by_asset.entry(*asset).or_default().push(s);
    }
    let mut software_refs = BTreeMap::new();
    for (asset, items) in &by_asset {
        for (i, s) in items.iter().enumerate() {
            software_refs.insert((*asset, s.observation_id), format!("asset-{asset}/software-{i}"));
        }
    }
    let components: Vec<Value> = assets
        .iter()
        .map(|a| device(a, by_asset.get(&a.id).map(Vec::as_slice).unwrap_or_default()))
        .collect();
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        "version": 1,
        "metadata": {
            "timestamp": at.to_string(),
            "tools": { "components": [ { "type": "application", "name": "shoko-collector", "version": version } ] },
            "properties": [ property("shoko:assets", assets.len()) ],
        },
        "components": components,
        "vulnerabilities": vulnerabilities(matches, &software_refs),
    })
}
