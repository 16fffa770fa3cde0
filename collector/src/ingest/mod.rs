//! Ingest: accepts agent connections over mutual TLS and stores their batches.
//! One task per connection; the number of concurrent connections is bounded, and so is the number
//! of batches read and held at once (admission); batches are stored by one writer in group
//! commits.

pub mod rate;
mod session;
pub mod writer;

use crate::metrics::Metrics;
use crate::pki::tls::ServerTls;
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tracing::{info, warn};

/// Bounds of one session.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Maximum frame length.
    pub max_frame_len: usize,
    /// Time allowed for the TLS handshake and the hello.
    pub handshake_timeout: Duration,
    /// Time a session may stay silent.
    pub idle_timeout: Duration,
}

/// What every session needs.
pub struct IngestContext {
    /// The store (read side: sessions ask it for an agent's progress).
    pub store: Arc<dyn Store>,
    /// Where batches go.
    pub writer: writer::Writer,
    /// Batch permits: how many batches may be read and held in memory at once, over all
    /// sessions; a session waiting for one does not read, and TCP slows its agent down.
    pub admission: Arc<Semaphore>,
    /// Per-agent observation rate limits.
    pub rates: rate::RateLimiter,
    /// TLS configuration (reloaded on CRL change).
    pub tls: Arc<ServerTls>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Session bounds.
    pub limits: SessionLimits,
}

/// Accepts connections until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    ctx: Arc<IngestContext>,
    max_connections: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(max_connections.max(1)));
    info!(addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "ingest listening");
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = shutdown.changed() => return,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let ctx = ctx.clone();
        tokio::spawn(async move {
            session::handle(stream, peer, &ctx).await;
            drop(permit);
        });
    }
}
