//! Attestations: what people state, kept apart from what was observed. A document covers a
//! requirement or a group (title, version, owner, approval and next-review dates, the SHA-256 of
//! the file); a record of practice says a procedure was carried out on a day (the SHA-256 of the
//! record's file); a mitigation covers an asset or a vulnerability (the compensating control, an
//! expiry); a not-applicable statement covers a requirement or group (the reason). Each records
//! who and when, and is revoked rather than deleted.

use super::catalog::Catalog;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shoko_proto::Timestamp;
use std::path::Path;
use time::Date;
use time::macros::format_description;

/// What is attested.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttestationKind {
    /// A document (procedure, policy, drawing).
    #[default]
    Document,
    /// A record that a procedure was carried out on a day (a disconnection test, a commissioning
    /// scan): evidence of practice where telemetry cannot show it.
    Record,
    /// A compensating control for an asset or a vulnerability.
    Mitigation,
    /// A requirement or group that does not apply.
    NotApplicable,
}

impl AttestationKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AttestationKind::Document => "document",
            AttestationKind::Record => "record",
            AttestationKind::Mitigation => "mitigation",
            AttestationKind::NotApplicable => "not_applicable",
        }
    }

    /// The kind of a stored name.
    pub fn from_stored(name: &str) -> Option<Self> {
        [
            AttestationKind::Document,
            AttestationKind::Record,
            AttestationKind::Mitigation,
            AttestationKind::NotApplicable,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

/// What an attestation states.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Statement {
    /// What it is.
    pub kind: AttestationKind,
    /// What it covers: a requirement (`CM 1.4`) or group (`CM 1`); for a mitigation
    /// `asset:<id>` or `vulnerability:<id>`.
    pub scope: String,
    /// Document title, compensating control, or the reason something does not apply.
    pub title: String,
    /// Document version.
    pub version: Option<String>,
    /// Document owner.
    pub owner: Option<String>,
    /// Approval date (YYYY-MM-DD); for a record, the day the procedure was carried out.
    pub approved_on: Option<String>,
    /// Next review date (YYYY-MM-DD).
    pub next_review: Option<String>,
    /// The document's file name.
    pub file_name: Option<String>,
    /// The document's SHA-256 (hex).
    pub sha256: Option<String>,
    /// Mitigation expiry (YYYY-MM-DD).
    pub expires: Option<String>,
}

/// An attestation to record: the statement, who and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttestation {
    /// What is stated.
    pub statement: Statement,
    /// Who attests.
    pub by: String,
    /// When.
    pub at: Timestamp,
}

/// A stored attestation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationView {
    /// Id.
    pub id: i64,
    /// What is stated.
    #[serde(flatten)]
    pub statement: Statement,
    /// Who attested.
    pub attested_by: String,
    /// When.
    pub attested_at: Timestamp,
    /// Who revoked it.
    pub revoked_by: Option<String>,
    /// When.
    pub revoked_at: Option<Timestamp>,
    /// Why.
    pub revoke_reason: Option<String>,
    /// The second administrator who countersigned it (four eyes), when one did.
    #[serde(default)]
    pub countersigned_by: Option<String>,
    /// When.
    #[serde(default)]
    pub countersigned_at: Option<Timestamp>,
}

impl AttestationView {
    /// Whether a second administrator countersigned it by `at`: documents, not-applicable
    /// statements and mitigations that lift a critical gate take effect only then.
    pub fn countersigned_before(&self, at: Timestamp) -> bool {
        self.countersigned_at.is_some_and(|t| t <= at)
    }

    /// True when it stands on `day`: not revoked, not past its next review (documents) or its
    /// expiry (mitigations).
    pub fn is_valid(&self, day: Date) -> bool {
        let until = match self.statement.kind {
            AttestationKind::Document => self.statement.next_review.as_deref(),
            AttestationKind::Mitigation => self.statement.expires.as_deref(),
            AttestationKind::Record | AttestationKind::NotApplicable => None,
        };
        self.revoked_at.is_none() && until.and_then(|d| parse_date(d).ok()).is_none_or(|d| day <= d)
    }
}

/// A YYYY-MM-DD date.
pub fn parse_date(s: &str) -> Result<Date, String> {
    Date::parse(s, format_description!("[year]-[month]-[day]"))
        .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

/// The UTC day of an instant.
pub fn day_of(t: Timestamp) -> Date {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.0)).map_or(Date::MIN, |d| d.date())
}

/// The SHA-256 (hex) and file name of a document.
pub fn digest_file(path: &Path) -> Result<(String, String), String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((hex::encode(hasher.finalize()), name))
}

/// The catalog's spelling of a requirement (`NET-1.1`, `net 1.1` -> `NET 1.1`) or group
/// (`NET 1`).
pub fn requirement_or_group(catalog: &Catalog, scope: &str) -> Result<String, String> {
    if let Some(r) = catalog.requirement(scope) {
        return Ok(r.id.clone());
    }
    let group = scope.replacen('-', " ", 1);
    catalog
        .groups
        .iter()
        .find(|g| g.id.eq_ignore_ascii_case(&group))
        .map(|g| g.id.clone())
        .ok_or_else(|| {
            format!(
                "{scope:?} is neither a requirement nor a group of catalog {}",
                catalog.version
            )
        })
}

impl NewAttestation {
    /// A document covering a requirement or group, approved on a date, to be reviewed by another.
    pub fn document(
        catalog: &Catalog,
        scope: &str,
        title: &str,
        (version, owner): (&str, &str),
        (approved_on, next_review): (&str, &str),
        file: &Path,
        (by, at): (&str, Timestamp),
    ) -> Result<Self, String> {
        let (approved, review) = (parse_date(approved_on)?, parse_date(next_review)?);
        if review <= approved {
            return Err(format!(
                "next review {next_review} is not after approval {approved_on}"
            ));
        }
        let (sha256, file_name) = digest_file(file)?;
        let statement = Statement {
            kind: AttestationKind::Document,
            scope: requirement_or_group(catalog, scope)?,
            title: title.to_string(),
            version: Some(version.to_string()),
            owner: Some(owner.to_string()),
            approved_on: Some(approved_on.to_string()),
            next_review: Some(next_review.to_string()),
            file_name: Some(file_name),
            sha256: Some(sha256),
            expires: None,
        };
        Ok(NewAttestation {
            statement,
            by: by.to_string(),
            at,
        })
    }

    /// A record that the procedure of a requirement or group was carried out on `performed_on`
    /// (not in the future of `at`), with the record's file.
    pub fn record(
        catalog: &Catalog,
        scope: &str,
        title: &str,
        performed_on: &str,
        file: &Path,
        (by, at): (&str, Timestamp),
    ) -> Result<Self, String> {
        let day = parse_date(performed_on)?;
        if day > day_of(at) {
            return Err(format!("{performed_on} is in the future"));
        }
        let (sha256, file_name) = digest_file(file)?;
        let statement = Statement {
            kind: AttestationKind::Record,
            scope: requirement_or_group(catalog, scope)?,
            title: title.to_string(),
            approved_on: Some(performed_on.to_string()),
            file_name: Some(file_name),
            sha256: Some(sha256),
            ..Default::default()
        };
        Ok(NewAttestation {
            statement,
            by: by.to_string(),
            at,
        })
    }

    /// A compensating control for `asset:<id>` or `vulnerability:<id>`, until `expires`.
    pub fn mitigation(
        target: &str,
        control: &str,
        expires: &str,
        (by, at): (&str, Timestamp),
    ) -> Result<Self, String> {
        parse_date(expires)?;
        let valid = match target.split_once(':') {
            Some(("asset", id)) => id.parse::<i64>().is_ok(),
            Some(("vulnerability", id)) => !id.is_empty(),
            _ => false,
        };
        if !valid {
            return Err(format!(
                "{target:?}: expected asset:ID or vulnerability:ID (CVE or advisory id)"
            ));
        }
        let statement = Statement {
            kind: AttestationKind::Mitigation,
            scope: target.to_string(),
            title: control.to_string(),
            expires: Some(expires.to_string()),
            ..Default::default()
        };
        Ok(NewAttestation {
            statement,
            by: by.to_string(),
            at,
        })
    }

    /// A statement that a requirement or group does not apply, with the reason.
    pub fn not_applicable(
        catalog: &Catalog,
        scope: &str,
        reason: &str,
        (by, at): (&str, Timestamp),
    ) -> Result<Self, String> {
        let statement = Statement {
            kind: AttestationKind::NotApplicable,
            scope: requirement_or_group(catalog, scope)?,
            title: reason.to_string(),
            ..Default::default()
        };
        Ok(NewAttestation {
            statement,
            by: by.to_string(),
            at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn documents_name_a_requirement_or_group_and_carry_the_file_digest() {
        let catalog = Catalog::embedded();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("moc-procedure.pdf");
        std::fs::write(&file, b"abc").unwrap();
        let doc = NewAttestation::document(
            &catalog,
            "cm-1.4",
            "Management of change",
            ("3.1", "OT security"),
            ("2026-01-15", "2027-01-15"),
            &file,
            ("j.doe", Timestamp(1)),
        )
        .unwrap();
        let doc = doc.statement;
        assert_eq!(doc.scope, "CM 1.4");
        assert_eq!(
            doc.sha256.as_deref(),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(doc.file_name.as_deref(), Some("moc-procedure.pdf"));
        let err = |scope: &str, dates: (&str, &str)| {
            NewAttestation::document(
                &catalog,
                scope,
                "t",
                ("1", "o"),
                dates,
                &file,
                ("j", Timestamp(1)),
            )
            .unwrap_err()
        };
        assert_eq!(
            err("NET 1.10", ("2026-01-15", "2027-01-15")),
            "\"NET 1.10\" is neither a requirement nor a group of catalog shoko-2026.11-1"
        );
        assert_eq!(
            err("NET 1", ("2026-01-15", "2026-01-15")),
            "next review 2026-01-15 is not after approval 2026-01-15"
        );
        assert_eq!(
            err("NET 1", ("2026-13-01", "2027-01-15")),
            "\"2026-13-01\" is not a date (YYYY-MM-DD)"
        );
        let na =
            NewAttestation::not_applicable(&catalog, "net 2", "no wireless", ("j", Timestamp(1))).unwrap();
        assert_eq!(na.statement.scope, "NET 2");
        assert!(NewAttestation::mitigation("plc-7", "x", "2027-01-01", ("j", Timestamp(1))).is_err());
    }

    #[test]
    fn validity_ends_at_review_expiry_or_revocation() {
        let view = AttestationView {
            id: 1,
            statement: Statement {
                scope: "CM 1.4".into(),
                approved_on: Some("2026-01-15".into()),
                next_review: Some("2027-01-15".into()),
                ..Default::default()
            },
            attested_by: "j".into(),
            attested_at: Timestamp(1),
            revoked_by: None,
            revoked_at: None,
            revoke_reason: None,
            countersigned_by: None,
            countersigned_at: None,
        };
        assert!(view.is_valid(date!(2027 - 01 - 15)));
        assert!(!view.is_valid(date!(2027 - 01 - 16)));
        let revoked = AttestationView {
            revoked_at: Some(Timestamp(2)),
            ..view
        };
        assert!(!revoked.is_valid(date!(2026 - 06 - 01)));
    }
}
