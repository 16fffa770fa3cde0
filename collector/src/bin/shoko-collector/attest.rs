//! `shoko-collector attest document|record|mitigation|not-applicable|countersign|list|revoke`:
//! attestations, kept apart from observations, each with who and when and in the audit log.
//! Documents, not-applicable statements and mitigations of known-exploited vulnerabilities take
//! effect once a second administrator countersigns them.

use anyhow::Context;
use clap::Subcommand;
use shoko_collector::access::Accounts;
use shoko_collector::assess::attest::NewAttestation;
use shoko_collector::assess::load_catalog;
use shoko_collector::config::CollectorConfig;
use shoko_collector::listing::attestation_table;
use shoko_collector::server::{open_store, open_store_read_only};
use shoko_proto::Timestamp;
use std::path::{Path, PathBuf};

/// The attest commands.
#[derive(Subcommand)]
pub enum AttestAction {
    /// Record a document covering a requirement or group: procedure, policy, drawing or record of
    /// practice, with its version, owner, approval and next-review dates and the SHA-256 of the file.
    Document {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Requirement (`CM 1.4`, `CM-1.4`) or group (`CM 1`) it covers.
        #[arg(long)]
        requirement: String,
        /// Title.
        #[arg(long)]
        title: String,
        /// Version.
        #[arg(long)]
        version: String,
        /// Owner (role or person).
        #[arg(long)]
        owner: String,
        /// Approval date (YYYY-MM-DD).
        #[arg(long)]
        approved: String,
        /// Next review date (YYYY-MM-DD); the document stops counting after it.
        #[arg(long)]
        next_review: String,
        /// The document's file (its SHA-256 and name are recorded, not the file).
        #[arg(long)]
        file: PathBuf,
        /// Who attests.
        #[arg(long)]
        by: String,
    },
    /// Record that the procedure of a requirement or group was carried out on a day (a
    /// disconnection test, a commissioning scan), with the SHA-256 of the record's file: evidence of
    /// practice for requirements telemetry cannot show.
    Record {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Requirement or group.
        #[arg(long)]
        requirement: String,
        /// What was done.
        #[arg(long)]
        title: String,
        /// The day it was done (YYYY-MM-DD).
        #[arg(long)]
        performed: String,
        /// The record's file (its SHA-256 and name are recorded, not the file).
        #[arg(long)]
        file: PathBuf,
        /// Who attests.
        #[arg(long)]
        by: String,
    },
    /// Record a compensating control for an asset (`asset:ID`) or a vulnerability
    /// (`vulnerability:CVE-...` or an advisory id), until it expires.
    Mitigation {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// `asset:ID` or `vulnerability:ID`.
        #[arg(long)]
        target: String,
        /// The compensating control.
        #[arg(long)]
        control: String,
        /// Expiry date (YYYY-MM-DD).
        #[arg(long)]
        expires: String,
        /// Who attests.
        #[arg(long)]
        by: String,
    },
    /// Record that a requirement or group does not apply, with the reason.
    NotApplicable {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Requirement or group.
        #[arg(long)]
        requirement: String,
        /// Why it does not apply.
        #[arg(long)]
        reason: String,
        /// Who attests.
        #[arg(long)]
        by: String,
    },
    /// Countersign an attestation as a second administrator (four eyes): documents,
    /// not-applicable statements and mitigations of known-exploited vulnerabilities count for
    /// scoring only once countersigned by an administrator other than the one who attested. The
    /// administrator authenticates with their own API token, read from the environment variable
    /// SHOKO_TOKEN or else the first line of standard input.
    Countersign {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Attestation id.
        #[arg(long)]
        id: i64,
    },
    /// List attestations (revoked ones marked).
    List(crate::access::Listing),
    /// Revoke an attestation (it stays listed, marked revoked, with who, when and why).
    Revoke {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Attestation id.
        #[arg(long)]
        id: i64,
        /// Who revokes it.
        #[arg(long)]
        by: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
}

/// Stores an attestation, audits it and says so.
fn record(data: &Path, cfg: &CollectorConfig, a: anyhow::Result<NewAttestation>) -> anyhow::Result<()> {
    let a = a?;
    let store = open_store(data, cfg)?;
    let id = store.attest(&a)?;
    Accounts::new(store.as_ref()).audit(
        &format!("cli:{}", a.by),
        "attestation_recorded",
        &format!("attestation:{id}"),
        &format!("{} {}", a.statement.kind.as_str(), a.statement.scope),
        "cli",
    )?;
    println!(
        "attestation {id} recorded: {} {} by {}",
        a.statement.kind.as_str(),
        a.statement.scope,
        a.by
    );
    Ok(())
}

/// Runs an attest command.
pub fn run(action: AttestAction) -> anyhow::Result<()> {
    let now = Timestamp::now();
    let err = |e: String| anyhow::anyhow!(e);
    match action {
        AttestAction::Document {
            data,
            requirement,
            title,
            version,
            owner,
            approved,
            next_review,
            file,
            by,
        } => {
            let cfg = CollectorConfig::load(&data)?;
            let catalog = load_catalog(&data, &cfg)?;
            let a = NewAttestation::document(
                &catalog,
                &requirement,
                &title,
                (&version, &owner),
                (&approved, &next_review),
                &file,
                (&by, now),
            );
            record(&data, &cfg, a.map_err(err))
        }
        AttestAction::Record {
            data,
            requirement,
            title,
            performed,
            file,
            by,
        } => {
            let cfg = CollectorConfig::load(&data)?;
            let catalog = load_catalog(&data, &cfg)?;
            let a = NewAttestation::record(&catalog, &requirement, &title, &performed, &file, (&by, now));
            record(&data, &cfg, a.map_err(err))
        }
        AttestAction::Mitigation {
            data,
            target,
            control,
            expires,
            by,
        } => {
            let cfg = CollectorConfig::load(&data)?;
            record(
                &data,
                &cfg,
                NewAttestation::mitigation(&target, &control, &expires, (&by, now)).map_err(err),
            )
        }
        AttestAction::NotApplicable {
            data,
            requirement,
            reason,
            by,
        } => {
            let cfg = CollectorConfig::load(&data)?;
            let catalog = load_catalog(&data, &cfg)?;
            let a = NewAttestation::not_applicable(&catalog, &requirement, &reason, (&by, now));
            record(&data, &cfg, a.map_err(err))
        }
        AttestAction::List(crate::access::Listing { data, json }) => {
            let cfg = CollectorConfig::load(&data)?;
            let all = open_store_read_only(&data, &cfg)?.attestations()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                print!("{}", attestation_table(&all));
            }
            Ok(())
        }
        AttestAction::Revoke { data, id, by, reason } => {
            let cfg = CollectorConfig::load(&data)?;
            let store = open_store(&data, &cfg)?;
            store
                .revoke_attestation(id, &by, now, &reason)
                .with_context(|| format!("revoking attestation {id}"))?;
            Accounts::new(store.as_ref()).audit(
                &format!("cli:{by}"),
                "attestation_revoked",
                &format!("attestation:{id}"),
                &reason,
                "cli",
            )?;
            println!("attestation {id} revoked by {by}");
            Ok(())
        }
        AttestAction::Countersign { data, id } => {
            let cfg = CollectorConfig::load(&data)?;
            let token = match std::env::var("SHOKO_TOKEN") {
                Ok(t) => t,
                Err(_) => {
                    let mut line = String::new();
                    std::io::BufRead::read_line(&mut std::io::stdin().lock(), &mut line)?;
                    line
                }
            };
            let store = open_store(&data, &cfg)?;
            let accounts = Accounts::new(store.as_ref());
            let approver = accounts
                .authenticate(token.trim())?
                .ok_or_else(|| anyhow::anyhow!("the token is unknown, expired or revoked"))?;
            let a = accounts.countersign(id, &approver, "cli")?;
            println!(
                "attestation {id} ({} {}, attested by {}) countersigned by {}",
                a.statement.kind.as_str(),
                a.statement.scope,
                a.attested_by,
                approver.user
            );
            Ok(())
        }
    }
}
