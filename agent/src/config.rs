//! `agent.toml`: settings of the long-running agent (`shoko-agent run`). An annotated example is in
//! `deploy/agent.toml`.

use crate::capture::afpacket::RingConfig;
use crate::live::Backend;
use crate::spool::{Fsync, SpoolConfig, WhenFull};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Identity bundle directory written by `shoko-collector enroll`.
    pub identity: PathBuf,
    /// Collector address, overriding the bundle's.
    #[serde(default)]
    pub collector: Option<String>,
    /// Seconds between self-telemetry reports.
    #[serde(default = "default_telemetry_interval")]
    pub telemetry_interval_secs: u64,
    /// Capture settings.
    #[serde(default)]
    pub capture: CaptureConfig,
    /// Uplink settings.
    #[serde(default)]
    pub uplink: UplinkSettings,
    /// Host inventory settings.
    #[serde(default)]
    pub host: HostSettings,
    /// The on-disk spool of batches waiting for the collector.
    #[serde(default)]
    pub spool: SpoolSettings,
}

/// The on-disk spool (`[spool]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpoolSettings {
    /// Spool batches on disk before sending them (off: memory only, lost on restart).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Its directory (relative to this file's).
    #[serde(default = "default_spool_dir")]
    pub dir: PathBuf,
    /// Megabytes on disk at most.
    #[serde(default = "default_spool_mb")]
    pub max_mb: u64,
    /// Hours a batch is kept at most.
    #[serde(default = "default_spool_hours")]
    pub max_age_hours: u64,
    /// Megabytes per segment file.
    #[serde(default = "default_segment_mb")]
    pub segment_mb: u64,
    /// `always` (sync every batch), `interval` or `never`.
    #[serde(default = "default_fsync")]
    pub fsync: Fsync,
    /// Milliseconds between syncs with `fsync = "interval"`.
    #[serde(default = "default_fsync_interval")]
    pub fsync_interval_ms: u64,
    /// `drop-flows-first` or `drop-oldest`.
    #[serde(default = "default_when_full")]
    pub when_full: WhenFull,
}

impl Default for SpoolSettings {
    fn default() -> Self {
        SpoolSettings {
            enabled: true,
            dir: default_spool_dir(),
            max_mb: default_spool_mb(),
            max_age_hours: default_spool_hours(),
            segment_mb: default_segment_mb(),
            fsync: default_fsync(),
            fsync_interval_ms: default_fsync_interval(),
            when_full: default_when_full(),
        }
    }
}

impl SpoolSettings {
    /// The spool's settings, reading records up to `max_frame_len` bytes.
    pub fn config(&self, max_frame_len: usize) -> SpoolConfig {
        SpoolConfig {
            dir: self.dir.clone(),
            max_bytes: self.max_mb.saturating_mul(1 << 20),
            max_age: std::time::Duration::from_secs(self.max_age_hours.saturating_mul(3600)),
            segment_bytes: self.segment_mb.max(1).saturating_mul(1 << 20),
            fsync: self.fsync,
            fsync_interval: std::time::Duration::from_millis(self.fsync_interval_ms),
            when_full: self.when_full,
            max_record: u32::try_from(max_frame_len).unwrap_or(u32::MAX),
        }
    }
}

fn default_spool_dir() -> PathBuf {
    PathBuf::from("spool")
}
fn default_spool_mb() -> u64 {
    1024
}
fn default_spool_hours() -> u64 {
    168
}
fn default_segment_mb() -> u64 {
    8
}
fn default_fsync() -> Fsync {
    Fsync::Always
}
fn default_fsync_interval() -> u64 {
    1000
}
fn default_when_full() -> WhenFull {
    WhenFull::DropFlowsFirst
}

/// The host inventory of a host agent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSettings {
    /// Take host inventories (off for a pure network sensor).
    #[serde(default)]
    pub enabled: bool,
    /// Filesystem root to read (`/`, or a mounted disk image).
    #[serde(default = "default_host_root")]
    pub root: PathBuf,
    /// Seconds between inventories (SIGUSR1 takes one at once).
    #[serde(default = "default_host_interval")]
    pub interval_secs: u64,
    /// Seconds between full snapshots (in between, only what changed is sent).
    #[serde(default = "default_full_snapshot")]
    pub full_snapshot_secs: u64,
    /// Where the last acknowledged snapshot's digests are kept.
    #[serde(default = "default_host_state")]
    pub state_file: PathBuf,
}

impl Default for HostSettings {
    fn default() -> Self {
        HostSettings {
            enabled: false,
            root: default_host_root(),
            interval_secs: default_host_interval(),
            full_snapshot_secs: default_full_snapshot(),
            state_file: default_host_state(),
        }
    }
}

fn default_host_root() -> PathBuf {
    PathBuf::from("/")
}
fn default_host_interval() -> u64 {
    6 * 3600
}
fn default_full_snapshot() -> u64 {
    24 * 3600
}
fn default_host_state() -> PathBuf {
    PathBuf::from("/var/lib/shoko-agent/host-snapshot.json")
}

/// What the sensor captures.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureConfig {
    /// Capture files analysed once at start-up.
    #[serde(default)]
    pub files: Vec<PathBuf>,
    /// Interfaces captured for as long as the agent runs.
    #[serde(default)]
    pub interfaces: Vec<InterfaceConfig>,
    /// Seconds between reports of the live captures (assets, finished flows, events).
    #[serde(default = "default_report_interval")]
    pub report_interval_secs: u64,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            files: Vec::new(),
            interfaces: Vec::new(),
            report_interval_secs: default_report_interval(),
        }
    }
}

/// One live capture interface (a SPAN or mirror port).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterfaceConfig {
    /// Interface name.
    pub name: String,
    /// Capture backend.
    #[serde(default)]
    pub backend: Backend,
    /// Put the interface in promiscuous mode.
    #[serde(default = "default_true")]
    pub promiscuous: bool,
    /// Ring block size in bytes (afpacket).
    #[serde(default = "default_block_size")]
    pub block_size: u32,
    /// Ring block count (afpacket).
    #[serde(default = "default_block_count")]
    pub block_count: u32,
    /// Milliseconds before the kernel hands over a partly filled block (afpacket).
    #[serde(default = "default_block_timeout")]
    pub block_timeout_ms: u32,
    /// Fanout group id, to spread one interface over several agents (afpacket).
    #[serde(default)]
    pub fanout_group: Option<u16>,
}

impl InterfaceConfig {
    /// The ring settings of this interface.
    pub fn ring(&self) -> RingConfig {
        RingConfig {
            block_size: self.block_size,
            block_count: self.block_count,
            timeout_ms: self.block_timeout_ms,
            promiscuous: self.promiscuous,
            fanout_group: self.fanout_group,
        }
    }
}

fn default_report_interval() -> u64 {
    60
}
fn default_true() -> bool {
    true
}
fn default_block_size() -> u32 {
    RingConfig::default().block_size
}
fn default_block_count() -> u32 {
    RingConfig::default().block_count
}
fn default_block_timeout() -> u32 {
    RingConfig::default().timeout_ms
}

/// Uplink tuning.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UplinkSettings {
    /// Most observations per batch.
    #[serde(default = "default_batch")]
    pub batch_max_observations: usize,
    /// Batches sent ahead of acknowledgement.
    #[serde(default = "default_window")]
    pub window: usize,
    /// Batches held in memory while the collector is unreachable.
    #[serde(default = "default_pending")]
    pub max_pending_batches: usize,
    /// Maximum frame length in bytes.
    #[serde(default = "default_frame")]
    pub max_frame_len: usize,
}

impl Default for UplinkSettings {
    fn default() -> Self {
        UplinkSettings {
            batch_max_observations: default_batch(),
            window: default_window(),
            max_pending_batches: default_pending(),
            max_frame_len: default_frame(),
        }
    }
}

fn default_telemetry_interval() -> u64 {
    60
}
fn default_batch() -> usize {
    5_000
}
fn default_window() -> usize {
    8
}
fn default_pending() -> usize {
    256
}
fn default_frame() -> usize {
    shoko_proto::DEFAULT_MAX_FRAME_LEN
}

impl AgentConfig {
    /// Reads and validates a configuration file; relative paths are relative to its directory.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
        Self::parse(&text, path)
    }

    /// Reads and validates the text of configuration file `path` (relative paths in it are
    /// relative to its directory; errors name it).
    pub fn parse(text: &str, path: &Path) -> anyhow::Result<Self> {
        let mut cfg: AgentConfig =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        if cfg.identity.is_relative() {
            cfg.identity = base.join(&cfg.identity);
        }
        for p in [&mut cfg.host.root, &mut cfg.host.state_file, &mut cfg.spool.dir] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        for f in &mut cfg.capture.files {
            if f.is_relative() {
                *f = base.join(&*f);
            }
        }
        if cfg.telemetry_interval_secs == 0
            || cfg.capture.report_interval_secs == 0
            || cfg.host.interval_secs == 0
            || cfg.host.full_snapshot_secs == 0
        {
            anyhow::bail!(
                "{}: telemetry_interval_secs, capture.report_interval_secs, host.interval_secs and \
                 host.full_snapshot_secs must be at least 1",
                path.display()
            );
        }
        let mut names = std::collections::BTreeSet::new();
        for i in &cfg.capture.interfaces {
            if !names.insert(i.name.as_str()) {
                anyhow::bail!("{}: interface {} is listed twice", path.display(), i.name);
            }
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_in_deploy_loads() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/agent.toml");
        let cfg = AgentConfig::load(&p).unwrap();
        assert_eq!(cfg.telemetry_interval_secs, 60);
        assert_eq!(cfg.uplink.window, 8);
        assert_eq!(cfg.capture.report_interval_secs, 60);
        assert!(cfg.capture.interfaces.is_empty());
        assert!(!cfg.host.enabled);
        assert_eq!(
            (cfg.host.interval_secs, cfg.host.full_snapshot_secs),
            (21_600, 86_400)
        );
        assert_eq!(
            cfg.host.state_file,
            Path::new("/var/lib/shoko-agent/host-snapshot.json")
        );
        assert_eq!(
            cfg.spool,
            SpoolSettings {
                dir: "/var/lib/shoko-agent/spool".into(),
                ..SpoolSettings::default()
            }
        );
    }

    #[test]
    fn sensor_and_host_agent_examples_in_deploy_load() {
        let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
        let sensor = AgentConfig::load(&deploy.join("sensor.toml")).unwrap();
        assert_eq!(sensor.capture.interfaces.len(), 1);
        assert_eq!(sensor.capture.interfaces[0].name, "eth1");
        assert!(!sensor.host.enabled);
        let host = AgentConfig::load(&deploy.join("host-agent.toml")).unwrap();
        assert!(host.capture.interfaces.is_empty() && host.host.enabled);
        assert_eq!(host.host.interval_secs, 21_600);
        // One machine may run both: they never share a spool.
        assert_ne!(sensor.spool.dir, host.spool.dir);
    }

    #[test]
    fn interfaces_with_defaults_and_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.toml");
        let one = "[[capture.interfaces]]\nname = \"eth1\"\n";
        std::fs::write(
            &p,
            format!("identity = \"x\"\n{one}backend = \"pnet\"\nfanout_group = 7\n"),
        )
        .unwrap();
        let cfg = AgentConfig::load(&p).unwrap();
        let i = &cfg.capture.interfaces[0];
        assert_eq!(
            (i.name.as_str(), i.backend, i.promiscuous),
            ("eth1", Backend::Pnet, true)
        );
        assert_eq!(i.ring().fanout_group, Some(7));
        assert_eq!(i.ring().block_count, RingConfig::default().block_count);
        std::fs::write(&p, format!("identity = \"x\"\n{one}{one}")).unwrap();
        let e = AgentConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("eth1 is listed twice"), "{e}");
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.toml");
        std::fs::write(&p, "identity = \"x\"\n\ntelemetry = 5\n").unwrap();
        let e = AgentConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("line 3"), "{e}");
        assert!(e.contains("telemetry"), "{e}");
    }
}
