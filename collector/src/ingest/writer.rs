//! The store writer: threads (one, or as many as the engine commits at once) take the batches of
//! every session from a bounded queue and store as many as are waiting (up to a number of
//! observations) in one transaction, then answer each session, so that one durable commit serves
//! many batches (group commit). Sessions wait for room
//! in the queue before their batch is taken: a collector behind on writing stops reading from its
//! agents, and TCP slows them down, instead of its memory growing.

use crate::metrics::Metrics;
use crate::store::{IngestOutcome, Store, StoreError};
use shoko_proto::{Envelope, Timestamp};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// A batch waiting to be stored, and where its outcome goes.
struct Job {
    batch: Envelope,
    reply: oneshot::Sender<Result<IngestOutcome, StoreError>>,
}

/// Handle of the writer threads; they end when every handle is dropped.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Job>,
}

/// Bounds of the writer.
#[derive(Debug, Clone, Copy)]
pub struct WriterLimits {
    /// Batches waiting for the writer at most.
    pub queue_batches: usize,
    /// Observations stored in one transaction at most (a larger single batch is stored alone).
    pub group_observations: usize,
}

impl Writer {
    /// Starts the writer threads over `store` ([`Store::writers`] of them).
    pub fn start(
        store: Arc<dyn Store>,
        limits: WriterLimits,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Self> {
        let (queue, jobs) = mpsc::channel(limits.queue_batches.max(1));
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..store.writers().max(1) {
            let (store, jobs, metrics) = (store.clone(), jobs.clone(), metrics.clone());
            std::thread::Builder::new()
                .name(format!("store-writer-{i}"))
                .spawn(move || run(store, &jobs, limits, &metrics))?;
        }
        Ok(Writer { queue })
    }

    /// Stores a batch (waiting for room in the queue, then for the commit).
    pub async fn store(&self, batch: Envelope) -> Result<IngestOutcome, StoreError> {
        let (reply, outcome) = oneshot::channel();
        self.queue
            .send(Job { batch, reply })
            .await
            .map_err(|_| StoreError::Database("the store writer has stopped".into()))?;
        outcome
            .await
            .map_err(|_| StoreError::Database("the store writer has stopped".into()))?
    }
}

/// Takes the jobs waiting (at least one) up to the group's limit; `None` once the queue closed.
fn take_group(
    jobs: &Mutex<mpsc::Receiver<Job>>,
    limits: WriterLimits,
    metrics: &Metrics,
) -> Option<Vec<Job>> {
    let mut jobs = jobs.lock().unwrap_or_else(|e| e.into_inner());
    let first = jobs.blocking_recv()?;
    let mut observations = first.batch.observations.len();
    let mut group = vec![first];
    while observations < limits.group_observations {
        let Ok(next) = jobs.try_recv() else { break };
        observations += next.batch.observations.len();
        group.push(next);
    }
    metrics.ingest_queue_depth.set(jobs.len() as i64);
    Some(group)
}

/// Stores groups of jobs until the queue closes.
fn run(store: Arc<dyn Store>, jobs: &Mutex<mpsc::Receiver<Job>>, limits: WriterLimits, metrics: &Metrics) {
    while let Some(group) = take_group(jobs, limits, metrics) {
        metrics.ingest_commits.inc();
        let (batches, replies): (Vec<Envelope>, Vec<_>) =
            group.into_iter().map(|j| (j.batch, j.reply)).unzip();
        match store.ingest_many(&batches, Timestamp::now()) {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    fn batch(agent: usize, seq: u64) -> Envelope {
        let ip = format!("10.0.{agent}.{seq}");
        crate::store::suite::sighting_batch(&format!("agent-{agent}"), seq, None, &ip)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_batches_share_commits_and_each_gets_its_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("s.db")).unwrap());
        let metrics = Arc::new(Metrics::new());
        let limits = WriterLimits {
            queue_batches: 8,
            group_observations: 1_000,
        };
        let writer = Writer::start(store.clone(), limits, metrics.clone()).unwrap();
        let mut tasks = Vec::new();
        for agent in 0..50 {
            let w = writer.clone();
            tasks.push(tokio::spawn(async move {
                let mut out = Vec::new();
                for seq in 1..=4 {
                    out.push(w.store(batch(agent, seq)).await.unwrap());
                }
                // A re-send after its ack is a duplicate.
                out.push(w.store(batch(agent, 4)).await.unwrap());
                out
            }));
        }
        for t in tasks {
            let out = t.await.unwrap();
            assert_eq!(out[3], IngestOutcome::Stored { highest: 4 });
            assert_eq!(out[4], IngestOutcome::Duplicate { highest: 4 });
        }
        assert_eq!(store.counts().unwrap().observations, 200);
        // 250 batches, fewer commits: waiting batches went out together.
        let commits = metrics.ingest_commits.get();
        assert!(commits < 250, "{commits} commits");
    }
}
