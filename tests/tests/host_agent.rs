//! The host agent inside `shoko-agent run`, against a real collector: the first inventory of a
//! Debian 12 fixture tree goes out whole; after a package is removed and sshd_config changed, an
//! on-demand inventory (SIGUSR1) sends only the checks resting on sshd_config (one changed outcome,
//! one changed file digest) and the removed package's key; a
//! restarted agent, reading its acknowledged state, sends nothing again; the telemetry carries the
//! cycle's cost.

use shoko_proto::{HostFacts, HostSnapshot, Observation, ObservationBody};
use shoko_tests::*;
use std::path::Path;

/// Observations of `kind` stored by the collector, oldest first.
fn stored(data: &DataDir, kind: &str) -> Vec<Observation> {
    let db = rusqlite::Connection::open(Path::new(&data.path()).join("shoko.db")).unwrap();
    let mut q = db
        .prepare("SELECT body FROM observations WHERE kind = ?1 ORDER BY id")
        .unwrap();
    q.query_map([kind], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(|b| rmp_serde::from_slice(&b.unwrap()).unwrap())
        .collect()
}

fn host_facts(data: &DataDir) -> Vec<HostFacts> {
    stored(data, "host_facts")
        .into_iter()
        .filter_map(|o| match o.body {
            ObservationBody::HostFacts(f) => Some(f),
            _ => None,
        })
        .collect()
}

#[test]
fn host_agent_sends_full_then_changed_snapshots() {
    let (data, collector, host) = HostAgent::with_collector();
    let (root, state, config) = (&host.root, &host.state, &host.config);

    // First cycle at start: everything. 6 installed packages (telnetd is only configured), 3
    // listening sockets, 16 checks.
    let mut agent = start_agent(config);
    wait_until("the first snapshot acknowledged", 30, || state.exists());
    let facts = host_facts(&data);
    assert_eq!(facts.len(), 1);
    assert_eq!(
        facts[0].snapshot,
        Some(HostSnapshot {
            full: true,
            items: 25,
            sent: 25,
            removed: vec![]
        })
    );
    assert_eq!(facts[0].hostname, "hmi-01");
    let patch = facts[0].patch.as_ref().unwrap();
    assert_eq!(
        (
            patch.tool.as_str(),
            patch.pending,
            patch.security_pending,
            patch.reboot_required
        ),
        ("apt", 3, 2, true)
    );
    assert_eq!(patch.newest_kernel.as_deref(), Some("6.1.0-31-amd64"));
    let software = stored(&data, "software_item");
    assert_eq!(software.len(), 6);
    let openssl = software
        .iter()
        .find_map(|o| match &o.body {
            ObservationBody::SoftwareItem(s) if s.name == "openssl" => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    let update = openssl.update.unwrap();
    assert_eq!(
        (update.version.as_str(), update.security),
        ("3.0.19-1~deb12u3", true)
    );
    assert_eq!(stored(&data, "service").len(), 3);
    let checks = stored(&data, "config_check");
    assert_eq!(checks.len(), 16);
    // A check carries its file as evidence and the deciding line.
    let root_login = checks
        .iter()
        .find(|o| matches!(&o.body, ObservationBody::ConfigCheck(c) if c.check_id == "ssh.permit_root_login"))
        .unwrap();
    assert_eq!(
        root_login.provenance.evidence.files[0].path,
        "/etc/ssh/sshd_config"
    );
    let ObservationBody::ConfigCheck(c) = &root_login.body else {
        unreachable!()
    };
    assert_eq!(c.excerpts, ["PermitRootLogin yes"]);

    // tzdata removed, root login forbidden: on demand, only the two checks that rest on
    // sshd_config (its digest changed) and the removal.
    let status = root.join("var/lib/dpkg/status");
    let text = std::fs::read_to_string(&status).unwrap();
    let kept: Vec<&str> = text
        .split("\n\n")
        .filter(|s| !s.starts_with("Package: tzdata"))
        .collect();
    std::fs::write(&status, kept.join("\n\n")).unwrap();
    let sshd = root.join("etc/ssh/sshd_config");
    let text = std::fs::read_to_string(&sshd).unwrap();
    std::fs::write(&sshd, text.replace("PermitRootLogin yes", "PermitRootLogin no")).unwrap();
    let acked = std::fs::read_to_string(state).unwrap();
    signal(&agent, "-USR1");
    wait_until("the change snapshot acknowledged", 30, || {
        std::fs::read_to_string(state).unwrap() != acked
    });
    let facts = host_facts(&data);
    assert_eq!(
        facts[1].snapshot,
        Some(HostSnapshot {
            full: false,
            items: 24,
            sent: 2,
            removed: vec!["software:dpkg:tzdata:all".into()]
        })
    );
    assert_eq!(facts[1].patch.as_ref().unwrap().pending, 2);
    assert_eq!(stored(&data, "software_item").len(), 6);
    let checks = stored(&data, "config_check");
    assert_eq!(checks.len(), 18);
    let resent: Vec<(String, Vec<String>)> = checks[16..]
        .iter()
        .map(|o| match &o.body {
            ObservationBody::ConfigCheck(c) => (c.check_id.clone(), c.excerpts.clone()),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        resent,
        [
            (
                "ssh.permit_root_login".to_string(),
                vec!["PermitRootLogin no".to_string()]
            ),
            ("ssh.password_authentication".to_string(), vec![]),
        ]
    );

    // The telemetry reports the cycle's cost.
    wait_until("telemetry with the host cycle", 10, || {
        stored(&data, "agent_telemetry").iter().any(|o| {
            matches!(&o.body, ObservationBody::AgentTelemetry(t)
                if t.host_cycle.as_ref().is_some_and(|c| c.items == 24 && c.sent == 2 && !c.full))
        })
    });

    // Restarted, the agent knows what the collector has: nothing but the facts is sent.
    signal(&agent, "-TERM");
    assert!(agent.wait().unwrap().success());
    let mut agent = start_agent(config);
    wait_until("the restarted agent's snapshot", 30, || {
        host_facts(&data).len() == 3
    });
    assert_eq!(
        host_facts(&data)[2].snapshot,
        Some(HostSnapshot {
            full: false,
            items: 24,
            sent: 0,
            removed: vec![]
        })
    );
    signal(&agent, "-TERM");
    assert!(agent.wait().unwrap().success());
    drop(collector);
}

#[test]
fn a_host_inventory_and_the_sensors_sighting_of_its_mac_are_one_asset() {
    // The HMI of the fixture is the HP workstation 141.81.0.10 of mb2.pcap: its eth0 has that MAC.
    let (data, collector, host) = HostAgent::with_collector();
    let nic = host.root.join("sys/class/net/eth0");
    std::fs::create_dir_all(&nic).unwrap();
    std::fs::write(nic.join("address"), "78:e7:d1:e0:02:5e\n").unwrap();
    let mut agent = start_agent(&host.config);
    wait_until("the snapshot acknowledged", 30, || host.state.exists());
    signal(&agent, "-TERM");
    assert!(agent.wait().unwrap().success());
    let sensor = data.enroll("sensor-1");
    let pcap = dev_capture("ITI_ICS-Security-Tools/pcaps/ModbusTCP/mb2.pcap");
    let out = agent_send(&sensor, collector.ingest, &pcap);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // mb2 alone is 52 assets: the host is one of them, not a 53rd.
    let assets = collector.get_json("/api/v1/assets");
    let assets = assets.as_array().unwrap();
    assert_eq!(assets.len(), 52);
    let hmi = assets
        .iter()
        .find(|a| a["key"] == "mac:78:e7:d1:e0:02:5e")
        .unwrap();
    assert_eq!(hmi["ips"], serde_json::json!(["141.81.0.10"]));
    // The host's packages and checks are stored against that asset.
    let db = rusqlite::Connection::open(Path::new(&data.path()).join("shoko.db")).unwrap();
    let owners: Vec<(String, Option<i64>)> = db
        .prepare(
            "SELECT DISTINCT kind, asset_id FROM observations
             WHERE kind IN ('host_facts', 'software_item', 'config_check') ORDER BY kind",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let id = hmi["id"].as_i64();
    assert_eq!(
        owners,
        [
            ("config_check".to_string(), id),
            ("host_facts".to_string(), id),
            ("software_item".to_string(), id)
        ]
    );
}
