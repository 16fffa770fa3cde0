//! Assessment against IEC 62443-2-1:2024: the requirement catalog (`catalog`), the declared state
//! the observations are compared with (`declared`: zones, conduits, allowed services) and what
//! people attest (`attest`: documents, mitigations, not-applicable statements); the rules engine
//! (`rules`) evaluates subjects per period into findings with their evidence; `score` turns the
//! findings of consecutive periods and the attestations into maturity levels, and `explain`
//! shows them.

use crate::config::CollectorConfig;
use crate::store::Store;
use catalog::Catalog;
use declared::Declared;
use std::path::Path;

pub mod attest;
pub mod catalog;
pub mod declared;
pub mod explain;
pub mod rules;
pub mod score;

/// The catalog collector.toml names (the embedded one by default).
pub fn load_catalog(data: &Path, cfg: &CollectorConfig) -> anyhow::Result<Catalog> {
    let path = cfg.catalog.as_deref().map(|p| CollectorConfig::path_in(data, p));
    Ok(Catalog::load(path.as_deref())?)
}

/// What assessments are made against: the catalog and the declared zones collector.toml names.
#[derive(Debug, Clone)]
pub struct Basis {
    /// The requirement catalog (the embedded one unless `catalog` names a file).
    pub catalog: Catalog,
    /// The declared zones and conduits (`zones`), if any.
    pub declared: Option<Declared>,
}

impl Basis {
    /// Loads the catalog and the declared zones of a data directory's configuration.
    pub fn load(data: &Path, cfg: &CollectorConfig) -> anyhow::Result<Self> {
        let declared = match &cfg.zones {
            Some(p) => Some(Declared::load(&CollectorConfig::path_in(data, p))?),
            None => None,
        };
        Ok(Basis {
            catalog: load_catalog(data, cfg)?,
            declared,
        })
    }

    /// The rules' inputs over `store`.
    pub fn inputs<'a>(&'a self, store: &'a dyn Store) -> rules::Inputs<'a> {
        rules::Inputs {
            store,
            catalog: &self.catalog,
            declared: self.declared.as_ref(),
        }
    }
}
