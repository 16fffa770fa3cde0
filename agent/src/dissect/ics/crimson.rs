//! Red Lion Crimson V3 (TCP 789), the configuration protocol of Red Lion HMIs and controllers:
//! frames are a 16-bit length and a payload; the device's answers to the configuration tool's
//! first queries carry its manufacturer ("Red Lion Controls") and model as strings.

use super::strings::printable_runs;
use crate::dissect::{StreamView, Want};
use crate::findings::{Findings, FrameRef, Subject};
use shoko_proto::{Identity, Transport};

/// Crimson V3 port.
const PORT: u16 = 789;

/// Reads the device's first answers on a Crimson V3 connection.
pub fn dissect(s: &StreamView<'_>, f: &FrameRef<'_>, out: &mut Findings) -> Want {
    if s.server.port != PORT || s.from_client {
        return Want::Done;
    }
    let Some(len) = s
        .data
        .get(..2)
        .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    else {
        return Want::More;
    };
    if len == 0 || len > 4096 {
        return Want::Done;
    }
    let strings = printable_runs(s.data, 4, 16);
    let Some(maker) = strings.iter().position(|t| t.contains("Red Lion")) else {
        return if s.data.len() >= 1024 {
            Want::Done
        } else {
            Want::More
        };
    };
    out.service(f, s.server.ip, Transport::Tcp, PORT, "crimson-v3", None);
    let mut id = Identity::new("crimson-v3", 70);
    let text = &strings[maker];
    id.vendor = text.find("Red Lion").map(|at| text[at..].to_owned());
    id.model = strings
        .iter()
        .enumerate()
        .find(|(i, _)| *i != maker)
        .map(|(_, t)| t.clone());
    out.identity(f, Subject::Ip(s.server.ip), id);
    Want::Done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::ics::tests::stream_findings;

    #[test]
    fn manufacturer_and_model() {
        let mut answer = vec![0x00, 0x20, 0x01, 0x2b];
        answer.extend_from_slice(b"Red Lion Controls\0G306A000\0");
        let (want, out) = stream_findings(dissect, PORT, &answer);
        assert_eq!(want, Want::Done);
        let (_, id) = out.identities.keys().next().unwrap();
        assert_eq!(
            (id.vendor.as_deref(), id.model.as_deref()),
            (Some("Red Lion Controls"), Some("G306A000"))
        );
        assert_eq!(stream_findings(dissect, PORT, &answer[..1]).0, Want::More);
        assert!(stream_findings(dissect, 80, &answer).1.identities.is_empty());
    }
}
