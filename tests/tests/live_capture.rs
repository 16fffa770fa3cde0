//! Live capture end to end: a veth pair in a network namespace made for the test, a DEV capture
//! replayed into one end with tcpreplay, `shoko-agent capture` on the other end. The live inventory
//! must equal the offline one, and the capture interface must transmit nothing, before, during and
//! after the capture. Needs root (network namespaces); elsewhere it prints why it is skipped.

use shoko_tests::*;
use std::collections::BTreeSet;
use std::process::Command;

struct Namespace(String);

impl Namespace {
    fn ip(&self, args: &[&str]) {
        let ok = Command::new("ip")
            .arg("-n")
            .arg(&self.0)
            .args(args)
            .status()
            .unwrap()
            .success();
        assert!(ok, "ip -n {} {args:?}", self.0);
    }

    fn exec(&self, cmd: &str, args: &[&str]) -> std::process::Output {
        Command::new("ip")
            .args(["netns", "exec", &self.0, cmd])
            .args(args)
            .output()
            .unwrap()
    }

    fn tx_packets(&self, dev: &str) -> u64 {
        let out = self.exec("cat", &[&format!("/sys/class/net/{dev}/statistics/tx_packets")]);
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
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
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!(
            "SKIPPED live_capture_equals_offline_and_transmits_nothing: needs root for network namespaces"
        );
        return;
    }
    assert!(
        Command::new("tcpreplay").arg("--version").output().is_ok(),
        "tcpreplay is not installed (.ci/run installs it)"
    );
    let ns = Namespace(format!("shoko-e2e-{}", std::process::id()));
    let _ = Command::new("ip").args(["netns", "del", &ns.0]).status();
    assert!(
        Command::new("ip")
            .args(["netns", "add", &ns.0])
            .status()
            .unwrap()
            .success()
    );
    ns.ip(&["link", "add", "tx0", "type", "veth", "peer", "name", "cap0"]);
    for dev in ["tx0", "cap0"] {
        // No IPv6 autoconfiguration: the capture side must have no reason of its own to transmit.
        ns.exec("sysctl", &["-qw", &format!("net.ipv6.conf.{dev}.disable_ipv6=1")]);
        ns.ip(&["link", "set", dev, "up"]);
    }
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
    let mut replay = vec!["-q", "-i", "tx0", "--topspeed"];
    replay.extend(files.iter().map(String::as_str));
    let out = ns.exec("tcpreplay", &replay);
    assert!(
        out.status.success(),
        "tcpreplay: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = capture.wait().unwrap();
    assert!(status.success());
    assert_eq!(ns.tx_packets("cap0"), 0, "the capture interface transmitted");

    let live: serde_json::Value = serde_json::from_slice(&std::fs::read(&live_json).unwrap()).unwrap();
    let mut args = vec!["analyze", "--pcap"];
    args.extend(files.iter().map(String::as_str));
    let offline: serde_json::Value = serde_json::from_slice(&run_ok("shoko-agent", &args).stdout).unwrap();
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
