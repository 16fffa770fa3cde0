//! APK (Alpine): the repository indexes apk keeps after `apk update`
//! (`/var/cache/apk/APKINDEX.<hash>.tar.gz`: gzip streams of a signature and an index tar holding
//! `DESCRIPTION` and the `APKINDEX` records), with APK version ordering. Alpine's indexes carry no
//! security marking: security fixes come from the Alpine security database (secdb JSON,
//! `secdb.alpinelinux.org/<version>/<repo>.json`) when a copy is kept under
//! `/var/lib/shoko/secdb/`. The last package operation is the time apk last rewrote its installed
//! database (apk keeps no history).

use super::{Advisory, Catalog, Offer, format_time, open_index};
use crate::host::Unknown;
use crate::host::packages::{Package, apk};
use crate::host::root::{HostRoot, MAX_FILE};
use serde::Deserialize;
use std::collections::HashMap;
use std::io::Read;

const CACHE: &str = "/var/cache/apk";
/// Where copies of the Alpine security database are kept for offline use.
pub const SECDB: &str = "/var/lib/shoko/secdb";

/// The index text and description of one `APKINDEX.tar.gz` stream.
pub fn read_index(reader: impl Read) -> Result<(String, String), String> {
    let mut archive = tar::Archive::new(reader);
    let (mut index, mut description) = (None, String::new());
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        let path = entry
            .path()
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .into_owned();
        let mut text = String::new();
        let mut bounded = entry.take(MAX_FILE);
        match path.as_str() {
            "APKINDEX" => {
                bounded.read_to_string(&mut text).map_err(|e| e.to_string())?;
                index = Some(text);
            }
            "DESCRIPTION" => {
                bounded.read_to_string(&mut text).map_err(|e| e.to_string())?;
                description = text.trim().to_owned();
            }
            _ => {}
        }
    }
    Ok((index.ok_or("no APKINDEX in the archive")?, description))
}

/// The Alpine security database's layout (only what is used).
#[derive(Deserialize)]
struct SecDb {
    #[serde(default)]
    packages: Vec<SecDbEntry>,
}

#[derive(Deserialize)]
struct SecDbEntry {
    pkg: SecDbPackage,
}

#[derive(Deserialize)]
struct SecDbPackage {
    name: String,
    #[serde(default)]
    secfixes: HashMap<String, Vec<String>>,
}

/// The security fixes of a secdb document for the installed packages (matched by origin, as
/// secdb names source packages), added to `out` by installed package name.
pub fn secfixes(
    json: &str,
    installed: &HashMap<&str, &Package>,
    out: &mut HashMap<String, Vec<Advisory>>,
) -> Result<(), String> {
    let db: SecDb = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let by_origin: HashMap<&str, &SecDbPackage> = db
        .packages
        .iter()
        .map(|e| (e.pkg.name.as_str(), &e.pkg))
        .collect();
    for p in installed.values() {
        let Some(fixes) = by_origin.get(p.source.as_deref().unwrap_or(&p.name)) else {
            continue;
        };
        for (fixed, ids) in &fixes.secfixes {
            // "0": the issue never affected Alpine's package.
            if fixed == "0" {
                continue;
            }
            for id in ids.iter().flat_map(|i| i.split_whitespace()) {
                out.entry(p.name.clone()).or_default().push(Advisory {
                    id: id.to_owned(),
                    fixed: fixed.clone(),
                    security: true,
                });
            }
        }
    }
    Ok(())
}

/// What the cached APK indexes (and a kept secdb) offer for the installed packages.
pub fn catalog(root: &HostRoot, installed: &HashMap<&str, &Package>, unknown: &mut Vec<Unknown>) -> Catalog {
    let mut catalog = Catalog::default();
    for rel in root
        .files(CACHE, &[".tar.gz"])
        .into_iter()
        .filter(|f| f.contains("/APKINDEX."))
    {
        let (text, description) = match open_index(root, &rel).and_then(read_index) {
            Ok(r) => r,
            Err(e) => {
                unknown.push(Unknown::new("patches.apk_index", &format!("{rel}: {e}")));
                continue;
            }
        };
        catalog.indexes += 1;
        let origin = if description.is_empty() {
            rel.rsplit('/').next().unwrap_or(&rel).to_owned()
        } else {
            description
        };
        for p in apk::parse(&text, "").0 {
            if installed.contains_key(p.name.as_str()) {
                catalog.offers.entry(p.name).or_default().push(Offer {
                    version: p.version,
                    origin: origin.clone(),
                    security: false,
                });
            }
        }
    }
    if catalog.indexes == 0 {
        unknown.push(Unknown::new(
            "patches.apk_index",
            &format!("{CACHE}: no APKINDEX (run apk update)"),
        ));
    }
    for rel in root.files(SECDB, &[".json"]) {
        if let Err(e) = root
            .read(&rel)
            .map_err(|e| e.to_string())
            .and_then(|json| secfixes(&json, installed, &mut catalog.advisories))
        {
            unknown.push(Unknown::new("patches.alpine_secdb", &format!("{rel}: {e}")));
        }
    }
    catalog
}

/// When apk last rewrote its installed database.
pub fn last_operation(root: &HostRoot) -> Option<String> {
    let modified = std::fs::metadata(root.path("/lib/apk/db/installed"))
        .ok()?
        .modified()
        .ok()?;
    let secs = modified.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    format_time(i64::try_from(secs).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secdb_matches_by_origin() {
        let p = Package {
            source: Some("openssl".into()),
            ..crate::host::packages::test_package("apk", "libcrypto3", "3.3.2-r0", "x86_64")
        };
        let installed = HashMap::from([("libcrypto3", &p)]);
        let json = r#"{"distroversion":"v3.20","reponame":"main","packages":[
            {"pkg":{"name":"openssl","secfixes":{"3.3.2-r1":["CVE-2024-9143"],"0":["CVE-2000-1"]}}},
            {"pkg":{"name":"busybox","secfixes":{"1.36.1-r29":["CVE-2023-42363 CVE-2023-42364"]}}}]}"#;
        let mut out = HashMap::new();
        secfixes(json, &installed, &mut out).unwrap();
        assert_eq!(
            out["libcrypto3"],
            [Advisory {
                id: "CVE-2024-9143".into(),
                fixed: "3.3.2-r1".into(),
                security: true
            }]
        );
        assert!(secfixes("[1,2", &installed, &mut out).is_err());
    }
}
