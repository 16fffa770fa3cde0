//! `shoko-agent analyze` as a user runs it: real captures in, the inventory document out, and exit
//! codes that say what went wrong.

use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/pcaps")
        .join(rel)
}

fn analyze(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shoko-agent"))
        .arg("analyze")
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn document(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn mb2_inventory_matches_tshark() {
    let out = analyze(&[
        "--pcap",
        shared("dev/ITI_ICS-Security-Tools/pcaps/ModbusTCP/mb2.pcap")
            .to_str()
            .unwrap(),
    ]);
    let doc = document(&out);
    // tshark 4.0 on the same file: 13472 frames, 52 MACs, first/last frame times.
    assert_eq!(doc["stats"]["packets"], 13472);
    assert_eq!(doc["stats"]["decode_errors"], 0);
    assert_eq!(doc["stats"]["first_packet"], "2012-11-12T13:22:09.252792Z");
    assert_eq!(doc["stats"]["last_packet"], "2012-11-12T13:22:30.581378Z");
    let assets = doc["assets"].as_array().unwrap();
    assert_eq!(assets.len(), 52);
    let hp = assets
        .iter()
        .find(|a| a["macs"][0] == "78:e7:d1:e0:02:5e")
        .unwrap();
    assert_eq!(hp["ips"], serde_json::json!(["141.81.0.10"]));
    // Every write event of the capture is done by the HMI (ics.rs counts them by kind).
    let events = doc["events"].as_array().unwrap();
    assert!(!events.is_empty());
    assert!(events.iter().all(|e| e["actor"]["ip"] == "141.81.0.10"));
    assert!(!doc["flows"].as_array().unwrap().is_empty());
}

#[test]
fn every_shared_capture_is_read_without_failure() {
    let mut files = Vec::new();
    let mut stack = vec![shared("")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("pcap" | "pcapng" | "cap")
            ) {
                files.push(p);
            }
        }
    }
    files.sort();
    assert_eq!(files.len(), 55, "35 dev, 17 dev2 and 3 bench captures");
    for f in &files {
        let out = analyze(&["--pcap", f.to_str().unwrap(), "--json", "/dev/null"]);
        if f.ends_with("iphttps.cap") {
            // Microsoft Network Monitor 2.x, not pcap: refused with a clear reason.
            assert_eq!(out.status.code(), Some(3));
            assert!(String::from_utf8_lossy(&out.stderr).contains(
                "iphttps.cap: not a pcap or pcapng file (starts with 474d4255): a Microsoft Network Monitor capture"
            ));
            continue;
        }
        assert!(
            out.status.success(),
            "{}: {}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn unsupported_link_types_are_counted_not_fatal() {
    // 802.15.4 (Zigbee) capture: read, every frame counted under its link type.
    let out = analyze(&[
        "--pcap",
        shared("dev/ITI_ICS-Security-Tools/pcaps/Zigbee/control4-sample.pcap")
            .to_str()
            .unwrap(),
    ]);
    let doc = document(&out);
    let packets = doc["stats"]["packets"].as_u64().unwrap();
    assert!(packets > 0);
    let unsupported = doc["stats"]["unsupported_link_types"].as_object().unwrap();
    assert_eq!(
        unsupported.values().map(|v| v.as_u64().unwrap()).sum::<u64>(),
        packets
    );
    assert_eq!(doc["assets"], serde_json::json!([]));
}

#[test]
fn missing_and_non_capture_files_exit_3_with_the_reason() {
    let out = analyze(&["--pcap", "/nonexistent/x.pcap"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent/x.pcap: No such file or directory"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.pcap");
    std::fs::write(&text, "hello, this is not a capture").unwrap();
    let out = analyze(&["--pcap", text.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("notes.pcap: not a pcap or pcapng file (starts with 68656c6c)"),
        "{err}"
    );

    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, "").unwrap();
    let out = analyze(&["--pcap", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty file"));
}

#[test]
fn truncated_file_is_used_up_to_the_damage() {
    let src = std::fs::read(shared("dev/ITI_ICS-Security-Tools/pcaps/ModbusTCP/mb2.pcap")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &src[..100_000]).unwrap();
    let out = analyze(&["--pcap", cut.to_str().unwrap()]);
    let doc = document(&out);
    let file = &doc["stats"]["files"][0];
    let packets = file["packets"].as_u64().unwrap();
    assert!(packets > 100 && packets < 13472, "{packets}");
    assert_eq!(
        file["damaged"],
        format!("after {packets} frames: file ends in the middle of a record (truncated)")
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("capture file damaged"));
}

#[test]
fn conn_log_of_mb2_matches_tshark_conversations() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("conn.log");
    let pcap = shared("dev/ITI_ICS-Security-Tools/pcaps/ModbusTCP/mb2.pcap");
    let out = analyze(&[
        "--pcap",
        pcap.to_str().unwrap(),
        "--json",
        "/dev/null",
        "--conn-log",
        log.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "#separator \\x09");
    assert_eq!(lines[4], "#path\tconn");
    assert_eq!(
        lines[6],
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents"
    );
    assert!(lines.last().unwrap().starts_with("#close\t"));
    let rows: Vec<Vec<&str>> = lines
        .iter()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect())
        .collect();
    assert!(rows.iter().all(|r| r.len() == 21));
    // `tshark -n -q -z conv,tcp` and `-z conv,udp` on mb2.pcap list 80 and 3 conversations.
    let count = |p: &str| rows.iter().filter(|r| r[6] == p).count();
    assert_eq!((count("tcp"), count("udp"), count("icmp")), (80, 3, 2));
    let row = rows
        .iter()
        .find(|r| r[2] == "141.81.0.10" && r[3] == "60689")
        .unwrap();
    assert_eq!(
        row[4..].join(" "),
        "141.81.0.86 502 tcp modbus 5.558624 378 955 OTH - - 0 DadAFfR 19 1138 17 1635 -"
    );
    assert!(row[1].starts_with('C') && row[1].len() == 18);
}

#[test]
fn pcapng_times_reach_stats_assets_flows_identities_and_events() {
    // pcapng files at the default microsecond resolution: these were dated January 1970 when
    // their timestamps were read as nanoseconds. Every expected time below is tshark's
    // frame.time_epoch of the frames concerned (tshark 4.0).
    let doc = document(&analyze(&[
        "--pcap",
        shared("dev/ITI_ICS-Security-Tools/pcaps/s7/S7Comm/wrapup.pcapng")
            .to_str()
            .unwrap(),
    ]));
    assert_eq!(doc["stats"]["first_packet"], "2018-07-30T07:29:11.862175Z");
    assert_eq!(doc["stats"]["last_packet"], "2018-07-30T07:31:09.777683Z");
    // The PMU: frames it sent (eth.src == 00:25:65:00:2b:b2), 5568 of them.
    let pmu = doc["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["ips"][0] == "192.168.0.17")
        .unwrap();
    assert_eq!(
        (&pmu["first_seen"], &pmu["last_seen"], &pmu["packets"]),
        (
            &json!("2018-07-30T07:29:15.433655Z"),
            &json!("2018-07-30T07:31:07.639656Z"),
            &json!(5568)
        )
    );
    // Its C37.118 connection (tcp.port == 4712): first and last frame in either direction.
    let flow = doc["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["resp"]["port"] == 4712)
        .unwrap();
    assert_eq!(
        (&flow["first_seen"], &flow["last_seen"]),
        (
            &json!("2018-07-30T07:29:15.433011Z"),
            &json!("2018-07-30T07:31:07.639656Z")
        )
    );

    // Modbus writes in the pcapng bench capture: "write single register" from the master
    // (modbus.func_code == 6 && ip.src == 192.168.43.148), 20 requests.
    let doc = document(&analyze(&[
        "--pcap",
        shared("bench/channel_5d_3s.pcap").to_str().unwrap(),
        "--json",
        "-",
    ]));
    let write = doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["details"]["function"] == "6")
        .unwrap();
    assert_eq!(
        (&write["first_seen"], &write["last_seen"], &write["count"]),
        (
            &json!("2015-04-24T00:22:07.358633Z"),
            &json!("2015-04-24T00:45:00.160407Z"),
            &json!(20)
        )
    );

    // A GOOSE publisher's identity (goose.goID == "TxGOOSE1_859"): two frames.
    let doc = document(&analyze(&[
        "--pcap",
        shared("dev2/ControlThings-io_ct-samples/Protocols/IEC61850/GOOSE/GE - Multilin UR - Digital Protection Relay/GOOSE and MMS.pcapng")
            .to_str()
            .unwrap(),
    ]));
    let goose = doc["assets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["identities"].as_array().unwrap())
        .find(|i| i["attributes"]["go_id"] == "TxGOOSE1_859")
        .unwrap();
    assert_eq!(
        (&goose["first_seen"], &goose["last_seen"], &goose["count"]),
        (
            &json!("2023-04-27T17:26:41.416418Z"),
            &json!("2023-04-27T17:26:51.419600Z"),
            &json!(2)
        )
    );
}
