//! Assessment time at plant scale: a store of 10,000 assets (sightings in five declared zones,
//! each a new-asset change) and 1 million flows (6,000 polling conversations, one flow per
//! conversation per hour over the latest week), the test advisories imported; then
//! `shoko-collector assess` (release binary: all 38 requirements over 8 weekly periods, saved)
//! is timed end to end, beside a baseline measured in the same run: reading the week's hourly
//! flow rows once from the store.
//!
//! `cargo bench -p shoko-tests --bench assess`; `SHOKO_ASSESS_ASSETS` (default 10000) and
//! `SHOKO_ASSESS_CONVERSATIONS` (default 6000, x 168 hours = flows) set the size.

use shoko_collector::store::Store;
use shoko_collector::store::sqlite::SqliteStore;
use shoko_proto::{
    AssetSighting, Endpoint, Envelope, FlowSummary, Observation, ObservationBody, ParserRef, Provenance,
    Source, Timestamp, Transport,
};
use shoko_tests::{DataDir, run_ok, workspace};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

const HOUR_NS: i64 = 3_600_000_000_000;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Asset `i`'s address: zone `i % 5` (10.1.x.x to 10.5.x.x).
fn ip(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        10,
        (i % 5 + 1) as u8,
        (i / 250 % 250) as u8,
        (i % 250 + 1) as u8,
    ))
}

fn observation(at: i64, body: ObservationBody) -> Observation {
    Observation {
        provenance: Provenance {
            source: Source::Agent,
            parser: ParserRef::new("bench", "1"),
            observed_at: Timestamp(at),
            evidence: Default::default(),
        },
        body,
    }
}

const ZONES: &str = r#"
[plant]
jump_hosts = ["10.2.0.1"]
time_sources = ["10.2.0.2"]
log_servers = ["10.2.0.3"]

[[zone]]
name = "office"
kind = "enterprise"
cidrs = ["10.1.0.0/16"]

[[zone]]
name = "dmz"
kind = "dmz"
cidrs = ["10.2.0.0/16"]

[[zone]]
name = "scada"
kind = "control"
cidrs = ["10.3.0.0/16"]
allowed_services = ["tcp/502", "tcp/102", "tcp/44818"]

[[zone]]
name = "cells"
kind = "field"
cidrs = ["10.4.0.0/16"]
allowed_services = ["tcp/502", "tcp/102", "tcp/44818"]

[[zone]]
name = "sis"
kind = "safety"
cidrs = ["10.5.0.0/16"]

[[conduit]]
name = "polling"
zones = ["scada", "cells"]
services = ["tcp/502", "tcp/102", "tcp/44818"]

[[conduit]]
name = "historian"
zones = ["dmz", "scada"]
"#;

fn main() {
    let assets = env("SHOKO_ASSESS_ASSETS", 10_000);
    let conversations = env("SHOKO_ASSESS_CONVERSATIONS", 6_000);
    let data = DataDir::init();
    std::fs::write(data.dir.path().join("zones.toml"), ZONES).unwrap();
    let cfg = data.dir.path().join("collector.toml");
    let text = std::fs::read_to_string(&cfg).unwrap() + "\nzones = \"zones.toml\"\n";
    std::fs::write(&cfg, text).unwrap();
    let store = SqliteStore::open(&data.dir.path().join("shoko.db")).unwrap();
    let now = Timestamp::now().0;
    let week_start = (now - 168 * HOUR_NS) / HOUR_NS * HOUR_NS;

    let started = Instant::now();
    let mut seq = 0;
    let mut send = |observations: Vec<Observation>| {
        seq += 1;
        let batch = Envelope {
            protocol_version: 1,
            agent_id: "bench-sensor".into(),
            seq,
            sent_at: Timestamp(now),
            observations,
        };
        store.ingest(&batch, Timestamp(now)).unwrap();
    };
    for chunk in (0..assets).collect::<Vec<_>>().chunks(2_000) {
        send(
            chunk
                .iter()
                .map(|&i| {
                    let mac = format!(
                        "02:00:{:02x}:{:02x}:{:02x}:{:02x}",
                        i >> 24 & 255,
                        i >> 16 & 255,
                        i >> 8 & 255,
                        i & 255
                    );
                    observation(
                        week_start,
                        ObservationBody::AssetSighting(AssetSighting {
                            mac: Some(mac.parse().unwrap()),
                            ips: vec![ip(i)],
                            first_seen: Timestamp(week_start),
                            last_seen: Timestamp(now - HOUR_NS),
                            ..Default::default()
                        }),
                    )
                })
                .collect(),
        );
    }
    // Conversation c: a client polls a server on one of the services, once per hour.
    let ports = [502u16, 102, 44818, 443, 53, 123, 22];
    let conversation = |c: usize| {
        (
            ip(c * 7 % assets),
            ip((c * 13 + 1) % assets),
            ports[c % ports.len()],
        )
    };
    let mut flows = Vec::with_capacity(5_000);
    let mut total = 0usize;
    for hour in 0..168 {
        for c in 0..conversations {
            let (orig, resp, port) = conversation(c);
            let first = week_start + hour * HOUR_NS + (c as i64 % 3_000) * 1_000_000_000;
            flows.push(observation(
                first,
                ObservationBody::FlowSummary(FlowSummary {
                    vlan: None,
                    transport: if port == 53 || port == 123 {
                        Transport::Udp
                    } else {
                        Transport::Tcp
                    },
                    ip_proto: if port == 53 || port == 123 { 17 } else { 6 },
                    orig: Endpoint {
                        ip: orig,
                        port: 40_000,
                        mac: None,
                    },
                    resp: Endpoint {
                        ip: resp,
                        port,
                        mac: None,
                    },
                    orig_packets: 4,
                    orig_bytes: 400,
                    resp_packets: 4,
                    resp_bytes: 400,
                    first_seen: Timestamp(first),
                    last_seen: Timestamp(first + 1_000_000_000),
                    app_protocol: None,
                    history: None,
                    orig_payload_bytes: 100,
                    resp_payload_bytes: 100,
                    state: None,
                }),
            ));
            total += 1;
            if flows.len() == 5_000 {
                send(std::mem::take(&mut flows));
            }
        }
    }
    if !flows.is_empty() {
        send(flows);
    }
    let counts = store.counts().unwrap();
    eprintln!(
        "store built in {:.1} s: {} assets, {total} flows",
        started.elapsed().as_secs_f64(),
        counts.assets
    );
    let feeds = workspace().join("tests/fixtures/advisories/feeds");
    run_ok(
        "shoko-collector",
        &[
            "advisories",
            "import",
            "--data",
            &data.path(),
            feeds.to_str().unwrap(),
        ],
    );

    let t = Instant::now();
    let rows = store
        .flow_hours_between(Timestamp(week_start), Timestamp(now + HOUR_NS))
        .unwrap()
        .len();
    let baseline = t.elapsed().as_secs_f64();
    drop(store);

    let t = Instant::now();
    let out = run_ok("shoko-collector", &["assess", "--data", &data.path()]);
    let assess = t.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout);
    let net11 = text
        .lines()
        .find(|l| l.starts_with("NET 1.1 "))
        .unwrap_or_default();
    println!(
        "assess: {} assets, {total} flows ({rows} hourly rows)",
        counts.assets
    );
    println!("  assess (8 weekly periods, 38 requirements, saved): {assess:.2} s");
    println!("  baseline, reading the week's flow rows once:        {baseline:.2} s");
    println!("  ratio assess / baseline: {:.1}", assess / baseline);
    println!("  {net11}");
}
