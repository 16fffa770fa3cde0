//! Access control: local users with roles (admin, operator, auditor), API tokens and browser
//! sessions (random secrets, stored only as their SHA-256), and an audit log of every write.
//! [`Accounts`] is what the CLI and the HTTP server use; the store keeps the [`records`].

pub mod guard;
pub mod password;
pub mod records;

use crate::assess::attest::{AttestationKind, AttestationView};
use crate::store::{ChangeView, Decision, Store, StoreError};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use records::{AuditEntry, CredentialRecord, NewCredential, NewUser, UserRecord};
use sha2::{Digest, Sha256};
use shoko_proto::Timestamp;

/// Prefix of every secret shoko issues (so leaked ones are recognisable).
pub const SECRET_PREFIX: &str = "shoko_";

/// How long a browser session lasts.
pub const SESSION_HOURS: i64 = 8;

/// A role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads and exports (evidence bundles, reports), changes nothing.
    Auditor,
    /// Reads, exports and decides changes.
    Operator,
    /// Everything, including users and tokens.
    Admin,
}

/// What a request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read inventory, changes, scores, evidence.
    Read,
    /// Download reports, bundles and exports.
    Export,
    /// Acknowledge or reject changes.
    Decide,
    /// Manage users and tokens.
    Administer,
}

impl Role {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Auditor => "auditor",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// A stored name as a role.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auditor" => Some(Role::Auditor),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// True when this role may do `p`.
    pub fn may(self, p: Permission) -> bool {
        match p {
            Permission::Read | Permission::Export => true,
            Permission::Decide => self >= Role::Operator,
            Permission::Administer => self == Role::Admin,
        }
    }
}

/// Who a request is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Login name.
    pub user: String,
    /// Role.
    pub role: Role,
    /// The credential used.
    pub credential_id: i64,
}

impl Principal {
    /// How the audit log names it.
    pub fn actor(&self) -> String {
        format!("user:{}", self.user)
    }
}

/// Why an access-control operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A request that cannot be met (bad role, weak password, unknown user ...).
    #[error("{0}")]
    Invalid(String),
    /// Wrong name or password, or a disabled user (one message for all: nothing is told apart).
    #[error("wrong user name or password")]
    LoginFailed,
}

/// A new random secret: the prefix and 32 random bytes in hex.
fn new_secret() -> Result<String, AccessError> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| AccessError::Invalid("no randomness from the system".into()))?;
    Ok(format!("{SECRET_PREFIX}{}", hex::encode(bytes)))
}

/// The stored form of a secret.
pub fn secret_digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Users, credentials and the audit log over a store.
pub struct Accounts<'a> {
    store: &'a dyn Store,
}

impl<'a> Accounts<'a> {
    /// Over `store`.
    pub fn new(store: &'a dyn Store) -> Self {
        Accounts { store }
    }

    /// Records an audit entry.
    pub fn audit(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        detail: &str,
        source: &str,
    ) -> Result<(), StoreError> {
        self.store
            .record_audit(&AuditEntry {
                id: 0,
                at: Timestamp::now(),
                actor: actor.into(),
                action: action.into(),
                target: target.into(),
                detail: detail.into(),
                source: source.into(),
            })
            .map(|_| ())
    }

    /// The user called `name`.
    fn user(&self, name: &str) -> Result<UserRecord, AccessError> {
        self.store
            .users()?
            .into_iter()
            .find(|u| u.name == name)
            .ok_or_else(|| AccessError::Invalid(format!("no user {name:?}")))
    }

    /// Adds a user; its id.
    pub fn add_user(
        &self,
        name: &str,
        role: &str,
        password: &str,
        actor: &str,
        source: &str,
    ) -> Result<i64, AccessError> {
        let role = Role::parse(role).ok_or_else(|| {
            AccessError::Invalid(format!("{role:?} is not a role (admin, operator, auditor)"))
        })?;
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
        {
            return Err(AccessError::Invalid(format!(
                "{name:?}: user names are 1 to 64 of A-Z a-z 0-9 . _ - @"
            )));
        }
        if self.store.users()?.iter().any(|u| u.name == name) {
            return Err(AccessError::Invalid(format!("user {name:?} exists")));
        }
        let id = self.store.save_user(&NewUser {
            name: name.into(),
            role: role.as_str().into(),
            password_hash: password::hash(password).map_err(AccessError::Invalid)?,
            created_at: Timestamp::now(),
        })?;
        self.audit(
            actor,
            "user_added",
            &format!("user:{name}"),
            &format!("role {}", role.as_str()),
            source,
        )?;
        Ok(id)
    }

    /// Disables a user: its sessions and tokens stop working.
    pub fn disable_user(&self, name: &str, actor: &str, source: &str) -> Result<(), AccessError> {
        let user = self.user(name)?;
        self.store.disable_user(user.id, Timestamp::now())?;
        self.audit(actor, "user_disabled", &format!("user:{name}"), "", source)?;
        Ok(())
    }

    /// Issues a credential of `kind` for `user`, valid until `expires_at`; its id and secret (shown
    /// once, never stored).
    fn issue(
        &self,
        kind: &str,
        name: &str,
        user: &UserRecord,
        expires_at: Option<Timestamp>,
    ) -> Result<(i64, String), AccessError> {
        let secret = new_secret()?;
        let id = self.store.save_credential(&NewCredential {
            kind: kind.into(),
            name: name.into(),
            user_id: user.id,
            secret_sha256: secret_digest(&secret),
            created_at: Timestamp::now(),
            expires_at,
        })?;
        Ok((id, secret))
    }

    /// Creates an API token for `user`, valid for `days` (none: until revoked); id and secret.
    pub fn create_token(
        &self,
        user: &str,
        name: &str,
        days: Option<u32>,
        actor: &str,
        source: &str,
    ) -> Result<(i64, String), AccessError> {
        let record = self.user(user)?;
        let expires = days.map(|d| Timestamp(Timestamp::now().0 + i64::from(d) * 86_400_000_000_000));
        let (id, secret) = self.issue("token", name, &record, expires)?;
        self.audit(
            actor,
            "token_created",
            &format!("token:{id}"),
            &format!("{name} for user {user}"),
            source,
        )?;
        Ok((id, secret))
    }

    /// Revokes a token or session.
    pub fn revoke(&self, id: i64, actor: &str, source: &str) -> Result<(), AccessError> {
        self.store.revoke_credential(id, Timestamp::now())?;
        self.audit(
            actor,
            "credential_revoked",
            &format!("credential:{id}"),
            "",
            source,
        )?;
        Ok(())
    }

    /// Countersigns attestation `id` as `approver` (four eyes): an administrator other than the
    /// one who attested it. Records of practice need none. Both the refusal reasons and the
    /// countersignature are for the audit log; the countersigned attestation is returned.
    pub fn countersign(
        &self,
        id: i64,
        approver: &Principal,
        source: &str,
    ) -> Result<AttestationView, AccessError> {
        if approver.role != Role::Admin {
            return Err(AccessError::Invalid(format!(
                "{} is {}: only an administrator countersigns attestations",
                approver.user,
                approver.role.as_str()
            )));
        }
        let a = self
            .store
            .attestations()?
            .into_iter()
            .find(|a| a.id == id)
            .ok_or_else(|| AccessError::Invalid(format!("no attestation {id}")))?;
        if a.statement.kind == AttestationKind::Record {
            return Err(AccessError::Invalid(format!(
                "attestation {id} is a record of practice: it needs no countersignature"
            )));
        }
        let attester = a
            .attested_by
            .trim_start_matches("user:")
            .trim_start_matches("cli:");
        if attester.eq_ignore_ascii_case(&approver.user) {
            return Err(AccessError::Invalid(format!(
                "attestation {id} was attested by {}: a second administrator must countersign it",
                a.attested_by
            )));
        }
        self.store
            .countersign_attestation(id, &approver.actor(), Timestamp::now())?;
        self.audit(
            &approver.actor(),
            "attestation_countersigned",
            &format!("attestation:{id}"),
            &format!(
                "{} {} attested by {}",
                a.statement.kind.as_str(),
                a.statement.scope,
                a.attested_by
            ),
            source,
        )?;
        Ok(a)
    }

    /// Checks a user's password and opens a session; its secret (the cookie) and expiry. Every
    /// attempt is in the audit log.
    pub fn login(
        &self,
        name: &str,
        password: &str,
        source: &str,
        verifier: &mut password::Verifier,
    ) -> Result<(String, Timestamp), AccessError> {
        let user = self.store.users()?.into_iter().find(|u| u.name == name);
        // One verification whoever asks: an unknown user is checked against a dummy hash, a
        // disabled one against its own, so timing tells no name apart.
        let stored = user
            .as_ref()
            .map_or(password::dummy_hash(), |u| u.password_hash.as_str());
        let matches = verifier.verify(password, stored);
        let Some(user) = user.filter(|u| matches && u.disabled_at.is_none()) else {
            self.login_failed(name, "", source)?;
            return Err(AccessError::LoginFailed);
        };
        let expires = Timestamp(Timestamp::now().0 + SESSION_HOURS * 3_600_000_000_000);
        let (id, secret) = self.issue("session", source, &user, Some(expires))?;
        self.audit(
            &format!("user:{name}"),
            "login",
            &format!("session:{id}"),
            "",
            source,
        )?;
        Ok((secret, expires))
    }

    /// Audits a failed login attempt (the name cut to [`guard::MAX_NAME`] characters).
    pub fn login_failed(&self, name: &str, detail: &str, source: &str) -> Result<(), StoreError> {
        let name: String = name.chars().take(guard::MAX_NAME).collect();
        self.audit(
            &format!("user:{name}"),
            "login_failed",
            &format!("user:{name}"),
            detail,
            source,
        )
    }

    /// Who holds `secret`: none for an unknown, expired or revoked credential or a disabled user.
    pub fn authenticate(&self, secret: &str) -> Result<Option<Principal>, StoreError> {
        if !secret.starts_with(SECRET_PREFIX) {
            return Ok(None);
        }
        let Some((credential, user)) = self.store.credential(&secret_digest(secret))? else {
            return Ok(None);
        };
        let now = Timestamp::now();
        let usable = credential.revoked_at.is_none()
            && credential.expires_at.is_none_or(|at| now < at)
            && user.disabled_at.is_none();
        Ok(usable
            .then(|| Role::parse(&user.role))
            .flatten()
            .map(|role| Principal {
                user: user.name,
                role,
                credential_id: credential.id,
            }))
    }

    /// Records a decision on a change (acknowledged or rejected, by `decision.by`) and its audit
    /// entry; the change as it now stands.
    pub fn decide(
        &self,
        change_id: i64,
        decision: &Decision,
        source: &str,
    ) -> Result<ChangeView, StoreError> {
        self.store.decide(change_id, decision)?;
        let detail = format!(
            "reference={:?} comment={:?}",
            decision.reference, decision.comment
        );
        self.audit(
            &decision.by,
            &format!("change_{}", decision.kind.as_str()),
            &format!("change:{change_id}"),
            &detail,
            source,
        )?;
        self.store
            .changes()?
            .into_iter()
            .find(|c| c.id == change_id)
            .ok_or_else(|| StoreError::NotFound(format!("change {change_id}")))
    }

    /// Every user.
    pub fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.store.users()
    }

    /// Every credential.
    pub fn credentials(&self) -> Result<Vec<CredentialRecord>, StoreError> {
        self.store.credentials()
    }
}
