//! The systemd units in `deploy/systemd/` pass `systemd-analyze verify` without a warning (with
//! their ExecStart pointed at the binaries just built), and keep the hardening the operator guide
//! promises: a dedicated user, a read-only system but for the data or spool directory, no new
//! privileges, the sensor with only CAP_NET_RAW and CAP_NET_ADMIN, the agents bounded in memory
//! and CPU.

use shoko_tests::*;
use std::collections::BTreeMap;
use std::process::Command;

/// The `Key=value` lines of a unit (a key given twice keeps both values, space-joined).
fn directives(text: &str) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('['))
    {
        if let Some((k, v)) = line.split_once('=') {
            let e = out.entry(k.to_owned()).or_default();
            if !e.is_empty() {
                e.push(' ');
            }
            e.push_str(v);
        }
    }
    out
}

#[test]
fn units_verify_and_keep_their_hardening() {
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        eprintln!("SKIPPED: systemd-analyze is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let units = [
        "shoko-collector.service",
        "shoko-sensor.service",
        "shoko-host-agent.service",
    ];
    for unit in units {
        let text = std::fs::read_to_string(workspace().join("deploy/systemd").join(unit)).unwrap();
        let d = directives(&text);
        for (key, want) in [
            ("ProtectSystem", "strict"),
            ("NoNewPrivileges", "yes"),
            ("PrivateTmp", "yes"),
            ("Restart", "on-failure"),
        ] {
            assert_eq!(d.get(key).map(String::as_str), Some(want), "{unit}: {key}");
        }
        let (user, writable, caps) = (&d["User"], &d["ReadWritePaths"], &d["CapabilityBoundingSet"]);
        match unit {
            "shoko-collector.service" => {
                assert_eq!(
                    (user.as_str(), writable.as_str(), caps.as_str()),
                    ("shoko", "/var/lib/shoko", "")
                );
                assert!(d["ExecStart"].ends_with("serve --data /var/lib/shoko"));
            }
            _ => {
                assert_eq!(
                    (user.as_str(), writable.as_str()),
                    ("shoko-agent", "/var/lib/shoko-agent")
                );
                assert!(
                    d.contains_key("MemoryMax") && d.contains_key("CPUQuota"),
                    "{unit}"
                );
            }
        }
        if unit == "shoko-sensor.service" {
            assert_eq!(caps, "CAP_NET_RAW CAP_NET_ADMIN");
            assert_eq!(d["AmbientCapabilities"], "CAP_NET_RAW CAP_NET_ADMIN");
        }
        // Verify with the binaries of this build in place of /usr/bin.
        let local = text
            .replace(
                "/usr/bin/shoko-collector",
                bin("shoko-collector").to_str().unwrap(),
            )
            .replace("/usr/bin/shoko-agent", bin("shoko-agent").to_str().unwrap());
        let path = dir.path().join(unit);
        std::fs::write(&path, local).unwrap();
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{unit}: {stderr}");
        let about_it: Vec<&str> = stderr.lines().filter(|l| l.contains(unit)).collect();
        assert!(about_it.is_empty(), "{unit}: {about_it:#?}");
    }
}
