//! A host inventory as observations for the collector, each under a stable key (`software:dpkg:
//! openssl:amd64`, `service:tcp:0.0.0.0:22`, `check:ssh.permit_root_login`) so that a later
//! snapshot can send only what changed. Host facts (with the patch summary, units and unknowns)
//! carry no key: they go with every snapshot.

use super::HostInventory;
use super::checks::CheckResult;
use super::packages::Package;
use super::patches::PendingUpdate;
use super::sockets::ListeningSocket;
use shoko_proto::{
    AssetRef, ConfigCheck, Evidence, EvidenceFile, HostFacts, HostUnit, Observation, ObservationBody,
    ParserRef, PatchSummary, Provenance, Service, SoftwareItem, Source, Timestamp,
};
use std::collections::HashMap;

/// Version of the host collectors' output, in every observation's parser reference.
const PARSER_VERSION: &str = "1";

/// One item of a host inventory: its stable key and its observation.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Stable key of the item within the host.
    pub key: String,
    /// The observation.
    pub observation: Observation,
}

/// Provenance of a host observation read by `collector`.
fn provenance(collector: &str, at: Timestamp, files: Vec<EvidenceFile>) -> Provenance {
    Provenance {
        source: Source::HostCollector {
            name: collector.to_owned(),
        },
        parser: ParserRef::new(collector, PARSER_VERSION),
        observed_at: at,
        evidence: Evidence {
            frames: Vec::new(),
            files,
        },
    }
}

/// How the host names itself: its machine id, else its host name.
pub fn host_ref(inv: &HostInventory) -> AssetRef {
    let mut asset = inv.system.asset.clone();
    if asset.host_id.is_none() {
        asset.host_id = Some(format!("hostname:{}", inv.system.hostname));
    }
    asset
}

/// The host facts observation, with the patch summary, units and what could not be read.
pub fn facts(inv: &HostInventory, at: Timestamp) -> Observation {
    let patch = inv.patches.as_ref().map(|p| PatchSummary {
        tool: p.tool.to_owned(),
        indexes: u32::try_from(p.indexes).unwrap_or(u32::MAX),
        pending: u32::try_from(p.pending.len()).unwrap_or(u32::MAX),
        security_pending: u32::try_from(p.security_pending).unwrap_or(u32::MAX),
        last_package_operation: p.last_package_operation.clone(),
        reboot_required: p.reboot_required,
        running_kernel: p.kernel.as_ref().map(|k| k.running.clone()),
        newest_kernel: p.kernel.as_ref().map(|k| k.newest_installed.clone()),
    });
    let facts = HostFacts {
        asset: host_ref(inv),
        patch,
        units: inv
            .units
            .iter()
            .map(|u| HostUnit {
                name: u.name.clone(),
                enabled: u.enabled,
                running: u.running,
            })
            .collect(),
        unknown: inv
            .unknown
            .iter()
            .map(|u| format!("{}: {}", u.source, u.reason))
            .collect(),
        ..inv.system.clone()
    };
    Observation {
        provenance: provenance("system", at, Vec::new()),
        body: ObservationBody::HostFacts(facts),
    }
}

fn software(asset: &AssetRef, p: &Package, update: Option<&PendingUpdate>, at: Timestamp) -> Item {
    let arch = p.arch.as_deref().unwrap_or("");
    Item {
        key: format!("software:{}:{}:{arch}", p.manager, p.name),
        observation: Observation {
            provenance: provenance(p.manager, at, Vec::new()),
            body: ObservationBody::SoftwareItem(SoftwareItem {
                asset: asset.clone(),
                name: p.name.clone(),
                version: Some(p.version.clone()),
                source: p.manager.to_owned(),
                package_manager: Some(p.manager.to_owned()),
                purl: Some(p.purl.clone()),
                update: update.map(|u| shoko_proto::PendingUpdate {
                    version: u.candidate.clone(),
                    security: u.security,
                    origin: u.origin.clone(),
                    advisories: u.advisories.clone(),
                }),
            }),
        },
    }
}

fn service(asset: &AssetRef, s: &ListeningSocket, at: Timestamp) -> Item {
    Item {
        key: format!("service:{}:{}:{}", s.transport.as_str(), s.address, s.port),
        observation: Observation {
            provenance: provenance("proc-net", at, Vec::new()),
            body: ObservationBody::Service(Service {
                asset: asset.clone(),
                transport: s.transport,
                port: s.port,
                protocol: None,
                banner: None,
                detected_by: Some("host".into()),
                bound: Some(s.address),
                process: s.process.as_ref().map(|(_, name)| name.clone()),
            }),
        },
    }
}

fn check(asset: &AssetRef, c: &CheckResult, at: Timestamp) -> Item {
    let files = c
        .files
        .iter()
        .map(|f| EvidenceFile {
            path: f.path.clone(),
            sha256: f.sha256,
        })
        .take(shoko_proto::EVIDENCE_MAX_FILES)
        .collect();
    Item {
        key: format!("check:{}", c.id),
        observation: Observation {
            provenance: provenance("checks", at, files),
            body: ObservationBody::ConfigCheck(ConfigCheck {
                asset: asset.clone(),
                check_id: c.id.to_owned(),
                requirements: c.requirements.iter().map(|r| (*r).to_owned()).collect(),
                outcome: c.outcome,
                reason: c.reason.clone(),
                excerpts: c.files.iter().filter_map(|f| f.excerpt.clone()).collect(),
            }),
        },
    }
}

/// Every keyed item of an inventory: installed packages (with their pending update), listening
/// sockets and configuration checks. Packages in a removed-but-configured state are left out.
pub fn items(inv: &HostInventory, at: Timestamp) -> Vec<Item> {
    let asset = host_ref(inv);
    let updates: HashMap<&str, &PendingUpdate> = inv
        .patches
        .iter()
        .flat_map(|p| &p.pending)
        .map(|u| (u.name.as_str(), u))
        .collect();
    let mut out: Vec<Item> = inv
        .packages
        .iter()
        .filter(|p| p.state.is_none())
        .map(|p| software(&asset, p, updates.get(p.name.as_str()).copied(), at))
        .collect();
    out.extend(inv.listening.iter().map(|s| service(&asset, s, at)));
    out.extend(inv.checks.iter().map(|c| check(&asset, c, at)));
    // Keys are unique: a name installed in several versions (kernels) is keyed by version too.
    let mut seen = std::collections::HashSet::new();
    for item in &mut out {
        if !seen.insert(item.key.clone())
            && let ObservationBody::SoftwareItem(s) = &item.observation.body
        {
            item.key = format!("{}:{}", item.key, s.version.as_deref().unwrap_or(""));
            seen.insert(item.key.clone());
        }
    }
    out
}
