//! Which assets the advisories affect. Firmware: the asset's vendor and model or product against
//! the advisory's vendor and product (names normalised: case, punctuation, company suffixes;
//! a model number found inside a product name counts), and its firmware version inside one of the
//! ranges. Host packages: the package's ecosystem (from its purl's `distro`) and source package
//! (`upstream`, else its name) against the advisory's, its version inside a range under the
//! distribution's ordering. Each match has a confidence: how well the product matched times how
//! the range was read.

use super::version::compare_firmware;
use super::{Advisory, Feed, KnownExploited, Product};
use crate::store::{AssetView, SoftwareView};
use serde::Serialize;
use shoko_proto::Timestamp;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

/// Matches below this confidence are not reported.
pub const MIN_CONFIDENCE: f64 = 0.5;

/// One asset affected by one advisory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    /// The asset.
    pub asset_id: i64,
    /// Its key.
    pub asset: String,
    /// The advisory.
    pub advisory: String,
    /// Its feed.
    pub feed: Feed,
    /// Its title.
    pub title: String,
    /// CVEs that affect what matched.
    pub cves: Vec<String>,
    /// Those of them the KEV catalog lists as exploited.
    pub known_exploited: Vec<String>,
    /// What matched (`firmware of Rockwell Automation 1756-EN2T`, `package openssl (Debian:12)`).
    pub product: String,
    /// The host package that matched (none for a device's firmware).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// The version observed.
    pub version: String,
    /// The advisory's versions as written.
    pub affected: String,
    /// Trust in the match (0-1).
    pub confidence: f64,
    /// The stored observation showing the version, when known.
    pub evidence: Option<i64>,
    /// Since when the match stands: the later of the advisory's import and the version's first
    /// sighting.
    pub since: Timestamp,
}

/// An advisory's affected package, with when the advisory was imported.
type Candidate<'a> = (&'a Advisory, Timestamp, &'a super::Affected);

/// Every match of `advisories` on `assets` (firmware) and `software` (host packages, by asset
/// id), ordered by asset and advisory.
pub fn find(
    advisories: &[(Advisory, Timestamp)],
    known_exploited: &BTreeMap<String, KnownExploited>,
    assets: &[AssetView],
    software: &[(i64, SoftwareView)],
) -> Vec<Match> {
    let mut firmware = Vec::new();
    let mut packages: HashMap<(&str, &str), Vec<Candidate<'_>>> = HashMap::new();
    for (a, imported) in advisories {
        for af in &a.affected {
            match &af.product {
                Product::Firmware { vendor, product } => {
                    firmware.push((a, *imported, af, vendor.as_deref(), product.as_str()))
                }
                Product::Package { ecosystem, name } => {
                    packages
                        .entry((ecosystem, name))
                        .or_default()
                        .push((a, *imported, af));
                }
            }
        }
    }
    let exploited = |cves: &[String]| -> Vec<String> {
        cves.iter()
            .filter(|c| known_exploited.contains_key(*c))
            .cloned()
            .collect()
    };
    let mut out = Vec::new();
    for asset in assets {
        let Some(version) = asset.attributes.get("firmware") else {
            continue;
        };
        let vendor = asset.attributes.get("vendor").map(String::as_str);
        let names: Vec<&str> = ["model", "product"]
            .iter()
            .filter_map(|k| asset.attributes.get(*k).map(String::as_str))
            .collect();
        let mut best: BTreeMap<&str, Match> = BTreeMap::new();
        for (a, imported, af, adv_vendor, adv_product) in &firmware {
            let vendor_factor = match (adv_vendor, vendor) {
                (None, _) => 0.8,
                (Some(v), Some(mine)) if same_vendor(v, mine) => 1.0,
                _ => continue,
            };
            let product_score = names
                .iter()
                .map(|n| product_match(adv_product, n))
                .fold(0.0, f64::max);
            let confidence = round2(product_score * vendor_factor * af.reading.confidence());
            if confidence < MIN_CONFIDENCE || !af.ranges.iter().any(|r| r.contains(version, compare_firmware))
            {
                continue;
            }
            let m = Match {
                asset_id: asset.id,
                asset: asset.key.clone(),
                advisory: a.id.clone(),
                feed: a.feed,
                title: a.title.clone(),
                cves: af.cves.clone(),
                known_exploited: exploited(&af.cves),
                product: format!(
                    "firmware of {} {adv_product}",
                    adv_vendor.unwrap_or("(any vendor)")
                ),
                package: None,
                version: version.clone(),
                affected: af.text.clone(),
                confidence,
                evidence: None,
                since: (*imported).max(asset.first_seen),
            };
            if best
                .get(a.id.as_str())
                .is_none_or(|b| b.confidence < m.confidence)
            {
                best.insert(&a.id, m);
            }
        }
        out.extend(best.into_values());
    }
    for (asset_id, s) in software {
        let Some(p) = s.purl.as_deref().and_then(Purl::parse) else {
            continue;
        };
        let (Some(ecosystem), Some(cmp)) = (p.ecosystem(), p.ordering()) else {
            continue;
        };
        let Some(candidates) = packages.get(&(ecosystem.as_str(), p.source.as_str())) else {
            continue;
        };
        let key = assets
            .iter()
            .find(|a| a.id == *asset_id)
            .map(|a| a.key.clone())
            .unwrap_or_default();
        for (a, imported, af) in candidates {
            if !af.ranges.iter().any(|r| r.contains(&p.version, cmp)) {
                continue;
            }
            out.push(Match {
                asset_id: *asset_id,
                asset: key.clone(),
                advisory: a.id.clone(),
                feed: a.feed,
                title: a.title.clone(),
                cves: af.cves.clone(),
                known_exploited: exploited(&af.cves),
                product: format!("package {} (source {}, {ecosystem})", p.name, p.source),
                package: Some(s.name.clone()),
                version: p.version.clone(),
                affected: af.text.clone(),
                confidence: af.reading.confidence(),
                evidence: Some(s.observation_id),
                since: (*imported).max(s.first_seen),
            });
        }
    }
    out.sort_by(|a, b| (a.asset_id, &a.advisory, &a.product).cmp(&(b.asset_id, &b.advisory, &b.product)));
    out.dedup_by(|a, b| a.asset_id == b.asset_id && a.advisory == b.advisory && a.product == b.product);
    out
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Company-form words dropped when comparing vendors.
const COMPANY: &[&str] = &[
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "ltd",
    "limited",
    "gmbh",
    "ag",
    "sa",
    "se",
    "llc",
    "plc",
    "kg",
];

/// Lower-case words of letters and digits.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Vendors match when, company forms aside, one's words are all in the other's, or both start
/// with the same word (`Rockwell Automation` and `Rockwell Automation/Allen-Bradley`,
/// `Siemens AG` and `Siemens`, `Schneider Electric` and `Schneider`).
pub fn same_vendor(a: &str, b: &str) -> bool {
    let norm = |s: &str| -> Vec<String> {
        words(s)
            .into_iter()
            .filter(|w| !COMPANY.contains(&w.as_str()))
            .collect()
    };
    let (x, y) = (norm(a), norm(b));
    if x.is_empty() || y.is_empty() {
        return false;
    }
    x[0] == y[0] || x.iter().all(|w| y.contains(w)) || y.iter().all(|w| x.contains(w))
}

/// How well an advisory's product names a device's model or product: 1 when equal (spacing and
/// punctuation aside), 0.8 when one contains the other and the shorter is a model-like name (5
/// or more characters with a digit), 0 otherwise.
pub fn product_match(advisory: &str, device: &str) -> f64 {
    let compact = |s: &str| words(s).concat();
    let (a, d) = (compact(advisory), compact(device));
    if a.is_empty() || d.is_empty() {
        return 0.0;
    }
    if a == d {
        return 1.0;
    }
    let (short, long) = if a.len() <= d.len() { (&a, &d) } else { (&d, &a) };
    let model_like = short.len() >= 5 && short.chars().any(|c| c.is_ascii_digit());
    if model_like && long.contains(short.as_str()) {
        0.8
    } else {
        0.0
    }
}

/// The parts of a package purl matching needs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Purl {
    kind: String,
    name: String,
    version: String,
    distro: Option<String>,
    source: String,
}

impl Purl {
    /// `pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS`.
    fn parse(purl: &str) -> Option<Self> {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .ok()
                .map(|c| c.into_owned())
        };
        let rest = purl.strip_prefix("pkg:")?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (kind, path) = path.split_once('/')?;
        let (path, version) = path.rsplit_once('@')?;
        let name = decode(path.rsplit('/').next()?)?;
        let mut distro = None;
        let mut upstream = None;
        for (k, v) in query.split('&').filter_map(|q| q.split_once('=')) {
            match k {
                "distro" => distro = decode(v),
                "upstream" => upstream = decode(v),
                _ => {}
            }
        }
        Some(Purl {
            kind: kind.to_string(),
            source: upstream.unwrap_or_else(|| name.clone()),
            name,
            version: decode(version)?,
            distro,
        })
    }

    /// The OSV ecosystem of its distribution (`debian-12` -> `Debian:12`, `alpine-3.20.3` ->
    /// `Alpine:v3.20`, `rocky-9.4` -> `Rocky Linux:9`).
    fn ecosystem(&self) -> Option<String> {
        let (distro, version) = self.distro.as_deref()?.split_once('-')?;
        let major = version.split('.').next()?;
        let minor = version.split('.').nth(1);
        Some(match distro {
            "debian" => format!("Debian:{major}"),
            "ubuntu" => format!("Ubuntu:{version}"),
            "alpine" => format!("Alpine:v{major}.{}", minor?),
            "rocky" => format!("Rocky Linux:{major}"),
            "almalinux" => format!("AlmaLinux:{major}"),
            _ => return None,
        })
    }

    /// Its distribution's version ordering.
    fn ordering(&self) -> Option<fn(&str, &str) -> Option<Ordering>> {
        use shoko_agent::host::{packages, patches};
        match self.kind.as_str() {
            "deb" => Some(patches::apt::compare),
            "rpm" => Some(patches::dnf::compare),
            "apk" => Some(packages::apk::compare),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendors_products_and_purls() {
        assert!(same_vendor(
            "Rockwell Automation",
            "Rockwell Automation/Allen-Bradley"
        ));
        assert!(same_vendor("Siemens AG", "SIEMENS"));
        assert!(!same_vendor("Siemens", "Schneider Electric"));
        assert_eq!(product_match("1756-EN2T", "1756 EN2T"), 1.0);
        assert_eq!(product_match("1756-EN2T", "1756-EN2T/B EtherNet/IP Bridge"), 0.8);
        assert_eq!(product_match("SIMATIC S7-1500 CPU family", "S7-1500"), 0.8);
        assert_eq!(product_match("S7", "SIMATIC S7-1500"), 0.0);
        let p = Purl::parse(
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl",
        )
        .unwrap();
        assert_eq!(
            (p.name.as_str(), p.source.as_str(), p.version.as_str()),
            ("libssl3", "openssl", "3.0.11-1~deb12u2")
        );
        assert_eq!(p.ecosystem().as_deref(), Some("Debian:12"));
        let p =
            Purl::parse("pkg:deb/debian/openssh-client@1%3A9.2p1-2%2Bdeb12u6?arch=amd64&distro=debian-12")
                .unwrap();
        assert_eq!(
            (p.source.as_str(), p.version.as_str()),
            ("openssh-client", "1:9.2p1-2+deb12u6")
        );
        let p = Purl::parse(
            "pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64&distro=alpine-3.20.3&upstream=openssl",
        )
        .unwrap();
        assert_eq!(p.ecosystem().as_deref(), Some("Alpine:v3.20"));
        assert_eq!(Purl::parse("pkg:deb/debian"), None);
    }
}
