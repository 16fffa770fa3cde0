//! Offline capture files: pcap (both byte orders, micro- and nanosecond timestamps) and pcapng
//! (several interfaces and link types). The format is detected from the magic number, never the
//! file name. A file damaged part-way is read up to the damage, then reported.

use super::Packet;
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::{PcapError, TsResolution};
use shoko_proto::Timestamp;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// The container format of a capture file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Classic libpcap.
    Pcap,
    /// pcap next generation.
    PcapNg,
}

/// Why a capture file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum CaptureFileError {
    /// Opening or reading the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file does not start with a pcap or pcapng magic number.
    #[error("{path}: not a pcap or pcapng file (starts with {magic}){hint}")]
    NotACapture {
        /// The file.
        path: PathBuf,
        /// The first bytes, in hex.
        magic: String,
        /// What the file seems to be instead, and how to convert it.
        hint: &'static str,
    },
    /// The file header is damaged.
    #[error("{path}: unreadable capture header: {reason}")]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// What reading a whole file gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileReadSummary {
    /// Frames handed to the sink.
    pub packets: u64,
    /// Why reading stopped before the end of the file, if it did (packets before it were used).
    pub damaged: Option<String>,
}

/// Detects the container format from the first four bytes.
pub fn detect_format(magic: [u8; 4]) -> Option<CaptureFormat> {
    match u32::from_le_bytes(magic) {
        0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 => Some(CaptureFormat::Pcap),
        0x0a0d_0d0a => Some(CaptureFormat::PcapNg),
        _ => None,
    }
}

/// An open capture file.
pub struct CaptureFile {
    path: PathBuf,
    format: CaptureFormat,
    file: File,
}

impl CaptureFile {
    /// Opens `path` and detects its format.
    pub fn open(path: &Path) -> Result<Self, CaptureFileError> {
        let io = |source| CaptureFileError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let mut magic = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            match file.read(&mut magic[got..]).map_err(io)? {
                0 => break,
                n => got += n,
            }
        }
        let format = detect_format(magic).ok_or_else(|| CaptureFileError::NotACapture {
            path: path.to_owned(),
            magic: hex_prefix(&magic[..got]),
            hint: foreign_format_hint(&magic[..got]),
        })?;
        // Reopen so the readers see the magic number.
        let file = File::open(path).map_err(io)?;
        Ok(CaptureFile {
            path: path.to_owned(),
            format,
            file,
        })
    }

    /// The detected format.
    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Reads every frame into `sink`. Stops at the first damaged record and says why.
    pub fn read_all(self, sink: &mut dyn FnMut(Packet<'_>)) -> Result<FileReadSummary, CaptureFileError> {
        let reader = BufReader::with_capacity(1 << 16, self.file);
        match self.format {
            CaptureFormat::Pcap => read_pcap(&self.path, reader, sink),
            CaptureFormat::PcapNg => read_pcapng(&self.path, reader, sink),
        }
    }
}

/// Names capture formats other tools write, with the conversion that makes them readable.
fn foreign_format_hint(magic: &[u8]) -> &'static str {
    match magic {
        b"GMBU" | b"RTSS" => {
            ": a Microsoft Network Monitor capture; convert it with `editcap -F pcapng IN OUT.pcapng`"
        }
        [0x58, 0x43, 0x50, 0x00] => {
            ": a NetXRay/Sniffer capture; convert it with `editcap -F pcapng IN OUT.pcapng`"
        }
        [0x1f, 0x8b, ..] => ": a gzip-compressed file; decompress it first",
        _ => "",
    }
}

/// Reads a capture held in memory (or any reader), detecting its format. `label` names it in errors.
pub fn read_from(
    label: &Path,
    data: impl Read,
    sink: &mut dyn FnMut(Packet<'_>),
) -> Result<FileReadSummary, CaptureFileError> {
    let mut reader = BufReader::with_capacity(1 << 16, data);
    let head = std::io::BufRead::fill_buf(&mut reader).map_err(|source| CaptureFileError::Io {
        path: label.to_owned(),
        source,
    })?;
    let mut magic = [0u8; 4];
    let got = head.len().min(4);
    magic[..got].copy_from_slice(&head[..got]);
    match detect_format(magic) {
        Some(CaptureFormat::Pcap) => read_pcap(label, reader, sink),
        Some(CaptureFormat::PcapNg) => read_pcapng(label, reader, sink),
        None => Err(CaptureFileError::NotACapture {
            path: label.to_owned(),
            magic: hex_prefix(&magic[..got]),
            hint: foreign_format_hint(&magic[..got]),
        }),
    }
}

fn hex_prefix(b: &[u8]) -> String {
    if b.is_empty() {
        return "nothing (empty file)".into();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn damage(e: PcapError) -> String {
    match e {
        PcapError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "file ends in the middle of a record (truncated)".into()
        }
        other => other.to_string(),
    }
}

fn read_pcap(
    path: &Path,
    reader: impl Read,
    sink: &mut dyn FnMut(Packet<'_>),
) -> Result<FileReadSummary, CaptureFileError> {
    let mut r = PcapReader::new(reader).map_err(|e| CaptureFileError::BadHeader {
        path: path.to_owned(),
        reason: damage(e),
    })?;
    let header = r.header();
    let linktype = u32::from(header.datalink);
    let nanos = header.ts_resolution == TsResolution::NanoSecond;
    let mut summary = FileReadSummary::default();
    // Raw records: the checked conversion refuses orig_len > snaplen, which truncated captures
    // (tcpdump -s 96) legitimately have.
    while let Some(rec) = r.next_raw_packet() {
        match rec {
            Ok(p) => {
                let sub = if nanos {
                    p.ts_frac.min(999_999_999)
                } else {
                    p.ts_frac.min(999_999).saturating_mul(1000)
                };
                sink(Packet {
                    ts: Timestamp::from_secs_nanos(i64::from(p.ts_sec), sub),
                    linktype,
                    orig_len: p.orig_len.max(p.data.len() as u32),
                    data: &p.data,
                });
                summary.packets += 1;
            }
            Err(e) => {
                summary.damaged = Some(format!("after {} frames: {}", summary.packets, damage(e)));
                break;
            }
        }
    }
    Ok(summary)
}

fn read_pcapng(
    path: &Path,
    reader: impl Read,
    sink: &mut dyn FnMut(Packet<'_>),
) -> Result<FileReadSummary, CaptureFileError> {
    let mut r = PcapNgReader::new(reader).map_err(|e| CaptureFileError::BadHeader {
        path: path.to_owned(),
        reason: damage(e),
    })?;
    let mut summary = FileReadSummary::default();
    // Link type of each interface of the current section, by interface id.
    let mut linktypes: Vec<u32> = Vec::new();
    while let Some(block) = r.next_block() {
        let block = match block {
            Ok(b) => b,
            Err(e) => {
                summary.damaged = Some(format!("after {} frames: {}", summary.packets, damage(e)));
                break;
            }
        };
        let (iface, ts, orig_len, data) = match &block {
            Block::EnhancedPacket(p) => (
                Some(p.interface_id),
                Timestamp(i64::try_from(p.timestamp.as_nanos()).unwrap_or(i64::MAX)),
                p.original_len,
                &p.data,
            ),
            Block::Packet(p) => (
                Some(u32::from(p.interface_id)),
                Timestamp(0),
                p.original_len,
                &p.data,
            ),
            Block::SimplePacket(p) => (Some(0), Timestamp(0), p.original_len, &p.data),
            Block::SectionHeader(_) => {
                linktypes.clear();
                continue;
            }
            Block::InterfaceDescription(i) => {
                linktypes.push(u32::from(i.linktype));
                continue;
            }
            _ => continue,
        };
        let Some(iface) = iface else { continue };
        // A packet naming an interface that was never described is damage in that record only.
        let Some(&linktype) = linktypes.get(iface as usize) else {
            continue;
        };
        sink(Packet {
            ts,
            linktype,
            orig_len: orig_len.max(data.len() as u32),
            data,
        });
        summary.packets += 1;
    }
    Ok(summary)
}
