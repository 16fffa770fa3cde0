//! Whole-pipeline benchmark: the bench captures (`../shared/pcaps/bench`) are loaded into memory
//! and run through decode, inventory, dissectors and flow table on one thread; the figure is
//! compared with `tshark -n -q -z conv,ip -z endpoints,ip` on the same files, timed in the same run.
//!
//! Run: `cargo bench -p shoko-agent --bench pipeline` (tshark optional; `SHOKO_BENCH_ROUNDS` sets
//! the number of passes, default 5).

use shoko_agent::capture::Packet;
use shoko_agent::capture::file::CaptureFile;
use shoko_agent::pipeline::{Sensor, SensorLimits};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

struct Frame {
    ts: shoko_proto::Timestamp,
    linktype: u32,
    orig_len: u32,
    data: Vec<u8>,
}

fn load(files: &[PathBuf]) -> Vec<Frame> {
    let mut frames = Vec::new();
    for f in files {
        let file = CaptureFile::open(f).unwrap_or_else(|e| panic!("{e}"));
        file.read_all(&mut |p| {
            frames.push(Frame {
                ts: p.ts,
                linktype: p.linktype,
                orig_len: p.orig_len,
                data: p.data.to_vec(),
            })
        })
        .unwrap();
    }
    frames
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/pcaps/bench");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    files.sort();
    let frames = load(&files);
    let bytes: usize = frames.iter().map(|f| f.data.len()).sum();
    let rounds: usize = std::env::var("SHOKO_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    println!(
        "pipeline benchmark: {} files, {} frames, {:.1} MB in memory",
        files.len(),
        frames.len(),
        bytes as f64 / 1e6
    );
    let mut best = f64::MAX;
    let mut assets = 0;
    for _ in 0..rounds {
        let mut sensor = Sensor::new(SensorLimits::default());
        let start = Instant::now();
        for f in &frames {
            sensor.process(&Packet {
                ts: f.ts,
                linktype: f.linktype,
                orig_len: f.orig_len,
                data: &f.data,
            });
        }
        let out = sensor.output();
        let secs = start.elapsed().as_secs_f64();
        assets = out.assets.len();
        best = best.min(secs);
    }
    let pps = frames.len() as f64 / best;
    println!(
        "shoko:  {:>8.1} ms best of {rounds}  {:>6.2} Mpps  {:>7.1} MB/s  ({assets} assets)",
        best * 1e3,
        pps / 1e6,
        bytes as f64 / best / 1e6
    );
    let tshark = Command::new("tshark").arg("--version").output().is_ok();
    if !tshark {
        println!("tshark: not installed; no baseline");
        return;
    }
    let mut tbest = f64::MAX;
    for _ in 0..rounds.min(3) {
        let start = Instant::now();
        for f in &files {
            let out = Command::new("tshark")
                .args(["-n", "-q", "-z", "conv,ip", "-z", "endpoints,ip", "-r"])
                .arg(f)
                .output()
                .expect("running tshark");
            assert!(out.status.success(), "tshark failed on {}", f.display());
        }
        tbest = tbest.min(start.elapsed().as_secs_f64());
    }
    let tpps = frames.len() as f64 / tbest;
    println!(
        "tshark: {:>8.1} ms best of {}  {:>6.2} Mpps",
        tbest * 1e3,
        rounds.min(3),
        tpps / 1e6
    );
    println!(
        "ratio:  shoko is {:.1}x tshark's rate on the same frames",
        pps / tpps
    );
}
