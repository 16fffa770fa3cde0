//! Host inventory: the machine the agent runs on (or a mounted disk image), read from files under
//! a root directory — system facts, installed packages (dpkg, rpm, apk), listening sockets — one
//! module per source.
//! What cannot be read is listed with the reason, never a failure of the whole inventory.

pub mod checks;
pub mod delta;
pub mod observations;
pub mod packages;
pub mod patches;
pub mod root;
pub mod sockets;
pub mod system;
pub mod units;

use packages::Package;
use root::HostRoot;
use serde::Serialize;
use shoko_proto::HostFacts;
use sockets::ListeningSocket;

/// A fact that could not be established, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unknown {
    /// What was being read (`packages.dpkg`, `system.hostname` ...).
    pub source: String,
    /// Why it could not be (file missing, unreadable, garbage ...).
    pub reason: String,
}

impl Unknown {
    /// An unknown with its reason.
    pub fn new(source: &str, reason: &dyn std::fmt::Display) -> Self {
        Unknown {
            source: source.to_owned(),
            reason: reason.to_string(),
        }
    }
}

/// One inventory snapshot of a host.
#[derive(Debug, Clone, Serialize)]
pub struct HostInventory {
    /// System facts.
    pub system: HostFacts,
    /// Installed packages of every package manager found.
    pub packages: Vec<Package>,
    /// Listening sockets.
    pub listening: Vec<ListeningSocket>,
    /// systemd units enabled or running.
    pub units: Vec<units::Unit>,
    /// Patch state, from the native package manager's local indexes.
    pub patches: Option<patches::PatchState>,
    /// Configuration checks.
    pub checks: Vec<checks::CheckResult>,
    /// What could not be read, and why.
    pub unknown: Vec<Unknown>,
}

/// A source of host inventories. The Linux collectors read a filesystem root; a Windows
/// implementation (registry uninstall keys, hotfixes, Defender, firewall profiles) is another
/// implementation of this trait, with its own fixtures.
pub trait HostSource: Send + Sync {
    /// What is inventoried, for logs (`/`, `/mnt/image` ...).
    fn describe(&self) -> String;
    /// Takes one inventory snapshot.
    fn inventory(&self) -> HostInventory;
}

/// A Linux host (or a mounted Linux disk image) under a root directory.
#[derive(Debug, Clone)]
pub struct LinuxHost(pub HostRoot);

impl HostSource for LinuxHost {
    fn describe(&self) -> String {
        self.0.display()
    }

    fn inventory(&self) -> HostInventory {
        inventory(&self.0)
    }
}

/// Takes an inventory of the host under `root`.
pub fn inventory(root: &HostRoot) -> HostInventory {
    let mut unknown = Vec::new();
    let system = system::collect(root, &mut unknown);
    let packages = installed(root, &mut unknown);
    let listening = sockets::collect(root);
    // SAFETY: geteuid has no preconditions.
    let privileged = unsafe { libc::geteuid() } == 0;
    if root.is_live() && !privileged && listening.iter().any(|s| s.process.is_none()) {
        unknown.push(Unknown::new(
            "sockets.owners",
            &"the processes of other users' sockets are not visible: needs root",
        ));
    }
    let units = units::collect(root);
    let patches = patches::collect(root, &packages, &mut unknown);
    let checks = checks::run_all(&checks::Context {
        root,
        packages: &packages,
        listening: &listening,
        units: &units,
    });
    HostInventory {
        system,
        packages,
        listening,
        units,
        patches,
        checks,
        unknown,
    }
}

/// What one package database gave: `None` when absent, else its packages and how many of its
/// records were unusable, or why it could not be read.
type Source = Option<Result<(Vec<Package>, usize), String>>;

/// A package database read whole as text and parsed by `parse`.
fn text_source(root: &HostRoot, path: &str, parse: impl Fn(&str) -> (Vec<Package>, usize)) -> Source {
    match root.read(path) {
        Ok(text) => Some(Ok(parse(&text))),
        Err(root::ReadError::Missing(_)) => None,
        Err(e) => Some(Err(e.to_string())),
    }
}

/// The RPM database: the SQLite backend read here; the older backends (Berkeley DB `Packages` of
/// RPM < 4.16, ndb `Packages.db`) through the host's own `rpm -qa` on the running system (never
/// on an image: another system's rpm could rewrite its database).
fn rpm_source(root: &HostRoot, distro: (&str, &str)) -> Source {
    let sqlite = root.path("/var/lib/rpm/rpmdb.sqlite");
    if sqlite.exists() {
        return Some(packages::rpm::read(&sqlite, distro));
    }
    let other = ["/var/lib/rpm/Packages", "/var/lib/rpm/Packages.db"]
        .into_iter()
        .find(|p| root.path(p).exists())?;
    let unread = |why: &str| Err(format!("{other}: Berkeley DB or ndb RPM database, {why}"));
    if !root.is_live() {
        return Some(unread("read only by the imaged system's own rpm tool"));
    }
    Some(packages::rpm::query(distro).unwrap_or_else(|| unread("and the rpm tool is not installed")))
}

/// The packages of each package manager whose database is present.
fn installed(root: &HostRoot, unknown: &mut Vec<Unknown>) -> Vec<Package> {
    let os = system::os_release(root).unwrap_or_default();
    let id = os.get("ID").map_or("linux", String::as_str);
    let version = os.get("VERSION_ID").map_or("", String::as_str);
    let sources = [
        (
            "packages.dpkg",
            "record",
            text_source(root, "/var/lib/dpkg/status", |t| {
                packages::dpkg::parse(t, (id, version))
            }),
        ),
        (
            "packages.apk",
            "record",
            text_source(root, "/lib/apk/db/installed", |t| {
                packages::apk::parse(t, version)
            }),
        ),
        ("packages.rpm", "header", rpm_source(root, (id, version))),
    ];
    let mut all = Vec::new();
    let mut found = false;
    for (source, unit, result) in sources {
        match result {
            None => {}
            Some(Ok((pkgs, bad))) => {
                found = true;
                if bad > 0 {
                    unknown.push(Unknown::new(source, &format!("{bad} unusable {unit}(s) skipped")));
                }
                all.extend(pkgs);
            }
            Some(Err(e)) => {
                found = true;
                unknown.push(Unknown::new(source, &e));
            }
        }
    }
    if !found {
        unknown.push(Unknown::new(
            "packages",
            &"no package database found (dpkg, apk, rpm)",
        ));
    }
    all
}
