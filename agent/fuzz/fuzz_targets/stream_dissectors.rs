//! Fuzz target: the TCP stream dissectors (SSH, HTTP, TLS, FTP/SMTP, Telnet, RFB, SMB, RDP, Fox, PC WORX, Crimson) on an
//! arbitrary stream prefix, in both directions and on a fuzzed server port.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoko_agent::dissect::{self, StreamProgress, StreamView};
use shoko_proto::{Endpoint, Transport};
use shoko_agent::findings::{Findings, FrameRef};
use shoko_proto::Timestamp;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, stream)) = data.split_first() else { return };
    let ports = [22u16, 80, 443, 21, 25, 23, 5900, 445, 3389, 102, 1911, 1962, 789];
    let server = Endpoint { ip: "10.0.0.2".parse().unwrap(), port: ports[usize::from(sel) % ports.len()], mac: None };
    let client = Endpoint { ip: "10.0.0.1".parse().unwrap(), port: 50000, mac: None };
    let f = FrameRef { ts: Timestamp(0), linktype: 1, orig_len: 60, raw: &[0; 60] };
    let mut out = Findings::default();
    // Offer growing prefixes, as reassembly does.
    for from_client in [true, false] {
        let mut progress = StreamProgress::default();
        for end in [stream.len() / 3, stream.len() / 2, stream.len()] {
            let view = StreamView { client, server, from_client, transport: Transport::Tcp, data: &stream[..end] };
            dissect::stream(&view, &f, &mut out, &mut progress);
        }
    }
});
