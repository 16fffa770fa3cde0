//! Builds pcapng files block by block as the specification lays them out, in either byte order
//! and with options in the order given. Used to make test captures with the time bases real
//! files rarely show (nanosecond and power-of-two resolutions, negative offsets, several
//! sections) and by the fuzz target over block sequences.

use super::pcapng::{BYTE_ORDER_MAGIC, block, option};

/// An Interface Description Block option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterfaceOption {
    /// `if_tsresol`.
    TsResol(u8),
    /// `if_tsoffset`, seconds.
    TsOffset(i64),
    /// `if_name`.
    Name(String),
    /// Any other option, code and value as given.
    Other(u16, Vec<u8>),
}

/// A pcapng file being written.
pub struct PcapNgWriter {
    out: Vec<u8>,
    big_endian: bool,
}

impl PcapNgWriter {
    /// A file starting with a section in the given byte order.
    pub fn new(big_endian: bool) -> Self {
        let mut w = PcapNgWriter {
            out: Vec::new(),
            big_endian,
        };
        w.section(big_endian);
        w
    }

    /// Starts a new section (its interface list starts empty).
    pub fn section(&mut self, big_endian: bool) -> &mut Self {
        self.big_endian = big_endian;
        let mut body = Vec::new();
        self.put_u32(&mut body, BYTE_ORDER_MAGIC);
        self.put_u16(&mut body, 1);
        self.put_u16(&mut body, 0);
        body.extend_from_slice(&(-1i64).to_le_bytes()); // section length: not given
        self.put_u16(&mut body, option::END);
        self.put_u16(&mut body, 0);
        self.block(block::SECTION_HEADER, &body)
    }

    /// Describes the next interface of the section.
    pub fn interface(&mut self, linktype: u16, snaplen: u32, options: &[InterfaceOption]) -> &mut Self {
        let mut body = Vec::new();
        self.put_u16(&mut body, linktype);
        self.put_u16(&mut body, 0);
        self.put_u32(&mut body, snaplen);
        for o in options {
            let (code, value) = match o {
                InterfaceOption::TsResol(r) => (option::IF_TSRESOL, vec![*r]),
                InterfaceOption::TsOffset(s) => (
                    option::IF_TSOFFSET,
                    if self.big_endian {
                        s.to_be_bytes().to_vec()
                    } else {
                        s.to_le_bytes().to_vec()
                    },
                ),
                InterfaceOption::Name(n) => (2, n.as_bytes().to_vec()),
                InterfaceOption::Other(code, v) => (*code, v.clone()),
            };
            self.put_option(&mut body, code, &value);
        }
        if !options.is_empty() {
            self.put_option(&mut body, option::END, &[]);
        }
        self.block(block::INTERFACE_DESCRIPTION, &body)
    }

    /// An Enhanced Packet Block on `interface` with a timestamp of `ticks` units.
    pub fn enhanced_packet(&mut self, interface: u32, ticks: u64, data: &[u8], orig_len: u32) -> &mut Self {
        let mut body = Vec::new();
        self.put_u32(&mut body, interface);
        self.put_ticks(&mut body, ticks);
        self.put_u32(&mut body, data.len() as u32);
        self.put_u32(&mut body, orig_len);
        put_padded(&mut body, data);
        self.block(block::ENHANCED_PACKET, &body)
    }

    /// A Simple Packet Block (interface 0, no timestamp).
    pub fn simple_packet(&mut self, data: &[u8], orig_len: u32) -> &mut Self {
        let mut body = Vec::new();
        self.put_u32(&mut body, orig_len);
        put_padded(&mut body, data);
        self.block(block::SIMPLE_PACKET, &body)
    }

    /// An (obsolete) Packet Block.
    pub fn packet(&mut self, interface: u16, ticks: u64, data: &[u8]) -> &mut Self {
        let mut body = Vec::new();
        self.put_u16(&mut body, interface);
        self.put_u16(&mut body, 0);
        self.put_ticks(&mut body, ticks);
        self.put_u32(&mut body, data.len() as u32);
        self.put_u32(&mut body, data.len() as u32);
        put_padded(&mut body, data);
        self.block(block::PACKET, &body)
    }

    /// Any block: type, then the body padded to 32 bits, framed by its total length.
    pub fn block(&mut self, kind: u32, body: &[u8]) -> &mut Self {
        let len = (12 + body.len().div_ceil(4) * 4) as u32;
        let mut out = std::mem::take(&mut self.out);
        self.put_u32(&mut out, kind);
        self.put_u32(&mut out, len);
        put_padded(&mut out, body);
        self.put_u32(&mut out, len);
        self.out = out;
        self
    }

    /// The file's bytes.
    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    fn put_option(&self, out: &mut Vec<u8>, code: u16, value: &[u8]) {
        self.put_u16(out, code);
        self.put_u16(out, value.len() as u16);
        put_padded(out, value);
    }

    fn put_ticks(&self, out: &mut Vec<u8>, ticks: u64) {
        self.put_u32(out, (ticks >> 32) as u32);
        self.put_u32(out, ticks as u32);
    }

    fn put_u16(&self, out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }

    fn put_u32(&self, out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
}

fn put_padded(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(b);
    out.resize(out.len() + (4 - b.len() % 4) % 4, 0);
}
