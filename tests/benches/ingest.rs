//! Collector ingest rate: simulated agents on 127.0.0.1, each with its own enrolled identity and
//! mutual-TLS session, deliver batches of observations to a release `shoko-collector serve` on a
//! fresh store (SQLite, or a scratch schema on PostgreSQL), one batch in flight per agent (each acknowledged only once stored). Prints
//! the observations stored per second (from the first batch sent to the last acknowledgement), the
//! acknowledgement latency (p50, p99, max), the collector's peak RSS (VmHWM), its count of
//! stored observations and batches, and the sessions it refused and agents it slowed (from its
//! `/metrics`); fails if an acknowledged batch is not stored.
//!
//! `cargo bench -p shoko-tests --bench ingest`; `SHOKO_INGEST_AGENTS` (default 100),
//! `SHOKO_INGEST_BATCHES` per agent (default 20) and `SHOKO_INGEST_OBSERVATIONS` per batch
//! (default 500) set the load; `SHOKO_INGEST_STORE=postgres` stores on the PostgreSQL of
//! `SHOKO_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`). Observations are flow summaries and service sightings of devices
//! numbered per agent, the bulk of what sensors send.

use futures_util::StreamExt;
use shoko_collector::store::postgres::scratch::Scratch;
use shoko_proto::{Envelope, Message, Timestamp};
use shoko_tests::{CollectorProcess, DataDir, RawSession, client_config, load_observation};
use std::time::{Duration, Instant};

/// Longest wait for one acknowledgement (a real agent waits and retries; here it is a failure).
const ACK_WAIT: Duration = Duration::from_secs(300);

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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
    let engine = std::env::var("SHOKO_INGEST_STORE").unwrap_or_else(|_| "sqlite".into());
    let _scratch = match engine.as_str() {
        "sqlite" => None,
        "postgres" => {
            let db = Scratch::for_test("the ingest benchmark")
                .expect("SHOKO_INGEST_STORE=postgres needs a server");
            data.set("store", &format!("{:?}", db.url()));
            Some(db)
        }
        other => panic!("SHOKO_INGEST_STORE={other}: expected sqlite or postgres"),
    };
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
                    let observations = (base..base + per_batch).map(|i| load_observation(a, i)).collect();
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
    // Refusals and throttling, and what was stored, from the collector's own counters.
    let metrics = collector.get_text("/metrics");
    let counter = |name: &str| -> u64 {
        metrics
            .lines()
            .filter(|l| l.starts_with(name) && !l.starts_with('#'))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    };
    let (refused, throttled) = (
        counter("shoko_ingest_refused_total"),
        counter("shoko_ingest_throttled_total"),
    );
    let stored_batches = counter("shoko_ingest_batches_stored_total");
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
    println!(
        "ingest ({engine}): {agents} agents x {batches} batches x {per_batch} observations = {total} in {secs:.2} s: \
         {:.0} observations/s stored; ack latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; \
         collector peak RSS {} KiB; stored count {stored}; refused {refused}, slowed {throttled}; \
         batches acknowledged {}, stored {stored_batches}, lost {}",
        total as f64 / secs,
        at(0.5),
        at(0.99),
        at(1.0),
        peak_rss_kib(collector.pid()),
        latencies.len(),
        latencies.len() as u64 - stored_batches.min(latencies.len() as u64)
    );
    assert_eq!(stored, total as u64, "every acknowledged observation is stored");
    assert_eq!(
        stored_batches,
        latencies.len() as u64,
        "every acknowledged batch is stored"
    );
}
