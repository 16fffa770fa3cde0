//! OSV JSON (one vulnerability, or a list of them): each affected package (ecosystem and name)
//! with its ranges from the `introduced` / `fixed` / `last_affected` events (the ecosystem's own
//! version ordering; git ranges are skipped) and its explicitly listed versions.

use super::version::{Range, Reading};
use super::{Advisory, Affected, Feed, Product, text};
use serde_json::Value;

/// Reads one OSV vulnerability.
pub fn parse(doc: &Value) -> Result<Advisory, String> {
    let id = text(doc, "/id")?.to_string();
    let title = doc["summary"]
        .as_str()
        .or_else(|| doc["details"].as_str())
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect();
    let mut cves: Vec<String> = doc["aliases"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(doc["upstream"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .chain(std::iter::once(id.as_str()))
        .filter(|a| a.starts_with("CVE-"))
        .map(str::to_string)
        .collect();
    cves.sort();
    cves.dedup();
    let mut affected = Vec::new();
    for a in doc["affected"].as_array().into_iter().flatten() {
        let (Some(ecosystem), Some(name)) = (
            a.pointer("/package/ecosystem").and_then(Value::as_str),
            a.pointer("/package/name").and_then(Value::as_str),
        ) else {
            continue;
        };
        let mut ranges = Vec::new();
        let mut texts = Vec::new();
        for r in a["ranges"].as_array().into_iter().flatten() {
            if r["type"].as_str() == Some("GIT") {
                continue;
            }
            ranges.extend(events(&r["events"], &mut texts));
        }
        for v in a["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            ranges.push(Range {
                introduced: Some(v.to_string()),
                last_affected: Some(v.to_string()),
                fixed: None,
            });
            texts.push(format!("={v}"));
        }
        if ranges.is_empty() {
            continue;
        }
        affected.push(Affected {
            product: Product::Package {
                ecosystem: ecosystem.to_string(),
                name: name.to_string(),
            },
            ranges,
            reading: Reading::Structured,
            text: texts.join(", "),
            cves: cves.clone(),
        });
    }
    Ok(Advisory {
        id,
        feed: Feed::Osv,
        title,
        cves,
        affected,
    })
}

/// Ranges from an OSV event list, in order: each `introduced` opens one, `fixed` or
/// `last_affected` closes it.
fn events(list: &Value, texts: &mut Vec<String>) -> Vec<Range> {
    let mut out = Vec::new();
    let mut open: Option<Range> = None;
    for e in list.as_array().into_iter().flatten() {
        if let Some(v) = e["introduced"].as_str() {
            if let Some(r) = open.take() {
                out.push(r);
            }
            open = Some(Range {
                introduced: (v != "0").then(|| v.to_string()),
                ..Default::default()
            });
            texts.push(format!(">={v}"));
        } else if let Some(v) = e["fixed"].as_str() {
            let mut r = open.take().unwrap_or_default();
            r.fixed = Some(v.to_string());
            out.push(r);
            texts.push(format!("<{v}"));
        } else if let Some(v) = e["last_affected"].as_str() {
            let mut r = open.take().unwrap_or_default();
            r.last_affected = Some(v.to_string());
            out.push(r);
            texts.push(format!("<={v}"));
        }
    }
    out.extend(open);
    out
}
