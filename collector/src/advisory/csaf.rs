//! CSAF 2.0 documents: the product tree's branches (vendor, product name or family, version or
//! version range) give each product id its vendor, product and versions; model numbers from a
//! product's identification helper name it too; the vulnerabilities' `known_affected`,
//! `first_affected` and `last_affected` products are the affected ones, with their CVEs.

use super::version::{Range, Reading, parse_ranges};
use super::{Advisory, Affected, Feed, Product, text};
use serde_json::Value;
use std::collections::BTreeMap;

/// What the product tree says of one product id.
#[derive(Debug, Clone, Default)]
struct Named {
    vendor: Option<String>,
    products: Vec<String>,
    version: Option<(String, bool)>,
}

/// Reads one CSAF document.
pub fn parse(doc: &Value) -> Result<Advisory, String> {
    let id = text(doc, "/document/tracking/id")?.to_string();
    let title = text(doc, "/document/title").unwrap_or_default().to_string();
    let mut named = BTreeMap::new();
    if let Some(branches) = doc.pointer("/product_tree/branches").and_then(Value::as_array) {
        walk(branches, &Named::default(), &mut named);
    }
    for p in doc
        .pointer("/product_tree/full_product_names")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(pid), Some(name)) = (p["product_id"].as_str(), p["name"].as_str()) {
            let entry = named.entry(pid.to_string()).or_insert_with(Named::default);
            if entry.products.is_empty() {
                entry.products.push(name.to_string());
            }
            entry.products.extend(model_numbers(p));
        }
    }
    let mut cves_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut cves = Vec::new();
    for v in doc["vulnerabilities"].as_array().into_iter().flatten() {
        let cve = v["cve"].as_str().map(str::to_string);
        cves.extend(cve.clone());
        for status in ["known_affected", "first_affected", "last_affected"] {
            for pid in v["product_status"][status]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                let list = cves_of.entry(pid.to_string()).or_default();
                list.extend(cve.clone());
            }
        }
    }
    cves.sort();
    cves.dedup();
    let mut affected = Vec::new();
    for (pid, mut its_cves) in cves_of {
        let Some(n) = named.get(&pid) else { continue };
        its_cves.sort();
        its_cves.dedup();
        let (ranges, reading, text) = match &n.version {
            None => (vec![Range::all()], Reading::Prose, "all versions".to_string()),
            Some((v, true)) => match parse_ranges(v) {
                Some((ranges, reading)) => (ranges, reading, v.clone()),
                None => continue,
            },
            Some((v, false)) => (
                vec![Range {
                    introduced: Some(v.clone()),
                    last_affected: Some(v.clone()),
                    fixed: None,
                }],
                Reading::Structured,
                v.clone(),
            ),
        };
        for product in &n.products {
            affected.push(Affected {
                product: Product::Firmware {
                    vendor: n.vendor.clone(),
                    product: product.clone(),
                },
                ranges: ranges.clone(),
                reading,
                text: text.clone(),
                cves: its_cves.clone(),
            });
        }
    }
    Ok(Advisory {
        id,
        feed: Feed::Csaf,
        title,
        cves,
        affected,
    })
}

/// Collects what each branch path names, down to the products.
fn walk(branches: &[Value], above: &Named, out: &mut BTreeMap<String, Named>) {
    for b in branches {
        let name = b["name"].as_str().unwrap_or_default().to_string();
        let mut here = above.clone();
        match b["category"].as_str() {
            Some("vendor") => here.vendor = Some(name),
            Some("product_name") => here.products = vec![name],
            Some("product_family") if here.products.is_empty() => here.products = vec![name],
            Some("product_version") => here.version = Some((name, false)),
            Some("product_version_range") => here.version = Some((name, true)),
            _ => {}
        }
        if let Some(pid) = b.pointer("/product/product_id").and_then(Value::as_str) {
            let mut leaf = here.clone();
            if leaf.products.is_empty() {
                leaf.products.extend(
                    b.pointer("/product/name")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                );
            }
            leaf.products.extend(model_numbers(&b["product"]));
            out.insert(pid.to_string(), leaf);
        }
        if let Some(children) = b["branches"].as_array() {
            walk(children, &here, out);
        }
    }
}

/// Model numbers of a product's identification helper.
fn model_numbers(product: &Value) -> Vec<String> {
    product
        .pointer("/product_identification_helper/model_numbers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}
