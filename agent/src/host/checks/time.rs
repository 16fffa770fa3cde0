//! Time synchronisation: chrony, systemd-timesyncd or ntpd configured with servers.

use super::{CheckResult, Context};
use shoko_proto::CheckOutcome::{Fail, Pass};

/// (configuration file, line keywords naming a time source).
const SOURCES: &[(&str, &[&str])] = &[
    ("/etc/chrony/chrony.conf", &["server", "pool", "peer"]),
    ("/etc/chrony.conf", &["server", "pool", "peer"]),
    ("/etc/systemd/timesyncd.conf", &["NTP=", "FallbackNTP="]),
    ("/etc/ntp.conf", &["server", "pool"]),
    ("/etc/ntpsec/ntp.conf", &["server", "pool"]),
];

/// A time source is configured (NET 1.9, EVENT 1.5).
pub fn synchronisation(cx: &Context<'_>) -> CheckResult {
    const ID: &str = "time.synchronisation_configured";
    const REQ: &[&str] = &["NET 1.9", "EVENT 1.5"];
    for (path, keys) in SOURCES {
        let Ok(text) = cx.root.read(path) else { continue };
        let line = text.lines().map(str::trim).find(|l| {
            !l.starts_with('#')
                && keys.iter().any(|k| {
                    l.strip_prefix(k).is_some_and(|rest| {
                        k.ends_with('=') && !rest.trim().is_empty() || rest.starts_with([' ', '\t'])
                    })
                })
        });
        if let Some(l) = line {
            return CheckResult::new(ID, REQ, Pass, format!("time source configured in {path}"))
                .with_file(cx.evidence(path, Some(l.to_owned())));
        }
    }
    CheckResult::new(
        ID,
        REQ,
        Fail,
        "no time source configured (chrony, systemd-timesyncd, ntpd)",
    )
}
