//! `shoko-collector`: initialise, enrol agents, serve, list, and run the demo.

mod access;
mod advisories;
mod assess;
mod attest;
mod evidence;
mod export;

use assess::parse_time;
mod baseline;

use anyhow::Context;
use clap::{Parser, Subcommand};
use shoko_agent::logging::LogArgs;
use shoko_collector::assess::catalog::Catalog;
use shoko_collector::assess::declared::Declared;
use shoko_collector::config::CollectorConfig;
use shoko_collector::filter::{AssetFilter, ChangeFilter, EventFilter};
use shoko_collector::listing::{asset_table, catalog_table, change_table, event_table};
use shoko_collector::pki::{Authority, PkiPaths};
use shoko_collector::server::{Collector, open_store, open_store_read_only};
use shoko_collector::store::{Decision, DecisionKind};
use shoko_collector::{config, datadir, demo, upkeep};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "shoko-collector",
    version,
    about = "shoko collector: stores OT evidence from agents and serves it",
    long_about = "shoko collector: receives observations from shoko agents over mutually \
authenticated TLS 1.3, stores them durably (SQLite by default), fuses them into an asset \
inventory and serves it over an HTTP API.\n\nQuick start: `shoko-collector demo`.",
    after_help = "Exit codes: 0 success; 1 error (the message says which file or setting); 2 usage error; \
3 `baseline drift` found drift; 4 `verify-store` or `verify-bundle` found evidence altered."
)]
struct Cli {
    #[command(flatten)]
    log: LogArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a data directory: CA, server certificate, empty CRL and collector.toml.
    Init {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Extra DNS names or IP addresses for the server certificate (repeatable).
        #[arg(long = "san")]
        sans: Vec<String>,
    },
    /// Issue an agent certificate and write its identity bundle.
    Enroll {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Agent id (letters, digits, '.', '_', '-').
        #[arg(long)]
        agent_id: String,
        /// Bundle directory to write.
        #[arg(long)]
        out: PathBuf,
        /// Collector address for the bundle (default: `advertise` from collector.toml).
        #[arg(long)]
        collector: Option<String>,
        /// Name the agent checks the collector's certificate against.
        #[arg(long, default_value = "shoko-collector")]
        server_name: String,
    },
    /// Revoke every certificate of an agent; a running collector refuses it from its next connection or batch.
    Revoke {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Agent id.
        #[arg(long)]
        agent_id: String,
    },
    /// Run the collector.
    Serve {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Agent listener HOST:PORT (default from collector.toml: 0.0.0.0:7710).
        #[arg(long)]
        listen: Option<String>,
        /// HTTP API HOST:PORT (default from collector.toml: 127.0.0.1:7780).
        #[arg(long)]
        http: Option<String>,
    },
    /// List the stored assets with their best vendor, model and firmware (`!`: sources conflict),
    /// optionally filtered.
    Assets {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Print JSON (the same as GET /api/v1/assets).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        filter: AssetFilter,
    },
    /// List change records (new assets, new services, firmware changes) with their status,
    /// optionally filtered.
    Changes {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Print JSON (the same as GET /api/v1/changes).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        filter: ChangeFilter,
    },
    /// List the protocol events the sensors saw (writes, commands, run-state changes, program
    /// transfers), newest first, optionally filtered.
    Events {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Print JSON (the same as GET /api/v1/events).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        filter: EventFilter,
    },
    /// Acknowledge (authorise) or reject a change, as an attested record: who, when and the
    /// change reference. The latest decision stands.
    Decide {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Change id (see `changes`).
        #[arg(long)]
        change: i64,
        /// Reject instead of acknowledging.
        #[arg(long)]
        reject: bool,
        /// Change reference (ticket, work order, MOC number).
        #[arg(long)]
        reference: String,
        /// Who decides.
        #[arg(long)]
        by: String,
        /// Free text.
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Delete the raw observations received before the retention period that no evidence refers
    /// to, now (a running collector does it every `retention_interval_secs`).
    Prune {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Days to keep (default: `retention_days` of collector.toml).
        #[arg(long, conflicts_with = "before")]
        days: Option<u64>,
        /// Delete what was received before this time instead (RFC 3339, e.g. 2026-01-31T00:00:00Z).
        #[arg(long, value_parser = parse_time)]
        before: Option<shoko_proto::Timestamp>,
    },
    /// Check that the stored evidence was not altered: recompute every agent's hash chain of
    /// batches and every stored observation's digest; name each batch and observation that
    /// differs (exit 4), and print each agent's chain head.
    VerifyStore {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write the auditor's report: scope, method, maturity scores with their evidence,
    /// inventory, changes, vulnerabilities, attestations, and an appendix of the catalog and
    /// thresholds. HTML (self-contained, prints to PDF from a browser), JSON, or one CSV table.
    Report {
        #[command(flatten)]
        window: assess::Window,
        /// Only these requirements (repeatable; `NET-1.1`, `NET 1.1`).
        #[arg(long)]
        requirement: Vec<String>,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// Format (default: from the file's extension, html otherwise).
        #[arg(long, value_enum)]
        format: Option<evidence::Format>,
        /// The table written as CSV.
        #[arg(long, value_enum, default_value = "scores")]
        table: shoko_collector::report::csv::Table,
    },
    /// Write a signed evidence bundle (.tar.gz): the report, scores, every period's findings, the
    /// observations, change records and attestations they rest on, their frames as pcap files,
    /// and a manifest of SHA-256 digests signed with the collector's Ed25519 key
    /// (pki/evidence.key, created on first use; give auditors pki/evidence.pub).
    ExportEvidence {
        #[command(flatten)]
        window: assess::Window,
        /// Only these requirements (repeatable; `NET-1.1`, `NET 1.1`).
        #[arg(long)]
        requirement: Vec<String>,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify an evidence bundle offline (the .tar.gz, or the directory it was unpacked to): the
    /// manifest's signature, then every file's digest. Names every file altered, missing or added
    /// (exit 4).
    VerifyBundle {
        /// The bundle.
        bundle: PathBuf,
        /// The collector's public key (pki/evidence.pub). Without it the bundle's own copy is
        /// used, which proves the files match the manifest but not who signed it.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Also recompute every level from the outcomes the bundle records (each period's
        /// findings, how its evidence was received, thresholds, attestations), without running
        /// the rules, and compare with the levels it records: equal or different per requirement
        /// (exit 4 on any difference).
        #[arg(long)]
        rescore: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export the inventory for other tools (CycloneDX 1.5 JSON).
    Export {
        #[command(subcommand)]
        action: export::ExportAction,
    },
    /// Manage local users (admin, operator, auditor) of the API and web UI.
    Users {
        #[command(subcommand)]
        action: access::UsersAction,
    },
    /// Manage API tokens (and list or revoke browser sessions).
    Tokens {
        #[command(subcommand)]
        action: access::TokensAction,
    },
    /// Show the audit log: every write (users, tokens, logins, decisions), newest first.
    AuditLog {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Entries shown.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the requirement catalog (embedded, or a user's copy checked first).
    Catalog {
        /// A catalog file to check and show instead of the embedded one.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a declared-zones file (zones, conduits, allowed services) and summarise it; errors
    /// name the line.
    Zones {
        /// The file (example: deploy/zones.toml).
        #[arg(long)]
        file: PathBuf,
        /// Print the checked declaration as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Evaluate the rules over one period and list the findings (satisfied, violated, unknown,
    /// pending) with the evidence that decided each.
    Findings {
        #[command(flatten)]
        scope: assess::Scope,
        /// Only this requirement (`NET 1.1`, `NET-1.1`).
        #[arg(long)]
        requirement: Option<String>,
    },
    /// Score every requirement (CM, NET, COMP, EVENT) to a maturity level over the latest periods:
    /// observability, conformance, practice level (ML1, ML3, ML4 or insufficient evidence),
    /// documentary level (ML2 from a valid document), final level, and the distribution per group
    /// and SPE. The assessment is saved with its catalog version, thresholds, periods and the
    /// digest of the evidence it used.
    Assess {
        #[command(flatten)]
        scope: assess::Scope,
        /// Do not save the assessment.
        #[arg(long)]
        no_save: bool,
    },
    /// Show how one requirement's score is derived: the rules and their counts, the thresholds,
    /// the numbers of each period, and the subjects that violate it or lack data, with their
    /// evidence.
    Explain {
        /// Requirement (`NET-1.1`, `NET 1.1`).
        requirement: String,
        #[command(flatten)]
        scope: assess::Scope,
    },
    /// Record, list or revoke attestations: documents, mitigations, not-applicable statements.
    Attest {
        #[command(subcommand)]
        action: attest::AttestAction,
    },
    /// Import vulnerability advisories offline (CSAF 2.0, OSV, Debian security tracker, CISA KEV)
    /// and list the imported feeds and the assets they affect.
    Advisories {
        #[command(subcommand)]
        action: advisories::AdvisoriesAction,
    },
    /// Approve the inventory as a baseline, list baselines, or report drift from the latest.
    Baseline {
        #[command(subcommand)]
        action: baseline::BaselineAction,
    },
    /// Run everything locally on a synthetic plant capture and show the result.
    Demo {
        /// Data directory (created if missing).
        #[arg(long, default_value = "shoko-demo")]
        data: PathBuf,
        /// Keep serving the HTTP API on HOST:PORT afterwards until Ctrl-C.
        #[arg(long)]
        serve: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.log.init();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<baseline::Drifted>() => ExitCode::from(3),
        Err(e) if e.is::<evidence::Tampered>() => {
            eprintln!("shoko-collector: {e:#}");
            ExitCode::from(4)
        }
        Err(e) => {
            eprintln!("shoko-collector: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Init { data, sans } => {
            if !datadir::init_data_dir(&data, &CollectorConfig::default(), &sans)? {
                anyhow::bail!("{} is already initialised", data.display());
            }
            println!(
                "initialised {} (CA, server certificate, CRL, {})",
                data.display(),
                config::CONFIG_FILE
            );
            Ok(())
        }
        Command::Enroll {
            data,
            agent_id,
            out,
            collector,
            server_name,
        } => {
            let cfg = CollectorConfig::load(&data)?;
            let collector = collector.unwrap_or(cfg.advertise);
            datadir::write_bundle(&data, &agent_id, &collector, &server_name, &out)?;
            println!(
                "enrolled agent {agent_id:?}: bundle written to {} (collector {collector})",
                out.display()
            );
            Ok(())
        }
        Command::Revoke { data, agent_id } => {
            let revoked = Authority::load(&PkiPaths::new(&data))?.revoke_agent(&agent_id)?;
            if revoked.is_empty() {
                println!("agent {agent_id:?} has no unrevoked certificate");
            }
            for r in revoked {
                println!("revoked certificate {} of agent {:?}", r.serial, r.agent_id);
            }
            Ok(())
        }
        Command::Serve { data, listen, http } => {
            let mut cfg = CollectorConfig::load(&data)?;
            cfg.listen = listen.unwrap_or(cfg.listen);
            cfg.http = http.unwrap_or(cfg.http);
            runtime()?.block_on(async {
                let collector = Collector::start(&data, &cfg).await?;
                let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                tracing::info!("shutting down");
                collector.stop().await;
                Ok(())
            })
        }
        Command::Assets { data, json, filter } => {
            let cfg = CollectorConfig::load(&data)?;
            let mut assets = open_store_read_only(&data, &cfg)?.assets()?;
            assets.retain(|a| filter.matches(a));
            if json {
                println!("{}", serde_json::to_string_pretty(&assets)?);
            } else {
                print!("{}", asset_table(&assets));
            }
            Ok(())
        }
        Command::Events { data, json, filter } => {
            let cfg = CollectorConfig::load(&data)?;
            let events = shoko_collector::events::list(&*open_store_read_only(&data, &cfg)?, &filter)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&events)?);
            } else {
                print!("{}", event_table(&events));
            }
            Ok(())
        }
        Command::Changes { data, json, filter } => {
            let cfg = CollectorConfig::load(&data)?;
            let mut changes = open_store_read_only(&data, &cfg)?.changes()?;
            changes.retain(|c| filter.matches(c));
            if json {
                println!("{}", serde_json::to_string_pretty(&changes)?);
            } else {
                print!("{}", change_table(&changes));
            }
            Ok(())
        }
        Command::Decide {
            data,
            change,
            reject,
            reference,
            by,
            comment,
        } => {
            let cfg = CollectorConfig::load(&data)?;
            let kind = if reject {
                DecisionKind::Rejected
            } else {
                DecisionKind::Acknowledged
            };
            let decision = Decision {
                kind,
                reference,
                by,
                at: shoko_proto::Timestamp::now(),
                comment,
            };
            let store = open_store(&data, &cfg)?;
            shoko_collector::access::Accounts::new(store.as_ref()).decide(change, &decision, "cli")?;
            println!("change {change} {}", kind.as_str());
            Ok(())
        }
        Command::Prune { data, days, before } => {
            let cfg = CollectorConfig::load(&data)?;
            let before = match before {
                Some(t) => t,
                None => {
                    let days = days.unwrap_or(cfg.retention_days);
                    anyhow::ensure!(days > 0, "retention_days is 0: observations are kept forever");
                    upkeep::cutoff(shoko_proto::Timestamp::now(), days)
                }
            };
            let report = open_store(&data, &cfg)?.prune_observations(before)?;
            if report.skipped {
                println!("another collector is running retention now; nothing done");
            } else {
                println!("deleted {} observations received before {before}", report.deleted);
            }
            Ok(())
        }
        Command::VerifyStore { data, json } => evidence::verify_store(&data, json),
        Command::Report {
            window,
            requirement,
            out,
            format,
            table,
        } => evidence::report(&window, &requirement, &out, format, table),
        Command::ExportEvidence {
            window,
            requirement,
            out,
        } => evidence::export(&window, &requirement, &out),
        Command::VerifyBundle {
            bundle,
            key,
            json,
            rescore,
        } => evidence::verify_bundle(&bundle, key.as_ref(), json, rescore),
        Command::Export { action } => export::run(action),
        Command::Users { action } => access::users(action),
        Command::Tokens { action } => access::tokens(action),
        Command::AuditLog { data, limit, json } => access::audit_log(&data, limit, json),
        Command::Catalog { file, json } => {
            let catalog = Catalog::load(file.as_deref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&catalog)?);
            } else {
                print!("{}", catalog_table(&catalog));
            }
            Ok(())
        }
        Command::Zones { file, json } => {
            let declared = Declared::load(&file)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&declared)?);
            } else {
                println!(
                    "{}: {} zones, {} conduits, {} jump hosts, {} time sources, {} log servers, {} device classes",
                    file.display(),
                    declared.zones.len(),
                    declared.conduits.len(),
                    declared.jump_hosts.len(),
                    declared.time_sources.len(),
                    declared.log_servers.len(),
                    declared.class_services.len()
                );
            }
            Ok(())
        }
        Command::Findings { scope, requirement } => assess::findings(&scope, requirement.as_deref()),
        Command::Assess { scope, no_save } => assess::run_assess(&scope, !no_save),
        Command::Explain { requirement, scope } => assess::run_explain(&scope, &requirement),
        Command::Attest { action } => attest::run(action),
        Command::Advisories { action } => advisories::run(action),
        Command::Baseline { action } => baseline::run(action),
        Command::Demo { data, serve } => runtime()?
            .block_on(demo::run(&data, serve))
            .context("demo failed"),
    }
}
