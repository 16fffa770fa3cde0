//! The running kernel (`/proc/sys/kernel/osrelease`) against the newest installed one (the
//! release directories of `/lib/modules` and `/usr/lib/modules`, which every distribution's kernel
//! package creates), ordered as RPM orders versions (numeric and alphabetic segments), which
//! orders the release strings of Debian, RHEL and Alpine kernels alike.

use crate::host::root::HostRoot;
use serde::Serialize;
use std::cmp::Ordering;

/// The running and the newest installed kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelState {
    /// Release of the running kernel.
    pub running: String,
    /// Release of the newest installed kernel.
    pub newest_installed: String,
    /// Every installed kernel release, oldest first.
    pub installed: Vec<String>,
    /// True when a newer kernel is installed than the one running (a reboot finishes the update).
    pub outdated: bool,
}

/// Orders two kernel release strings.
pub fn compare(a: &str, b: &str) -> Ordering {
    rpm_version::rpm_evr_compare(a, b)
}

/// The kernel state; `None` when the running release or the installed kernels cannot be read
/// (a container shares its host's kernel and has no modules directory).
pub fn state(root: &HostRoot) -> Option<KernelState> {
    let running = root.read("/proc/sys/kernel/osrelease").ok()?.trim().to_owned();
    let mut installed: Vec<String> = ["/lib/modules", "/usr/lib/modules"]
        .iter()
        .flat_map(|d| root.list(d))
        .filter(|n| n.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    installed.sort_by(|a, b| compare(a, b));
    installed.dedup();
    let newest = installed.last()?.clone();
    Some(KernelState {
        outdated: compare(&newest, &running) == Ordering::Greater,
        running,
        newest_installed: newest,
        installed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_releases_order_numerically() {
        assert_eq!(compare("6.1.0-31-amd64", "6.1.0-28-amd64"), Ordering::Greater);
        assert_eq!(compare("6.1.0-9-amd64", "6.1.0-10-amd64"), Ordering::Less);
        assert_eq!(
            compare("5.14.0-427.42.1.el9_4.x86_64", "5.14.0-427.13.1.el9_4.x86_64"),
            Ordering::Greater
        );
        assert_eq!(compare("6.6.58-0-lts", "6.6.58-0-lts"), Ordering::Equal);
    }
}
