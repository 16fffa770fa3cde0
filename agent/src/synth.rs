//! A small synthetic plant capture, written by our own code with real protocol encodings: the demo
//! feeds it to the sensor, and tests use it where they need a capture we fully know.
//!
//! The plant: an HMI, an engineering workstation and a historian on the control LAN; three PLCs
//! (Schneider Modbus/TCP, Siemens S7 over ISO-on-TCP, Rockwell EtherNet/IP); and a router through
//! which five enterprise clients query the historian.

use etherparse::PacketBuilder;
use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use std::io::Write;
use std::time::Duration;

/// A device of the synthetic plant.
#[derive(Debug, Clone, Copy)]
pub struct Device {
    /// Role in the plant.
    pub role: &'static str,
    /// MAC address.
    pub mac: [u8; 6],
    /// IPv4 address.
    pub ip: [u8; 4],
}

/// The HMI.
pub const HMI: Device = Device {
    role: "hmi",
    mac: [0x00, 0x0c, 0x29, 0x3a, 0x11, 0x01],
    ip: [10, 10, 1, 10],
};
/// The engineering workstation.
pub const EWS: Device = Device {
    role: "engineering-workstation",
    mac: [0x00, 0x1c, 0xc0, 0x44, 0x55, 0x66],
    ip: [10, 10, 1, 20],
};
/// The historian (SQL server).
pub const HISTORIAN: Device = Device {
    role: "historian",
    mac: [0x00, 0x15, 0x5d, 0x20, 0x00, 0x30],
    ip: [10, 10, 1, 30],
};
/// The router to the enterprise network.
pub const ROUTER: Device = Device {
    role: "router",
    mac: [0x00, 0x00, 0x0c, 0x9f, 0xf0, 0x01],
    ip: [10, 10, 1, 1],
};
/// A Schneider PLC speaking Modbus/TCP.
pub const PLC_MODBUS: Device = Device {
    role: "plc-modbus",
    mac: [0x00, 0x80, 0xf4, 0x0a, 0x0b, 0x0c],
    ip: [10, 10, 2, 21],
};
/// A Siemens PLC speaking S7comm.
pub const PLC_S7: Device = Device {
    role: "plc-s7",
    mac: [0x00, 0x1b, 0x1b, 0xaa, 0xbb, 0x01],
    ip: [10, 10, 2, 22],
};
/// A Rockwell PLC speaking EtherNet/IP.
pub const PLC_ENIP: Device = Device {
    role: "plc-enip",
    mac: [0x00, 0x00, 0xbc, 0x12, 0x34, 0x56],
    ip: [10, 10, 2, 23],
};
/// Enterprise clients reached through the router.
pub const ENTERPRISE_CLIENTS: [[u8; 4]; 5] = [
    [10, 20, 0, 11],
    [10, 20, 0, 12],
    [10, 20, 0, 13],
    [10, 20, 0, 14],
    [10, 20, 0, 15],
];

/// Every device on the control LAN.
pub const DEVICES: [Device; 7] = [HMI, EWS, HISTORIAN, ROUTER, PLC_MODBUS, PLC_S7, PLC_ENIP];

/// Start of the capture: 2024-03-01T08:00:00Z.
const START_SECS: u64 = 1_709_280_000;

struct Capture {
    frames: Vec<(Duration, Vec<u8>)>,
    clock: Duration,
}

impl Capture {
    fn push(&mut self, frame: Vec<u8>) {
        self.clock += Duration::from_micros(1_250);
        self.frames.push((self.clock, frame));
    }

    fn arp(&mut self, from: Device, to: Device) {
        // Request (broadcast) and reply, Ethernet/IPv4 ARP.
        let mut req = Vec::with_capacity(42);
        req.extend_from_slice(&[0xff; 6]);
        req.extend_from_slice(&from.mac);
        req.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1]);
        req.extend_from_slice(&from.mac);
        req.extend_from_slice(&from.ip);
        req.extend_from_slice(&[0; 6]);
        req.extend_from_slice(&to.ip);
        self.push(req);
        let mut rep = Vec::with_capacity(42);
        rep.extend_from_slice(&from.mac);
        rep.extend_from_slice(&to.mac);
        rep.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 2]);
        rep.extend_from_slice(&to.mac);
        rep.extend_from_slice(&to.ip);
        rep.extend_from_slice(&from.mac);
        rep.extend_from_slice(&from.ip);
        self.push(rep);
    }

    /// A complete TCP connection: handshake, request/response exchanges, orderly close.
    /// `client_mac`/`server_mac` are the link-layer neighbours (a router's MAC for routed hosts).
    #[allow(clippy::too_many_arguments)]
    fn tcp_session(
        &mut self,
        client: ([u8; 6], [u8; 4], u16),
        server: ([u8; 6], [u8; 4], u16),
        exchanges: &[(Vec<u8>, Vec<u8>)],
    ) {
        let (cm, ci, cp) = client;
        let (sm, si, sp) = server;
        let mut cseq: u32 = 0x1000_0000 ^ u32::from(cp);
        let mut sseq: u32 = 0x2000_0000 ^ u32::from(sp);
        let c2s = |seq: u32, ack: u32| {
            PacketBuilder::ethernet2(cm, sm)
                .ipv4(ci, si, 64)
                .tcp(cp, sp, seq, 64240)
                .ack(ack)
        };
        let s2c = |seq: u32, ack: u32| {
            PacketBuilder::ethernet2(sm, cm)
                .ipv4(si, ci, 64)
                .tcp(sp, cp, seq, 8192)
                .ack(ack)
        };
        self.push(build(
            PacketBuilder::ethernet2(cm, sm)
                .ipv4(ci, si, 64)
                .tcp(cp, sp, cseq, 64240)
                .syn(),
            &[],
        ));
        self.push(build(
            PacketBuilder::ethernet2(sm, cm)
                .ipv4(si, ci, 64)
                .tcp(sp, cp, sseq, 8192)
                .syn()
                .ack(cseq + 1),
            &[],
        ));
        cseq += 1;
        sseq += 1;
        self.push(build(c2s(cseq, sseq), &[]));
        for (req, resp) in exchanges {
            self.push(build(c2s(cseq, sseq).psh(), req));
            cseq += req.len() as u32;
            self.push(build(s2c(sseq, cseq).psh(), resp));
            sseq += resp.len() as u32;
        }
        self.push(build(c2s(cseq, sseq).fin(), &[]));
        self.push(build(s2c(sseq, cseq + 1).fin(), &[]));
        self.push(build(c2s(cseq + 1, sseq + 1), &[]));
    }
}

fn build(b: etherparse::PacketBuilderStep<etherparse::TcpHeader>, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.size(payload.len()));
    // Writing into a Vec cannot fail and the header sizes are fixed here.
    let _ = b.write(&mut out, payload);
    out
}

/// Modbus/TCP application data unit: MBAP header (transaction, protocol 0, length, unit) and PDU.
pub fn modbus_adu(transaction: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(7 + pdu.len());
    v.extend_from_slice(&transaction.to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&((pdu.len() + 1) as u16).to_be_bytes());
    v.push(unit);
    v.extend_from_slice(pdu);
    v
}

/// Modbus Read Device Identification (FC 43 / MEI 14) response with the basic objects.
fn modbus_device_id_response(vendor: &str, product_code: &str, revision: &str) -> Vec<u8> {
    let mut pdu = vec![0x2b, 0x0e, 0x01, 0x01, 0x00, 0x00, 0x03];
    for (id, value) in [(0u8, vendor), (1, product_code), (2, revision)] {
        pdu.push(id);
        pdu.push(value.len() as u8);
        pdu.extend_from_slice(value.as_bytes());
    }
    pdu
}

/// TPKT + COTP Connection Request / Confirm for S7 (rack 0, slot 2).
fn cotp(kind: u8) -> Vec<u8> {
    // COTP CR (0xe0) or CC (0xd0): dst ref, src ref, class 0, TPDU size 1024, src TSAP 0x0100,
    // dst TSAP 0x0102.
    let cotp = [
        0x11, kind, 0x00, 0x01, 0x00, 0x02, 0x00, 0xc0, 0x01, 0x0a, 0xc1, 0x02, 0x01, 0x00, 0xc2, 0x02, 0x01,
        0x02,
    ];
    let mut v = vec![0x03, 0x00, 0x00, (4 + cotp.len()) as u8];
    v.extend_from_slice(&cotp);
    v
}

/// TPKT + COTP DT + S7comm Setup Communication job (ROSCTR 1) or ack-data (ROSCTR 3).
fn s7_setup(rosctr: u8) -> Vec<u8> {
    let mut s7 = vec![0x32, rosctr, 0x00, 0x00, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00];
    if rosctr == 3 {
        s7.extend_from_slice(&[0x00, 0x00]); // error class, error code
    }
    s7.extend_from_slice(&[0xf0, 0x00, 0x00, 0x01, 0x00, 0x01, 0x01, 0xe0]);
    let mut v = vec![0x03, 0x00, 0x00, (7 + s7.len()) as u8, 0x02, 0xf0, 0x80];
    v.extend_from_slice(&s7);
    v
}

/// EtherNet/IP encapsulation header.
fn enip(command: u16, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(24 + data.len());
    v.extend_from_slice(&command.to_le_bytes());
    v.extend_from_slice(&(data.len() as u16).to_le_bytes());
    v.extend_from_slice(&[0; 20]); // session, status, sender context, options
    v.extend_from_slice(data);
    v
}

/// ListIdentity (0x0063) response carrying one CIP Identity item.
fn enip_list_identity_response(ip: [u8; 4]) -> Vec<u8> {
    let name = b"1756-L71/B LOGIX5571";
    let mut item = Vec::new();
    item.extend_from_slice(&1u16.to_le_bytes()); // encapsulation protocol version
    item.extend_from_slice(&[0x00, 0x02, 0xaf, 0x12]); // sockaddr: AF_INET, port 44818 (big endian)
    item.extend_from_slice(&ip);
    item.extend_from_slice(&[0; 8]);
    item.extend_from_slice(&1u16.to_le_bytes()); // vendor: Rockwell Automation/Allen-Bradley
    item.extend_from_slice(&14u16.to_le_bytes()); // device type: programmable logic controller
    item.extend_from_slice(&54u16.to_le_bytes()); // product code
    item.extend_from_slice(&[20, 11]); // revision 20.11
    item.extend_from_slice(&0x0030u16.to_le_bytes()); // status
    item.extend_from_slice(&0x00c0_ffeeu32.to_le_bytes()); // serial
    item.push(name.len() as u8);
    item.extend_from_slice(name);
    item.push(0x03); // state
    let mut data = Vec::new();
    data.extend_from_slice(&1u16.to_le_bytes()); // item count
    data.extend_from_slice(&0x000cu16.to_le_bytes()); // CIP Identity item
    data.extend_from_slice(&(item.len() as u16).to_le_bytes());
    data.extend_from_slice(&item);
    enip(0x0063, &data)
}

fn udp(from: ([u8; 6], [u8; 4], u16), to: ([u8; 6], [u8; 4], u16), payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(from.0, to.0)
        .ipv4(from.1, to.1, 64)
        .udp(from.2, to.2);
    let mut out = Vec::with_capacity(b.size(payload.len()));
    let _ = b.write(&mut out, payload);
    out
}

/// Builds the plant's frames in capture order.
fn plant_frames() -> Vec<(Duration, Vec<u8>)> {
    let mut c = Capture {
        frames: Vec::new(),
        clock: Duration::from_secs(START_SECS),
    };
    for d in [PLC_MODBUS, PLC_S7, PLC_ENIP, HISTORIAN, ROUTER] {
        c.arp(HMI, d);
    }
    c.arp(EWS, PLC_MODBUS);
    // HMI polls the Modbus PLC and asks for its identity.
    let read = |tid| {
        (modbus_adu(tid, 1, &[0x03, 0x00, 0x00, 0x00, 0x0a]), {
            let mut pdu = vec![0x03, 20];
            pdu.extend((0..20u8).map(|i| i.wrapping_mul(7)));
            modbus_adu(tid, 1, &pdu)
        })
    };
    let mut exchanges: Vec<_> = (1..=5).map(read).collect();
    exchanges.push((
        modbus_adu(6, 1, &[0x2b, 0x0e, 0x01, 0x00]),
        modbus_adu(
            6,
            1,
            &modbus_device_id_response("Schneider Electric", "BMX P34 2020", "v3.10"),
        ),
    ));
    c.tcp_session(
        (HMI.mac, HMI.ip, 49_201),
        (PLC_MODBUS.mac, PLC_MODBUS.ip, 502),
        &exchanges,
    );
    // The engineering workstation writes a holding register (FC 6).
    let write = modbus_adu(1, 1, &[0x06, 0x00, 0x10, 0x01, 0xf4]);
    c.tcp_session(
        (EWS.mac, EWS.ip, 50_311),
        (PLC_MODBUS.mac, PLC_MODBUS.ip, 502),
        &[(write.clone(), write)],
    );
    // HMI connects to the S7 PLC.
    c.tcp_session(
        (HMI.mac, HMI.ip, 49_202),
        (PLC_S7.mac, PLC_S7.ip, 102),
        &[(cotp(0xe0), cotp(0xd0)), (s7_setup(1), s7_setup(3))],
    );
    // HMI broadcasts an EtherNet/IP ListIdentity; the Rockwell PLC answers.
    c.push(udp(
        (HMI.mac, HMI.ip, 50_000),
        ([0xff; 6], [10, 10, 2, 255], 44818),
        &enip(0x0063, &[]),
    ));
    c.push(udp(
        (PLC_ENIP.mac, PLC_ENIP.ip, 44818),
        (HMI.mac, HMI.ip, 50_000),
        &enip_list_identity_response(PLC_ENIP.ip),
    ));
    // Enterprise clients query the historian through the router.
    for (i, client) in ENTERPRISE_CLIENTS.iter().enumerate() {
        let q = b"\x01\x01\x00\x20\x00\x00\x01\x00SELECT tag, value FROM hist".to_vec();
        c.tcp_session(
            (ROUTER.mac, *client, 52_000 + i as u16),
            (HISTORIAN.mac, HISTORIAN.ip, 1433),
            &[(q, b"\x04\x01\x00\x10\x00\x00\x01\x00rows....".to_vec())],
        );
    }
    c.frames
}

/// Writes the synthetic plant capture as a classic pcap (Ethernet, microsecond timestamps).
pub fn write_plant_pcap(out: impl Write) -> pcap_file::PcapResult<usize> {
    let header = PcapHeader {
        datalink: DataLink::ETHERNET,
        ..Default::default()
    };
    let mut w = PcapWriter::with_header(out, header)?;
    let frames = plant_frames();
    for (ts, data) in &frames {
        w.write_packet(&PcapPacket::new(*ts, data.len() as u32, data))?;
    }
    Ok(frames.len())
}
