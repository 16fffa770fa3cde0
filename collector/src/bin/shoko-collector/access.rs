//! `users`, `tokens` and `audit-log`: local accounts for the API and web UI, their API tokens,
//! and the audit log of every write.

use clap::{Args, Subcommand};
use shoko_collector::access::Accounts;
use shoko_collector::config::CollectorConfig;
use shoko_collector::listing::printable;
use shoko_collector::server::{open_store, open_store_read_only};
use std::io::BufRead;
use std::path::PathBuf;

/// A data directory and who makes a change there (for the audit log).
#[derive(Args)]
pub struct Change {
    /// Data directory.
    #[arg(long)]
    pub data: PathBuf,
    /// Who does it (audit log; default $USER).
    #[arg(long)]
    pub by: Option<String>,
}

impl Change {
    /// How the CLI appears in the audit log: `cli:` and who ran it.
    fn actor(&self) -> String {
        let who = self.by.clone().or_else(|| std::env::var("USER").ok());
        format!("cli:{}", who.unwrap_or_else(|| "unknown".into()))
    }

    /// The data directory's store, writable.
    fn store(&self) -> anyhow::Result<std::sync::Arc<dyn shoko_collector::store::Store>> {
        open_store(&self.data, &CollectorConfig::load(&self.data)?)
    }
}

/// A data directory to list from, as text or JSON.
#[derive(Args)]
pub struct Listing {
    /// Data directory.
    #[arg(long)]
    pub data: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// User management.
#[derive(Subcommand)]
pub enum UsersAction {
    /// Add a user with a role: admin (everything), operator (reads, exports, decides changes) or
    /// auditor (reads and exports only). The password is read from the first line of standard
    /// input (at least 12 characters), hashed with Argon2id.
    Add {
        #[command(flatten)]
        change: Change,
        /// Login name.
        #[arg(long)]
        name: String,
        /// admin, operator or auditor.
        #[arg(long)]
        role: String,
    },
    /// List users and their roles.
    List(Listing),
    /// Disable a user: its sessions and tokens stop working at once.
    Disable {
        #[command(flatten)]
        change: Change,
        /// Login name.
        #[arg(long)]
        name: String,
    },
}

/// API token management.
#[derive(Subcommand)]
pub enum TokensAction {
    /// Create an API token for a user (sent as `Authorization: Bearer TOKEN`); the token is
    /// printed once and only its SHA-256 is kept.
    Create {
        #[command(flatten)]
        change: Change,
        /// The user it acts as (and with whose role).
        #[arg(long)]
        user: String,
        /// A name saying what uses it.
        #[arg(long)]
        name: String,
        /// Days it stays valid (default: until revoked).
        #[arg(long)]
        days: Option<u32>,
    },
    /// List tokens and sessions.
    List(Listing),
    /// Revoke a token or session by id.
    Revoke {
        #[command(flatten)]
        change: Change,
        /// Its id (see `tokens list`).
        #[arg(long)]
        id: i64,
    },
}

/// `users ...`.
pub fn users(action: UsersAction) -> anyhow::Result<()> {
    match action {
        UsersAction::Add { change, name, role } => {
            let store = change.store()?;
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            let id =
                Accounts::new(store.as_ref()).add_user(&name, &role, password, &change.actor(), "cli")?;
            println!("user {name:?} added as {role} (id {id})");
        }
        UsersAction::List(Listing { data, json }) => {
            let store = open_store_read_only(&data, &CollectorConfig::load(&data)?)?;
            let users = Accounts::new(store.as_ref()).users()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                for u in users {
                    let state = u
                        .disabled_at
                        .map(|t| format!("disabled {t}"))
                        .unwrap_or_else(|| "active".into());
                    println!("{:<4} {:<24} {:<9} {state}", u.id, u.name, u.role);
                }
            }
        }
        UsersAction::Disable { change, name } => {
            Accounts::new(change.store()?.as_ref()).disable_user(&name, &change.actor(), "cli")?;
            println!("user {name:?} disabled");
        }
    }
    Ok(())
}

/// `tokens ...`.
pub fn tokens(action: TokensAction) -> anyhow::Result<()> {
    match action {
        TokensAction::Create {
            change,
            user,
            name,
            days,
        } => {
            let store = change.store()?;
            let (id, secret) =
                Accounts::new(store.as_ref()).create_token(&user, &name, days, &change.actor(), "cli")?;
            eprintln!("token {id} for user {user:?} ({name}); it is shown once:");
            println!("{secret}");
        }
        TokensAction::List(Listing { data, json }) => {
            let store = open_store_read_only(&data, &CollectorConfig::load(&data)?)?;
            let credentials = Accounts::new(store.as_ref()).credentials()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&credentials)?);
            } else {
                for c in credentials {
                    let state = match (c.revoked_at, c.expires_at) {
                        (Some(t), _) => format!("revoked {t}"),
                        (None, Some(t)) => format!("expires {t}"),
                        (None, None) => "valid until revoked".into(),
                    };
                    println!("{:<4} {:<8} {:<20} {:<24} {state}", c.id, c.kind, c.user, c.name);
                }
            }
        }
        TokensAction::Revoke { change, id } => {
            Accounts::new(change.store()?.as_ref()).revoke(id, &change.actor(), "cli")?;
            println!("credential {id} revoked");
        }
    }
    Ok(())
}

/// `audit-log`: the newest entries, newest first.
pub fn audit_log(data: &std::path::Path, limit: u32, json: bool) -> anyhow::Result<()> {
    let store = open_store_read_only(data, &CollectorConfig::load(data)?)?;
    let entries = store.audit_log(limit)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else {
        for e in entries {
            println!(
                "{} {} {} {} {} ({})",
                e.at,
                printable(&e.actor),
                printable(&e.action),
                printable(&e.target),
                printable(&e.detail),
                printable(&e.source)
            );
        }
    }
    Ok(())
}
