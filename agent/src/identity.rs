//! The agent's identity bundle: a directory written by `shoko-collector enroll` holding the agent's
//! certificate and key, the collector CA, and `identity.toml` saying where the collector is.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name of the bundle's description inside the bundle directory.
pub const IDENTITY_FILE: &str = "identity.toml";

/// Contents of `identity.toml`. Relative paths are relative to the bundle directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityFile {
    /// The agent id (the certificate's common name).
    pub agent_id: String,
    /// The collector's ingest address, `host:port`.
    pub collector: String,
    /// The name the collector's certificate is checked against.
    pub server_name: String,
    /// Agent certificate (PEM).
    pub certificate: PathBuf,
    /// Agent private key (PEM).
    pub key: PathBuf,
    /// Collector CA certificate (PEM).
    pub ca: PathBuf,
}

/// A loaded identity bundle with its paths resolved.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The description, with absolute paths.
    pub file: IdentityFile,
}

/// Why a bundle could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The description file is missing or unreadable.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The description file is not valid.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Identity {
    /// Loads the bundle in `dir`.
    pub fn load(dir: &Path) -> Result<Self, IdentityError> {
        let path = dir.join(IDENTITY_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| IdentityError::Read {
            path: path.clone(),
            source,
        })?;
        let mut file: IdentityFile = toml::from_str(&text).map_err(|e| IdentityError::Invalid {
            path: path.clone(),
            message: e.to_string(),
        })?;
        for p in [&mut file.certificate, &mut file.key, &mut file.ca] {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
        Ok(Identity { file })
    }
}
