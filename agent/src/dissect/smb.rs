//! SMB dialect negotiation over NetBIOS session service (TCP 139/445): SMBv1 use (a hardening
//! finding) and the negotiated SMB2/3 dialect.

use super::{StreamView, Want};
use crate::findings::{Findings, FrameRef};
use shoko_proto::Transport;

fn dialect_name(d: u16) -> String {
    match d {
        0x0202 => "SMB 2.0.2".into(),
        0x0210 => "SMB 2.1".into(),
        0x0300 => "SMB 3.0".into(),
        0x0302 => "SMB 3.0.2".into(),
        0x0311 => "SMB 3.1.1".into(),
        0x02ff => "SMB 2.???".into(),
        other => format!("SMB dialect 0x{other:04x}"),
    }
}

/// SMB on a TCP stream.
pub fn dissect(s: &StreamView<'_>, f: &FrameRef<'_>, out: &mut Findings) -> Want {
    if s.data.len() < 8 {
        return if s.data.first() == Some(&0) {
            Want::More
        } else {
            Want::Done
        };
    }
    if s.data[0] != 0 {
        return Want::Done;
    }
    let smb = &s.data[4..];
    let banner = match &smb[..4] {
        b"\xffSMB" => Some("SMBv1 (NT LM 0.12 negotiation)".to_string()),
        b"\xfeSMB" if !s.from_client => {
            // SMB2 header 64 bytes; negotiate response (command 0): body StructureSize 65,
            // SecurityMode, DialectRevision.
            if smb.len() < 70 {
                return Want::More;
            }
            let command = u16::from_le_bytes([smb[12], smb[13]]);
            (command == 0).then(|| dialect_name(u16::from_le_bytes([smb[68], smb[69]])))
        }
        b"\xfeSMB" => return Want::Done,
        _ => return Want::Done,
    };
    if let Some(b) = banner {
        out.service(f, s.server.ip, Transport::Tcp, s.server.port, "smb", Some(b));
    }
    Want::Done
}
