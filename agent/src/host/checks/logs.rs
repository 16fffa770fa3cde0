//! Logs: nothing under `/var/log` writable by everyone, and logs forwarded to a remote collector
//! (rsyslog, syslog-ng, systemd-journal-upload).

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

/// Logs are forwarded to a remote target (EVENT 1.4).
pub fn forwarding(cx: &Context<'_>) -> CheckResult {
    const ID: &str = "logs.forwarded";
    const REQ: &[&str] = &["EVENT 1.4"];
    let mut files = vec![
        "/etc/rsyslog.conf".to_owned(),
        "/etc/syslog-ng/syslog-ng.conf".to_owned(),
    ];
    for dir in ["/etc/rsyslog.d", "/etc/syslog-ng/conf.d"] {
        files.extend(cx.root.files(dir, &[".conf"]));
    }
    let target = cx.first_line(&files, |l| {
        // rsyslog legacy "*.* @@host:514" / "@host", RainerScript omfwd, syslog-ng network().
        l.split_whitespace().nth(1).is_some_and(|t| t.starts_with('@'))
            || l.contains("type=\"omfwd\"")
            || (l.starts_with("destination")
                && (l.contains("network(")
                    || l.contains("tcp(")
                    || l.contains("udp(")
                    || l.contains("syslog(")))
    });
    if let Some((path, l)) = target {
        return CheckResult::new(ID, REQ, Pass, format!("logs forwarded ({path})"))
            .with_file(cx.evidence(path, Some(l)));
    }
    let upload = ["/etc/systemd/journal-upload.conf".to_owned()];
    if let Some((path, l)) = cx.first_line(&upload, |l| l.starts_with("URL=") && l.len() > 4) {
        return CheckResult::new(ID, REQ, Pass, "journal uploaded (systemd-journal-upload)")
            .with_file(cx.evidence(path, Some(l)));
    }
    CheckResult::new(
        ID,
        REQ,
        Fail,
        "no remote log target configured (rsyslog, syslog-ng, journal-upload)",
    )
}
