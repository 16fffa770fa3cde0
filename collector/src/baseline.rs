//! Baselines: the inventory (or the part a filter selects) approved by someone at a time, kept as
//! a snapshot of each asset's addresses, best attribute values and services; and the drift of the
//! current inventory from the latest baseline: assets not in it (unknown), assets in it not seen
//! for a while (missing), and attributes, addresses and services that differ (changed).

use crate::filter::AssetFilter;
use crate::store::{AssetView, Store, StoreError};
use serde::{Deserialize, Serialize};
use shoko_proto::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

/// What a baseline keeps of one asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Asset id.
    pub asset_id: i64,
    /// Fusion key.
    pub key: String,
    /// Addresses.
    pub ips: BTreeSet<String>,
    /// Best attribute values.
    pub attributes: BTreeMap<String, String>,
    /// Services as `tcp/502 on 10.0.0.5`.
    pub services: BTreeSet<String>,
}

impl Snapshot {
    /// What a baseline keeps of `a`.
    pub fn of(a: &AssetView) -> Self {
        Snapshot {
            asset_id: a.id,
            key: a.key.clone(),
            ips: a.ips.iter().map(ToString::to_string).collect(),
            attributes: a.attributes.clone(),
            services: a
                .services
                .iter()
                .map(|s| format!("{}/{} on {}", s.transport.as_str(), s.port, s.ip))
                .collect(),
        }
    }
}

/// A baseline as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaselineView {
    /// Baseline id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Who approved it.
    pub approved_by: String,
    /// When.
    pub approved_at: Timestamp,
    /// Free text.
    pub comment: String,
    /// The filter that selected its assets (all assets when empty).
    pub scope: AssetFilter,
    /// Assets in it.
    pub assets: u64,
}

/// A baseline to approve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBaseline {
    /// Name.
    pub name: String,
    /// Who approves it.
    pub approved_by: String,
    /// When.
    pub approved_at: Timestamp,
    /// Free text.
    pub comment: String,
    /// The filter that selected its assets.
    pub scope: AssetFilter,
    /// The assets.
    pub assets: Vec<Snapshot>,
}

/// One difference of an asset from its baseline snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// Asset id.
    pub asset_id: i64,
    /// Fusion key.
    pub key: String,
    /// `attribute:<name>`, `address` or `service`.
    pub what: String,
    /// Value in the baseline (none: added since).
    pub baseline: Option<String>,
    /// Value now (none: gone since).
    pub current: Option<String>,
}

/// An asset as named in a drift report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssetRefView {
    /// Asset id.
    pub asset_id: i64,
    /// Fusion key.
    pub key: String,
    /// Last seen (none: no longer stored).
    pub last_seen: Option<Timestamp>,
}

/// The drift of the inventory from a baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// The baseline compared with.
    pub baseline: BaselineView,
    /// When the comparison was made.
    pub at: Timestamp,
    /// In scope now, not in the baseline.
    pub unknown: Vec<AssetRefView>,
    /// In the baseline, not seen since `missing_since`.
    pub missing: Vec<AssetRefView>,
    /// Assets missing when not seen since this time.
    pub missing_since: Timestamp,
    /// What differs of the assets in both.
    pub changed: Vec<Difference>,
}

impl Drift {
    /// True when nothing drifted.
    pub fn is_empty(&self) -> bool {
        self.unknown.is_empty() && self.missing.is_empty() && self.changed.is_empty()
    }
}

/// Differences of two sets of values of one kind.
fn set_differences(
    out: &mut Vec<Difference>,
    (asset_id, key): (i64, &str),
    what: &str,
    baseline: &BTreeSet<String>,
    current: &BTreeSet<String>,
) {
    let diff = |b: Option<&String>, c: Option<&String>| Difference {
        asset_id,
        key: key.to_string(),
        what: what.to_string(),
        baseline: b.cloned(),
        current: c.cloned(),
    };
    out.extend(baseline.difference(current).map(|v| diff(Some(v), None)));
    out.extend(current.difference(baseline).map(|v| diff(None, Some(v))));
}

/// Compares the inventory now (`assets`) with a baseline's snapshots: an asset is missing when
/// not seen since `missing_since`.
pub fn drift(
    baseline: BaselineView,
    snapshots: &[Snapshot],
    assets: &[AssetView],
    at: Timestamp,
    missing_since: Timestamp,
) -> Drift {
    let now: BTreeMap<i64, &AssetView> = assets.iter().map(|a| (a.id, a)).collect();
    let kept: BTreeSet<i64> = snapshots.iter().map(|s| s.asset_id).collect();
    let unknown = assets
        .iter()
        .filter(|a| !kept.contains(&a.id) && baseline.scope.matches(a))
        .map(|a| AssetRefView {
            asset_id: a.id,
            key: a.key.clone(),
            last_seen: Some(a.last_seen),
        })
        .collect();
    let mut missing = Vec::new();
    let mut changed = Vec::new();
    for s in snapshots {
        let Some(a) = now.get(&s.asset_id) else {
            missing.push(AssetRefView {
                asset_id: s.asset_id,
                key: s.key.clone(),
                last_seen: None,
            });
            continue;
        };
        if a.last_seen < missing_since {
            missing.push(AssetRefView {
                asset_id: a.id,
                key: a.key.clone(),
                last_seen: Some(a.last_seen),
            });
        }
        let current = Snapshot::of(a);
        let id = (a.id, a.key.as_str());
        let names: BTreeSet<&String> = s.attributes.keys().chain(current.attributes.keys()).collect();
        for name in names {
            let (b, c) = (s.attributes.get(name), current.attributes.get(name));
            if b != c {
                changed.push(Difference {
                    asset_id: a.id,
                    key: a.key.clone(),
                    what: format!("attribute:{name}"),
                    baseline: b.cloned(),
                    current: c.cloned(),
                });
            }
        }
        set_differences(&mut changed, id, "address", &s.ips, &current.ips);
        set_differences(&mut changed, id, "service", &s.services, &current.services);
    }
    Drift {
        baseline,
        at,
        unknown,
        missing,
        missing_since,
        changed,
    }
}

/// Approves the current inventory (the assets `scope` selects) as a baseline.
pub fn approve(
    store: &dyn Store,
    name: &str,
    by: &str,
    comment: &str,
    scope: AssetFilter,
) -> Result<BaselineView, StoreError> {
    let assets: Vec<Snapshot> = store
        .assets()?
        .iter()
        .filter(|a| scope.matches(a))
        .map(Snapshot::of)
        .collect();
    let baseline = NewBaseline {
        name: name.to_string(),
        approved_by: by.to_string(),
        approved_at: Timestamp::now(),
        comment: comment.to_string(),
        scope,
        assets,
    };
    let id = store.approve_baseline(&baseline)?;
    Ok(BaselineView {
        id,
        name: baseline.name,
        approved_by: baseline.approved_by,
        approved_at: baseline.approved_at,
        comment: baseline.comment,
        scope: baseline.scope,
        assets: baseline.assets.len() as u64,
    })
}

/// The drift of the inventory now from the latest baseline; assets not seen for `missing_after`
/// before `at` are missing.
pub fn latest_drift(
    store: &dyn Store,
    at: Timestamp,
    missing_after: std::time::Duration,
) -> Result<Drift, StoreError> {
    let baseline = store
        .baselines()?
        .pop()
        .ok_or_else(|| StoreError::NotFound("baseline (approve one first)".into()))?;
    let snapshots = store.baseline_snapshots(baseline.id)?;
    let since = Timestamp(at.0.saturating_sub(i64::try_from(missing_after.as_nanos()).unwrap_or(i64::MAX)));
    Ok(drift(baseline, &snapshots, &store.assets()?, at, since))
}

/// The scope filter as stored (JSON).
pub fn scope_text(scope: &AssetFilter) -> Result<String, StoreError> {
    serde_json::to_string(scope).map_err(|e| StoreError::Encoding(e.to_string()))
}

/// A stored scope filter.
pub fn scope_from_text(text: &str) -> Result<AssetFilter, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Encoding(format!("baseline scope {text:?}: {e}")))
}

/// A stored snapshot of what is now asset `asset` (the snapshot's own id differs when its asset
/// was merged into another since).
pub fn snapshot_from_text(asset: i64, text: &str) -> Result<Snapshot, StoreError> {
    let snapshot: Snapshot =
        serde_json::from_str(text).map_err(|e| StoreError::Encoding(format!("baseline snapshot: {e}")))?;
    Ok(Snapshot {
        asset_id: asset,
        ..snapshot
    })
}
