//! Collector ingest rate: simulated agents on 127.0.0.1, each with its own enrolled identity and
//! mutual-TLS session, deliver batches of observations to a release `shoko-collector serve` on a
//! fresh SQLite store, one batch in flight per agent (each acknowledged only once stored). Prints
//! the observations stored per second (from the first batch sent to the last acknowledgement), the
//! acknowledgement latency (p50, p99, max), the collector's peak RSS (VmHWM) and its count of
//! stored observations.
//!
//! `cargo bench -p shoko-tests --bench ingest`; `SHOKO_INGEST_AGENTS` (default 100),
//! `SHOKO_INGEST_BATCHES` per agent (default 20) and `SHOKO_INGEST_OBSERVATIONS` per batch
//! (default 500) set the load. Observations are flow summaries and service sightings of devices
//! numbered per agent, the bulk of what sensors send.

use futures_util::StreamExt;
use shoko_proto::{
    AssetRef, Endpoint, Envelope, FlowSummary, Message, Observation, ObservationBody, ParserRef, Provenance,
    Service, Source, Timestamp, Transport,
};
use shoko_tests::{CollectorProcess, DataDir, RawSession, client_config};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

/// Longest wait for one acknowledgement (a real agent waits and retries; here it is a failure).
const ACK_WAIT: Duration = Duration::from_secs(300);

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Observation `i` of agent `a`: every tenth a service, the rest flows.
fn observation(a: usize, i: usize) -> Observation {
    let ip = |host: usize| {
        IpAddr::V4(Ipv4Addr::new(
            10,
            (a / 250) as u8,
            (a % 250) as u8,
            (host % 250) as u8 + 1,
        ))
    };
    let at = Timestamp(1_700_000_000_000_000_000 + i as i64 * 1_000_000);
    let body = if i.is_multiple_of(10) {
        ObservationBody::Service(Service {
            asset: AssetRef {
                ip: Some(ip(i / 10)),
                ..Default::default()
            },
            transport: Transport::Tcp,
            port: 502,
            protocol: Some("modbus".into()),
            banner: None,
            detected_by: Some("content".into()),
            bound: None,
            process: None,
        })
    } else {
        ObservationBody::FlowSummary(FlowSummary {
            vlan: None,
            transport: Transport::Tcp,
            ip_proto: 6,
            orig: Endpoint {
                ip: ip(i),
                port: 40_000 + (i % 20_000) as u16,
                mac: None,
            },
            resp: Endpoint {
                ip: ip(i / 10),
                port: 502,
                mac: None,
            },
            orig_packets: 10,
            orig_bytes: 640,
            resp_packets: 9,
            resp_bytes: 700,
            first_seen: at,
            last_seen: at,
            app_protocol: Some("modbus".into()),
            history: Some("ShADadFf".into()),
            orig_payload_bytes: 120,
            resp_payload_bytes: 220,
            state: Some("SF".into()),
        })
    };
    Observation {
        provenance: Provenance {
            source: Source::Interface { name: "eth1".into() },
            parser: ParserRef::new("flow", "1"),
            observed_at: at,
            evidence: Default::default(),
        },
        body,
    }
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn main() {
    let agents = env("SHOKO_INGEST_AGENTS", 100);
    let batches = env("SHOKO_INGEST_BATCHES", 20);
    let per_batch = env("SHOKO_INGEST_OBSERVATIONS", 500);
    let data = DataDir::init();
    eprintln!("enrolling {agents} agents");
    let bundles: Vec<_> = (0..agents)
        .map(|a| (format!("bench-{a:04}"), data.enroll(&format!("bench-{a:04}"))))
        .collect();
    let collector = CollectorProcess::start(&data);
    let addr = collector.ingest;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    let mut latencies = rt.block_on(async {
        let mut tasks = Vec::new();
        for (a, (id, bundle)) in bundles.into_iter().enumerate() {
            let config = client_config(&bundle);
            tasks.push(tokio::spawn(async move {
                let (mut s, _) = RawSession::open(addr, config, &id).await;
                let mut latencies = Vec::with_capacity(batches);
                for seq in 1..=batches as u64 {
                    let base = (seq as usize - 1) * per_batch;
                    let observations = (base..base + per_batch).map(|i| observation(a, i)).collect();
                    s.send(&Message::Batch(Envelope {
                        protocol_version: 1,
                        agent_id: id.clone(),
                        seq,
                        sent_at: Timestamp::now(),
                        observations,
                    }))
                    .await;
                    let sent = Instant::now();
                    match tokio::time::timeout(ACK_WAIT, s.conn.next()).await {
                        Ok(Some(Ok(Message::Ack { .. }))) => latencies.push(sent.elapsed()),
                        other => panic!("{id} batch {seq}: expected an ack, got {other:?}"),
                    }
                }
                latencies
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    });
    let secs = started.elapsed().as_secs_f64();
    let total = agents * batches * per_batch;
    let stored = collector.get_json("/api/v1/status")["observations"]
        .as_u64()
        .unwrap_or(0);
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
    println!(
        "ingest: {agents} agents x {batches} batches x {per_batch} observations = {total} in {secs:.2} s: \
         {:.0} observations/s stored; ack latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; \
         collector peak RSS {} KiB; stored count {stored}",
        total as f64 / secs,
        at(0.5),
        at(0.99),
        at(1.0),
        peak_rss_kib(collector.pid())
    );
    assert_eq!(stored, total as u64, "every acknowledged observation is stored");
}
