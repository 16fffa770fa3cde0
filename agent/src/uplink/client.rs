//! The uplink task and its handle.

use crate::identity::Identity;
use crate::spool::{Lane, Spool, SpoolStats};
use futures_util::{SinkExt, StreamExt};
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use shoko_proto::{
    EncodedMessage, Envelope, ErrorCode, Message, MessageCodec, Observation, ObservationBody,
    SUPPORTED_PROTOCOL_VERSIONS, Timestamp,
};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tokio_util::codec::Framed;
use tracing::{debug, info, warn};

/// Settings of the uplink.
#[derive(Clone)]
pub struct UplinkConfig {
    /// The agent id (must match the certificate).
    pub agent_id: String,
    /// Collector address, `host:port`.
    pub collector: String,
    /// Name the collector's certificate must carry.
    pub server_name: ServerName<'static>,
    /// TLS client configuration.
    pub tls: Arc<ClientConfig>,
    /// Maximum frame length.
    pub max_frame_len: usize,
    /// Most observations per batch.
    pub batch_max_observations: usize,
    /// Batches sent ahead of their acknowledgement.
    pub window: usize,
    /// Batches held in memory before `submit` waits.
    pub max_pending_batches: usize,
    /// Time allowed for TCP connect and TLS handshake.
    pub connect_timeout: Duration,
    /// Time allowed for the acknowledgement of a sent batch.
    pub ack_timeout: Duration,
    /// First retry delay.
    pub backoff_min: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
}

impl UplinkConfig {
    /// Default settings for an identity bundle; `collector` overrides the bundle's address.
    pub fn from_identity(identity: &Identity, collector: Option<String>) -> anyhow::Result<Self> {
        Ok(UplinkConfig {
            agent_id: identity.file.agent_id.clone(),
            collector: collector.unwrap_or_else(|| identity.file.collector.clone()),
            server_name: super::tls::server_name(identity)?,
            tls: super::tls::client_config(identity)?,
            max_frame_len: shoko_proto::DEFAULT_MAX_FRAME_LEN,
            batch_max_observations: 5_000,
            window: 8,
            max_pending_batches: 256,
            connect_timeout: Duration::from_secs(10),
            ack_timeout: Duration::from_secs(60),
            backoff_min: Duration::from_millis(200),
            backoff_max: Duration::from_secs(30),
        })
    }
}

/// Why delivery failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UplinkError {
    /// The spool could not record a batch's number, so a re-send could not be recognised.
    #[error("spool: {0}")]
    Spool(String),
    /// The collector refused this agent for good (revoked, wrong id, no common version).
    #[error("collector refused the agent ({code:?}): {message}")]
    Refused {
        /// The collector's reason code.
        code: ErrorCode,
        /// The collector's explanation.
        message: String,
    },
    /// Not everything was acknowledged in time.
    #[error("{pending} batches not acknowledged in time (last error: {last_error})")]
    Timeout {
        /// Batches still waiting.
        pending: usize,
        /// The last connection error.
        last_error: String,
    },
}

/// A snapshot of the uplink's state.
#[derive(Debug, Clone, Default)]
pub struct UplinkStatus {
    /// Batches waiting for acknowledgement (sent or not).
    pub pending_batches: usize,
    /// Observations in those batches.
    pub pending_observations: usize,
    /// Batches acknowledged as newly stored.
    pub acked_batches: u64,
    /// Batches acknowledged as already stored (re-sends).
    pub duplicate_batches: u64,
    /// Successful session handshakes.
    pub sessions: u64,
    /// The last connection or session error.
    pub last_error: Option<String>,
    /// The on-disk spool's counters, when there is one.
    pub spool: Option<SpoolStats>,
}

struct PendingBatch {
    observations: Vec<Observation>,
    /// Set on first send; the batch is then re-sent byte for byte.
    encoded: Option<(u64, EncodedMessage)>,
    count: usize,
    /// Its spool record, when spooled.
    record: Option<u64>,
    /// The number it was first sent with before a restart (spooled batches).
    seq: Option<u64>,
}

impl PendingBatch {
    fn new(observations: Vec<Observation>) -> Self {
        let count = observations.len();
        PendingBatch {
            observations,
            encoded: None,
            count,
            record: None,
            seq: None,
        }
    }
}

#[derive(Default)]
struct State {
    queue: VecDeque<PendingBatch>,
    next_seq: u64,
    fatal: Option<UplinkError>,
    status: UplinkStatus,
    /// The on-disk spool; the queue then holds only the next batches read from it.
    spool: Option<Spool>,
    /// The last spool record read into the queue.
    loaded: u64,
}

impl State {
    /// True when nothing is waiting, in memory or in the spool.
    fn drained(&self) -> bool {
        self.queue.is_empty()
            && self
                .spool
                .as_ref()
                .is_none_or(|s| s.next_after(self.loaded).is_none())
    }

    /// Reads the next spooled batches into the queue, up to `room` batches in memory.
    fn refill(&mut self, room: usize) {
        let Some(spool) = &self.spool else { return };
        while self.queue.len() < room {
            let Some(r) = spool.next_after(self.loaded) else {
                break;
            };
            self.loaded = r.meta.id;
            let observations = spool.read(&r).map_err(|e| e.to_string()).and_then(|payload| {
                rmp_serde::from_slice::<Vec<Observation>>(&payload).map_err(|e| e.to_string())
            });
            match observations {
                Ok(observations) => {
                    let mut batch = PendingBatch::new(observations);
                    batch.record = Some(r.meta.id);
                    batch.seq = (r.meta.seq != 0).then_some(r.meta.seq);
                    self.queue.push_back(batch);
                }
                Err(e) => warn!(record = r.meta.id, error = %e, "a spooled batch cannot be read; skipped"),
            }
        }
        self.note_spool();
    }

    /// Copies the spool's counters into the status.
    fn note_spool(&mut self) {
        if let Some(spool) = &self.spool {
            let stats = spool.stats();
            self.status.spool = Some(stats);
            self.status.pending_batches = stats.batches as usize;
            self.status.pending_observations = self.queue.iter().map(|b| b.count).sum();
        }
    }
}

struct Shared {
    state: Mutex<State>,
    /// New batches queued.
    work: Notify,
    /// Batches acknowledged or a fatal refusal.
    progress: Notify,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Handle to a running uplink task.
pub struct Uplink {
    shared: Arc<Shared>,
    config: UplinkConfig,
    task: JoinHandle<()>,
}

impl Uplink {
    /// Starts the uplink task, holding batches in memory.
    pub fn start(config: UplinkConfig) -> Self {
        Self::launch(config, None)
    }

    /// Starts the uplink task over an opened spool: batches are appended to it before they are
    /// sent and leave it when acknowledged; what it held at start is sent first.
    pub fn with_spool(config: UplinkConfig, spool: Spool) -> Self {
        Self::launch(config, Some(spool))
    }

    fn launch(config: UplinkConfig, spool: Option<Spool>) -> Self {
        let mut state = State {
            next_seq: spool.as_ref().map_or(1, |s| s.highest_seq() + 1),
            spool,
            ..Default::default()
        };
        state.refill(config.window * 2);
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            work: Notify::new(),
            progress: Notify::new(),
        });
        let task = tokio::spawn(run(shared.clone(), config.clone()));
        Uplink { shared, config, task }
    }

    /// Appends observations to the spool, in batches per lane that fit a frame.
    fn spool_observations(&self, observations: Vec<Observation>) {
        let (flows, other): (Vec<_>, Vec<_>) = observations
            .into_iter()
            .partition(|o| matches!(o.body, ObservationBody::FlowSummary(_)));
        for (lane, list) in [(Lane::Other, other), (Lane::Flows, flows)] {
            for chunk in chunk_observations(list, &self.config) {
                for (count, payload) in encode_fitting(chunk, self.config.max_frame_len) {
                    let mut st = self.shared.lock();
                    if let Some(spool) = st.spool.as_mut()
                        && let Err(e) = spool.append(lane, count, &payload)
                    {
                        warn!(error = %e, observations = count, "cannot spool a batch; it is lost");
                    }
                    st.refill(self.config.window * 2);
                }
                self.shared.work.notify_one();
            }
        }
    }

    /// Queues observations for delivery: into the spool when there is one (bounded on disk),
    /// else in memory, waiting while too many batches are pending.
    pub async fn submit(&self, observations: Vec<Observation>) -> Result<(), UplinkError> {
        if self.shared.lock().spool.is_some() {
            self.spool_observations(observations);
            return Ok(());
        }
        for chunk in chunk_observations(observations, &self.config) {
            loop {
                let space = self.shared.progress.notified();
                tokio::pin!(space);
                space.as_mut().enable();
                {
                    let mut st = self.shared.lock();
                    if let Some(e) = &st.fatal {
                        return Err(e.clone());
                    }
                    if st.queue.len() < self.config.max_pending_batches {
                        let count = chunk.len();
                        st.queue.push_back(PendingBatch::new(chunk));
                        st.status.pending_batches = st.queue.len();
                        st.status.pending_observations += count;
                        break;
                    }
                }
                space.await;
            }
            self.shared.work.notify_one();
        }
        Ok(())
    }

    /// Waits until every queued batch is acknowledged, or `timeout` passes.
    pub async fn flush(&self, timeout: Duration) -> Result<(), UplinkError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let progressed = self.shared.progress.notified();
            tokio::pin!(progressed);
            progressed.as_mut().enable();
            {
                let st = self.shared.lock();
                if let Some(e) = &st.fatal {
                    return Err(e.clone());
                }
                if st.drained() {
                    return Ok(());
                }
            }
            if tokio::time::timeout_at(deadline, progressed).await.is_err() {
                let st = self.shared.lock();
                return Err(UplinkError::Timeout {
                    pending: st.status.pending_batches.max(st.queue.len()),
                    last_error: st.status.last_error.clone().unwrap_or_else(|| "none".into()),
                });
            }
        }
    }

    /// A snapshot of the uplink's state.
    pub fn status(&self) -> UplinkStatus {
        self.shared.lock().status.clone()
    }

    /// Stops the task; unacknowledged batches are dropped (those in a spool stay there).
    pub fn abort(self) {
        self.task.abort();
    }
}

/// Rough encoded size of an observation, for keeping batches under the frame limit.
fn approx_size(o: &Observation) -> usize {
    let ev = &o.provenance.evidence;
    512 + ev.frames.iter().map(|f| f.data.len() + 96).sum::<usize>() + ev.files.len() * 256
}

fn chunk_observations(observations: Vec<Observation>, cfg: &UplinkConfig) -> Vec<Vec<Observation>> {
    let budget = cfg.max_frame_len / 2;
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut size = 0;
    for o in observations {
        let s = approx_size(&o);
        if !cur.is_empty() && (cur.len() >= cfg.batch_max_observations || size + s > budget) {
            out.push(std::mem::take(&mut cur));
            size = 0;
        }
        size += s;
        cur.push(o);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The MessagePack of a batch of observations, split in halves until each fits a frame with room
/// for the envelope; (count, payload) each.
fn encode_fitting(observations: Vec<Observation>, max_frame_len: usize) -> Vec<(u32, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![observations];
    while let Some(mut batch) = todo.pop() {
        let payload = match rmp_serde::to_vec_named(&batch) {
            Ok(p) => p,
            Err(e) => {
                warn!(error = %e, observations = batch.len(), "a batch cannot be encoded; it is lost");
                continue;
            }
        };
        if payload.len() + 4096 > max_frame_len && batch.len() > 1 {
            let tail = batch.split_off(batch.len() / 2);
            todo.push(tail);
            todo.push(batch);
            continue;
        }
        out.push((batch.len() as u32, payload));
    }
    out
}

/// How a session ended.
enum SessionEnd {
    /// Try again after a delay.
    Retry(String),
    /// Give up: the collector refused this agent.
    Fatal(UplinkError),
}

async fn run(shared: Arc<Shared>, cfg: UplinkConfig) {
    let mut backoff = cfg.backoff_min;
    loop {
        loop {
            let work = shared.work.notified();
            tokio::pin!(work);
            work.as_mut().enable();
            if !shared.lock().drained() {
                break;
            }
            work.await;
        }
        let acked_before = shared.lock().status.acked_batches;
        match session(&shared, &cfg).await {
            SessionEnd::Fatal(e) => {
                warn!(collector = %cfg.collector, error = %e, "uplink stopped");
                shared.lock().fatal = Some(e);
                shared.progress.notify_waiters();
                return;
            }
            SessionEnd::Retry(reason) => {
                let mut st = shared.lock();
                if st.status.acked_batches > acked_before {
                    backoff = cfg.backoff_min;
                }
                warn!(collector = %cfg.collector, error = %reason, retry_in_ms = backoff.as_millis() as u64, "uplink session ended");
                st.status.last_error = Some(reason);
            }
        }
        shared.progress.notify_waiters();
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(cfg.backoff_max);
    }
}

type Conn = Framed<tokio_rustls::client::TlsStream<TcpStream>, MessageCodec>;

async fn connect(cfg: &UplinkConfig) -> Result<Conn, String> {
    let tcp = tokio::time::timeout(cfg.connect_timeout, TcpStream::connect(&cfg.collector))
        .await
        .map_err(|_| format!("connect to {} timed out", cfg.collector))?
        .map_err(|e| format!("connect to {}: {e}", cfg.collector))?;
    let _ = tcp.set_nodelay(true);
    let tls = tokio::time::timeout(
        cfg.connect_timeout,
        TlsConnector::from(cfg.tls.clone()).connect(cfg.server_name.clone(), tcp),
    )
    .await
    .map_err(|_| "TLS handshake timed out".to_string())?
    .map_err(|e| format!("TLS handshake: {e}"))?;
    Ok(Framed::new(tls, MessageCodec::new(cfg.max_frame_len)))
}

/// A TLS alert from the collector that retrying cannot cure (revoked, unknown CA, bad certificate).
fn tls_refusal(e: &shoko_proto::CodecError) -> Option<SessionEnd> {
    use rustls::AlertDescription as A;
    let shoko_proto::CodecError::Io(io) = e else {
        return None;
    };
    let alert = match io.get_ref()?.downcast_ref::<rustls::Error>()? {
        rustls::Error::AlertReceived(a) => *a,
        _ => return None,
    };
    let code = match alert {
        A::CertificateRevoked => ErrorCode::Revoked,
        A::UnknownCA
        | A::BadCertificate
        | A::CertificateRequired
        | A::AccessDenied
        | A::CertificateExpired => ErrorCode::ProtocolViolation,
        _ => return None,
    };
    Some(SessionEnd::Fatal(UplinkError::Refused {
        code,
        message: format!("the collector rejected this agent's certificate (TLS alert {alert:?})"),
    }))
}

fn refusal(code: ErrorCode, message: String) -> SessionEnd {
    match code {
        ErrorCode::UnsupportedVersion | ErrorCode::AgentIdMismatch | ErrorCode::Revoked => {
            SessionEnd::Fatal(UplinkError::Refused { code, message })
        }
        _ => SessionEnd::Retry(format!("collector error {code:?}: {message}")),
    }
}

async fn session(shared: &Shared, cfg: &UplinkConfig) -> SessionEnd {
    let mut conn = match connect(cfg).await {
        Ok(c) => c,
        Err(e) => return SessionEnd::Retry(e),
    };
    let hello = Message::Hello {
        agent_id: cfg.agent_id.clone(),
        agent_version: env!("CARGO_PKG_VERSION").into(),
        protocol_versions: SUPPORTED_PROTOCOL_VERSIONS.to_vec(),
        agent_time: Some(Timestamp::now()),
    };
    if let Err(e) = conn.send(&hello).await {
        return SessionEnd::Retry(format!("sending hello: {e}"));
    }
    let (version, highest) = match tokio::time::timeout(cfg.ack_timeout, conn.next()).await {
        Ok(Some(Ok(Message::Welcome {
            protocol_version,
            highest_stored_seq,
            ..
        }))) => (protocol_version, highest_stored_seq),
        Ok(Some(Ok(Message::Error { code, message }))) => return refusal(code, message),
        Ok(Some(Ok(other))) => return SessionEnd::Retry(format!("expected welcome, got {}", other.name())),
        Ok(Some(Err(e))) => {
            return tls_refusal(&e).unwrap_or_else(|| SessionEnd::Retry(format!("reading welcome: {e}")));
        }
        Ok(None) => return SessionEnd::Retry("collector closed the connection during hello".into()),
        Err(_) => return SessionEnd::Retry("no welcome in time".into()),
    };
    {
        let mut st = shared.lock();
        st.next_seq = st.next_seq.max(highest + 1);
        st.status.sessions += 1;
        st.status.last_error = None;
    }
    info!(collector = %cfg.collector, protocol_version = version, highest_stored_seq = highest, "uplink session open");
    let mut inflight = 0usize;
    loop {
        while inflight < cfg.window {
            let next = match next_frame(shared, inflight, version, cfg) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return SessionEnd::Fatal(e),
            };
            if let Err(e) = conn.feed(&next).await {
                return SessionEnd::Retry(format!("sending batch: {e}"));
            }
            inflight += 1;
        }
        if let Err(e) = SinkExt::<&EncodedMessage>::flush(&mut conn).await {
            return SessionEnd::Retry(format!("sending: {e}"));
        }
        let frame = if inflight == 0 {
            let work = shared.work.notified();
            tokio::pin!(work);
            work.as_mut().enable();
            if !shared.lock().queue.is_empty() {
                continue;
            }
            tokio::select! {
                _ = work => continue,
                f = conn.next() => f,
            }
        } else {
            match tokio::time::timeout(cfg.ack_timeout, conn.next()).await {
                Ok(f) => f,
                Err(_) => return SessionEnd::Retry(format!("no ack within {:?}", cfg.ack_timeout)),
            }
        };
        match frame {
            Some(Ok(Message::Ack { seq, duplicate, .. })) => {
                let mut st = shared.lock();
                while let Some(front) = st.queue.front() {
                    match &front.encoded {
                        Some((s, _)) if *s <= seq => {
                            let count = front.count;
                            st.queue.pop_front();
                            st.status.pending_observations -= count;
                            inflight = inflight.saturating_sub(1);
                        }
                        _ => break,
                    }
                }
                if duplicate {
                    st.status.duplicate_batches += 1;
                } else {
                    st.status.acked_batches += 1;
                }
                st.status.pending_batches = st.queue.len();
                if let Some(spool) = st.spool.as_mut()
                    && let Err(e) = spool.ack(seq)
                {
                    warn!(seq, error = %e, "cannot record an acknowledgement in the spool");
                }
                st.refill(cfg.window * 2);
                debug!(seq, duplicate, "batch acknowledged");
                drop(st);
                shared.progress.notify_waiters();
            }
            Some(Ok(Message::Error { code, message })) => return refusal(code, message),
            Some(Ok(other)) => {
                return SessionEnd::Retry(format!("unexpected {} from collector", other.name()));
            }
            Some(Err(e)) => return SessionEnd::Retry(format!("reading: {e}")),
            None => return SessionEnd::Retry("collector closed the connection".into()),
        }
    }
}

/// The encoded frame of the `index`-th pending batch, numbering and encoding it on first send.
/// A batch that encodes over the frame limit is split in two first.
fn next_frame(
    shared: &Shared,
    index: usize,
    version: u16,
    cfg: &UplinkConfig,
) -> Result<Option<EncodedMessage>, UplinkError> {
    let mut st = shared.lock();
    loop {
        let next_seq = st.next_seq;
        let Some(batch) = st.queue.get_mut(index) else {
            return Ok(None);
        };
        if let Some((_, enc)) = &batch.encoded {
            return Ok(Some(enc.clone()));
        }
        let (record, known) = (batch.record, batch.seq);
        let seq = known.unwrap_or(next_seq);
        let observations = std::mem::take(&mut batch.observations);
        let msg = Message::Batch(Envelope {
            protocol_version: version,
            agent_id: cfg.agent_id.clone(),
            seq,
            sent_at: Timestamp::now(),
            observations,
        });
        let enc = EncodedMessage::new(&msg).map_err(|e| UplinkError::Refused {
            code: ErrorCode::Internal,
            message: format!("cannot encode batch: {e}"),
        })?;
        let mut observations = match msg {
            Message::Batch(env) => env.observations,
            _ => Vec::new(),
        };
        if enc.len() <= cfg.max_frame_len || record.is_some() {
            batch.encoded = Some((seq, enc.clone()));
            if let (Some(id), None) = (record, known) {
                // The number goes to disk before the batch goes out.
                if let Some(spool) = st.spool.as_mut() {
                    spool
                        .number(&[(id, seq)])
                        .map_err(|e| UplinkError::Spool(e.to_string()))?;
                }
            }
            if known.is_none() {
                st.next_seq += 1;
            }
            return Ok(Some(enc));
        }
        if observations.len() < 2 {
            return Err(UplinkError::Refused {
                code: ErrorCode::FrameTooLarge,
                message: format!("one observation encodes to {} bytes", enc.len()),
            });
        }
        let tail = observations.split_off(observations.len() / 2);
        batch.count = observations.len();
        batch.observations = observations;
        let count = tail.len();
        debug_assert_eq!(count, tail.len());
        st.queue.insert(index + 1, PendingBatch::new(tail));
    }
}
