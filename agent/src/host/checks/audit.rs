//! The audit subsystem: auditd installed with rules.

use super::{CheckResult, Context};
use shoko_proto::CheckOutcome::{Fail, Pass};

/// auditd with at least one watch or syscall rule (EVENT 1.1).
pub fn subsystem(cx: &Context<'_>) -> CheckResult {
    const ID: &str = "audit.rules_present";
    const REQ: &[&str] = &["EVENT 1.1"];
    if !cx.installed("auditd") && !cx.installed("audit") {
        return CheckResult::new(ID, REQ, Fail, "auditd is not installed");
    }
    let mut files = vec!["/etc/audit/audit.rules".to_owned()];
    files.extend(cx.root.files("/etc/audit/rules.d", &[".rules"]));
    for path in &files {
        let Ok(text) = cx.root.read(path) else { continue };
        if let Some(l) = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("-w ") || l.starts_with("-a "))
        {
            return CheckResult::new(ID, REQ, Pass, "auditd installed with rules")
                .with_file(cx.evidence(path, Some(l.to_owned())));
        }
    }
    CheckResult::new(ID, REQ, Fail, "auditd installed but no audit rule configured")
}
