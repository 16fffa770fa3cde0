//! Records of issued and revoked agent certificates.

use super::{PkiPaths, write_atomic};
use serde::{Deserialize, Serialize};
use shoko_proto::Timestamp;

/// One issued agent certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCert {
    /// Agent id (certificate common name).
    pub agent_id: String,
    /// Serial number, lowercase hex.
    pub serial: String,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it expires.
    pub not_after: Timestamp,
}

/// One revoked agent certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedCert {
    /// Agent id.
    pub agent_id: String,
    /// Serial number, lowercase hex.
    pub serial: String,
    /// When it was revoked.
    pub revoked_at: Timestamp,
}

/// The issued and revoked lists.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// Issued certificates, oldest first.
    pub issued: Vec<IssuedCert>,
    /// Revoked certificates, oldest first.
    pub revoked: Vec<RevokedCert>,
}

fn read_list<T: for<'de> Deserialize<'de>>(path: &std::path::Path) -> anyhow::Result<Vec<T>> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| anyhow::anyhow!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
    }
}

impl Registry {
    /// Loads both lists (missing files are empty lists).
    pub fn load(paths: &PkiPaths) -> anyhow::Result<Self> {
        Ok(Registry {
            issued: read_list(&paths.issued())?,
            revoked: read_list(&paths.revoked())?,
        })
    }

    /// Saves both lists atomically.
    pub fn save(&self, paths: &PkiPaths) -> anyhow::Result<()> {
        write_atomic(&paths.issued(), &serde_json::to_vec_pretty(&self.issued)?, false)?;
        write_atomic(
            &paths.revoked(),
            &serde_json::to_vec_pretty(&self.revoked)?,
            false,
        )?;
        Ok(())
    }

    /// True when the serial (lowercase hex) is revoked.
    pub fn is_revoked(&self, serial: &str) -> bool {
        self.revoked.iter().any(|r| r.serial == serial)
    }
}
