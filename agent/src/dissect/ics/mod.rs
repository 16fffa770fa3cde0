//! Industrial protocol dissectors: device identity (vendor, model/order number, firmware, serial),
//! roles (client/server, master/outstation, publisher) and operational events (writes, program
//! downloads, mode changes, resets), one module per protocol.
//!
//! TCP-carried protocols are recognised on a connection's first payload, by their port when the
//! bytes also frame as that protocol, otherwise by a content signature (OPC UA on any port). From
//! then on every protocol data unit of the connection, in order, is handed to the protocol's
//! dissector through a per-direction [`framer::Framer`]. UDP and layer-2 protocols are dissected
//! frame by frame.

pub mod ads;
pub mod bacnet;
pub mod c37118;
pub mod cip;
pub mod crimson;
pub mod dnp3;
pub mod enip;
pub mod fins;
pub mod fox;
pub mod framer;
pub mod goose;
pub mod hart;
pub mod iec104;
pub mod melsec;
pub mod mms;
pub mod modbus;
pub mod opcua;
pub mod pcworx;
pub mod pn_dcp;
pub mod s7;
pub mod strings;
pub mod tpkt;
pub mod vendors;

use super::StreamView;
use crate::findings::{Findings, FrameRef, Subject};
use framer::Frame;
use shoko_proto::{AssetRef, Endpoint, ProtocolEvent, Severity, Transport};
use std::collections::BTreeMap;

/// Per-connection memory of a protocol (requests awaiting their response, segments of a PDU).
#[derive(Debug, Default)]
pub enum State {
    /// Nothing remembered yet.
    #[default]
    None,
    /// EtherNet/IP: CIP requests awaiting their responses.
    Enip(enip::Pending),
    /// ISO-on-TCP: S7 fragments and COTP segments being reassembled.
    Tpkt(Box<tpkt::Reassembly>),
}

/// A dissector of one PDU of a TCP (or UDP) conversation.
pub type PduDissector = fn(&StreamView<'_>, &FrameRef<'_>, &mut State, &mut Findings);

/// A TCP-carried industrial protocol: how it is recognised, framed and dissected.
pub struct TcpProtocol {
    /// Protocol name as reported (`modbus`, `s7comm` ...).
    pub name: &'static str,
    /// Its registered port.
    pub port: u16,
    /// A content signature strong enough to recognise the protocol on any port.
    pub signature: Option<fn(&[u8]) -> bool>,
    /// The length of the PDU that starts the bytes.
    pub frame: fn(&[u8]) -> Frame,
    /// Dissects one whole PDU.
    pub dissect: PduDissector,
}

impl std::fmt::Debug for TcpProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// The TCP protocols, tried in this order.
pub static TCP_PROTOCOLS: [TcpProtocol; 12] = [
    modbus::TCP,
    enip::TCP,
    tpkt::TCP,
    dnp3::TCP,
    iec104::TCP,
    opcua::TCP,
    hart::TCP,
    fins::TCP,
    ads::TCP,
    c37118::TCP,
    melsec::TCP,
    melsec::TCP_ALT,
];

/// The protocol a TCP connection carries, judged from a first payload: the protocol of either port
/// when the payload frames as that protocol, else the first whose content signature matches.
pub fn detect_tcp(payload: &[u8], sport: u16, dport: u16) -> Option<&'static TcpProtocol> {
    let frames = |p: &TcpProtocol| matches!((p.frame)(payload), Frame::Len(_) | Frame::More);
    TCP_PROTOCOLS
        .iter()
        .find(|p| (p.port == sport || p.port == dport) && frames(p))
        .or_else(|| {
            TCP_PROTOCOLS
                .iter()
                .find(|p| p.signature.is_some_and(|sig| sig(payload)) && frames(p))
        })
}

/// The dissector of a UDP-carried industrial protocol served on `port`.
fn udp_dissector(port: u16) -> Option<PduDissector> {
    Some(match port {
        44818 => enip::dissect,
        2222 => enip::io,
        47808 => bacnet::dissect,
        20000 => dnp3::dissect,
        5094 => hart::dissect,
        9600 => fins::dissect_udp,
        4712 | 4713 => c37118::dissect,
        48899 => ads::discovery,
        5000..=5010 | 5560..=5569 => melsec::dissect,
        _ => return None,
    })
}

/// Dissects a UDP datagram of an industrial protocol chosen by port (the destination port first:
/// a request goes to the server's port). Returns false when no industrial protocol uses them.
pub fn udp(src: Endpoint, dst: Endpoint, payload: &[u8], f: &FrameRef<'_>, out: &mut Findings) -> bool {
    let (dissect, from_client) = match (udp_dissector(dst.port), udp_dissector(src.port)) {
        (Some(d), _) => (d, true),
        (None, Some(d)) => (d, false),
        (None, None) => return false,
    };
    let (client, server) = if from_client { (src, dst) } else { (dst, src) };
    let view = StreamView {
        client,
        server,
        from_client,
        transport: Transport::Udp,
        data: payload,
    };
    dissect(&view, f, &mut State::None, out);
    true
}

/// The subject of an endpoint: its IP.
pub fn ip_of(e: &Endpoint) -> Subject {
    Subject::Ip(e.ip)
}

fn asset_ref(e: &Endpoint) -> AssetRef {
    AssetRef {
        ip: Some(e.ip),
        mac: e.mac,
        ..Default::default()
    }
}

/// Records that the sender of `v` serves `protocol` (it answered in it).
pub fn serves(v: &StreamView<'_>, f: &FrameRef<'_>, out: &mut Findings, protocol: &str) {
    let s = v.sender();
    out.service(f, s.ip, v.transport, s.port, protocol, None);
}

/// Records an event done by the sender of `v` to its receiver.
pub fn event(
    v: &StreamView<'_>,
    f: &FrameRef<'_>,
    out: &mut Findings,
    protocol: &str,
    kind: &str,
    severity: Severity,
    details: &[(&str, String)],
) {
    let (actor, target) = if v.from_client {
        (&v.client, &v.server)
    } else {
        (&v.server, &v.client)
    };
    let parties = (Some(asset_ref(actor)), Some(asset_ref(target)));
    event_between(f, out, parties, protocol, kind, severity, details);
}

/// Records an event between two parties (either may be unknown).
pub fn event_between(
    f: &FrameRef<'_>,
    out: &mut Findings,
    (actor, target): (Option<AssetRef>, Option<AssetRef>),
    protocol: &str,
    kind: &str,
    severity: Severity,
    details: &[(&str, String)],
) {
    out.event(
        f,
        ProtocolEvent {
            protocol: protocol.to_owned(),
            kind: kind.to_owned(),
            severity,
            actor,
            target,
            details: details
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect::<BTreeMap<_, _>>(),
        },
    );
}

#[cfg(test)]
pub mod tests {
    //! Helpers for the dissectors' tests: a conversation between a client and a server.
    use super::*;
    use shoko_proto::{MacAddr, Timestamp};

    /// A frame reference with no bytes.
    pub fn frame_ref() -> FrameRef<'static> {
        FrameRef {
            ts: Timestamp(1),
            linktype: 1,
            orig_len: 0,
            raw: &[],
        }
    }

    /// `data` sent by the client (10.0.0.1:50000) to the server (10.0.0.2:502) or back.
    pub fn view(from_client: bool, data: &[u8]) -> StreamView<'_> {
        StreamView {
            client: Endpoint {
                ip: "10.0.0.1".parse().unwrap(),
                port: 50000,
                mac: Some(MacAddr([2, 0, 0, 0, 0, 1])),
            },
            server: Endpoint {
                ip: "10.0.0.2".parse().unwrap(),
                port: 502,
                mac: Some(MacAddr([2, 0, 0, 0, 0, 2])),
            },
            from_client,
            transport: Transport::Tcp,
            data,
        }
    }

    /// What a stream-prefix dissector says and finds on `data` from the server on `port`.
    pub fn stream_findings(
        dissect: fn(&StreamView<'_>, &FrameRef<'_>, &mut Findings) -> crate::dissect::Want,
        port: u16,
        data: &[u8],
    ) -> (crate::dissect::Want, Findings) {
        let mut v = view(false, data);
        v.server.port = port;
        let mut out = Findings::default();
        (dissect(&v, &frame_ref(), &mut out), out)
    }

    /// What a PDU dissector finds in one PDU.
    pub fn findings_for(dissect: PduDissector, v: &StreamView<'_>) -> Findings {
        let mut out = Findings::default();
        dissect(v, &frame_ref(), &mut State::None, &mut out);
        out
    }

    /// What a stateless unit dissector finds in one unit.
    pub fn findings_for_unit(
        dissect: fn(&StreamView<'_>, &FrameRef<'_>, &mut Findings),
        v: &StreamView<'_>,
    ) -> Findings {
        let mut out = Findings::default();
        dissect(v, &frame_ref(), &mut out);
        out
    }

    #[test]
    fn detection_by_port_and_by_content() {
        let mbap = [0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1];
        assert_eq!(detect_tcp(&mbap, 50000, 502).map(|p| p.name), Some("modbus"));
        // Not Modbus framing on 502: nothing.
        assert!(detect_tcp(b"GET / HTTP/1.1", 50000, 502).is_none());
        // OPC UA Hello on a non-standard port.
        let mut hello = b"HELF".to_vec();
        hello.extend_from_slice(&40u32.to_le_bytes());
        hello.extend_from_slice(&[0; 32]);
        assert_eq!(detect_tcp(&hello, 50000, 12001).map(|p| p.name), Some("opcua"));
        assert!(detect_tcp(&mbap, 50000, 12001).is_none());
    }
}
