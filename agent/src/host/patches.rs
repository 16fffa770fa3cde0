//! Patch state, offline: pending updates of installed packages computed from the local APT
//! package indexes (`/var/lib/apt/lists/*_Packages`, plain or lz4) with Debian version ordering,
//! each marked security when a newer version comes from a security origin (the index's Release
//! file: label or suite naming security); the last package operation (`/var/log/dpkg.log`); and
//! whether a reboot is pending (`/var/run/reboot-required`). Indexes are streamed, never loaded
//! whole.

use super::Unknown;
use super::packages::Package;
use super::root::HostRoot;
use debversion::Version;
use serde::Serialize;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};

const LISTS: &str = "/var/lib/apt/lists";
/// Most bytes read from one index (the Debian main index is about 60 MB).
const MAX_INDEX: u64 = 1 << 30;

/// An installed package with a newer version available.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PendingUpdate {
    /// Package name.
    pub name: String,
    /// Installed version.
    pub installed: String,
    /// Newest available version.
    pub candidate: String,
    /// True when a newer version comes from a security origin.
    pub security: bool,
    /// Origin of the candidate (`Debian-Security bookworm-security`).
    pub origin: String,
}

/// The host's patch state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PatchState {
    /// Package indexes read.
    pub indexes: usize,
    /// Updates pending, by name.
    pub pending: Vec<PendingUpdate>,
    /// How many of them are security updates.
    pub security_pending: usize,
    /// Time of the last package installed or upgraded (`dpkg.log`).
    pub last_package_operation: Option<String>,
    /// True when the system asks for a reboot to finish an update.
    pub reboot_required: bool,
}

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
    let mut lines = BufReader::new(reader.take(MAX_INDEX));
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

/// The patch state of a Debian-family host; `None` when it has no dpkg packages.
pub fn debian(root: &HostRoot, packages: &[Package], unknown: &mut Vec<Unknown>) -> Option<PatchState> {
    let installed: HashMap<&str, &Package> = packages
        .iter()
        .filter(|p| p.manager == "dpkg" && p.state.is_none())
        .map(|p| (p.name.as_str(), p))
        .collect();
    if installed.is_empty() {
        return None;
    }
    let mut state = PatchState::default();
    // Per name: best version overall, and best per origin.
    let mut best: HashMap<String, (Version, Origin)> = HashMap::new();
    let mut security_newer: HashMap<String, bool> = HashMap::new();
    for file in root
        .list(LISTS)
        .into_iter()
        .filter(|f| f.ends_with("_Packages") || f.ends_with("_Packages.lz4"))
    {
        let path = root.path(&format!("{LISTS}/{file}"));
        let Ok(f) = std::fs::File::open(&path) else {
            unknown.push(Unknown::new(
                "patches.apt_index",
                &format!("{LISTS}/{file}: not readable"),
            ));
            continue;
        };
        let mut found = HashMap::new();
        let read = if file.ends_with(".lz4") {
            scan(lz4_flex::frame::FrameDecoder::new(f), &installed, &mut found)
        } else {
            scan(f, &installed, &mut found)
        };
        if let Err(e) = read {
            unknown.push(Unknown::new("patches.apt_index", &format!("{LISTS}/{file}: {e}")));
            continue;
        }
        state.indexes += 1;
        let origin = origin(root, &file);
        for (name, v) in found {
            let Some(current) = installed
                .get(name.as_str())
                .and_then(|p| p.version.parse::<Version>().ok())
            else {
                continue;
            };
            if v > current && origin.security {
                security_newer.insert(name.clone(), true);
            }
            match best.get(&name) {
                Some((b, _)) if *b >= v => {}
                _ => {
                    best.insert(name, (v, origin.clone()));
                }
            }
        }
    }
    if state.indexes == 0 {
        unknown.push(Unknown::new(
            "patches.apt_index",
            &format!("{LISTS}: no package index (run apt update)"),
        ));
    }
    for (name, (candidate, origin)) in best {
        let p = installed[name.as_str()];
        if p.version.parse::<Version>().is_ok_and(|cur| candidate > cur) {
            let security = security_newer.get(&name).copied().unwrap_or(false);
            state.pending.push(PendingUpdate {
                name,
                installed: p.version.clone(),
                candidate: candidate.to_string(),
                security,
                origin: origin.text,
            });
        }
    }
    state.pending.sort();
    state.security_pending = state.pending.iter().filter(|u| u.security).count();
    state.last_package_operation = root.read("/var/log/dpkg.log").ok().and_then(|log| {
        log.lines()
            .rev()
            .find(|l| l.contains(" status installed "))
            .and_then(|l| l.get(..19))
            .map(str::to_owned)
    });
    state.reboot_required =
        root.path("/var/run/reboot-required").exists() || root.path("/run/reboot-required").exists();
    Some(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_matching_architecture_wins() {
        let pkg = Package {
            manager: "dpkg",
            name: "openssl".into(),
            version: "3.0.11-1~deb12u2".into(),
            arch: Some("amd64".into()),
            source: None,
            state: None,
            purl: String::new(),
        };
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
