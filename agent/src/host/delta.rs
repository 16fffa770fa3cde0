//! Change-only delivery of host snapshots: each item's digest (its body and evidence, not the time
//! it was read) is compared with the last snapshot the collector acknowledged; only new or changed
//! items are sent, with the keys of items gone, and every item again in a full snapshot (daily, or
//! when nothing was acknowledged yet). The acknowledged state is kept in a small JSON file,
//! replaced atomically, so a restarted agent does not resend what the collector has.

use super::observations::Item;
use serde::{Deserialize, Serialize};
use shoko_proto::{HostSnapshot, Observation, ObservationBody, Sha256Digest};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// The last snapshot the collector acknowledged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckedSnapshot {
    /// Unix time of the last full snapshot acknowledged (0: none yet).
    pub full_at: i64,
    /// Item key to the hex SHA-256 of the item as acknowledged.
    pub items: BTreeMap<String, String>,
}

impl AckedSnapshot {
    /// Reads the state file; a missing file is an empty state (the next snapshot is full).
    pub fn load(path: &Path) -> Result<Self, String> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Writes the state file atomically (temporary file, fsync, rename).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec(self)?)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    }
}

/// What one cycle sends, and the state to keep once the collector acknowledges it.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Observations to send: the host facts first, then the new or changed items.
    pub observations: Vec<Observation>,
    /// The acknowledged state after delivery.
    pub next: AckedSnapshot,
    /// What the snapshot is (also in the host facts).
    pub snapshot: HostSnapshot,
}

/// Digest of an item: its body and evidence (not its read time).
fn digest(o: &Observation) -> String {
    let bytes = serde_json::to_vec(&(&o.body, &o.provenance.evidence)).unwrap_or_default();
    Sha256Digest::of(&bytes).to_hex()
}

/// Plans a snapshot at Unix time `now`: full when forced, when nothing was acknowledged yet, or
/// when the last full one is `full_every` seconds old; otherwise only what changed.
pub fn plan(
    mut facts: Observation,
    items: Vec<Item>,
    acked: &AckedSnapshot,
    now: i64,
    full_every: i64,
    force_full: bool,
) -> Plan {
    let full = force_full || acked.full_at == 0 || now - acked.full_at >= full_every;
    let mut next = AckedSnapshot {
        full_at: if full { now } else { acked.full_at },
        items: BTreeMap::new(),
    };
    let total = items.len();
    let mut send = Vec::new();
    for item in items {
        let d = digest(&item.observation);
        if full || acked.items.get(&item.key) != Some(&d) {
            send.push(item.observation);
        }
        next.items.insert(item.key, d);
    }
    let removed = acked
        .items
        .keys()
        .filter(|k| !next.items.contains_key(*k))
        .cloned()
        .collect();
    let snapshot = HostSnapshot {
        full,
        items: u32::try_from(total).unwrap_or(u32::MAX),
        sent: u32::try_from(send.len()).unwrap_or(u32::MAX),
        removed,
    };
    if let ObservationBody::HostFacts(f) = &mut facts.body {
        f.snapshot = Some(snapshot.clone());
    }
    let mut observations = vec![facts];
    observations.extend(send);
    Plan {
        observations,
        next,
        snapshot,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoko_proto::{HostFacts, ParserRef, Provenance, SoftwareItem, Source, Timestamp};

    fn obs(body: ObservationBody) -> Observation {
        Observation {
            provenance: Provenance {
                source: Source::Agent,
                parser: ParserRef::new("t", "1"),
                observed_at: Timestamp::now(),
                evidence: Default::default(),
            },
            body,
        }
    }

    fn item(name: &str, version: &str) -> Item {
        Item {
            key: format!("software:dpkg:{name}:amd64"),
            observation: obs(ObservationBody::SoftwareItem(SoftwareItem {
                name: name.into(),
                version: Some(version.into()),
                ..Default::default()
            })),
        }
    }

    fn facts() -> Observation {
        obs(ObservationBody::HostFacts(HostFacts::default()))
    }

    #[test]
    fn full_then_changes_then_daily_full() {
        let day = 86_400;
        let first = plan(
            facts(),
            vec![item("a", "1"), item("b", "1")],
            &AckedSnapshot::default(),
            1000,
            day,
            false,
        );
        assert!(first.snapshot.full);
        assert_eq!(first.observations.len(), 3);
        // Nothing changed: only the facts.
        let same = plan(
            facts(),
            vec![item("a", "1"), item("b", "1")],
            &first.next,
            2000,
            day,
            false,
        );
        assert_eq!((same.snapshot.full, same.observations.len()), (false, 1));
        // a upgraded, b removed, c installed.
        let changed = plan(
            facts(),
            vec![item("a", "2"), item("c", "1")],
            &first.next,
            3000,
            day,
            false,
        );
        assert_eq!((changed.snapshot.sent, changed.snapshot.items), (2, 2));
        assert_eq!(changed.snapshot.removed, ["software:dpkg:b:amd64"]);
        let ObservationBody::HostFacts(f) = &changed.observations[0].body else {
            panic!()
        };
        assert_eq!(f.snapshot.as_ref(), Some(&changed.snapshot));
        assert_eq!(changed.next.full_at, 1000);
        // A day after the last full snapshot: everything again.
        let daily = plan(
            facts(),
            vec![item("a", "2"), item("c", "1")],
            &changed.next,
            1000 + day,
            day,
            false,
        );
        assert!(daily.snapshot.full && daily.observations.len() == 3);
        // The state survives a restart.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/host.json");
        assert_eq!(AckedSnapshot::load(&path).unwrap(), AckedSnapshot::default());
        daily.next.save(&path).unwrap();
        assert_eq!(AckedSnapshot::load(&path).unwrap(), daily.next);
        std::fs::write(&path, "{broken").unwrap();
        assert!(AckedSnapshot::load(&path).unwrap_err().contains("host.json"));
    }
}
