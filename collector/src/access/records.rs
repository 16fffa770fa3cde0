//! What the store keeps for access control: users, credentials (sessions and API tokens, by the
//! SHA-256 of their secret) and audit log entries.

use serde::Serialize;
use shoko_proto::Timestamp;

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Login name.
    pub name: String,
    /// `admin`, `operator` or `auditor`.
    pub role: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// When created.
    pub created_at: Timestamp,
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRecord {
    /// Id.
    pub id: i64,
    /// Login name.
    pub name: String,
    /// `admin`, `operator` or `auditor`.
    pub role: String,
    /// Argon2id PHC string (never serialised).
    #[serde(skip)]
    pub password_hash: String,
    /// When created.
    pub created_at: Timestamp,
    /// When disabled (a disabled user's credentials stop working).
    pub disabled_at: Option<Timestamp>,
}

/// A credential to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    /// `session` or `token`.
    pub kind: String,
    /// A token's name, a session's client.
    pub name: String,
    /// Whose.
    pub user_id: i64,
    /// SHA-256 (hex) of the secret.
    pub secret_sha256: String,
    /// When created.
    pub created_at: Timestamp,
    /// When it stops working (none: until revoked).
    pub expires_at: Option<Timestamp>,
}

/// A stored credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialRecord {
    /// Id.
    pub id: i64,
    /// `session` or `token`.
    pub kind: String,
    /// A token's name, a session's client.
    pub name: String,
    /// Whose (user id).
    pub user_id: i64,
    /// Whose (login name).
    pub user: String,
    /// When created.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Option<Timestamp>,
    /// When revoked (logout, `tokens revoke`).
    pub revoked_at: Option<Timestamp>,
}

/// One audit log entry: who did what to what, when, from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Id (ignored when recording).
    pub id: i64,
    /// When.
    pub at: Timestamp,
    /// Who (`user:NAME`, `cli:NAME`).
    pub actor: String,
    /// What (`user_added`, `token_created`, `login`, `login_failed`, `change_decided` ...).
    pub action: String,
    /// On what (`user:NAME`, `token:ID`, `change:ID`).
    pub target: String,
    /// Details.
    pub detail: String,
    /// From where (`cli`, a client address).
    pub source: String,
}
