//! The collector's disk fills up while an agent delivers: batches that cannot be stored are
//! refused with `store_unavailable` (never acknowledged), the agent keeps them in its spool and
//! backs off, the collector keeps running, and once there is room again everything is stored,
//! exactly once. The data directory lives on a small tmpfs made for the test (root; elsewhere
//! it says why it skips).

use shoko_tests::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const CAPTURE: &str = "ITI_ICS-Security-Tools/pcaps/ModbusTCP/mb2.pcap";

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Self {
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "shoko-test",
                at.to_str().unwrap(),
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok, "mounting a tmpfs at {}", at.display());
        Tmpfs(at.to_path_buf())
    }

    fn resize(&self, size: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={size}"), self.0.to_str().unwrap()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "resizing the tmpfs to {size}");
    }

    /// Kilobytes in use.
    fn used_kib(&self) -> u64 {
        let out = Command::new("df")
            .args(["-k", "--output=used", self.0.to_str().unwrap()])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .args(["-l", self.0.to_str().unwrap()])
            .status();
    }
}

#[test]
fn a_full_disk_delays_evidence_but_loses_none() {
    if !root_or_skip("needs root to mount a small filesystem") {
        return;
    }
    let pcap = dev_capture(CAPTURE);
    let expected = direct_delivery(&pcap);
    let mount = tempfile::tempdir().unwrap();
    let fs = Tmpfs::mount(mount.path(), "20m");
    let data = DataDir::init_in(mount.path());
    let listen = format!("127.0.0.1:{}", free_port());
    let bundle = data.enroll_for("filler", &["--collector", &listen]);
    let collector = CollectorProcess::start_on(&data, &listen);
    // Room for the empty store and a little more, not for the capture's evidence.
    fs.resize(&format!("{}k", fs.used_kib() + 96));

    let dir = tempfile::tempdir().unwrap();
    let config = file_agent_config(dir.path(), &bundle, &pcap);
    let mut agent = start_agent_with(&config, &[], Stdio::null());
    let refusal = collector.wait_refusal("store_unavailable");
    assert!(
        refusal["message"]
            .as_str()
            .unwrap_or("")
            .ends_with(": database: database or disk is full"),
        "{refusal}"
    );
    // Still full a moment later, and still running.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let mut collector = collector;
    assert!(collector.is_running());

    fs.resize("64m");
    wait_until("every observation stored once there is room", 90, || {
        stored_digests(&data).values().sum::<u32>() >= expected.values().sum::<u32>()
    });
    signal(&agent, "-TERM");
    assert!(agent.wait().unwrap().success());
    assert_eq!(stored_digests(&data), expected, "each observation exactly once");
    let a = &collector.get_json("/api/v1/agents")[0];
    assert_eq!(a["highest_seq"], a["batches"]);
    drop(collector);
    drop(data);
}
