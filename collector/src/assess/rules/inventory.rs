//! Inventory rules: every asset seen in the period is in the approved baseline (CM 1.1, and as
//! NET 1.6's "no unknown asset"), its identity is known (vendor, model, firmware or OS), and the
//! baseline was reviewed within the period (CM 1.1).

use super::{Observed, Outcome, finding};
use crate::assess::attest::day_of;
use crate::assess::rules::Finding;
use crate::store::AssetView;

fn subject(a: &AssetView) -> String {
    format!("asset {} {}", a.id, a.key)
}

/// CM 1.1 and NET 1.6: each asset seen is in the latest baseline approved before the period's end.
pub fn baseline_membership(seen: &Observed) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in ["cm-1.1/assets-in-baseline", "net-1.6/no-unknown-assets"] {
        for a in seen.present_assets() {
            let (outcome, detail) = match &seen.baseline {
                None => (Outcome::Unknown, "no baseline approved yet".to_string()),
                Some((b, members)) if members.contains(&a.id) => (
                    Outcome::Satisfied,
                    format!("in baseline {} {:?} approved by {}", b.id, b.name, b.approved_by),
                ),
                Some((b, _)) => (
                    Outcome::Violated,
                    format!("not in baseline {} {:?}: an unknown asset", b.id, b.name),
                ),
            };
            out.push(finding(rule, subject(a), outcome, detail, vec![]));
        }
    }
    out
}

/// CM 1.1: each asset seen has a vendor, a model (or product) and a firmware (or OS) version.
pub fn identity_known(seen: &Observed) -> Vec<Finding> {
    seen.present_assets()
        .map(|a| {
            let has = |names: &[&str]| names.iter().any(|n| a.attributes.contains_key(*n));
            let missing: Vec<&str> = [
                ("vendor", &["vendor"][..]),
                ("model", &["model", "product"][..]),
                ("firmware or OS", &["firmware", "os"][..]),
            ]
            .into_iter()
            .filter(|(_, names)| !has(names))
            .map(|(what, _)| what)
            .collect();
            let (outcome, detail) = if missing.is_empty() {
                (Outcome::Satisfied, "vendor, model and version known".to_string())
            } else {
                (Outcome::Violated, format!("unknown: {}", missing.join(", ")))
            };
            finding("cm-1.1/identity-known", subject(a), outcome, detail, vec![])
        })
        .collect()
}

/// CM 1.1: the baseline was approved (reviewed) within the period.
pub fn baseline_reviewed(seen: &Observed) -> Vec<Finding> {
    let p = seen.period;
    let (outcome, detail) = match &seen.baseline {
        None => (Outcome::Violated, "no baseline approved".to_string()),
        Some((b, _)) if b.approved_at >= p.start => (
            Outcome::Satisfied,
            format!(
                "baseline {} approved by {} on {}",
                b.id,
                b.approved_by,
                day_of(b.approved_at)
            ),
        ),
        Some((b, _)) => (
            Outcome::Violated,
            format!(
                "latest baseline {} approved on {}, before the period",
                b.id,
                day_of(b.approved_at)
            ),
        ),
    };
    vec![finding(
        "cm-1.1/baseline-reviewed",
        "the asset baseline".into(),
        outcome,
        detail,
        vec![],
    )]
}
