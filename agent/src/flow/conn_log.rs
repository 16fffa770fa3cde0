//! Zeek `conn.log` (TSV) output of flow summaries, readable by Zeek tooling (zeek-cut, RITA, ...).

use sha2::{Digest, Sha256};
use shoko_proto::{FlowSummary, Timestamp, Transport};
use std::io::{self, Write};

const FIELDS: [(&str, &str); 21] = [
    ("ts", "time"),
    ("uid", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("proto", "enum"),
    ("service", "string"),
    ("duration", "interval"),
    ("orig_bytes", "count"),
    ("resp_bytes", "count"),
    ("conn_state", "string"),
    ("local_orig", "bool"),
    ("local_resp", "bool"),
    ("missed_bytes", "count"),
    ("history", "string"),
    ("orig_pkts", "count"),
    ("orig_ip_bytes", "count"),
    ("resp_pkts", "count"),
    ("resp_ip_bytes", "count"),
    ("tunnel_parents", "set[string]"),
];

fn epoch(t: Timestamp) -> String {
    format!("{}.{:06}", t.secs(), t.subsec_nanos() / 1000)
}

/// Zeek-style connection uid: `C` and 17 base-62 characters, derived from the flow so the same
/// capture always gives the same uids.
pub fn uid(f: &FlowSummary) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let key = format!(
        "{}|{}|{}|{}|{}|{}",
        f.ip_proto, f.orig.ip, f.orig.port, f.resp.ip, f.resp.port, f.first_seen.0
    );
    let d = Sha256::digest(key.as_bytes());
    let mut n = u128::from_be_bytes(d[..16].try_into().unwrap_or([0; 16]));
    let mut s = String::from("C");
    for _ in 0..17 {
        s.push(ALPHABET[(n % 62) as usize] as char);
        n /= 62;
    }
    s
}

fn stamp(t: Timestamp) -> String {
    let s = t.to_string(); // 2024-03-01T08:00:00.000000Z
    format!("{}-{}-{}-{}", &s[..10], &s[11..13], &s[14..16], &s[17..19])
}

/// Writes a complete conn.log with header and footer.
pub fn write(out: &mut impl Write, flows: &[FlowSummary], opened: Timestamp) -> io::Result<()> {
    writeln!(out, "#separator \\x09")?;
    writeln!(out, "#set_separator\t,")?;
    writeln!(out, "#empty_field\t(empty)")?;
    writeln!(out, "#unset_field\t-")?;
    writeln!(out, "#path\tconn")?;
    writeln!(out, "#open\t{}", stamp(opened))?;
    let names: Vec<&str> = FIELDS.iter().map(|f| f.0).collect();
    let types: Vec<&str> = FIELDS.iter().map(|f| f.1).collect();
    writeln!(out, "#fields\t{}", names.join("\t"))?;
    writeln!(out, "#types\t{}", types.join("\t"))?;
    for f in flows {
        let proto = match f.transport {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
            Transport::Other if f.ip_proto == 1 || f.ip_proto == 58 => "icmp",
            Transport::Other => "unknown_transport",
        };
        let duration = epoch(Timestamp(f.last_seen.0 - f.first_seen.0));
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t-\t-\t0\t{}\t{}\t{}\t{}\t{}\t-",
            epoch(f.first_seen),
            uid(f),
            f.orig.ip,
            f.orig.port,
            f.resp.ip,
            f.resp.port,
            proto,
            f.app_protocol.as_deref().unwrap_or("-"),
            duration,
            f.orig_payload_bytes,
            f.resp_payload_bytes,
            f.state.as_deref().unwrap_or("-"),
            f.history.as_deref().unwrap_or("-"),
            f.orig_packets,
            f.orig_bytes,
            f.resp_packets,
            f.resp_bytes,
        )?;
    }
    writeln!(out, "#close\t{}", stamp(Timestamp::now()))
}
