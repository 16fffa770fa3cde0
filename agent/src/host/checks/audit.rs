//! The audit subsystem: auditd installed with rules, and running where that can be seen.

use super::{CheckResult, Context};
use crate::host::root::ReadError;
use shoko_proto::CheckOutcome::{Fail, Pass, Unknown};

/// auditd with at least one watch or syscall rule (EVENT 1.1).
pub fn subsystem(cx: &Context<'_>) -> CheckResult {
    const ID: &str = "audit.rules_present";
    const REQ: &[&str] = &["EVENT 1.1"];
    if !cx.installed("auditd") && !cx.installed("audit") {
        return CheckResult::new(ID, REQ, Fail, "auditd is not installed");
    }
    let mut files = vec!["/etc/audit/audit.rules".to_owned()];
    match cx.root.files_checked("/etc/audit/rules.d", &[".rules"]) {
        Ok(rules) => files.extend(rules),
        Err(e) => return CheckResult::new(ID, REQ, Unknown, format!("{e}: needs root")),
    }
    for path in &files {
        let text = match cx.root.read(path) {
            Ok(t) => t,
            Err(e @ ReadError::Unreadable(..)) => {
                return CheckResult::new(ID, REQ, Unknown, format!("{e}: needs root"));
            }
            Err(_) => continue,
        };
        if let Some(l) = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("-w ") || l.starts_with("-a "))
        {
            let (outcome, why) = if cx.stopped("auditd.service") {
                (
                    Fail,
                    "auditd installed with rules, but auditd.service is not running",
                )
            } else {
                (Pass, "auditd installed with rules")
            };
            return CheckResult::new(ID, REQ, outcome, why).with_file(cx.evidence(path, Some(l.to_owned())));
        }
    }
    CheckResult::new(ID, REQ, Fail, "auditd installed but no audit rule configured")
}
