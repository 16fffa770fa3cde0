//! The collector's web server: the web UI ([`crate::ui`]) and the JSON API ([`crate::api`]) behind
//! a login ([`auth`]), `/healthz` and `/metrics` open, over HTTPS with the collector's server
//! certificate ([`listener`]) or plain HTTP behind a proxy.

pub mod auth;
pub mod listener;

use crate::access::guard::LoginGuard;
use crate::assess::Basis;
use crate::metrics::Metrics;
use crate::pki::signing::SigningKey;
use crate::store::{Store, StoreError};
use axum::Router;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::IncomingStream;
use listener::{ConnectionLimits, WebListener};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The catalog and declared zones assessments use.
    pub basis: Arc<Basis>,
    /// Session cookies carry `Secure` (served over HTTPS).
    pub secure_cookies: bool,
    /// The key evidence bundles are signed with (none when it cannot be read).
    pub signing: Option<Arc<SigningKey>>,
    /// Password checks of the login form: bounded, with delays after failures.
    pub login: Arc<LoginGuard>,
    /// Where browsers may send writes from.
    pub origins: Arc<auth::Origins>,
}

/// The address a request came from.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, WebListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, WebListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

impl Peer {
    /// How the audit log names a request's origin.
    pub fn source(&self) -> String {
        format!("http:{}", self.0.ip())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ConnectInfo<Peer>>()
            .map_or(Peer(SocketAddr::from(([0, 0, 0, 0], 0))), |c| c.0))
    }
}

/// Runs `f` over the store off the async threads.
pub async fn blocking<T, F>(s: &AppState, f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
{
    let store = s.store.clone();
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .unwrap_or_else(|e| Err(StoreError::Database(format!("query task failed: {e}"))))
}

/// Every route: the UI and API behind a login, the login form, assets, health and metrics open.
pub fn router(state: AppState) -> Router {
    let api = crate::api::routes().route_layer(axum::middleware::from_fn_with_state(
        (state.clone(), auth::Face::Api),
        auth::authenticate,
    ));
    let pages = crate::ui::routes().route_layer(axum::middleware::from_fn_with_state(
        (state.clone(), auth::Face::Page),
        auth::authenticate,
    ));
    Router::new()
        .merge(api)
        .merge(pages)
        .merge(crate::ui::public_routes())
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn metrics(State(s): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
        .into_response()
}

/// Serves `app` on `tcp` (over TLS with `tls`) within `limits` until `stop` changes.
pub async fn serve(
    tcp: TcpListener,
    tls: Option<TlsAcceptor>,
    limits: ConnectionLimits,
    app: Router,
    mut stop: watch::Receiver<bool>,
) {
    let stop = async move {
        let _ = stop.changed().await;
    };
    let service = app.into_make_service_with_connect_info::<Peer>();
    let served = match WebListener::start(tcp, tls, limits) {
        Ok(listener) => axum::serve(listener, service).with_graceful_shutdown(stop).await,
        Err(e) => Err(e),
    };
    if let Err(e) = served {
        tracing::error!(error = %e, "HTTP server failed");
    }
}
