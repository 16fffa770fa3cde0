//! Harnesses shared by the industrial-dissector fuzz targets: arbitrary bytes cut into TCP
//! segments of both directions (so framing, reassembly and per-connection state are exercised),
//! UDP datagrams on a protocol's port, and layer-2 frames.

use shoko_agent::dissect::ics::{self, TCP_PROTOCOLS};
use shoko_agent::findings::{Findings, FrameRef};
use shoko_agent::flow::pdu_stream::{PduStats, PduStream};
use shoko_proto::{Endpoint, MacAddr, Timestamp};

fn frame_ref(raw: &[u8]) -> FrameRef<'_> {
    FrameRef { ts: Timestamp(0), linktype: 1, orig_len: raw.len() as u32, raw }
}

fn endpoint(last: u8, port: u16) -> Endpoint {
    Endpoint { ip: [10, 0, 0, last].into(), port, mac: Some(MacAddr([2, 0, 0, 0, 0, last])) }
}

/// Feeds `data` to the TCP protocol `name` as a connection: each segment is a length byte (its
/// top bit chooses the direction, the rest its size), then its bytes. Sequence numbers follow each
/// direction, with a gap when the length byte is 0x7f or 0xff.
pub fn tcp(name: &str, data: &[u8]) {
    let protocol = TCP_PROTOCOLS.iter().find(|p| p.name == name).expect("known protocol");
    let (client, server) = (endpoint(1, 50000), endpoint(2, protocol.port));
    let mut stream = PduStream::new(protocol, true);
    let (mut out, mut stats) = (Findings::default(), PduStats::default());
    let mut seq = [1000u32, 9000u32];
    let mut rest = data;
    while let Some((&head, tail)) = rest.split_first() {
        let n = usize::from(head & 0x7f).min(tail.len());
        let (segment, next) = tail.split_at(n);
        let dir = usize::from(head >> 7);
        if head & 0x7f == 0x7f {
            seq[dir] = seq[dir].wrapping_add(100);
        }
        stream.segment(client, server, dir == 0, seq[dir], false, segment, &frame_ref(segment), &mut out, &mut stats);
        seq[dir] = seq[dir].wrapping_add(n as u32);
        rest = next;
    }
}

/// Feeds `data` (first byte: direction) as one UDP datagram to or from `port`.
pub fn udp(port: u16, data: &[u8]) {
    let Some((&dir, payload)) = data.split_first() else { return };
    let (a, b) = (endpoint(1, 50000), endpoint(2, port));
    let (src, dst) = if dir & 1 == 0 { (a, b) } else { (b, a) };
    ics::udp(src, dst, payload, &frame_ref(payload), &mut Findings::default());
}

/// Feeds `data` as the payload of a PROFINET, GOOSE or SV frame (first byte chooses which).
pub fn layer2(data: &[u8]) {
    let Some((&sel, payload)) = data.split_first() else { return };
    let (src, dst) = (MacAddr([0, 0x1b, 0x1b, 1, 2, 3]), MacAddr([1, 0x0e, 0xcf, 0, 0, 0]));
    let mut out = Findings::default();
    let f = frame_ref(payload);
    match sel % 3 {
        0 => ics::pn_dcp::dissect(payload, src, dst, &f, &mut out),
        1 => ics::goose::dissect(ics::goose::ETHERTYPE_GOOSE, payload, src, &f, &mut out),
        _ => ics::goose::dissect(ics::goose::ETHERTYPE_SV, payload, src, &f, &mut out),
    }
}
