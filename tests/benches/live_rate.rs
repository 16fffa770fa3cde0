//! Live capture rate: how many frames per second reach the sensor through the TPACKET_V3 ring
//! without a drop. A veth pair is made in a network namespace; a sender thread (inside that
//! namespace) writes minimum-size UDP frames of 1,024 flows into one end with `sendmmsg` on a raw
//! packet socket, paced to a target rate; `shoko-agent capture` (release build) reads the other
//! end. The kernel's own counters say what entered the ring and what was dropped.
//!
//! Run as root: `cargo bench -p shoko-tests --bench live_rate` (`SHOKO_LIVE_PPS` sets the target
//! rate, default 1,000,000; `SHOKO_LIVE_SECS` the sending time, default 5). Elsewhere it says why
//! it is skipped. Only the namespace made here ever carries the frames.
//!
//! The kernel delivers a veth frame into the ring on the sending CPU, so on a small machine the
//! sender, not the ring, sets the ceiling: the achieved rate is printed next to the target.
//! `SHOKO_LIVE_SENDERS` runs several sender threads (sharing the rate) and `SHOKO_LIVE_BLOCKS` sets
//! the ring's size in 1 MiB blocks, for bursts the ring must absorb while the sensor catches up;
//! `SHOKO_LIVE_AGENT_NICE` runs the agent at that nice level (it is meant to be `nice`-able).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const FLOWS: usize = 1024;
const BATCH: usize = 256;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A 60-byte Ethernet/IPv4/UDP frame of flow `i`.
fn frame(i: usize) -> [u8; 60] {
    let mut f = [0u8; 60];
    f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    let ip = &mut f[14..34];
    ip.copy_from_slice(&[
        0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ]);
    let sum = ip
        .chunks(2)
        .fold(0u32, |a, c| a + u32::from(u16::from_be_bytes([c[0], c[1]])));
    let sum = !((sum & 0xffff) + (sum >> 16)) as u16;
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    f[34..36].copy_from_slice(&(10_000 + i as u16).to_be_bytes());
    f[36..38].copy_from_slice(&9999u16.to_be_bytes());
    f[38..40].copy_from_slice(&26u16.to_be_bytes());
    f
}

/// Sends `total` frames into `tx0` of namespace `ns` at `pps`; returns (frames sent, seconds).
fn send(ns: &str, total: u64, pps: u64) -> (u64, f64) {
    // Enter the namespace on this thread only.
    let path = std::ffi::CString::new(format!("/var/run/netns/{ns}")).unwrap();
    // SAFETY: plain system calls on descriptors owned here; buffers outlive the calls.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_RDONLY);
        assert!(fd >= 0 && libc::setns(fd, libc::CLONE_NEWNET) == 0, "setns");
        libc::close(fd);
        let sock = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0);
        assert!(sock >= 0, "packet socket");
        let one: libc::c_int = 1;
        libc::setsockopt(
            sock,
            libc::SOL_PACKET,
            libc::PACKET_QDISC_BYPASS,
            (&one as *const libc::c_int).cast(),
            4,
        );
        let name = std::ffi::CString::new("tx0").unwrap();
        let mut addr: libc::sockaddr_ll = std::mem::zeroed();
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_ifindex = libc::if_nametoindex(name.as_ptr()) as i32;
        let len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
        assert_eq!(
            libc::bind(sock, (&addr as *const libc::sockaddr_ll).cast(), len),
            0
        );
        let frames: Vec<[u8; 60]> = (0..FLOWS).map(frame).collect();
        let mut iov: Vec<libc::iovec> = (0..BATCH)
            .map(|i| libc::iovec {
                iov_base: frames[i % FLOWS].as_ptr() as *mut _,
                iov_len: 60,
            })
            .collect();
        let mut msgs: Vec<libc::mmsghdr> = (0..BATCH)
            .map(|i| {
                let mut m: libc::mmsghdr = std::mem::zeroed();
                m.msg_hdr.msg_iov = &mut iov[i];
                m.msg_hdr.msg_iovlen = 1;
                m
            })
            .collect();
        let start = Instant::now();
        let mut sent = 0u64;
        let mut batch_no = 0usize;
        let deadline = Duration::from_secs_f64(2.0 * total as f64 / pps as f64);
        while sent < total && start.elapsed() < deadline {
            // Rotate the flows between batches.
            for (i, v) in iov.iter_mut().enumerate() {
                v.iov_base = frames[(batch_no * BATCH + i) % FLOWS].as_ptr() as *mut _;
            }
            batch_no += 1;
            let n = libc::sendmmsg(sock, msgs.as_mut_ptr(), BATCH as u32, 0);
            if n > 0 {
                sent += n as u64;
            }
            // Pace: never ahead of the target rate.
            let due = Duration::from_secs_f64(sent as f64 / pps as f64);
            let elapsed = start.elapsed();
            if due > elapsed {
                std::thread::sleep(due - elapsed);
            }
        }
        let secs = start.elapsed().as_secs_f64();
        libc::close(sock);
        (sent, secs)
    }
}

fn main() {
    if !shoko_tests::root_or_skip("live_rate needs root for a network namespace") {
        return;
    }
    let pps = env("SHOKO_LIVE_PPS", 1_000_000);
    let secs = env("SHOKO_LIVE_SECS", 5);
    let senders = env("SHOKO_LIVE_SENDERS", 1).max(1);
    let blocks = env("SHOKO_LIVE_BLOCKS", 64);
    let nice = env("SHOKO_LIVE_AGENT_NICE", 0);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .args(["build", "--release", "-p", "shoko-agent", "--bins"])
        .current_dir(&root)
        .status()
        .unwrap();
    assert!(built.success());
    let agent = root.join("target/release/shoko-agent");
    let namespace = shoko_tests::Namespace::with_veth(&format!("shoko-rate-{}", std::process::id()));
    let ns = namespace.0.clone();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("live.json");
    let mut capture = Command::new("ip")
        .args(["netns", "exec", &ns, "nice", "-n", &nice.to_string()])
        .arg(&agent)
        .args([
            "capture",
            "--interface",
            "cap0",
            "--block-count",
            &blocks.to_string(),
            "--duration",
        ])
        // Long enough for a sender slower than its target (it runs at most twice the time).
        .arg((2 * secs + 8).to_string())
        .arg("--json")
        .arg(&json)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // Each sender thread takes an equal share of the rate.
    let threads: Vec<_> = (0..senders)
        .map(|_| {
            let ns = ns.clone();
            std::thread::spawn(move || send(&ns, pps * secs / senders, pps / senders))
        })
        .collect();
    let results: Vec<(u64, f64)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let sent: u64 = results.iter().map(|r| r.0).sum();
    let took = results.iter().map(|r| r.1).fold(0.0, f64::max);
    let ok = capture.wait().unwrap().success();
    drop(namespace);
    assert!(ok, "shoko-agent capture failed");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let kernel = &doc["stats"]["kernel"];
    println!(
        "live capture rate (veth in a namespace, 60-byte UDP frames, {FLOWS} flows, {senders} sender(s), ring of {blocks} x 1 MiB)"
    );
    println!(
        "sent:     {sent} frames in {took:.2} s = {:.2} Mpps (target {:.2} Mpps)",
        sent as f64 / took / 1e6,
        pps as f64 / 1e6
    );
    println!(
        "ring:     {} frames received by the kernel socket, {} dropped, {} freezes",
        kernel["packets"], kernel["drops"], kernel["freezes"]
    );
    println!("sensor:   {} frames processed", doc["stats"]["packets"]);
}
