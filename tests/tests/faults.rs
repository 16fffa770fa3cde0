//! Fault injection with real processes in two network namespaces made for the test (collector
//! and agent joined by a veth pair): the agent delivers continuously (a real capture at start,
//! then telemetry every second) while the test kills the collector with SIGKILL and restarts it,
//! cuts the link for a while, and kills the agent with SIGKILL and restarts it. In the end every
//! observation the agent produced is stored exactly once: the capture's observations have the
//! same digests as a direct delivery, the telemetry of each agent run is complete (one a second,
//! none twice), and every batch number was stored once. Needs root; elsewhere it says why it
//! skips.

use shoko_proto::{Observation, ObservationBody};
use shoko_tests::*;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const CAPTURE: &str = "ITI_ICS-Security-Tools/pcaps/ModbusTCP/mb2.pcap";

/// The agent's telemetry as stored: (observed_at ns, uptime s), in time order.
fn telemetry(data: &DataDir) -> Vec<(i64, u64)> {
    let db = rusqlite::Connection::open(Path::new(&data.path()).join("shoko.db")).unwrap();
    let mut q = db
        .prepare("SELECT body FROM observations WHERE kind = 'agent_telemetry' ORDER BY observed_at")
        .unwrap();
    q.query_map([], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(|b| {
            let o: Observation = rmp_serde::from_slice(&b.unwrap()).unwrap();
            match o.body {
                ObservationBody::AgentTelemetry(t) => (o.provenance.observed_at.0, t.uptime_s),
                _ => unreachable!(),
            }
        })
        .collect()
}

/// The agent's row: (batches stored, highest batch number).
fn agent_row(data: &DataDir) -> (i64, i64) {
    let db = rusqlite::Connection::open(Path::new(&data.path()).join("shoko.db")).unwrap();
    db.query_row(
        "SELECT batches, highest_seq FROM agents WHERE agent_id = 'faulty'",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap_or((0, 0))
}

#[test]
fn collector_and_agent_killed_and_the_link_cut_lose_and_duplicate_nothing() {
    if !root_or_skip("needs root for network namespaces") {
        return;
    }
    let pcap = dev_capture(CAPTURE);
    let expected = direct_delivery(&pcap);
    let id = std::process::id();
    let (col, agt) = (
        Namespace::new(&format!("shoko-col-{id}")),
        Namespace::new(&format!("shoko-agt-{id}")),
    );
    col.link_to("vcol", "10.77.0.1/24", &agt, "vagt", "10.77.0.2/24");
    let listen = "10.77.0.1:7710";
    let wrapper = ["ip", "netns", "exec", col.0.as_str()];

    let data = DataDir::init();
    let bundle = data.enroll_for("faulty", &["--collector", listen]);
    let dir = tempfile::tempdir().unwrap();
    let config = |files: &str| {
        let path = dir.path().join(format!("agent-{}.toml", files.len()));
        let text = format!(
            "identity = {:?}\ntelemetry_interval_secs = 1\n[capture]\nfiles = [{files}]\n\
             [uplink]\nbatch_max_observations = 25\n[spool]\ndir = {:?}\nsegment_mb = 1\n",
            bundle.display().to_string(),
            dir.path().join("spool").display().to_string()
        );
        std::fs::write(&path, text).unwrap();
        path
    };
    let sleep = |s: u64| std::thread::sleep(Duration::from_secs(s));

    let collector = CollectorProcess::start_with(&data, listen, &wrapper);
    let in_agt = ["ip", "netns", "exec", agt.0.as_str()];
    let mut agent = start_agent_with(
        &config(&format!("{:?}", pcap.display().to_string())),
        &in_agt,
        Stdio::null(),
    );
    wait_until("the first batches", 30, || agent_row(&data).0 >= 2);
    sleep(2);
    drop(collector); // SIGKILL
    sleep(2);
    let collector = CollectorProcess::start_with(&data, listen, &wrapper);
    sleep(2);
    agt.ip(&["link", "set", "vagt", "down"]);
    sleep(4);
    agt.ip(&["link", "set", "vagt", "up"]);
    sleep(2);
    signal(&agent, "-KILL");
    agent.wait().unwrap();
    let mut agent = start_agent_with(&config(""), &in_agt, Stdio::null());
    sleep(3);
    signal(&agent, "-TERM");
    assert!(
        agent.wait().unwrap().success(),
        "the agent delivers what is pending and exits 0"
    );
    let resent = collector
        .logs()
        .iter()
        .filter(|l| l["message"] == "re-sent batch acknowledged without storing it again")
        .count();

    // The capture: each observation exactly once.
    assert_eq!(stored_digests(&data), expected);
    // Telemetry: two runs (uptime restarts once), one report a second in each, none twice.
    let t = telemetry(&data);
    let runs = 1 + t.windows(2).filter(|w| w[1].1 < w[0].1).count();
    assert_eq!(runs, 2, "{t:?}");
    for w in t.windows(2).filter(|w| w[1].1 >= w[0].1) {
        let gap = w[1].0 - w[0].0;
        assert!(
            (500_000_000..1_500_000_000).contains(&gap),
            "telemetry {gap} ns apart: {t:?}"
        );
    }
    assert!(t.len() >= 14, "{} telemetry reports", t.len());
    // Every batch number stored once, none skipped.
    let (batches, highest) = agent_row(&data);
    assert_eq!(batches, highest);
    eprintln!(
        "faults: {} capture observations and {} telemetry reports in {batches} batches stored once; \
         {resent} batches re-sent after the faults were recognised as stored",
        expected.values().sum::<u32>(),
        t.len()
    );
}
