//! `export`: the inventory for other tools (CycloneDX).

use clap::Subcommand;
use shoko_collector::config::CollectorConfig;
use shoko_collector::export::cyclonedx;
use shoko_collector::server::open_store_read_only;
use std::path::PathBuf;

/// What to export.
#[derive(Subcommand)]
pub enum ExportAction {
    /// The inventory as a CycloneDX 1.5 JSON BOM: devices with their firmware, host software
    /// with package URLs, and the vulnerabilities advisories match.
    Cyclonedx {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Output file (`-` for standard output).
        #[arg(long, default_value = "-")]
        out: PathBuf,
    },
}

/// Runs an export.
pub fn run(action: ExportAction) -> anyhow::Result<()> {
    match action {
        ExportAction::Cyclonedx { data, out } => {
            let cfg = CollectorConfig::load(&data)?;
            let store = open_store_read_only(&data, &cfg)?;
            let bom = cyclonedx::of_store(store.as_ref())?;
            let text = serde_json::to_string_pretty(&bom)? + "\n";
            if out.as_os_str() == "-" {
                print!("{text}");
            } else {
                std::fs::write(&out, text).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
                eprintln!(
                    "CycloneDX 1.5 BOM written to {}: {} devices, {} vulnerabilities",
                    out.display(),
                    bom["components"].as_array().map_or(0, Vec::len),
                    bom["vulnerabilities"].as_array().map_or(0, Vec::len)
                );
            }
            Ok(())
        }
    }
}
