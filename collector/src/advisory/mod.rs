//! Vulnerability advisories, imported offline from files (plant networks are isolated): CSAF 2.0
//! (`csaf`, with its `.sha512` checked when present), OSV (`osv`), the Debian security tracker
//! (`debian`) and the CISA KEV catalog (`kev`), read into one model; `version` reads their
//! version ranges; `matching` finds the assets they affect.

pub mod csaf;
pub mod debian;
pub mod kev;
pub mod matching;
pub mod osv;
pub mod version;

use crate::store::{AssetView, FeedImport, FeedImportView, Store, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};
use shoko_proto::Timestamp;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use version::{Range, Reading};

/// Largest advisory file read (the Debian tracker's whole JSON is under 100 MB).
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// Where advisories come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Feed {
    /// CSAF 2.0 documents (CISA ICS advisories, vendor PSIRTs).
    Csaf,
    /// OSV JSON.
    Osv,
    /// The Debian security tracker JSON.
    Debian,
    /// The CISA Known Exploited Vulnerabilities catalog.
    Kev,
}

impl Feed {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Feed::Csaf => "csaf",
            Feed::Osv => "osv",
            Feed::Debian => "debian",
            Feed::Kev => "kev",
        }
    }
}

/// What an advisory affects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Product {
    /// A device's firmware, named by vendor (when the advisory gives one) and product or model.
    Firmware {
        /// Vendor.
        vendor: Option<String>,
        /// Product name, family or model number.
        product: String,
    },
    /// A distribution package, by ecosystem (`Debian:12`, `Alpine:v3.20`, `Rocky Linux:9`) and
    /// source package name.
    Package {
        /// OSV ecosystem.
        ecosystem: String,
        /// Source package.
        name: String,
    },
}

/// One affected product with its version ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    /// The product.
    pub product: Product,
    /// Affected ranges (any one matching is enough).
    pub ranges: Vec<Range>,
    /// How the ranges were read.
    pub reading: Reading,
    /// The versions as the advisory wrote them.
    pub text: String,
    /// CVEs that affect it.
    pub cves: Vec<String>,
}

/// An advisory in the common model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    /// Its id (`ICSA-24-289-01`, `DSA-5678-1`, `CVE-2024-1234` for the Debian tracker).
    pub id: String,
    /// Where it came from.
    pub feed: Feed,
    /// Title or summary.
    pub title: String,
    /// CVEs.
    pub cves: Vec<String>,
    /// What it affects.
    pub affected: Vec<Affected>,
}

/// A CVE the KEV catalog lists as exploited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownExploited {
    /// CVE id.
    pub cve: String,
    /// Vendor or project.
    pub vendor: String,
    /// Product.
    pub product: String,
    /// Added to the catalog (YYYY-MM-DD).
    pub date_added: String,
    /// Remediation due (YYYY-MM-DD).
    pub due_date: Option<String>,
    /// Used in ransomware campaigns (`Known`, `Unknown`).
    pub ransomware: Option<String>,
}

/// What one file held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedFile {
    /// The file.
    pub path: PathBuf,
    /// Its feed.
    pub feed: Feed,
    /// SHA-256 (hex) of its bytes.
    pub sha256: String,
    /// Advisories.
    pub advisories: Vec<Advisory>,
    /// KEV entries.
    pub known_exploited: Vec<KnownExploited>,
}

/// Why a file was not imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct FeedError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

/// The JSON files under `paths` (files as given; directories walked, `*.json` only), sorted.
pub fn json_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, FeedError> {
    let mut out = Vec::new();
    let mut pending: Vec<PathBuf> = paths.to_vec();
    while let Some(p) = pending.pop() {
        let err = |e: std::io::Error| FeedError {
            path: p.display().to_string(),
            reason: e.to_string(),
        };
        if p.is_dir() {
            for entry in std::fs::read_dir(&p).map_err(err)? {
                let path = entry.map_err(err)?.path();
                if path.is_dir() || path.extension().is_some_and(|e| e == "json") {
                    pending.push(path);
                }
            }
        } else {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// Reads one advisory file: checks its size and its `.sha512` (when one lies beside it), finds
/// its format and reads it.
pub fn read_file(path: &Path) -> Result<FeedFile, FeedError> {
    let fail = |reason: String| FeedError {
        path: path.display().to_string(),
        reason,
    };
    let size = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?.len();
    if size > MAX_FILE_BYTES {
        return Err(fail(format!("{size} bytes, more than the {MAX_FILE_BYTES} read")));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    check_sha512(path, &bytes).map_err(fail)?;
    let (feed, advisories, known_exploited) = parse(&bytes).map_err(fail)?;
    Ok(FeedFile {
        path: path.to_path_buf(),
        feed,
        sha256: hex::encode(Sha256::digest(&bytes)),
        advisories,
        known_exploited,
    })
}

/// Compares the file with `FILE.sha512` when it exists (`HEX` or `HEX  NAME`).
fn check_sha512(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut name = path.as_os_str().to_owned();
    name.push(".sha512");
    let Ok(text) = std::fs::read_to_string(PathBuf::from(name)) else {
        return Ok(());
    };
    let expected = text
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let actual = hex::encode(Sha512::digest(bytes));
    if expected == actual {
        Ok(())
    } else {
        Err(format!(
            "SHA-512 {actual} does not match its .sha512 file ({expected})"
        ))
    }
}

/// Parsed advisories and KEV entries.
type Parsed = (Feed, Vec<Advisory>, Vec<KnownExploited>);

/// Reads a document of any supported format, recognised by its fields.
pub fn parse(bytes: &[u8]) -> Result<Parsed, String> {
    let doc: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    if doc.pointer("/document/csaf_version").is_some() {
        Ok((Feed::Csaf, vec![csaf::parse(&doc)?], vec![]))
    } else if doc.get("catalogVersion").is_some() && doc.get("vulnerabilities").is_some() {
        Ok((Feed::Kev, vec![], kev::parse(&doc)?))
    } else if doc.get("id").is_some() && (doc.get("affected").is_some() || doc.get("modified").is_some()) {
        Ok((Feed::Osv, vec![osv::parse(&doc)?], vec![]))
    } else if doc
        .as_array()
        .is_some_and(|a| a.iter().all(|v| v.get("id").is_some()))
    {
        let all = doc
            .as_array()
            .into_iter()
            .flatten()
            .map(osv::parse)
            .collect::<Result<_, _>>()?;
        Ok((Feed::Osv, all, vec![]))
    } else if doc.as_object().is_some_and(|o| !o.is_empty()) {
        Ok((Feed::Debian, debian::parse(&doc)?, vec![]))
    } else {
        Err("neither CSAF 2.0, OSV, the Debian security tracker nor the CISA KEV catalog".into())
    }
}

/// A JSON string field, or an error naming it.
fn text<'a>(v: &'a serde_json::Value, pointer: &str) -> Result<&'a str, String> {
    v.pointer(pointer)
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| format!("no {pointer}"))
}

/// The stored advisories' matches on the inventory, and the feeds imported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Vulnerabilities {
    /// Every match, by asset and advisory, with the observation showing the version.
    pub matches: Vec<matching::Match>,
    /// Every imported file, oldest first.
    pub feeds: Vec<FeedImportView>,
}

impl Vulnerabilities {
    /// Matches the stored advisories on `assets` and the stored software.
    pub fn read(store: &dyn Store, assets: &[AssetView]) -> Result<Self, StoreError> {
        let advisories = store
            .advisories()?
            .into_iter()
            .map(|(body, at)| Ok((decode::<Advisory>(&body)?, at)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let known_exploited = store
            .known_exploited()?
            .iter()
            .map(|body| decode::<KnownExploited>(body).map(|k| (k.cve.clone(), k)))
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        let mut matches = matching::find(&advisories, &known_exploited, assets, &store.all_software()?);
        // A firmware match's evidence: the newest observation claiming that firmware.
        let mut claims = BTreeMap::new();
        for m in matches.iter_mut().filter(|m| m.evidence.is_none()) {
            let of_asset = match claims.entry(m.asset_id) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => e.insert(store.claims(m.asset_id)?),
            };
            if let Some(c) = of_asset
                .iter()
                .find(|c| c.attribute == "firmware" && c.value == m.version)
            {
                m.evidence = Some(c.observation_id);
                m.since = m.since.max(c.first_seen);
            }
        }
        Ok(Vulnerabilities {
            matches,
            feeds: store.feed_imports()?,
        })
    }
}

fn decode<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError::Encoding(format!("stored advisory: {e}")))
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Files imported, with their feed and entries.
    pub imported: Vec<(PathBuf, Feed, usize)>,
    /// Files refused, with why.
    pub refused: Vec<FeedError>,
}

/// Imports the advisory files under `paths` into the store: each file whole or not at all; a
/// file that cannot be read is refused and named, the others still imported.
pub fn import(store: &dyn Store, paths: &[PathBuf], at: Timestamp) -> Result<ImportReport, FeedError> {
    let mut report = ImportReport::default();
    for path in json_files(paths)? {
        let file = match read_file(&path) {
            Ok(f) => f,
            Err(e) => {
                report.refused.push(e);
                continue;
            }
        };
        let import = FeedImport {
            feed: file.feed.as_str().to_string(),
            file: path.display().to_string(),
            sha256: file.sha256.clone(),
            imported_at: at,
            advisories: file.advisories.iter().map(|a| (a.id.clone(), json(a))).collect(),
            known_exploited: file
                .known_exploited
                .iter()
                .map(|k| (k.cve.clone(), json(k)))
                .collect(),
        };
        match store.import_feed(&import) {
            Ok(()) => report.imported.push((
                path,
                file.feed,
                file.advisories.len() + file.known_exploited.len(),
            )),
            Err(e) => report.refused.push(FeedError {
                path: path.display().to_string(),
                reason: e.to_string(),
            }),
        }
    }
    Ok(report)
}

/// The stored JSON of an advisory or KEV entry.
fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
