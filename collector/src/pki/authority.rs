//! The collector CA: creation, agent and server certificates, and the CRL.

use super::{IssuedCert, PkiPaths, Registry, RevokedCert, write_atomic};
use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevokedCertParams, SanType,
    SerialNumber,
};
use shoko_proto::Timestamp;
use time::{Duration, OffsetDateTime};

/// The server name every collector certificate carries; agent bundles check it by default.
pub const DEFAULT_SERVER_NAME: &str = "shoko-collector";

/// Lifetime of the CA certificate.
const CA_DAYS: i64 = 3650;
/// Lifetime of server and agent certificates.
const LEAF_DAYS: i64 = 825;

/// Names and addresses the server certificate is valid for.
#[derive(Debug, Clone)]
pub struct ServerNames(pub Vec<String>);

impl ServerNames {
    /// The default names plus `extra` (DNS names or IP addresses).
    pub fn with_defaults(extra: &[String]) -> Self {
        let mut names = vec![
            DEFAULT_SERVER_NAME.to_string(),
            "localhost".into(),
            "127.0.0.1".into(),
            "::1".into(),
        ];
        for e in extra {
            if !names.contains(e) {
                names.push(e.clone());
            }
        }
        ServerNames(names)
    }
}

/// The CA with its signing key, loaded from a data directory.
pub struct Authority {
    paths: PkiPaths,
    issuer: Issuer<'static, KeyPair>,
}

fn random_serial() -> anyhow::Result<SerialNumber> {
    let mut b = [0u8; 16];
    rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut b)
        .map_err(|_| anyhow::anyhow!("no randomness available"))?;
    b[0] &= 0x7f; // positive
    b[0] |= 0x01; // no leading zero octet
    Ok(SerialNumber::from_slice(&b))
}

fn serial_hex(s: &SerialNumber) -> String {
    hex::encode(s.to_bytes())
}

fn to_timestamp(t: OffsetDateTime) -> Timestamp {
    Timestamp(i64::try_from(t.unix_timestamp_nanos()).unwrap_or(i64::MAX))
}

fn leaf_params(common_name: &str, sans: Vec<String>) -> anyhow::Result<CertificateParams> {
    let mut p = CertificateParams::new(sans)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "shoko");
    dn.push(DnType::CommonName, common_name);
    p.distinguished_name = dn;
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::minutes(5);
    p.not_after = now + Duration::days(LEAF_DAYS);
    p.serial_number = Some(random_serial()?);
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.use_authority_key_identifier_extension = true;
    p.key_identifier_method = KeyIdMethod::Sha256;
    Ok(p)
}

impl Authority {
    /// Creates a new CA, server certificate and empty CRL in `paths` (which must not hold a CA yet).
    pub fn create(paths: &PkiPaths, names: &ServerNames) -> anyhow::Result<Self> {
        if paths.ca_key().exists() {
            anyhow::bail!(
                "{} already exists: this data directory is initialised",
                paths.ca_key().display()
            );
        }
        std::fs::create_dir_all(&paths.dir).with_context(|| paths.dir.display().to_string())?;
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut p = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "shoko");
        // A unique name per CA, so certificates of another collector's CA are "unknown issuer"
        // rather than a signature mismatch under a shared name.
        let mut id = [0u8; 6];
        rustls::crypto::aws_lc_rs::default_provider()
            .secure_random
            .fill(&mut id)
            .map_err(|_| anyhow::anyhow!("no randomness available"))?;
        dn.push(
            DnType::CommonName,
            format!("shoko collector CA {}", hex::encode(id)),
        );
        p.distinguished_name = dn;
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = OffsetDateTime::now_utc();
        p.not_before = now - Duration::minutes(5);
        p.not_after = now + Duration::days(CA_DAYS);
        p.serial_number = Some(random_serial()?);
        p.key_identifier_method = KeyIdMethod::Sha256;
        let cert = p.self_signed(&key)?;
        write_atomic(&paths.ca_key(), key.serialize_pem().as_bytes(), true)?;
        write_atomic(&paths.ca_cert(), cert.pem().as_bytes(), false)?;
        let auth = Authority {
            paths: paths.clone(),
            issuer: Issuer::new(p, key),
        };
        auth.issue_server(names)?;
        auth.write_crl(&Registry::default())?;
        Registry::default().save(paths)?;
        Ok(auth)
    }

    /// Loads the CA of an initialised data directory.
    pub fn load(paths: &PkiPaths) -> anyhow::Result<Self> {
        let key_pem = std::fs::read_to_string(paths.ca_key())
            .with_context(|| format!("{} (run `shoko-collector init` first)", paths.ca_key().display()))?;
        let cert_pem = std::fs::read_to_string(paths.ca_cert())
            .with_context(|| paths.ca_cert().display().to_string())?;
        let key = KeyPair::from_pem(&key_pem).context("CA key")?;
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key).context("CA certificate")?;
        Ok(Authority {
            paths: paths.clone(),
            issuer,
        })
    }

    /// Issues (or re-issues) the server certificate for `names`.
    pub fn issue_server(&self, names: &ServerNames) -> anyhow::Result<()> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut p = leaf_params(DEFAULT_SERVER_NAME, Vec::new())?;
        p.subject_alt_names = names
            .0
            .iter()
            .map(|n| match n.parse::<std::net::IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => Ok(SanType::DnsName(n.as_str().try_into()?)),
            })
            .collect::<Result<_, rcgen::Error>>()?;
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = p.signed_by(&key, &self.issuer)?;
        write_atomic(&self.paths.server_key(), key.serialize_pem().as_bytes(), true)?;
        write_atomic(&self.paths.server_cert(), cert.pem().as_bytes(), false)?;
        Ok(())
    }

    /// Issues an agent certificate; returns (certificate PEM, key PEM, record).
    pub fn issue_agent(&self, agent_id: &str) -> anyhow::Result<(String, String, IssuedCert)> {
        super::validate_agent_id(agent_id).map_err(anyhow::Error::msg)?;
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut p = leaf_params(agent_id, Vec::new())?;
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let serial = p.serial_number.clone().context("serial")?;
        let record = IssuedCert {
            agent_id: agent_id.to_owned(),
            serial: serial_hex(&serial),
            issued_at: to_timestamp(OffsetDateTime::now_utc()),
            not_after: to_timestamp(p.not_after),
        };
        let cert = p.signed_by(&key, &self.issuer)?;
        let mut reg = Registry::load(&self.paths)?;
        reg.issued.push(record.clone());
        reg.save(&self.paths)?;
        Ok((cert.pem(), key.serialize_pem(), record))
    }

    /// Revokes every unrevoked certificate issued to `agent_id` and rewrites the CRL.
    /// Returns the certificates revoked now.
    pub fn revoke_agent(&self, agent_id: &str) -> anyhow::Result<Vec<RevokedCert>> {
        let mut reg = Registry::load(&self.paths)?;
        let now = to_timestamp(OffsetDateTime::now_utc());
        let newly: Vec<RevokedCert> = reg
            .issued
            .iter()
            .filter(|i| i.agent_id == agent_id && !reg.is_revoked(&i.serial))
            .map(|i| RevokedCert {
                agent_id: i.agent_id.clone(),
                serial: i.serial.clone(),
                revoked_at: now,
            })
            .collect();
        if newly.is_empty() {
            if reg.issued.iter().any(|i| i.agent_id == agent_id) {
                return Ok(newly);
            }
            anyhow::bail!("no certificate was issued to agent {agent_id:?}");
        }
        reg.revoked.extend(newly.iter().cloned());
        self.write_crl(&reg)?;
        reg.save(&self.paths)?;
        Ok(newly)
    }

    fn write_crl(&self, reg: &Registry) -> anyhow::Result<()> {
        let now = OffsetDateTime::now_utc();
        let revoked_certs = reg
            .revoked
            .iter()
            .map(|r| {
                Ok(RevokedCertParams {
                    serial_number: SerialNumber::from_slice(&hex::decode(&r.serial)?),
                    revocation_time: OffsetDateTime::from_unix_timestamp(r.revoked_at.secs())?,
                    reason_code: Some(rcgen::RevocationReason::CessationOfOperation),
                    invalidity_date: None,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let params = CertificateRevocationListParams {
            this_update: now - Duration::minutes(5),
            next_update: now + Duration::days(CA_DAYS),
            crl_number: SerialNumber::from((reg.revoked.len() as u64 + 1).max(1)),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&self.issuer)?;
        write_atomic(&self.paths.crl(), crl.pem()?.as_bytes(), false)?;
        Ok(())
    }
}
