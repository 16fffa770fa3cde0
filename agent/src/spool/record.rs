//! The spool's record format and its recovery scan. A segment file is a run of records:
//!
//! ```text
//! magic "SHKR" | payload length u32 | record id u64 | batch seq u64 | spooled at i64 (ns)
//! | observations u32 | CRC-32 u32 | payload (MessagePack of the observations)
//! ```
//!
//! little-endian. The CRC covers the length, id, time, count and payload; not the batch sequence
//! number, which is 0 until the batch is first sent and is then written in place (8 aligned
//! bytes) so that a re-send after a restart carries the same number. A scan stops at the first
//! record that is short, has a wrong magic, an impossible length or a wrong CRC: a torn write at
//! power loss.

use std::io::{self, Read};

/// Marks the start of a record.
pub const MAGIC: [u8; 4] = *b"SHKR";

/// Bytes of a record header.
pub const HEADER: u64 = 40;

/// Offset of the batch sequence number in a record.
pub const SEQ_OFFSET: u64 = 16;

/// A record as it sits in a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordMeta {
    /// Spool-wide record number (the order records are sent in).
    pub id: u64,
    /// Batch sequence number, 0 until first sent.
    pub seq: u64,
    /// When it was spooled (ns since the epoch).
    pub at: i64,
    /// Observations in it.
    pub count: u32,
    /// Offset of its header in the segment.
    pub offset: u64,
    /// Payload bytes.
    pub len: u32,
}

impl RecordMeta {
    /// Bytes it takes on disk.
    pub fn size(&self) -> u64 {
        HEADER + u64::from(self.len)
    }
}

fn checksum(len: u32, id: u64, at: i64, count: u32, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&len.to_le_bytes());
    h.update(&id.to_le_bytes());
    h.update(&at.to_le_bytes());
    h.update(&count.to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// A record's bytes: header (batch sequence 0) and payload.
pub fn encode(id: u64, at: i64, count: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(HEADER as usize + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&at.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&checksum(len, id, at, count, payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Why a record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Reading failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The bytes are not a whole, intact record.
    #[error("{0}")]
    Damaged(String),
}

/// Reads the record at the reader's position: its header fields and payload. `max_len` bounds
/// the payload accepted (so damaged bytes never make a huge allocation); `offset` is recorded.
pub fn read(
    r: &mut impl Read,
    offset: u64,
    max_len: u32,
) -> Result<Option<(RecordMeta, Vec<u8>)>, RecordError> {
    let mut header = [0u8; HEADER as usize];
    let mut got = 0;
    while got < header.len() {
        match r.read(&mut header[got..])? {
            0 if got == 0 => return Ok(None),
            0 => {
                return Err(RecordError::Damaged(format!(
                    "a header cut short after {got} bytes"
                )));
            }
            n => got += n,
        }
    }
    let field = |at: usize, n: usize| &header[at..at + n];
    if field(0, 4) != MAGIC {
        return Err(RecordError::Damaged("no record magic".into()));
    }
    let u32_at = |at| u32::from_le_bytes(field(at, 4).try_into().unwrap_or_default());
    let u64_at = |at| u64::from_le_bytes(field(at, 8).try_into().unwrap_or_default());
    let len = u32_at(4);
    if len > max_len {
        return Err(RecordError::Damaged(format!("a payload length of {len} bytes")));
    }
    let (id, seq, at, count, crc) = (u64_at(8), u64_at(16), u64_at(24) as i64, u32_at(32), u32_at(36));
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => RecordError::Damaged("a payload cut short".into()),
        _ => RecordError::Io(e),
    })?;
    if checksum(len, id, at, count, &payload) != crc {
        return Err(RecordError::Damaged("a checksum mismatch".into()));
    }
    let meta = RecordMeta {
        id,
        seq,
        at,
        count,
        offset,
        len,
    };
    Ok(Some((meta, payload)))
}

/// What a scan of a segment found: its intact records, and where the damage starts if any.
#[derive(Debug, Default)]
pub struct Scan {
    /// The intact records, in order.
    pub records: Vec<RecordMeta>,
    /// Bytes up to the end of the last intact record.
    pub valid_len: u64,
    /// What is wrong after it, if anything.
    pub damage: Option<String>,
}

/// Scans a segment from the start.
pub fn scan(r: &mut impl Read, max_len: u32) -> io::Result<Scan> {
    let mut out = Scan::default();
    loop {
        match read(r, out.valid_len, max_len) {
            Ok(Some((meta, _))) => {
                out.valid_len += meta.size();
                out.records.push(meta);
            }
            Ok(None) => return Ok(out),
            Err(RecordError::Damaged(why)) => {
                out.damage = Some(why);
                return Ok(out);
            }
            Err(RecordError::Io(e)) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_and_every_cut_or_flip_is_caught() {
        let mut bytes = encode(7, 1_000, 3, b"three observations");
        bytes.extend(encode(8, 2_000, 1, b"one"));
        let s = scan(&mut bytes.as_slice(), 1 << 20).unwrap();
        assert_eq!(s.records.len(), 2);
        assert_eq!(
            (s.records[1].id, s.records[1].offset, s.records[1].count),
            (8, 58, 1)
        );
        assert_eq!((s.valid_len, s.damage), (bytes.len() as u64, None));
        // Every cut inside the second record leaves the first intact.
        for cut in 59..bytes.len() {
            let s = scan(&mut &bytes[..cut], 1 << 20).unwrap();
            assert_eq!((s.records.len(), s.valid_len), (1, 58), "cut at {cut}");
            assert!(s.damage.is_some(), "cut at {cut}");
        }
        // Every flipped bit outside the sequence number is caught.
        for i in 0..58 {
            if (16..24).contains(&i) {
                continue;
            }
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            let s = scan(&mut bad.as_slice(), 1 << 20).unwrap();
            assert!(s.records.is_empty(), "flip at {i}");
        }
        // A huge claimed length is refused before allocating.
        let mut huge = bytes.clone();
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            scan(&mut huge.as_slice(), 1 << 20).unwrap().damage.as_deref(),
            Some("a payload length of 4294967295 bytes")
        );
    }
}
