//! `shoko-agent`: analyse captures offline, send them to a collector, or run as a service.

use anyhow::Context;
use clap::{Parser, Subcommand};
use shoko_agent::analyze::{FileStats, InventoryDocument, KernelStats};
use shoko_agent::capture::afpacket::RingConfig;
use shoko_agent::capture::file::CaptureFileError;
use shoko_agent::identity::Identity;
use shoko_agent::live::{self, Backend};
use shoko_agent::logging::LogArgs;
use shoko_agent::pipeline::{Sensor, SensorLimits};
use shoko_agent::service::RunError;
use shoko_agent::uplink::{Uplink, UplinkConfig, UplinkError};
use shoko_proto::{Observation, Source, Timestamp};
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
        /// Capture backend: the TPACKET_V3 ring (Linux, with drop counters) or the portable one.
        #[arg(long, value_enum, default_value_t = Backend::Afpacket)]
        backend: Backend,
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
    /// Take an inventory of this host (or of a mounted image): system facts, installed packages,
    /// listening sockets, and what could not be read; prints it as JSON.
    Inventory {
        /// Filesystem root to read the host from (a mounted disk image, or `/`).
        #[arg(long, default_value = "/")]
        root: PathBuf,
        /// Where to write the inventory; `-` for standard output.
        #[arg(long, default_value = "-")]
        json: String,
    },
    /// List the network interfaces that can be captured (name, MAC, addresses, state).
    Interfaces {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run as a service: capture configured interfaces and files, report telemetry, deliver to
    /// the collector, until SIGTERM.
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
            backend,
        } => {
            let ring = RingConfig {
                block_size,
                block_count,
                promiscuous: !no_promiscuous,
                ..Default::default()
            };
            capture(
                &interface,
                backend,
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
        Command::Run { config } => match runtime().block_on(shoko_agent::service::run(&config)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e @ RunError::Config(_)) => fail(exit::CONFIG, e),
            Err(e @ RunError::Interface { .. }) => fail(exit::INPUT, e),
            Err(RunError::Uplink(e)) => uplink_error(e),
        },
        Command::Interfaces { json } => interfaces(json),
        Command::Inventory { root, json } => inventory(&root, &json),
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
        let started = Instant::now();
        let read = sensor.process_file(path)?;
        if let Some(reason) = &read.damaged {
            warn!(file = %path.display(), %reason, "capture file damaged; frames before the damage were used");
        }
        if read.untimed > 0 || read.undescribed_interface > 0 {
            warn!(file = %path.display(), untimed = read.untimed, undescribed_interface = read.undescribed_interface,
                "frames left out: no time to give them, or an interface never described");
        }
        info!(file = %path.display(), packets = read.packets, elapsed_ms = started.elapsed().as_millis() as u64, "capture file read");
        stats.push(FileStats {
            path: path.display().to_string(),
            packets: read.packets,
            damaged: read.damaged,
            untimed: read.untimed,
            undescribed_interface: read.undescribed_interface,
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
    backend: Backend,
    ring: &RingConfig,
    duration: Duration,
    json: &str,
    conn_log: Option<&Path>,
) -> ExitCode {
    let started = Instant::now();
    let opened = Timestamp::now();
    let mut sensor = Sensor::new(SensorLimits::default());
    let kernel = match live::open(interface, backend, ring)
        .and_then(|mut source| live::capture_for(source.as_mut(), duration, &mut sensor))
    {
        Ok(k) => k,
        Err(e) => return fail(exit::INPUT, format!("{interface}: {e}")),
    };
    info!(
        interface,
        packets = sensor.packets(),
        drops = kernel.map(|k| k.drops),
        "live capture finished"
    );
    let kernel = kernel.map(|k| KernelStats {
        interface: interface.to_owned(),
        packets: k.packets,
        drops: k.drops,
        freezes: k.freezes,
    });
    write_document(&mut sensor, Vec::new(), kernel, started, opened, json, conn_log)
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
    write_json(&doc, json)
}

/// Writes `value` as pretty JSON to `json` (`-`: standard output).
fn write_json(value: &impl serde::Serialize, json: &str) -> ExitCode {
    let written = if json == "-" {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, value)
            .map_err(anyhow::Error::from)
            .and_then(|_| writeln!(out).map_err(Into::into))
    } else {
        std::fs::File::create(json)
            .with_context(|| json.to_string())
            .and_then(|f| {
                let mut w = std::io::BufWriter::new(f);
                serde_json::to_writer_pretty(&mut w, value)?;
                w.flush()?;
                Ok(())
            })
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(1, format!("writing {json}: {e:#}")),
    }
}

fn inventory(root: &Path, json: &str) -> ExitCode {
    if !root.is_dir() {
        return fail(exit::INPUT, format!("{}: not a directory", root.display()));
    }
    let started = Instant::now();
    let inv = shoko_agent::host::inventory(&shoko_agent::host::root::HostRoot::new(root));
    info!(
        root = %root.display(),
        packages = inv.packages.len(),
        listening = inv.listening.len(),
        unknown = inv.unknown.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "host inventory taken"
    );
    write_json(&inv, json)
}

fn interfaces(json: bool) -> ExitCode {
    let list = shoko_agent::capture::pnet::interfaces();
    if json {
        println!("{}", serde_json::to_string_pretty(&list).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    println!("{:<16} {:<18} {:<6} ADDRESSES", "INTERFACE", "MAC", "STATE");
    for i in &list {
        let state = match (i.up, i.running) {
            (true, true) => "up",
            (true, false) => "no-carrier",
            _ => "down",
        };
        let mac = i.mac.as_deref().unwrap_or("-");
        println!(
            "{:<16} {:<18} {:<6} {}",
            i.name,
            mac,
            state,
            i.addresses.join(" ")
        );
    }
    ExitCode::SUCCESS
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
        UplinkError::Timeout { .. } | UplinkError::Spool(_) => fail(exit::UNDELIVERED, e),
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
