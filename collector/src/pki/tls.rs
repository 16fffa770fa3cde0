//! The server side of mutual TLS: TLS 1.3 only, client certificates must chain to the collector CA
//! and must not be on its CRL. The configuration is rebuilt when `revoke` rewrites the CRL, so a
//! revocation takes effect on the next connection (and the next batch of open sessions) without a
//! restart.

use super::{PkiPaths, Registry};
use anyhow::Context;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;
use tokio_rustls::TlsAcceptor;

/// The TLS configuration in force, with the revoked serials it was built from.
pub struct TlsState {
    /// Acceptor for new connections.
    pub acceptor: TlsAcceptor,
    /// Revoked certificate serials (lowercase hex).
    pub revoked: HashSet<String>,
    crl_modified: Option<SystemTime>,
}

/// Reloadable server TLS configuration.
pub struct ServerTls {
    paths: PkiPaths,
    state: RwLock<Arc<TlsState>>,
}

/// The identity an agent's certificate proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    /// Certificate common name: the agent id.
    pub agent_id: String,
    /// Certificate serial, lowercase hex.
    pub serial: String,
}

fn modified(paths: &PkiPaths) -> Option<SystemTime> {
    std::fs::metadata(paths.crl()).and_then(|m| m.modified()).ok()
}

fn build(paths: &PkiPaths) -> anyhow::Result<TlsState> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let crl_modified = modified(paths);
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(paths.ca_cert())
        .with_context(|| paths.ca_cert().display().to_string())?
    {
        roots.add(c?)?;
    }
    let crls: Vec<CertificateRevocationListDer<'static>> =
        CertificateRevocationListDer::pem_file_iter(paths.crl())
            .with_context(|| paths.crl().display().to_string())?
            .collect::<Result<_, _>>()
            .with_context(|| paths.crl().display().to_string())?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .with_crls(crls)
        .build()
        .context("client certificate verifier")?;
    let (chain, key) = server_identity(paths)?;
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .context("server certificate and key")?;
    let revoked = Registry::load(paths)?
        .revoked
        .into_iter()
        .map(|r| r.serial)
        .collect();
    Ok(TlsState {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        revoked,
        crl_modified,
    })
}

/// The server certificate chain and its key.
fn server_identity(
    paths: &PkiPaths,
) -> anyhow::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(paths.server_cert())
        .with_context(|| paths.server_cert().display().to_string())?
        .collect::<Result<_, _>>()
        .with_context(|| paths.server_cert().display().to_string())?;
    let key = PrivateKeyDer::from_pem_file(paths.server_key())
        .with_context(|| paths.server_key().display().to_string())?;
    Ok((chain, key))
}

/// The TLS configuration of the web UI and API: the collector's server certificate, TLS 1.2 and
/// 1.3, no client certificate (people log in; tools send tokens), HTTP/1.1.
pub fn web_acceptor(paths: &PkiPaths) -> anyhow::Result<TlsAcceptor> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let (chain, key) = server_identity(paths)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("server certificate and key")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

impl ServerTls {
    /// Loads the configuration from an initialised data directory.
    pub fn load(paths: &PkiPaths) -> anyhow::Result<Self> {
        Ok(ServerTls {
            paths: paths.clone(),
            state: RwLock::new(Arc::new(build(paths)?)),
        })
    }

    /// The configuration in force, rebuilt first if the CRL changed on disk.
    pub fn current(&self) -> Arc<TlsState> {
        let cur = self.state.read().unwrap_or_else(|e| e.into_inner()).clone();
        if modified(&self.paths) == cur.crl_modified {
            return cur;
        }
        match build(&self.paths) {
            Ok(fresh) => {
                tracing::info!(
                    revoked = fresh.revoked.len(),
                    "CRL changed on disk; TLS configuration reloaded"
                );
                let fresh = Arc::new(fresh);
                *self.state.write().unwrap_or_else(|e| e.into_inner()) = fresh.clone();
                fresh
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "CRL changed but cannot be loaded; keeping the previous configuration");
                cur
            }
        }
    }
}

/// Reads the agent id and serial from a verified client certificate.
pub fn peer_identity(cert: &CertificateDer<'_>) -> Result<PeerIdentity, String> {
    let (_, x) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|e| format!("unparsable client certificate: {e}"))?;
    let agent_id = x
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .ok_or("client certificate has no common name")?
        .to_owned();
    Ok(PeerIdentity {
        agent_id,
        serial: hex::encode(x.raw_serial()),
    })
}
