//! Package signature enforcement: APT sources marked `trusted=yes` or `AllowUnauthenticated`, and
//! yum/dnf repositories with `gpgcheck=0`.

use super::{CheckResult, Context};
use shoko_proto::CheckOutcome::{Fail, NotApplicable, Pass};

/// Package managers verify signatures (COMP 3.1).
pub fn package_signatures(cx: &Context<'_>) -> CheckResult {
    const ID: &str = "packages.signatures_enforced";
    const REQ: &[&str] = &["COMP 3.1"];
    let mut files: Vec<String> = Vec::new();
    for (dir, suffixes) in [
        ("/etc/apt/sources.list.d", &[".list", ".sources"][..]),
        ("/etc/apt/apt.conf.d", &[""][..]),
        ("/etc/yum.repos.d", &[".repo"][..]),
    ] {
        files.extend(cx.root.files(dir, suffixes));
    }
    for f in ["/etc/apt/sources.list", "/etc/dnf/dnf.conf", "/etc/yum.conf"] {
        if cx.root.path(f).exists() {
            files.push(f.to_owned());
        }
    }
    if files.is_empty() {
        return CheckResult::new(ID, REQ, NotApplicable, "no APT or yum/dnf configuration");
    }
    let bad = cx.first_line(&files, |l| {
        let lower = l.to_ascii_lowercase().replace(' ', "");
        lower.contains("trusted=yes")
            || lower.contains("allowunauthenticated\"true\"")
            || lower.contains("allowunauthenticated\"1\"")
            || lower.starts_with("gpgcheck=0")
    });
    if let Some((path, line)) = bad {
        return CheckResult::new(ID, REQ, Fail, format!("{path}: signature checking disabled"))
            .with_file(cx.evidence(path, Some(line)));
    }
    CheckResult::new(
        ID,
        REQ,
        Pass,
        format!(
            "no repository disables signature checks ({} files read)",
            files.len()
        ),
    )
}
