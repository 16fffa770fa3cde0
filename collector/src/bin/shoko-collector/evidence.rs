//! `report`, `export-evidence`, `verify-bundle` and `verify-store`: what an auditor takes away
//! and how they check it.

use crate::assess::{Loaded, Window};
use clap::ValueEnum;
use shoko_collector::config::CollectorConfig;
use shoko_collector::evidence::bundle::{self, BundleCheck};
use shoko_collector::evidence::chain::{self, ChainReport};
use shoko_collector::pki::PkiPaths;
use shoko_collector::pki::signing::{PublicKey, SigningKey};
use shoko_collector::report::{Built, Report, csv, html};
use shoko_collector::server::open_store_read_only;
use shoko_proto::Timestamp;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// A report's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One self-contained, printable page.
    Html,
    /// The whole report as JSON.
    Json,
    /// One table as CSV (`--table`).
    Csv,
}

/// Progress of a long offline run, on stderr.
fn step(what: &str) {
    eprintln!("{what}");
}

/// Loads the data directory and builds the report for `requirements` (catalog ids; all when
/// empty).
fn build(window: &Window, requirements: &[String]) -> anyhow::Result<(Loaded, Built)> {
    let loaded = Loaded::open(window, false)?;
    let requirements = requirements
        .iter()
        .map(|r| loaded.requirement(r))
        .collect::<anyhow::Result<Vec<_>>>()?;
    step("assessing the periods and gathering the inventory, changes and vulnerabilities");
    let days = loaded.days(window);
    let at = window.at.unwrap_or_else(Timestamp::now);
    let built = Report::build(&loaded.inputs(), at, days, &requirements)?;
    Ok((loaded, built))
}

/// `report`: writes the report as HTML, JSON or one CSV table (format from `--format`, else
/// from the file's extension).
pub fn report(
    window: &Window,
    requirements: &[String],
    out: &Path,
    format: Option<Format>,
    table: csv::Table,
) -> anyhow::Result<()> {
    let format = format.unwrap_or(match out.extension().and_then(|e| e.to_str()) {
        Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        _ => Format::Html,
    });
    let (_, built) = build(window, requirements)?;
    let bytes = match format {
        Format::Html => html::render(&built.report).into_bytes(),
        Format::Json => serde_json::to_vec_pretty(&built.report)?,
        Format::Csv => csv::write(&built.report, table)?,
    };
    std::fs::write(out, bytes).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    println!(
        "report written to {} ({} requirements, {} assets, assessment digest {})",
        out.display(),
        built.report.scope.requirements.len(),
        built.report.scope.assets,
        built.report.appendix.assessment_digest
    );
    Ok(())
}

/// `export-evidence`: writes a signed evidence bundle.
pub fn export(window: &Window, requirements: &[String], out: &Path) -> anyhow::Result<()> {
    let key = SigningKey::load_or_create(&PkiPaths::new(&window.data))?;
    let (loaded, built) = build(window, requirements)?;
    step("collecting the findings' observations, change records and frames");
    let files = bundle::contents(loaded.store.as_ref(), &built)?;
    step("writing and signing the bundle");
    let manifest = bundle::write(out, loaded.store.as_ref(), &built, &files, &key)?;
    println!(
        "evidence bundle written to {}: {} files, {} requirements, signed by {} (public key: {})",
        out.display(),
        manifest.files.len(),
        manifest.requirements.len(),
        manifest.key_fingerprint,
        SigningKey::public_path(&PkiPaths::new(&window.data)).display()
    );
    Ok(())
}

/// `verify-bundle`: checks a bundle offline, and with `rescore` recomputes its levels from the
/// outcomes it records; Tampered when anything is wrong or a level differs.
pub fn verify_bundle(path: &Path, key: Option<&PathBuf>, json: bool, rescore: bool) -> anyhow::Result<()> {
    let key = key.map(|k| PublicKey::read(k)).transpose()?;
    let (check, rescored) = match rescore {
        true => bundle::rescore(path, key.as_ref())?,
        false => (bundle::verify(path, key.as_ref())?, Vec::new()),
    };
    if json {
        #[derive(serde::Serialize)]
        struct Verified<'a> {
            #[serde(flatten)]
            check: &'a bundle::BundleCheck,
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            rescored: &'a [bundle::Rescored],
        }
        let out = Verified {
            check: &check,
            rescored: &rescored,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for r in &rescored {
            match r.differences.is_empty() {
                true => println!("{} equal {}", r.requirement, r.recorded[0]),
                false => println!("{} DIFFERENT {}", r.requirement, r.differences.join("; ")),
            }
        }
        print!("{}", bundle_summary(path, &check));
    }
    let different = rescored.iter().filter(|r| !r.differences.is_empty()).count();
    if !check.intact() {
        Err(Tampered(format!(
            "{}: fails verification: {} problems",
            path.display(),
            check.problems.len()
        ))
        .into())
    } else if different > 0 {
        Err(Tampered(format!(
            "{}: {different} requirements score differently from the outcomes the bundle records",
            path.display()
        ))
        .into())
    } else {
        Ok(())
    }
}

/// A bundle check as text.
fn bundle_summary(path: &Path, c: &BundleCheck) -> String {
    let mut out = String::new();
    for p in &c.problems {
        out += &format!("TAMPERED {p}\n");
    }
    let whose = if c.pinned {
        "the key given"
    } else {
        "the key inside the bundle: integrity only; pass --key collector.pub to check who signed it"
    };
    out += &format!(
        "{}: {} files verified; signature checked with {} ({whose})\n",
        path.display(),
        c.files_verified,
        c.key_fingerprint
    );
    if c.intact() {
        out += "intact\n";
    }
    out
}

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
