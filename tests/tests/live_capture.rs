//! Live capture end to end: a veth pair in a network namespace made for the test, DEV captures
//! replayed into one end with tcpreplay, the agent capturing on the other end — `shoko-agent
//! capture` with the TPACKET_V3 ring and with the portable pnet backend, and `shoko-agent run`
//! delivering live reports to a collector in the same namespace. The live inventory must equal the
//! offline one, and the capture interface must transmit nothing. Needs root (network namespaces);
//! elsewhere each test prints why it is skipped.

use shoko_tests::*;
use std::collections::BTreeSet;
use std::process::Command;

/// The test's namespace with its veth pair; `None` (with the reason printed) when not root.
fn veth_namespace(test: &str) -> Option<Namespace> {
    if !root_or_skip(&format!("{test} needs root for network namespaces")) {
        return None;
    }
    assert!(
        Command::new("tcpreplay").arg("--version").output().is_ok(),
        "tcpreplay is not installed (.ci/run installs it)"
    );
    Some(Namespace::with_veth(&format!(
        "shoko-{}-{}",
        &test[..8],
        std::process::id()
    )))
}

/// The offline inventory document of `files`.
fn offline(files: &[String]) -> serde_json::Value {
    let mut args = vec!["analyze", "--pcap"];
    args.extend(files.iter().map(String::as_str));
    serde_json::from_slice(&run_ok("shoko-agent", &args).stdout).unwrap()
}

/// Asset identity that must survive the trip through the wire: MACs, IPs, VLANs, services and
/// identity names (times differ between a replay and the file).
fn shape(doc: &serde_json::Value) -> BTreeSet<String> {
    doc["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let services: Vec<String> = a["services"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| format!("{}/{}/{}", s["ip"], s["port"], s["protocol"]))
                .collect();
            let names: BTreeSet<String> = a["identities"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| format!("{}:{}", i["protocol"], i["name"]))
                .collect();
            format!(
                "{} {} {} {:?} {:?}",
                a["macs"], a["ips"], a["vlans"], services, names
            )
        })
        .collect()
}

#[test]
fn live_capture_equals_offline_and_transmits_nothing() {
    let Some(ns) = veth_namespace("live_capture_equals_offline_and_transmits_nothing") else {
        return;
    };
    let captures = [
        dev_capture("ITI_ICS-Security-Tools/pcaps/ModbusTCP/mb2.pcap"),
        dev_capture("epiecs_packetlife-backup/pcaps/802.1Q_tunneling.cap"),
        dev_capture("epiecs_packetlife-backup/pcaps/LLDP_and_CDP.cap"),
    ];
    let files: Vec<String> = captures.iter().map(|p| p.display().to_string()).collect();
    let dir = tempfile::tempdir().unwrap();
    let live_json = dir.path().join("live.json");
    assert_eq!(ns.tx_packets("cap0"), 0);

    let agent = bin("shoko-agent");
    let mut capture = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(&agent)
        .args(["capture", "--interface", "cap0", "--duration", "6", "--json"])
        .arg(&live_json)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    ns.replay(&files, &["--topspeed"]);
    let status = capture.wait().unwrap();
    assert!(status.success());
    assert_eq!(ns.tx_packets("cap0"), 0, "the capture interface transmitted");

    let live: serde_json::Value = serde_json::from_slice(&std::fs::read(&live_json).unwrap()).unwrap();
    let offline = offline(&files);
    let expected_frames: u64 = offline["stats"]["packets"].as_u64().unwrap();
    assert_eq!(live["stats"]["packets"].as_u64().unwrap(), expected_frames);
    assert_eq!(live["stats"]["kernel"]["drops"], 0);
    assert_eq!(shape(&live), shape(&offline));
    // The 802.1Q capture's VLANs survive the kernel's tag stripping.
    let vlans: BTreeSet<u64> = live["assets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["vlans"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()))
        .collect();
    assert!(!vlans.is_empty());
}

#[test]
fn portable_pnet_backend_captures_the_same_assets() {
    let Some(ns) = veth_namespace("portable_pnet_backend_captures_the_same_assets") else {
        return;
    };
    // Untagged captures: the portable backend has no way to learn a VLAN tag the kernel stripped.
    let files: Vec<String> = [
        "ITI_ICS-Security-Tools/pcaps/ModbusTCP/mb2.pcap",
        "epiecs_packetlife-backup/pcaps/LLDP_and_CDP.cap",
    ]
    .iter()
    .map(|c| dev_capture(c).display().to_string())
    .collect();
    let dir = tempfile::tempdir().unwrap();
    let live_json = dir.path().join("live.json");
    let mut capture = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(bin("shoko-agent"))
        .args([
            "capture",
            "--backend",
            "pnet",
            "--interface",
            "cap0",
            "--duration",
            "6",
            "--json",
        ])
        .arg(&live_json)
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // Paced: this backend reads one frame per system call and has no ring to absorb bursts.
    ns.replay(&files, &["--pps", "10000"]);
    assert!(capture.wait().unwrap().success());
    assert_eq!(ns.tx_packets("cap0"), 0, "the capture interface transmitted");
    let live: serde_json::Value = serde_json::from_slice(&std::fs::read(&live_json).unwrap()).unwrap();
    let offline = offline(&files);
    assert_eq!(live["stats"]["packets"], offline["stats"]["packets"]);
    // On Linux this backend's socket has kernel counters too: nothing dropped.
    assert_eq!(live["stats"]["kernel"]["drops"], 0);
    assert_eq!(shape(&live), shape(&offline));
}

#[test]
fn agent_service_reports_a_live_interface_to_the_collector() {
    let Some(ns) = veth_namespace("agent_service_reports_a_live_interface_to_the_collector") else {
        return;
    };
    // Collector and agent both live in the namespace and meet on its loopback.
    let data = DataDir::init();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let _collector = CollectorProcess::start_with(&data, &listen, &["ip", "netns", "exec", &ns.0]);
    let bundle = data.enroll_for("span-1", &["--collector", &listen]);
    let config = data.dir.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "identity = \"{}\"\ntelemetry_interval_secs = 1\n[capture]\nreport_interval_secs = 1\n\
             [[capture.interfaces]]\nname = \"cap0\"\n",
            bundle.display()
        ),
    )
    .unwrap();
    let mut agent = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(bin("shoko-agent"))
        .args(["run", "--config"])
        .arg(&config)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    ns.replay(
        &[dev_capture("ITI_ICS-Security-Tools/pcaps/ModbusTCP/mb2.pcap")
            .display()
            .to_string()],
        &["--topspeed"],
    );
    let services = || -> BTreeSet<String> {
        let out = run_ok("shoko-collector", &["assets", "--data", &data.path(), "--json"]);
        let assets: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        service_strings(&assets)
    };
    // The live report (sent within a report interval, while the agent keeps running) reaches the
    // collector's store: the Modbus server of mb2 and its S7 PLCs.
    wait_until("live assets in the collector", 30, || {
        let s = services();
        s.contains("141.81.0.24 tcp/502 modbus") && s.contains("141.81.0.146 tcp/102 s7comm")
    });
    assert!(
        agent.try_wait().unwrap().is_none(),
        "the agent keeps running between reports"
    );
    // SAFETY: kill has no memory preconditions; the pid is our child's.
    unsafe { libc::kill(agent.id() as i32, libc::SIGTERM) };
    let status = agent.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(agent.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{status}\n{stderr}");
    assert_eq!(ns.tx_packets("cap0"), 0, "the capture interface transmitted");
}

#[test]
fn capture_ends_naming_its_interface_when_the_interface_is_removed() {
    let Some(ns) = veth_namespace("capture_ends_naming_its_interface_when_the_interface_is_removed") else {
        return;
    };
    let mut capture = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(bin("shoko-agent"))
        .args(["capture", "--interface", "cap0", "--duration", "60"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let removed = std::time::Instant::now();
    ns.ip(&["link", "del", "tx0"]);
    let status = capture.wait().unwrap();
    // Without the error handling the capture loop spun on the socket error for the full minute.
    assert!(
        removed.elapsed() < std::time::Duration::from_secs(5),
        "the capture went on for {:?} after its interface was removed",
        removed.elapsed()
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(capture.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(3), "a capture error: {stderr}");
    assert!(stderr.contains("cap0: the interface is gone"), "{stderr}");
}
