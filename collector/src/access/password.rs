//! Passwords: Argon2id (the argon2 crate's defaults, a random salt per password) in PHC strings.
//! Verification reuses one memory area per [`Verifier`] (19 MiB at the defaults), so checking
//! passwords never allocates; the login guard keeps a few and lends them out.

use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use prometheus_client::metrics::counter::Counter;
use std::sync::LazyLock;

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 12;

/// The most memory a stored hash may ask for (64 MiB): a hash asking more is not ours.
const MAX_BLOCKS: usize = 64 * 1024;

/// A hash of a random password, checked for users that do not exist so that they cost the same
/// single verification as those that do.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut bytes = [0u8; 24];
    let _ = SystemRandom::new().fill(&mut bytes);
    hash(&hex::encode(bytes)).unwrap_or_default()
});

/// The hash to check a login against when the user does not exist.
pub fn dummy_hash() -> &'static str {
    &DUMMY_HASH
}

/// Hashes a password; refuses one shorter than [`MIN_LENGTH`] characters.
pub fn hash(password: &str) -> Result<String, String> {
    if password.chars().count() < MIN_LENGTH {
        return Err(format!("passwords have at least {MIN_LENGTH} characters"));
    }
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| "no randomness from the system".to_string())?;
    let salt = SaltString::encode_b64(&bytes).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Checks passwords against PHC strings in memory of its own, counting every check.
pub struct Verifier {
    memory: Vec<Block>,
    checks: Counter,
}

impl Verifier {
    /// A verifier with memory for the default parameters; `checks` counts verifications.
    pub fn new(checks: Counter) -> Self {
        Verifier {
            memory: vec![Block::default(); Params::default().block_count()],
            checks,
        }
    }

    /// True when `password` matches the PHC string `stored`. Runs Argon2 once whenever `stored`
    /// is a well-formed Argon2 hash.
    pub fn verify(&mut self, password: &str, stored: &str) -> bool {
        let Ok(h) = PasswordHash::new(stored) else {
            return false;
        };
        let (Some(expected), Some(salt)) = (h.hash, h.salt) else {
            return false;
        };
        let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(h.algorithm), Params::try_from(&h)) else {
            return false;
        };
        let version = h.version.map_or(Ok(Version::default()), Version::try_from);
        let mut salt_bytes = [0u8; 64];
        let (Ok(version), Ok(salt)) = (version, salt.decode_b64(&mut salt_bytes)) else {
            return false;
        };
        let blocks = params.block_count();
        if blocks > MAX_BLOCKS {
            return false;
        }
        if self.memory.len() < blocks {
            self.memory.resize(blocks, Block::default());
        }
        self.checks.inc();
        let mut out = vec![0u8; expected.len()];
        Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut self.memory[..blocks])
            .is_ok()
            && Output::new(&out).is_ok_and(|o| o == expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_hash_only() {
        let checks = Counter::default();
        let mut v = Verifier::new(checks.clone());
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(v.verify("correct horse battery", &h));
        assert!(!v.verify("correct horse batterY", &h));
        assert!(!v.verify("correct horse battery", "not a hash"));
        assert_eq!(checks.get(), 2, "a malformed hash costs no Argon2 run");
        assert_ne!(h, hash("correct horse battery").unwrap(), "salted");
        assert!(hash("short").is_err());
        // The dummy hash has the parameters of a real one: the same cost.
        let params = |s: &str| {
            Params::try_from(&PasswordHash::new(s).unwrap())
                .unwrap()
                .block_count()
        };
        assert_eq!(params(dummy_hash()), params(&h));
        assert!(!v.verify("correct horse battery", dummy_hash()));
        assert_eq!(checks.get(), 3);
    }
}
