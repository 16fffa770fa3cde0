//! Advisory matching end to end: a Debian 12 host agent and a capture of a ControlLogix Ethernet
//! module (1756-ENBT/A, firmware 4.003) feed a collector; small CSAF, OSV, Debian tracker and KEV
//! files (`tests/fixtures/advisories`, in those formats, with the awkward cases: a prose range, a
//! `vers:` range, a product named by model number only, a newer firmware than the range, another
//! vendor's product, other releases' packages, a "not affected" tracker entry) match exactly the
//! affected assets; a tampered or broken file is refused by name; the findings of COMP 3.5 and
//! EVENT 1.9 follow, and an attested mitigation settles its match.

use serde_json::Value;
use shoko_tests::*;

fn fixtures(dir: &str) -> String {
    workspace()
        .join("tests/fixtures/advisories")
        .join(dir)
        .display()
        .to_string()
}

/// (subject, outcome) of a requirement's findings over the last 10,000 days.
fn findings(d: &str, requirement: &str) -> Vec<(String, String)> {
    let out = run_ok(
        "shoko-collector",
        &[
            "findings",
            "--data",
            d,
            "--requirement",
            requirement,
            "--period",
            "10000d",
            "--json",
        ],
    );
    let all: Value = serde_json::from_slice(&out.stdout).unwrap();
    all.as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["subject"].as_str().unwrap().to_string(),
                f["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn advisories_match_the_affected_firmware_and_packages_and_nothing_else() {
    let (data, collector, host) = HostAgent::with_collector();
    let mut agent = start_agent(&host.config);
    wait_until("the host inventory acknowledged", 30, || host.state.exists());
    signal(&agent, "-KILL");
    let _ = agent.wait();
    let pcap = dev_capture("ITI_ICS-Security-Tools/pcaps/openics/EIP-FirmwareChange.pcap");
    let out = agent_send(&data.enroll("sensor-1"), collector.ingest, &pcap);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let d = data.path();

    let out = run_ok(
        "shoko-collector",
        &["advisories", "import", "--data", &d, &fixtures("feeds")],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().last(), Some("6 files imported, 0 skipped"), "{text}");
    assert!(text.contains("icsa-shoko-0003.json: csaf (1 entries)"), "{text}");
    let out = run(
        "shoko-collector",
        &["advisories", "import", "--data", &d, &fixtures("bad")],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let skipped: Vec<&str> = stderr.lines().filter(|l| l.contains("skipped")).collect();
    assert_eq!(skipped.len(), 3, "{stderr}");
    assert!(skipped[0].contains("bad/broken.json: not JSON"), "{stderr}");
    assert!(
        skipped[1].contains("bad/icsa-tampered.json: SHA-512 ")
            && skipped[1].contains("does not match its .sha512 file"),
        "{stderr}"
    );
    assert_eq!(skipped[2], "shoko-collector: 2 advisory files skipped");

    let out = run_ok(
        "shoko-collector",
        &["advisories", "matches", "--data", &d, "--json"],
    );
    let matches: Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<(String, String, String, String, f64, Vec<String>)> = matches
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let kev = m["known_exploited"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect();
            let s = |k: &str| m[k].as_str().unwrap().to_string();
            (
                s("advisory"),
                s("product"),
                s("version"),
                s("affected"),
                m["confidence"].as_f64().unwrap(),
                kev,
            )
        })
        .collect();
    let s = |v: &str| v.to_string();
    assert_eq!(
        got,
        [
            // The host, asset 1: the tracker's glibc and openssh entries, OSV's openssl for both
            // binary packages of the openssl source (by the purl's upstream).
            (
                s("CVE-2026-2001"),
                s("package libc6 (source glibc, Debian:12)"),
                s("2.36-9+deb12u14"),
                s("<2.36-9+deb12u15"),
                1.0,
                vec![]
            ),
            (
                s("CVE-2026-2002"),
                s("package openssh-client (source openssh, Debian:12)"),
                s("1:9.2p1-2+deb12u6"),
                s("open: no fixed version yet"),
                1.0,
                vec![s("CVE-2026-2002")]
            ),
            (
                s("DSA-SHOKO-1"),
                s("package libssl3 (source openssl, Debian:12)"),
                s("3.0.19-1~deb12u2"),
                s(">=0, <3.0.20-1~deb12u1"),
                1.0,
                vec![]
            ),
            (
                s("DSA-SHOKO-1"),
                s("package openssl (source openssl, Debian:12)"),
                s("3.0.19-1~deb12u2"),
                s(">=0, <3.0.20-1~deb12u1"),
                1.0,
                vec![]
            ),
            // The Ethernet module: a prose range on a model-number product (0.8 name x 0.8 prose),
            // and a product named by its full model number without vendor or version (0.8 x 0.8).
            (
                s("ICSA-SHOKO-0001"),
                s("firmware of Rockwell Automation 1756-ENBT"),
                s("4.003"),
                s("All versions prior to 6.006"),
                0.64,
                vec![s("CVE-2026-1001")]
            ),
            (
                s("ICSA-SHOKO-0003"),
                s("firmware of (any vendor) 1756-ENBT/A"),
                s("4.003"),
                s("all versions"),
                0.64,
                vec![]
            ),
        ]
    );
    let module = &matches[4];
    assert_eq!(module["asset"], "mac:00:00:bc:3e:eb:e4");
    assert!(
        module["evidence"].as_i64().is_some(),
        "the firmware claim's observation"
    );
    let host_asset = matches[0]["asset_id"].as_i64().unwrap();
    cyclonedx_bom_validates_and_names_what_is_affected(&d, host_asset);

    // COMP 3.5: every match, and the host's pending security updates, need a mitigation.
    let comp35 = findings(&d, "COMP-3.5");
    assert_eq!(comp35.len(), 7, "{comp35:#?}");
    assert!(comp35.iter().all(|(_, o)| o == "violated"), "{comp35:#?}");
    run_ok(
        "shoko-collector",
        &[
            "attest",
            "mitigation",
            "--data",
            &d,
            "--target",
            "vulnerability:CVE-2026-2002",
            "--control",
            "sshd reachable from the jump host only",
            "--expires",
            "2099-01-01",
            "--by",
            "ot-sec",
        ],
    );
    // CVE-2026-2002 is known exploited: its mitigation lifts a critical gate, so it takes effect
    // only once a second administrator countersigns it.
    let comp35 = findings(&d, "COMP-3.5");
    assert!(comp35.iter().all(|(_, o)| o == "violated"), "{comp35:#?}");
    countersign_as_second_admin(&d, 1);
    let comp35 = findings(&d, "COMP-3.5");
    let satisfied: Vec<&str> = comp35
        .iter()
        .filter(|(_, o)| o == "satisfied")
        .map(|(s, _)| s.as_str())
        .collect();
    assert_eq!(satisfied.len(), 1);
    assert!(
        satisfied[0].starts_with(&format!("asset {host_asset} ")) && satisfied[0].ends_with(" CVE-2026-2002")
    );

    // EVENT 1.9: four feeds imported today; the matches just made await triage, the mitigated
    // one is triaged.
    let event19 = findings(&d, "EVENT-1.9");
    let feeds: Vec<&(String, String)> = event19.iter().filter(|(s, _)| s.starts_with("feed ")).collect();
    assert_eq!(
        feeds,
        [
            &(s("feed csaf"), s("satisfied")),
            &(s("feed debian"), s("satisfied")),
            &(s("feed kev"), s("satisfied")),
            &(s("feed osv"), s("satisfied")),
        ]
    );
    let count = |o: &str| {
        event19
            .iter()
            .filter(|(s, x)| s.starts_with("asset ") && x == o)
            .count()
    };
    assert_eq!((count("pending"), count("satisfied")), (5, 1));

    // COMP 3.3: the module affected; the switch's firmware matches nothing.
    let comp33 = findings(&d, "COMP-3.3");
    let advisories: Vec<&(String, String)> = comp33
        .iter()
        .filter(|(s, _)| s.ends_with(" advisories"))
        .collect();
    assert_eq!(advisories.len(), 3, "{comp33:#?}");
    assert!(
        advisories
            .iter()
            .any(|(s, o)| s.contains("mac:00:00:bc:3e:eb:e4") && o == "violated")
    );
    assert_eq!(
        advisories.iter().filter(|(_, o)| o == "satisfied").count(),
        1,
        "{comp33:#?}"
    );

    let api = collector.get_json("/api/v1/vulnerabilities");
    assert_eq!(api["matches"].as_array().unwrap().len(), 6);
    assert_eq!(api["feeds"].as_array().unwrap().len(), 6);
}

/// `export cyclonedx`: the BOM validates against the official CycloneDX 1.5 schema (vendored in
/// `tests/fixtures/cyclonedx`), holds every asset as a device with its firmware or software, and
/// one vulnerability per CVE affecting exactly the firmware or packages matched. A BOM broken on
/// purpose fails the same validation.
fn cyclonedx_bom_validates_and_names_what_is_affected(d: &str, host_asset: i64) {
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("bom.json");
    run_ok(
        "shoko-collector",
        &[
            "export",
            "cyclonedx",
            "--data",
            d,
            "--out",
            path.to_str().unwrap(),
        ],
    );
    let validate = |file: &std::path::Path| {
        std::process::Command::new("python3")
            .arg(workspace().join("tests/fixtures/cyclonedx/validate.py"))
            .arg(file)
            .output()
            .expect("python3 with jsonschema (.ci/run installs it)")
    };
    let out = validate(&path);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let bom: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let assets = run_ok("shoko-collector", &["assets", "--data", d, "--json"]);
    let assets: Value = serde_json::from_slice(&assets.stdout).unwrap();
    let devices = bom["components"].as_array().unwrap();
    assert_eq!(devices.len(), assets.as_array().unwrap().len());
    assert!(devices.iter().all(|c| c["type"] == "device"));
    let module = devices
        .iter()
        .find(|c| {
            c["properties"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["value"] == "mac:00:00:bc:3e:eb:e4")
        })
        .unwrap();
    let module_ref = module["bom-ref"].as_str().unwrap().to_string();
    assert_eq!(module["name"], "1756-ENBT/A");
    assert_eq!(module["supplier"]["name"], "Rockwell Automation/Allen-Bradley");
    assert_eq!(module["components"][0]["type"], "firmware");
    assert_eq!(module["components"][0]["version"], "4.003");
    let host = devices
        .iter()
        .find(|c| c["bom-ref"] == format!("asset-{host_asset}"))
        .unwrap();
    let package_ref = |name: &str| {
        let c = host["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{name} in the host's components"));
        assert!(
            c["purl"]
                .as_str()
                .unwrap()
                .starts_with(&format!("pkg:deb/debian/{name}@"))
        );
        c["bom-ref"].as_str().unwrap().to_string()
    };
    let affected: Vec<(String, Vec<String>, String)> = bom["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let refs = v["affects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["ref"].as_str().unwrap().to_string())
                .collect();
            let exploited = v["properties"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "shoko:known_exploited")
                .unwrap()["value"]
                .as_str()
                .unwrap()
                .to_string();
            (v["id"].as_str().unwrap().to_string(), refs, exploited)
        })
        .collect();
    let firmware = format!("{module_ref}/firmware");
    assert_eq!(
        affected,
        [
            ("CVE-2026-1001".into(), vec![firmware.clone()], "true".into()),
            ("CVE-2026-1003".into(), vec![firmware], "false".into()),
            ("CVE-2026-2001".into(), vec![package_ref("libc6")], "false".into()),
            (
                "CVE-2026-2002".into(),
                vec![package_ref("openssh-client")],
                "true".into()
            ),
            (
                "CVE-2026-3001".into(),
                vec![package_ref("libssl3"), package_ref("openssl")],
                "false".into()
            ),
        ]
    );

    let mut broken = bom.clone();
    broken["components"][0]["type"] = "gadget".into();
    broken.as_object_mut().unwrap().remove("specVersion");
    let broken_path = work.path().join("broken.json");
    std::fs::write(&broken_path, serde_json::to_vec(&broken).unwrap()).unwrap();
    let out = validate(&broken_path);
    assert_eq!(out.status.code(), Some(1));
    let errors = String::from_utf8_lossy(&out.stdout);
    assert!(
        errors.contains("/: 'specVersion' is a required property"),
        "{errors}"
    );
    assert!(
        errors.contains("/components/0/type: 'gadget' is not one of"),
        "{errors}"
    );
}
