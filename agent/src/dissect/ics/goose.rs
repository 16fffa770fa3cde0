//! IEC 61850 GOOSE (EtherType 0x88B8) and Sampled Values (0x88BA), usually VLAN-tagged: the
//! publisher (source MAC) is identified by its control block reference, data set, GOOSE/SV id
//! and configuration revision; a changed configuration revision is an event.

use super::event_between;
use crate::dissect::ber::{children, element, unsigned};
use crate::dissect::reader::text;
use crate::findings::{Findings, FrameRef, Subject};
use shoko_proto::{Identity, MacAddr, Severity};

/// GOOSE EtherType.
pub const ETHERTYPE_GOOSE: u16 = 0x88b8;
/// Sampled Values EtherType.
pub const ETHERTYPE_SV: u16 = 0x88ba;

/// Dissects one GOOSE or SV frame (after the EtherType) sent by `src`.
pub fn dissect(ether_type: u16, payload: &[u8], src: MacAddr, f: &FrameRef<'_>, out: &mut Findings) {
    // APPID, length, two reserved words, then the APDU.
    let Some(appid) = payload.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
        return;
    };
    let Some((apdu, _)) = payload.get(8..).and_then(element) else {
        return;
    };
    let (protocol, fields) = match (ether_type, apdu.number) {
        (ETHERTYPE_GOOSE, 1) => ("goose", goose_fields(apdu.body)),
        (ETHERTYPE_SV, 0) => ("sampled-values", sv_fields(apdu.body)),
        _ => return,
    };
    let Some(fields) = fields else { return };
    let who = Subject::Mac(src);
    out.role(who, protocol, "publisher");
    let mut id = Identity::new(protocol, 85);
    id.name = fields
        .reference
        .split('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    id.attributes.insert("appid".into(), format!("{appid:#06x}"));
    id.attributes
        .insert("control_block".into(), fields.reference.clone());
    if let Some(d) = &fields.data_set {
        id.attributes.insert("data_set".into(), d.clone());
    }
    if let Some(i) = &fields.id {
        id.attributes.insert(
            if protocol == "goose" { "go_id" } else { "sv_id" }.into(),
            i.clone(),
        );
    }
    if let Some(rev) = fields.conf_rev {
        id.attributes.insert("conf_rev".into(), rev.to_string());
        if let Some(old) = out.watch(who, &fields.reference, rev) {
            let details = [
                ("control_block", fields.reference.clone()),
                ("from", old.to_string()),
                ("to", rev.to_string()),
            ];
            let parties = (Some(who.asset_ref()), None);
            event_between(
                f,
                out,
                parties,
                protocol,
                "configuration_revision_changed",
                Severity::Medium,
                &details,
            );
        }
    }
    out.identity(f, who, id);
}

/// What identifies a publisher.
struct Fields {
    reference: String,
    data_set: Option<String>,
    id: Option<String>,
    conf_rev: Option<u64>,
}

/// goosePdu: gocbRef [0], timeAllowedToLive [1], datSet [2], goID [3], ..., confRev [8].
fn goose_fields(b: &[u8]) -> Option<Fields> {
    let mut f = Fields {
        reference: String::new(),
        data_set: None,
        id: None,
        conf_rev: None,
    };
    for e in children(b, 16) {
        match e.number {
            0 => f.reference = text(e.body, 129)?,
            2 => f.data_set = text(e.body, 129),
            3 => f.id = text(e.body, 129),
            8 => f.conf_rev = unsigned(e.body),
            _ => {}
        }
    }
    (!f.reference.is_empty()).then_some(f)
}

/// savPdu: noASDU [0], [security [1]], seqASDU [2] of ASDU { svID [0], datSet [1], smpCnt [2],
/// confRev [3] ... }; the first ASDU names the stream.
fn sv_fields(b: &[u8]) -> Option<Fields> {
    let seq = children(b, 4).find(|e| e.number == 2)?;
    let asdu = children(seq.body, 1).next()?;
    let mut f = Fields {
        reference: String::new(),
        data_set: None,
        id: None,
        conf_rev: None,
    };
    for e in children(asdu.body, 16) {
        match e.number {
            0 => f.reference = text(e.body, 129)?,
            1 => f.data_set = text(e.body, 129),
            3 => f.conf_rev = unsigned(e.body),
            _ => {}
        }
    }
    f.id = Some(f.reference.clone());
    (!f.reference.is_empty()).then_some(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::ics::tests::frame_ref;

    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut b = vec![tag, body.len() as u8];
        b.extend_from_slice(body);
        b
    }

    fn goose(conf_rev: u8) -> Vec<u8> {
        let pdu = tlv(
            0x61,
            &[
                tlv(0x80, b"IED1LD0/LLN0$GO$gcb01"),
                tlv(0x81, &[0x07, 0xd0]),
                tlv(0x82, b"IED1LD0/LLN0$DS1"),
                tlv(0x83, b"G1"),
                tlv(0x88, &[conf_rev]),
            ]
            .concat(),
        );
        let mut b = vec![0x00, 0x01, 0, (pdu.len() + 8) as u8, 0, 0, 0, 0];
        b.extend_from_slice(&pdu);
        b
    }

    #[test]
    fn publisher_identity_and_revision_change() {
        let mac = MacAddr([0, 0xa0, 0xf4, 8, 0x2f, 0x77]);
        let mut out = Findings::default();
        dissect(ETHERTYPE_GOOSE, &goose(1), mac, &frame_ref(), &mut out);
        dissect(ETHERTYPE_GOOSE, &goose(1), mac, &frame_ref(), &mut out);
        assert!(out.events.is_empty());
        dissect(ETHERTYPE_GOOSE, &goose(2), mac, &frame_ref(), &mut out);
        assert_eq!(out.events.len(), 1);
        assert_eq!(out.events[0].event.details["to"], "2");
        let id = out
            .identities
            .keys()
            .map(|(_, i)| i)
            .find(|i| i.attributes["conf_rev"] == "1")
            .unwrap();
        assert_eq!(id.name.as_deref(), Some("IED1LD0"));
        assert_eq!(id.attributes["go_id"], "G1");
        // Wrong APDU tag for the EtherType, or a cut frame: nothing.
        let mut out = Findings::default();
        dissect(ETHERTYPE_SV, &goose(1), mac, &frame_ref(), &mut out);
        dissect(ETHERTYPE_GOOSE, &goose(1)[..20], mac, &frame_ref(), &mut out);
        assert!(out.identities.is_empty());
    }

    #[test]
    fn sampled_values_stream() {
        let asdu = tlv(
            0x30,
            &[tlv(0x80, b"MU01"), tlv(0x82, &[0, 1]), tlv(0x83, &[0, 0, 0, 1])].concat(),
        );
        let pdu = tlv(0x60, &[tlv(0x80, &[1]), tlv(0xa2, &asdu)].concat());
        let mut b = vec![0x40, 0x00, 0, 0, 0, 0, 0, 0];
        b.extend_from_slice(&pdu);
        let mut out = Findings::default();
        dissect(
            ETHERTYPE_SV,
            &b,
            MacAddr([0, 1, 2, 3, 4, 5]),
            &frame_ref(),
            &mut out,
        );
        let (_, id) = out.identities.keys().next().unwrap();
        assert_eq!(id.attributes["sv_id"], "MU01");
        assert_eq!(id.name.as_deref(), Some("MU01"));
    }
}
