//! Configuration checks: each has a stable id, the IEC 62443-2-1 requirement ids it serves, an
//! outcome (pass, fail, unknown with the reason, not applicable), and the file, excerpt and SHA-256
//! that decided it. One module per subject.

pub mod audit;
pub mod firewall;
pub mod logs;
pub mod malware;
pub mod media;
pub mod network;
pub mod services;
pub mod signatures;
pub mod ssh;
pub mod time;
pub mod wireless;

use super::packages::Package;
use super::root::HostRoot;
use super::sockets::ListeningSocket;
use super::units::Unit;
use serde::Serialize;
use shoko_proto::{CheckOutcome, Sha256Digest};

/// The file that decided a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileEvidence {
    /// Path on the host.
    pub path: String,
    /// SHA-256 of the whole file.
    pub sha256: Sha256Digest,
    /// The line(s) that decided, when a line did.
    pub excerpt: Option<String>,
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// Stable id (`ssh.permit_root_login`).
    pub id: &'static str,
    /// Requirement ids served (`COMP 1.1`).
    pub requirements: &'static [&'static str],
    /// Outcome.
    pub outcome: CheckOutcome,
    /// Why, in one sentence.
    pub reason: String,
    /// Files that decided it.
    pub files: Vec<FileEvidence>,
}

impl CheckResult {
    /// A result without file evidence.
    pub fn new(
        id: &'static str,
        requirements: &'static [&'static str],
        outcome: CheckOutcome,
        reason: impl Into<String>,
    ) -> Self {
        CheckResult {
            id,
            requirements,
            outcome,
            reason: reason.into(),
            files: Vec::new(),
        }
    }

    /// Adds the file that decided the result, when it could be read.
    pub fn with_file(mut self, f: Option<FileEvidence>) -> Self {
        self.files.extend(f);
        self
    }
}

/// What the checks look at.
pub struct Context<'a> {
    /// The host's files.
    pub root: &'a HostRoot,
    /// Installed packages.
    pub packages: &'a [Package],
    /// Listening sockets.
    pub listening: &'a [ListeningSocket],
    /// systemd units enabled or running.
    pub units: &'a [Unit],
}

impl Context<'_> {
    /// True when a package of that name is installed (not merely configured).
    pub fn installed(&self, name: &str) -> bool {
        self.packages.iter().any(|p| p.name == name && p.state.is_none())
    }

    /// The units whose names contain one of `parts`, each as `name (enabled, running)`.
    pub fn units_matching(&self, parts: &[&str]) -> Vec<String> {
        self.units
            .iter()
            .filter(|u| parts.iter().any(|p| u.name.contains(p)))
            .map(|u| {
                let running = match u.running {
                    Some(true) => "running",
                    Some(false) => "not running",
                    None => "running unknown",
                };
                let enabled = if u.enabled { "enabled" } else { "not enabled" };
                format!("{} ({enabled}, {running})", u.name)
            })
            .collect()
    }

    /// True when a unit of that name is known not to be running.
    pub fn stopped(&self, unit: &str) -> bool {
        self.units
            .iter()
            .any(|u| u.name == unit && u.running == Some(false))
            || (self.root.path("/run/systemd/units").is_dir() && !self.units.iter().any(|u| u.name == unit))
    }

    /// The first line of `files` (trimmed, not a `#` comment) that `wanted` accepts, with its file;
    /// files that cannot be read are passed over.
    pub fn first_line<'f>(
        &self,
        files: &'f [String],
        wanted: impl Fn(&str) -> bool,
    ) -> Option<(&'f str, String)> {
        files.iter().find_map(|path| {
            let text = self.root.read(path).ok()?;
            let line = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.starts_with('#'))
                .find(|l| wanted(l))?
                .to_owned();
            Some((path.as_str(), line))
        })
    }

    /// Evidence of a file under the root: its digest and an optional excerpt.
    pub fn evidence(&self, path: &str, excerpt: Option<String>) -> Option<FileEvidence> {
        let bytes = self.root.read_bytes(path).ok()?;
        Some(FileEvidence {
            path: path.to_owned(),
            sha256: Sha256Digest::of(&bytes),
            excerpt,
        })
    }
}

/// Runs every check.
pub fn run_all(cx: &Context<'_>) -> Vec<CheckResult> {
    let mut out = Vec::new();
    out.extend(ssh::checks(cx));
    out.push(services::insecure_servers(cx));
    out.push(services::remote_access(cx));
    out.push(media::usb_storage(cx));
    out.push(signatures::package_signatures(cx));
    out.push(time::synchronisation(cx));
    out.push(logs::permissions(cx));
    out.push(logs::forwarding(cx));
    out.push(firewall::default_deny(cx));
    out.push(malware::protection(cx));
    out.push(malware::recent_scan(cx));
    out.push(audit::subsystem(cx));
    out.push(wireless::security(cx));
    out.push(network::default_route(cx));
    out
}
