//! Offline capture files: pcap (both byte orders, micro- and nanosecond timestamps) and pcapng
//! (sections, interfaces with their own link types and time bases). The format is detected from
//! the magic number, never the file name. Files are read in large chunks and frames handed out in
//! place. A file damaged part-way is read up to the damage, then reported.

mod chunks;
mod pcap;
pub mod pcapng;
pub mod pcapng_writer;

use super::Packet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The largest record or block read (libpcap's and Wireshark's bound): anything larger is damage,
/// so a hostile length never makes a large allocation.
pub const MAX_RECORD: usize = 16 << 20;

/// Why reading stopped when the file ends inside a record.
const TRUNCATED: &str = "file ends in the middle of a record (truncated)";

/// What the format readers report; the path is added by the caller.
enum ReadError {
    Io(std::io::Error),
    Header(String),
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        ReadError::Io(e)
    }
}

impl ReadError {
    fn at(self, path: &Path) -> CaptureFileError {
        match self {
            ReadError::Io(source) => CaptureFileError::Io {
                path: path.to_owned(),
                source,
            },
            ReadError::Header(reason) => CaptureFileError::BadHeader {
                path: path.to_owned(),
                reason,
            },
        }
    }
}

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
    /// Frames left out because no time can be given to them: pcapng Simple Packet Blocks carry
    /// none and take the time of the packet before them, so those before any timestamped packet.
    pub untimed: u64,
    /// Frames left out because they name an interface the section never described.
    pub undescribed_interface: u64,
}

impl FileReadSummary {
    fn stopped(mut self, why: &str) -> Self {
        self.damaged = Some(format!("after {} frames: {why}", self.packets));
        self
    }
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
        read_format(&self.path, self.format, self.file, sink)
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
    let mut reader = BufReader::with_capacity(16, data);
    let head = reader.fill_buf().map_err(|e| ReadError::Io(e).at(label))?;
    let mut magic = [0u8; 4];
    let got = head.len().min(4);
    magic[..got].copy_from_slice(&head[..got]);
    match detect_format(magic) {
        Some(format) => read_format(label, format, reader, sink),
        None => Err(CaptureFileError::NotACapture {
            path: label.to_owned(),
            magic: hex_prefix(&magic[..got]),
            hint: foreign_format_hint(&magic[..got]),
        }),
    }
}

fn read_format(
    path: &Path,
    format: CaptureFormat,
    src: impl Read,
    sink: &mut dyn FnMut(Packet<'_>),
) -> Result<FileReadSummary, CaptureFileError> {
    match format {
        CaptureFormat::Pcap => pcap::read(src, sink),
        CaptureFormat::PcapNg => pcapng::read(src, sink),
    }
    .map_err(|e| e.at(path))
}

fn hex_prefix(b: &[u8]) -> String {
    if b.is_empty() {
        return "nothing (empty file)".into();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}
