//! APT: the newest version of each installed package in the local package indexes
//! (`/var/lib/apt/lists/*_Packages`, plain or lz4), streamed, never loaded whole, each index's
//! origin from its Release file (security when its label or suite says so); Debian version
//! ordering; the last package operation from `/var/log/dpkg.log`.

use super::{Catalog, Offer, open_index};
use crate::host::Unknown;
use crate::host::packages::Package;
use crate::host::root::HostRoot;
use debversion::Version;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};

const LISTS: &str = "/var/lib/apt/lists";

/// Origin of an index, from its Release file.
#[derive(Debug, Clone, Default)]
struct Origin {
    text: String,
    security: bool,
}

/// The Release file of a `..._dists_SUITE_COMPONENT_binary-ARCH_Packages` index.
fn origin(root: &HostRoot, index: &str) -> Origin {
    let Some(prefix) = index
        .find("_binary-")
        .and_then(|i| index[..i].rsplit_once('_'))
        .map(|(p, _)| p)
    else {
        return Origin::default();
    };
    let text = root
        .read(&format!("{LISTS}/{prefix}_InRelease"))
        .or_else(|_| root.read(&format!("{LISTS}/{prefix}_Release")))
        .unwrap_or_default();
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k).and_then(|v| v.strip_prefix(':')))
            .map(str::trim)
            .unwrap_or("")
    };
    let (o, label, suite) = (field("Origin"), field("Label"), field("Suite"));
    Origin {
        text: format!("{o} {suite}").trim().to_owned(),
        security: label.to_ascii_lowercase().contains("security") || suite.ends_with("-security"),
    }
}

/// The newest version of each installed package in one index, streamed: name to version
/// (entries of another architecture are ignored).
pub fn scan(
    reader: impl Read,
    wanted: &HashMap<&str, &Package>,
    out: &mut HashMap<String, Version>,
) -> std::io::Result<()> {
    let mut lines = BufReader::new(reader);
    let (mut name, mut version, mut arch) = (String::new(), String::new(), String::new());
    let mut line = String::new();
    loop {
        line.clear();
        let n = lines.read_line(&mut line)?;
        let l = line.trim_end();
        if n == 0 || l.is_empty() {
            if let Some(p) = wanted.get(name.as_str())
                && (arch == "all"
                    || p.arch.as_deref() == Some(arch.as_str())
                    || p.arch.as_deref() == Some("all"))
                && let Ok(v) = version.parse::<Version>()
            {
                let best = out.entry(name.clone()).or_insert_with(|| v.clone());
                if v > *best {
                    *best = v;
                }
            }
            name.clear();
            version.clear();
            arch.clear();
            if n == 0 {
                return Ok(());
            }
        } else if let Some(v) = l.strip_prefix("Package:") {
            name = v.trim().to_owned();
        } else if let Some(v) = l.strip_prefix("Version:") {
            version = v.trim().to_owned();
        } else if let Some(v) = l.strip_prefix("Architecture:") {
            arch = v.trim().to_owned();
        }
    }
}

/// Debian version ordering.
pub fn compare(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    Some(a.parse::<Version>().ok()?.cmp(&b.parse::<Version>().ok()?))
}

/// What the APT indexes offer for the installed packages: per index, the newest version of each.
pub fn catalog(root: &HostRoot, installed: &HashMap<&str, &Package>, unknown: &mut Vec<Unknown>) -> Catalog {
    let mut catalog = Catalog::default();
    for file in root
        .list(LISTS)
        .into_iter()
        .filter(|f| f.ends_with("_Packages") || f.ends_with("_Packages.lz4"))
    {
        let rel = format!("{LISTS}/{file}");
        let mut found = HashMap::new();
        if let Err(e) = open_index(root, &rel)
            .and_then(|r| scan(r, installed, &mut found).map_err(|e| format!("{rel}: {e}")))
        {
            unknown.push(Unknown::new("patches.apt_index", &e));
            continue;
        }
        catalog.indexes += 1;
        let origin = origin(root, &file);
        for (name, version) in found {
            catalog.offers.entry(name).or_default().push(Offer {
                version: version.to_string(),
                origin: origin.text.clone(),
                security: origin.security,
            });
        }
    }
    if catalog.indexes == 0 {
        unknown.push(Unknown::new(
            "patches.apt_index",
            &format!("{LISTS}: no package index (run apt update)"),
        ));
    }
    catalog
}

/// Time of the last package installed or upgraded, from `/var/log/dpkg.log`.
pub fn last_operation(root: &HostRoot) -> Option<String> {
    let log = root.read("/var/log/dpkg.log").ok()?;
    log.lines()
        .rev()
        .find(|l| l.contains(" status installed "))
        .and_then(|l| l.get(..19))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_matching_architecture_wins() {
        let pkg = crate::host::packages::test_package("dpkg", "openssl", "3.0.11-1~deb12u2", "amd64");
        let wanted = HashMap::from([("openssl", &pkg)]);
        let index = "Package: openssl\nVersion: 3.0.15-1~deb12u1\nArchitecture: amd64\n\n\
                     Package: openssl\nVersion: 9.9\nArchitecture: arm64\n\n\
                     Package: openssl\nVersion: 3.0.13-1~deb12u1\nArchitecture: amd64\n\n\
                     Package: other\nVersion: 1\nArchitecture: amd64\n";
        let mut out = HashMap::new();
        scan(index.as_bytes(), &wanted, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out["openssl"].to_string(), "3.0.15-1~deb12u1");
        // Epochs and tildes order as Debian orders them.
        assert!("1:1.0".parse::<Version>().unwrap() > "9.9".parse::<Version>().unwrap());
        assert!("1.0~rc1".parse::<Version>().unwrap() < "1.0".parse::<Version>().unwrap());
    }
}
