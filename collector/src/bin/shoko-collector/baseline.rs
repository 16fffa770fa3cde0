//! `shoko-collector baseline approve|list|drift`.

use clap::Subcommand;
use shoko_collector::baseline;
use shoko_collector::config::CollectorConfig;
use shoko_collector::filter::AssetFilter;
use shoko_collector::listing::{baseline_table, drift_report};
use shoko_collector::server::{open_store, open_store_read_only};
use std::path::PathBuf;

/// The baseline drift report found drift (exit code 3).
#[derive(Debug, thiserror::Error)]
#[error("the inventory drifted from the baseline")]
pub struct Drifted;

/// The baseline commands.
#[derive(Subcommand)]
pub enum BaselineAction {
    /// Approve the current inventory (or the assets the filters select) as the baseline: an
    /// attested record of who approved which assets with which attributes and services, and when.
    Approve {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Name of the baseline.
        #[arg(long, default_value = "baseline")]
        name: String,
        /// Who approves it.
        #[arg(long)]
        by: String,
        /// Free text (the occasion: commissioning, FAT, quarterly review ...).
        #[arg(long, default_value = "")]
        comment: String,
        #[command(flatten)]
        scope: AssetFilter,
    },
    /// List the baselines.
    List {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Print JSON (the same as GET /api/v1/baselines).
        #[arg(long)]
        json: bool,
    },
    /// Report drift from the latest baseline: unknown assets (in scope, not in it), missing
    /// assets (in it, not seen lately) and changed attributes, addresses and services. Exits 3
    /// when anything drifted.
    Drift {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// An asset not seen for this many days is missing.
        #[arg(long, default_value_t = 7)]
        missing_after_days: u64,
        /// Print JSON (the same as GET /api/v1/baselines/drift).
        #[arg(long)]
        json: bool,
    },
}

/// Runs a baseline command.
pub fn run(action: BaselineAction) -> anyhow::Result<()> {
    match action {
        BaselineAction::Approve {
            data,
            name,
            by,
            comment,
            scope,
        } => {
            let cfg = CollectorConfig::load(&data)?;
            let b = baseline::approve(open_store(&data, &cfg)?.as_ref(), &name, &by, &comment, scope)?;
            println!(
                "baseline {} \"{}\" approved by {}: {} assets",
                b.id, b.name, b.approved_by, b.assets
            );
            Ok(())
        }
        BaselineAction::List { data, json } => {
            let cfg = CollectorConfig::load(&data)?;
            let baselines = open_store_read_only(&data, &cfg)?.baselines()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&baselines)?);
            } else {
                print!("{}", baseline_table(&baselines));
            }
            Ok(())
        }
        BaselineAction::Drift {
            data,
            missing_after_days,
            json,
        } => {
            let cfg = CollectorConfig::load(&data)?;
            let store = open_store_read_only(&data, &cfg)?;
            let window = std::time::Duration::from_secs(missing_after_days.saturating_mul(86_400));
            let drift = baseline::latest_drift(store.as_ref(), shoko_proto::Timestamp::now(), window)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&drift)?);
            } else {
                print!("{}", drift_report(&drift));
            }
            if drift.is_empty() {
                Ok(())
            } else {
                Err(Drifted.into())
            }
        }
    }
}
