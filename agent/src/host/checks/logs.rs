//! Log file permissions: nothing under `/var/log` writable by everyone.

use super::{CheckResult, Context};
use shoko_proto::CheckOutcome::{Fail, Pass, Unknown};
use std::os::unix::fs::PermissionsExt;

/// Most entries examined under `/var/log`.
const MAX_ENTRIES: usize = 10_000;

/// No world-writable log files or directories (EVENT 1.6).
pub fn permissions(cx: &Context<'_>) -> CheckResult {
    const ID: &str = "logs.not_world_writable";
    const REQ: &[&str] = &["EVENT 1.6"];
    let base = cx.root.path("/var/log");
    if !base.is_dir() {
        return CheckResult::new(ID, REQ, Unknown, "/var/log: not present");
    }
    let mut stack = vec![base.clone()];
    let mut seen = 0;
    let mut bad = Vec::new();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                break;
            }
            let Ok(meta) = e.path().symlink_metadata() else {
                continue;
            };
            let sticky_dir = meta.is_dir() && meta.permissions().mode() & 0o1000 != 0;
            if meta.permissions().mode() & 0o002 != 0 && !meta.file_type().is_symlink() && !sticky_dir {
                let rel = e
                    .path()
                    .strip_prefix(&base)
                    .map(|p| format!("/var/log/{}", p.display()))
                    .unwrap_or_default();
                bad.push(rel);
            }
            if meta.is_dir() {
                stack.push(e.path());
            }
        }
    }
    bad.sort();
    if bad.is_empty() {
        CheckResult::new(
            ID,
            REQ,
            Pass,
            format!("no world-writable entry among {seen} under /var/log"),
        )
    } else {
        CheckResult::new(ID, REQ, Fail, format!("world-writable: {}", bad.join(", ")))
    }
}
