//! One agent session: TLS handshake, hello and version negotiation, then batches and acks.

use super::IngestContext;
use crate::pki::tls::{PeerIdentity, peer_identity};
use crate::store::IngestOutcome;
use futures_util::{SinkExt, StreamExt};
use shoko_proto::{
    CodecError, Envelope, ErrorCode, Message, MessageCodec, SUPPORTED_PROTOCOL_VERSIONS, Timestamp,
    negotiate_version,
};
use std::net::SocketAddr;
use std::time::Instant;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio_rustls::server::TlsStream;
use tokio_util::codec::Framed;
use tracing::{debug, info, warn};

/// Read buffer capacity kept between batches; a larger one is released once drained.
const IDLE_BUFFER: usize = 64 * 1024;
/// Longest wait imposed on an agent over its rate before its next batch is read.
const MAX_THROTTLE: std::time::Duration = std::time::Duration::from_secs(20);
/// How long a batch permit waits for its frame before it is handed back.
const PERMIT_HOLD: std::time::Duration = std::time::Duration::from_secs(1);

type Conn = Framed<TlsStream<TcpStream>, MessageCodec>;

/// Why a session is refused: the code sent to the agent, a metric/log label and a sentence.
struct Refusal {
    code: ErrorCode,
    label: &'static str,
    message: String,
}

impl Refusal {
    fn new(code: ErrorCode, label: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            code,
            label,
            message: message.into(),
        }
    }

    fn from_codec(e: &CodecError, context: &str) -> Self {
        let (code, label) = match e {
            CodecError::FrameTooLarge { .. } => (ErrorCode::FrameTooLarge, "frame_too_large"),
            CodecError::Malformed(_) => (ErrorCode::Malformed, "malformed_frame"),
            CodecError::Io(_) => (ErrorCode::Malformed, "io_error"),
        };
        Refusal::new(code, label, format!("{context}{e}"))
    }
}

/// One session's connection and who is on the other end.
/// An agent clock this far from the collector's is reported.
const CLOCK_TOLERANCE_NS: u64 = 5 * 60 * 1_000_000_000;

struct Session<'a> {
    conn: Conn,
    ctx: &'a IngestContext,
    peer: SocketAddr,
    id: PeerIdentity,
}

impl Session<'_> {
    /// Measures the agent's clock against ours from its hello and records it: capture times of a
    /// sensor whose clock is off are not what they seem. Recorded beside the handshake, never
    /// holding it up (a store that does not answer must not delay the session's own refusal).
    fn measure_clock(&self, agent_time: Option<Timestamp>) {
        let Some(agent_time) = agent_time else {
            return;
        };
        let now = Timestamp::now();
        let offset = now.0.saturating_sub(agent_time.0);
        if offset.unsigned_abs() > CLOCK_TOLERANCE_NS {
            warn!(peer = %self.peer, agent_id = %self.id.agent_id, offset_ms = offset / 1_000_000,
                "agent clock differs from the collector's by more than 5 minutes");
        }
        let (store, agent) = (self.ctx.store.clone(), self.id.agent_id.clone());
        tokio::task::spawn_blocking(move || {
            if let Err(e) = store.record_clock(&agent, offset, now) {
                warn!(agent_id = %agent, error = %e, "could not record the agent's clock offset");
            }
        });
    }

    /// Logs and counts a refusal, tells the agent, and closes the connection.
    async fn refuse(mut self, r: Refusal) {
        warn!(peer = %self.peer, agent_id = %self.id.agent_id, reason = r.label, "session refused: {}", r.message);
        self.ctx.metrics.refuse(r.label);
        let _ = self
            .conn
            .send(&Message::Error {
                code: r.code,
                message: r.message,
            })
            .await;
        let _ = SinkExt::<&Message>::close(&mut self.conn).await;
    }

    /// Reads and answers the hello; returns the negotiated version. `Err(None)`: the agent left.
    async fn hello(&mut self) -> Result<u16, Option<Refusal>> {
        let first = tokio::time::timeout(self.ctx.limits.handshake_timeout, self.conn.next()).await;
        let (agent_id, versions) = match first {
            Err(_) => {
                return Err(Some(Refusal::new(
                    ErrorCode::ProtocolViolation,
                    "hello_timeout",
                    "no hello in time",
                )));
            }
            Ok(None) => return Err(None),
            Ok(Some(Err(e))) => return Err(Some(Refusal::from_codec(&e, "reading hello: "))),
            Ok(Some(Ok(Message::Hello {
                agent_id,
                protocol_versions,
                agent_time,
                ..
            }))) => {
                self.measure_clock(agent_time);
                (agent_id, protocol_versions)
            }
            Ok(Some(Ok(other))) => {
                let msg = format!("expected hello, got {}", other.name());
                return Err(Some(Refusal::new(
                    ErrorCode::ProtocolViolation,
                    "protocol_violation",
                    msg,
                )));
            }
        };
        if agent_id != self.id.agent_id {
            let msg = format!(
                "hello names agent {agent_id:?} but the certificate is agent {:?}",
                self.id.agent_id
            );
            return Err(Some(Refusal::new(
                ErrorCode::AgentIdMismatch,
                "agent_id_mismatch",
                msg,
            )));
        }
        let Some(version) = negotiate_version(SUPPORTED_PROTOCOL_VERSIONS, &versions) else {
            let msg = format!(
                "no common protocol version: agent speaks {versions:?}, collector speaks {SUPPORTED_PROTOCOL_VERSIONS:?}"
            );
            return Err(Some(Refusal::new(
                ErrorCode::UnsupportedVersion,
                "unsupported_version",
                msg,
            )));
        };
        let store = self.ctx.store.clone();
        let owned = self.id.agent_id.clone();
        let read = tokio::task::spawn_blocking(move || store.highest_seq(&owned))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()));
        let highest = match read {
            Ok(h) => h,
            Err(why) => {
                let msg = format!("cannot read the agent's highest stored batch: {why}");
                return Err(Some(Refusal::new(
                    ErrorCode::Unavailable,
                    "store_unavailable",
                    msg,
                )));
            }
        };
        let welcome = Message::Welcome {
            protocol_version: version,
            collector_version: env!("CARGO_PKG_VERSION").into(),
            highest_stored_seq: highest,
        };
        self.conn.send(&welcome).await.map_err(|_| None)?;
        Ok(version)
    }

    /// Checks a batch before it is stored.
    fn check(&self, batch: &Envelope, version: u16) -> Result<(), Refusal> {
        if batch.agent_id != self.id.agent_id {
            let msg = format!(
                "batch names agent {:?} but the certificate is agent {:?}",
                batch.agent_id, self.id.agent_id
            );
            return Err(Refusal::new(ErrorCode::AgentIdMismatch, "agent_id_mismatch", msg));
        }
        if batch.protocol_version != version {
            let msg = format!(
                "batch in protocol version {} in a version {version} session",
                batch.protocol_version
            );
            return Err(Refusal::new(
                ErrorCode::ProtocolViolation,
                "protocol_violation",
                msg,
            ));
        }
        if let Err(e) = batch.validate() {
            let msg = format!("batch {}: {e}", batch.seq);
            return Err(Refusal::new(ErrorCode::InvalidBatch, "invalid_batch", msg));
        }
        if self.ctx.tls.current().revoked.contains(&self.id.serial) {
            let msg = format!(
                "certificate {} of agent {} was revoked",
                self.id.serial, self.id.agent_id
            );
            return Err(Refusal::new(ErrorCode::Revoked, "revoked", msg));
        }
        Ok(())
    }

    /// Stores a checked batch; returns its ack.
    async fn store(&self, batch: Envelope) -> Result<Message, Refusal> {
        let (seq, count) = (batch.seq, batch.observations.len() as u64);
        let outcome = self.ctx.writer.store(batch).await;
        let metrics = &self.ctx.metrics;
        let agent = &self.id.agent_id;
        match outcome {
            Ok(IngestOutcome::Stored { highest }) => {
                metrics.batches_stored.inc();
                metrics.observations_stored.inc_by(count);
                debug!(agent_id = %agent, seq, observations = count, "batch stored");
                Ok(Message::Ack {
                    seq,
                    highest_stored_seq: highest,
                    duplicate: false,
                })
            }
            Ok(IngestOutcome::Duplicate { highest }) => {
                metrics.batches_duplicate.inc();
                info!(agent_id = %agent, seq, "re-sent batch acknowledged without storing it again");
                Ok(Message::Ack {
                    seq,
                    highest_stored_seq: highest,
                    duplicate: true,
                })
            }
            Err(e) => Err(Refusal::new(
                ErrorCode::Unavailable,
                "store_unavailable",
                format!("cannot store batch {seq}: {e}"),
            )),
        }
    }

    /// Waits until the agent has sent something (data in the frame buffer, decrypted data in TLS,
    /// or a readable socket), then for a batch permit. A silent session holds no permit; `None`
    /// when it stays silent until `deadline`.
    async fn admit(&mut self, deadline: tokio::time::Instant) -> Option<OwnedSemaphorePermit> {
        let (tcp, tls) = self.conn.get_ref().get_ref();
        if self.conn.read_buffer().is_empty() && tls.wants_read() {
            // An error surfaces on the read that follows.
            tokio::time::timeout_at(deadline, tcp.readable()).await.ok()?.ok();
        }
        self.ctx.admission.clone().acquire_owned().await.ok()
    }

    /// The next frame, read under a batch permit (returned with it); `Err(())` after the idle
    /// timeout. A permit whose frame does not arrive within [`PERMIT_HOLD`] is released and the
    /// wait starts again (what was read stays buffered), so slow or silent agents do not keep
    /// permits from the others.
    async fn next_frame(
        &mut self,
    ) -> Result<(OwnedSemaphorePermit, Option<Result<Message, CodecError>>), ()> {
        let deadline = tokio::time::Instant::now() + self.ctx.limits.idle_timeout;
        loop {
            let permit = self.admit(deadline).await.ok_or(())?;
            match tokio::time::timeout(PERMIT_HOLD, self.conn.next()).await {
                Ok(frame) => return Ok((permit, frame)),
                Err(_) if tokio::time::Instant::now() >= deadline => return Err(()),
                Err(_) => drop(permit),
            }
        }
    }

    /// Stores batches and acknowledges them until the session ends.
    async fn batches(mut self, version: u16) {
        let (peer, agent) = (self.peer, self.id.agent_id.clone());
        let mut throttle = std::time::Duration::ZERO;
        loop {
            if !throttle.is_zero() {
                // Over its rate: the agent is read again later (no permit is held meanwhile).
                self.ctx.metrics.ingest_throttled.inc();
                tokio::time::sleep(throttle).await;
            }
            let (_permit, frame) = match self.next_frame().await {
                Err(()) => {
                    info!(%peer, agent_id = %agent, "session closed after idle timeout");
                    let _ = SinkExt::<&Message>::close(&mut self.conn).await;
                    return;
                }
                Ok(pair) => pair,
            };
            let frame = match frame {
                None => {
                    debug!(%peer, agent_id = %agent, "session closed by agent");
                    return;
                }
                Some(Err(CodecError::Io(e))) => {
                    debug!(%peer, agent_id = %agent, error = %e, "session ended");
                    return;
                }
                Some(Err(e)) => return self.refuse(Refusal::from_codec(&e, "")).await,
                Some(Ok(m)) => m,
            };
            let started = Instant::now();
            let batch = match frame {
                Message::Batch(b) => b,
                other => {
                    let msg = format!("unexpected {} during session", other.name());
                    return self
                        .refuse(Refusal::new(
                            ErrorCode::ProtocolViolation,
                            "protocol_violation",
                            msg,
                        ))
                        .await;
                }
            };
            if let Err(r) = self.check(&batch, version) {
                return self.refuse(r).await;
            }
            let count = batch.observations.len();
            let ack = match self.store(batch).await {
                Ok(ack) => ack,
                Err(r) => return self.refuse(r).await,
            };
            if self.conn.send(&ack).await.is_err() {
                return;
            }
            // Re-sent batches cost nothing; a wait never nears an agent's acknowledgement timeout
            // (60 s): a larger debt is paid over several batches.
            let stored = if matches!(ack, Message::Ack { duplicate: true, .. }) {
                0
            } else {
                count
            };
            throttle = self
                .ctx
                .rates
                .charge(&agent, stored, std::time::Instant::now())
                .min(MAX_THROTTLE);
            self.ctx
                .metrics
                .ingest_seconds
                .observe(started.elapsed().as_secs_f64());
            // A drained read buffer keeps the capacity of the largest frame read; a thousand idle
            // sessions would hold a frame's worth of memory each.
            if self.conn.read_buffer().is_empty() && self.conn.read_buffer().capacity() > IDLE_BUFFER {
                drop(std::mem::take(self.conn.read_buffer_mut()));
            }
        }
    }
}

/// A short label and a sentence for a failed handshake.
fn classify_handshake(e: &std::io::Error) -> (&'static str, String) {
    use rustls::{CertificateError, Error};
    match e.get_ref().and_then(|i| i.downcast_ref::<Error>()) {
        Some(Error::NoCertificatesPresented) => {
            ("no_client_certificate", "client presented no certificate".into())
        }
        Some(Error::InvalidCertificate(CertificateError::UnknownIssuer)) => (
            "unknown_ca",
            "client certificate is not issued by this collector's CA".into(),
        ),
        Some(Error::InvalidCertificate(CertificateError::Revoked)) => {
            ("revoked", "client certificate is revoked".into())
        }
        Some(Error::InvalidCertificate(other)) => (
            "bad_certificate",
            format!("client certificate refused: {other:?}"),
        ),
        Some(other) => ("tls_error", format!("TLS error: {other}")),
        None => ("tls_error", format!("TLS handshake failed: {e}")),
    }
}

/// Runs one connection to its end.
pub async fn handle(stream: TcpStream, peer: SocketAddr, ctx: &IngestContext) {
    let _ = stream.set_nodelay(true);
    let tls = ctx.tls.current();
    let accepted = tokio::time::timeout(ctx.limits.handshake_timeout, tls.acceptor.accept(stream)).await;
    let stream = match accepted {
        Err(_) => {
            warn!(%peer, reason = "handshake_timeout", "connection refused: TLS handshake not completed in time");
            ctx.metrics.refuse("handshake_timeout");
            return;
        }
        Ok(Err(e)) => {
            let (label, sentence) = classify_handshake(&e);
            warn!(%peer, reason = label, "connection refused: {sentence}");
            ctx.metrics.refuse(label);
            return;
        }
        Ok(Ok(s)) => s,
    };
    let identity = match stream.get_ref().1.peer_certificates().and_then(|c| c.first()) {
        Some(cert) => peer_identity(cert),
        None => Err("client presented no certificate".into()),
    };
    let conn = Framed::new(stream, MessageCodec::new(ctx.limits.max_frame_len));
    let (id, refusal) = match identity {
        Ok(id) => (id, None),
        Err(message) => {
            let unknown = PeerIdentity {
                agent_id: "?".into(),
                serial: String::new(),
            };
            (
                unknown,
                Some(Refusal::new(
                    ErrorCode::ProtocolViolation,
                    "bad_certificate",
                    message,
                )),
            )
        }
    };
    let refusal = refusal.or_else(|| {
        tls.revoked.contains(&id.serial).then(|| {
            let msg = format!("certificate {} of agent {} is revoked", id.serial, id.agent_id);
            Refusal::new(ErrorCode::Revoked, "revoked", msg)
        })
    });
    let mut session = Session { conn, ctx, peer, id };
    if let Some(r) = refusal {
        return session.refuse(r).await;
    }
    let version = match session.hello().await {
        Ok(v) => v,
        Err(Some(r)) => return session.refuse(r).await,
        Err(None) => return,
    };
    ctx.metrics.sessions.inc();
    ctx.metrics.sessions_open.inc();
    info!(%peer, agent_id = %session.id.agent_id, protocol_version = version, "session open");
    session.batches(version).await;
    ctx.metrics.sessions_open.dec();
}
