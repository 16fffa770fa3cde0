//! The web server's listener: accepts TCP connections up to a limit (further ones wait in the
//! kernel backlog), runs each TLS handshake in its own task within a deadline, and closes any
//! connection that moves no byte for the idle timeout, whether it stalls mid-request (slowloris)
//! or idles between requests. Finished streams go to the HTTP server.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::either::Either;

/// Limits of the web server's connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections open at once (handshakes included).
    pub max_connections: usize,
    /// A connection moving no byte for this long is closed; also the TLS handshake's deadline.
    pub idle: Duration,
}

/// A connection: TLS or plain TCP.
type Stream = Either<TlsStream<TcpStream>, TcpStream>;

/// A listener of guarded connections (an [`axum::serve::Listener`]).
pub struct WebListener {
    ready: mpsc::Receiver<(Guarded<Stream>, SocketAddr)>,
    local: SocketAddr,
}

impl WebListener {
    /// Starts accepting on `tcp` (with TLS when `tls` is given); the accept task ends with the
    /// listener.
    pub fn start(tcp: TcpListener, tls: Option<TlsAcceptor>, limits: ConnectionLimits) -> io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(accept_loop(tcp, tls, limits, tx));
        Ok(WebListener { ready, local })
    }
}

async fn accept_loop(
    tcp: TcpListener,
    tls: Option<TlsAcceptor>,
    limits: ConnectionLimits,
    tx: mpsc::Sender<(Guarded<Stream>, SocketAddr)>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p,
            () = tx.closed() => return,
        };
        let Ok(permit) = permit else { return };
        let accepted = tokio::select! {
            a = tcp.accept() => a,
            () = tx.closed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "web accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (tls, tx) = (tls.clone(), tx.clone());
        tokio::spawn(async move {
            let stream = match tls {
                None => Either::Right(stream),
                Some(acceptor) => match tokio::time::timeout(limits.idle, acceptor.accept(stream)).await {
                    Ok(Ok(s)) => Either::Left(s),
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "web TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::info!(%peer, "web TLS handshake timed out; connection closed");
                        return;
                    }
                },
            };
            let guarded = Guarded::new(stream, permit, limits.idle, peer);
            let _ = tx.send((guarded, peer)).await;
        });
    }
}

impl axum::serve::Listener for WebListener {
    type Io = Guarded<Stream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept task only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// A connection holding its slot, closed (reads and writes fail) once it moved no byte for the
/// idle time.
pub struct Guarded<S> {
    inner: S,
    _slot: OwnedSemaphorePermit,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    peer: SocketAddr,
}

impl<S> Guarded<S> {
    fn new(inner: S, slot: OwnedSemaphorePermit, idle: Duration, peer: SocketAddr) -> Self {
        Guarded {
            inner,
            _slot: slot,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            peer,
        }
    }

    /// Progress was made: the idle clock starts again.
    fn moved(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.idle);
    }

    /// Pending: fails once the idle time has passed.
    fn idle_check(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => {
                tracing::info!(peer = %self.peer, idle_secs = self.idle.as_secs(), "web connection idle; closed");
                Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, "connection idle"))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.moved();
                }
                Poll::Ready(r)
            }
            Poll::Pending => self.idle_check(cx).map(Err),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, data) {
            Poll::Ready(r) => {
                if matches!(r, Ok(n) if n > 0) {
                    self.moved();
                }
                Poll::Ready(r)
            }
            Poll::Pending => self.idle_check(cx).map(Err),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Pending => self.idle_check(cx).map(Err),
            ready => ready,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
