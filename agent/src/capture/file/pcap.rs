//! Classic libpcap files: microsecond and nanosecond magic numbers, both byte orders.

use super::chunks::Chunks;
use super::{FileReadSummary, MAX_RECORD, Packet, ReadError};
use shoko_proto::Timestamp;
use std::io::Read;

const HEADER: usize = 24;
const RECORD_HEADER: usize = 16;

/// The global header's facts the records need.
struct Header {
    big_endian: bool,
    nanos: bool,
    linktype: u32,
}

fn header(b: &[u8]) -> Result<Header, String> {
    let (big_endian, nanos) = match [b[0], b[1], b[2], b[3]] {
        [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
        [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
        _ => return Err("not a pcap magic number".into()),
    };
    let u32_at = |at: usize| read_u32(&b[at..at + 4], big_endian);
    // LINKTYPE in the low 26 bits; the top bits say whether frames carry an FCS (libpcap's
    // LT_LINKTYPE).
    Ok(Header {
        big_endian,
        nanos,
        linktype: u32_at(20) & 0x03ff_ffff,
    })
}

pub(super) fn read_u32(b: &[u8], big_endian: bool) -> u32 {
    let a = [b[0], b[1], b[2], b[3]];
    if big_endian {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

/// Reads every record into `sink`; stops at the first damaged one and says why.
pub(super) fn read(src: impl Read, sink: &mut dyn FnMut(Packet<'_>)) -> Result<FileReadSummary, ReadError> {
    let mut c = Chunks::new(src);
    if !c.fill(HEADER)? {
        return Err(ReadError::Header(
            "file ends inside the 24-byte file header".into(),
        ));
    }
    let h = header(c.bytes()).map_err(ReadError::Header)?;
    c.consume(HEADER);
    let mut summary = FileReadSummary::default();
    loop {
        if c.at_end()? {
            return Ok(summary);
        }
        if !c.fill(RECORD_HEADER)? {
            return Ok(summary.stopped(super::TRUNCATED));
        }
        let r = c.bytes();
        let field = |i: usize| read_u32(&r[i * 4..i * 4 + 4], h.big_endian);
        let (secs, frac, caplen, orig_len) = (field(0), field(1), field(2) as usize, field(3));
        if caplen > MAX_RECORD {
            return Ok(summary.stopped(&format!(
                "a record claims {caplen} captured bytes, over the {MAX_RECORD}-byte limit"
            )));
        }
        if !c.fill(RECORD_HEADER + caplen)? {
            return Ok(summary.stopped(super::TRUNCATED));
        }
        let sub = if h.nanos {
            frac.min(999_999_999)
        } else {
            frac.min(999_999) * 1000
        };
        let data = &c.bytes()[RECORD_HEADER..RECORD_HEADER + caplen];
        sink(Packet {
            ts: Timestamp::from_secs_nanos(i64::from(secs), sub),
            linktype: h.linktype,
            orig_len: orig_len.max(caplen as u32),
            data,
        });
        summary.packets += 1;
        c.consume(RECORD_HEADER + caplen);
    }
}
