//! TLS handshakes: ClientHello (version, SNI, ALPN, JA4 fingerprint) and ServerHello (negotiated
//! version and cipher suite).

use super::reader::{Reader, text};
use super::{StreamView, Want};
use crate::findings::{Findings, FrameRef, Subject};
use sha2::{Digest, Sha256};
use shoko_proto::{Identity, Transport};

fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

fn version_name(v: u16) -> &'static str {
    match v {
        0x0304 => "TLS 1.3",
        0x0303 => "TLS 1.2",
        0x0302 => "TLS 1.1",
        0x0301 => "TLS 1.0",
        0x0300 => "SSL 3.0",
        _ => "unknown",
    }
}

fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        _ => "00",
    }
}

fn hash12(s: &str) -> String {
    if s.is_empty() {
        return "000000000000".into();
    }
    hex12(&Sha256::digest(s.as_bytes()))
}

fn hex12(d: &[u8]) -> String {
    d.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// The fields a JA4 fingerprint is computed from.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ClientHello {
    /// Highest offered version (supported_versions, else the legacy field).
    pub version: u16,
    /// Server name indication.
    pub sni: Option<String>,
    /// Cipher suites in order, GREASE removed.
    pub ciphers: Vec<u16>,
    /// Extension types in order, GREASE removed.
    pub extensions: Vec<u16>,
    /// First ALPN protocol.
    pub alpn: Option<String>,
    /// Signature algorithms in order.
    pub signature_algorithms: Vec<u16>,
}

impl ClientHello {
    /// The JA4 fingerprint (FoxIO JA4 specification, TCP).
    pub fn ja4(&self) -> String {
        let alpn = match self.alpn.as_deref().map(str::as_bytes) {
            Some([first, .., last]) if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() => {
                format!("{}{}", *first as char, *last as char)
            }
            Some([only]) if only.is_ascii_alphanumeric() => format!("{}{}", *only as char, *only as char),
            Some(_) => "99".into(),
            None => "00".into(),
        };
        let a = format!(
            "t{}{}{:02}{:02}{alpn}",
            ja4_version(self.version),
            if self.sni.is_some() { 'd' } else { 'i' },
            self.ciphers.len().min(99),
            self.extensions.len().min(99)
        );
        let mut ciphers: Vec<String> = self.ciphers.iter().map(|c| format!("{c:04x}")).collect();
        ciphers.sort();
        let mut exts: Vec<String> = self
            .extensions
            .iter()
            .filter(|&&e| e != 0x0000 && e != 0x0010)
            .map(|e| format!("{e:04x}"))
            .collect();
        exts.sort();
        let sigs: Vec<String> = self
            .signature_algorithms
            .iter()
            .map(|s| format!("{s:04x}"))
            .collect();
        let c_input = if sigs.is_empty() {
            exts.join(",")
        } else {
            format!("{}_{}", exts.join(","), sigs.join(","))
        };
        let c = if exts.is_empty() {
            "000000000000".to_string()
        } else {
            hash12(&c_input)
        };
        format!("{a}_{}_{c}", hash12(&ciphers.join(",")))
    }
}

fn u16_list(b: &[u8]) -> impl Iterator<Item = u16> + '_ {
    b.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]))
}

/// Parses a ClientHello handshake body (after the 4-byte handshake header).
pub fn parse_client_hello(body: &[u8]) -> Option<ClientHello> {
    let mut r = Reader::new(body);
    let legacy = r.u16be()?;
    r.skip(32)?;
    let sid = r.u8()?;
    r.skip(usize::from(sid))?;
    let cs_len = r.u16be()?;
    let ciphers = u16_list(r.take(usize::from(cs_len))?)
        .filter(|c| !is_grease(*c))
        .collect();
    let comp = r.u8()?;
    r.skip(usize::from(comp))?;
    let mut hello = ClientHello {
        version: legacy,
        ciphers,
        ..Default::default()
    };
    let Some(ext_len) = r.u16be() else {
        return Some(hello);
    };
    let mut e = Reader::new(r.take(usize::from(ext_len))?);
    while let (Some(kind), Some(len)) = (e.u16be(), e.u16be()) {
        let v = e.take(usize::from(len))?;
        if is_grease(kind) {
            continue;
        }
        hello.extensions.push(kind);
        let mut vr = Reader::new(v);
        match kind {
            0x0000 => {
                // server_name_list: length, type 0, name length, name
                vr.skip(3);
                if let Some(n) = vr.u16be().and_then(|n| vr.take(usize::from(n))) {
                    hello.sni = text(n, 253);
                }
            }
            0x0010 => {
                vr.skip(2);
                if let Some(n) = vr.u8().and_then(|n| vr.take(usize::from(n))) {
                    hello.alpn = text(n, 64);
                }
            }
            0x000d => {
                if let Some(n) = vr.u16be().and_then(|n| vr.take(usize::from(n))) {
                    hello.signature_algorithms = u16_list(n).collect();
                }
            }
            0x002b => {
                if let Some(n) = vr.u8().and_then(|n| vr.take(usize::from(n)))
                    && let Some(max) = u16_list(n).filter(|v| !is_grease(*v)).max()
                {
                    hello.version = max;
                }
            }
            _ => {}
        }
    }
    Some(hello)
}

/// Parses a ServerHello body; returns (negotiated version, cipher suite).
pub fn parse_server_hello(body: &[u8]) -> Option<(u16, u16)> {
    let mut r = Reader::new(body);
    let mut version = r.u16be()?;
    r.skip(32)?;
    let sid = r.u8()?;
    r.skip(usize::from(sid))?;
    let cipher = r.u16be()?;
    r.skip(1)?;
    if let Some(ext_len) = r.u16be() {
        let mut e = Reader::new(r.take(usize::from(ext_len))?);
        while let (Some(kind), Some(len)) = (e.u16be(), e.u16be()) {
            let v = e.take(usize::from(len))?;
            if kind == 0x002b && v.len() == 2 {
                version = u16::from_be_bytes([v[0], v[1]]);
            }
        }
    }
    Some((version, cipher))
}

/// The first handshake message of a TLS stream: `(handshake type, body)`, or `None` when the stream
/// is not TLS; `Some(Err(()))` while more bytes are needed.
fn handshake(data: &[u8]) -> Option<Result<(u8, &[u8]), ()>> {
    if data.len() < 5 {
        return (data.first() == Some(&0x16)).then_some(Err(()));
    }
    if data[0] != 0x16 || data[1] != 0x03 {
        return None;
    }
    let rec_len = usize::from(u16::from_be_bytes([data[3], data[4]]));
    let rec = &data[5..data.len().min(5 + rec_len)];
    if rec.len() < 4 {
        return Some(Err(()));
    }
    let hs_len = usize::from(rec[1]) << 16 | usize::from(rec[2]) << 8 | usize::from(rec[3]);
    match rec.get(4..4 + hs_len) {
        Some(body) => Some(Ok((rec[0], body))),
        None if rec.len() < rec_len || data.len() < 5 + rec_len => Some(Err(())),
        None => Some(Ok((rec[0], &rec[4..]))),
    }
}

/// TLS on a TCP stream.
pub fn dissect(s: &StreamView<'_>, f: &FrameRef<'_>, out: &mut Findings) -> Want {
    let (kind, body) = match handshake(s.data) {
        None => return Want::Done,
        Some(Err(())) => return Want::More,
        Some(Ok(h)) => h,
    };
    match (kind, s.from_client) {
        (1, true) => {
            let Some(hello) = parse_client_hello(body) else {
                return Want::Done;
            };
            let mut id = Identity::new("tls-client", 30);
            id.attributes.insert("ja4".into(), hello.ja4());
            if let Some(sni) = &hello.sni {
                id.attributes.insert("tls_sni".into(), sni.clone());
            }
            out.identity(f, Subject::Ip(s.client.ip), id);
        }
        (2, false) => {
            let Some((version, cipher)) = parse_server_hello(body) else {
                return Want::Done;
            };
            let banner = format!("{} cipher 0x{cipher:04x}", version_name(version));
            let protocol = if s.server.port == 443 { "https" } else { "tls" };
            out.service(
                f,
                s.server.ip,
                Transport::Tcp,
                s.server.port,
                protocol,
                Some(banner),
            );
        }
        _ => {}
    }
    Want::Done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ja4_of_a_known_hello_shape() {
        let hello = ClientHello {
            version: 0x0304,
            sni: Some("example.com".into()),
            ciphers: vec![0x1301, 0x1302, 0x1303],
            extensions: vec![0x0000, 0x0010, 0x002b, 0x000d],
            alpn: Some("h2".into()),
            signature_algorithms: vec![0x0403, 0x0804],
        };
        let ja4 = hello.ja4();
        assert!(ja4.starts_with("t13d0304h2_"), "{ja4}");
        assert_eq!(ja4.len(), "t13d0304h2_".len() + 12 + 1 + 12);
        assert_eq!(&ja4[11..23], &hash12("1301,1302,1303"));
        assert_eq!(&ja4[24..], &hash12("000d,002b_0403,0804"));
        assert!(is_grease(0x1a1a) && !is_grease(0x1301));
    }
}
