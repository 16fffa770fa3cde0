//! pcap next generation files, read as the specification defines them (IETF draft
//! `draft-ietf-opsawg-pcapng`): sections with their own byte order and interface list; each
//! interface's time resolution (`if_tsresol`: a power of ten or, with the high bit set, a power of
//! two; default 10^-6) and signed offset in seconds (`if_tsoffset`); Enhanced, Simple and obsolete
//! Packet Blocks. Options may come in any order; an option that runs past its block ends the
//! option list, not the file.

use super::chunks::Chunks;
use super::pcap::read_u32;
use super::{FileReadSummary, MAX_RECORD, Packet, ReadError};
use shoko_proto::Timestamp;
use std::io::Read;

/// Block types (section 4 and 11.1 of the specification).
pub mod block {
    /// Section Header Block.
    pub const SECTION_HEADER: u32 = 0x0a0d_0d0a;
    /// Interface Description Block.
    pub const INTERFACE_DESCRIPTION: u32 = 1;
    /// Packet Block (obsolete).
    pub const PACKET: u32 = 2;
    /// Simple Packet Block.
    pub const SIMPLE_PACKET: u32 = 3;
    /// Enhanced Packet Block.
    pub const ENHANCED_PACKET: u32 = 6;
}

/// Interface Description Block option codes that set the time base.
pub mod option {
    /// End of options.
    pub const END: u16 = 0;
    /// `if_tsresol`: one byte, the resolution of timestamps.
    pub const IF_TSRESOL: u16 = 9;
    /// `if_tsoffset`: a signed 64-bit number of seconds added to every timestamp.
    pub const IF_TSOFFSET: u16 = 14;
}

/// The byte-order magic of a Section Header Block, written in the section's byte order.
pub const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

/// How an interface's timestamps convert to time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBase {
    /// `if_tsresol` as written (default 6: microseconds).
    pub tsresol: u8,
    /// `if_tsoffset` in seconds (default 0).
    pub tsoffset: i64,
}

impl Default for TimeBase {
    fn default() -> Self {
        TimeBase {
            tsresol: 6,
            tsoffset: 0,
        }
    }
}

impl TimeBase {
    /// The time of a timestamp of `ticks` units: truncated to the nanosecond as Wireshark does,
    /// saturating at the representable range.
    pub fn time(self, ticks: u64) -> Timestamp {
        let exp = u32::from(self.tsresol & 0x7f);
        let nanos: i128 = if self.tsresol & 0x80 != 0 {
            ((u128::from(ticks) * 1_000_000_000) >> exp) as i128
        } else if exp <= 9 {
            i128::from(ticks) * 10i128.pow(9 - exp)
        } else if exp - 9 < 20 {
            i128::from(ticks) / 10i128.pow(exp - 9)
        } else {
            0
        };
        let total = nanos + i128::from(self.tsoffset) * 1_000_000_000;
        Timestamp(total.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }
}

/// One described interface of the current section.
struct Interface {
    linktype: u32,
    snaplen: u32,
    time: TimeBase,
}

/// Reading state that spans blocks.
struct Section {
    big_endian: bool,
    interfaces: Vec<Interface>,
}

impl Section {
    fn u16(&self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        if self.big_endian {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        }
    }

    fn u32(&self, b: &[u8]) -> u32 {
        read_u32(b, self.big_endian)
    }

    fn ticks(&self, high: &[u8], low: &[u8]) -> u64 {
        (u64::from(self.u32(high)) << 32) | u64::from(self.u32(low))
    }

    /// Reads an Interface Description Block's body.
    fn describe(&self, body: &[u8]) -> Option<Interface> {
        if body.len() < 8 {
            return None;
        }
        let mut time = TimeBase::default();
        for (code, value) in options(self, &body[8..]) {
            match code {
                option::IF_TSRESOL if value.len() == 1 => time.tsresol = value[0],
                option::IF_TSOFFSET if value.len() == 8 => {
                    let v: [u8; 8] = value.try_into().unwrap_or_default();
                    time.tsoffset = if self.big_endian {
                        i64::from_be_bytes(v)
                    } else {
                        i64::from_le_bytes(v)
                    };
                }
                _ => {}
            }
        }
        Some(Interface {
            linktype: u32::from(self.u16(&body[0..2])),
            snaplen: self.u32(&body[4..8]),
            time,
        })
    }
}

/// The options of a block: (code, value) until `opt_endofopt` or the end of the bytes.
fn options<'a>(s: &'a Section, mut b: &'a [u8]) -> impl Iterator<Item = (u16, &'a [u8])> + 'a {
    std::iter::from_fn(move || {
        if b.len() < 4 {
            return None;
        }
        let code = s.u16(&b[0..2]);
        let len = usize::from(s.u16(&b[2..4]));
        let padded = len.div_ceil(4) * 4;
        if code == option::END || b.len() < 4 + len {
            return None;
        }
        let value = &b[4..4 + len];
        b = &b[(4 + padded).min(b.len())..];
        Some((code, value))
    })
}

/// Reads every packet into `sink`; stops at the first damaged block and says why.
pub(super) fn read(src: impl Read, sink: &mut dyn FnMut(Packet<'_>)) -> Result<FileReadSummary, ReadError> {
    let mut c = Chunks::new(src);
    let mut summary = FileReadSummary::default();
    let mut section: Option<Section> = None;
    // Whether a whole section header was read: damage before it means the file is no capture.
    let mut begun = false;
    // The time of the latest timestamped packet: a Simple Packet Block carries none.
    let mut latest: Option<Timestamp> = None;
    loop {
        if c.at_end()? {
            return Ok(summary);
        }
        if !c.fill(12)? {
            return damaged(summary, super::TRUNCATED, begun);
        }
        let head = c.bytes();
        let kind = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        if kind == block::SECTION_HEADER {
            // The byte-order magic says how to read this block's length and everything after.
            let magic = [head[8], head[9], head[10], head[11]];
            let big_endian = match BYTE_ORDER_MAGIC {
                m if u32::from_be_bytes(magic) == m => true,
                m if u32::from_le_bytes(magic) == m => false,
                _ => {
                    let why = "a section header with no valid byte-order magic";
                    return damaged(summary, why, begun);
                }
            };
            section = Some(Section {
                big_endian,
                interfaces: Vec::new(),
            });
        }
        let Some(s) = section.as_mut() else {
            return Err(ReadError::Header(
                "the file does not start with a section header block".into(),
            ));
        };
        let len = s.u32(&head[4..8]) as usize;
        if len < 12 || !len.is_multiple_of(4) || len > MAX_RECORD {
            let why = format!("a block of type {kind:#x} claims a length of {len} bytes");
            return damaged(summary, &why, begun);
        }
        if !c.fill(len)? {
            return damaged(summary, super::TRUNCATED, begun);
        }
        let whole = c.bytes();
        let body = &whole[8..len - 4];
        if s.u32(&whole[len - 4..len]) as usize != len {
            let why = format!("a block of type {kind:#x} whose trailing length differs from its leading one");
            return damaged(summary, &why, begun);
        }
        let kind = s.u32(&whole[0..4]);
        let packet = match kind {
            block::SECTION_HEADER => {
                if body.len() < 16 {
                    return damaged(summary, "a section header block too short", begun);
                }
                let (major, minor) = (s.u16(&body[4..6]), s.u16(&body[6..8]));
                if major != 1 {
                    let why = format!("a section of pcapng version {major}.{minor}, not 1.x");
                    return damaged(summary, &why, begun);
                }
                begun = true;
                None
            }
            block::INTERFACE_DESCRIPTION => match s.describe(body) {
                Some(i) => {
                    s.interfaces.push(i);
                    None
                }
                None => return damaged(summary, "an interface description block too short", begun),
            },
            block::ENHANCED_PACKET | block::PACKET => {
                if body.len() < 20 {
                    return damaged(summary, "a packet block too short for its header", begun);
                }
                let iface = if kind == block::PACKET {
                    usize::from(s.u16(&body[0..2]))
                } else {
                    s.u32(&body[0..4]) as usize
                };
                let caplen = s.u32(&body[12..16]) as usize;
                if caplen > body.len() - 20 {
                    let why = format!("a packet block claims {caplen} captured bytes in a block of {len}");
                    return damaged(summary, &why, begun);
                }
                match s.interfaces.get(iface) {
                    Some(i) => {
                        let ts = i.time.time(s.ticks(&body[4..8], &body[8..12]));
                        latest = Some(ts);
                        Some((ts, i.linktype, s.u32(&body[16..20]), &body[20..20 + caplen]))
                    }
                    None => {
                        summary.undescribed_interface += 1;
                        None
                    }
                }
            }
            block::SIMPLE_PACKET => {
                if body.len() < 4 {
                    return damaged(summary, "a simple packet block too short for its header", begun);
                }
                let orig_len = s.u32(&body[0..4]);
                match (s.interfaces.first(), latest) {
                    (None, _) => {
                        summary.undescribed_interface += 1;
                        None
                    }
                    (Some(_), None) => {
                        summary.untimed += 1;
                        None
                    }
                    (Some(i), Some(ts)) => {
                        let mut caplen = (body.len() - 4).min(orig_len as usize);
                        if i.snaplen != 0 {
                            caplen = caplen.min(i.snaplen as usize);
                        }
                        Some((ts, i.linktype, orig_len, &body[4..4 + caplen]))
                    }
                }
            }
            _ => None,
        };
        if let Some((ts, linktype, orig_len, data)) = packet {
            sink(Packet {
                ts,
                linktype,
                orig_len: orig_len.max(data.len() as u32),
                data,
            });
            summary.packets += 1;
        }
        c.consume(len);
    }
}

/// Ends reading at damage: a file whose very first block is unreadable is not a capture at all.
fn damaged(summary: FileReadSummary, why: &str, begun: bool) -> Result<FileReadSummary, ReadError> {
    if begun {
        Ok(summary.stopped(why))
    } else {
        Err(ReadError::Header(why.to_owned()))
    }
}
