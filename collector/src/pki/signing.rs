//! The collector's Ed25519 evidence-signing key: `pki/evidence.key` (PKCS#8 PEM, mode 0600),
//! created on first use, and `pki/evidence.pub` (SubjectPublicKeyInfo PEM), which auditors keep
//! to check bundles offline.

use super::{PkiPaths, write_atomic};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the 32-byte key follows.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// What can go wrong with a signing or verifying key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A key file holds no usable key.
    #[error("{path}: {what}")]
    Invalid {
        /// The file (or what held the key).
        path: String,
        /// What is wrong.
        what: String,
    },
}

/// The evidence-signing key pair.
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public().fingerprint())
    }
}

impl SigningKey {
    /// The private key's file.
    pub fn key_path(paths: &PkiPaths) -> PathBuf {
        paths.dir.join("evidence.key")
    }

    /// The public key's file.
    pub fn public_path(paths: &PkiPaths) -> PathBuf {
        paths.dir.join("evidence.pub")
    }

    /// Loads the data directory's key, creating it (and its public file) when there is none.
    pub fn load_or_create(paths: &PkiPaths) -> Result<Self, KeyError> {
        let path = Self::key_path(paths);
        if path.exists() {
            return Self::load(&path);
        }
        let invalid = |what: String| KeyError::Invalid {
            path: path.display().to_string(),
            what,
        };
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|e| invalid(format!("generating a key: {e}")))?;
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref()));
        std::fs::create_dir_all(&paths.dir).map_err(|source| KeyError::Io {
            path: paths.dir.clone(),
            source,
        })?;
        write_atomic(&path, pem.as_bytes(), true).map_err(|source| KeyError::Io {
            path: path.clone(),
            source,
        })?;
        let key = Self::load(&path)?;
        let public = Self::public_path(paths);
        write_atomic(&public, key.public().to_pem().as_bytes(), false)
            .map_err(|source| KeyError::Io { path: public, source })?;
        tracing::info!(key = %path.display(), fingerprint = %key.public().fingerprint(), "created the evidence-signing key");
        Ok(key)
    }

    /// Loads a PKCS#8 PEM Ed25519 private key.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read(path).map_err(|source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let invalid = |what: String| KeyError::Invalid {
            path: path.display().to_string(),
            what,
        };
        let pem = pem::parse(&text).map_err(|e| invalid(format!("not PEM: {e}")))?;
        let pair = Ed25519KeyPair::from_pkcs8(pem.contents())
            .map_err(|e| invalid(format!("not an Ed25519 PKCS#8 key: {e}")))?;
        Ok(SigningKey { pair })
    }

    /// Signs a message (64 bytes).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        let mut raw = [0u8; 32];
        raw.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(raw)
    }
}

/// An Ed25519 public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// Parses a SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`); `origin` names it in
    /// errors.
    pub fn from_pem(text: &[u8], origin: &str) -> Result<Self, KeyError> {
        let invalid = |what: &str| KeyError::Invalid {
            path: origin.to_string(),
            what: what.to_string(),
        };
        let pem = pem::parse(text).map_err(|_| invalid("not a PEM public key"))?;
        let der = pem.contents();
        match der.strip_prefix(SPKI_PREFIX.as_slice()) {
            Some(raw) if pem.tag() == "PUBLIC KEY" && raw.len() == 32 => {
                let mut key = [0u8; 32];
                key.copy_from_slice(raw);
                Ok(PublicKey(key))
            }
            _ => Err(invalid("not an Ed25519 public key")),
        }
    }

    /// Reads a public key file.
    pub fn read(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read(path).map_err(|source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_pem(&text, &path.display().to_string())
    }

    /// SubjectPublicKeyInfo PEM.
    pub fn to_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.0);
        pem::encode(&pem::Pem::new("PUBLIC KEY", der))
    }

    /// `SHA256:` and the hex SHA-256 of the raw key: how people compare keys.
    pub fn fingerprint(&self) -> String {
        format!("SHA256:{}", hex::encode(Sha256::digest(self.0)))
    }

    /// True when `signature` is this key's signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, self.0)
            .verify(message, signature)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::encoding::AsDer;

    #[test]
    fn a_created_key_signs_and_its_public_file_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let paths = PkiPaths::new(dir.path());
        let key = SigningKey::load_or_create(&paths).unwrap();
        let der = key.pair.public_key().as_der().unwrap();
        assert_eq!(&der.as_ref()[..12], SPKI_PREFIX.as_slice());
        let public = PublicKey::read(&SigningKey::public_path(&paths)).unwrap();
        assert_eq!(public, key.public());
        let signature = key.sign(b"manifest");
        assert!(public.verify(b"manifest", &signature));
        assert!(!public.verify(b"manifesT", &signature));
        // Loaded again, the same key.
        assert_eq!(SigningKey::load_or_create(&paths).unwrap().public(), public);
        let mode = std::fs::metadata(SigningKey::key_path(&paths)).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
            0o600
        );
        assert!(PublicKey::from_pem(b"junk", "x").is_err());
    }
}
