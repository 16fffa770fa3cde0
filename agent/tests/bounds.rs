//! The sensor stays within its configured bounds under a flood: one million distinct flows from
//! 100,000 random MAC addresses, SYNs that are never answered, first fragments whose rest never
//! comes; what does not fit is counted.

use shoko_agent::capture::{Packet, linktype};
use shoko_agent::flow::FlowLimits;
use shoko_agent::inventory::InventoryLimits;
use shoko_agent::pipeline::{Sensor, SensorLimits, TableSizes};
use shoko_proto::Timestamp;

fn rss_bytes() -> u64 {
    shoko_agent::telemetry::rss_bytes()
}

/// Ethernet + IPv4 + TCP SYN with the given addresses (checksums are not checked by the sensor).
fn syn(frame: &mut [u8; 54], src_mac: [u8; 6], src_ip: u32, sport: u16) {
    frame[0..6].copy_from_slice(&[0x00, 0x1b, 0x1b, 0x00, 0x00, 0x01]);
    frame[6..12].copy_from_slice(&src_mac);
    frame[12..14].copy_from_slice(&[0x08, 0x00]);
    frame[14..24].copy_from_slice(&[0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6]);
    frame[24..26].copy_from_slice(&[0, 0]);
    frame[26..30].copy_from_slice(&src_ip.to_be_bytes());
    frame[30..34].copy_from_slice(&[10, 0, 0, 1]);
    frame[34..36].copy_from_slice(&sport.to_be_bytes());
    frame[36..38].copy_from_slice(&502u16.to_be_bytes());
    frame[38..46].copy_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0]);
    frame[46..54].copy_from_slice(&[0x50, 0x02, 0x20, 0x00, 0, 0, 0, 0]);
}

#[test]
fn a_million_flows_and_100k_macs_stay_within_bounds() {
    let limits = SensorLimits {
        inventory: InventoryLimits {
            max_macs: 10_000,
            max_ips: 20_000,
            max_services: 1_000,
            max_ips_per_mac: 4,
        },
        flows: FlowLimits {
            max_flows: 50_000,
            max_finished: 10_000,
            max_stream_bytes: 4 << 20,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut sensor = Sensor::new(limits);
    let before = rss_bytes();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut frame = [0u8; 54];
    for i in 0..1_000_000u64 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let m = (state % 100_000) as u32; // one of 100k MACs
        let mac = [0x02, 0x42, (m >> 16) as u8, (m >> 8) as u8, m as u8, 0x01];
        syn(
            &mut frame,
            mac,
            0x0a00_0000 | (i as u32 & 0x00ff_ffff),
            (state >> 20) as u16 | 1024,
        );
        // One second of capture time for the whole flood: no flow is idle long enough to expire.
        let ts = Timestamp(1_700_000_000_000_000_000 + i as i64 * 1000);
        sensor.process(&Packet {
            ts,
            linktype: linktype::ETHERNET,
            orig_len: 54,
            data: &frame,
        });
    }
    let sizes = sensor.table_sizes();
    let grown = rss_bytes().saturating_sub(before);
    assert_eq!(
        sizes,
        TableSizes {
            flows: 50_000,
            stream_bytes: 4 << 20,
            macs: 10_000,
            ips: 20_000,
            services: 0
        }
    );
    let out = sensor.output();
    let s = &out.stats;
    assert_eq!(s.packets, 1_000_000);
    assert_eq!(s.flows.created, 50_000);
    assert_eq!(s.flows.dropped_packets, 950_000);
    assert_eq!(s.flows.streams_refused, 50_000 - (4 << 20) / (2 * 4096));
    assert_eq!(
        s.flows.finished_dropped, 40_000,
        "10,000 finished flows kept, the rest counted"
    );
    assert!(s.inventory_dropped.macs > 0 && s.inventory_dropped.ips > 0);
    assert!(grown < 200 << 20, "RSS grew by {} MiB", grown >> 20);
    eprintln!("RSS grew by {} MiB under the flood", grown >> 20);
}

#[test]
fn first_fragments_that_never_complete_stay_within_bounds() {
    use shoko_agent::decode::defrag::DefragLimits;
    let limits = SensorLimits {
        defrag: DefragLimits {
            max_datagrams: 1_000,
            max_bytes: 4 << 20,
            timeout_ns: 30_000_000_000,
        },
        ..Default::default()
    };
    let mut sensor = Sensor::new(limits);
    let before = rss_bytes();
    // Ethernet + IPv4 with "more fragments" set and 1,400 bytes of UDP: the rest never comes.
    let mut frame = vec![0u8; 14 + 20 + 1400];
    frame[0..12].copy_from_slice(&[0x00, 0x1b, 0x1b, 0, 0, 1, 0x02, 0x42, 0, 0, 0, 1]);
    frame[12..14].copy_from_slice(&[0x08, 0x00]);
    frame[14..20].copy_from_slice(&[0x45, 0, 0x05, 0x8c, 0, 0]);
    frame[20..24].copy_from_slice(&[0x20, 0x00, 64, 17]);
    frame[26..34].copy_from_slice(&[10, 0, 0, 7, 10, 0, 0, 1]);
    for i in 0..200_000u32 {
        // A new datagram id (and source) each time: 200,000 reassemblies asked for.
        frame[18..20].copy_from_slice(&(i as u16).to_be_bytes());
        frame[28..30].copy_from_slice(&((i >> 16) as u16).to_be_bytes());
        sensor.process(&Packet {
            ts: Timestamp(1_700_000_000_000_000_000 + i64::from(i) * 1000),
            linktype: linktype::ETHERNET,
            orig_len: frame.len() as u32,
            data: &frame,
        });
    }
    let grown = rss_bytes().saturating_sub(before);
    let out = sensor.output();
    let d = &out.stats.defrag;
    assert_eq!(d.reassembled, 0);
    // At most 1,000 reassemblies at once (1.4 MB buffered, under the 4 MiB bound), none timing
    // out within the flood's 0.2 s: every other first fragment is refused and counted.
    assert_eq!((d.refused, d.timed_out), (199_000, 0));
    assert!(grown < 64 << 20, "RSS grew by {} MiB", grown >> 20);
    eprintln!("RSS grew by {} MiB under the fragment flood", grown >> 20);
}
