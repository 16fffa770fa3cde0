//! The catalog and declared-zones commands as an operator runs them: the embedded catalog lists
//! every requirement, the deploy example of zones checks clean, and a mistake in a zones file is
//! refused with exit code 1 and the file and line.

use shoko_tests::*;

#[test]
fn catalog_and_zones_commands() {
    let out = run_ok("shoko-collector", &["catalog"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            "IEC 62443-2-1:2024 catalog shoko-2026.11-1 (38 requirements; cross references: working crosswalk, not an official annex)"
        )
    );
    let rows: Vec<&str> = lines.skip(2).collect();
    assert_eq!(rows.len(), 38);
    assert!(
        rows[3].starts_with("CM 1.4") && rows[3].ends_with("7 d"),
        "{}",
        rows[3]
    );
    assert!(
        rows.iter()
            .any(|r| r.starts_with("NET 1.5") && r.contains("attestation-only"))
    );

    let example = workspace().join("deploy/zones.toml");
    let example = example.to_str().unwrap();
    let out = run_ok("shoko-collector", &["zones", "--file", example]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!(
            "{example}: 7 zones, 5 conduits, 1 jump hosts, 1 time sources, 1 log servers, 2 device classes"
        )
    );

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("zones.toml");
    let text = std::fs::read_to_string(example).unwrap().replace(
        "zones = [\"sis\", \"supervisory\"]",
        "zones = [\"sis\", \"scada\"]",
    );
    std::fs::write(&broken, &text).unwrap();
    let line = text.lines().position(|l| l.contains("\"scada\"")).unwrap() + 1;
    let out = run("shoko-collector", &["zones", "--file", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!(
            "shoko-collector: {}:{line}: conduit \"sis-status\" names unknown zone \"scada\"",
            broken.display()
        )
    );
}
