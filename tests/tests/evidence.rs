//! Tamper evidence. The store: a sensor delivers a real capture (EIP-FirmwareChange.pcap, a
//! ControlLogix module telling its firmware), `verify-store` recomputes every agent's hash chain
//! and finds it intact; one stored observation edited behind the collector's back is named, and
//! the command exits 4. Evidence bundles: the firmware update between the two 2008 EtherNet/IP
//! captures (CM 1.4) is exported with its frames; an untouched bundle verifies against the
//! collector's public key, and one byte changed in a file, in the manifest or in the signature, a
//! file removed or added, or another collector's key, are each named.

use shoko_tests::*;

#[test]
fn verify_store_names_an_edited_observation() {
    let data = DataDir::init();
    let collector = CollectorProcess::start(&data);
    let bundle = data.enroll("sensor-0");
    let pcap = dev_capture("ITI_ICS-Security-Tools/pcaps/openics/EIP-FirmwareChange.pcap");
    let out = agent_send(&bundle, collector.ingest, &pcap);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stored = collector.get_json("/api/v1/status");
    drop(collector);

    let out = run_ok(
        "shoko-collector",
        &["verify-store", "--data", &data.path(), "--json"],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["agents"], 1);
    assert_eq!(report["batches"], stored["batches"]);
    assert_eq!(report["observations"], stored["observations"]);
    assert_eq!(
        (report["pruned"].as_u64(), report["unsealed"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(report["problems"], serde_json::json!([]));
    let head = &report["heads"][0];
    assert_eq!(
        (head["agent_id"].as_str(), head["position"].as_u64()),
        (Some("sensor-0"), stored["batches"].as_u64())
    );

    // The firmware the module told, made to read differently: one byte of one stored body.
    let db = rusqlite::Connection::open(format!("{}/shoko.db", data.path())).unwrap();
    let firmware_at = |body: &[u8]| body.windows(5).position(|w| w == b"4.003");
    let mut claims = db
        .prepare("SELECT id, seq, idx, body FROM observations WHERE kind = 'identity_claim' ORDER BY id")
        .unwrap();
    let (id, seq, idx, mut body): (i64, i64, i64, Vec<u8>) = claims
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .find(|(.., body): &(i64, i64, i64, Vec<u8>)| firmware_at(body).is_some())
        .expect("an identity claim telling firmware 4.003");
    drop(claims);
    let at = firmware_at(&body).unwrap();
    body[at + 4] = b'7';
    db.execute(
        "UPDATE observations SET body = ?1 WHERE id = ?2",
        rusqlite::params![body, id],
    )
    .unwrap();

    let out = run("shoko-collector", &["verify-store", "--data", &data.path()]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let tampered: Vec<&str> = text.lines().filter(|l| l.starts_with("TAMPERED")).collect();
    assert_eq!(
        tampered,
        [format!(
            "TAMPERED agent sensor-0 batch {seq}: observation {idx} was altered (identity_claim)"
        )]
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the stored evidence fails verification: 1 problems")
    );
    // A collector started on it checks every agent's newest batch and says so.
    let collector = CollectorProcess::start(&data);
    let line = collector.wait_log("the start check's finding", |l| {
        l["message"] == "store check at start found a damaged batch; run verify-store"
    });
    assert_eq!(
        (line["agent_id"].as_str(), line["problem"].as_str()),
        (
            Some("sensor-0"),
            Some(format!("observation {idx} was altered (identity_claim)").as_str())
        )
    );
}

const FIRMWARE_CAPTURES: [&str; 2] = [
    "ITI_ICS-Security-Tools/pcaps/openics/EIP-FirmwareChange.pcap",
    "ITI_ICS-Security-Tools/pcaps/openics/EIP-IPAddressChangeAttempt.pcap",
];

/// Runs `verify-bundle` on `path` with the collector's key: exit code and the TAMPERED lines.
fn verify(path: &std::path::Path, key: &str) -> (Option<i32>, Vec<String>) {
    let out = run(
        "shoko-collector",
        &["verify-bundle", path.to_str().unwrap(), "--key", key],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let tampered = text
        .lines()
        .filter_map(|l| l.strip_prefix("TAMPERED "))
        .map(str::to_string)
        .collect();
    (out.status.code(), tampered)
}

/// Unpacks a bundle into a new directory under `root`.
fn unpack(bundle: &std::path::Path, root: &std::path::Path, name: &str) -> std::path::PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let status = std::process::Command::new("tar")
        .args(["xzf", bundle.to_str().unwrap(), "-C", dir.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

/// Flips the low bit of byte `at` of a file.
fn flip(path: &std::path::Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 1;
    std::fs::write(path, bytes).unwrap();
}

/// The firmware captures' collector and a bundle of CM 1.4 and NET 1.1 exported from it (periods of
/// 10,000 days ending now), in a work directory.
fn firmware_bundle() -> (DataDir, tempfile::TempDir, std::path::PathBuf) {
    let (data, collector) = collector_with_captures(&FIRMWARE_CAPTURES, "");
    drop(collector);
    let work = tempfile::tempdir().unwrap();
    let bundle = work.path().join("bundle.tar.gz");
    let at = shoko_proto::Timestamp::now().to_string();
    run_ok(
        "shoko-collector",
        &[
            "export-evidence",
            "--data",
            &data.path(),
            "--requirement",
            "CM-1.4",
            "--requirement",
            "NET 1.1",
            "--period",
            "10000d",
            "--at",
            &at,
            "--out",
            bundle.to_str().unwrap(),
        ],
    );
    (data, work, bundle)
}

#[test]
fn an_evidence_bundle_verifies_and_every_tampering_is_named() {
    let (data, work, bundle) = firmware_bundle();
    let d = data.path();
    let key = format!("{d}/pki/evidence.pub");
    assert_eq!(verify(&bundle, &key), (Some(0), vec![]));

    // What it holds: the two requirements, the firmware change with both observations, and the
    // frames that showed the firmware before and after as a pcap.
    let clean = unpack(&bundle, work.path(), "clean");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(clean.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["requirements"], serde_json::json!(["CM 1.4", "NET 1.1"]));
    let files: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "report.html",
            "report.json",
            "scores.json",
            "findings.json",
            "rescore.json",
            "observations.jsonl",
            "changes.json",
            "attestations.json",
            "scores.csv",
            "inventory.csv",
            "frames/CM-1.4.pcap",
        ]
    );
    assert_eq!(manifest["chain_heads"].as_array().unwrap().len(), 2);
    let changes: serde_json::Value =
        serde_json::from_slice(&std::fs::read(clean.join("changes.json")).unwrap()).unwrap();
    let firmware: Vec<&serde_json::Value> = changes
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "firmware_change")
        .collect();
    assert_eq!(firmware.len(), 1);
    assert_eq!(
        (
            firmware[0]["old_value"].as_str(),
            firmware[0]["new_value"].as_str()
        ),
        (Some("4.003"), Some("4.007"))
    );
    let observations = std::fs::read_to_string(clean.join("observations.jsonl")).unwrap();
    let ids: Vec<i64> = observations
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert!(ids.contains(&firmware[0]["observation_id"].as_i64().unwrap()));
    assert!(ids.contains(&firmware[0]["previous_observation_id"].as_i64().unwrap()));
    let pcap = std::fs::read(clean.join("frames/CM-1.4.pcap")).unwrap();
    let mut reader = pcap_file::pcap::PcapReader::new(pcap.as_slice()).unwrap();
    let mut frames = 0;
    while let Some(p) = reader.next_packet() {
        p.unwrap();
        frames += 1;
    }
    assert_eq!(frames, 20, "the frames of the two identity claims");

    // One byte of a file, repacked as an archive and as the unpacked directory.
    let edited = unpack(&bundle, work.path(), "edited");
    flip(&edited.join("findings.json"), 10);
    let altered = vec!["findings.json: altered (SHA-256 differs from the manifest)".to_string()];
    assert_eq!(verify(&edited, &key), (Some(4), altered.clone()));
    let repacked = work.path().join("repacked.tar.gz");
    let status = std::process::Command::new("tar")
        .args([
            "czf",
            repacked.to_str().unwrap(),
            "-C",
            edited.to_str().unwrap(),
            ".",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(verify(&repacked, &key), (Some(4), altered));

    let signature_fails = |fingerprint: &str| {
        vec![format!(
            "manifest.json or manifest.sig altered, or signed by another key: the signature does not verify with {fingerprint}"
        )]
    };
    let fingerprint = manifest["key_fingerprint"].as_str().unwrap().to_string();
    // One byte of the manifest (a digest it lists: the file no longer matches it either).
    let m = unpack(&bundle, work.path(), "manifest");
    let text = std::fs::read_to_string(m.join("manifest.json")).unwrap();
    let at = text.find("\"sha256\": \"").unwrap() + 11;
    flip(&m.join("manifest.json"), at);
    let (code, problems) = verify(&m, &key);
    assert_eq!(code, Some(4));
    assert_eq!(problems[0], signature_fails(&fingerprint)[0]);
    assert_eq!(
        problems[1],
        "report.html: altered (SHA-256 differs from the manifest)"
    );
    // One byte of the signature.
    let sig = unpack(&bundle, work.path(), "signature");
    // Another hex digit in place of the first (still hex: the signature itself no longer fits).
    let mut hex = std::fs::read(sig.join("manifest.sig")).unwrap();
    hex[0] = if hex[0] == b'0' { b'1' } else { b'0' };
    std::fs::write(sig.join("manifest.sig"), hex).unwrap();
    assert_eq!(verify(&sig, &key), (Some(4), signature_fails(&fingerprint)));
    // A file removed, a file added.
    let gone = unpack(&bundle, work.path(), "gone");
    std::fs::remove_file(gone.join("frames/CM-1.4.pcap")).unwrap();
    std::fs::write(gone.join("frames/extra.pcap"), b"x").unwrap();
    assert_eq!(
        verify(&gone, &key),
        (
            Some(4),
            vec![
                "frames/CM-1.4.pcap: missing".to_string(),
                "frames/extra.pcap: not in the manifest (added)".to_string()
            ]
        )
    );
    // Another collector's key: the untouched bundle is not its.
    let other = DataDir::init();
    drop(CollectorProcess::start(&other));
    let other_key = other.dir.path().join("pki/evidence.pub");
    run_ok(
        "shoko-collector",
        &[
            "export-evidence",
            "--data",
            &other.path(),
            "--out",
            work.path().join("o.tar.gz").to_str().unwrap(),
        ],
    );
    let other_fp = String::from_utf8(
        run_ok(
            "shoko-collector",
            &["verify-bundle", work.path().join("o.tar.gz").to_str().unwrap()],
        )
        .stdout,
    )
    .unwrap();
    assert!(other_fp.contains("the key inside the bundle"), "{other_fp}");
    let (code, problems) = verify(&bundle, other_key.to_str().unwrap());
    assert_eq!(code, Some(4));
    assert!(problems[0].starts_with("manifest.json or manifest.sig altered, or signed by another key"));
}

#[test]
fn the_report_is_written_as_html_json_and_csv() {
    let (data, collector) = collector_with_captures(&FIRMWARE_CAPTURES, "");
    let assets = collector.get_json("/api/v1/assets").as_array().unwrap().len();
    drop(collector);
    let work = tempfile::tempdir().unwrap();
    let d = data.path();
    let out = |name: &str| work.path().join(name).to_str().unwrap().to_string();
    let report = |file: &str, extra: &[&str]| {
        let path = out(file);
        let mut args = vec!["report", "--data", &d, "--period", "10000d", "--out", &path];
        args.extend(extra);
        run_ok("shoko-collector", &args);
        std::fs::read_to_string(&path).unwrap()
    };
    let html = report("report.html", &[]);
    for section in [
        "1. Scope",
        "2. Method",
        "3. Maturity",
        "4. Evidence per requirement",
        "5. Inventory",
        "6. Changes",
        "7. Vulnerabilities",
        "8. Attestations",
        "Appendix: catalog and thresholds",
    ] {
        assert!(html.contains(&format!(">{section}</h2>")), "{section}");
    }
    assert!(html.contains("<td>firmware_change</td><td>Rockwell Automation/Allen-Bradley 1756-ENBT/A 0x0051aec3</td><td>4.003</td><td>4.007</td>"));
    // Each score with the coverage of the current period.
    assert!(html.contains("<th>Coverage (current period)</th>"));
    assert!(
        html.contains("; sensor placement not declared; days with data 2/10000</td>"),
        "{html}"
    );
    assert!(
        !html.contains("<script"),
        "no scripts: the page is self-contained"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing fetched"
    );

    let json: serde_json::Value = serde_json::from_str(&report("report.json", &[])).unwrap();
    assert_eq!(json["assessment"]["scores"].as_array().unwrap().len(), 38);
    assert_eq!(json["inventory"].as_array().unwrap().len(), assets);
    assert_eq!(json["scope"]["agents"].as_array().unwrap().len(), 2);

    let one: serde_json::Value =
        serde_json::from_str(&report("cm.json", &["--requirement", "cm-1.4"])).unwrap();
    assert_eq!(one["scope"]["requirements"], serde_json::json!(["CM 1.4"]));

    let scores = report("scores.csv", &[]);
    assert_eq!(scores.lines().count(), 1 + 38);
    assert!(scores.starts_with("requirement,title,group,spe,level,practice,documentary,observability,conformance,metric,satisfied,violated,unknown\n"));
    let inventory = report("inventory.csv", &["--table", "inventory"]);
    assert_eq!(inventory.lines().count(), 1 + assets);
    assert!(
        inventory.contains(",mac:00:00:bc:3e:eb:e4,Rockwell Automation/Allen-Bradley,1756-ENBT/A,4.007,")
    );
}

#[test]
fn an_auditor_rescores_a_bundle_and_an_altered_outcome_is_named() {
    let (data, work, bundle) = firmware_bundle();
    let d = data.path();
    let key = format!("{d}/pki/evidence.pub");
    let rescore = |path: &std::path::Path| {
        let out = run(
            "shoko-collector",
            &[
                "verify-bundle",
                path.to_str().unwrap(),
                "--key",
                &key,
                "--rescore",
            ],
        );
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    // The bundle's scores carry each period's coverage statement.
    let clean = unpack(&bundle, work.path(), "clean");
    let scores: serde_json::Value =
        serde_json::from_slice(&std::fs::read(clean.join("scores.json")).unwrap()).unwrap();
    assert!(
        scores["scores"][0]["periods"][0]["coverage_statement"]
            .as_str()
            .unwrap()
            .ends_with("; sensor placement not declared; days with data 2/10000")
    );
    // Untouched: every level recomputed from the recorded outcomes alone equals the recorded one.
    // The changes were detected now and are within their SLA (pending, not counted): CM 1.4 has
    // no subject yet; no zones are declared for NET 1.1.
    let (code, text) = rescore(&bundle);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.starts_with("CM 1.4 equal insufficient-evidence\nNET 1.1 equal insufficient-evidence\n"),
        "{text}"
    );

    // An insider turns the pending changes into acknowledged ones in the recorded outcomes and
    // re-signs the manifest with the collector's own key: every digest and the signature hold,
    // the re-scoring names CM 1.4.
    let dir = unpack(&bundle, work.path(), "altered");
    let path = dir.join("rescore.json");
    let mut input: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let mut flipped = 0;
    for period in input["findings"].as_array_mut().unwrap() {
        for f in period.as_array_mut().unwrap() {
            if f["requirement"] == "CM 1.4" && f["outcome"] == "pending" {
                f["outcome"] = "satisfied".into();
                flipped += 1;
            }
        }
    }
    assert!(flipped > 0);
    let bytes = serde_json::to_vec_pretty(&input).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    let manifest_path = dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    for f in manifest["files"].as_array_mut().unwrap() {
        if f["path"] == "rescore.json" {
            use sha2::Digest;
            f["sha256"] = hex::encode(sha2::Sha256::digest(&bytes)).into();
            f["bytes"] = bytes.len().into();
        }
    }
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).unwrap();
    std::fs::write(&manifest_path, &manifest_bytes).unwrap();
    let signing = shoko_collector::pki::signing::SigningKey::load_or_create(
        &shoko_collector::pki::PkiPaths::new(std::path::Path::new(&d)),
    )
    .unwrap();
    std::fs::write(
        dir.join("manifest.sig"),
        format!("{}\n", hex::encode(signing.sign(&manifest_bytes))),
    )
    .unwrap();
    assert_eq!(
        verify(&dir, &key),
        (Some(0), vec![]),
        "the bundle itself verifies"
    );
    let (code, text) = rescore(&dir);
    assert_eq!(code, Some(4), "{text}");
    assert!(
        text.starts_with(
            "CM 1.4 DIFFERENT level: recorded insufficient-evidence, recomputed ML1; practice: recorded insufficient-evidence, recomputed ML1; evidence digest: the recorded outcomes are not those the score was computed from\nNET 1.1 equal insufficient-evidence\n"
        ),
        "{text}"
    );
}
