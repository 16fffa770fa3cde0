//! Rule findings and scores from real captures and declared zones: mb2.pcap's Modbus master
//! (141.81.0.10) polls a PLC (141.81.0.86) while enterprise hosts reach the master (NET 1.1, its
//! score and explanation); the ControlLogix firmware update of the 2008 EtherNet/IP captures is a
//! change that must be acknowledged within 7 days (CM 1.4); SSHv2.cap's session into a control cell
//! comes from a jump host or not (NET 3.2, 3.3) and HTTP.cap's web server is cleartext
//! administration (COMP 1.1).

use serde_json::Value;
use shoko_tests::*;

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
        "--period",
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
    let (data, _collector) = collector_with_captures(&[MB2], &mb2_zones("control"));
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
        &["findings", "--data", &d, "--period", "10000", "--json"],
    );
    let all: Value = serde_json::from_slice(&out.stdout).unwrap();
    let http = all
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["subject"] == "141.81.0.182 -> 141.81.0.10 tcp/80"
                && f["rule"] == "net-1.1/no-enterprise-to-control"
        })
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
    let (data, _collector) = collector_with_captures(&[MB2], &zones);
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
    let (data, collector) = collector_with_captures(&captures, "");
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
        ("pending".into(), "awaiting acknowledgement (0 of 7 days)".into())
    );
    // Left open: eight days on, a violation.
    let later = shoko_proto::Timestamp(shoko_proto::Timestamp::now().0 + 8 * 86_400_000_000_000).to_string();
    assert_eq!(
        firmware(&later),
        ("violated".into(), "open for 8 days, past the 7-day SLA".into())
    );
    // Acknowledged today under a change reference: satisfied in this period.
    let change = collector.get_json("/api/v1/changes?kind=firmware_change")[0]["id"].to_string();
    acknowledge(&data.path(), &change, "MOC-2008-117", "j.smith");
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

#[test]
fn assess_rates_net_1_1_from_the_findings_and_explain_shows_the_violations_with_their_evidence() {
    let (data, _collector) = collector_with_captures(&[MB2], &mb2_zones("control"));
    let d = data.path();
    let explain = |json: bool| {
        let mut args = vec!["explain", "NET-1.1", "--data", &d, "--period", "10000d"];
        if json {
            args.push("--json");
        }
        run_ok("shoko-collector", &args).stdout
    };
    let e: Value = serde_json::from_slice(&explain(true)).unwrap();
    let score = &e["score"];
    assert_eq!(
        (&score["level"], &score["practice"], &score["documentary"]),
        (&"ML1".into(), &"ML1".into(), &Value::Null)
    );
    let now = &score["periods"][0];
    let count = |k: &str| now[k].as_i64().unwrap();
    assert_eq!(
        [
            count("subjects"),
            count("satisfied"),
            count("violated"),
            count("unknown")
        ],
        [69, 21, 48, 0]
    );
    assert_eq!(now["observability"], 1.0);
    assert_eq!(
        e["rules"],
        serde_json::json!([{"rule": "net-1.1/no-enterprise-to-control", "satisfied": 21, "violated": 48, "unknown": 0, "pending": 0}])
    );
    let violations = e["findings"].as_array().unwrap();
    assert_eq!(violations.len(), 48);
    assert!(violations.iter().all(|f| f["outcome"] == "violated"));
    // Office hosts talking straight to the master: a critical violation, listed first with the
    // number of others (the 14 office conversations of the 48 violations).
    let critical = score["reasons"][0].as_str().unwrap();
    assert!(
        critical.starts_with(&format!(
            "critical violation in period {}: ",
            label_of(&now["period"])
        )) && critical
            .ends_with("not through a DMZ (and 13 more): rated ML1 at most until 4 periods pass without one"),
        "{critical}"
    );
    assert_eq!(score["critical"].as_array().unwrap().len(), 14);
    // Only one period holds evidence: conformance 0.30 < 0.95 already in the latest.
    assert_eq!(
        score["reasons"][2],
        format!(
            "period {}: conformance 0.30 (ML3 needs 0.95), observability 1.00 (needs 0.8): not ML3",
            label_of(&now["period"])
        )
    );
    assert_eq!(
        now["coverage_statement"],
        "hosts with agents 0/4; sensor placement not declared; days with data 1/10000"
    );
    let text = String::from_utf8(explain(false)).unwrap();
    assert!(
        text.contains(
            "\n      coverage: hosts with agents 0/4; sensor placement not declared; days with data 1/10000\n"
        ),
        "{text}"
    );
    assert!(text.starts_with("NET 1.1 Segmentation from non-IACS zones (group NET 1, SPE NET; telemetry)\nlevel ML1 (practice ML1, documentary -)\n"), "{text}");
    let http = text
        .lines()
        .position(|l| l.starts_with("  Violated 141.81.0.182 -> 141.81.0.10 tcp/80: "))
        .expect("the HTTP session is listed");
    assert!(
        text.lines()
            .nth(http + 1)
            .unwrap()
            .trim_start()
            .starts_with("1 flows 141.81.0.182 -> 141.81.0.10 tcp/80"),
        "{text}"
    );

    // Documented for the group: still ML1 (a document does not lift a critical violation), saved
    // with the evidence digest `--json` shows.
    let doc = data.dir.path().join("segmentation.pdf");
    std::fs::write(&doc, b"zones and conduits").unwrap();
    run_ok(
        "shoko-collector",
        &[
            "attest",
            "document",
            "--data",
            &d,
            "--requirement",
            "NET-1",
            "--title",
            "Zones and conduits",
            "--version",
            "4",
            "--owner",
            "OT security",
            "--approved",
            "2026-01-15",
            "--next-review",
            "2099-01-15",
            "--file",
            doc.to_str().unwrap(),
            "--by",
            "j.doe",
        ],
    );
    // Four eyes: the document counts once a second administrator countersigns it.
    countersign_as_second_admin(&d, 1);
    // The same evidence and periods (`--at`) give the same digest.
    let at = shoko_proto::Timestamp::now().to_string();
    let out = run_ok(
        "shoko-collector",
        &["assess", "--data", &d, "--period", "10000d", "--at", &at],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let row = text.lines().find(|l| l.starts_with("NET 1.1 ")).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells[2..9],
        ["ML1", "ML1", "ML2", "1.00", "0.30", "21/48/0", "Segmentation"]
    );
    assert!(text.trim_end().ends_with("saved as assessment 1"), "{text}");
    let out = run_ok(
        "shoko-collector",
        &[
            "assess",
            "--data",
            &d,
            "--period",
            "10000d",
            "--at",
            &at,
            "--json",
            "--no-save",
        ],
    );
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["scores"].as_array().unwrap().len(), 38);
    let net11 = a["scores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["requirement"] == "NET 1.1")
        .unwrap();
    let reasons: Vec<&str> = net11["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("documented, critical violation in period ") && r.ends_with(": ML1")),
        "{reasons:?}"
    );
    assert!(text.contains(&format!("evidence digest {}", a["digest"].as_str().unwrap())));
}

/// `YYYY-MM-DD..YYYY-MM-DD` of a period in JSON.
fn label_of(period: &Value) -> String {
    let day = |k: &str| period[k].as_str().unwrap()[..10].to_string();
    format!("{}..{}", day("start"), day("end"))
}

const SSH: &str = "epiecs_packetlife-backup/pcaps/SSHv2.cap";
const HTTP: &str = "epiecs_packetlife-backup/pcaps/HTTP.cap";

/// The SSH server of SSHv2.cap in a control cell, its client in the office (or a jump host), and
/// HTTP.cap's web server in a field panel zone.
fn access_zones(jump_host: bool) -> String {
    format!(
        r#"
[plant]
jump_hosts = [{}]

[[zone]]
name = "cell"
kind = "control"
cidrs = ["10.0.0.2/32"]

[[zone]]
name = "office"
kind = "enterprise"
cidrs = ["10.0.0.1/32", "192.168.1.0/24"]

[[zone]]
name = "panel"
kind = "field"
cidrs = ["174.143.213.184/32"]
"#,
        if jump_host { "\"10.0.0.1\"" } else { "" }
    )
}

#[test]
fn cleartext_web_administration_and_remote_access_from_outside_the_jump_hosts_on_real_captures() {
    let (data, _collector) = collector_with_captures(&[SSH, HTTP], &access_zones(false));
    let s = |v: &str| v.to_string();
    assert_eq!(
        findings(&data, "COMP-1.1", "10000", ""),
        [
            (
                s("10.0.0.2 tcp/22 ssh"),
                s("satisfied"),
                s("not a cleartext management protocol")
            ),
            (
                s("174.143.213.184 tcp/80 http"),
                s("violated"),
                s("HTTP without TLS: web administration and its credentials in clear text")
            ),
        ]
    );
    let remote: Vec<(String, String, String)> = findings(&data, "NET-3.2", "10000", "");
    assert_eq!(
        remote,
        [(
            s("10.0.0.1 -> 10.0.0.2 tcp/22"),
            s("violated"),
            s("ssh into cell (control) from office (enterprise) (10.0.0.1), not a jump host")
        )]
    );
    let sessions = findings(&data, "NET-3.3", "10000", "");
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].1, "satisfied");
    assert!(
        sessions[0].2.starts_with("ssh active for at most 0.0 h"),
        "{sessions:?}"
    );

    // The same client declared a jump host: satisfied.
    let (data, _collector) = collector_with_captures(&[SSH], &access_zones(true));
    assert_eq!(
        findings(&data, "NET-3.2", "10000", ""),
        [(
            s("10.0.0.1 -> 10.0.0.2 tcp/22"),
            s("satisfied"),
            s("ssh from jump host 10.0.0.1")
        )]
    );
}
