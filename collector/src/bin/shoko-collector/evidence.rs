//! `verify-store`: checks the hash chain of the stored evidence.

use shoko_collector::config::CollectorConfig;
use shoko_collector::evidence::chain::{self, ChainReport};
use shoko_collector::server::open_store_read_only;
use std::io::IsTerminal;
use std::path::Path;

/// Stored evidence or a bundle failed verification (exit code 4).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Tampered(pub String);

/// Checks the store's hash chain; prints the report (JSON with `json`); Tampered when anything is
/// wrong.
pub fn verify_store(data: &Path, json: bool) -> anyhow::Result<()> {
    let cfg = CollectorConfig::load(data)?;
    let store = open_store_read_only(data, &cfg)?;
    let terminal = std::io::stderr().is_terminal();
    let report = chain::verify(&*store, |done, total| {
        if terminal {
            eprint!("\rverifying agent {done}/{total}");
        }
    })?;
    if terminal {
        eprintln!();
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", summary(&report));
    }
    if report.intact() {
        Ok(())
    } else {
        Err(Tampered(format!(
            "the stored evidence fails verification: {} problems",
            report.problems.len()
        ))
        .into())
    }
}

/// The report as text: what was checked, each problem, each agent's head.
fn summary(r: &ChainReport) -> String {
    let mut out = format!(
        "{} agents, {} batches, {} observations verified; {} pruned by retention; {} batches stored before chaining\n",
        r.agents, r.batches, r.observations, r.pruned, r.unsealed
    );
    for p in &r.problems {
        let batch = p.seq.map(|s| format!(" batch {s}")).unwrap_or_default();
        out += &format!("TAMPERED agent {}{batch}: {}\n", p.agent_id, p.what);
    }
    for h in &r.heads {
        out += &format!("head {} #{} {}\n", h.agent_id, h.position, h.digest);
    }
    if r.intact() {
        out += "intact\n";
    }
    out
}
