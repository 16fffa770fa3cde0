//! Scale-out: two `shoko-collector serve` processes on one PostgreSQL database take batches from
//! the same agents at once (each agent alternates between them and re-sends some batches to the
//! other, as after a failover whose acknowledgement was lost). Every batch is stored once, no
//! acknowledged batch is lost, and each asset and service is one change record.

use futures_util::StreamExt;
use shoko_collector::store::postgres::scratch::Scratch;
use shoko_proto::{Envelope, Message, Timestamp};
use shoko_tests::{CollectorProcess, DataDir, RawSession, client_config, load_observation};
use std::collections::BTreeMap;
use std::time::Duration;

const AGENTS: usize = 12;
const BATCHES: u64 = 24;
const PER_BATCH: usize = 40;

/// Sends a batch and returns its acknowledgement (seq, highest, duplicate).
async fn deliver(s: &mut RawSession, batch: &Envelope) -> (u64, u64, bool) {
    s.send(&Message::Batch(batch.clone())).await;
    match tokio::time::timeout(Duration::from_secs(120), s.conn.next()).await {
        Ok(Some(Ok(Message::Ack {
            seq,
            highest_stored_seq,
            duplicate,
        }))) => (seq, highest_stored_seq, duplicate),
        other => panic!(
            "{} batch {}: expected an ack, got {other:?}",
            batch.agent_id, batch.seq
        ),
    }
}

#[test]
fn two_collectors_on_one_postgres_store_every_batch_once() {
    let Some(db) = Scratch::for_test("two_collectors_on_one_postgres_store_every_batch_once") else {
        return;
    };
    let data = DataDir::init();
    data.set("store", &format!("{:?}", db.url()));
    let bundles: Vec<_> = (0..AGENTS)
        .map(|a| {
            let id = format!("plc-net-{a:02}");
            let bundle = data.enroll(&id);
            (id, bundle)
        })
        .collect();
    // Both start on the new schema at once: one migrates, the other waits for it.
    let (first, second) = std::thread::scope(|s| {
        let a = s.spawn(|| CollectorProcess::start(&data));
        let b = s.spawn(|| CollectorProcess::start(&data));
        (a.join().unwrap(), b.join().unwrap())
    });
    let (addr_a, addr_b) = (first.ingest, second.ingest);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let acks: Vec<Vec<(u64, u64, bool)>> = rt.block_on(async {
        let mut tasks = Vec::new();
        for (a, (id, bundle)) in bundles.into_iter().enumerate() {
            let config = client_config(&bundle);
            tasks.push(tokio::spawn(async move {
                let (mut to_a, _) = RawSession::open(addr_a, config.clone(), &id).await;
                let (mut to_b, _) = RawSession::open(addr_b, config, &id).await;
                let mut acks = Vec::new();
                for seq in 1..=BATCHES {
                    let base = (seq as usize - 1) * PER_BATCH;
                    let batch = Envelope {
                        protocol_version: 1,
                        agent_id: id.clone(),
                        seq,
                        sent_at: Timestamp::now(),
                        observations: (base..base + PER_BATCH).map(|i| load_observation(a, i)).collect(),
                    };
                    let (here, there) = if seq % 2 == 1 {
                        (&mut to_a, &mut to_b)
                    } else {
                        (&mut to_b, &mut to_a)
                    };
                    acks.push(deliver(here, &batch).await);
                    if seq % 4 == 0 {
                        acks.push(deliver(there, &batch).await);
                    }
                }
                acks
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.push(t.await.unwrap());
        }
        all
    });
    for (a, acks) in acks.iter().enumerate() {
        let mut expected = Vec::new();
        for seq in 1..=BATCHES {
            expected.push((seq, seq, false));
            if seq % 4 == 0 {
                expected.push((seq, seq, true));
            }
        }
        assert_eq!(acks, &expected, "agent {a}");
    }
    // Agent a's services name devices 1..=96 of its own /24: one asset and one service each.
    let devices = AGENTS * (BATCHES as usize * PER_BATCH / 10);
    for collector in [&first, &second] {
        let status = collector.get_json("/api/v1/status");
        assert_eq!(status["agents"], AGENTS);
        assert_eq!(status["batches"], AGENTS * BATCHES as usize);
        assert_eq!(status["observations"], AGENTS * BATCHES as usize * PER_BATCH);
        assert_eq!(status["assets"], devices);
    }
    let changes = second.get_json("/api/v1/changes");
    let mut kinds = BTreeMap::new();
    for c in changes.as_array().unwrap() {
        *kinds
            .entry(c["kind"].as_str().unwrap().to_string())
            .or_insert(0usize) += 1;
    }
    assert_eq!(
        kinds,
        BTreeMap::from([("new_asset".into(), devices), ("new_service".into(), devices)])
    );
    let agents = first.get_json("/api/v1/agents");
    for agent in agents.as_array().unwrap() {
        assert_eq!(agent["highest_seq"], BATCHES);
        assert_eq!(agent["batches"], BATCHES);
    }
}
