//! Evidence bundles: a `.tar.gz` an auditor takes away, holding the report (HTML, JSON), the
//! scores, every period's findings, the observations, change records and attestations they rest
//! on, their frames as pcap files, the store's chain heads, and `manifest.json` listing each
//! file's SHA-256, signed with the collector's Ed25519 key (`manifest.sig`, hex). [`verify`]
//! checks one offline (the archive or its unpacked directory) and names every file altered,
//! missing or added.

use super::frames::pcap_files;
use crate::assess::rules::{Evidence, Finding, Period};
use crate::assess::score::ScoringInput;
use crate::pki::signing::{KeyError, PublicKey, SigningKey};
use crate::report::{Built, csv, html};
use crate::store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shoko_proto::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The manifest's format tag.
pub const FORMAT: &str = "shoko-evidence-bundle/1";
/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";
/// The signature's file name.
pub const SIGNATURE: &str = "manifest.sig";
/// The signing key's public half, shipped for convenience (pin the real one with `--key`).
pub const PUBLIC_KEY: &str = "collector.pub";
/// The scores' inputs, for re-scoring offline (`verify-bundle --rescore`).
pub const RESCORE: &str = "rescore.json";
/// The scores as the collector computed them.
pub const SCORES: &str = "scores.json";
/// Largest manifest, signature or key file read when verifying.
const MAX_SMALL_FILE: u64 = 64 << 20;
/// Most entries an archive may hold.
const MAX_ENTRIES: usize = 100_000;

/// What can stop an export or a verification.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The signing key.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Encoding a file of the bundle failed.
    #[error("encoding {file}: {what}")]
    Encoding {
        /// The file.
        file: String,
        /// Why.
        what: String,
    },
}

/// One file of the bundle in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path inside the bundle (`/`-separated).
    pub path: String,
    /// SHA-256 (hex).
    pub sha256: String,
    /// Size.
    pub bytes: u64,
}

/// An agent's chain head when the bundle was made (see `verify-store`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadEntry {
    /// Agent id.
    pub agent_id: String,
    /// Batches stored.
    pub batches: i64,
    /// Digest of its newest sealed batch (hex; empty before chaining).
    pub head: String,
}

/// The signed manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// When the bundle was made (RFC 3339).
    pub created_at: String,
    /// Fingerprint of the signing key.
    pub key_fingerprint: String,
    /// Catalog version of the scores.
    pub catalog_version: String,
    /// Digest of the whole assessment.
    pub assessment_digest: String,
    /// Requirements covered.
    pub requirements: Vec<String>,
    /// Every agent's chain head.
    pub chain_heads: Vec<HeadEntry>,
    /// Every file but the manifest, its signature and the public key.
    pub files: Vec<FileEntry>,
}

/// JSON of a value, named by the file it goes to in errors.
fn json(file: &str, value: &impl Serialize) -> Result<Vec<u8>, BundleError> {
    serde_json::to_vec_pretty(value).map_err(|e| BundleError::Encoding {
        file: file.into(),
        what: e.to_string(),
    })
}

/// The findings of one period, for `findings.json`.
#[derive(Serialize)]
struct PeriodFindings<'a> {
    period: Period,
    findings: Vec<&'a Finding>,
}

/// The files of a bundle for the reported requirements, in the order they are written.
pub fn contents(store: &dyn Store, built: &Built) -> Result<Vec<(String, Vec<u8>)>, BundleError> {
    let report = &built.report;
    let wanted: BTreeSet<&str> = report.scope.requirements.iter().map(String::as_str).collect();
    let periods: Vec<PeriodFindings<'_>> = built
        .derivation
        .assessment
        .periods
        .iter()
        .zip(built.derivation.findings())
        .map(|(period, findings)| PeriodFindings {
            period: *period,
            findings: findings
                .iter()
                .filter(|f| wanted.contains(f.requirement.as_str()))
                .collect(),
        })
        .collect();
    // The records the findings name, and the observations behind them, per requirement.
    let changes_by_id: BTreeMap<i64, crate::store::ChangeView> =
        report.changes.iter().map(|c| (c.id, c.clone())).collect();
    let mut observations_of: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    let mut changes = BTreeMap::new();
    for f in periods.iter().flat_map(|p| &p.findings) {
        let ids = observations_of.entry(f.requirement.as_str()).or_default();
        for e in &f.evidence {
            match e {
                Evidence::Observation { id } => {
                    ids.insert(*id);
                }
                Evidence::Change { id } => {
                    if let Some(c) = changes_by_id.get(id) {
                        ids.insert(c.observation_id);
                        ids.extend(c.previous_observation_id);
                        changes.insert(*id, c.clone());
                    }
                }
                Evidence::Flows { .. } => {}
            }
        }
    }
    let all_ids: BTreeSet<i64> = observations_of.values().flatten().copied().collect();
    let mut observations = BTreeMap::new();
    let mut lines = Vec::new();
    for id in all_ids {
        if let Some(o) = store.observation(id)? {
            let line =
                serde_json::json!({ "id": o.id, "asset_id": o.asset_id, "observation": o.observation });
            lines.extend(json_line(&line)?);
            observations.insert(id, o);
        }
    }
    let mut files = vec![
        ("report.html".to_string(), html::render(report).into_bytes()),
        ("report.json".to_string(), json("report.json", report)?),
        (
            "scores.json".to_string(),
            json("scores.json", &report.assessment)?,
        ),
        ("findings.json".to_string(), json("findings.json", &periods)?),
        (
            RESCORE.to_string(),
            json(RESCORE, &built.derivation.input.limited_to(&wanted))?,
        ),
        ("observations.jsonl".to_string(), lines),
        (
            "changes.json".to_string(),
            json("changes.json", &changes.values().collect::<Vec<_>>())?,
        ),
        (
            "attestations.json".to_string(),
            json("attestations.json", &report.attestations)?,
        ),
    ];
    for (name, table) in [
        ("scores.csv", csv::Table::Scores),
        ("inventory.csv", csv::Table::Inventory),
    ] {
        let bytes = csv::write(report, table).map_err(|e| BundleError::Encoding {
            file: name.into(),
            what: e.to_string(),
        })?;
        files.push((name.to_string(), bytes));
    }
    for (requirement, ids) in &observations_of {
        let frames = ids
            .iter()
            .filter_map(|id| observations.get(id))
            .flat_map(|o| &o.observation.provenance.evidence.frames);
        let name = requirement.replace(' ', "-");
        for (linktype, pcap) in pcap_files(frames) {
            let file = if linktype == 1 {
                format!("frames/{name}.pcap")
            } else {
                format!("frames/{name}.linktype-{linktype}.pcap")
            };
            files.push((file, pcap));
        }
    }
    Ok(files)
}

/// A value as one JSON line.
fn json_line(value: &serde_json::Value) -> Result<Vec<u8>, BundleError> {
    let mut line = serde_json::to_vec(value).map_err(|e| BundleError::Encoding {
        file: "observations.jsonl".into(),
        what: e.to_string(),
    })?;
    line.push(b'\n');
    Ok(line)
}

/// Writes a bundle of `files` to `out` (through a temporary file, synced, then renamed): the
/// manifest over them, signed with `key`; the manifest.
pub fn write(
    out: &Path,
    store: &dyn Store,
    built: &Built,
    files: &[(String, Vec<u8>)],
    key: &SigningKey,
) -> Result<Manifest, BundleError> {
    let io = |source| BundleError::Io {
        path: out.to_path_buf(),
        source,
    };
    let tmp = out.with_extension("partial");
    let file = std::fs::File::create(&tmp).map_err(io)?;
    let (manifest, file) = write_archive(file, out, store, built, files, key)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, out).map_err(io)?;
    Ok(manifest)
}

/// Writes a bundle of `files` as a gzip-compressed tar archive to `w` (named `name` in errors):
/// the manifest over them, signed with `key`; the manifest and the writer.
pub fn write_archive<W: std::io::Write>(
    w: W,
    name: &Path,
    store: &dyn Store,
    built: &Built,
    files: &[(String, Vec<u8>)],
    key: &SigningKey,
) -> Result<(Manifest, W), BundleError> {
    let now = Timestamp::now();
    let manifest = Manifest {
        format: FORMAT.into(),
        created_at: now.to_string(),
        key_fingerprint: key.public().fingerprint(),
        catalog_version: built.report.appendix.catalog_version.clone(),
        assessment_digest: built.report.appendix.assessment_digest.clone(),
        requirements: built.report.scope.requirements.clone(),
        chain_heads: store
            .chain_heads()?
            .into_iter()
            .map(|h| HeadEntry {
                agent_id: h.agent_id,
                batches: h.batches,
                head: h.head.map(hex::encode).unwrap_or_default(),
            })
            .collect(),
        files: files
            .iter()
            .map(|(path, bytes)| FileEntry {
                path: path.clone(),
                sha256: hex::encode(Sha256::digest(bytes)),
                bytes: bytes.len() as u64,
            })
            .collect(),
    };
    let manifest_bytes = json(MANIFEST, &manifest)?;
    let signature = format!("{}\n", hex::encode(key.sign(&manifest_bytes)));
    let io = |source| BundleError::Io {
        path: name.to_path_buf(),
        source,
    };
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(w, flate2::Compression::default()));
    let mtime = u64::try_from(now.secs()).unwrap_or(0);
    let public_pem = key.public().to_pem();
    let entries = [
        (MANIFEST, manifest_bytes.as_slice()),
        (SIGNATURE, signature.as_bytes()),
        (PUBLIC_KEY, public_pem.as_bytes()),
    ];
    for (path, bytes) in entries
        .into_iter()
        .chain(files.iter().map(|(p, b)| (p.as_str(), b.as_slice())))
    {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(mtime);
        header.set_cksum();
        tar.append_data(&mut header, path, bytes).map_err(io)?;
    }
    let w = tar.into_inner().map_err(io)?.finish().map_err(io)?;
    Ok((manifest, w))
}

/// What verifying a bundle found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BundleCheck {
    /// Fingerprint of the key the signature was checked with.
    pub key_fingerprint: String,
    /// True when that key was given (`--key`), false when the bundle's own was used.
    pub pinned: bool,
    /// Files listed in the manifest whose digest matched.
    pub files_verified: usize,
    /// Everything wrong, each naming its file; empty when the bundle is intact.
    pub problems: Vec<String>,
}

impl BundleCheck {
    /// True when nothing was found wrong.
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// What was read of a bundle: the digest and size of every file, and the small files kept whole.
#[derive(Default)]
struct Gathered {
    digests: BTreeMap<String, (String, u64)>,
    small: BTreeMap<String, Vec<u8>>,
    problems: Vec<String>,
}

impl Gathered {
    /// Hashes one file (keeping the manifest, signature and key), noting a path seen twice.
    fn add(&mut self, path: String, mut data: impl Read) -> std::io::Result<()> {
        if self.digests.len() >= MAX_ENTRIES {
            self.problems
                .push(format!("more than {MAX_ENTRIES} files: the rest not read"));
            return Ok(());
        }
        let (digest, bytes) = if [MANIFEST, SIGNATURE, PUBLIC_KEY, RESCORE, SCORES].contains(&path.as_str()) {
            let mut kept = Vec::new();
            data.take(MAX_SMALL_FILE).read_to_end(&mut kept)?;
            let digest = hex::encode(Sha256::digest(&kept));
            let len = kept.len() as u64;
            self.small.insert(path.clone(), kept);
            (digest, len)
        } else {
            let mut hasher = Sha256::new();
            let len = std::io::copy(&mut data, &mut hasher)?;
            (hex::encode(hasher.finalize()), len)
        };
        if self.digests.insert(path.clone(), (digest, bytes)).is_some() {
            self.problems.push(format!("{path}: appears twice (added)"));
        }
        Ok(())
    }
}

/// A path inside a bundle as the manifest writes it: its plain components joined by `/` (an
/// archive repacked from its directory names `./report.html`).
fn relative_name(path: &Path) -> String {
    path.components()
        .filter_map(|c| match c {
            std::path::Component::Normal(part) => Some(part.to_string_lossy()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Reads a `.tar.gz` bundle.
fn read_archive(path: &Path, into: &mut Gathered) -> std::io::Result<()> {
    let file = std::fs::File::open(path)?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
    for entry in archive.entries()? {
        let entry = entry?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = relative_name(&entry.path()?);
        into.add(name, entry)?;
    }
    Ok(())
}

/// Reads an unpacked bundle directory.
fn read_dir(root: &Path, dir: &Path, into: &mut Gathered) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        if e.file_type()?.is_dir() {
            read_dir(root, &path, into)?;
        } else {
            let name = relative_name(path.strip_prefix(root).unwrap_or(&path));
            into.add(name, std::fs::File::open(&path)?)?;
        }
    }
    Ok(())
}

/// Verifies a bundle (a `.tar.gz`, or the directory it was unpacked to) offline: the manifest's
/// signature with `key` (or, without one, with the bundle's own public key, which proves
/// integrity but not origin), then every file against the manifest.
pub fn verify(path: &Path, key: Option<&PublicKey>) -> Result<BundleCheck, BundleError> {
    Ok(verify_and_read(path, key)?.0)
}

/// One requirement's level as the bundle records it and as recomputed from its recorded outcomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rescored {
    /// The requirement.
    pub requirement: String,
    /// Level, practice and documentary level as recorded in `scores.json`.
    pub recorded: [String; 3],
    /// The same recomputed from `rescore.json`.
    pub recomputed: [String; 3],
    /// What differs (level, practice, documentary, evidence digest); empty when equal.
    pub differences: Vec<String>,
}

/// Verifies a bundle (see [`verify`]) and recomputes every level from the outcomes it records
/// (`rescore.json`: each period's findings, receipts, thresholds and attestations), without
/// running the rules, comparing them with the levels it records (`scores.json`).
pub fn rescore(path: &Path, key: Option<&PublicKey>) -> Result<(BundleCheck, Vec<Rescored>), BundleError> {
    let (mut check, read) = verify_and_read(path, key)?;
    let parse =
        |file: &str| -> Option<serde_json::Value> { serde_json::from_slice(read.small.get(file)?).ok() };
    let input = read
        .small
        .get(RESCORE)
        .and_then(|b| serde_json::from_slice::<ScoringInput>(b).ok());
    let (Some(input), Some(scores)) = (input, parse(SCORES)) else {
        check.problems.push(format!(
            "{RESCORE} or {SCORES}: missing or unreadable: cannot re-score"
        ));
        return Ok((check, Vec::new()));
    };
    let recorded: BTreeMap<&str, &serde_json::Value> = scores["scores"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| Some((s["requirement"].as_str()?, s)))
        .collect();
    let levels = |s: &serde_json::Value| -> [String; 3] {
        ["level", "practice", "documentary"].map(|k| s[k].as_str().unwrap_or("-").to_owned())
    };
    let mut out = Vec::new();
    for score in input.scores() {
        let recomputed = serde_json::to_value(&score).unwrap_or_default();
        let (mine, theirs) = match recorded.get(score.requirement.as_str()) {
            Some(r) => (levels(r), r["evidence_digest"].as_str().unwrap_or_default()),
            None => (["-".into(), "-".into(), "-".into()], ""),
        };
        let again = levels(&recomputed);
        let mut differences: Vec<String> = ["level", "practice", "documentary"]
            .iter()
            .zip(mine.iter().zip(&again))
            .filter(|(_, (a, b))| a != b)
            .map(|(k, (a, b))| format!("{k}: recorded {a}, recomputed {b}"))
            .collect();
        if theirs != score.evidence_digest {
            differences.push(
                "evidence digest: the recorded outcomes are not those the score was computed from".into(),
            );
        }
        out.push(Rescored {
            requirement: score.requirement.clone(),
            recorded: mine,
            recomputed: again,
            differences,
        });
    }
    for r in recorded
        .keys()
        .filter(|r| !out.iter().any(|o| o.requirement == **r))
    {
        check
            .problems
            .push(format!("{SCORES}: {r} has no recorded outcomes in {RESCORE}"));
    }
    Ok((check, out))
}

/// Reads a bundle's files as [`verify`] does: the check and what was kept of them.
fn verify_and_read(path: &Path, key: Option<&PublicKey>) -> Result<(BundleCheck, Gathered), BundleError> {
    let mut read = Gathered::default();
    let outcome = if path.is_dir() {
        read_dir(path, path, &mut read)
    } else {
        read_archive(path, &mut read)
    };
    let mut check = BundleCheck::default();
    if let Err(e) = outcome {
        if !path.exists() {
            return Err(BundleError::Io {
                path: path.to_path_buf(),
                source: e,
            });
        }
        check.problems.push(format!("the archive is damaged: {e}"));
    }
    check.problems.append(&mut read.problems);
    let embedded = read
        .small
        .get(PUBLIC_KEY)
        .map(|pem| PublicKey::from_pem(pem, PUBLIC_KEY));
    let key = match (key, embedded) {
        (Some(k), _) => {
            check.pinned = true;
            Some(*k)
        }
        (None, Some(Ok(k))) => Some(k),
        (None, Some(Err(e))) => {
            check.problems.push(e.to_string());
            None
        }
        (None, None) => {
            check.problems.push(format!("{PUBLIC_KEY}: missing (pass --key)"));
            None
        }
    };
    check.key_fingerprint = key.map(|k| k.fingerprint()).unwrap_or_default();
    let Some(manifest_bytes) = read.small.get(MANIFEST) else {
        check.problems.push(format!("{MANIFEST}: missing"));
        return Ok((check, read));
    };
    let signature = read
        .small
        .get(SIGNATURE)
        .and_then(|s| hex::decode(String::from_utf8_lossy(s).trim()).ok());
    match (&key, signature) {
        (_, None) => check.problems.push(format!("{SIGNATURE}: missing or not hex")),
        (Some(k), Some(sig)) if !k.verify(manifest_bytes, &sig) => check.problems.push(format!(
            "{MANIFEST} or {SIGNATURE} altered, or signed by another key: the signature does not verify with {}",
            k.fingerprint()
        )),
        _ => {}
    }
    let manifest: Manifest = match serde_json::from_slice(manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            check.problems.push(format!("{MANIFEST}: not a manifest: {e}"));
            return Ok((check, read));
        }
    };
    let mut listed = BTreeSet::new();
    for f in &manifest.files {
        listed.insert(f.path.as_str());
        match read.digests.get(&f.path) {
            None => check.problems.push(format!("{}: missing", f.path)),
            Some((digest, bytes)) if *digest != f.sha256 || *bytes != f.bytes => check
                .problems
                .push(format!("{}: altered (SHA-256 differs from the manifest)", f.path)),
            Some(_) => check.files_verified += 1,
        }
    }
    for path in read.digests.keys() {
        if !listed.contains(path.as_str()) && ![MANIFEST, SIGNATURE, PUBLIC_KEY].contains(&path.as_str()) {
            check
                .problems
                .push(format!("{path}: not in the manifest (added)"));
        }
    }
    Ok((check, read))
}
