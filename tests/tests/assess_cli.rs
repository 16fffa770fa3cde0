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
    let rows: Vec<&str> = lines.skip(2).take_while(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 38);
    assert!(
        rows[3].starts_with("CM 1.4") && rows[3].ends_with("7 d   -"),
        "{}",
        rows[3]
    );
    assert!(
        rows[4].starts_with("NET 1.1") && rows[4].ends_with("30 d  direct-enterprise-iacs"),
        "{}",
        rows[4]
    );
    // The kinds of violation follow, each with what it means.
    let kinds: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("KIND "))
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "direct-enterprise-iacs",
            "undeclared-conduit",
            "safety-undeclared-conduit",
            "remote-access-around-jump-host",
            "cleartext-admin-into-iacs",
            "cleartext-management",
            "known-exploited-unmitigated"
        ]
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

#[test]
fn attestations_are_recorded_listed_and_revoked() {
    let data = DataDir::init();
    let d = data.path();
    let doc = data.dir.path().join("MOC-procedure-v3.pdf");
    std::fs::write(&doc, b"abc").unwrap();
    let out = run_ok(
        "shoko-collector",
        &[
            "attest",
            "document",
            "--data",
            &d,
            "--requirement",
            "CM-1.4",
            "--title",
            "Management of change",
            "--version",
            "3.1",
            "--owner",
            "OT security lead",
            "--approved",
            "2026-01-15",
            "--next-review",
            "2027-01-15",
            "--file",
            doc.to_str().unwrap(),
            "--by",
            "a.owner",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "attestation 1 recorded: document CM 1.4 by a.owner"
    );
    let out = run_ok(
        "shoko-collector",
        &[
            "attest",
            "mitigation",
            "--data",
            &d,
            "--target",
            "vulnerability:CVE-2022-1161",
            "--control",
            "engineering port blocked at the cell firewall",
            "--expires",
            "2027-06-30",
            "--by",
            "a.owner",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "attestation 2 recorded: mitigation vulnerability:CVE-2022-1161 by a.owner"
    );
    let bad = run(
        "shoko-collector",
        &[
            "attest",
            "not-applicable",
            "--data",
            &d,
            "--requirement",
            "NET 4",
            "--reason",
            "x",
            "--by",
            "a",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&bad.stderr).trim(),
        "shoko-collector: \"NET 4\" is neither a requirement nor a group of catalog shoko-2026.11-1"
    );
    run_ok(
        "shoko-collector",
        &[
            "attest",
            "revoke",
            "--data",
            &d,
            "--id",
            "2",
            "--by",
            "auditor",
            "--reason",
            "rule removed",
        ],
    );
    let listed = run_ok("shoko-collector", &["attest", "list", "--data", &d, "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(
        listed[0]["sha256"],
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(listed[0]["file_name"], "MOC-procedure-v3.pdf");
    assert_eq!(
        (
            listed[0]["next_review"].as_str(),
            listed[0]["revoked_at"].is_null()
        ),
        (Some("2027-01-15"), true)
    );
    assert_eq!(
        (
            listed[1]["revoked_by"].as_str(),
            listed[1]["revoke_reason"].as_str()
        ),
        (Some("auditor"), Some("rule removed"))
    );
    // Four eyes: the attester cannot countersign their own document, nor can an auditor; a
    // second administrator can, once. Each step is in the audit log.
    assert!(
        add_user(&d, "a.owner", "admin", "the owner's passphrase")
            .status
            .success()
    );
    assert!(
        add_user(&d, "reader", "auditor", "an auditor's passphrase")
            .status
            .success()
    );
    let refused = countersign(&d, 1, &create_token(&d, "a.owner"));
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr).trim(),
        "shoko-collector: attestation 1 was attested by a.owner: a second administrator must countersign it"
    );
    let refused = countersign(&d, 1, &create_token(&d, "reader"));
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr).trim(),
        "shoko-collector: reader is auditor: only an administrator countersigns attestations"
    );
    let refused = countersign(&d, 1, "shoko_not_a_token");
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr).trim(),
        "shoko-collector: the token is unknown, expired or revoked"
    );
    countersign_as_second_admin(&d, 1);
    let again = countersign(&d, 1, &create_token(&d, "approver"));
    assert_eq!(again.status.code(), Some(1), "countersigned once");
    let listed = run_ok("shoko-collector", &["attest", "list", "--data", &d, "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["countersigned_by"], "user:approver");
    let actions: Vec<(String, String, String)> = audit_actions(&d)
        .into_iter()
        .filter(|(_, _, target)| target.starts_with("attestation:"))
        .collect();
    let e = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    assert_eq!(
        actions,
        [
            e("user:approver", "attestation_countersigned", "attestation:1"),
            e("cli:auditor", "attestation_revoked", "attestation:2"),
            e("cli:a.owner", "attestation_recorded", "attestation:2"),
            e("cli:a.owner", "attestation_recorded", "attestation:1"),
        ]
    );
    let table = run_ok("shoko-collector", &["attest", "list", "--data", &d]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("1 ") && l.contains("MOC-procedure-v3.pdf sha256:ba7816bf8f01")),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("2 ") && l.contains("revoked by auditor")),
        "{table}"
    );
}
