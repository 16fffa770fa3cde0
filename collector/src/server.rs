//! A running collector: ingest listener and web server (UI and API) over one store.

use crate::access::guard::LoginGuard;
use crate::config::{CollectorConfig, StoreLocation};
use crate::http::AppState;
use crate::ingest::writer::{Writer, WriterLimits};
use crate::ingest::{self, IngestContext, SessionLimits};
use crate::metrics::Metrics;
use crate::pki::PkiPaths;
use crate::pki::signing::SigningKey;
use crate::pki::tls::{ServerTls, web_acceptor};
use crate::store::Store;
use crate::store::postgres::PostgresStore;
use crate::store::sqlite::SqliteStore;
use crate::upkeep::UpkeepConfig;
use anyhow::Context;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Opens (creating or migrating) the store a configuration names. Blocks: call it off the async
/// threads.
pub fn open_store(data: &Path, cfg: &CollectorConfig) -> anyhow::Result<Arc<dyn Store>> {
    match cfg.store_location(data)? {
        StoreLocation::Sqlite(path) => Ok(Arc::new(
            SqliteStore::open(&path).with_context(|| format!("opening store {}", path.display()))?,
        )),
        StoreLocation::Postgres(url) => Ok(Arc::new(
            PostgresStore::open(&url).with_context(|| format!("opening store {}", redact(&url)))?,
        )),
    }
}

/// Opens the store a configuration names for reading (CLI listings while a server runs).
pub fn open_store_read_only(data: &Path, cfg: &CollectorConfig) -> anyhow::Result<Arc<dyn Store>> {
    match cfg.store_location(data)? {
        StoreLocation::Sqlite(path) => Ok(Arc::new(
            SqliteStore::open_read_only(&path)
                .with_context(|| format!("opening store {}", path.display()))?,
        )),
        StoreLocation::Postgres(url) => Ok(Arc::new(
            PostgresStore::open_read_only(&url).with_context(|| format!("opening store {}", redact(&url)))?,
        )),
    }
}

/// A connection URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = &url[scheme + 3..at];
            let user = user.split_once(':').map_or(user, |(name, _)| name);
            format!("{}{user}{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// Checks the newest batch of every agent (what a crash could have left half-written) and logs
/// the outcome; `verify-store` checks everything.
fn check_store_at_start(store: &dyn Store) {
    match crate::evidence::chain::check_newest(store) {
        Ok(r) if r.intact() => tracing::info!(
            agents = r.agents,
            batches = r.batches,
            observations = r.observations,
            "store check at start: every agent's newest batch is intact"
        ),
        Ok(r) => {
            for p in &r.problems {
                tracing::error!(agent_id = %p.agent_id, seq = ?p.seq, problem = %p.what, "store check at start found a damaged batch; run verify-store");
            }
        }
        Err(e) => tracing::error!(error = %e, "store check at start failed: the store cannot be read"),
    }
}

/// A started collector.
pub struct Collector {
    /// Address agents connect to.
    pub ingest_addr: SocketAddr,
    /// Address of the web UI and API.
    pub http_addr: SocketAddr,
    /// The store.
    pub store: Arc<dyn Store>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Collector {
    /// Binds both listeners and starts serving.
    pub async fn start(data: &Path, cfg: &CollectorConfig) -> anyhow::Result<Self> {
        let store = {
            let (data, cfg) = (data.to_path_buf(), cfg.clone());
            tokio::task::spawn_blocking(move || open_store(&data, &cfg)).await??
        };
        let tls = Arc::new(ServerTls::load(&PkiPaths::new(data))?);
        let basis = Arc::new(crate::assess::Basis::load(data, cfg)?);
        let metrics = Arc::new(Metrics::new());
        let ingest = TcpListener::bind(&cfg.listen)
            .await
            .with_context(|| format!("cannot listen for agents on {}", cfg.listen))?;
        let http = TcpListener::bind(&cfg.http)
            .await
            .with_context(|| format!("cannot listen for HTTP on {}", cfg.http))?;
        let (ingest_addr, http_addr) = (ingest.local_addr()?, http.local_addr()?);
        let (shutdown, rx) = watch::channel(false);
        let writer = Writer::start(
            store.clone(),
            WriterLimits {
                queue_batches: cfg.ingest_queue_batches,
                group_observations: cfg.group_commit_observations,
            },
            metrics.clone(),
        )?;
        let ctx = Arc::new(IngestContext {
            store: store.clone(),
            writer,
            admission: Arc::new(tokio::sync::Semaphore::new(cfg.ingest_inflight_batches.max(1))),
            rates: ingest::rate::RateLimiter::new(
                cfg.agent_observations_per_sec,
                cfg.agent_observations_burst,
            ),
            tls,
            metrics: metrics.clone(),
            limits: SessionLimits {
                max_frame_len: cfg.max_frame_len,
                handshake_timeout: Duration::from_secs(cfg.handshake_timeout_secs),
                idle_timeout: Duration::from_secs(cfg.idle_timeout_secs),
            },
        });
        let mut tasks = vec![tokio::spawn(ingest::serve(
            ingest,
            ctx,
            cfg.max_connections,
            rx.clone(),
        ))];
        let upkeep = UpkeepConfig {
            retention_days: cfg.retention_days,
            not_seen_days: cfg.asset_not_seen_days,
            interval: Duration::from_secs(cfg.retention_interval_secs),
        };
        tasks.extend(crate::upkeep::spawn(
            store.clone(),
            upkeep,
            metrics.clone(),
            rx.clone(),
        ));
        tasks.extend(crate::export::siem::spawn(
            store.clone(),
            &cfg.siem,
            data,
            Duration::from_secs(cfg.siem_interval_secs.max(1)),
            metrics.clone(),
            rx.clone(),
        ));
        let login = LoginGuard::new(login_slots(), &metrics.login_password_checks);
        let app = crate::http::router(AppState {
            store: store.clone(),
            metrics,
            login,
            origins: Arc::new(crate::http::auth::Origins::new(
                cfg.public_url.as_deref(),
                http_addr,
                cfg.http_tls,
            )),
            basis,
            secure_cookies: cfg.http_tls,
            signing: match SigningKey::load_or_create(&PkiPaths::new(data)) {
                Ok(key) => Some(Arc::new(key)),
                Err(e) => {
                    tracing::error!(error = %e, "no evidence signing key: bundles cannot be exported from the web UI");
                    None
                }
            },
        });
        let web_tls = match cfg.http_tls {
            true => Some(web_acceptor(&PkiPaths::new(data))?),
            false => None,
        };
        let limits = crate::http::listener::ConnectionLimits {
            max_connections: cfg.http_max_connections,
            idle: Duration::from_secs(cfg.http_idle_timeout_secs.max(1)),
        };
        tasks.push(tokio::spawn(crate::http::serve(http, web_tls, limits, app, rx)));
        tasks.push(tokio::task::spawn_blocking({
            let store = store.clone();
            move || check_store_at_start(store.as_ref())
        }));
        tracing::info!(ingest = %ingest_addr, http = %http_addr, "collector serving");
        Ok(Collector {
            ingest_addr,
            http_addr,
            store,
            shutdown,
            tasks,
        })
    }

    /// Stops accepting and waits for the listeners to close.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Password checks run at once: one per core, at most four (each holds 19 MiB while it runs,
/// so a flood of logins costs at most 76 MiB).
fn login_slots() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(4)
}
