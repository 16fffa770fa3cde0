//! The host agent inside `shoko-agent run`, against a real collector: the first inventory of a
//! Debian 12 fixture tree goes out whole; after a package is removed and sshd_config changed, an
//! on-demand inventory (SIGUSR1) sends only the checks resting on sshd_config (one changed outcome,
//! one changed file digest) and the removed package's key; a
//! restarted agent, reading its acknowledged state, sends nothing again; the telemetry carries the
//! cycle's cost.

use shoko_proto::{HostFacts, HostSnapshot, Observation, ObservationBody};
use shoko_tests::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};

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

fn start_agent(config: &Path) -> Child {
    Command::new(bin("shoko-agent"))
        .args(["run", "--config", config.to_str().unwrap()])
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn signal(agent: &Child, sig: &str) {
    assert!(
        Command::new("kill")
            .args([sig, &agent.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
}

#[test]
fn host_agent_sends_full_then_changed_snapshots() {
    let data = DataDir::init();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let bundle = data.enroll_for("hmi-01", &["--collector", &listen]);
    let collector = CollectorProcess::start_on(&data, &listen);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let fixture = workspace().join("agent/tests/fixtures/debian12");
    assert!(
        Command::new("cp")
            .args(["-a", fixture.to_str().unwrap(), root.to_str().unwrap()])
            .status()
            .unwrap()
            .success()
    );
    let state = dir.path().join("state/host-snapshot.json");
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "identity = {:?}\ntelemetry_interval_secs = 1\n[host]\nenabled = true\nroot = {:?}\n\
             interval_secs = 3600\nstate_file = {:?}\n",
            bundle.display().to_string(),
            root.display().to_string(),
            state.display().to_string()
        ),
    )
    .unwrap();

    // First cycle at start: everything. 6 installed packages (telnetd is only configured), 3
    // listening sockets, 15 checks.
    let mut agent = start_agent(&config);
    wait_until("the first snapshot acknowledged", 30, || state.exists());
    let facts = host_facts(&data);
    assert_eq!(facts.len(), 1);
    assert_eq!(
        facts[0].snapshot,
        Some(HostSnapshot {
            full: true,
            items: 24,
            sent: 24,
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
    assert_eq!(checks.len(), 15);
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
    let acked = std::fs::read_to_string(&state).unwrap();
    signal(&agent, "-USR1");
    wait_until("the change snapshot acknowledged", 30, || {
        std::fs::read_to_string(&state).unwrap() != acked
    });
    let facts = host_facts(&data);
    assert_eq!(
        facts[1].snapshot,
        Some(HostSnapshot {
            full: false,
            items: 23,
            sent: 2,
            removed: vec!["software:dpkg:tzdata:all".into()]
        })
    );
    assert_eq!(facts[1].patch.as_ref().unwrap().pending, 2);
    assert_eq!(stored(&data, "software_item").len(), 6);
    let checks = stored(&data, "config_check");
    assert_eq!(checks.len(), 17);
    let resent: Vec<(String, Vec<String>)> = checks[15..]
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
                if t.host_cycle.as_ref().is_some_and(|c| c.items == 23 && c.sent == 2 && !c.full))
        })
    });

    // Restarted, the agent knows what the collector has: nothing but the facts is sent.
    signal(&agent, "-TERM");
    assert!(agent.wait().unwrap().success());
    let mut agent = start_agent(&config);
    wait_until("the restarted agent's snapshot", 30, || {
        host_facts(&data).len() == 3
    });
    assert_eq!(
        host_facts(&data)[2].snapshot,
        Some(HostSnapshot {
            full: false,
            items: 23,
            sent: 0,
            removed: vec![]
        })
    );
    signal(&agent, "-TERM");
    assert!(agent.wait().unwrap().success());
    drop(collector);
}
