//! OPC UA binary (TCP 4840, recognised by its Hello on any port): the endpoint URL of Hello, the
//! security policy of OpenSecureChannel (counted: policy None is also how clients discover
//! endpoints), and the server's application and product URIs and the security mode and policy of
//! each endpoint it offers, from unencrypted GetEndpoints and CreateSession responses.

use super::framer::Frame;
use super::{State, TcpProtocol, ip_of};
use crate::dissect::StreamView;
use crate::dissect::reader::{Reader, text};
use crate::findings::{Findings, FrameRef};
use shoko_proto::Identity;

/// OPC UA over TCP.
pub const TCP: TcpProtocol = TcpProtocol {
    name: "opcua",
    port: 4840,
    signature: Some(signature),
    frame,
    dissect,
};

const MESSAGE_TYPES: [&[u8; 3]; 7] = [b"HEL", b"ACK", b"OPN", b"MSG", b"CLO", b"ERR", b"RHE"];
const POLICY_NONE: &str = "http://opcfoundation.org/UA/SecurityPolicy#None";
/// Binary encoding ids of the responses read.
const GET_ENDPOINTS_RESPONSE: u16 = 431;
const CREATE_SESSION_RESPONSE: u16 = 464;

/// A Hello ("HELF") of plausible size opens every OPC UA binary connection.
fn signature(b: &[u8]) -> bool {
    b.starts_with(b"HELF") && matches!(frame(b), Frame::Len(32..=4096))
}

/// Message header: type (3 bytes), chunk type (F, C, A), size including the header.
pub fn frame(b: &[u8]) -> Frame {
    if b.len() < 8 {
        return if MESSAGE_TYPES.iter().any(|t| t.starts_with(&b[..b.len().min(3)])) {
            Frame::More
        } else {
            Frame::Bad
        };
    }
    let size = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    if !MESSAGE_TYPES.iter().any(|t| b[..3] == t[..]) || !matches!(b[3], b'F' | b'C' | b'A') || size < 8 {
        return Frame::Bad;
    }
    Frame::Len(size)
}

/// An OPC UA String: i32 length (-1 = null), then UTF-8.
fn string(r: &mut Reader<'_>) -> Option<Option<String>> {
    let n = r.u32le()? as i32;
    if n < 0 {
        return Some(None);
    }
    Some(text(r.take(n as usize)?, 512))
}

/// Dissects one message chunk.
pub fn dissect(v: &StreamView<'_>, f: &FrameRef<'_>, _: &mut State, out: &mut Findings) {
    let mut r = Reader::new(v.data);
    let (Some(kind), Some(_)) = (r.take(3), r.skip(5)) else {
        return;
    };
    let server = ip_of(&v.server);
    match kind {
        b"HEL" => {
            let Some(url) = r.skip(20).and_then(|_| string(&mut r)).flatten() else {
                return;
            };
            out.service(
                f,
                v.server.ip,
                v.transport,
                v.server.port,
                "opcua",
                Some(url.clone()),
            );
            let mut id = Identity::new("opcua", 70);
            id.attributes.insert("endpoint_url".into(), url);
            out.identity(f, server, id);
        }
        b"ACK" => out.service(f, v.server.ip, v.transport, v.server.port, "opcua", None),
        b"OPN" => {
            let Some(policy) = r.skip(4).and_then(|_| string(&mut r)).flatten() else {
                return;
            };
            // A channel with policy None is also how every client discovers endpoints, so it is
            // counted, not judged: the endpoints a server offers (below) tell its hardening.
            out.tally(
                server,
                "opcua",
                "security_policy_none",
                u32::from(policy == POLICY_NONE),
            );
        }
        b"MSG" if !v.from_client => message(&mut r, v, f, out),
        _ => {}
    }
}

/// A symmetric (policy None: readable) service response.
fn message(r: &mut Reader<'_>, v: &StreamView<'_>, f: &FrameRef<'_>, out: &mut Findings) {
    // Channel id, token id, sequence number, request id, then the type's NodeId.
    if r.skip(16).is_none() {
        return;
    }
    let Some(type_id) = node_id(r) else { return };
    if !matches!(type_id, GET_ENDPOINTS_RESPONSE | CREATE_SESSION_RESPONSE) || response_header(r).is_none() {
        return;
    }
    if type_id == CREATE_SESSION_RESPONSE {
        // Session id, authentication token, revised timeout, max request size, nonce, certificate.
        let skipped = node_id(r)
            .and_then(|_| node_id(r))
            .and_then(|_| r.skip(12))
            .and_then(|_| byte_string(r))
            .and_then(|_| byte_string(r));
        if skipped.is_none() {
            return;
        }
    }
    let Some(count) = r.u32le() else { return };
    for _ in 0..count.min(16) {
        let Some(ep) = endpoint(r) else { return };
        let mut id = Identity::new("opcua", 85);
        id.product = ep.application_name;
        id.attributes
            .insert("endpoint_url".into(), ep.url.unwrap_or_default());
        if let Some(u) = ep.application_uri {
            id.attributes.insert("application_uri".into(), u);
        }
        if let Some(u) = ep.product_uri {
            id.attributes.insert("product_uri".into(), u);
        }
        let mode = match ep.mode {
            1 => "None",
            2 => "Sign",
            3 => "SignAndEncrypt",
            _ => "invalid",
        };
        id.attributes.insert("security_mode".into(), mode.into());
        id.attributes
            .insert("security_policy".into(), ep.policy.unwrap_or_default());
        out.identity(f, ip_of(&v.server), id);
    }
}

/// A NodeId; returns its numeric identifier (0 for other kinds).
fn node_id(r: &mut Reader<'_>) -> Option<u16> {
    match r.u8()? & 0x3f {
        0 => r.u8().map(u16::from),
        1 => r.skip(1).and_then(|_| r.u16le()),
        2 => r.skip(2).and_then(|_| r.u32le()).map(|_| 0),
        3 => r.skip(2).and_then(|_| string(r)).map(|_| 0),
        4 => r.skip(18).map(|_| 0),
        5 => r.skip(2).and_then(|_| byte_string(r)).map(|_| 0),
        _ => None,
    }
}

fn byte_string(r: &mut Reader<'_>) -> Option<()> {
    let n = r.u32le()? as i32;
    if n > 0 {
        r.skip(n as usize)?;
    }
    Some(())
}

/// ResponseHeader: timestamp, handle, result, diagnostics, string table, additional header.
fn response_header(r: &mut Reader<'_>) -> Option<()> {
    r.skip(16)?;
    let mask = r.u8()?;
    if mask != 0 {
        return None; // diagnostic info present: rare in practice, not decoded
    }
    let strings = r.u32le()? as i32;
    for _ in 0..strings.clamp(0, 64) {
        string(r)?;
    }
    node_id(r)?;
    match r.u8()? {
        0 => Some(()),
        _ => byte_string(r),
    }
}

/// The parts of an EndpointDescription kept.
struct Endpoint {
    url: Option<String>,
    application_uri: Option<String>,
    product_uri: Option<String>,
    application_name: Option<String>,
    mode: u32,
    policy: Option<String>,
}

fn endpoint(r: &mut Reader<'_>) -> Option<Endpoint> {
    let url = string(r)?;
    let application_uri = string(r)?;
    let product_uri = string(r)?;
    // LocalizedText: mask, optional locale, optional text.
    let mask = r.u8()?;
    if mask & 1 != 0 {
        string(r)?;
    }
    let application_name = if mask & 2 != 0 { string(r)? } else { None };
    r.skip(4)?; // application type
    string(r)?; // gateway server URI
    string(r)?; // discovery profile URI
    let urls = r.u32le()? as i32;
    for _ in 0..urls.clamp(0, 64) {
        string(r)?;
    }
    byte_string(r)?; // server certificate
    let mode = r.u32le()?;
    let policy = string(r)?;
    let tokens = r.u32le()? as i32;
    for _ in 0..tokens.clamp(0, 64) {
        string(r)?; // policy id
        r.skip(4)?; // token type
        string(r)?; // issued token type
        string(r)?; // issuer endpoint URL
        string(r)?; // security policy URI
    }
    string(r)?; // transport profile URI
    r.skip(1)?; // security level
    Some(Endpoint {
        url,
        application_uri,
        product_uri,
        application_name,
        mode,
        policy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::ics::tests::{findings_for, view};

    fn ua_string(s: &str) -> Vec<u8> {
        [&(s.len() as u32).to_le_bytes()[..], s.as_bytes()].concat()
    }

    fn chunk(kind: &[u8; 3], body: &[u8]) -> Vec<u8> {
        let mut b = kind.to_vec();
        b.push(b'F');
        b.extend_from_slice(&((body.len() + 8) as u32).to_le_bytes());
        b.extend_from_slice(body);
        b
    }

    #[test]
    fn hello_and_policy_none() {
        let hello = chunk(
            b"HEL",
            &[&[0u8; 20][..], &ua_string("opc.tcp://plc:12001/StackTestServer")].concat(),
        );
        assert!(signature(&hello));
        assert!(!signature(b"HELLO world"));
        let out = findings_for(dissect, &view(true, &hello));
        let (_, id) = out.identities.keys().next().unwrap();
        assert_eq!(
            id.attributes["endpoint_url"],
            "opc.tcp://plc:12001/StackTestServer"
        );
        let opn = chunk(
            b"OPN",
            &[&[0u8; 4][..], &ua_string(POLICY_NONE), &[0xff; 8]].concat(),
        );
        let out = findings_for(dissect, &view(true, &opn));
        assert!(out.identities.is_empty());
        assert_eq!(out.tallies.values().sum::<u64>(), 1);
        // Lengths past the end: nothing.
        let mut bad = hello.clone();
        bad[28] = 0xff;
        assert!(findings_for(dissect, &view(true, &bad)).identities.is_empty());
    }

    #[test]
    fn get_endpoints_response() {
        let mut body = vec![0u8; 16];
        body.extend_from_slice(&[0x01, 0x00]);
        body.extend_from_slice(&GET_ENDPOINTS_RESPONSE.to_le_bytes());
        body.extend_from_slice(&[0u8; 16]); // timestamp, handle, result
        body.push(0); // diagnostics mask
        body.extend_from_slice(&0u32.to_le_bytes()); // string table
        body.extend_from_slice(&[0, 0, 0]); // additional header: null NodeId, no body
        body.extend_from_slice(&1u32.to_le_bytes());
        body.extend_from_slice(&ua_string("opc.tcp://plc:4840"));
        body.extend_from_slice(&ua_string("urn:plc:app"));
        body.extend_from_slice(&ua_string("urn:vendor:product"));
        body.push(2);
        body.extend_from_slice(&ua_string("PLC Server"));
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(&(-1i32).to_le_bytes());
        body.extend_from_slice(&(-1i32).to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(&(-1i32).to_le_bytes());
        body.extend_from_slice(&1u32.to_le_bytes());
        body.extend_from_slice(&ua_string(POLICY_NONE));
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(&(-1i32).to_le_bytes());
        body.push(0);
        let out = findings_for(dissect, &view(false, &chunk(b"MSG", &body)));
        let (_, id) = out.identities.keys().next().unwrap();
        assert_eq!(id.product.as_deref(), Some("PLC Server"));
        assert_eq!(id.attributes["security_mode"], "None");
        assert_eq!(id.attributes["product_uri"], "urn:vendor:product");
    }
}
