//! Portable media: whether the USB mass-storage driver is blocked by modprobe policy
//! (`install usb-storage /bin/false` or `blacklist usb-storage` in `/etc/modprobe.d`).

use super::{CheckResult, Context};
use shoko_proto::CheckOutcome::{Fail, Pass};

/// USB mass storage blocked by policy (COMP 1.2).
pub fn usb_storage(cx: &Context<'_>) -> CheckResult {
    const ID: &str = "media.usb_storage_blocked";
    const REQ: &[&str] = &["COMP 1.2"];
    for path in cx.root.files("/etc/modprobe.d", &[".conf"]) {
        let Ok(text) = cx.root.read(&path) else { continue };
        let decisive = text.lines().map(str::trim).find(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let module = f.get(1).map(|m| m.replace('-', "_"));
            match (f.first(), module.as_deref()) {
                (Some(&"blacklist"), Some("usb_storage")) => true,
                (Some(&"install"), Some("usb_storage")) => f
                    .get(2)
                    .is_some_and(|c| c.ends_with("/false") || c.ends_with("/true")),
                _ => false,
            }
        });
        if let Some(line) = decisive {
            return CheckResult::new(
                ID,
                REQ,
                Pass,
                "the usb-storage module is blocked by modprobe policy",
            )
            .with_file(cx.evidence(&path, Some(line.to_owned())));
        }
    }
    CheckResult::new(ID, REQ, Fail, "no modprobe policy blocks the usb-storage module")
}
