//! Data files are private whatever the umask: the collector's data directory, its configuration
//! and its SQLite store are created for its own user only (before: world-readable under a
//! permissive umask outside the systemd unit).

use shoko_tests::*;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

#[test]
fn the_data_directory_its_configuration_and_store_are_private_under_any_umask() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let collector = bin("shoko-collector");
    let c = collector.to_str().unwrap();
    let script = format!(
        "umask 000 && {c} init --data {d} >/dev/null && echo 'a long admin passphrase' | {c} users add --data {d} --name admin --role admin --by installer"
    );
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mode = |rel: &str| std::fs::metadata(data.join(rel)).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        [
            mode(""),
            mode("collector.toml"),
            mode("shoko.db"),
            mode("pki/ca.key")
        ],
        [0o700, 0o600, 0o600, 0o600]
    );
}
