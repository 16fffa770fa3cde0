//! CIP (Common Industrial Protocol) messages carried by EtherNet/IP: request paths (class,
//! instance, attribute, symbolic tag, route to a module in a chassis), the Identity object's
//! attributes, and events for resets, start/stop, configuration and tag writes and firmware
//! updates (class 0xA1). A request is remembered until its response names what it answered.

use super::strings::short_string;
use super::{event, ip_of, vendors};
use crate::dissect::StreamView;
use crate::dissect::reader::Reader;
use crate::findings::{Findings, FrameRef};
use shoko_proto::{Identity, Severity};

/// Identity object class.
const IDENTITY: u32 = 0x01;
/// Connection Manager class (Unconnected Send).
const CONNECTION_MANAGER: u32 = 0x06;
/// Rockwell's firmware-update (non-volatile storage) class used by ControlFLASH.
const FIRMWARE_CLASS: u32 = 0xa1;
/// TCP/IP Interface object class.
const TCP_IP_INTERFACE: u32 = 0xf5;

/// What a request asked, remembered for its response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Request {
    /// Service code.
    pub service: u8,
    /// Class addressed.
    pub class: u32,
    /// Instance addressed.
    pub instance: u32,
    /// Backplane slot the request was routed to, when sent through a communications module.
    pub slot: Option<u8>,
}

/// The decoded request path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Path {
    /// Class id.
    pub class: Option<u32>,
    /// Instance id.
    pub instance: Option<u32>,
    /// Attribute id.
    pub attribute: Option<u32>,
    /// Symbolic tag name (Logix).
    pub tag: Option<String>,
    /// Link address of the first port segment (a chassis slot on the backplane port).
    pub slot: Option<u8>,
}

/// Decodes a padded EPATH.
pub fn path(b: &[u8]) -> Path {
    let mut p = Path::default();
    let mut r = Reader::new(b);
    while let Some(seg) = r.u8() {
        let value = match seg {
            0x20 | 0x24 | 0x30 => r.u8().map(u32::from),
            0x21 | 0x25 | 0x31 => r.skip(1).and_then(|_| r.u16le()).map(u32::from),
            0x91 => {
                let Some(name) = r.u8().and_then(|n| r.take(usize::from(n))) else {
                    break;
                };
                p.tag = crate::dissect::reader::text(name, 128);
                if name.len() % 2 == 1 {
                    r.skip(1);
                }
                continue;
            }
            0x01..=0x0f => {
                let Some(link) = r.u8() else { break };
                p.slot = p.slot.or(Some(link));
                continue;
            }
            _ => break,
        };
        let Some(value) = value else { break };
        match seg & 0x3c {
            0x20 => p.class = Some(value),
            0x24 => p.instance = Some(value),
            _ => p.attribute = Some(value),
        }
    }
    p
}

/// Name of a device type of the Identity object.
pub fn device_type(t: u16) -> Option<&'static str> {
    Some(match t {
        0x00 => "Generic Device (deprecated)",
        0x02 => "AC Drive",
        0x03 => "Motor Overload",
        0x04 => "Limit Switch",
        0x05 => "Inductive Proximity Switch",
        0x06 => "Photoelectric Sensor",
        0x07 => "General Purpose Discrete I/O",
        0x09 => "Resolver",
        0x0c => "Communications Adapter",
        0x0e => "Programmable Logic Controller",
        0x10 => "Position Controller",
        0x13 => "DC Drive",
        0x15 => "Contactor",
        0x16 => "Motor Starter",
        0x17 => "Soft Start",
        0x18 => "Human-Machine Interface",
        0x1a => "Mass Flow Controller",
        0x1b => "Pneumatic Valve",
        0x1c => "Vacuum Pressure Gauge",
        0x22 => "Encoder",
        0x23 => "Safety Discrete I/O Device",
        0x25 => "CIP Motion Drive",
        0x2b => "Generic Device (keyable)",
        0x2c => "Managed Ethernet Switch",
        _ => return None,
    })
}

/// Reads Identity-object attributes 1-7 (vendor, device type, product code, revision, status,
/// serial number, product name) as an identity.
pub fn identity(r: &mut Reader<'_>, protocol: &str) -> Option<Identity> {
    let vendor = r.u16le()?;
    let dtype = r.u16le()?;
    let product_code = r.u16le()?;
    let (major, minor) = (r.u8()?, r.u8()?);
    let status = r.u16le()?;
    let serial = r.u32le()?;
    let (name, rest) = short_string(r.rest())?;
    *r = Reader::new(rest);
    let mut id = Identity::new(protocol, 95);
    id.vendor = Some(vendors::CIP.name(u32::from(vendor)));
    id.device_type =
        Some(device_type(dtype).map_or_else(|| format!("device type {dtype:#06x}"), str::to_owned));
    id.product = (!name.is_empty()).then_some(name);
    id.firmware = Some(format!("{major}.{minor:03}"));
    id.serial = Some(format!("0x{serial:08x}"));
    id.attributes.insert("vendor_id".into(), vendor.to_string());
    id.attributes
        .insert("product_code".into(), product_code.to_string());
    id.attributes.insert("status".into(), format!("{status:#06x}"));
    Some(id)
}

/// Dissects a CIP request; returns what to remember for its response.
pub fn request(
    v: &StreamView<'_>,
    f: &FrameRef<'_>,
    msg: &[u8],
    slot: Option<u8>,
    out: &mut Findings,
) -> Option<Request> {
    let mut r = Reader::new(msg);
    let service = r.u8()?;
    let words = r.u8()?;
    let p = path(r.take(usize::from(words) * 2)?);
    let data = r.rest();
    let class = p.class.unwrap_or(0);
    if service == 0x52 && class == CONNECTION_MANAGER {
        return unconnected_send(v, f, data, out);
    }
    if service == 0x0a {
        for embedded in multiple_services(data) {
            request(v, f, embedded, slot, out);
        }
        return None;
    }
    out.tally(ip_of(&v.server), "cip", "service", u32::from(service));
    let slot = slot.or(p.slot);
    let mut details = vec![
        ("service", format!("0x{service:02x}")),
        ("class", format!("0x{class:02x}")),
    ];
    if let Some(s) = slot {
        details.push(("slot", s.to_string()));
    }
    let kind = match (service, class) {
        (_, FIRMWARE_CLASS) => Some(("firmware_update", Severity::High)),
        (0x05, _) => Some(("reset", Severity::High)),
        (0x06, _) => Some(("start", Severity::High)),
        (0x07, _) => Some(("stop", Severity::High)),
        (0x02 | 0x04 | 0x10, TCP_IP_INTERFACE) => Some(("set_ip_config", Severity::High)),
        (0x02 | 0x04 | 0x10, _) => Some(("config_write", Severity::Medium)),
        (0x4d | 0x4e | 0x53, _) => Some(("tag_write", Severity::Medium)),
        _ => None,
    };
    if let Some((kind, severity)) = kind {
        if let Some(a) = p.attribute {
            details.push(("attribute", a.to_string()));
        }
        if let Some(t) = &p.tag {
            details.push(("tag", t.clone()));
        }
        event(v, f, out, "cip", kind, severity, &details);
    }
    Some(Request {
        service,
        class,
        instance: p.instance.unwrap_or(0),
        slot,
    })
}

/// Unconnected Send: priority, timeout, embedded request, route path (to a module in a chassis).
fn unconnected_send(
    v: &StreamView<'_>,
    f: &FrameRef<'_>,
    data: &[u8],
    out: &mut Findings,
) -> Option<Request> {
    let mut r = Reader::new(data);
    r.skip(2)?;
    let size = usize::from(r.u16le()?);
    let embedded = r.take(size)?;
    if size % 2 == 1 {
        r.skip(1)?;
    }
    let route_words = r.u8()?;
    r.skip(1)?;
    let route = path(r.take(usize::from(route_words) * 2)?);
    request(v, f, embedded, route.slot, out)
}

/// The embedded messages of a Multiple Service Packet (count, then offsets from the count).
fn multiple_services(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut r = Reader::new(data);
    let count = r.u16le().unwrap_or(0).min(64);
    let offsets: Vec<usize> = (0..count).map_while(|_| r.u16le().map(usize::from)).collect();
    (0..offsets.len()).filter_map(move |i| {
        let end = offsets.get(i + 1).copied().unwrap_or(data.len());
        data.get(offsets[i]..end)
    })
}

/// Dissects a CIP response to `req`: Identity Get_Attributes_All answers name the device or, when
/// routed, a module in its chassis.
pub fn response(v: &StreamView<'_>, f: &FrameRef<'_>, msg: &[u8], req: Option<Request>, out: &mut Findings) {
    let mut r = Reader::new(msg);
    let (Some(service), Some(_), Some(status), Some(ext)) = (r.u8(), r.u8(), r.u8(), r.u8()) else {
        return;
    };
    if status != 0 {
        out.tally(ip_of(&v.server), "cip", "error_status", u32::from(status));
        return;
    }
    let Some(req) = req else { return };
    if service & 0x7f != 0x01 || req.class != IDENTITY || r.skip(usize::from(ext) * 2).is_none() {
        return;
    }
    if let Some(mut id) = identity(&mut r, "cip") {
        match req.slot {
            Some(s) => {
                id.attributes.insert("chassis_slot".into(), s.to_string());
            }
            None => {
                id.attributes.insert("instance".into(), req.instance.to_string());
            }
        }
        out.identity(f, ip_of(&v.server), id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_routes_tags_and_wide_ids() {
        let p = path(&[0x20, 0x01, 0x24, 0x01]);
        assert_eq!((p.class, p.instance, p.attribute), (Some(1), Some(1), None));
        let p = path(&[0x21, 0x00, 0xa1, 0x00, 0x25, 0x00, 0x02, 0x01, 0x30, 0x07]);
        assert_eq!(
            (p.class, p.instance, p.attribute),
            (Some(0xa1), Some(0x102), Some(7))
        );
        let p = path(&[0x91, 3, b'P', b'V', b'1', 0, 0x01, 0x02]);
        assert_eq!((p.tag.as_deref(), p.slot), (Some("PV1"), Some(2)));
        assert_eq!(path(&[0x20]), Path::default());
    }

    #[test]
    fn identity_attributes() {
        let mut b = vec![
            1, 0, 0x0e, 0, 54, 0, 16, 20, 0x60, 0x30, 0x3f, 0x82, 0x51, 0x00, 10,
        ];
        b.extend_from_slice(b"1756-L61/B");
        let id = identity(&mut Reader::new(&b), "cip").unwrap();
        assert_eq!(id.vendor.as_deref(), Some("Rockwell Automation/Allen-Bradley"));
        assert_eq!(id.device_type.as_deref(), Some("Programmable Logic Controller"));
        assert_eq!(id.firmware.as_deref(), Some("16.020"));
        assert_eq!(id.serial.as_deref(), Some("0x0051823f"));
        assert_eq!(id.product.as_deref(), Some("1756-L61/B"));
        assert!(identity(&mut Reader::new(&b[..20]), "cip").is_none());
    }
}
