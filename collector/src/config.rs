//! `collector.toml`: settings of the collector, written by `init` into the data directory. An
//! annotated example is in `deploy/collector.toml`. Command-line flags override it.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name of the configuration inside the data directory.
pub const CONFIG_FILE: &str = "collector.toml";

/// A string as a TOML basic string (quoted and escaped).
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectorConfig {
    /// Address agents connect to (mutual TLS).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Address of the web UI and HTTP API.
    #[serde(default = "default_http")]
    pub http: String,
    /// Serve the web UI and API over HTTPS with the collector's server certificate (false: plain
    /// HTTP, only behind a TLS-terminating proxy on the same host).
    #[serde(default = "default_http_tls")]
    pub http_tls: bool,
    /// Web connections open at once at most (further ones wait in the kernel backlog).
    #[serde(default = "default_http_connections")]
    pub http_max_connections: usize,
    /// Seconds a web connection may move no byte (mid-request or between requests) before it is
    /// closed; also the TLS handshake's deadline.
    #[serde(default = "default_http_idle")]
    pub http_idle_timeout_secs: u64,
    /// The address browsers reach the web UI at (`https://collector.plant.example:7780`): writes
    /// from a login session must come from a page of exactly this origin. Default: the `http`
    /// address with the scheme `http_tls` gives (a wildcard address falls back to the `Host` the
    /// browser asked for: set this to pin it).
    #[serde(default)]
    pub public_url: Option<String>,
    /// Address written into agent bundles by `enroll`.
    #[serde(default = "default_advertise")]
    pub advertise: String,
    /// Storage engine: `sqlite:FILE` (relative to the data directory).
    #[serde(default = "default_store")]
    pub store: String,
    /// Maximum frame length accepted from agents, in bytes.
    #[serde(default = "default_frame")]
    pub max_frame_len: usize,
    /// Most simultaneous agent connections; further connections wait in the kernel backlog.
    #[serde(default = "default_connections")]
    pub max_connections: usize,
    /// Seconds allowed for the TLS handshake and the agent's hello.
    #[serde(default = "default_handshake")]
    pub handshake_timeout_secs: u64,
    /// Seconds a session may stay silent before it is closed.
    #[serde(default = "default_idle")]
    pub idle_timeout_secs: u64,
    /// Batches read and held in memory at once over all sessions; other sessions stop reading from
    /// their agents until a batch is stored.
    #[serde(default = "default_inflight")]
    pub ingest_inflight_batches: usize,
    /// Batches waiting for the store writer at most.
    #[serde(default = "default_queue")]
    pub ingest_queue_batches: usize,
    /// Observations stored in one transaction at most (group commit).
    #[serde(default = "default_group")]
    pub group_commit_observations: usize,
    /// Observations per second one agent may deliver on average (0: no limit); an agent above it
    /// is read more slowly, not refused.
    #[serde(default = "default_agent_rate")]
    pub agent_observations_per_sec: u64,
    /// Observations one agent may deliver at once above its rate.
    #[serde(default = "default_agent_burst")]
    pub agent_observations_burst: u64,
    /// Days raw observations are kept (0: forever); older ones that no change, identity, service
    /// or claim refers to are deleted (their hourly flow totals stay).
    #[serde(default = "default_retention_days")]
    pub retention_days: u64,
    /// Seconds between upkeep runs: retention and absent assets (where collectors share a store,
    /// one runs each at a time).
    #[serde(default = "default_retention_interval")]
    pub retention_interval_secs: u64,
    /// Days after which an asset not seen becomes an `asset_not_seen` change (0: never).
    #[serde(default = "default_not_seen_days")]
    pub asset_not_seen_days: u64,
    /// A requirement catalog replacing the embedded one (relative to the data directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<PathBuf>,
    /// The declared zones and conduits (relative to the data directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zones: Option<PathBuf>,
    /// Seconds between forwarding rounds to the SIEM destinations (and the first retry after a
    /// failure; retries back off to ten times this).
    #[serde(default = "default_siem_interval")]
    pub siem_interval_secs: u64,
    /// Where change records and protocol events are forwarded (`[[siem]]` tables).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub siem: Vec<crate::export::siem::Destination>,
}

fn default_siem_interval() -> u64 {
    10
}

fn default_not_seen_days() -> u64 {
    7
}

fn default_retention_days() -> u64 {
    90
}
fn default_retention_interval() -> u64 {
    3600
}

fn default_listen() -> String {
    "0.0.0.0:7710".into()
}
fn default_http() -> String {
    "127.0.0.1:7780".into()
}
fn default_http_tls() -> bool {
    true
}
fn default_http_connections() -> usize {
    1024
}
fn default_http_idle() -> u64 {
    60
}
fn default_advertise() -> String {
    "127.0.0.1:7710".into()
}
fn default_store() -> String {
    "sqlite:shoko.db".into()
}
fn default_frame() -> usize {
    shoko_proto::DEFAULT_MAX_FRAME_LEN
}
fn default_connections() -> usize {
    4096
}
fn default_handshake() -> u64 {
    10
}
fn default_idle() -> u64 {
    300
}
fn default_agent_rate() -> u64 {
    10_000
}
fn default_agent_burst() -> u64 {
    200_000
}
fn default_inflight() -> usize {
    128
}
fn default_queue() -> usize {
    256
}
fn default_group() -> usize {
    20_000
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            listen: default_listen(),
            http: default_http(),
            http_tls: default_http_tls(),
            public_url: None,
            http_max_connections: default_http_connections(),
            http_idle_timeout_secs: default_http_idle(),
            advertise: default_advertise(),
            store: default_store(),
            max_frame_len: default_frame(),
            max_connections: default_connections(),
            handshake_timeout_secs: default_handshake(),
            idle_timeout_secs: default_idle(),
            ingest_inflight_batches: default_inflight(),
            ingest_queue_batches: default_queue(),
            group_commit_observations: default_group(),
            agent_observations_per_sec: default_agent_rate(),
            agent_observations_burst: default_agent_burst(),
            retention_days: default_retention_days(),
            retention_interval_secs: default_retention_interval(),
            asset_not_seen_days: default_not_seen_days(),
            catalog: None,
            zones: None,
            siem_interval_secs: default_siem_interval(),
            siem: Vec::new(),
        }
    }
}

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://user@host:5432/db`).
    Postgres(String),
}

impl CollectorConfig {
    /// Loads `collector.toml` from a data directory.
    pub fn load(data: &Path) -> anyhow::Result<Self> {
        let path = data.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            anyhow::anyhow!(
                "{}: {e} (run `shoko-collector init --data {}` first)",
                path.display(),
                data.display()
            )
        })?;
        Self::parse(&text, data)
    }

    /// Reads and checks the text of the `collector.toml` of data directory `data` (errors name
    /// the file).
    pub fn parse(text: &str, data: &Path) -> anyhow::Result<Self> {
        let path = data.join(CONFIG_FILE);
        let cfg: CollectorConfig =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        cfg.store_location(data)?;
        Ok(cfg)
    }

    /// Resolves the `store` setting.
    pub fn store_location(&self, data: &Path) -> anyhow::Result<StoreLocation> {
        match self.store.split_once(':') {
            Some(("sqlite", file)) if !file.is_empty() => {
                let p = PathBuf::from(file);
                Ok(StoreLocation::Sqlite(if p.is_relative() {
                    data.join(p)
                } else {
                    p
                }))
            }
            Some(("postgres" | "postgresql", rest)) if rest.starts_with("//") => {
                Ok(StoreLocation::Postgres(self.store.clone()))
            }
            _ => anyhow::bail!(
                "store = {:?}: expected \"sqlite:FILE\" or \"postgres://USER@HOST:PORT/DATABASE\"",
                self.store
            ),
        }
    }

    /// A path setting resolved against the data directory.
    pub fn path_in(data: &Path, p: &Path) -> PathBuf {
        if p.is_relative() {
            data.join(p)
        } else {
            p.to_path_buf()
        }
    }

    /// The file written by `init`, with comments.
    pub fn to_commented_toml(&self) -> String {
        format!(
            "# shoko collector configuration (see deploy/collector.toml for every option).\n\
             # Command-line flags override these values.\n\n\
             # Address agents connect to (mutual TLS 1.3).\nlisten = {}\n\n\
             # Address of the web UI and HTTP API (/, /api/v1/..., /metrics, /healthz).\nhttp = {}\n\n\
             # HTTPS with the collector's server certificate (pki/server.crt); false serves plain\n\
             # HTTP, only for a TLS-terminating proxy on the same host.\nhttp_tls = {}\n\n\
             # Web connections at once, and seconds one may stay silent before it is closed.\n\
             http_max_connections = {}\nhttp_idle_timeout_secs = {}\n\n\
             # Collector address written into agent bundles by `enroll`.\nadvertise = {}\n\n\
             # Storage engine: \"sqlite:FILE\" (relative to this directory), or\n\
             # \"postgres://USER@HOST:PORT/DATABASE\" for several collectors on one PostgreSQL.\nstore = {}\n\n\
             # Largest frame accepted from an agent, in bytes.\nmax_frame_len = {}\n\n\
             # Most simultaneous agent connections.\nmax_connections = {}\n\n\
             # Seconds allowed for the TLS handshake and the agent's hello.\nhandshake_timeout_secs = {}\n\n\
             # Seconds a silent session stays open.\nidle_timeout_secs = {}\n\n\
             # Batches read and held at once over all sessions (then agents are read more slowly).\n\
             ingest_inflight_batches = {}\n\n\
             # Batches waiting for the store writer at most.\n\
             ingest_queue_batches = {}\n\n\
             # Observations stored in one transaction at most (group commit).\n\
             group_commit_observations = {}\n\n\
             # Per agent: observations per second on average (0: no limit) and at once above it.\n\
             agent_observations_per_sec = {}\nagent_observations_burst = {}\n\n\
             # Days raw observations are kept (0: forever); those evidence refers to stay.\n\
             retention_days = {}\n\n\
             # Seconds between upkeep runs (retention, absent assets).\nretention_interval_secs = {}\n\n\
             # Days after which an asset not seen becomes a change record (0: never).\n\
             asset_not_seen_days = {}\n\n\
             # Seconds between forwarding rounds to the [[siem]] destinations (see deploy/collector.toml).\n\
             siem_interval_secs = {}\n",
            quoted(&self.listen),
            quoted(&self.http),
            self.http_tls,
            self.http_max_connections,
            self.http_idle_timeout_secs,
            quoted(&self.advertise),
            quoted(&self.store),
            self.max_frame_len,
            self.max_connections,
            self.handshake_timeout_secs,
            self.idle_timeout_secs,
            self.ingest_inflight_batches,
            self.ingest_queue_batches,
            self.group_commit_observations,
            self.agent_observations_per_sec,
            self.agent_observations_burst,
            self.retention_days,
            self.retention_interval_secs,
            self.asset_not_seen_days,
            self.siem_interval_secs
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_file_reads_back_and_matches_the_deploy_example() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = CollectorConfig::default();
        std::fs::write(dir.path().join(CONFIG_FILE), cfg.to_commented_toml()).unwrap();
        assert_eq!(CollectorConfig::load(dir.path()).unwrap(), cfg);
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
        assert_eq!(CollectorConfig::load(&example).unwrap(), cfg);
        // The PostgreSQL example differs only in its store.
        let text = std::fs::read_to_string(example.join("collector-postgres.toml")).unwrap();
        let pg: CollectorConfig = toml::from_str(&text).unwrap();
        let url = "postgres://shoko@db.plant.example:5432/shoko";
        assert_eq!(
            pg,
            CollectorConfig {
                store: url.into(),
                ..cfg
            }
        );
        assert_eq!(
            pg.store_location(dir.path()).unwrap(),
            StoreLocation::Postgres(url.into())
        );
    }

    #[test]
    fn the_commented_siem_examples_of_the_deploy_file_parse() {
        use crate::export::siem::{Destination, SyslogFormat};
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/collector.toml");
        let text = std::fs::read_to_string(example).unwrap();
        let block = &text[text.find("# [[siem]]").unwrap()..];
        let uncommented: String = block
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| *l == "[[siem]]" || l.contains(" = "))
            .map(|l| format!("{l}\n"))
            .collect();
        let cfg: CollectorConfig = toml::from_str(&uncommented).unwrap();
        assert_eq!(
            cfg.siem,
            [
                Destination::Syslog {
                    name: "soc".into(),
                    address: "siem.plant.example:6514".into(),
                    tls: true,
                    ca: Some("siem-ca.pem".into()),
                    server_name: Some("siem.plant.example".into()),
                    format: SyslogFormat::Json,
                },
                Destination::OcsfFile {
                    name: "data-lake".into(),
                    path: "/var/lib/shoko/ocsf-events.jsonl".into(),
                },
            ]
        );
        assert!(
            toml::from_str::<CollectorConfig>(
                "[[siem]]\nkind = \"syslog\"\nname = \"x\"\naddress = \"h:1\"\ncolour = 1\n"
            )
            .is_err()
        );
    }

    #[test]
    fn unknown_store_is_refused() {
        let cfg = CollectorConfig {
            store: "mysql://x".into(),
            ..Default::default()
        };
        assert!(cfg.store_location(Path::new("/d")).is_err());
        assert_eq!(
            CollectorConfig::default()
                .store_location(Path::new("/d"))
                .unwrap(),
            StoreLocation::Sqlite("/d/shoko.db".into())
        );
    }
}
