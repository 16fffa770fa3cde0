//! IEEE C37.118 synchrophasor (TCP/UDP 4712, UDP 4713): configuration frames name each PMU
//! station; data frames mark their sender as a PMU publishing measurements; commands
//! (turn transmission on/off, send configuration) are counted.

use super::framer::Frame;
use super::strings::field;
use super::{State, TcpProtocol, ip_of, serves};
use crate::dissect::StreamView;
use crate::dissect::reader::Reader;
use crate::findings::{Findings, FrameRef};
use shoko_proto::Identity;

/// C37.118 over TCP.
pub const TCP: TcpProtocol = TcpProtocol {
    name: "c37.118",
    port: 4712,
    signature: None,
    frame,
    dissect,
};

/// Frame: SYNC (0xAA, type in bits 4-6, version), FRAMESIZE (whole frame), IDCODE ...
pub fn frame(b: &[u8]) -> Frame {
    match b {
        [] | [0xaa] | [0xaa, _] | [0xaa, _, _] => Frame::More,
        [0xaa, sync, hi, lo, ..] if (sync >> 4) & 0x07 <= 5 => {
            let n = usize::from(u16::from_be_bytes([*hi, *lo]));
            if n < 16 { Frame::Bad } else { Frame::Len(n) }
        }
        _ => Frame::Bad,
    }
}

/// Dissects one frame.
pub fn dissect(v: &StreamView<'_>, f: &FrameRef<'_>, _: &mut State, out: &mut Findings) {
    let b = v.data;
    if frame(b) == Frame::Bad || b.len() < 16 {
        return;
    }
    let kind = (b[1] >> 4) & 0x07;
    let sender = ip_of(v.sender());
    out.tally(sender, "c37.118", "frame_type", u32::from(kind));
    match kind {
        0 => {
            out.role(sender, "c37.118", "pmu");
            serves(v, f, out, "c37.118");
        }
        2 | 3 => config(v, f, &b[14..], out),
        _ => {}
    }
}

/// Configuration frame 1/2 after the common header: TIME_BASE, NUM_PMU, then per PMU the 16-byte
/// station name, IDCODE, format, channel counts and names, nominal frequency, change count.
fn config(v: &StreamView<'_>, f: &FrameRef<'_>, b: &[u8], out: &mut Findings) {
    let mut r = Reader::new(b);
    let (Some(_), Some(count)) = (r.u32be(), r.u16be()) else {
        return;
    };
    let sender = ip_of(v.sender());
    out.role(sender, "c37.118", "pmu");
    for _ in 0..count.min(32) {
        let (Some(station), Some(idcode), Some(_fmt), Some(ph), Some(an), Some(dg)) =
            (r.take(16), r.u16be(), r.u16be(), r.u16be(), r.u16be(), r.u16be())
        else {
            return;
        };
        let mut id = Identity::new("c37.118", 85);
        id.name = field(station);
        id.attributes.insert("pmu_idcode".into(), idcode.to_string());
        let channels = usize::from(ph) + usize::from(an) + 16 * usize::from(dg);
        // Channel names, then the conversion factors (4 bytes per phasor, analog and digital word).
        let skip = 16 * channels + 4 * (usize::from(ph) + usize::from(an) + usize::from(dg));
        let (Some(_), Some(_), Some(cfgcnt)) = (r.skip(skip), r.u16be(), r.u16be()) else {
            out.identity(f, sender, id);
            return;
        };
        id.attributes
            .insert("configuration_count".into(), cfgcnt.to_string());
        out.identity(f, sender, id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::ics::tests::{findings_for, view};

    #[test]
    fn configuration_names_the_station() {
        let mut b = vec![0xaa, 0x31, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0];
        b.extend_from_slice(&[0, 0x0f, 0x42, 0x40, 0, 1]);
        b.extend_from_slice(b"STATION A       ");
        b.extend_from_slice(&[0, 7, 0, 0, 0, 1, 0, 0, 0, 0]);
        b.extend_from_slice(b"VA              ");
        b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
        let n = b.len() as u16;
        b[2..4].copy_from_slice(&n.to_be_bytes());
        assert_eq!(frame(&b), Frame::Len(b.len()));
        let out = findings_for(dissect, &view(false, &b));
        let (_, id) = out.identities.keys().next().unwrap();
        assert_eq!(id.name.as_deref(), Some("STATION A"));
        assert_eq!(id.attributes["configuration_count"], "1");
        assert_eq!(frame(&[0xaa, 0x71, 0, 20]), Frame::Bad);
    }
}
