//! `shoko-collector advisories import|feeds|matches`: vulnerability advisories imported offline
//! (CSAF 2.0, OSV, the Debian security tracker, the CISA KEV catalog) and the assets they affect.

use clap::Subcommand;
use shoko_collector::advisory::{self, Vulnerabilities};
use shoko_collector::config::CollectorConfig;
use shoko_collector::server::{open_store, open_store_read_only};
use shoko_proto::Timestamp;
use std::path::PathBuf;

/// The advisories commands.
#[derive(Subcommand)]
pub enum AdvisoriesAction {
    /// Import advisory files (directories are walked for *.json): CSAF 2.0 (a `FILE.sha512`
    /// beside a file is checked), OSV, the Debian security tracker JSON, the CISA KEV catalog;
    /// the format is recognised by content. A file that cannot be read is named and skipped, the
    /// others imported; exits 1 when any was skipped.
    Import {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// List the imported files (feed, file, SHA-256, entries, when).
    Feeds {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the assets the imported advisories affect: advisory, CVEs, known exploited (KEV),
    /// what matched, the version seen and its evidence, confidence.
    Matches {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs an advisories command.
pub fn run(action: AdvisoriesAction) -> anyhow::Result<()> {
    match action {
        AdvisoriesAction::Import { data, paths } => {
            let cfg = CollectorConfig::load(&data)?;
            let store = open_store(&data, &cfg)?;
            let report = advisory::import(store.as_ref(), &paths, Timestamp::now())?;
            for (path, feed, entries) in &report.imported {
                println!("{}: {} ({entries} entries)", path.display(), feed.as_str());
            }
            for e in &report.refused {
                eprintln!("shoko-collector: skipped {e}");
            }
            println!(
                "{} files imported, {} skipped",
                report.imported.len(),
                report.refused.len()
            );
            match report.refused.len() {
                0 => Ok(()),
                n => anyhow::bail!("{n} advisory files skipped"),
            }
        }
        AdvisoriesAction::Feeds { data, json } => {
            let cfg = CollectorConfig::load(&data)?;
            let feeds = open_store_read_only(&data, &cfg)?.feed_imports()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&feeds)?);
            } else {
                for f in feeds {
                    println!(
                        "{}  {:<6}  {:>6}  {}  {}",
                        f.imported_at, f.feed, f.entries, f.sha256, f.file
                    );
                }
            }
            Ok(())
        }
        AdvisoriesAction::Matches { data, json } => {
            let cfg = CollectorConfig::load(&data)?;
            let store = open_store_read_only(&data, &cfg)?;
            let found = Vulnerabilities::read(store.as_ref(), &store.assets()?)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&found.matches)?);
            } else {
                print!("{}", shoko_collector::listing::match_table(&found.matches));
            }
            Ok(())
        }
    }
}
