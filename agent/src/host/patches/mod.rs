//! Patch state, offline: the updates pending for the installed packages, computed from the
//! package manager's local indexes (APT lists, dnf repodata, APK indexes) with that manager's own
//! version ordering, each marked security when a security origin or advisory says so; the last
//! package operation; whether a reboot is pending; the running kernel against the newest
//! installed one. One module per package manager; nothing is fetched.

pub mod apk;
pub mod apt;
pub mod dnf;
pub mod kernel;

use super::Unknown;
use super::packages::Package;
use super::root::HostRoot;
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::io::Read;

/// An installed package with a newer version available.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PendingUpdate {
    /// Package name.
    pub name: String,
    /// Installed version.
    pub installed: String,
    /// Newest available version.
    pub candidate: String,
    /// True when a newer version comes from a security origin or fixes a security advisory.
    pub security: bool,
    /// Origin of the candidate (`Debian-Security bookworm-security`, a dnf repository id ...).
    pub origin: String,
    /// Advisories fixed between the installed version and the candidate (RLSA-2024:3501,
    /// CVE-2024-6119 ...), sorted.
    pub advisories: Vec<String>,
}

/// The host's patch state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PatchState {
    /// The package tool whose indexes were read (`apt`, `dnf`, `apk`).
    pub tool: &'static str,
    /// Package indexes read.
    pub indexes: usize,
    /// Updates pending, by name.
    pub pending: Vec<PendingUpdate>,
    /// How many of them are security updates.
    pub security_pending: usize,
    /// Time of the last successful package operation (`YYYY-MM-DD HH:MM:SS`).
    pub last_package_operation: Option<String>,
    /// True when the system asks for a reboot to finish an update, or runs an older kernel than
    /// the newest installed.
    pub reboot_required: bool,
    /// The running kernel against the installed ones.
    pub kernel: Option<kernel::KernelState>,
}

/// A version of a package one index offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// The version.
    pub version: String,
    /// The index's origin, as shown.
    pub origin: String,
    /// True when the index is a security origin.
    pub security: bool,
}

/// An advisory naming the version of a package that fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advisory {
    /// Advisory or CVE id.
    pub id: String,
    /// The first fixed version.
    pub fixed: String,
    /// True for a security advisory (not a bug fix or enhancement).
    pub security: bool,
}

/// What the local indexes of one package manager offer for the installed packages.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Indexes read.
    pub indexes: usize,
    /// Offered versions, by package name.
    pub offers: HashMap<String, Vec<Offer>>,
    /// Advisories, by package name.
    pub advisories: HashMap<String, Vec<Advisory>>,
}

/// Orders two versions of one package manager; `None` when either is not a version.
pub type Compare = fn(&str, &str) -> Option<Ordering>;

/// The installed packages of one manager by name (of several versions, the newest).
pub fn installed<'a>(packages: &'a [Package], manager: &str, cmp: Compare) -> HashMap<&'a str, &'a Package> {
    let mut out: HashMap<&str, &Package> = HashMap::new();
    for p in packages
        .iter()
        .filter(|p| p.manager == manager && p.state.is_none())
    {
        match out.get(p.name.as_str()) {
            Some(q) if cmp(&q.version, &p.version) != Some(Ordering::Less) => {}
            _ => {
                out.insert(&p.name, p);
            }
        }
    }
    out
}

/// The updates a catalog offers for the installed packages.
pub fn pending(installed: &HashMap<&str, &Package>, catalog: &Catalog, cmp: Compare) -> Vec<PendingUpdate> {
    let newer = |a: &str, b: &str| cmp(a, b) == Some(Ordering::Greater);
    let mut out = Vec::new();
    for (name, offers) in &catalog.offers {
        let Some(p) = installed.get(name.as_str()) else {
            continue;
        };
        let candidates: Vec<&Offer> = offers.iter().filter(|o| newer(&o.version, &p.version)).collect();
        let Some(best) = candidates.iter().copied().reduce(|a, b| {
            // Of equal versions, name the security origin.
            let same = cmp(&a.version, &b.version) == Some(Ordering::Equal);
            if newer(&b.version, &a.version) || same && b.security && !a.security {
                b
            } else {
                a
            }
        }) else {
            continue;
        };
        let fixed: Vec<&Advisory> = catalog
            .advisories
            .get(name)
            .into_iter()
            .flatten()
            .filter(|a| newer(&a.fixed, &p.version) && !newer(&a.fixed, &best.version))
            .collect();
        let advisories: BTreeSet<String> = fixed.iter().map(|a| a.id.clone()).collect();
        out.push(PendingUpdate {
            name: name.clone(),
            installed: p.version.clone(),
            candidate: best.version.clone(),
            security: candidates.iter().any(|o| o.security) || fixed.iter().any(|a| a.security),
            origin: best.origin.clone(),
            advisories: advisories.into_iter().collect(),
        });
    }
    out.sort();
    out
}

/// The local indexes of one package tool.
struct Tool {
    /// The package manager whose installed packages it updates.
    manager: &'static str,
    /// The tool's name.
    name: &'static str,
    /// Its version ordering.
    compare: Compare,
    /// What its indexes offer.
    catalog: fn(&HostRoot, &HashMap<&str, &Package>, &mut Vec<Unknown>) -> Catalog,
    /// Its last successful package operation.
    last_operation: fn(&HostRoot) -> Option<String>,
}

/// The package tools, in the order a host's native one is chosen.
const TOOLS: [Tool; 3] = [
    Tool {
        manager: "dpkg",
        name: "apt",
        compare: apt::compare,
        catalog: apt::catalog,
        last_operation: apt::last_operation,
    },
    Tool {
        manager: "rpm",
        name: "dnf",
        compare: dnf::compare,
        catalog: dnf::catalog,
        last_operation: dnf::last_operation,
    },
    Tool {
        manager: "apk",
        name: "apk",
        compare: super::packages::apk::compare,
        catalog: apk::catalog,
        last_operation: apk::last_operation,
    },
];

/// The patch state of the host's native package manager (the first of dpkg, rpm, apk with
/// installed packages); `None` when there is none.
pub fn collect(root: &HostRoot, packages: &[Package], unknown: &mut Vec<Unknown>) -> Option<PatchState> {
    let tool = TOOLS
        .iter()
        .find(|t| packages.iter().any(|p| p.manager == t.manager))?;
    let cmp = tool.compare;
    let installed = installed(packages, tool.manager, cmp);
    let catalog = (tool.catalog)(root, &installed, unknown);
    let pending = pending(&installed, &catalog, cmp);
    let kernel = kernel::state(root);
    let flagged = ["/var/run/reboot-required", "/run/reboot-required"]
        .iter()
        .any(|f| root.path(f).exists());
    Some(PatchState {
        tool: tool.name,
        indexes: catalog.indexes,
        security_pending: pending.iter().filter(|u| u.security).count(),
        pending,
        last_package_operation: (tool.last_operation)(root),
        reboot_required: flagged || kernel.as_ref().is_some_and(|k| k.outdated),
        kernel,
    })
}

/// Most bytes read from one index once decompressed (the Debian main index is about 60 MB).
pub const MAX_INDEX: u64 = 1 << 30;

/// An index file under the root, decompressed by its name (plain, `.gz`, `.lz4`) and bounded by
/// [`MAX_INDEX`]; an error naming the file when it cannot be opened or its compression is not read.
pub fn open_index(root: &HostRoot, rel: &str) -> Result<Box<dyn Read>, String> {
    let f = std::fs::File::open(root.path(rel)).map_err(|e| format!("{rel}: not readable ({e})"))?;
    let ext = rel.rsplit_once('.').map_or("", |(_, e)| e);
    let reader: Box<dyn Read> = match ext {
        "gz" => Box::new(flate2::read::MultiGzDecoder::new(f)),
        "lz4" => Box::new(lz4_flex::frame::FrameDecoder::new(f)),
        "zst" | "xz" | "bz2" => return Err(format!("{rel}: {ext}-compressed index not read")),
        _ => Box::new(f),
    };
    Ok(Box::new(reader.take(MAX_INDEX)))
}

/// A Unix time as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn format_time(unix: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).ok()?;
    t.format(time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second]"
    ))
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, version: &str) -> Package {
        crate::host::packages::test_package("rpm", name, version, "x86_64")
    }

    #[test]
    fn newest_offer_wins_and_only_advisories_up_to_it_count() {
        let pkgs = [pkg("openssl", "1:3.0.7-27.el9"), pkg("bash", "5.1.8-9.el9")];
        let installed = installed(&pkgs, "rpm", dnf::compare);
        let offer = |v: &str, security| Offer {
            version: v.into(),
            origin: "baseos".into(),
            security,
        };
        let advisory = |id: &str, fixed: &str, security| Advisory {
            id: id.into(),
            fixed: fixed.into(),
            security,
        };
        let catalog = Catalog {
            indexes: 1,
            offers: HashMap::from([
                (
                    "openssl".to_owned(),
                    vec![offer("1:3.0.7-28.el9_4", false), offer("1:3.0.7-25.el9", false)],
                ),
                ("bash".to_owned(), vec![offer("5.1.8-9.el9", false)]),
            ]),
            advisories: HashMap::from([(
                "openssl".to_owned(),
                vec![
                    advisory("RLSA-2024:3501", "1:3.0.7-28.el9_4", true),
                    advisory("RLSA-2099:1", "1:3.0.7-99.el9", true),
                    advisory("RLSA-2023:1", "1:3.0.7-20.el9", true),
                ],
            )]),
        };
        let p = pending(&installed, &catalog, dnf::compare);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].candidate, "1:3.0.7-28.el9_4");
        assert_eq!(p[0].advisories, ["RLSA-2024:3501"]);
        assert!(p[0].security);
        assert_eq!(format_time(1_732_185_000).unwrap(), "2024-11-21 10:30:00");
    }
}
