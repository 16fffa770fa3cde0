//! The .deb packages: `deploy/package.sh` builds them (here from the dev build), and they install
//! into a throwaway root with `dpkg --root`: binaries, units and configurations land where
//! deploy/README.md says, the configurations are conffiles, the postinst creates the system users
//! in that root, and the installed binaries run. Skips, saying why, without dpkg.

use shoko_tests::*;
use std::path::Path;
use std::process::Command;

/// The files and directories a package holds, as `dpkg-deb --contents` lists them (`./usr/bin/x`).
fn contents(deb: &Path) -> Vec<String> {
    command_ok(Command::new("dpkg-deb").arg("--contents").arg(deb))
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5).map(str::to_owned))
        .filter(|p| !p.ends_with('/'))
        .collect()
}

#[test]
fn packages_build_and_install_into_a_throwaway_root() {
    if Command::new("dpkg").arg("--version").output().is_err() {
        eprintln!("SKIPPED: dpkg is not installed");
        return;
    }
    let debs = build_packages();
    assert_eq!(debs.len(), 2, "{debs:?}");
    let (agent, collector) = (debs[0].as_path(), debs[1].as_path());
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        agent.ends_with(format!("shoko-agent_{version}-1_amd64.deb")),
        "{debs:?}"
    );
    assert!(
        collector.ends_with(format!("shoko-collector_{version}-1_amd64.deb")),
        "{debs:?}"
    );

    let mut files = contents(agent);
    files.sort();
    assert!(files.contains(&"./usr/share/doc/shoko-agent/copyright".to_owned()));
    files.retain(|f| !f.starts_with("./usr/share/doc/shoko-agent/c"));
    assert_eq!(
        files,
        [
            "./etc/shoko/host-agent.toml",
            "./etc/shoko/sensor.toml",
            "./lib/systemd/system/shoko-host-agent.service",
            "./lib/systemd/system/shoko-sensor.service",
            "./usr/bin/shoko-agent",
            "./usr/lib/shoko-agent/system-user",
            "./usr/share/doc/shoko-agent/examples/agent.toml",
        ]
    );
    let info = command_ok(Command::new("dpkg-deb").arg("--field").arg(agent).arg("Depends"));
    assert!(info.contains("passwd") && info.contains("libc6"), "{info}");

    // A root with an empty package database and only root in its user database.
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    for dir in ["etc", "var/lib/dpkg/info", "var/lib/dpkg/updates"] {
        std::fs::create_dir_all(r.join(dir)).unwrap();
    }
    std::fs::write(r.join("var/lib/dpkg/status"), "").unwrap();
    std::fs::write(r.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::fs::write(r.join("etc/group"), "root:x:0:\n").unwrap();
    command_ok(
        Command::new("dpkg")
            .arg(format!("--root={}", r.display()))
            .args([
                "--force-not-root",
                "--force-depends",
                "--force-script-chrootless",
                "--log=/dev/null",
                "-i",
            ])
            .args([agent, collector]),
    );

    let status = command_ok(
        Command::new("dpkg-query")
            .arg(format!("--admindir={}", r.join("var/lib/dpkg").display()))
            .args(["-W", "-f", "${Package} ${Status}\n"]),
    );
    assert_eq!(
        status,
        "shoko-agent install ok installed\nshoko-collector install ok installed\n"
    );
    // Units and configurations land as shipped in deploy/.
    for (installed, shipped) in [
        (
            "lib/systemd/system/shoko-sensor.service",
            "deploy/systemd/shoko-sensor.service",
        ),
        (
            "lib/systemd/system/shoko-host-agent.service",
            "deploy/systemd/shoko-host-agent.service",
        ),
        (
            "lib/systemd/system/shoko-collector.service",
            "deploy/systemd/shoko-collector.service",
        ),
        ("etc/shoko/sensor.toml", "deploy/sensor.toml"),
        ("etc/shoko/host-agent.toml", "deploy/host-agent.toml"),
        (
            "usr/share/doc/shoko-collector/examples/zones.toml",
            "deploy/zones.toml",
        ),
        (
            "usr/share/doc/shoko-collector/examples/collector-postgres.toml",
            "deploy/collector-postgres.toml",
        ),
    ] {
        assert_eq!(
            std::fs::read(r.join(installed)).unwrap(),
            std::fs::read(workspace().join(shipped)).unwrap(),
            "{installed}"
        );
    }
    // The configurations are conffiles: an upgrade keeps the operator's edits.
    assert_eq!(
        std::fs::read_to_string(r.join("var/lib/dpkg/info/shoko-agent.conffiles")).unwrap(),
        "/etc/shoko/sensor.toml\n/etc/shoko/host-agent.toml\n"
    );
    // The postinst made the units' system users in that root, not here.
    let passwd = std::fs::read_to_string(r.join("etc/passwd")).unwrap();
    let users: Vec<(&str, &str, &str)> = passwd
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f[0], f[5], f[6])
        })
        .collect();
    assert_eq!(
        users,
        [
            ("shoko-agent", "/var/lib/shoko-agent", "/usr/sbin/nologin"),
            ("shoko", "/var/lib/shoko", "/usr/sbin/nologin"),
        ]
    );
    // The installed binaries run.
    for binary in ["shoko-agent", "shoko-collector"] {
        let version_line = command_ok(Command::new(r.join("usr/bin").join(binary)).arg("--version"));
        assert_eq!(version_line, format!("{binary} {version}\n"));
    }
}
