//! Portable media: whether the USB mass-storage driver is blocked by modprobe policy
//! (`install usb-storage /bin/false` or `blacklist usb-storage` in `/etc/modprobe.d`), whether it
//! is loaded now (`/proc/modules`) and which mass-storage devices are attached (the interfaces
//! bound to the driver in `/sys/bus/usb/drivers/usb-storage`).

use super::{CheckResult, Context};
use shoko_proto::CheckOutcome::{Fail, Pass};

/// Interfaces bound to the usb-storage driver (`1-1.2:1.0`).
fn attached(cx: &Context<'_>) -> Vec<String> {
    cx.root
        .list("/sys/bus/usb/drivers/usb-storage")
        .into_iter()
        .filter(|n| n.contains(':') && n.starts_with(|c: char| c.is_ascii_digit()))
        .collect()
}

/// The modprobe line that blocks the driver, with its file.
fn blocking_policy(cx: &Context<'_>) -> Option<(String, String)> {
    let files = cx.root.files("/etc/modprobe.d", &[".conf"]);
    let (path, line) = cx.first_line(&files, |l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let module = f.get(1).map(|m| m.replace('-', "_"));
        match (f.first(), module.as_deref()) {
            (Some(&"blacklist"), Some("usb_storage")) => true,
            (Some(&"install"), Some("usb_storage")) => f
                .get(2)
                .is_some_and(|c| c.ends_with("/false") || c.ends_with("/true")),
            _ => false,
        }
    })?;
    Some((path.to_owned(), line))
}

/// USB mass storage blocked by policy, not loaded, no device attached (COMP 1.2).
pub fn usb_storage(cx: &Context<'_>) -> CheckResult {
    const ID: &str = "media.usb_storage_blocked";
    const REQ: &[&str] = &["COMP 1.2"];
    let loaded = cx
        .root
        .read("/proc/modules")
        .is_ok_and(|t| t.lines().any(|l| l.starts_with("usb_storage ")));
    let devices = attached(cx);
    let mut problems = Vec::new();
    if loaded {
        problems.push("the usb_storage module is loaded".to_owned());
    }
    if !devices.is_empty() {
        problems.push(format!("mass-storage devices attached: {}", devices.join(", ")));
    }
    match blocking_policy(cx) {
        Some((path, line)) if problems.is_empty() => CheckResult::new(
            ID,
            REQ,
            Pass,
            "the usb-storage module is blocked by modprobe policy",
        )
        .with_file(cx.evidence(&path, Some(line))),
        Some((path, line)) => CheckResult::new(
            ID,
            REQ,
            Fail,
            format!("blocked by modprobe policy, but {}", problems.join("; ")),
        )
        .with_file(cx.evidence(&path, Some(line))),
        None => {
            problems.insert(0, "no modprobe policy blocks the usb-storage module".to_owned());
            CheckResult::new(ID, REQ, Fail, problems.join("; "))
        }
    }
}
