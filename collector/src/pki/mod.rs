//! The collector's small PKI: a CA created by `init`, the server certificate agents check, agent
//! certificates issued by `enroll`, and a CRL rewritten by `revoke` that the running server picks up
//! without a restart.
//!
//! Files under `DATA/pki/`: `ca.crt`, `ca.key`, `server.crt`, `server.key`, `crl.pem`,
//! `issued.json` (certificates issued), `revoked.json` (certificates revoked).

pub mod authority;
pub mod registry;
pub mod signing;
pub mod tls;

pub use authority::{Authority, ServerNames};
pub use registry::{IssuedCert, Registry, RevokedCert};

use std::path::{Path, PathBuf};

/// Paths of the PKI files in a data directory.
#[derive(Debug, Clone)]
pub struct PkiPaths {
    /// The `pki` directory.
    pub dir: PathBuf,
}

impl PkiPaths {
    /// The PKI directory of a data directory.
    pub fn new(data: &Path) -> Self {
        PkiPaths {
            dir: data.join("pki"),
        }
    }
    /// CA certificate.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }
    /// CA private key.
    pub fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }
    /// Server certificate.
    pub fn server_cert(&self) -> PathBuf {
        self.dir.join("server.crt")
    }
    /// Server private key.
    pub fn server_key(&self) -> PathBuf {
        self.dir.join("server.key")
    }
    /// Certificate revocation list.
    pub fn crl(&self) -> PathBuf {
        self.dir.join("crl.pem")
    }
    /// Issued certificates.
    pub fn issued(&self) -> PathBuf {
        self.dir.join("issued.json")
    }
    /// Revoked certificates.
    pub fn revoked(&self) -> PathBuf {
        self.dir.join("revoked.json")
    }
}

/// Writes `data` to `path` atomically (temporary file, fsync, rename), with mode 0600 when
/// `private` is set.
pub fn write_atomic(path: &Path, data: &[u8], private: bool) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    if private {
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Checks an agent id: 1 to 64 characters of `A-Z a-z 0-9 . _ -`, not starting with `.` or `-`.
pub fn validate_agent_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && !id.starts_with(['.', '-']);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid agent id {id:?}: use 1-64 characters of letters, digits, '.', '_' and '-', not starting with '.' or '-'"
        ))
    }
}
