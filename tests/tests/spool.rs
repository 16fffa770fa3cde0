//! The agent's on-disk spool with real processes: an agent analyses a real capture while no
//! collector answers, is killed with SIGKILL, its spool gets a torn write at the end, and it is
//! restarted once a collector listens. Every observation it produced is then stored exactly once:
//! the same multiset of observation digests as a direct delivery of the same capture.

use shoko_tests::*;
use std::io::Write;
use std::path::Path;

const CAPTURE: &str = "ITI_ICS-Security-Tools/pcaps/ModbusTCP/mb2.pcap";

/// Segment files in the spool's lanes.
fn segments(spool: &Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = ["flows", "other"]
        .iter()
        .filter_map(|lane| std::fs::read_dir(spool.join(lane)).ok())
        .flatten()
        .map(|e| e.unwrap().path())
        .collect();
    out.sort();
    out
}

#[test]
fn spooled_batches_survive_sigkill_and_a_torn_write_and_are_stored_once() {
    let pcap = dev_capture(CAPTURE);
    // What the capture gives when delivered directly.
    let expected = direct_delivery(&pcap);
    let total: u32 = expected.values().sum();
    assert!(total > 100, "{total} observations");

    let data = DataDir::init();
    let listen = format!("127.0.0.1:{}", free_port());
    let bundle = data.enroll_for("spooler", &["--collector", &listen]);
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let config = |files: &str| {
        let path = dir.path().join(format!("agent-{}.toml", files.len()));
        let text = format!(
            "identity = {:?}\ntelemetry_interval_secs = 3600\n[capture]\nfiles = [{files}]\n\
             [uplink]\nbatch_max_observations = 25\n[spool]\ndir = {:?}\nsegment_mb = 1\n",
            bundle.display().to_string(),
            spool.display().to_string()
        );
        std::fs::write(&path, text).unwrap();
        path
    };

    // Nothing listens: the agent spools the capture's batches, then dies mid-run.
    let mut agent = start_agent(&config(&format!("{:?}", pcap.display().to_string())));
    wait_until("the capture's batches in both lanes", 60, || {
        let s = segments(&spool);
        s.iter().any(|p| p.starts_with(spool.join("flows")))
            && s.iter().any(|p| p.starts_with(spool.join("other")))
    });
    // Spooling is done when the sizes stop growing.
    let size = || {
        segments(&spool)
            .iter()
            .map(|p| std::fs::metadata(p).unwrap().len())
            .sum::<u64>()
    };
    let mut last = 0;
    wait_until("the spool to settle", 60, || {
        let now = size();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let settled = now == size() && now == last;
        last = now;
        settled
    });
    signal(&agent, "-KILL");
    agent.wait().unwrap();

    // Power loss in the middle of a write: half a record at the end of the newest segment.
    let newest = segments(&spool)
        .into_iter()
        .max_by_key(|p| p.file_name().unwrap().to_owned())
        .unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(&newest).unwrap();
    f.write_all(b"SHKR\x10\x00\x00\x00half a record").unwrap();
    drop(f);

    // The collector comes up; the agent restarts without the capture (nothing new to analyse).
    let collector = CollectorProcess::start_on(&data, &listen);
    let log = dir.path().join("agent.log");
    let mut agent = start_agent_with(&config(""), &[], std::fs::File::create(&log).unwrap().into());
    wait_until("every spooled observation stored", 60, || {
        collector.get_json("/api/v1/status")["observations"]
            .as_u64()
            .unwrap()
            >= u64::from(total) + 2
    });
    signal(&agent, "-TERM");
    assert!(agent.wait().unwrap().success());
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("truncated_bytes=21"),
        "the torn write was found:\n{log}"
    );
    assert!(log.contains("spool segment truncated at a torn write"), "{log}");
    // Everything was acknowledged: nothing is left to send.
    let settings = shoko_agent::config::SpoolSettings {
        dir: spool.clone(),
        ..Default::default()
    };
    let (left, recovered) = shoko_agent::spool::Spool::open(settings.config(1 << 24)).unwrap();
    assert_eq!((left.stats().batches, recovered.truncated_bytes), (0, 0));

    assert_eq!(stored_digests(&data), expected, "each observation exactly once");
    let a = &collector.get_json("/api/v1/agents")[0];
    assert_eq!(
        a["highest_seq"], a["batches"],
        "no batch numbered twice, none skipped"
    );
    // One telemetry observation per run.
    let status = collector.get_json("/api/v1/status");
    assert_eq!(status["observations"].as_u64().unwrap(), u64::from(total) + 2);
}
