//! Rule findings from real captures and declared zones: mb2.pcap's Modbus master (141.81.0.10)
//! polls a PLC (141.81.0.86) while enterprise hosts reach the master; the ControlLogix firmware
//! update of the 2008 EtherNet/IP captures is a change that must be acknowledged within 7 days.

use serde_json::Value;
use shoko_tests::*;

/// A collector holding the captures, with `zones` as its declared zones.
fn collector_with(captures: &[&str], zones: &str) -> (DataDir, CollectorProcess) {
    let data = DataDir::init();
    if !zones.is_empty() {
        std::fs::write(data.dir.path().join("zones.toml"), zones).unwrap();
        let cfg = data.dir.path().join("collector.toml");
        let text = std::fs::read_to_string(&cfg).unwrap() + "\nzones = \"zones.toml\"\n";
        std::fs::write(&cfg, text).unwrap();
    }
    let collector = CollectorProcess::start(&data);
    for (i, rel) in captures.iter().enumerate() {
        let out = agent_send(
            &data.enroll(&format!("sensor-{i}")),
            collector.ingest,
            &dev_capture(rel),
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    (data, collector)
}

/// The findings of one requirement as (subject, outcome, detail), over the last `days` days
/// before `at` (now when empty).
fn findings(data: &DataDir, requirement: &str, days: &str, at: &str) -> Vec<(String, String, String)> {
    let d = data.path();
    let mut args = vec![
        "findings",
        "--data",
        &d,
        "--requirement",
        requirement,
        "--period-days",
        days,
        "--json",
    ];
    if !at.is_empty() {
        args.extend(["--at", at]);
    }
    let out = run_ok("shoko-collector", &args);
    let all: Value = serde_json::from_slice(&out.stdout).unwrap();
    all.as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().to_string();
            (s("subject"), s("outcome"), s("detail"))
        })
        .collect()
}

const MB2: &str = "ITI_ICS-Security-Tools/pcaps/ModbusTCP/mb2.pcap";

/// mb2's devices in one field cell, its master in a control zone (or a DMZ), and the two hosts
/// that open sessions to the master in the office.
fn mb2_zones(master_kind: &str) -> String {
    format!(
        r#"
[[zone]]
name = "cell"
kind = "field"
cidrs = ["141.81.0.0/24"]

[[zone]]
name = "master"
kind = "{master_kind}"
cidrs = ["141.81.0.10/32"]

[[zone]]
name = "office"
kind = "enterprise"
cidrs = ["141.81.0.182/32", "141.81.0.187/32"]

[[conduit]]
name = "polling"
zones = ["master", "cell"]
services = ["tcp/502", "tcp/102"]
"#
    )
}

#[test]
fn enterprise_hosts_reaching_the_master_violate_net_1_1() {
    let (data, _collector) = collector_with(&[MB2], &mb2_zones("control"));
    let got = findings(&data, "NET-1.1", "10000", "");
    let with = |outcome: &str, detail: &str| -> Vec<&str> {
        got.iter()
            .filter(|(_, o, d)| o == outcome && d.contains(detail))
            .map(|(s, _, _)| s.as_str())
            .collect()
    };
    // The office hosts' sessions with the master, either way: violations.
    let direct = with("violated", "directly, not through a DMZ");
    assert_eq!(direct.len(), 14, "{direct:#?}");
    assert!(
        direct
            .iter()
            .all(|s| s.contains("141.81.0.182") || s.contains("141.81.0.187"))
    );
    for s in [
        "141.81.0.182 -> 141.81.0.10 tcp/80",
        "141.81.0.187 -> 141.81.0.10 tcp/135",
    ] {
        assert!(direct.contains(&s), "{s}");
    }
    // Polling on the conduit's services is satisfied: the master's Modbus and S7 sessions to
    // 21 devices (tshark: 25 device/port pairs; the other 4 are seen only after their start, so
    // the sensor takes the device for the originator, and they fall under "not a service").
    let polled = with("satisfied", "on conduit polling");
    assert_eq!(polled.len(), 21);
    assert!(
        polled
            .iter()
            .all(|s| s.starts_with("141.81.0.10 -> ") && (s.ends_with("tcp/502") || s.ends_with("tcp/102")))
    );
    assert_eq!(with("violated", "is not a service of conduit polling").len(), 34);
    assert_eq!(got.len(), 14 + 21 + 34);

    // The evidence of a violation: its flows, hour by hour (one HTTP session: tshark shows its
    // SYN sent three times from port 4549).
    let d = data.path();
    let out = run_ok(
        "shoko-collector",
        &["findings", "--data", &d, "--period-days", "10000", "--json"],
    );
    let all: Value = serde_json::from_slice(&out.stdout).unwrap();
    let http = all
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["subject"] == "141.81.0.182 -> 141.81.0.10 tcp/80")
        .unwrap();
    assert_eq!(http["requirement"], "NET 1.1");
    let flows: i64 = http["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["flows"].as_i64().unwrap())
        .sum();
    assert_eq!(flows, 1);
    assert!(
        http["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["type"] == "flows" && e["port"] == 80)
    );
}

#[test]
fn the_same_master_in_a_dmz_on_a_declared_conduit_satisfies_net_1_1() {
    let zones = mb2_zones("dmz").replace("services = [\"tcp/502\", \"tcp/102\"]\n", "");
    let (data, _collector) = collector_with(&[MB2], &zones);
    let got = findings(&data, "NET-1.1", "10000", "");
    // The office reaches a DMZ host, not the IACS; the DMZ reaches the cell on a declared conduit.
    assert_eq!(got.len(), 21 + 34);
    assert!(
        got.iter()
            .all(|(_, o, d)| o == "satisfied" && d.ends_with("on conduit polling")),
        "{got:#?}"
    );
}

#[test]
fn a_firmware_change_must_be_acknowledged_within_seven_days() {
    let captures = [
        "ITI_ICS-Security-Tools/pcaps/openics/EIP-FirmwareChange.pcap",
        "ITI_ICS-Security-Tools/pcaps/openics/EIP-IPAddressChangeAttempt.pcap",
    ];
    let (data, collector) = collector_with(&captures, "");
    let firmware = |at: &str| -> (String, String) {
        findings(&data, "CM-1.4", "7", at)
            .into_iter()
            .find(|(s, _, _)| s.contains("firmware_change"))
            .map(|(_, o, d)| (o, d))
            .unwrap_or_else(|| panic!("no firmware_change finding at {at:?}"))
    };
    // Detected now: within its SLA, awaiting acknowledgement.
    assert_eq!(
        firmware(""),
        ("unknown".into(), "awaiting acknowledgement (0 of 7 days)".into())
    );
    // Left open: eight days on, a violation.
    let later = shoko_proto::Timestamp(shoko_proto::Timestamp::now().0 + 8 * 86_400_000_000_000).to_string();
    assert_eq!(
        firmware(&later),
        ("violated".into(), "open for 8 days, past the 7-day SLA".into())
    );
    // Acknowledged today under a change reference: satisfied in this period.
    let change = collector.get_json("/api/v1/changes?kind=firmware_change")[0]["id"].to_string();
    let d = data.path();
    run_ok(
        "shoko-collector",
        &[
            "decide",
            "--data",
            &d,
            "--change",
            &change,
            "--reference",
            "MOC-2008-117",
            "--by",
            "j.smith",
        ],
    );
    assert_eq!(
        firmware(""),
        (
            "satisfied".into(),
            "acknowledged after 0 days under MOC-2008-117".into()
        )
    );
    // Decided, it is settled: no longer a subject of the periods after the decision.
    let settled = findings(&data, "CM-1.4", "7", &later);
    assert!(
        settled.iter().all(|(s, _, _)| !s.contains("firmware_change")),
        "{settled:#?}"
    );
}
