//! Capture times read as the file formats define them, checked against Wireshark's `capinfos`
//! (an independent reader): every pcapng capture among the shared ones, and pcapng files built
//! from the specification with the time bases real files rarely show.

use shoko_agent::capture::file::pcapng_writer::{InterfaceOption, PcapNgWriter};
use shoko_agent::capture::file::{CaptureFile, FileReadSummary};
use shoko_proto::Timestamp;
use std::path::{Path, PathBuf};
use std::process::Command;

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/pcaps")
}

/// Every frame's time and the summary, as the sensor reads the file.
fn read(path: &Path) -> (Vec<Timestamp>, FileReadSummary) {
    let mut times = Vec::new();
    let summary = CaptureFile::open(path)
        .unwrap()
        .read_all(&mut |p| times.push(p.ts))
        .unwrap();
    (times, summary)
}

/// Parses capinfos' `-S` time (seconds since the epoch, 6 or 9 decimals) to microseconds.
fn micros(text: &str) -> i128 {
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let frac: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
    let v = secs.parse::<i128>().unwrap() * 1_000_000 + frac.parse::<i128>().unwrap();
    if negative { -v } else { v }
}

/// The packet count capinfos reads, and the earliest and latest packet times in microseconds
/// (none when a packet has no time: capinfos then prints `n/a`).
fn capinfos(path: &Path) -> (u64, Option<(i128, i128)>) {
    let out = Command::new("capinfos")
        .args(["-c", "-a", "-e", "-S", "-T", "-r"])
        .arg(path)
        .output()
        .expect("capinfos (Debian package wireshark-common, with tshark) is needed by this test");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8(out.stdout).unwrap();
    let fields: Vec<&str> = line.trim_end().split('\t').collect();
    let n = fields.len();
    let count = fields[n - 3].parse().unwrap();
    match (fields[n - 2], fields[n - 1]) {
        ("n/a", "n/a") => (count, None),
        (first, last) => (count, Some((micros(first), micros(last)))),
    }
}

/// Our earliest and latest times, truncated to the microsecond as capinfos prints them.
fn span(times: &[Timestamp]) -> (i128, i128) {
    let us = |t: &Timestamp| i128::from(t.0.div_euclid(1000));
    (
        times.iter().map(us).min().unwrap(),
        times.iter().map(us).max().unwrap(),
    )
}

fn is_pcapng(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && magic == [0x0a, 0x0d, 0x0d, 0x0a]
}

#[test]
fn shared_pcapng_captures_agree_with_capinfos() {
    let mut found = Vec::new();
    let mut stack = vec![shared()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if is_pcapng(&p) {
                found.push(p);
            }
        }
    }
    found.sort();
    let names: Vec<String> = found
        .iter()
        .map(|p| p.strip_prefix(shared()).unwrap().display().to_string())
        .collect();
    // By content: two of them are named .pcap.
    assert_eq!(
        names,
        [
            "bench/channel_5d_3s.pcap",
            "dev/ITI_ICS-Security-Tools/pcaps/beckoff/beckoffaddroute.pcapng",
            "dev/ITI_ICS-Security-Tools/pcaps/hart/hart_ip.pcap",
            "dev/ITI_ICS-Security-Tools/pcaps/s7/S7Comm/wrapup.pcapng",
            "dev2/ControlThings-io_ct-samples/Protocols/DLMS-COSEM/Matousp PCAPs/data2.pcapng",
            "dev2/ControlThings-io_ct-samples/Protocols/IEC61850/GOOSE/GE - Multilin UR - Digital Protection Relay/GOOSE and MMS.pcapng",
            "dev2/apache_plc4x/protocols/profinet/src/test/resources/pcap/working-profinet-recording-plc4x.pcapng",
            "dev2/apache_plc4x/protocols/s7/src/test/resources/protocols/s7/manual-test-capture.pcapng",
        ]
    );
    for path in &found {
        let (times, summary) = read(path);
        assert_eq!(summary.damaged, None, "{}", path.display());
        let count = times.len() as u64;
        assert_eq!((count, Some(span(&times))), capinfos(path), "{}", path.display());
    }
    // The file that was dated 1970-01-18 before: microsecond resolution by default.
    let (times, _) = read(&shared().join("dev/ITI_ICS-Security-Tools/pcaps/s7/S7Comm/wrapup.pcapng"));
    assert_eq!(times[0].to_string(), "2018-07-30T07:29:11.862175Z");
}

/// A frame to carry: its content does not matter to the time base.
const FRAME: &[u8] = &[0xff; 60];
/// 2023-11-14T22:13:20Z.
const SECS: u64 = 1_700_000_000;

/// RFC 3339 with nanoseconds.
fn nanos(t: Timestamp) -> String {
    let micros = t.to_string();
    format!("{}{:03}Z", micros.trim_end_matches('Z'), t.0.rem_euclid(1000))
}

/// Writes `bytes` to a temporary file, reads it and checks the packets and their span against
/// capinfos. capinfos dates no file holding an untimed packet (a Simple Packet Block): then it
/// must say so.
fn check(bytes: Vec<u8>, expected: &[&str], untimed: u64, simple: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("generated.pcapng");
    std::fs::write(&path, bytes).unwrap();
    let (times, summary) = read(&path);
    let got: Vec<String> = times.iter().map(|t| nanos(*t)).collect();
    assert_eq!(got, expected);
    assert_eq!((summary.damaged, summary.untimed), (None, untimed));
    let count = times.len() as u64 + untimed;
    let dated = (!simple).then(|| span(&times));
    assert_eq!((count, dated), capinfos(&path));
}

#[test]
fn microsecond_resolution_is_the_default() {
    let mut w = PcapNgWriter::new(false);
    w.interface(1, 0, &[])
        .enhanced_packet(0, SECS * 1_000_000 + 123_456, FRAME, 60)
        .enhanced_packet(0, (SECS + 61) * 1_000_000 + 1, FRAME, 60);
    check(
        w.finish(),
        &["2023-11-14T22:13:20.123456000Z", "2023-11-14T22:14:21.000001000Z"],
        0,
        false,
    );
    // The same stated explicitly, big-endian, and the obsolete Packet Block.
    let mut w = PcapNgWriter::new(true);
    w.interface(1, 0, &[InterfaceOption::TsResol(6)])
        .enhanced_packet(0, SECS * 1_000_000 + 123_456, FRAME, 60)
        .packet(0, SECS * 1_000_000 + 999_999, FRAME);
    check(
        w.finish(),
        &["2023-11-14T22:13:20.123456000Z", "2023-11-14T22:13:20.999999000Z"],
        0,
        false,
    );
}

#[test]
fn nanosecond_and_power_of_two_resolutions() {
    let mut w = PcapNgWriter::new(true);
    w.interface(1, 0, &[InterfaceOption::TsResol(9)]).enhanced_packet(
        0,
        SECS * 1_000_000_000 + 123_456_789,
        FRAME,
        60,
    );
    check(w.finish(), &["2023-11-14T22:13:20.123456789Z"], 0, false);

    // 2^-20 s: half a second is 2^19 units; one unit is 953.67 ns, truncated.
    let mut w = PcapNgWriter::new(false);
    w.interface(1, 0, &[InterfaceOption::TsResol(0x80 | 20)])
        .enhanced_packet(0, (SECS << 20) | (1 << 19), FRAME, 60)
        .enhanced_packet(0, ((SECS + 1) << 20) | 1, FRAME, 60);
    check(
        w.finish(),
        &["2023-11-14T22:13:20.500000000Z", "2023-11-14T22:13:21.000000953Z"],
        0,
        false,
    );
}

#[test]
fn positive_and_negative_offsets_in_any_option_order() {
    // The offset before the resolution, among other options (a time zone of 4 bytes, a name).
    let mut w = PcapNgWriter::new(false);
    w.interface(
        1,
        65535,
        &[
            InterfaceOption::TsOffset(3600),
            InterfaceOption::Name("eth0".into()),
            InterfaceOption::Other(10, vec![0, 0, 0, 0]),
            InterfaceOption::TsResol(9),
        ],
    )
    .enhanced_packet(0, 5_000_000_001, FRAME, 60);
    check(w.finish(), &["1970-01-01T01:00:05.000000001Z"], 0, false);

    // Timestamps relative to a start time: a negative offset moves them back a day.
    let mut w = PcapNgWriter::new(true);
    w.interface(1, 0, &[InterfaceOption::TsOffset(-86_400)])
        .enhanced_packet(0, (SECS + 86_400) * 1_000_000 + 250_000, FRAME, 60);
    check(w.finish(), &["2023-11-14T22:13:20.250000000Z"], 0, false);
}

#[test]
fn interface_ids_restart_in_each_section() {
    // Interface 0 counts microseconds in the first section and nanoseconds in the second (of the
    // other byte order); the same tick count is a different time in each.
    let ticks = SECS * 1_000_000_000;
    let mut w = PcapNgWriter::new(false);
    w.interface(1, 0, &[])
        .interface(1, 0, &[InterfaceOption::TsResol(9)])
        .enhanced_packet(1, ticks, FRAME, 60)
        .enhanced_packet(0, SECS * 1_000_000, FRAME, 60)
        .section(true)
        .interface(1, 0, &[InterfaceOption::TsResol(9)])
        .enhanced_packet(0, ticks + 7, FRAME, 60);
    check(
        w.finish(),
        &[
            "2023-11-14T22:13:20.000000000Z",
            "2023-11-14T22:13:20.000000000Z",
            "2023-11-14T22:13:20.000000007Z",
        ],
        0,
        false,
    );
}

#[test]
fn simple_packet_blocks_take_the_time_of_the_packet_before() {
    // A Simple Packet Block carries no timestamp: one before any timed packet is left out (and
    // counted), later ones take the latest time read, never 1970.
    let mut w = PcapNgWriter::new(false);
    w.interface(1, 0, &[])
        .simple_packet(FRAME, 60)
        .enhanced_packet(0, SECS * 1_000_000 + 10, FRAME, 60)
        .simple_packet(FRAME, 60)
        .simple_packet(FRAME, 60)
        .enhanced_packet(0, SECS * 1_000_000 + 20, FRAME, 60)
        .simple_packet(FRAME, 60);
    check(
        w.finish(),
        &[
            "2023-11-14T22:13:20.000010000Z",
            "2023-11-14T22:13:20.000010000Z",
            "2023-11-14T22:13:20.000010000Z",
            "2023-11-14T22:13:20.000020000Z",
            "2023-11-14T22:13:20.000020000Z",
        ],
        1,
        true,
    );
}

#[test]
fn hostile_lengths_stop_reading_at_the_damage_without_allocating() {
    // A packet, then a block claiming 1 GiB: the packet is used, the claim named, nothing the
    // size of the claim allocated (the reader's window is bounded by MAX_RECORD).
    let mut w = PcapNgWriter::new(false);
    w.interface(1, 0, &[])
        .enhanced_packet(0, SECS * 1_000_000, FRAME, 60);
    let mut bytes = w.finish();
    bytes.extend_from_slice(&6u32.to_le_bytes());
    bytes.extend_from_slice(&(1u32 << 30).to_le_bytes());
    bytes.extend_from_slice(&[0; 64]);
    let mut times = Vec::new();
    let summary = shoko_agent::capture::file::read_from(Path::new("hostile"), bytes.as_slice(), &mut |p| {
        times.push(p.ts)
    })
    .unwrap();
    assert_eq!(times.len(), 1);
    assert_eq!(
        summary.damaged.as_deref(),
        Some("after 1 frames: a block of type 0x6 claims a length of 1073741824 bytes")
    );
    // An Enhanced Packet Block whose captured length runs past its block.
    let mut w = PcapNgWriter::new(true);
    let mut body = vec![0u8; 20];
    body[12..16].copy_from_slice(&1000u32.to_be_bytes());
    w.interface(1, 0, &[]).block(6, &body);
    let summary =
        shoko_agent::capture::file::read_from(Path::new("hostile"), w.finish().as_slice(), &mut |_| {})
            .unwrap();
    assert_eq!(
        summary.damaged.as_deref(),
        Some("after 0 frames: a packet block claims 1000 captured bytes in a block of 32")
    );
    // Not a section header first: not a capture.
    let err = shoko_agent::capture::file::read_from(
        Path::new("hostile"),
        &[0x0a, 0x0d, 0x0d, 0x0a, 1, 0, 0][..],
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "hostile: unreadable capture header: file ends in the middle of a record (truncated)"
    );
}
