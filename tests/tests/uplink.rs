//! End to end: a real collector process and a real agent process on 127.0.0.1, with certificates
//! from `init`/`enroll`, delivering a real capture.

use shoko_tests::*;
use std::collections::BTreeSet;

/// The Modbus/TCP servers of mb2.pcap: every IP answering from TCP port 502 (tshark agrees:
/// `tshark -r mb2.pcap -Y 'tcp.srcport==502' -T fields -e ip.src | sort -u`).
const MB2_MODBUS_SERVERS: [&str; 13] = [
    "141.81.0.104",
    "141.81.0.143",
    "141.81.0.144",
    "141.81.0.163",
    "141.81.0.164",
    "141.81.0.24",
    "141.81.0.26",
    "141.81.0.44",
    "141.81.0.46",
    "141.81.0.64",
    "141.81.0.66",
    "141.81.0.84",
    "141.81.0.86",
];

fn modbus_servers(assets: &serde_json::Value) -> BTreeSet<String> {
    assets
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["services"].as_array().unwrap().iter())
        .filter(|s| s["port"] == 502 && s["transport"] == "tcp" && s["protocol"] == "modbus")
        .map(|s| s["ip"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn agent_process_delivers_mb2_modbus_servers_to_collector_process() {
    let data = DataDir::init();
    let bundle = data.enroll("sensor-01");
    let collector = CollectorProcess::start(&data);
    let pcap = dev_capture("ITI_ICS-Security-Tools/pcaps/ModbusTCP/mb2.pcap");
    let out = agent_send(&bundle, collector.ingest, &pcap);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let assets = collector.get_json("/api/v1/assets");
    let expected: BTreeSet<String> = MB2_MODBUS_SERVERS.iter().map(|s| s.to_string()).collect();
    assert_eq!(modbus_servers(&assets), expected);
    // 52 MACs in the capture (tshark counts the same), no router among them.
    assert_eq!(assets.as_array().unwrap().len(), 52);
    let plc = assets
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["ips"].as_array().unwrap().iter().any(|i| i == "141.81.0.24"))
        .unwrap();
    assert_eq!(plc["macs"], serde_json::json!(["00:03:1d:08:5b:00"]));
    let status = collector.get_json("/api/v1/status");
    assert_eq!(status["agents"], 1);
    assert_eq!(status["batches"], 1);

    // The CLI lists the same assets as the API.
    let listed = run_ok("shoko-collector", &["assets", "--data", &data.path(), "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed, assets);

    // Sending the same capture again stores a second batch (new sequence number), but fuses into the
    // same assets.
    let out = agent_send(&bundle, collector.ingest, &pcap);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(collector.get_json("/api/v1/status")["batches"], 2);
    assert_eq!(collector.get_json("/api/v1/assets").as_array().unwrap().len(), 52);
    let metrics = collector.get_text("/metrics");
    assert!(
        metrics.contains("shoko_ingest_batches_stored_total 2"),
        "{metrics}"
    );
}

#[test]
fn demo_runs_and_stores_the_synthetic_plant() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let out = run_ok(
        "shoko-collector",
        &["demo", "--data", &data.display().to_string()],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Stored: 12 assets, 29 observations in 1 batches from 1 agent(s)."),
        "{text}"
    );
    let listed = run_ok(
        "shoko-collector",
        &["assets", "--data", &data.display().to_string(), "--json"],
    );
    let assets: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let services = service_strings(&assets);
    let expected: BTreeSet<String> = [
        "10.10.1.30 tcp/1433 mssql",
        "10.10.2.21 tcp/502 modbus",
        "10.10.2.22 tcp/102 s7comm",
        "10.10.2.23 udp/44818 enip",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(services, expected);
    let router = assets
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["router"] == true)
        .unwrap();
    assert_eq!(router["macs"], serde_json::json!(["00:00:0c:9f:f0:01"]));
    assert_eq!(router["ips"], serde_json::json!(["10.10.1.1"]));
    // Enterprise clients behind the router are assets of their own, without the router's MAC.
    let routed: Vec<_> = assets
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["macs"].as_array().unwrap().is_empty())
        .collect();
    assert_eq!(routed.len(), 5);
    // Running the demo again reuses the directory and keeps the same assets.
    let again = run_ok(
        "shoko-collector",
        &["demo", "--data", &data.display().to_string()],
    );
    assert!(
        String::from_utf8(again.stdout)
            .unwrap()
            .contains("Stored: 12 assets, 58 observations in 2 batches from 1 agent(s).")
    );
}
