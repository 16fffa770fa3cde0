//! MMS (ISO 9506, IEC 61850 client/server) over ISO-on-TCP: the ISO session and presentation
//! wrappers are opened to reach the MMS PDU; Identify responses (vendor, model, revision) become
//! identities, and writes, file operations, domain downloads and program-invocation control
//! (start/stop/reset) become events.

use crate::dissect::StreamView;
use crate::dissect::ber::{Element, children, element};
use crate::dissect::reader::text;
use crate::findings::{Findings, FrameRef};
use shoko_proto::{Identity, Severity, Transport};

use super::{event, ip_of};

/// Session SPDUs "give tokens" and "data transfer", both empty, that prefix user data.
const SESSION_DATA: [u8; 4] = [0x01, 0x00, 0x01, 0x00];
/// Identify service number.
const IDENTIFY: u32 = 2;

/// Dissects one ISO session data unit that may carry MMS.
pub fn dissect(v: &StreamView<'_>, f: &FrameRef<'_>, out: &mut Findings) {
    let Some(pres) = v.data.strip_prefix(&SESSION_DATA[..]) else {
        if matches!(v.data.first(), Some(0x0d | 0x0e)) && !v.from_client {
            // Session accept: an MMS (or other ISO application) association.
            out.service(f, v.server.ip, Transport::Tcp, v.server.port, "mms", None);
        }
        return;
    };
    let Some(pdu) = mms_pdu(pres) else { return };
    let server = ip_of(&v.server);
    if !v.from_client {
        out.service(f, v.server.ip, Transport::Tcp, v.server.port, "mms", None);
    }
    // confirmed-Request [0] / confirmed-Response [1]: invokeID, then the service element.
    let Some(service) = children(pdu.body, 4).find(|e| e.class != 0) else {
        return;
    };
    match (pdu.class, pdu.number) {
        (0xa0, 0) => {
            let receiver = if v.from_client { server } else { ip_of(&v.client) };
            out.tally(receiver, "mms", "service", service.number);
            request(v, f, service.number, out);
        }
        (0xa0, 1) if service.number == IDENTIFY => identify(v, f, &service, out),
        _ => {}
    }
}

/// The MMS PDU inside presentation fully-encoded user data: [APPLICATION 1] { PDV-list {
/// context id, single-ASN1-type [0] { MMS PDU } } }.
fn mms_pdu(b: &[u8]) -> Option<Element<'_>> {
    let (user_data, _) = element(b)?;
    if (user_data.class, user_data.number) != (0x60, 1) {
        return None;
    }
    let pdv = children(user_data.body, 4).find(|e| e.class == 0x20 && e.number == 16)?;
    let single = children(pdv.body, 4).find(|e| e.class == 0xa0 && e.number == 0)?;
    element(single.body).map(|(e, _)| e)
}

fn request(v: &StreamView<'_>, f: &FrameRef<'_>, service: u32, out: &mut Findings) {
    let (kind, severity) = match service {
        5 => ("write", Severity::Medium),
        26..=28 | 32 | 34 => ("domain_download", Severity::High),
        36 => ("domain_delete", Severity::High),
        38 | 39 => ("program_invocation_change", Severity::High),
        40 => ("program_start", Severity::High),
        41 => ("program_stop", Severity::High),
        43 | 44 => ("program_reset", Severity::High),
        75 | 76 => ("file_change", Severity::Medium),
        _ => return,
    };
    event(
        v,
        f,
        out,
        "mms",
        kind,
        severity,
        &[("service", service.to_string())],
    );
}

/// Identify response: vendorName [0], modelName [1], revision [2].
fn identify(v: &StreamView<'_>, f: &FrameRef<'_>, service: &Element<'_>, out: &mut Findings) {
    let mut id = Identity::new("mms", 90);
    for e in children(service.body, 8) {
        let value = text(e.body, 128);
        match e.number {
            0 => id.vendor = value,
            1 => id.model = value,
            2 => id.firmware = value,
            _ => {}
        }
    }
    if id.vendor.is_some() || id.model.is_some() {
        // Either side may ask the other to identify itself: the answer describes its sender.
        out.identity(f, ip_of(v.sender()), id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::ics::tests::{findings_for_unit, view};

    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut b = vec![tag, body.len() as u8];
        b.extend_from_slice(body);
        b
    }

    fn wrap(mms: &[u8]) -> Vec<u8> {
        let pdv = tlv(0x30, &[tlv(0x02, &[3]), tlv(0xa0, mms)].concat());
        [&SESSION_DATA[..], &tlv(0x61, &pdv)].concat()
    }

    #[test]
    fn identify_response_and_write_request() {
        let ident = tlv(
            0xa2,
            &[
                tlv(0x80, b"AREVA T&D"),
                tlv(0x81, b"e-terracomm"),
                tlv(0x82, b"2.3.1"),
            ]
            .concat(),
        );
        let pdu = tlv(0xa1, &[tlv(0x02, &[1]), ident].concat());
        let out = findings_for_unit(dissect, &view(false, &wrap(&pdu)));
        let (_, id) = out.identities.keys().next().unwrap();
        assert_eq!(
            (id.vendor.as_deref(), id.model.as_deref(), id.firmware.as_deref()),
            (Some("AREVA T&D"), Some("e-terracomm"), Some("2.3.1"))
        );
        let write = tlv(0xa0, &[tlv(0x02, &[2]), tlv(0xa5, &[0xa0, 0])].concat());
        let out = findings_for_unit(dissect, &view(true, &wrap(&write)));
        assert_eq!(out.events[0].event.kind, "write");
        // Damaged presentation layer: nothing, no panic.
        let out = findings_for_unit(dissect, &view(false, &wrap(&pdu)[..12]));
        assert!(out.identities.is_empty());
    }
}
