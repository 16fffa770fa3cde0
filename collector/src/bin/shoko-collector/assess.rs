//! `shoko-collector findings|assess|explain`: the rules' findings for one period, the maturity
//! scores (saved with their evidence digest), and the derivation of one requirement's score.

use clap::Args;
use shoko_collector::assess::Basis;
use shoko_collector::assess::catalog::MIN_PERIOD_DAYS;
use shoko_collector::assess::explain::{explain, scores_table};
use shoko_collector::assess::rules::{self, Inputs, Period};
use shoko_collector::assess::score::assess;
use shoko_collector::config::CollectorConfig;
use shoko_collector::listing::findings_table;
use shoko_collector::server::{open_store, open_store_read_only};
use shoko_collector::store::{SavedAssessment, Store};
use shoko_proto::Timestamp;
use std::path::PathBuf;
use std::sync::Arc;

/// Which data directory and which periods.
#[derive(Args)]
pub struct Window {
    /// Data directory.
    #[arg(long)]
    pub data: PathBuf,
    /// Length of one period: `7d`, `2w`, or days (default: the catalog's, 7 days).
    #[arg(long, value_parser = parse_period)]
    pub period: Option<u32>,
    /// End of the latest period (RFC 3339; default now).
    #[arg(long, value_parser = parse_time)]
    pub at: Option<Timestamp>,
}

/// Where to assess and which periods, and how to print.
#[derive(Args)]
pub struct Scope {
    #[command(flatten)]
    pub window: Window,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// What the rules and scores read, loaded from a data directory.
pub struct Loaded {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Catalog and declared zones.
    pub basis: Basis,
}

impl Loaded {
    /// Loads the catalog, the declared zones and the store (read-only unless `write`).
    pub fn open(window: &Window, write: bool) -> anyhow::Result<Self> {
        let cfg = CollectorConfig::load(&window.data)?;
        let basis = Basis::load(&window.data, &cfg)?;
        let store = if write {
            open_store(&window.data, &cfg)?
        } else {
            open_store_read_only(&window.data, &cfg)?
        };
        Ok(Loaded { store, basis })
    }

    /// What the rules read.
    pub fn inputs(&self) -> Inputs<'_> {
        self.basis.inputs(self.store.as_ref())
    }

    /// Days per period: the option's, or the catalog's.
    pub fn days(&self, window: &Window) -> u32 {
        window.period.unwrap_or(self.basis.catalog.scoring.period_days)
    }

    /// The catalog's spelling of a requirement id.
    pub fn requirement(&self, id: &str) -> anyhow::Result<String> {
        let catalog = &self.basis.catalog;
        Ok(catalog
            .requirement(id)
            .ok_or_else(|| anyhow::anyhow!("{id:?} is not a requirement of catalog {}", catalog.version))?
            .id
            .clone())
    }
}

/// `findings`: the rules' findings over one period.
pub fn findings(scope: &Scope, requirement: Option<&str>) -> anyhow::Result<()> {
    let loaded = Loaded::open(&scope.window, false)?;
    let days = loaded.days(&scope.window);
    let period = Period::ending(scope.window.at.unwrap_or_else(Timestamp::now), days);
    let mut findings = rules::evaluate(&loaded.inputs(), period)?;
    if let Some(r) = requirement {
        let id = loaded.requirement(r)?;
        findings.retain(|f| f.requirement == id);
    }
    if scope.json {
        println!("{}", serde_json::to_string_pretty(&findings)?);
    } else {
        print!("{}", findings_table(&findings));
    }
    Ok(())
}

/// `assess`: scores every requirement and saves the assessment unless told not to.
pub fn run_assess(scope: &Scope, save: bool) -> anyhow::Result<()> {
    let loaded = Loaded::open(&scope.window, save)?;
    let days = loaded.days(&scope.window);
    let at = scope.window.at.unwrap_or_else(Timestamp::now);
    let derivation = assess(&loaded.inputs(), at, days)?;
    let a = &derivation.assessment;
    let body = serde_json::to_string(a)?;
    let saved = if save {
        Some(loaded.store.save_assessment(&SavedAssessment {
            id: 0,
            assessed_at: Timestamp::now(),
            period_end: at,
            period_days: days,
            catalog_version: a.catalog_version.clone(),
            digest: a.digest.clone(),
            body: body.clone(),
        })?)
    } else {
        None
    };
    if scope.json {
        println!("{body}");
    } else {
        print!("{}", scores_table(a));
        if let Some(id) = saved {
            println!("saved as assessment {id}");
        }
    }
    Ok(())
}

/// `explain`: the derivation of one requirement's score.
pub fn run_explain(scope: &Scope, requirement: &str) -> anyhow::Result<()> {
    let loaded = Loaded::open(&scope.window, false)?;
    let id = loaded.requirement(requirement)?;
    let days = loaded.days(&scope.window);
    let derivation = assess(
        &loaded.inputs(),
        scope.window.at.unwrap_or_else(Timestamp::now),
        days,
    )?;
    let explanation = explain(&derivation, &id).ok_or_else(|| anyhow::anyhow!("{id}: not assessed"))?;
    if scope.json {
        println!("{}", serde_json::to_string_pretty(&explanation)?);
    } else {
        print!("{explanation}");
    }
    Ok(())
}

/// `7d`, `2w` or `7` as days.
fn parse_period(s: &str) -> Result<u32, String> {
    let (n, unit) = match s.strip_suffix('d') {
        Some(n) => (n, 1),
        None => s.strip_suffix('w').map_or((s, 1), |n| (n, 7)),
    };
    let days = n
        .parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| format!("{s:?} is not a period (7d, 2w or a number of days)"))?;
    if days < MIN_PERIOD_DAYS {
        return Err(format!(
            "{s:?}: periods shorter than {MIN_PERIOD_DAYS} days are refused (four of them must span a month of practice)"
        ));
    }
    Ok(days)
}

/// An RFC 3339 time.
pub fn parse_time(s: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(s).ok_or_else(|| format!("{s:?} is not an RFC 3339 time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_days_or_weeks() {
        assert_eq!(parse_period("7d"), Ok(7));
        assert_eq!(parse_period("2w"), Ok(14));
        assert_eq!(parse_period("30"), Ok(30));
        assert!(parse_period("0d").is_err());
        assert!(parse_period("week").is_err());
        // Four one-day periods are no month of practice.
        assert_eq!(
            parse_period("1d"),
            Err("\"1d\": periods shorter than 7 days are refused (four of them must span a month of practice)".into())
        );
        assert!(parse_period("6").is_err());
    }
}
