//! The operator guide (`deploy/docs/operator-guide.md`) run as written: every `sh` block, in
//! order, by bash with `set -e`, as root, on this machine playing every role — in a network
//! namespace whose `eth1` is the SPAN port, and a private mount and PID namespace where `/etc`,
//! `/usr`, `/var` and `/root` are scratch overlays (packages install, users are made and files
//! are written there, never on the machine). systemd is played by `tests/guide/systemctl`; the
//! PostgreSQL server at 127.0.0.1:5432 is `db.plant.example`. Needs root; skips otherwise.

use shoko_tests::*;
use std::process::Command;

/// The guide's `sh` blocks, in order.
fn sh_blocks(guide: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in guide.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "an unclosed sh block");
    blocks
}

/// Runs SQL on the test's PostgreSQL as `postgres`; false when there is none.
fn psql(sql: &str) -> bool {
    Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc", sql])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn every_command_of_the_operator_guide_runs_as_written() {
    if !root_or_skip("the operator guide runs as root (packages, users, units)") {
        return;
    }
    for tool in ["apt-get", "setpriv", "unshare", "runuser", "psql", "pg_dump"] {
        assert!(
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .unwrap()
                .status
                .success(),
            "{tool} is not installed"
        );
    }
    // The guide creates the role and database `shoko`; a previous run's are dropped first.
    if !psql("DROP DATABASE IF EXISTS shoko") || !psql("DROP ROLE IF EXISTS shoko") {
        eprintln!("SKIPPED: no PostgreSQL server at 127.0.0.1:5432 for the guide's step 9");
        return;
    }
    let debs = build_packages();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    for deb in &debs {
        std::fs::copy(deb, w.join(deb.file_name().unwrap())).unwrap();
    }
    let guide = std::fs::read_to_string(workspace().join("deploy/docs/operator-guide.md")).unwrap();
    let blocks = sh_blocks(&guide);
    assert_eq!(blocks.len(), 16, "the guide's command blocks");

    let ns = Namespace::new(&format!("guide-{}", std::process::id()));
    ns.ip(&["link", "add", "eth1", "type", "veth", "peer", "name", "tap1"]);
    ns.exec("sysctl", &["-qw", "net.ipv6.conf.eth1.disable_ipv6=1"]);
    ns.forward_local_port(5432);

    let stub = workspace().join("tests/guide/systemctl");
    let mut script = format!(
        r#"set -euo pipefail
# A scratch copy of the machine: overlays on /etc, /usr, /var and /root.
mount --make-rprivate /
for d in etc usr var root; do
    mkdir -p {w}/overlay/$d/upper {w}/overlay/$d/work
    mount -t overlay overlay -o lowerdir=/$d,upperdir={w}/overlay/$d/upper,workdir={w}/overlay/$d/work /$d
done
install -m 0755 {stub} /usr/local/sbin/systemctl
ln -sf systemctl /usr/local/sbin/journalctl
echo "127.0.0.1 collector.plant.example db.plant.example" >> /etc/hosts
cd {w}
set -x
"#,
        w = w.display(),
        stub = stub.display(),
    );
    for block in &blocks {
        script.push_str(block);
    }
    script.push_str("set +x\necho GUIDE-DONE\n");
    let script_path = w.join("guide.sh");
    std::fs::write(&script_path, &script).unwrap();

    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.0,
            "unshare",
            "--mount",
            "--pid",
            "--fork",
            "--mount-proc",
        ])
        .arg("bash")
        .arg(&script_path)
        .current_dir(w)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stdout.ends_with("GUIDE-DONE\n"),
        "the guide stopped: {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    // What the guide's own checks printed.
    assert!(stdout.contains("live capture started (receive-only)"), "{stdout}");
    assert!(stdout.contains("\nactive\n"), "{stdout}");
    assert!(
        stdout.contains("signature checked with SHA256:") && stdout.contains("intact"),
        "{stdout}"
    );
    assert!(
        stdout.contains("attestation 1 recorded: document NET 1.1 by a.owner"),
        "{stdout}"
    );
    assert!(
        stdout.contains("attestation 1 (document NET 1.1, attested by a.owner) countersigned by b.approver"),
        "{stdout}"
    );
    // Nothing escaped the scratch copy: no user, no unit, no data directory on this machine.
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    assert!(
        !passwd
            .lines()
            .any(|l| l.starts_with("shoko:") || l.starts_with("shoko-agent:"))
    );
    assert!(!std::path::Path::new("/var/lib/shoko").exists());
    assert!(!std::path::Path::new("/lib/systemd/system/shoko-collector.service").exists());
    assert!(psql("DROP DATABASE IF EXISTS shoko") && psql("DROP ROLE IF EXISTS shoko"));
}
