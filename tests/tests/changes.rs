//! Change records from real captures: the same ControlLogix Ethernet module (1756-ENBT/A, serial
//! 0x0051aec3, MAC 00:00:bc:3e:eb:e4) reports firmware 4.003 in a capture of September 2008 and
//! 4.007 in one of November 2008; delivered by two sensors, it is one asset with one
//! firmware-change record linking both observations. Delivered newest first, the older claim
//! changes nothing. Every asset and service first seen is a change too, once. Changes are
//! acknowledged or rejected through the CLI as attested records.

use serde_json::Value;
use shoko_tests::*;

const ENBT: &str = "mac:00:00:bc:3e:eb:e4";

fn deliver(captures: &[&str]) -> (DataDir, CollectorProcess) {
    let data = DataDir::init();
    let collector = CollectorProcess::start(&data);
    for (i, rel) in captures.iter().enumerate() {
        let bundle = data.enroll(&format!("sensor-{i}"));
        let pcap = dev_capture(&format!("ITI_ICS-Security-Tools/pcaps/openics/{rel}"));
        let out = agent_send(&bundle, collector.ingest, &pcap);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    (data, collector)
}

fn asset_id(collector: &CollectorProcess, key: &str) -> i64 {
    let assets = collector.get_json("/api/v1/assets");
    let matching: Vec<&serde_json::Value> = assets
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["key"] == key)
        .collect();
    assert_eq!(matching.len(), 1, "one asset {key}");
    matching[0]["id"].as_i64().unwrap()
}

/// The change records of one kind.
fn changes_of(collector: &CollectorProcess, kind: &str) -> Vec<Value> {
    let all = collector.get_json("/api/v1/changes");
    all.as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind)
        .cloned()
        .collect()
}

#[test]
fn a_firmware_update_between_two_captures_is_one_change_of_one_asset() {
    let (data, collector) = deliver(&["EIP-FirmwareChange.pcap", "EIP-IPAddressChangeAttempt.pcap"]);
    let id = asset_id(&collector, ENBT);
    let changes = changes_of(&collector, "firmware_change");
    assert_eq!(changes.len(), 1, "{changes:?}");
    let c = &changes[0];
    assert_eq!(c["asset_id"].as_i64(), Some(id));
    assert_eq!(c["kind"], "firmware_change");
    assert_eq!(
        c["subject"],
        "Rockwell Automation/Allen-Bradley 1756-ENBT/A 0x0051aec3"
    );
    assert_eq!(
        (c["old_value"].as_str(), c["new_value"].as_str()),
        (Some("4.003"), Some("4.007"))
    );
    assert_eq!(c["status"], "open");
    // The evidence: the observation before and the one after, both stored.
    assert!(c["previous_observation_id"].as_i64().unwrap() < c["observation_id"].as_i64().unwrap());
    // One value after the other: the newer is the asset's firmware, without a conflict; both
    // claims are kept with their sources.
    let detail = collector.get_json(&format!("/api/v1/assets/{id}"));
    assert_eq!(detail["asset"]["attributes"]["firmware"], "4.007");
    assert_eq!(detail["asset"]["conflicts"], serde_json::json!([]));
    let firmware = detail["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "firmware")
        .unwrap();
    let claims: Vec<(&str, &str)> = firmware["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["value"].as_str().unwrap(), c["source"].as_str().unwrap()))
        .collect();
    assert_eq!(
        claims,
        [
            ("4.007", "sensor-1/enip"),
            ("4.007", "sensor-1/cip"),
            ("4.003", "sensor-0/cip")
        ]
    );
    assert_eq!(firmware["conflicting"], serde_json::json!([]));
    // The CLI lists the same best values; filters select by vendor and text.
    let listing = run_ok(
        "shoko-collector",
        &[
            "assets",
            "--data",
            &data.path(),
            "--vendor",
            "allen-bradley",
            "--text",
            "eb:e4",
        ],
    );
    let listing = String::from_utf8_lossy(&listing.stdout);
    let rows: Vec<&str> = listing.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{listing}");
    assert!(
        rows[0].contains("00:00:bc:3e:eb:e4") && rows[0].contains("1756-ENBT/A") && rows[0].contains("4.007"),
        "{listing}"
    );

    // Acknowledged through the CLI while the collector runs, then rejected: the latest stands,
    // with its reference and who decided.
    let (d, change) = (data.path(), c["id"].to_string());
    let decide = |extra: &[&str]| {
        let mut args = vec!["decide", "--data", &d, "--change", &change, "--by", "j.smith"];
        args.extend_from_slice(extra);
        run_ok("shoko-collector", &args)
    };
    let out = decide(&["--reference", "MOC-2008-117"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("change {change} acknowledged")
    );
    let c = &changes_of(&collector, "firmware_change")[0];
    assert_eq!(
        (
            c["status"].as_str(),
            c["reference"].as_str(),
            c["decided_by"].as_str()
        ),
        (Some("acknowledged"), Some("MOC-2008-117"), Some("j.smith"))
    );
    decide(&["--reference", "MOC-2008-118", "--reject"]);
    assert_eq!(changes_of(&collector, "firmware_change")[0]["status"], "rejected");
    let listing = run_ok("shoko-collector", &["changes", "--data", &d]);
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.lines().any(|l| l.contains("firmware_change")
            && l.contains("4.003")
            && l.ends_with("rejected (MOC-2008-118, j.smith)")),
        "{listing}"
    );
    // An unknown change is refused, by name.
    let out = run(
        "shoko-collector",
        &[
            "decide",
            "--data",
            &d,
            "--change",
            "999999",
            "--by",
            "x",
            "--reference",
            "y",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("change 999999: not found"));

    // Retention of everything received until now: every raw observation goes but the evidence of
    // the change records, identities, services and claims; the change keeps both observations.
    // (Received just now, nothing is older than the default 90 days, however old the capture.)
    let before = collector.get_json("/api/v1/status")["observations"]
        .as_u64()
        .unwrap();
    let now = shoko_proto::Timestamp::now().to_string();
    let by_days = run_ok("shoko-collector", &["prune", "--data", &d]);
    let by_days = String::from_utf8_lossy(&by_days.stdout);
    assert!(
        by_days.starts_with("deleted 0 observations received before "),
        "{by_days}"
    );
    let pruned = run_ok("shoko-collector", &["prune", "--data", &d, "--before", &now]);
    let pruned = String::from_utf8_lossy(&pruned.stdout);
    let deleted: u64 = pruned
        .strip_prefix("deleted ")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{pruned}"));
    let after = collector.get_json("/api/v1/status")["observations"]
        .as_u64()
        .unwrap();
    assert!(deleted > 0 && after > 0, "{before} - {deleted} = {after}");
    assert_eq!(before - deleted, after);
    let evidence = collector.get_json(&format!("/api/v1/assets/{id}"))["evidence"].clone();
    let kept: Vec<i64> = evidence
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    let c = &changes_of(&collector, "firmware_change")[0];
    for key in ["observation_id", "previous_observation_id"] {
        assert!(
            kept.contains(&c[key].as_i64().unwrap()),
            "{key} {c} not in {kept:?}"
        );
    }
    let again = run_ok("shoko-collector", &["prune", "--data", &d, "--before", &now]);
    let again = String::from_utf8_lossy(&again.stdout);
    assert_eq!(
        again.trim(),
        format!("deleted 0 observations received before {now}")
    );
}

#[test]
fn an_older_claim_delivered_late_is_no_change() {
    let (_data, collector) = deliver(&["EIP-IPAddressChangeAttempt.pcap", "EIP-FirmwareChange.pcap"]);
    asset_id(&collector, ENBT);
    assert_eq!(changes_of(&collector, "firmware_change"), Vec::<Value>::new());
}

#[test]
fn new_assets_and_services_are_changes_once() {
    let data = DataDir::init();
    let collector = CollectorProcess::start(&data);
    let bundle = data.enroll("sensor-1");
    let pcap = dev_capture("ITI_ICS-Security-Tools/pcaps/ModbusTCP/mb2.pcap");
    let send = || {
        let out = agent_send(&bundle, collector.ingest, &pcap);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    send();
    let assets = collector.get_json("/api/v1/assets");
    let assets = assets.as_array().unwrap();
    let services: usize = assets
        .iter()
        .map(|a| a["services"].as_array().unwrap().len())
        .sum();
    assert_eq!(assets.len(), 52);
    let new_assets = changes_of(&collector, "new_asset");
    assert_eq!(new_assets.len(), 52);
    assert!(new_assets.iter().any(|c| c["subject"] == "mac:00:0e:8c:ed:0e:54"));
    let new_services = changes_of(&collector, "new_service");
    assert_eq!(new_services.len(), services);
    assert!(
        new_services
            .iter()
            .any(|c| c["subject"] == "tcp/502 on 141.81.0.24" && c["new_value"] == "modbus"),
        "{new_services:?}"
    );
    // The same capture again: nothing new.
    let before = collector.get_json("/api/v1/changes").as_array().unwrap().len();
    send();
    assert_eq!(
        collector.get_json("/api/v1/changes").as_array().unwrap().len(),
        before
    );
}

#[test]
fn a_firmware_update_after_the_baseline_is_drift() {
    let (data, collector) = deliver(&["EIP-FirmwareChange.pcap"]);
    let d = data.path();
    let approved = run_ok(
        "shoko-collector",
        &[
            "baseline", "approve", "--data", &d, "--by", "j.smith", "--name", "2008-09", "--vendor",
            "rockwell",
        ],
    );
    let approved = String::from_utf8_lossy(&approved.stdout);
    assert_eq!(
        approved.trim(),
        "baseline 1 \"2008-09\" approved by j.smith: 1 assets"
    );
    let drift = |extra: &[&str]| {
        let mut args = vec![
            "baseline",
            "drift",
            "--data",
            &d,
            "--missing-after-days",
            "100000",
        ];
        args.extend_from_slice(extra);
        run("shoko-collector", &args)
    };
    let clean = drift(&[]);
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    assert!(String::from_utf8_lossy(&clean.stdout).ends_with("no drift\n"));
    // The November capture, from another sensor: new firmware on the baselined module.
    let bundle = data.enroll("sensor-9");
    let pcap = dev_capture("ITI_ICS-Security-Tools/pcaps/openics/EIP-IPAddressChangeAttempt.pcap");
    assert!(agent_send(&bundle, collector.ingest, &pcap).status.success());
    let drifted = drift(&["--json"]);
    assert_eq!(drifted.status.code(), Some(3));
    let report: Value = serde_json::from_slice(&drifted.stdout).unwrap();
    assert_eq!(
        report["baseline"]["scope"],
        serde_json::json!({"vendor": "rockwell"})
    );
    let firmware: Vec<&Value> = report["changed"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["what"] == "attribute:firmware")
        .collect();
    assert_eq!(firmware.len(), 1, "{report}");
    assert_eq!(
        (
            firmware[0]["key"].as_str(),
            firmware[0]["baseline"].as_str(),
            firmware[0]["current"].as_str()
        ),
        (Some(ENBT), Some("4.003"), Some("4.007"))
    );
    assert_eq!(report["missing"], serde_json::json!([]));
    let text = String::from_utf8_lossy(&drift(&[]).stdout).to_string();
    assert!(
        text.lines()
            .any(|l| l.contains("attribute:firmware") && l.contains("4.003") && l.ends_with("4.007")),
        "{text}"
    );
}

#[test]
fn protocol_events_that_change_a_device_are_change_records() {
    // Reads and tag writes in the capture are operations, not changes: only these four are.
    let (_data, collector) = deliver(&["EIP-FirmwareChange.pcap"]);
    let events: Vec<(i64, String, Option<String>)> = changes_of(&collector, "protocol_event")
        .iter()
        .map(|c| {
            (
                c["asset_id"].as_i64().unwrap(),
                c["subject"].as_str().unwrap().to_string(),
                c["new_value"].as_str().map(str::to_string),
            )
        })
        .collect();
    // The firmware update session (CIP class 0xA1, three services) and the reset that follows,
    // from the engineering station, each a change of the Ethernet module.
    let enbt = asset_id(&collector, ENBT);
    let from = "from 192.168.10.105";
    let expected: Vec<(i64, String, Option<String>)> = [
        ("firmware_update", "class=0xa1, service=0x51"),
        ("firmware_update", "class=0xa1, service=0x4b"),
        ("firmware_update", "class=0xa1, service=0x4d"),
        ("reset", "class=0x01, service=0x05"),
    ]
    .into_iter()
    .map(|(kind, details)| (enbt, format!("cip {kind} {from}"), Some(details.to_string())))
    .collect();
    assert_eq!(events, expected);
}
