//! The industrial-protocol side of a TCP flow: once a connection's first payload showed which
//! protocol it carries, every PDU of both directions is framed in order and dissected, for the
//! whole life of the connection (requests and responses, writes and program downloads happen long
//! after the first bytes).

use crate::dissect::StreamView;
use crate::dissect::ics::framer::{Framer, Pushed};
use crate::dissect::ics::{State, TcpProtocol};
use crate::findings::{Findings, FrameRef};
use serde::Serialize;
use shoko_proto::{Endpoint, Transport};

/// Counters of industrial PDU framing.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct PduStats {
    /// TCP connections recognised as an industrial protocol.
    pub connections: u64,
    /// PDUs dissected.
    pub pdus: u64,
    /// Segments whose bytes did not frame (dropped, resynchronised at the next segment).
    pub unframed: u64,
    /// PDUs skipped: longer than the buffer bound, or spanning segments without buffer memory.
    pub skipped: u64,
    /// Gaps (unseen bytes) crossed.
    pub gaps: u64,
}

/// Framing and protocol state of one connection.
#[derive(Debug)]
pub struct PduStream {
    protocol: &'static TcpProtocol,
    /// [originator, responder] directions.
    dirs: [Framer; 2],
    state: State,
    /// Whether PDUs spanning segments may be buffered (memory was reserved for it).
    pub buffering: bool,
}

impl PduStream {
    /// A stream of `protocol`.
    pub fn new(protocol: &'static TcpProtocol, buffering: bool) -> Self {
        PduStream {
            protocol,
            dirs: Default::default(),
            state: State::None,
            buffering,
        }
    }

    /// The protocol's name.
    pub fn protocol(&self) -> &'static str {
        self.protocol.name
    }

    /// Frames a segment from the originator (`from_orig`) or the responder and dissects its PDUs.
    /// The client is the side not on the protocol's port (a capture that began mid-connection may
    /// have taken the server for the originator).
    #[allow(clippy::too_many_arguments)]
    pub fn segment(
        &mut self,
        orig: Endpoint,
        resp: Endpoint,
        from_orig: bool,
        seq: u32,
        syn: bool,
        payload: &[u8],
        f: &FrameRef<'_>,
        findings: &mut Findings,
        stats: &mut PduStats,
    ) {
        let orig_is_server = orig.port == self.protocol.port && resp.port != self.protocol.port;
        let (client, server) = if orig_is_server {
            (resp, orig)
        } else {
            (orig, resp)
        };
        let from_client = from_orig != orig_is_server;
        let PduStream {
            protocol,
            dirs,
            state,
            buffering,
        } = self;
        let pushed: Pushed =
            dirs[usize::from(!from_orig)].push(seq, syn, payload, protocol.frame, *buffering, &mut |pdu| {
                let view = StreamView {
                    client,
                    server,
                    from_client,
                    transport: Transport::Tcp,
                    data: pdu,
                };
                (protocol.dissect)(&view, f, state, findings);
            });
        stats.pdus += u64::from(pushed.pdus);
        stats.unframed += u64::from(pushed.bad);
        stats.skipped += u64::from(pushed.skipped);
        stats.gaps += u64::from(pushed.gap);
    }
}
