//! TLS client configuration: TLS 1.3 only, aws-lc-rs provider, the agent's certificate for client
//! authentication and the collector CA as the only trust anchor.

use crate::identity::Identity;
use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::sync::Arc;

/// Builds the client TLS configuration from an identity bundle.
pub fn client_config(identity: &Identity) -> anyhow::Result<Arc<ClientConfig>> {
    use anyhow::Context;
    let f = &identity.file;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&f.ca)
        .with_context(|| format!("{}: cannot read CA certificate", f.ca.display()))?
    {
        roots
            .add(cert.with_context(|| format!("{}: bad PEM", f.ca.display()))?)
            .with_context(|| format!("{}: unusable CA certificate", f.ca.display()))?;
    }
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&f.certificate)
        .with_context(|| format!("{}: cannot read certificate", f.certificate.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{}: bad PEM", f.certificate.display()))?;
    let key = PrivateKeyDer::from_pem_file(&f.key)
        .with_context(|| format!("{}: cannot read private key", f.key.display()))?;
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .context("agent certificate and key do not match")?;
    Ok(Arc::new(config))
}

/// The server name the collector's certificate must carry.
pub fn server_name(identity: &Identity) -> anyhow::Result<ServerName<'static>> {
    ServerName::try_from(identity.file.server_name.clone())
        .map_err(|e| anyhow::anyhow!("server_name {:?}: {e}", identity.file.server_name))
}
