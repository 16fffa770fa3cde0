//! Data-directory set-up shared by the CLI and the demo: `init` (PKI and configuration) and
//! `enroll` (an agent's identity bundle).

use crate::config::{CONFIG_FILE, CollectorConfig};
use crate::pki::{Authority, PkiPaths, ServerNames};
use anyhow::Context;
use std::path::Path;

/// Creates the data directory's PKI and configuration unless they exist.
pub fn init_data_dir(data: &Path, cfg: &CollectorConfig, extra_names: &[String]) -> anyhow::Result<bool> {
    let paths = PkiPaths::new(data);
    if paths.ca_key().exists() {
        return Ok(false);
    }
    // The collector's own user only, whatever the umask (a directory made beforehand, as the
    // packages do, keeps the mode it was given).
    if !data.exists() {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data)
            .with_context(|| data.display().to_string())?;
        std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o700))
            .with_context(|| data.display().to_string())?;
    }
    Authority::create(&paths, &ServerNames::with_defaults(extra_names))?;
    let cfg_path = data.join(CONFIG_FILE);
    if !cfg_path.exists() {
        crate::pki::write_atomic(&cfg_path, cfg.to_commented_toml().as_bytes(), true)
            .with_context(|| cfg_path.display().to_string())?;
    }
    Ok(true)
}

/// Issues an agent certificate and writes its bundle to `out`.
pub fn write_bundle(
    data: &Path,
    agent_id: &str,
    collector: &str,
    server_name: &str,
    out: &Path,
) -> anyhow::Result<()> {
    let authority = Authority::load(&PkiPaths::new(data))?;
    let (cert, key, record) = authority.issue_agent(agent_id)?;
    std::fs::create_dir_all(out).with_context(|| out.display().to_string())?;
    crate::pki::write_atomic(&out.join("agent.crt"), cert.as_bytes(), false)?;
    crate::pki::write_atomic(&out.join("agent.key"), key.as_bytes(), true)?;
    std::fs::copy(PkiPaths::new(data).ca_cert(), out.join("ca.crt")).context("copying the CA certificate")?;
    let identity = shoko_agent::identity::IdentityFile {
        agent_id: agent_id.to_owned(),
        collector: collector.to_owned(),
        server_name: server_name.to_owned(),
        certificate: "agent.crt".into(),
        key: "agent.key".into(),
        ca: "ca.crt".into(),
    };
    let text = format!(
        "# shoko agent identity bundle, issued {} (certificate serial {}).\n{}",
        record.issued_at,
        record.serial,
        toml::to_string(&identity)?
    );
    crate::pki::write_atomic(
        &out.join(shoko_agent::identity::IDENTITY_FILE),
        text.as_bytes(),
        false,
    )?;
    Ok(())
}
