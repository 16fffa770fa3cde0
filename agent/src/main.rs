//! `shoko-agent`: analyse captures offline, send them to a collector, or run as a service.

use anyhow::Context;
use clap::{Parser, Subcommand};
use shoko_agent::analyze::{FileStats, InventoryDocument, KernelStats};
use shoko_agent::capture::afpacket::RingConfig;
use shoko_agent::capture::file::CaptureFileError;
use shoko_agent::config::AgentConfig;
use shoko_agent::identity::Identity;
use shoko_agent::logging::LogArgs;
use shoko_agent::pipeline::{Sensor, SensorLimits};
use shoko_agent::uplink::{Uplink, UplinkConfig, UplinkError};
use shoko_proto::{Observation, ObservationBody, ParserRef, Provenance, Source, Timestamp};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// Exit codes (also listed in `--help`).
mod exit {
    /// A capture file is missing, unreadable or not a capture.
    pub const INPUT: u8 = 3;
    /// The collector could not be reached or did not acknowledge everything in time.
    pub const UNDELIVERED: u8 = 4;
    /// The collector refused this agent (revoked, wrong id, no common protocol version).
    pub const REFUSED: u8 = 5;
    /// Configuration or identity bundle is invalid.
    pub const CONFIG: u8 = 6;
}

#[derive(Parser)]
#[command(
    name = "shoko-agent",
    version,
    about = "shoko agent: passive OT network sensor and host inventory",
    long_about = "shoko agent: a passive OT network sensor. It reads capture files (or, as a service, \
its configured sources), finds assets, services and flows, and delivers them as evidence to a \
shoko collector over mutually authenticated TLS 1.3. It never transmits on a monitored network.",
    after_help = "Exit codes: 0 success; 1 unexpected error; 2 usage error; 3 unreadable capture \
file or interface that cannot be captured; 4 collector unreachable or not all batches acknowledged; 5 collector refused this agent; \
6 invalid configuration or identity bundle."
)]
struct Cli {
    #[command(flatten)]
    log: LogArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse capture files offline and write the inventory document (JSON).
    Analyze {
        /// Capture files (pcap or pcapng, detected by content).
        #[arg(long, required = true, num_args = 1..)]
        pcap: Vec<PathBuf>,
        /// Where to write the inventory document; `-` for standard output.
        #[arg(long, default_value = "-")]
        json: String,
        /// Also write the flows as a Zeek conn.log (TSV) to this file.
        #[arg(long)]
        conn_log: Option<PathBuf>,
    },
    /// Capture live from an interface for a while (receive-only) and write the inventory document.
    Capture {
        /// Interface to capture on (a SPAN/mirror port).
        #[arg(long)]
        interface: String,
        /// Seconds to capture.
        #[arg(long, default_value_t = 60)]
        duration: u64,
        /// Where to write the inventory document; `-` for standard output.
        #[arg(long, default_value = "-")]
        json: String,
        /// Also write the flows as a Zeek conn.log (TSV) to this file.
        #[arg(long)]
        conn_log: Option<PathBuf>,
        /// Do not put the interface in promiscuous mode.
        #[arg(long)]
        no_promiscuous: bool,
        /// Ring block size in bytes (a multiple of the page size).
        #[arg(long, default_value_t = 1 << 20)]
        block_size: u32,
        /// Number of ring blocks.
        #[arg(long, default_value_t = 64)]
        block_count: u32,
    },
    /// Analyse capture files and deliver the observations to a collector, then exit.
    Send {
        /// Identity bundle directory from `shoko-collector enroll`.
        #[arg(long)]
        identity: PathBuf,
        /// Collector address HOST:PORT (default: the bundle's).
        #[arg(long)]
        collector: Option<String>,
        /// Capture files (pcap or pcapng).
        #[arg(long, required = true, num_args = 1..)]
        pcap: Vec<PathBuf>,
        /// Give up when not everything is acknowledged within this many seconds.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
    },
    /// Run as a service: analyse configured sources, report telemetry, deliver to the collector.
    Run {
        /// Configuration file (see deploy/agent.toml).
        #[arg(long)]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.log.init();
    match cli.command {
        Command::Analyze { pcap, json, conn_log } => analyze(&pcap, &json, conn_log.as_deref()),
        Command::Capture {
            interface,
            duration,
            json,
            conn_log,
            no_promiscuous,
            block_size,
            block_count,
        } => {
            let ring = RingConfig {
                block_size,
                block_count,
                promiscuous: !no_promiscuous,
                ..Default::default()
            };
            capture(
                &interface,
                &ring,
                Duration::from_secs(duration),
                &json,
                conn_log.as_deref(),
            )
        }
        Command::Send {
            identity,
            collector,
            pcap,
            timeout,
        } => runtime().block_on(send(&identity, collector, &pcap, Duration::from_secs(timeout))),
        Command::Run { config } => runtime().block_on(run(&config)),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("cannot start the async runtime")
}

fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("shoko-agent: {message}");
    ExitCode::from(code)
}

/// Runs the sensor over the files, reporting progress on stderr for long runs.
fn sense(files: &[PathBuf]) -> Result<(Sensor, Vec<FileStats>), CaptureFileError> {
    let mut sensor = Sensor::new(SensorLimits::default());
    let mut stats = Vec::new();
    for path in files {
        let before = sensor.packets();
        let started = Instant::now();
        let damaged = sensor.process_file(path)?;
        let packets = sensor.packets() - before;
        if let Some(reason) = &damaged {
            warn!(file = %path.display(), %reason, "capture file damaged; frames before the damage were used");
        }
        info!(file = %path.display(), packets, elapsed_ms = started.elapsed().as_millis() as u64, "capture file read");
        stats.push(FileStats {
            path: path.display().to_string(),
            packets,
            damaged,
        });
    }
    Ok((sensor, stats))
}

fn analyze(files: &[PathBuf], json: &str, conn_log: Option<&Path>) -> ExitCode {
    let started = Instant::now();
    let opened = Timestamp::now();
    let (mut sensor, stats) = match sense(files) {
        Ok(r) => r,
        Err(e) => return fail(exit::INPUT, e),
    };
    write_document(&mut sensor, stats, None, started, opened, json, conn_log)
}

fn capture(
    interface: &str,
    ring: &RingConfig,
    duration: Duration,
    json: &str,
    conn_log: Option<&Path>,
) -> ExitCode {
    let started = Instant::now();
    let opened = Timestamp::now();
    let mut sensor = Sensor::new(SensorLimits::default());
    let kernel = match shoko_agent::live::capture_for(interface, ring, duration, &mut sensor) {
        Ok(k) => k,
        Err(e) => return fail(exit::INPUT, e),
    };
    info!(
        interface,
        packets = kernel.packets,
        drops = kernel.drops,
        "live capture finished"
    );
    let kernel = KernelStats {
        interface: interface.to_owned(),
        packets: kernel.packets,
        drops: kernel.drops,
        freezes: kernel.freezes,
    };
    write_document(
        &mut sensor,
        Vec::new(),
        Some(kernel),
        started,
        opened,
        json,
        conn_log,
    )
}

/// Writes the inventory document (and the conn.log, when asked) of a finished sensor run.
fn write_document(
    sensor: &mut Sensor,
    stats: Vec<FileStats>,
    kernel: Option<KernelStats>,
    started: Instant,
    opened: Timestamp,
    json: &str,
    conn_log: Option<&Path>,
) -> ExitCode {
    let output = sensor.output();
    if let Some(path) = conn_log {
        let written = std::fs::File::create(path).and_then(|f| {
            let mut w = std::io::BufWriter::new(f);
            shoko_agent::flow::conn_log::write(&mut w, &output.flows, opened)?;
            w.flush()
        });
        if let Err(e) = written {
            return fail(1, format!("writing {}: {e}", path.display()));
        }
    }
    let mut doc = InventoryDocument::new(output, stats, started.elapsed().as_millis() as u64);
    doc.stats.kernel = kernel;
    let written = if json == "-" {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &doc)
            .map_err(anyhow::Error::from)
            .and_then(|_| writeln!(out).map_err(Into::into))
    } else {
        std::fs::File::create(json)
            .with_context(|| json.to_string())
            .and_then(|f| {
                let mut w = std::io::BufWriter::new(f);
                serde_json::to_writer_pretty(&mut w, &doc)?;
                w.flush()?;
                Ok(())
            })
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(1, format!("writing {json}: {e:#}")),
    }
}

fn observations_of(files: &[PathBuf]) -> Result<Vec<Observation>, CaptureFileError> {
    let mut all = Vec::new();
    for path in files {
        let (mut sensor, _) = sense(std::slice::from_ref(path))?;
        let source = Source::CaptureFile {
            path: path.display().to_string(),
        };
        all.extend(sensor.output().to_observations(&source));
    }
    Ok(all)
}

fn uplink_error(e: UplinkError) -> ExitCode {
    match e {
        UplinkError::Refused { .. } => fail(exit::REFUSED, e),
        UplinkError::Timeout { .. } => fail(exit::UNDELIVERED, e),
    }
}

async fn send(identity: &Path, collector: Option<String>, files: &[PathBuf], timeout: Duration) -> ExitCode {
    let cfg = match Identity::load(identity)
        .map_err(anyhow::Error::from)
        .and_then(|id| UplinkConfig::from_identity(&id, collector))
    {
        Ok(c) => c,
        Err(e) => return fail(exit::CONFIG, format!("{e:#}")),
    };
    let observations = match observations_of(files) {
        Ok(o) => o,
        Err(e) => return fail(exit::INPUT, e),
    };
    let count = observations.len();
    let uplink = Uplink::start(cfg);
    let deadline = tokio::time::Instant::now() + timeout;
    let delivered = async {
        uplink.submit(observations).await?;
        uplink
            .flush(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await
    };
    let result = match tokio::time::timeout_at(deadline, delivered).await {
        Ok(r) => r,
        Err(_) => Err(UplinkError::Timeout {
            pending: uplink.status().pending_batches,
            last_error: uplink.status().last_error.unwrap_or_else(|| "none".into()),
        }),
    };
    match result {
        Ok(()) => {
            let st = uplink.status();
            info!(
                observations = count,
                batches = st.acked_batches,
                duplicates = st.duplicate_batches,
                "all observations delivered"
            );
            ExitCode::SUCCESS
        }
        Err(e) => uplink_error(e),
    }
}

async fn run(config: &Path) -> ExitCode {
    let cfg = match AgentConfig::load(config) {
        Ok(c) => c,
        Err(e) => return fail(exit::CONFIG, format!("{e:#}")),
    };
    let mut up = match Identity::load(&cfg.identity)
        .map_err(anyhow::Error::from)
        .and_then(|id| UplinkConfig::from_identity(&id, cfg.collector.clone()))
    {
        Ok(c) => c,
        Err(e) => return fail(exit::CONFIG, format!("{e:#}")),
    };
    up.batch_max_observations = cfg.uplink.batch_max_observations;
    up.window = cfg.uplink.window;
    up.max_pending_batches = cfg.uplink.max_pending_batches;
    up.max_frame_len = cfg.uplink.max_frame_len;
    let started = Instant::now();
    let uplink = Uplink::start(up);
    info!(config = %config.display(), "agent running");
    let mut packets = 0;
    for file in &cfg.capture.files {
        match sense(std::slice::from_ref(file)) {
            Ok((mut sensor, _)) => {
                let out = sensor.output();
                packets += out.stats.packets;
                let source = Source::CaptureFile {
                    path: file.display().to_string(),
                };
                if let Err(e) = uplink.submit(out.to_observations(&source)).await {
                    return uplink_error(e);
                }
            }
            Err(e) => warn!(error = %e, "capture file skipped"),
        }
    }
    let mut tick = tokio::time::interval(Duration::from_secs(cfg.telemetry_interval_secs));
    let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => return fail(1, format!("cannot watch SIGTERM: {e}")),
    };
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let pending = uplink.status().pending_batches as u64;
                let obs = Observation {
                    provenance: Provenance {
                        source: Source::Agent,
                        parser: ParserRef::new("telemetry", env!("CARGO_PKG_VERSION")),
                        observed_at: Timestamp::now(),
                        evidence: Default::default(),
                    },
                    body: ObservationBody::AgentTelemetry(shoko_agent::telemetry::snapshot(started, packets, pending)),
                };
                if let Err(e) = uplink.submit(vec![obs]).await {
                    return uplink_error(e);
                }
            }
            _ = tokio::signal::ctrl_c() => break,
            _ = terminate.recv() => break,
        }
    }
    info!("stopping; delivering what is pending");
    match uplink.flush(Duration::from_secs(10)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            warn!(error = %e, "stopped with undelivered batches");
            ExitCode::SUCCESS
        }
    }
}
