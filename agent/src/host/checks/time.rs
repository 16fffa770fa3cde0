//! Time synchronisation: chrony, systemd-timesyncd or ntpd configured with servers, and the
//! synchronised state where the host shows it.

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

/// What the host shows of its synchronisation state: systemd-timesyncd's flag file, chrony's
/// drift file age.
fn synchronised(cx: &Context<'_>) -> String {
    if cx.root.path("/run/systemd/timesync/synchronized").exists() {
        return "; systemd-timesyncd reports synchronised".into();
    }
    let drift = cx
        .root
        .path("/var/lib/chrony/drift")
        .metadata()
        .and_then(|m| m.modified());
    match drift.map(|t| std::time::SystemTime::now().duration_since(t).unwrap_or_default()) {
        Ok(age) => format!("; chrony drift file updated {} h ago", age.as_secs() / 3600),
        Err(_) => String::new(),
    }
}

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
            return CheckResult::new(
                ID,
                REQ,
                Pass,
                format!("time source configured in {path}{}", synchronised(cx)),
            )
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
