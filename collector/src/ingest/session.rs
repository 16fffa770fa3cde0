//! One agent session: TLS handshake, hello and version negotiation, then batches and acks.

use super::IngestContext;
use crate::pki::tls::{PeerIdentity, peer_identity};
use crate::store::IngestOutcome;
use futures_util::{SinkExt, StreamExt};
use shoko_proto::{
    CodecError, ErrorCode, Message, MessageCodec, SUPPORTED_PROTOCOL_VERSIONS, Timestamp, negotiate_version,
};
use std::net::SocketAddr;
use std::time::Instant;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_util::codec::Framed;
use tracing::{debug, info, warn};

type Conn = Framed<TlsStream<TcpStream>, MessageCodec>;

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

async fn refuse(
    conn: &mut Conn,
    ctx: &IngestContext,
    peer: SocketAddr,
    agent: &str,
    code: ErrorCode,
    label: &str,
    message: String,
) {
    warn!(%peer, agent_id = agent, reason = label, "session refused: {message}");
    ctx.metrics.refuse(label);
    let _ = conn.send(&Message::Error { code, message }).await;
    let _ = SinkExt::<&Message>::close(conn).await;
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
    let mut conn = Framed::new(stream, MessageCodec::new(ctx.limits.max_frame_len));
    let identity = match identity {
        Ok(i) => i,
        Err(message) => {
            refuse(
                &mut conn,
                ctx,
                peer,
                "?",
                ErrorCode::ProtocolViolation,
                "bad_certificate",
                message,
            )
            .await;
            return;
        }
    };
    if tls.revoked.contains(&identity.serial) {
        let msg = format!(
            "certificate {} of agent {} is revoked",
            identity.serial, identity.agent_id
        );
        refuse(
            &mut conn,
            ctx,
            peer,
            &identity.agent_id,
            ErrorCode::Revoked,
            "revoked",
            msg,
        )
        .await;
        return;
    }
    let Some(version) = hello(&mut conn, ctx, peer, &identity).await else {
        return;
    };
    ctx.metrics.sessions.inc();
    ctx.metrics.sessions_open.inc();
    info!(%peer, agent_id = %identity.agent_id, protocol_version = version, "session open");
    batches(&mut conn, ctx, peer, &identity, version).await;
    ctx.metrics.sessions_open.dec();
}

/// Reads and answers the hello; returns the negotiated version.
async fn hello(conn: &mut Conn, ctx: &IngestContext, peer: SocketAddr, id: &PeerIdentity) -> Option<u16> {
    let agent = id.agent_id.as_str();
    let first = tokio::time::timeout(ctx.limits.handshake_timeout, conn.next()).await;
    let (agent_id, versions) = match first {
        Err(_) => {
            refuse(
                conn,
                ctx,
                peer,
                agent,
                ErrorCode::ProtocolViolation,
                "hello_timeout",
                "no hello in time".into(),
            )
            .await;
            return None;
        }
        Ok(None) => return None,
        Ok(Some(Err(e))) => {
            let (code, label) = codec_refusal(&e);
            refuse(conn, ctx, peer, agent, code, label, format!("reading hello: {e}")).await;
            return None;
        }
        Ok(Some(Ok(Message::Hello {
            agent_id,
            protocol_versions,
            ..
        }))) => (agent_id, protocol_versions),
        Ok(Some(Ok(other))) => {
            let msg = format!("expected hello, got {}", other.name());
            refuse(
                conn,
                ctx,
                peer,
                agent,
                ErrorCode::ProtocolViolation,
                "protocol_violation",
                msg,
            )
            .await;
            return None;
        }
    };
    if agent_id != id.agent_id {
        let msg = format!(
            "hello names agent {agent_id:?} but the certificate is agent {:?}",
            id.agent_id
        );
        refuse(
            conn,
            ctx,
            peer,
            agent,
            ErrorCode::AgentIdMismatch,
            "agent_id_mismatch",
            msg,
        )
        .await;
        return None;
    }
    let Some(version) = negotiate_version(SUPPORTED_PROTOCOL_VERSIONS, &versions) else {
        let msg = format!(
            "no common protocol version: agent speaks {versions:?}, collector speaks {SUPPORTED_PROTOCOL_VERSIONS:?}"
        );
        refuse(
            conn,
            ctx,
            peer,
            agent,
            ErrorCode::UnsupportedVersion,
            "unsupported_version",
            msg,
        )
        .await;
        return None;
    };
    let store = ctx.store.clone();
    let owned = id.agent_id.clone();
    let highest = match tokio::task::spawn_blocking(move || store.highest_seq(&owned)).await {
        Ok(Ok(h)) => h,
        other => {
            let msg = format!("store unavailable: {other:?}");
            refuse(
                conn,
                ctx,
                peer,
                agent,
                ErrorCode::Unavailable,
                "store_unavailable",
                msg,
            )
            .await;
            return None;
        }
    };
    let welcome = Message::Welcome {
        protocol_version: version,
        collector_version: env!("CARGO_PKG_VERSION").into(),
        highest_stored_seq: highest,
    };
    conn.send(&welcome).await.ok()?;
    Some(version)
}

fn codec_refusal(e: &CodecError) -> (ErrorCode, &'static str) {
    match e {
        CodecError::FrameTooLarge { .. } => (ErrorCode::FrameTooLarge, "frame_too_large"),
        CodecError::Malformed(_) => (ErrorCode::Malformed, "malformed_frame"),
        CodecError::Io(_) => (ErrorCode::Malformed, "io_error"),
    }
}

/// Stores batches and acknowledges them until the session ends.
async fn batches(conn: &mut Conn, ctx: &IngestContext, peer: SocketAddr, id: &PeerIdentity, version: u16) {
    let agent = id.agent_id.as_str();
    loop {
        let frame = match tokio::time::timeout(ctx.limits.idle_timeout, conn.next()).await {
            Err(_) => {
                info!(%peer, agent_id = agent, "session closed after idle timeout");
                let _ = SinkExt::<&Message>::close(conn).await;
                return;
            }
            Ok(None) => {
                debug!(%peer, agent_id = agent, "session closed by agent");
                return;
            }
            Ok(Some(Err(CodecError::Io(e)))) => {
                debug!(%peer, agent_id = agent, error = %e, "session ended");
                return;
            }
            Ok(Some(Err(e))) => {
                let (code, label) = codec_refusal(&e);
                refuse(conn, ctx, peer, agent, code, label, e.to_string()).await;
                return;
            }
            Ok(Some(Ok(m))) => m,
        };
        let batch = match frame {
            Message::Batch(b) => b,
            other => {
                let msg = format!("unexpected {} during session", other.name());
                refuse(
                    conn,
                    ctx,
                    peer,
                    agent,
                    ErrorCode::ProtocolViolation,
                    "protocol_violation",
                    msg,
                )
                .await;
                return;
            }
        };
        let started = Instant::now();
        if batch.agent_id != id.agent_id {
            let msg = format!(
                "batch names agent {:?} but the certificate is agent {:?}",
                batch.agent_id, id.agent_id
            );
            refuse(
                conn,
                ctx,
                peer,
                agent,
                ErrorCode::AgentIdMismatch,
                "agent_id_mismatch",
                msg,
            )
            .await;
            return;
        }
        if batch.protocol_version != version {
            let msg = format!(
                "batch in protocol version {} in a version {version} session",
                batch.protocol_version
            );
            refuse(
                conn,
                ctx,
                peer,
                agent,
                ErrorCode::ProtocolViolation,
                "protocol_violation",
                msg,
            )
            .await;
            return;
        }
        if let Err(e) = batch.validate() {
            refuse(
                conn,
                ctx,
                peer,
                agent,
                ErrorCode::InvalidBatch,
                "invalid_batch",
                format!("batch {}: {e}", batch.seq),
            )
            .await;
            return;
        }
        if ctx.tls.current().revoked.contains(&id.serial) {
            let msg = format!("certificate {} of agent {agent} was revoked", id.serial);
            refuse(conn, ctx, peer, agent, ErrorCode::Revoked, "revoked", msg).await;
            return;
        }
        let seq = batch.seq;
        let count = batch.observations.len() as u64;
        let store = ctx.store.clone();
        let outcome = tokio::task::spawn_blocking(move || store.ingest(&batch, Timestamp::now())).await;
        let ack = match outcome {
            Ok(Ok(IngestOutcome::Stored { highest })) => {
                ctx.metrics.batches_stored.inc();
                ctx.metrics.observations_stored.inc_by(count);
                debug!(agent_id = agent, seq, observations = count, "batch stored");
                Message::Ack {
                    seq,
                    highest_stored_seq: highest,
                    duplicate: false,
                }
            }
            Ok(Ok(IngestOutcome::Duplicate { highest })) => {
                ctx.metrics.batches_duplicate.inc();
                info!(
                    agent_id = agent,
                    seq, "re-sent batch acknowledged without storing it again"
                );
                Message::Ack {
                    seq,
                    highest_stored_seq: highest,
                    duplicate: true,
                }
            }
            Ok(Err(e)) => {
                let msg = format!("cannot store batch {seq}: {e}");
                refuse(
                    conn,
                    ctx,
                    peer,
                    agent,
                    ErrorCode::Unavailable,
                    "store_unavailable",
                    msg,
                )
                .await;
                return;
            }
            Err(e) => {
                let msg = format!("cannot store batch {seq}: {e}");
                refuse(conn, ctx, peer, agent, ErrorCode::Internal, "internal", msg).await;
                return;
            }
        };
        if conn.send(&ack).await.is_err() {
            return;
        }
        ctx.metrics
            .ingest_seconds
            .observe(started.elapsed().as_secs_f64());
    }
}
