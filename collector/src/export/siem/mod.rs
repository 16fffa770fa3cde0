//! Forwarding change records and protocol events to SIEMs: syslog (RFC 5424 over TCP or TLS,
//! JSON or CEF messages; [`syslog`]) and OCSF JSON lines appended to a file ([`ocsf`]). Each
//! destination works through each stream (`change`, `event`) by id from where it stopped;
//! what reached it is recorded in the store with when and after how many attempts (the evidence
//! of EVENT 1.2), and a failed round is retried with back-off until it succeeds, so nothing is
//! skipped. Delivery is at least once: a crash between sending and recording sends again, with
//! the same ids for the receiver to drop duplicates.

pub mod event;
pub mod ocsf;
pub mod syslog;

use crate::metrics::{DestinationLabel, Metrics};
use crate::store::{Store, StoreError};
use event::SiemEvent;
use serde::{Deserialize, Serialize};
use shoko_proto::Timestamp;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Items read and sent per round trip to a destination.
const BATCH: u32 = 500;

/// A syslog message format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyslogFormat {
    /// The event as a JSON object.
    #[default]
    Json,
    /// ArcSight Common Event Format.
    Cef,
}

/// A configured destination (`[[siem]]` in collector.toml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Destination {
    /// A syslog receiver over TCP (RFC 6587 octet counting) or TLS (RFC 5425).
    Syslog {
        /// Name (the delivery records' key: keep it stable).
        name: String,
        /// HOST:PORT.
        address: String,
        /// Use TLS.
        #[serde(default)]
        tls: bool,
        /// PEM CA certificate(s) the receiver's certificate must chain to (relative to the data
        /// directory); required with TLS.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ca: Option<PathBuf>,
        /// Name to check the receiver's certificate against (default: the address's host).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server_name: Option<String>,
        /// Message format.
        #[serde(default)]
        format: SyslogFormat,
    },
    /// OCSF JSON lines appended (and synced) to a file.
    OcsfFile {
        /// Name (the delivery records' key: keep it stable).
        name: String,
        /// The file (relative to the data directory).
        path: PathBuf,
    },
}

impl Destination {
    /// Its name.
    pub fn name(&self) -> &str {
        match self {
            Destination::Syslog { name, .. } | Destination::OcsfFile { name, .. } => name,
        }
    }
}

/// Why a delivery round failed.
#[derive(Debug, thiserror::Error)]
pub enum SiemError {
    /// Reading or recording in the store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Connecting, writing or syncing.
    #[error("{0}")]
    Io(String),
}

/// Something that takes events: a syslog connection, an OCSF file.
pub trait Sink: Send {
    /// Sends events, in order; Ok once they are written (flushed or synced).
    fn send(&mut self, events: &[SiemEvent]) -> Result<(), SiemError>;
}

/// A destination's sink, opened from its configuration.
pub fn open_sink(destination: &Destination, data: &Path) -> Result<Box<dyn Sink>, SiemError> {
    Ok(match destination {
        Destination::Syslog {
            address,
            tls,
            ca,
            server_name,
            format,
            ..
        } => Box::new(syslog::SyslogSink::new(
            address,
            tls.then(|| ca.as_ref().map(|c| data.join(c))).flatten(),
            *tls,
            server_name.clone(),
            *format,
        )?),
        Destination::OcsfFile { path, .. } => Box::new(ocsf::OcsfFile::new(data.join(path))),
    })
}

/// The streams forwarded, in order.
pub const STREAMS: [&str; 2] = ["change", "event"];

/// The next items of a stream after `after`.
fn next_items(store: &dyn Store, stream: &str, after: i64) -> Result<Vec<SiemEvent>, StoreError> {
    Ok(match stream {
        "change" => store
            .changes_after(after, BATCH)?
            .iter()
            .map(SiemEvent::from_change)
            .collect(),
        _ => store
            .observations_after("protocol_event", after, BATCH)?
            .iter()
            .filter_map(SiemEvent::from_event)
            .collect(),
    })
}

/// Sends everything not yet delivered to one destination; how many items were delivered.
/// `attempts` is how many rounds this backlog has taken (recorded with each item).
pub fn deliver(store: &dyn Store, name: &str, sink: &mut dyn Sink, attempts: u32) -> Result<u64, SiemError> {
    let mut delivered = 0;
    for stream in STREAMS {
        loop {
            let after = store.siem_cursor(name, stream)?;
            let events = next_items(store, stream, after)?;
            if events.is_empty() {
                break;
            }
            sink.send(&events)?;
            let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
            store.record_deliveries(name, stream, &ids, Timestamp::now(), attempts)?;
            delivered += ids.len() as u64;
        }
    }
    Ok(delivered)
}

/// Starts one forwarding task per destination: a round every `interval`; after a failure the
/// next round waits twice as long each time, up to ten intervals.
pub fn spawn(
    store: Arc<dyn Store>,
    destinations: &[Destination],
    data: &Path,
    interval: Duration,
    metrics: Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    destinations
        .iter()
        .map(|d| {
            let (store, metrics, mut shutdown) = (store.clone(), metrics.clone(), shutdown.clone());
            let (destination, data) = (d.clone(), data.to_path_buf());
            tokio::spawn(async move {
                let name = destination.name().to_string();
                let mut sink: Option<Box<dyn Sink>> = None;
                let mut failures = 0u32;
                loop {
                    let (st, dest, data, n) = (store.clone(), destination.clone(), data.clone(), name.clone());
                    let mut current = sink.take();
                    let round = tokio::task::spawn_blocking(move || {
                        let result = (|| {
                            let s = match current.as_mut() {
                                Some(s) => s,
                                None => current.insert(open_sink(&dest, &data)?),
                            };
                            deliver(st.as_ref(), &n, s.as_mut(), failures + 1)
                        })();
                        (result, current)
                    })
                    .await;
                    let wait = match round {
                        Ok((Ok(delivered), kept)) => {
                            sink = kept;
                            if delivered > 0 {
                                tracing::info!(destination = %name, delivered, attempts = failures + 1, "SIEM delivery");
                                metrics.siem_delivered.get_or_create(&DestinationLabel { destination: name.clone() }).inc_by(delivered);
                            }
                            failures = 0;
                            interval
                        }
                        Ok((Err(e), _)) => {
                            failures += 1;
                            metrics.siem_failures.get_or_create(&DestinationLabel { destination: name.clone() }).inc();
                            let wait = interval.saturating_mul(2u32.saturating_pow(failures.min(4))).min(interval * 10);
                            tracing::warn!(destination = %name, error = %e, attempts = failures, retry_in_secs = wait.as_secs_f64(), "SIEM delivery failed; will retry");
                            wait
                        }
                        Err(e) => {
                            tracing::error!(destination = %name, error = %e, "SIEM delivery task failed");
                            interval
                        }
                    };
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = shutdown.changed() => return,
                    }
                }
            })
        })
        .collect()
}
