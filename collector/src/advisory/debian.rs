//! The Debian security tracker JSON (`https://security-tracker.debian.org/tracker/data/json`):
//! source package -> CVE -> release -> status and fixed version. Read into one advisory per CVE,
//! affecting each source package in each release (`Debian:12` for bookworm) below its fixed
//! version, or in every version while the issue is open.

use super::version::{Range, Reading};
use super::{Advisory, Affected, Feed, Product};
use serde_json::Value;
use std::collections::BTreeMap;

/// Release code names and their numbers.
const RELEASES: &[(&str, &str)] = &[
    ("buster", "10"),
    ("bullseye", "11"),
    ("bookworm", "12"),
    ("trixie", "13"),
    ("forky", "14"),
    ("sid", "unstable"),
];

/// Reads the tracker's JSON.
pub fn parse(doc: &Value) -> Result<Vec<Advisory>, String> {
    let packages = doc.as_object().ok_or("expected an object of source packages")?;
    let mut by_cve: BTreeMap<&str, Advisory> = BTreeMap::new();
    for (package, issues) in packages {
        let issues = issues
            .as_object()
            .ok_or_else(|| format!("{package}: expected an object of issues"))?;
        for (cve, issue) in issues {
            for (release, state) in issue["releases"].as_object().into_iter().flatten() {
                let Some((_, number)) = RELEASES.iter().find(|(name, _)| name == release) else {
                    continue;
                };
                let (range, text) = match (state["status"].as_str(), state["fixed_version"].as_str()) {
                    (Some("resolved"), Some("0")) => continue,
                    (Some("resolved"), Some(fixed)) => (
                        Range {
                            fixed: Some(fixed.to_string()),
                            ..Default::default()
                        },
                        format!("<{fixed}"),
                    ),
                    (Some("open"), _) => (Range::all(), "open: no fixed version yet".to_string()),
                    _ => continue,
                };
                let advisory = by_cve.entry(cve).or_insert_with(|| Advisory {
                    id: cve.clone(),
                    feed: Feed::Debian,
                    title: issue["description"]
                        .as_str()
                        .unwrap_or_default()
                        .chars()
                        .take(300)
                        .collect(),
                    cves: if cve.starts_with("CVE-") {
                        vec![cve.clone()]
                    } else {
                        vec![]
                    },
                    affected: vec![],
                });
                advisory.affected.push(Affected {
                    product: Product::Package {
                        ecosystem: format!("Debian:{number}"),
                        name: package.clone(),
                    },
                    ranges: vec![range],
                    reading: Reading::Structured,
                    text,
                    cves: advisory.cves.clone(),
                });
            }
        }
    }
    Ok(by_cve.into_values().filter(|a| !a.affected.is_empty()).collect())
}
