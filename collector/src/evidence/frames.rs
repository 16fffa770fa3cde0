//! Evidence frames written back as classic pcap files, one per link type (a pcap file has one),
//! in capture order, so Wireshark or tshark open what the sensor saw.

use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use shoko_proto::EvidenceFrame;
use std::collections::BTreeMap;
use std::time::Duration;

/// The frames as pcap files: link type -> file bytes. Frames are kept as the sensor bounded them
/// (original length recorded); identical frames (same digest and time) are written once.
pub fn pcap_files<'a>(frames: impl IntoIterator<Item = &'a EvidenceFrame>) -> BTreeMap<u32, Vec<u8>> {
    let mut by_link: BTreeMap<u32, Vec<&EvidenceFrame>> = BTreeMap::new();
    for f in frames {
        by_link.entry(f.linktype).or_default().push(f);
    }
    by_link
        .into_iter()
        .map(|(linktype, mut frames)| {
            frames.sort_by_key(|f| (f.timestamp.0, f.sha256.0));
            frames.dedup_by_key(|f| (f.timestamp.0, f.sha256.0));
            (linktype, pcap_of(linktype, &frames))
        })
        .collect()
}

/// One pcap file of frames of one link type.
fn pcap_of(linktype: u32, frames: &[&EvidenceFrame]) -> Vec<u8> {
    let header = PcapHeader {
        datalink: DataLink::from(linktype),
        snaplen: 65_535,
        ..Default::default()
    };
    let mut out = Vec::new();
    // Writing to memory fails only on frames longer than the snap length, which evidence copies
    // (bounded) never are; such a frame is left out rather than failing the file.
    if let Ok(mut w) = PcapWriter::with_header(&mut out, header) {
        for f in frames {
            let at = Duration::from_nanos(u64::try_from(f.timestamp.0).unwrap_or(0));
            let _ = w.write_packet(&PcapPacket::new(at, f.orig_len, &f.data));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoko_proto::Timestamp;

    #[test]
    fn frames_become_one_readable_pcap_per_link_type() {
        let eth = EvidenceFrame::capture(Timestamp(2_000_000_000), 1, 60, &[0xab; 60]);
        let older = EvidenceFrame::capture(Timestamp(1_500_000_000), 1, 64, &[0xcd; 64]);
        let raw = EvidenceFrame::capture(Timestamp(1_000_000_000), 101, 20, &[0x45; 20]);
        let files = pcap_files([&eth, &older, &raw, &eth]);
        assert_eq!(files.keys().copied().collect::<Vec<_>>(), [1, 101]);
        let mut reader = pcap_file::pcap::PcapReader::new(files[&1].as_slice()).unwrap();
        assert_eq!(reader.header().datalink, DataLink::ETHERNET);
        let mut seen = Vec::new();
        while let Some(p) = reader.next_packet() {
            let p = p.unwrap();
            seen.push((p.timestamp.as_millis(), p.orig_len, p.data.len()));
        }
        assert_eq!(seen, [(1_500, 64, 64), (2_000, 60, 60)]);
    }
}
