//! `shoko-agent inventory`: fixture trees in the real formats (Debian 12 dpkg status stanzas taken
//! from a Debian 12 system, an Alpine 3.20 apk database, /proc tables) give exact inventories; on
//! the real machine the package count and the listening sockets match `dpkg-query` and `ss`;
//! missing, garbage and huge files give per-source unknowns, never a failure.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn inventory(root: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_shoko-agent"))
        .args(["inventory", "--root"])
        .arg(root)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn sha256_hex(path: &Path) -> String {
    shoko_proto::Sha256Digest::of(&std::fs::read(path).unwrap()).to_hex()
}

/// The entry of `list` (`packages`, `checks`, `unknown`) whose `key` is `value`.
fn entry<'a>(inv: &'a Value, list: &str, key: &str, value: &str) -> &'a Value {
    inv[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e[key] == value)
        .unwrap_or_else(|| panic!("no {list} entry with {key} {value}"))
}

/// The check `id` of an inventory.
fn check<'a>(inv: &'a Value, id: &str) -> &'a Value {
    entry(inv, "checks", "id", id)
}

fn unit_names(inv: &Value) -> Vec<&str> {
    inv["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect()
}

/// The pending updates of an inventory: (name, candidate, security, origin, advisories).
fn pending(inv: &Value) -> Vec<(String, String, bool, String, Vec<String>)> {
    inv["patches"]["pending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["name"].as_str().unwrap().to_owned(),
                u["candidate"].as_str().unwrap().to_owned(),
                u["security"].as_bool().unwrap(),
                u["origin"].as_str().unwrap().to_owned(),
                u["advisories"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

/// Every check id, in the order the inventory lists them.
const CHECKS: [&str; 16] = [
    "ssh.permit_root_login",
    "ssh.password_authentication",
    "ssh.idle_timeout",
    "services.cleartext_servers",
    "services.remote_access_software",
    "media.usb_storage_blocked",
    "packages.signatures_enforced",
    "time.synchronisation_configured",
    "logs.not_world_writable",
    "logs.forwarded",
    "firewall.default_deny_inbound",
    "malware.protection_current",
    "malware.recent_scan",
    "audit.rules_present",
    "wireless.enterprise_security",
    "network.no_default_route",
];

/// Asserts the checks of an inventory, in order: `expected` is the outcome of each of [`CHECKS`].
fn assert_outcomes(inv: &Value, expected: [&str; 16]) {
    let got: Vec<(&str, &str)> = inv["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["outcome"].as_str().unwrap()))
        .collect();
    let want: Vec<(&str, &str)> = CHECKS.into_iter().zip(expected).collect();
    assert_eq!(got, want);
}

fn packages(inv: &Value) -> Vec<(String, String, String)> {
    inv["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["version"].as_str().unwrap().to_owned(),
                p["purl"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn debian_fixture() {
    let inv = inventory(&fixture("debian12"));
    let sys = &inv["system"];
    assert_eq!(sys["hostname"], "hmi-01");
    assert_eq!(sys["os_name"], "Debian GNU/Linux");
    assert_eq!(sys["os_version"], "12");
    assert_eq!(sys["kernel"], "6.1.0-28-amd64");
    assert_eq!(sys["asset"]["host_id"], "4b6f1c9e2d3a4f5b8c7d6e5f4a3b2c1d");
    assert_eq!(
        sys["dns_servers"],
        serde_json::json!(["10.10.0.53", "10.10.0.54"])
    );
    assert_eq!(sys["default_gateways"], serde_json::json!(["10.10.10.1"]));
    let pkgs = packages(&inv);
    assert_eq!(pkgs.len(), 7);
    assert!(pkgs.contains(&(
        "openssh-client".into(),
        "1:9.2p1-2+deb12u6".into(),
        "pkg:deb/debian/openssh-client@1%3A9.2p1-2%2Bdeb12u6?arch=amd64&distro=debian-12&upstream=openssh".into()
    )));
    let telnetd = entry(&inv, "packages", "name", "telnetd");
    assert_eq!(telnetd["state"], "config-files");
    assert_eq!(telnetd["source"], "netkit-telnet");
    // Listening: sshd on all interfaces, PostgreSQL on loopback, NTP on UDP; the established
    // connection is not listening.
    let listening: BTreeSet<String> = inv["listening"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}:{} {}",
                s["transport"].as_str().unwrap(),
                s["address"].as_str().unwrap(),
                s["port"],
                s["loopback_only"]
            )
        })
        .collect();
    assert_eq!(
        listening,
        BTreeSet::from([
            "tcp 0.0.0.0:22 false".to_string(),
            "tcp 127.0.0.1:5432 true".to_string(),
            "udp 0.0.0.0:123 false".to_string()
        ])
    );
    // Configuration checks, with the file, line and digest that decided each.
    assert_outcomes(
        &inv,
        [
            "fail", "fail", "pass", "pass", "pass", "pass", "fail", "pass", "pass", "pass", "pass", "fail",
            "fail", "fail", "fail", "fail",
        ],
    );
    let check = |id: &str| check(&inv, id);
    let root_login = check("ssh.permit_root_login");
    assert_eq!(root_login["requirements"], serde_json::json!(["COMP 1.1"]));
    assert_eq!(root_login["files"][0]["excerpt"], "PermitRootLogin yes");
    assert_eq!(
        root_login["files"][0]["sha256"],
        sha256_hex(&fixture("debian12/etc/ssh/sshd_config"))
    );
    // The Match block's "PasswordAuthentication no" is for one user only: the global default stays.
    assert_eq!(
        check("ssh.password_authentication")["reason"],
        "PasswordAuthentication yes (the default)"
    );
    // The idle timeout comes from the included drop-in: 300 s x 2.
    let idle = check("ssh.idle_timeout");
    assert_eq!(idle["reason"], "idle sessions end after 600 s");
    assert_eq!(idle["files"][0]["path"], "/etc/ssh/sshd_config.d/50-plant.conf");
    assert_eq!(
        check("firewall.default_deny_inbound")["files"][0]["excerpt"],
        "type filter hook input priority filter; policy drop;"
    );
    assert_eq!(
        check("logs.forwarded")["files"][0]["excerpt"],
        "*.* @@10.10.0.5:514"
    );
    let wlan = check("wireless.enterprise_security");
    assert_eq!(
        wlan["reason"],
        "weak wireless security: maintenance-wlan.nmconnection: key-mgmt wpa-psk"
    );
    assert_eq!(
        wlan["files"][0]["path"],
        "/etc/NetworkManager/system-connections/maintenance-wlan.nmconnection"
    );
    let apt = check("packages.signatures_enforced");
    assert_eq!(
        apt["files"][0]["excerpt"],
        "deb [trusted=yes] http://hmi-vendor.example/debian bookworm main"
    );
    // Patch state from the fixture's APT indexes: the security origin's openssl/libssl3 and the
    // main archive's tzdata are newer; the main archive's libc6 and openssl are older.
    let patches = &inv["patches"];
    assert_eq!(
        (patches["tool"].as_str(), patches["indexes"].as_u64()),
        (Some("apt"), Some(2))
    );
    let security = "Debian stable-security".to_owned();
    assert_eq!(
        pending(&inv),
        [
            (
                "libssl3".into(),
                "3.0.19-1~deb12u3".into(),
                true,
                security.clone(),
                vec![]
            ),
            (
                "openssl".into(),
                "3.0.19-1~deb12u3".into(),
                true,
                security,
                vec![]
            ),
            (
                "tzdata".into(),
                "2025b-0+deb12u3".into(),
                false,
                "Debian stable".into(),
                vec![]
            ),
        ]
    );
    assert_eq!(patches["security_pending"], 2);
    assert_eq!(patches["last_package_operation"], "2025-11-20 06:25:14");
    assert_eq!(patches["reboot_required"], true);
    // Kernel 6.1.0-31 is installed, 6.1.0-28 runs.
    assert_eq!(
        patches["kernel"],
        serde_json::json!({"running": "6.1.0-28-amd64", "newest_installed": "6.1.0-31-amd64",
            "installed": ["6.1.0-28-amd64", "6.1.0-31-amd64"], "outdated": true})
    );
    // Enabled units from the *.wants symlinks (targets are not listed); running unknown offline.
    assert_eq!(
        unit_names(&inv),
        [
            "chrony.service",
            "nftables.service",
            "rsyslog.service",
            "ssh.service"
        ]
    );
    assert!(
        inv["units"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["enabled"] == true && u["running"].is_null())
    );
    assert_eq!(
        check("network.no_default_route")["reason"],
        "default route via 10.10.10.1 on eth0"
    );
    // A fixture tree has no cpuinfo or meminfo: absent, not guessed.
    assert!(sys["cpu_count"].is_null() && sys["memory_bytes"].is_null());
    assert_eq!(inv["unknown"], serde_json::json!([]));
}

#[test]
fn alpine_fixture() {
    let inv = inventory(&fixture("alpine3"));
    assert_eq!(inv["system"]["hostname"], "gateway-02");
    assert_eq!(inv["system"]["os_name"], "Alpine Linux");
    let pkgs = packages(&inv);
    let names: Vec<&str> = pkgs.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(names, ["dropbear", "libcrypto3", "musl"]);
    assert_eq!(
        pkgs[1].2,
        "pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64&distro=alpine-3.20.3&upstream=openssl"
    );
    // No machine id in this tree: said so.
    let unknown = inv["unknown"].as_array().unwrap();
    assert!(
        unknown
            .iter()
            .any(|u| u["source"] == "system.machine_id" && u["reason"] == "/etc/machine-id: not present")
    ); // Dropbear, not OpenSSH: the sshd checks do not apply; no APT/yum configuration, no wireless,
    // no /var/log in this tree.
    let outcome = |id: &str| check(&inv, id)["outcome"].clone();
    assert_eq!(outcome("ssh.permit_root_login"), "not_applicable");
    assert_eq!(outcome("packages.signatures_enforced"), "not_applicable");
    assert_eq!(outcome("wireless.enterprise_security"), "not_applicable");
    assert_eq!(outcome("logs.not_world_writable"), "unknown");
    assert_eq!(outcome("media.usb_storage_blocked"), "fail");
    assert_outcomes(
        &inv,
        [
            "not_applicable",
            "not_applicable",
            "not_applicable",
            "pass",
            "pass",
            "fail",
            "not_applicable",
            "fail",
            "unknown",
            "fail",
            "fail",
            "fail",
            "fail",
            "fail",
            "not_applicable",
            "unknown",
        ],
    );
    assert_eq!(
        check(&inv, "network.no_default_route")["reason"],
        "/proc/net/route: not present"
    );
    // Patch state from the cached APKINDEX, security from the kept Alpine secdb (matched through
    // libcrypto3's origin, openssl); dropbear's update fixes no listed advisory.
    let origin = "v3.20.3-120-g5f1c9a0e8b1".to_owned();
    assert_eq!(
        pending(&inv),
        [
            (
                "dropbear".into(),
                "2024.86-r0".into(),
                false,
                origin.clone(),
                vec![]
            ),
            (
                "libcrypto3".into(),
                "3.3.2-r1".into(),
                true,
                origin,
                vec!["CVE-2024-9143".into()]
            ),
        ]
    );
    let patches = &inv["patches"];
    assert_eq!(
        (patches["tool"].as_str(), patches["indexes"].as_u64()),
        (Some("apk"), Some(1))
    );
    assert_eq!(patches["security_pending"], 1);
    assert_eq!(patches["reboot_required"], false);
    assert_eq!(patches["kernel"]["outdated"], false);
    // apk keeps no history: the last operation is when it rewrote its installed database.
    let db = fixture("alpine3/lib/apk/db/installed");
    let modified = std::fs::metadata(&db).unwrap().modified().unwrap();
    let unix = modified.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(
        patches["last_package_operation"].as_str(),
        shoko_agent::host::patches::format_time(unix as i64).as_deref()
    );
}

#[test]
fn ubuntu_fixture() {
    let inv = inventory(&fixture("ubuntu2204"));
    let sys = &inv["system"];
    assert_eq!(
        (
            sys["hostname"].as_str(),
            sys["os_name"].as_str(),
            sys["os_version"].as_str()
        ),
        (Some("eng-ws-03"), Some("Ubuntu"), Some("22.04"))
    );
    assert_eq!(sys["default_gateways"], serde_json::json!(["10.20.0.1"]));
    let pkgs = packages(&inv);
    assert_eq!(pkgs.len(), 8);
    assert!(pkgs.contains(&(
        "openssh-server".into(),
        "1:8.9p1-3ubuntu0.10".into(),
        "pkg:deb/ubuntu/openssh-server@1%3A8.9p1-3ubuntu0.10?arch=amd64&distro=ubuntu-22.04&upstream=openssh".into()
    )));
    // Three indexes; the fixes published in jammy-security (and copied to jammy-updates) are
    // security updates named by their security origin; tzdata only comes from jammy-updates.
    let security = "Ubuntu jammy-security".to_owned();
    assert_eq!(
        pending(&inv),
        [
            (
                "libssl3".into(),
                "3.0.2-0ubuntu1.18".into(),
                true,
                security.clone(),
                vec![]
            ),
            (
                "openssh-server".into(),
                "1:8.9p1-3ubuntu0.11".into(),
                true,
                security.clone(),
                vec![]
            ),
            (
                "openssl".into(),
                "3.0.2-0ubuntu1.18".into(),
                true,
                security,
                vec![]
            ),
            (
                "tzdata".into(),
                "2024b-0ubuntu0.22.04.1".into(),
                false,
                "Ubuntu jammy-updates".into(),
                vec![]
            ),
        ]
    );
    let patches = &inv["patches"];
    assert_eq!(
        (patches["indexes"].as_u64(), patches["security_pending"].as_u64()),
        (Some(3), Some(3))
    );
    // The last "status installed" line, not the later half-configured one.
    assert_eq!(patches["last_package_operation"], "2024-11-05 09:12:41");
    assert_eq!(
        (
            patches["reboot_required"].as_bool(),
            patches["kernel"]["outdated"].as_bool()
        ),
        (Some(false), Some(false))
    );
    assert_eq!(
        unit_names(&inv),
        [
            "ssh.service",
            "systemd-timesyncd.service",
            "ufw.service",
            "x11vnc.service"
        ]
    );
    assert_outcomes(
        &inv,
        [
            "pass",
            "pass",
            "fail",
            "pass",
            "fail",
            "fail",
            "pass",
            "pass",
            "pass",
            "fail",
            "pass",
            "fail",
            "fail",
            "fail",
            "not_applicable",
            "fail",
        ],
    );
    let reason = |id: &str| check(&inv, id)["reason"].as_str().unwrap().to_owned();
    // x11vnc: the package, its enabled unit and its listening port.
    assert_eq!(
        reason("services.remote_access_software"),
        "remote-access software: x11vnc, x11vnc.service (enabled, running unknown), VNC port 5900 listening on 0.0.0.0"
    );
    // No modprobe policy, the driver loaded and a stick attached (sysfs).
    assert_eq!(
        reason("media.usb_storage_blocked"),
        "no modprobe policy blocks the usb-storage module; the usb_storage module is loaded; mass-storage devices attached: 1-2:1.0"
    );
    let ufw = check(&inv, "firewall.default_deny_inbound");
    assert_eq!(ufw["files"][0]["excerpt"], "DEFAULT_INPUT_POLICY=\"DROP\"");
    assert_eq!(
        ufw["files"][0]["sha256"],
        sha256_hex(&fixture("ubuntu2204/etc/default/ufw"))
    );
    assert_eq!(
        check(&inv, "time.synchronisation_configured")["files"][0]["excerpt"],
        "NTP=10.20.0.10 10.20.0.11"
    );
    assert_eq!(inv["unknown"], serde_json::json!([]));
}

#[test]
fn rocky_fixture_rpm_sqlite_database() {
    // rocky9/var/lib/rpm/rpmdb.sqlite is written by fixtures/make_rpmdb.py in RPM's SQLite format.
    let inv = inventory(&fixture("rocky9"));
    assert_eq!(inv["system"]["os_name"], "Rocky Linux");
    let pkgs = packages(&inv);
    assert_eq!(pkgs.len(), 5);
    assert!(pkgs.contains(&(
        "openssl-libs".into(),
        "1:3.0.7-27.el9".into(),
        "pkg:rpm/rocky/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rocky-9.4&epoch=1".into()
    )));
    // Patch state from dnf's cached repodata: the newest x86_64/noarch version per repository
    // (the i686 build is ignored), security from updateinfo's advisories up to the candidate.
    assert_eq!(
        pending(&inv),
        [
            (
                "openssh-server".into(),
                "8.7p1-38.el9_4.4".into(),
                true,
                "baseos".into(),
                vec!["RLSA-2024:4312".into()]
            ),
            (
                "openssl".into(),
                "1:3.0.7-28.el9_4".into(),
                true,
                "baseos".into(),
                vec!["RLSA-2024:3501".into()]
            ),
            (
                "openssl-libs".into(),
                "1:3.0.7-28.el9_4".into(),
                true,
                "baseos".into(),
                vec!["RLSA-2024:3501".into()]
            ),
            (
                "rocky-release".into(),
                "9.5-1.2.el9".into(),
                false,
                "baseos".into(),
                vec!["RLEA-2024:9216".into()]
            ),
        ]
    );
    let patches = &inv["patches"];
    assert_eq!(
        (patches["tool"].as_str(), patches["indexes"].as_u64()),
        (Some("dnf"), Some(2))
    );
    assert_eq!(patches["security_pending"], 3);
    // The last transaction that completed (the later one failed).
    assert_eq!(patches["last_package_operation"], "2024-06-03 07:34:50");
    // A newer kernel is installed than the one running: a reboot is pending.
    assert_eq!(
        patches["kernel"]["newest_installed"],
        "5.14.0-427.42.1.el9_4.x86_64"
    );
    assert_eq!(patches["reboot_required"], true);
    // Checks on Rocky's own configuration layout: sshd_config with the Red Hat drop-in, yum
    // repositories (one vendor repository without signature checks), chrony.
    assert_outcomes(
        &inv,
        [
            "pass",
            "fail",
            "fail",
            "pass",
            "pass",
            "fail",
            "fail",
            "pass",
            "unknown",
            "fail",
            "fail",
            "fail",
            "fail",
            "fail",
            "not_applicable",
            "unknown",
        ],
    );
    // ClientAliveCountMax 0 no longer ends sessions (OpenSSH 8.2+).
    assert_eq!(
        check(&inv, "ssh.idle_timeout")["reason"],
        "ClientAliveCountMax 0: since OpenSSH 8.2 this disables ending unresponsive sessions"
    );
    let repo = check(&inv, "packages.signatures_enforced");
    assert_eq!(
        (
            repo["files"][0]["path"].as_str(),
            repo["files"][0]["excerpt"].as_str()
        ),
        (Some("/etc/yum.repos.d/historian-vendor.repo"), Some("gpgcheck=0"))
    );
    let ssh = entry(&inv, "packages", "name", "openssh-server");
    assert_eq!(
        (ssh["manager"].as_str(), ssh["source"].as_str()),
        (Some("rpm"), Some("openssh"))
    );
    // A file that is not an RPM database: an unknown naming it, the rest of the inventory intact.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("var/lib/rpm")).unwrap();
    std::fs::create_dir_all(dir.path().join("etc")).unwrap();
    std::fs::write(dir.path().join("etc/hostname"), "x\n").unwrap();
    std::fs::write(dir.path().join("var/lib/rpm/rpmdb.sqlite"), b"not sqlite at all").unwrap();
    let inv = inventory(dir.path());
    let u = entry(&inv, "unknown", "source", "packages.rpm");
    assert!(u["reason"].as_str().unwrap().contains("rpmdb.sqlite"), "{u}");
    assert_eq!(inv["system"]["hostname"], "x");
    // An image with a Berkeley DB database (RHEL 8): not read with this system's rpm.
    std::fs::remove_file(dir.path().join("var/lib/rpm/rpmdb.sqlite")).unwrap();
    std::fs::write(dir.path().join("var/lib/rpm/Packages"), b"\0\0\0\0").unwrap();
    let inv = inventory(dir.path());
    assert_eq!(
        entry(&inv, "unknown", "source", "packages.rpm")["reason"],
        "/var/lib/rpm/Packages: Berkeley DB or ndb RPM database, read only by the imaged system's own rpm tool"
    );
}

#[test]
fn missing_garbage_and_huge_files_are_unknowns() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Nothing at all: every source says why.
    let inv = inventory(root);
    let sources: BTreeSet<&str> = inv["unknown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["source"].as_str().unwrap())
        .collect();
    assert!(
        sources.contains("system.hostname")
            && sources.contains("system.os_release")
            && sources.contains("packages")
    );
    // Garbage in the dpkg database: the usable stanzas are kept, the rest counted.
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    std::fs::write(
        root.join("var/lib/dpkg/status"),
        b"Package: ok\nStatus: install ok installed\nVersion: 1\n\n\xff\xfe garbage \x00\n\nPackage: noversion\nStatus: install ok installed\n",
    )
    .unwrap();
    let inv = inventory(root);
    assert_eq!(packages(&inv).len(), 1);
    assert!(
        inv["unknown"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["source"] == "packages.dpkg" && u["reason"] == "2 unusable record(s) skipped")
    );
    // A huge file (sparse: no disk used) is refused by size, not read.
    let f = std::fs::File::create(root.join("var/lib/dpkg/status")).unwrap();
    f.set_len(100 << 20).unwrap();
    let inv = inventory(root);
    let reason = &entry(&inv, "unknown", "source", "packages.dpkg")["reason"];
    assert_eq!(
        reason,
        "/var/lib/dpkg/status: 104857600 bytes, more than the 67108864-byte bound"
    );
    // A damaged APK index and damaged dnf repodata: unknowns naming the file, packages intact.
    std::fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    std::fs::create_dir_all(root.join("lib/apk/db")).unwrap();
    std::fs::write(
        root.join("lib/apk/db/installed"),
        "P:musl\nV:1.2.5-r0\nA:x86_64\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("var/cache/apk")).unwrap();
    std::fs::write(
        root.join("var/cache/apk/APKINDEX.deadbeef.tar.gz"),
        b"\x1f\x8b\x08garbage",
    )
    .unwrap();
    let inv = inventory(root);
    assert_eq!(packages(&inv).len(), 1);
    let u = entry(&inv, "unknown", "source", "patches.apk_index");
    assert!(
        u["reason"]
            .as_str()
            .unwrap()
            .starts_with("/var/cache/apk/APKINDEX.deadbeef.tar.gz: "),
        "{u}"
    );
    std::fs::remove_dir_all(root.join("lib/apk")).unwrap();
    let repodata = root.join("var/cache/dnf/baseos-0123456789abcdef/repodata");
    std::fs::create_dir_all(&repodata).unwrap();
    std::fs::write(
        repodata.join("x-primary.xml"),
        "<metadata><package><name>bash</nam",
    )
    .unwrap();
    let rpm = |inv: &Value| entry(inv, "unknown", "source", "patches.dnf_repodata")["reason"].clone();
    std::fs::create_dir_all(root.join("var/lib/rpm")).unwrap();
    std::fs::copy(
        fixture("rocky9/var/lib/rpm/rpmdb.sqlite"),
        root.join("var/lib/rpm/rpmdb.sqlite"),
    )
    .unwrap();
    std::fs::remove_file(root.join("var/lib/dpkg/status")).unwrap();
    let inv = inventory(root);
    assert_eq!(packages(&inv).len(), 5);
    assert!(
        rpm(&inv)
            .as_str()
            .unwrap()
            .starts_with("/var/cache/dnf/baseos-0123456789abcdef/repodata/x-primary.xml: "),
        "{}",
        rpm(&inv)
    );
    std::fs::remove_dir_all(root.join("var/lib/rpm")).unwrap();
    std::fs::remove_dir_all(root.join("var/cache")).unwrap();
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    // A world-writable log file fails its check, by name.
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(root.join("var/log/app")).unwrap();
    std::fs::write(root.join("var/log/app/events.log"), "x").unwrap();
    std::fs::set_permissions(
        root.join("var/log/app/events.log"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    let inv = inventory(root);
    let logs = check(&inv, "logs.not_world_writable");
    assert_eq!(
        (logs["outcome"].as_str(), logs["reason"].as_str()),
        (Some("fail"), Some("world-writable: /var/log/app/events.log"))
    );
    // A root that is not a directory: exit 3 with the reason.
    let out = Command::new(env!("CARGO_BIN_EXE_shoko-agent"))
        .args(["inventory", "--root", "/nonexistent-root"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent-root: not a directory"));
}

#[test]
fn this_machine_matches_dpkg_query_and_ss() {
    let (Ok(dpkg), Ok(ss)) = (
        Command::new("dpkg-query").arg("-W").output(),
        Command::new("ss").arg("-ltnuH").output(),
    ) else {
        eprintln!("SKIPPED this_machine_matches_dpkg_query_and_ss: dpkg-query or ss missing");
        return;
    };
    let inv = inventory(Path::new("/"));
    let expected = String::from_utf8_lossy(&dpkg.stdout).lines().count();
    assert_eq!(inv["packages"].as_array().unwrap().len(), expected);
    // ss: "tcp LISTEN 0 128 127.0.0.1:5432 0.0.0.0:*"; addresses may be "[::]" or "*".
    let from_ss: BTreeSet<String> = String::from_utf8_lossy(&ss.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (addr, port) = f.get(4)?.rsplit_once(':')?;
            let addr = addr.trim_start_matches('[').trim_end_matches(']');
            let addr = addr.split('%').next()?;
            let addr = if addr == "*" { "0.0.0.0" } else { addr };
            Some(format!("{} {} {}", f[0], addr, port))
        })
        .collect();
    let ours: BTreeSet<String> = inv["listening"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {} {}",
                s["transport"].as_str().unwrap(),
                s["address"].as_str().unwrap(),
                s["port"]
            )
        })
        .collect();
    assert_eq!(ours, from_ss);
}

#[test]
fn this_machine_pending_updates_match_apt() {
    let Ok(apt) = Command::new("apt")
        .args(["list", "--upgradable"])
        .env("LC_ALL", "C")
        .output()
    else {
        eprintln!("SKIPPED this_machine_pending_updates_match_apt: apt missing");
        return;
    };
    // "openssl/oldstable-security 3.0.17-1~deb12u3 amd64 [upgradable from: 3.0.15-1~deb12u1]"
    let from_apt: BTreeSet<(String, String)> = String::from_utf8_lossy(&apt.stdout)
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.split_once('/')?;
            Some((name.to_owned(), rest.split_whitespace().nth(1)?.to_owned()))
        })
        .collect();
    let inv = inventory(Path::new("/"));
    let ours: BTreeSet<(String, String)> = inv["patches"]["pending"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|u| {
                    (
                        u["name"].as_str().unwrap().to_owned(),
                        u["candidate"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(ours, from_apt);
}

#[test]
fn malware_signature_age_and_audit_rules() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for d in ["var/lib/dpkg", "var/lib/clamav", "etc/audit/rules.d"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let installed = |name: &str| {
        format!("Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\n\n")
    };
    std::fs::write(
        root.join("var/lib/dpkg/status"),
        installed("clamav") + &installed("auditd"),
    )
    .unwrap();
    std::fs::write(
        root.join("etc/audit/rules.d/50-plant.rules"),
        "# plant\n-w /etc/passwd -p wa -k identity\n",
    )
    .unwrap();
    let signatures = std::fs::File::create(root.join("var/lib/clamav/daily.cld")).unwrap();
    // Fresh signatures: pass. Ten-day-old signatures: fail, with the age.
    let inv = inventory(root);
    assert_eq!(check(&inv, "malware.protection_current")["outcome"], "pass");
    let audit = check(&inv, "audit.rules_present");
    assert_eq!(
        (audit["outcome"].as_str(), audit["files"][0]["excerpt"].as_str()),
        (Some("pass"), Some("-w /etc/passwd -p wa -k identity"))
    );
    let ten_days = std::time::SystemTime::now() - std::time::Duration::from_secs(10 * 86_400);
    signatures.set_modified(ten_days).unwrap();
    let inv = inventory(root);
    let malware = check(&inv, "malware.protection_current");
    assert_eq!(malware["outcome"], "fail");
    assert_eq!(
        malware["reason"],
        "clamav signatures are 10 days old (/var/lib/clamav/daily.cld)"
    );
    // No scan log: unknown. A scan logged today: pass; eight days ago: fail.
    assert_eq!(check(&inv, "malware.recent_scan")["outcome"], "unknown");
    std::fs::create_dir_all(root.join("var/log/clamav")).unwrap();
    let log = std::fs::File::create(root.join("var/log/clamav/clamscan.log")).unwrap();
    let inv = inventory(root);
    let scan = check(&inv, "malware.recent_scan");
    assert_eq!(
        (scan["outcome"].as_str(), scan["requirements"][0].as_str()),
        (Some("pass"), Some("COMP 2.1"))
    );
    log.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(8 * 86_400))
        .unwrap();
    let inv = inventory(root);
    let scan = check(&inv, "malware.recent_scan");
    assert_eq!(
        (scan["outcome"].as_str(), scan["reason"].as_str()),
        (
            Some("fail"),
            Some("last scan logged 8 days ago (/var/log/clamav/clamscan.log)")
        )
    );
}

#[test]
fn unreadable_audit_rules_say_they_need_root() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    std::fs::create_dir_all(root.join("etc/audit/rules.d")).unwrap();
    std::fs::write(
        root.join("var/lib/dpkg/status"),
        "Package: auditd\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:3.0.9-1\n",
    )
    .unwrap();
    for d in ["var", "var/lib", "var/lib/dpkg", "etc", "etc/audit"] {
        std::fs::set_permissions(root.join(d), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(
        root.join("var/lib/dpkg/status"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::set_permissions(
        root.join("etc/audit/rules.d"),
        std::fs::Permissions::from_mode(0o750),
    )
    .unwrap();
    // As root, run the agent as nobody (as root the directory would be readable).
    let mut cmd = if unsafe { libc::geteuid() } == 0 {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_shoko-agent"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_shoko-agent"))
    };
    let out = cmd.args(["inventory", "--root"]).arg(root).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let inv: Value = serde_json::from_slice(&out.stdout).unwrap();
    let audit = check(&inv, "audit.rules_present");
    assert_eq!(audit["outcome"], "unknown");
    assert_eq!(
        audit["reason"],
        "/etc/audit/rules.d: not readable (Permission denied (os error 13)): needs root"
    );
    // This machine, unprivileged: the owners of other users' sockets are said to need root.
    if unsafe { libc::geteuid() } == 0 {
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_shoko-agent"))
            .arg("inventory")
            .output()
            .unwrap();
        let inv: Value = serde_json::from_slice(&out.stdout).unwrap();
        if !inv["listening"].as_array().unwrap().is_empty() {
            assert_eq!(
                entry(&inv, "unknown", "source", "sockets.owners")["reason"],
                "the processes of other users' sockets are not visible: needs root"
            );
        }
    }
}
