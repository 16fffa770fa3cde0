//! Phoenix Contact PC WORX (TCP 1962): the controller's answer to the engineering tool's info
//! request carries NUL-separated strings — PLC type (`ILC 330 ETH`), article number (`2737193`),
//! firmware version (`3.95T`), firmware date and time. Requests start with 0x01, answers with 0x81.

use super::strings::printable_runs;
use crate::dissect::{StreamView, Want};
use crate::findings::{Findings, FrameRef, Subject};
use shoko_proto::{Identity, Transport};

/// PC WORX port.
const PORT: u16 = 1962;

/// Reads the controller's first answers on a PC WORX connection.
pub fn dissect(s: &StreamView<'_>, f: &FrameRef<'_>, out: &mut Findings) -> Want {
    if s.server.port != PORT || s.from_client {
        return Want::Done;
    }
    if s.data.first() != Some(&0x81) {
        return Want::Done;
    }
    out.service(f, s.server.ip, Transport::Tcp, PORT, "pcworx", None);
    let mut id = Identity::new("pcworx", 60);
    for text in printable_runs(s.data, 4, 32) {
        let all = |p: fn(char) -> bool| text.chars().all(p);
        if is_date(&text) {
            id.attributes.insert("firmware_date".into(), text);
        } else if text.len() == 8 && all(|c| c.is_ascii_digit() || c == ':') {
            id.attributes.insert("firmware_time".into(), text);
        } else if text.len() == 7 && all(|c| c.is_ascii_digit()) {
            id.model.get_or_insert(text);
        } else if text.starts_with(|c: char| c.is_ascii_digit()) && text.contains('.') && text.len() <= 12 {
            id.firmware.get_or_insert(text);
        } else if id.product.is_none() && text.chars().any(|c| c.is_ascii_alphabetic()) {
            id.product = Some(text);
        }
    }
    if id.product.is_none() && id.firmware.is_none() {
        return Want::More;
    }
    id.vendor = Some("Phoenix Contact".into());
    out.identity(f, Subject::Ip(s.server.ip), id);
    Want::Done
}

/// A C `__DATE__` string: `Mar  2 2012`.
fn is_date(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 11
        && b[..3].iter().all(u8::is_ascii_alphabetic)
        && b[3] == b' '
        && b[7..].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::ics::tests::stream_findings;

    #[test]
    fn info_answer_strings() {
        let mut answer = vec![0x81, 0x06, 0x00, 0x6a, 0x00, 0x02, 0, 0];
        for s in ["ILC 330 ETH", "2737193", "3.95T", "Mar  2 2012", "09:39:02"] {
            answer.extend_from_slice(s.as_bytes());
            answer.extend_from_slice(&[0; 5]);
        }
        let (want, out) = stream_findings(dissect, PORT, &answer);
        assert_eq!(want, Want::Done);
        let (_, id) = out.identities.keys().next().unwrap();
        let got = (id.product.as_deref(), id.model.as_deref(), id.firmware.as_deref());
        assert_eq!(got, (Some("ILC 330 ETH"), Some("2737193"), Some("3.95T")));
        assert_eq!(id.attributes["firmware_date"], "Mar  2 2012");
        assert_eq!(id.attributes["firmware_time"], "09:39:02");
        // Another port, or a request: not PC WORX.
        assert!(stream_findings(dissect, 80, &answer).1.identities.is_empty());
        answer[0] = 0x01;
        assert!(stream_findings(dissect, PORT, &answer).1.identities.is_empty());
    }
}
