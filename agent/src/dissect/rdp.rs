//! RDP connection requests (TPKT + X.224, TCP 3389): the client's cookie (user name) and requested
//! security protocols, and the server's selected protocol.

use super::reader::text;
use super::{StreamView, Want};
use crate::findings::{Findings, FrameRef, Subject};
use shoko_proto::{Identity, Transport};

fn protocols(bits: u32) -> String {
    let mut v = vec![];
    if bits == 0 {
        v.push("standard RDP security");
    }
    if bits & 1 != 0 {
        v.push("TLS");
    }
    if bits & 2 != 0 {
        v.push("CredSSP");
    }
    if bits & 8 != 0 {
        v.push("RDSTLS");
    }
    v.join("+")
}

/// RDP on a TCP stream.
pub fn dissect(s: &StreamView<'_>, f: &FrameRef<'_>, out: &mut Findings) -> Want {
    let d = s.data;
    if d.len() < 11 {
        return if d.first() == Some(&3) {
            Want::More
        } else {
            Want::Done
        };
    }
    // TPKT version 3; X.224 CR (0xe0) from the client, CC (0xd0) from the server.
    if d[0] != 3 || d[1] != 0 {
        return Want::Done;
    }
    let x224 = &d[4..];
    let code = x224.get(1).copied().unwrap_or(0) & 0xf0;
    let after = x224.get(7..).unwrap_or(&[]);
    // ISO-on-TCP users (S7comm, MMS) send COTP parameters (TPDU size 0xc0, TSAPs 0xc1/0xc2) here;
    // RDP sends a cookie, a negotiation request or nothing.
    if matches!(after.first(), Some(0xc0..=0xc2)) {
        return Want::Done;
    }
    match (code, s.from_client) {
        (0xe0, true) => {
            let mut id = Identity::new("rdp-client", 30);
            let rest = if after.starts_with(b"Cookie: mstshash=") {
                let end = after.iter().position(|&c| c == b'\r').unwrap_or(after.len());
                if let Some(user) = text(&after[17..end], 64) {
                    id.attributes.insert("rdp_cookie_user".into(), user);
                }
                after.get(end + 2..).unwrap_or(&[])
            } else {
                after
            };
            // RDP negotiation request: type 1, flags, length 8, requested protocols.
            if rest.len() >= 8 && rest[0] == 1 {
                let requested = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
                id.attributes
                    .insert("rdp_requested_protocols".into(), protocols(requested));
            }
            out.identity(f, Subject::Ip(s.client.ip), id);
            out.service(f, s.server.ip, Transport::Tcp, s.server.port, "rdp", None);
        }
        (0xd0, false) => {
            let banner = (after.len() >= 8 && after[0] == 2).then(|| {
                let selected = u32::from_le_bytes([after[4], after[5], after[6], after[7]]);
                format!("RDP, selected {}", protocols(selected))
            });
            out.service(f, s.server.ip, Transport::Tcp, s.server.port, "rdp", banner);
        }
        _ => {}
    }
    Want::Done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Findings;
    use shoko_proto::Endpoint;
    use shoko_proto::Timestamp;

    fn run(data: &[u8], port: u16) -> Findings {
        let peer = |ip: [u8; 4], port| Endpoint {
            ip: ip.into(),
            port,
            mac: None,
        };
        let s = StreamView {
            client: peer([10, 0, 0, 1], 50000),
            server: peer([10, 0, 0, 2], port),
            from_client: true,
            transport: shoko_proto::Transport::Tcp,
            data,
        };
        let f = FrameRef {
            ts: Timestamp(0),
            linktype: 1,
            orig_len: 60,
            raw: &[0; 60],
        };
        let mut out = Findings::default();
        dissect(&s, &f, &mut out);
        out
    }

    #[test]
    fn rdp_request_but_not_s7_connect() {
        let mut rdp = b"\x03\x00\x00\x2b\x26\xe0\x00\x00\x00\x00\x00Cookie: mstshash=operator\r\n".to_vec();
        rdp.extend_from_slice(&[0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00]);
        let out = run(&rdp, 3389);
        let (_, found) = out.identities.iter().next().map(|((_, id), s)| (s, id)).unwrap();
        assert_eq!(found.attributes["rdp_cookie_user"], "operator");
        assert_eq!(found.attributes["rdp_requested_protocols"], "TLS+CredSSP");
        assert_eq!(out.services.values().next().unwrap().0.protocol, "rdp");
        // COTP CR of an S7 connection: TPDU size and TSAP parameters.
        let s7 = [
            0x03, 0x00, 0x00, 0x16, 0x11, 0xe0, 0x00, 0x00, 0x00, 0x01, 0x00, 0xc0, 0x01, 0x0a, 0xc1, 0x02,
            0x01, 0x00, 0xc2, 0x02, 0x01, 0x02,
        ];
        let out = run(&s7, 102);
        assert!(out.identities.is_empty() && out.services.is_empty());
    }
}
