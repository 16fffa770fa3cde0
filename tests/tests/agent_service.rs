//! The long-running agent (`shoko-agent run`) against a collector that starts late and is killed
//! and restarted mid-run: the agent keeps its unacknowledged batches in its spool, reconnects
//! with back-off and delivers everything, each batch exactly once.

use shoko_tests::*;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn agent_service_survives_a_late_and_restarted_collector() {
    let data = DataDir::init();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let bundle = data.enroll_for("svc-01", &["--collector", &listen]);
    let dir = tempfile::tempdir().unwrap();
    let pcap = synth_capture(dir.path());
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "identity = {:?}\ntelemetry_interval_secs = 1\n[capture]\nfiles = [{:?}]\n",
            bundle.display().to_string(),
            pcap.display().to_string()
        ),
    )
    .unwrap();

    let mut agent = Command::new(bin("shoko-agent"))
        .args(["run", "--config", config.to_str().unwrap()])
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Nothing listens yet: the agent queues and retries.
    std::thread::sleep(Duration::from_millis(1500));

    let agents = |c: &CollectorProcess| c.get_json("/api/v1/agents");
    let collector = CollectorProcess::start_on(&data, &listen);
    wait_until("capture and telemetry batches", 30, || {
        agents(&collector)[0]["batches"].as_u64().unwrap_or(0) >= 3
    });
    drop(collector); // SIGKILL
    std::thread::sleep(Duration::from_millis(1500));
    let collector = CollectorProcess::start_on(&data, &listen);
    let before = agents(&collector)[0]["batches"].as_u64().unwrap();
    wait_until("batches after the restart", 30, || {
        agents(&collector)[0]["batches"].as_u64().unwrap() >= before + 3
    });

    // SIGTERM: the agent delivers what is pending and exits 0.
    assert!(
        Command::new("kill")
            .args(["-TERM", &agent.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status = agent.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(agent.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{status}\n{stderr}");
    assert!(
        stderr.contains("uplink session ended"),
        "the agent saw the collector go away:\n{stderr}"
    );

    let a = &agents(&collector)[0];
    let batches = a["batches"].as_u64().unwrap();
    // Every batch numbered 1..=highest is stored once: no gap, no duplicate.
    assert_eq!(a["highest_seq"].as_u64().unwrap(), batches);
    // Two batches of the capture's 29 observations (the flows in their own spool lane; assets,
    // services, the Modbus and EtherNet/IP identities in the other), then one telemetry
    // observation per batch.
    let status = collector.get_json("/api/v1/status");
    assert_eq!(status["observations"].as_u64().unwrap(), 29 + (batches - 2));
    assert_eq!(status["assets"], 12);
}
