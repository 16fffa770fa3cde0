//! The industrial dissectors on the real DEV captures, through `shoko-agent analyze --json`:
//! identities field by field, roles, protocol statistics, and the operational events each capture
//! holds. Expected counts were checked against tshark 4.0 on the same files (see each test).

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// The inventory document of one DEV capture.
fn analyze(rel: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/pcaps/dev/ITI_ICS-Security-Tools/pcaps")
        .join(rel);
    let out = Command::new(env!("CARGO_BIN_EXE_shoko-agent"))
        .args(["analyze", "--pcap"])
        .arg(&path)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{rel}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The asset that has `addr` among its IPs or MACs.
fn asset<'a>(doc: &'a Value, addr: &str) -> &'a Value {
    doc["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            ["ips", "macs"]
                .iter()
                .any(|k| a[k].as_array().unwrap().iter().any(|v| v == addr))
        })
        .unwrap_or_else(|| panic!("no asset {addr}"))
}

/// The identities of `protocol` on an asset, as compact `field=value` strings (no evidence).
fn identities(a: &Value, protocol: &str) -> Vec<BTreeMap<String, String>> {
    let mut out: Vec<BTreeMap<String, String>> = a["identities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["protocol"] == protocol)
        .map(|i| {
            let mut m = BTreeMap::new();
            for (k, v) in i.as_object().unwrap() {
                match (k.as_str(), v) {
                    ("attributes", Value::Object(attrs)) => {
                        for (ak, av) in attrs {
                            m.insert(ak.clone(), av.as_str().unwrap().to_owned());
                        }
                    }
                    (_, Value::String(s)) if !k.ends_with("_seen") => {
                        m.insert(k.clone(), s.clone());
                    }
                    _ => {}
                }
            }
            m
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Sum of event counts per (protocol, kind).
fn event_counts(doc: &Value) -> BTreeMap<(String, String), u64> {
    let mut m = BTreeMap::new();
    for e in doc["events"].as_array().unwrap() {
        let key = (
            e["protocol"].as_str().unwrap().to_owned(),
            e["kind"].as_str().unwrap().to_owned(),
        );
        *m.entry(key).or_default() += e["count"].as_u64().unwrap();
    }
    m
}

fn pairs(list: &[(&str, &str, u64)]) -> BTreeMap<(String, String), u64> {
    list.iter()
        .map(|(p, k, n)| (((*p).to_owned(), (*k).to_owned()), *n))
        .collect()
}

/// Whether the asset plays `role` in `protocol`.
fn plays(a: &Value, protocol: &str, role: &str) -> bool {
    a["protocols"][protocol]
        .as_array()
        .is_some_and(|roles| roles.iter().any(|r| r == role))
}

fn has(id: &BTreeMap<String, String>, field: &str, value: &str) -> bool {
    id.get(field).map(String::as_str) == Some(value)
}

#[test]
fn enip_list_identity_and_chassis_modules() {
    let doc = analyze("EthernetIP/enip_test.pcap");
    let ids = identities(asset(&doc, "10.1.1.164"), "enip");
    assert_eq!(ids.len(), 1);
    let id = &ids[0];
    for (f, v) in [
        ("vendor", "Rockwell Automation/Allen-Bradley"),
        ("product", "1756-ENBT/A"),
        ("firmware", "4.003"),
        ("serial", "0x00524d8e"),
        ("device_type", "Communications Adapter"),
        ("product_code", "58"),
    ] {
        assert!(has(id, f, v), "{f} of {id:?}");
    }
    // A ControlLogix chassis behind one ENBT: four modules by slot (tshark: the same four
    // Get_Attributes_All answers).
    let doc = analyze("openics/EIP-IPAddressChangeAttempt.pcap");
    let cip = identities(asset(&doc, "192.168.10.120"), "cip");
    let slots: BTreeMap<&str, (&str, &str, &str)> = cip
        .iter()
        .filter_map(|i| {
            Some((
                i.get("chassis_slot")?.as_str(),
                (
                    i["product"].as_str(),
                    i["firmware"].as_str(),
                    i["serial"].as_str(),
                ),
            ))
        })
        .collect();
    assert_eq!(
        slots,
        BTreeMap::from([
            ("0", ("1756-L61/B LOGIX5561", "16.020", "0x0051823f")),
            ("1", ("1756-ENBT/A", "4.007", "0x0051aec3")),
            ("2", ("MVI56 ProSoft Technology, Inc.", "1.002", "0x0000ad77")),
            ("3", ("MVI56 ProSoft Technology, Inc.", "1.002", "0x0000ad5e")),
        ])
    );
}

#[test]
fn s7_szl_identity_and_mode() {
    let doc = analyze("s7/s7comm_reading_plc_status.pcap");
    let ids = identities(asset(&doc, "192.168.1.40"), "s7comm");
    let one = |f: &str, v: &str| assert!(ids.iter().any(|i| has(i, f, v)), "{f}={v} in {ids:?}");
    one("model", "6ES7 151-8AB01-0AB0");
    one("firmware", "V3.2.6");
    one("boot_loader", "A32.9.9");
    one("serial", "S C-C6TW74882012");
    one("name", "IM151-8-CPU");
    one("product", "IM151-8 PN/DP CPU");
    one("copyright", "Original Siemens Equipment");
    one("operating_mode", "RUN");
    let doc = analyze("s7/tia_s300_goOnline.pcapng");
    let ids = identities(asset(&doc, "134.217.61.211"), "s7comm");
    assert!(
        ids.iter()
            .any(|i| has(i, "model", "6ES7 315-2EH14-0AB0") && has(i, "firmware", "V3.2.7"))
    );
    assert!(ids.iter().any(|i| has(i, "product", "CPU 315-2 PN/DP")
        && has(i, "name", "S7300/ET200M station_1")
        && has(i, "serial", "S C-B1U393142011")
        && has(i, "module_name", "PLC_1")));
}

#[test]
fn profinet_dcp_identify_response_and_set_ip_event() {
    let doc = analyze("profinet/PROFINET-RT-DCP/ChangeIPUsingDCP.pcap");
    let dev = asset(&doc, "08:00:06:93:cf:32");
    let ids = identities(dev, "pn_dcp");
    assert!(ids.iter().any(|i| has(i, "name", "X208-BORD")
        && has(i, "vendor", "Siemens AG")
        && has(i, "device_id", "0x0a01")
        && has(i, "device_type", "IO-Device")));
    assert!(
        dev["ips"]
            .as_array()
            .unwrap()
            .iter()
            .any(|ip| ip == "192.168.0.6")
    );
    let events = doc["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(
        (e["protocol"].as_str(), e["kind"].as_str()),
        (Some("pn_dcp"), Some("set_ip"))
    );
    assert_eq!(e["severity"], "high");
    assert_eq!(e["details"]["value"], "192.168.0.10");
    assert_eq!(e["actor"]["mac"], "00:0c:29:ba:09:ea");
    assert_eq!(e["target"]["mac"], "08:00:06:93:cf:32");
    // Identify requests by name (tshark: 8 in PROFINET-RT.pcap) name nobody.
    let doc = analyze("profinet/PROFINET-RT-DCP/PROFINET-RT.pcap");
    for a in doc["assets"].as_array().unwrap() {
        assert!(identities(a, "pn_dcp").is_empty(), "{a}");
    }
}

#[test]
fn bacnet_mms_goose_device_properties() {
    let doc = analyze("BACnet/bacnet_test.pcap");
    let ids = identities(asset(&doc, "10.1.1.165"), "bacnet");
    let one = |f: &str, v: &str| assert!(ids.iter().any(|i| has(i, f, v)), "{f}={v} in {ids:?}");
    one("vendor", "JCI");
    one("model", "MS-NAE4510-2");
    one("firmware", "5.1.0.4400");
    one("name", "KBRNAE");
    one("device_instance", "4194303");

    let doc = analyze("IEC61850/8d7c7db0-9804-012b-b2a6-0016cb8cea27.pcap");
    for ip in ["10.101.1.2", "10.101.1.3"] {
        let ids = identities(asset(&doc, ip), "mms");
        assert_eq!(ids.len(), 1, "{ip}");
        assert!(has(&ids[0], "vendor", "AREVA T&D Corporation") && has(&ids[0], "model", "e-terracomm"));
        assert!(has(&ids[0], "firmware", "2.3.1"));
    }

    let doc = analyze("IEC61850/GOOSE/GOOSE.pcap");
    let publisher = asset(&doc, "00:a0:f4:08:2f:77");
    assert_eq!(publisher["protocols"]["goose"], serde_json::json!(["publisher"]));
    let ids = identities(publisher, "goose");
    assert!(has(&ids[0], "control_block", "GEDeviceF650/LLN0$GO$gcb01"));
    assert!(has(&ids[0], "go_id", "F650_GOOSE1"));
    // Priority-tagged frames (VLAN 0) are GOOSE too: three publishers in the sample file.
    let doc = analyze("IEC61850/GOOSE/Sample_File_GOOSE.pcap");
    let names: Vec<String> = doc["assets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| identities(a, "goose"))
        .map(|i| i["name"].clone())
        .collect();
    assert_eq!(names, ["AA1C1Q01A1LD0", "AA1C1Q05A1LD0", "AA1C1Q07A1LD0"]);
}

#[test]
fn other_industrial_identities() {
    let doc = analyze("beckoff/beckoffaddroute.pcapng");
    let ids = identities(asset(&doc, "192.168.1.8"), "ads");
    for (product, version, port) in [
        ("PLC Server", "2.11.2103", "800"),
        ("I/O Server", "2.11.2100", "300"),
        ("TwinCAT CE", "2.11.2228", "10000"),
    ] {
        assert!(
            ids.iter().any(|i| has(i, "product", product)
                && has(i, "firmware", version)
                && has(i, "ams_port", port)),
            "{product} in {ids:?}"
        );
    }
    let doc = analyze("hart/hart_ip.pcap");
    let ids = identities(asset(&doc, "192.168.0.10"), "hart");
    assert!(ids.iter().any(|i| has(i, "vendor", "Rosemount")
        && has(i, "manufacturer_id", "0x26")
        && has(i, "expanded_device_type", "0x264e")
        && has(i, "hart_revision", "7")
        && has(i, "serial", "0000d2")));
    let doc = analyze("omron/omron_test.pcap");
    let ids = identities(asset(&doc, "10.1.1.164"), "omron-fins");
    assert!(has(&ids[0], "model", "CP1L-EL20DR-D") && has(&ids[0], "firmware", "01.00"));
    let doc = analyze("fox/fox_info.pcap");
    let ids = identities(asset(&doc, "106.68.88.119"), "niagara-fox");
    assert!(has(&ids[0], "name", "Legion_HQ_V4") && has(&ids[0], "firmware", "3.5.41.1"));
    assert!(has(&ids[0], "os", "QNX") && has(&ids[0], "host_id", "Qnx-NPM6-0000-1490-C30C"));
    // The Workbench client's software from its own hello.
    let client = asset(&doc, "10.1.3.4");
    assert!(
        client["software"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "Niagara Workbench" && s["version"] == "3.7.44")
    );
    let doc = analyze("C37.118/C37118/c37_pmu_unclean.pcap");
    let ids = identities(asset(&doc, "192.168.0.18"), "c37.118");
    assert!(has(&ids[0], "name", "Reporting1") && has(&ids[0], "pmu_idcode", "1"));
}

#[test]
fn opc_ua_on_a_non_standard_port_is_found_by_content() {
    let doc = analyze("OPC/opc-ua-ap-method-wireshark-freeze.pcap");
    let server = asset(&doc, "192.168.41.212");
    let service = server["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["port"] == 12001)
        .unwrap();
    assert_eq!(
        (service["protocol"].as_str(), service["detected_by"].as_str()),
        (Some("opcua"), Some("content"))
    );
    let ids = identities(server, "opcua");
    let modes: Vec<&str> = ids
        .iter()
        .filter_map(|i| i.get("security_mode").map(String::as_str))
        .collect();
    assert_eq!(
        modes,
        ["None", "Sign", "Sign", "SignAndEncrypt", "SignAndEncrypt"]
    );
    assert!(
        ids.iter()
            .any(|i| has(i, "product", "UA StackTest Server (AnsiC/2048)"))
    );
    // Its endpoint without security is what COMP 1.1 holds against it; the policy-None channel the
    // client discovered the endpoints on is only counted.
    assert!(!ids.iter().any(|i| i.contains_key("cleartext")));
    let flow = doc["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["resp"]["port"] == 12001)
        .unwrap();
    assert_eq!(flow["app_protocol"], "opcua");
}

#[test]
fn roles_and_statistics() {
    // DNP3 (tshark: 10.0.0.3 sends from link address 4 in 52 frames and receives for it in 36;
    // 10.0.0.8 and .9 poll it as masters).
    let doc = analyze("dnp3/dnp3_test_data_part1.pcap");
    let outstation = asset(&doc, "10.0.0.3");
    assert!(plays(outstation, "dnp3", "outstation"));
    assert_eq!(outstation["protocol_stats"]["dnp3"]["link_address"]["4"], 52 + 36);
    let master = asset(&doc, "10.0.0.8");
    assert!(plays(master, "dnp3", "master"));
    // DNP3 on a BSD-loopback capture.
    let doc = analyze("dnp3/opendnp3-3/conformance/8.9.2.2/dump.pcap");
    let lo = asset(&doc, "127.0.0.1");
    assert!(plays(lo, "dnp3", "master") && plays(lo, "dnp3", "outstation"));
    // IEC 104: controlled station with common address 3.
    let doc = analyze("IEC60870-5-104/090813_diverse.pcap");
    let rtu = asset(&doc, "10.0.0.10");
    assert!(plays(rtu, "iec104", "controlled-station"));
    assert!(
        rtu["protocol_stats"]["iec104"]["common_address"]["3"]
            .as_u64()
            .unwrap()
            > 0
    );
    // Modbus: function code 15 was requested 498 times in mb2 (tshark: 498 PDUs with function 15).
    let doc = analyze("ModbusTCP/mb2.pcap");
    let total: u64 = doc["assets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["protocol_stats"]["modbus"]["function"]["15"].as_u64())
        .sum();
    assert_eq!(total, 498);
    // MELSOFT engineering traffic on TCP 5562 is recognised.
    let doc = analyze("MELSEC/melsoft_129_clean.pcap");
    assert!(
        doc["flows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["app_protocol"] == "melsec")
    );
}

#[test]
fn operational_events_in_the_captures() {
    // CIP firmware update (class 0xA1, tshark: 5243 + 1 + 1 requests) and the reset after it.
    let doc = analyze("openics/EIP-FirmwareChange.pcap");
    assert_eq!(
        event_counts(&doc),
        pairs(&[("cip", "firmware_update", 5245), ("cip", "reset", 1)])
    );
    // Modbus writes (tshark: 498 write-multiple-coils requests), CIP tag writes and S7 writes.
    let doc = analyze("ModbusTCP/mb2.pcap");
    assert_eq!(
        event_counts(&doc),
        pairs(&[
            ("cip", "tag_write", 367),
            ("modbus", "write", 498),
            ("s7comm", "write", 142)
        ])
    );
    // DNP3 master functions (tshark: function 2 x6, 13 x2, 14 x2, 18 x4, 21 x7).
    let doc = analyze("dnp3/dnp3_test_data_part1.pcap");
    assert_eq!(
        event_counts(&doc),
        pairs(&[
            ("dnp3", "cold_restart", 2),
            ("dnp3", "disable_unsolicited", 7),
            ("dnp3", "stop_application", 4),
            ("dnp3", "warm_restart", 2),
            ("dnp3", "write", 6),
        ])
    );
    // IEC 104 command activations (tshark: 18 ASDUs of types 45-64 with cause 6).
    let doc = analyze("IEC60870-5-104/090813_diverse.pcap");
    assert_eq!(event_counts(&doc), pairs(&[("iec104", "command", 18)]));
    // Every event names who did it and carries evidence.
    for e in doc["events"].as_array().unwrap() {
        assert!(e["actor"]["ip"].is_string() && !e["evidence"].as_array().unwrap().is_empty());
    }
}
