//! systemd units: enabled ones from the `*.wants`/`*.requires` symlinks under
//! `/etc/systemd/system` (what `systemctl enable` writes), running ones from the
//! `/run/systemd/units/invocation:<unit>` entries systemd keeps for every active unit (absent on
//! an offline image: running is then unknown).

use super::root::HostRoot;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

const ENABLED: &str = "/etc/systemd/system";
const ACTIVE: &str = "/run/systemd/units";

/// One service, socket or timer unit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Unit {
    /// Unit name (`sshd.service`).
    pub name: String,
    /// Enabled to start at boot.
    pub enabled: bool,
    /// Running now; `None` when not known (offline image).
    pub running: Option<bool>,
}

/// True for the unit kinds worth listing (services, sockets, timers).
fn listed(name: &str) -> bool {
    [".service", ".socket", ".timer"]
        .iter()
        .any(|k| name.ends_with(k))
}

/// The enabled and running units.
pub fn collect(root: &HostRoot) -> Vec<Unit> {
    let mut enabled = BTreeSet::new();
    for dir in root.list(ENABLED) {
        if dir.ends_with(".wants") || dir.ends_with(".requires") {
            enabled.extend(
                root.list(&format!("{ENABLED}/{dir}"))
                    .into_iter()
                    .filter(|n| listed(n)),
            );
        }
    }
    let live = root.path(ACTIVE).is_dir();
    let active: BTreeSet<String> = root
        .list(ACTIVE)
        .into_iter()
        .filter_map(|n| n.strip_prefix("invocation:").map(str::to_owned))
        .filter(|n| listed(n))
        .collect();
    let mut units: BTreeMap<String, Unit> = BTreeMap::new();
    for name in enabled.iter().chain(&active) {
        units.entry(name.clone()).or_insert_with(|| Unit {
            name: name.clone(),
            enabled: enabled.contains(name),
            running: live.then(|| active.contains(name)),
        });
    }
    units.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enabled_and_running() {
        let dir = tempfile::tempdir().unwrap();
        let wants = dir.path().join("etc/systemd/system/multi-user.target.wants");
        std::fs::create_dir_all(&wants).unwrap();
        std::fs::write(wants.join("ssh.service"), "").unwrap();
        std::fs::write(wants.join("remote-fs.target"), "").unwrap();
        let root = HostRoot::new(dir.path());
        assert_eq!(
            collect(&root),
            [Unit {
                name: "ssh.service".into(),
                enabled: true,
                running: None
            }]
        );
        let run = dir.path().join("run/systemd/units");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join("invocation:cron.service"), "").unwrap();
        let units = collect(&root);
        assert_eq!(units.len(), 2);
        assert_eq!(
            (units[0].name.as_str(), units[0].running),
            ("cron.service", Some(true))
        );
        assert_eq!((units[1].enabled, units[1].running), (true, Some(false)));
    }
}
