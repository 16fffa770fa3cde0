//! Multi-period scoring: synthetic host histories over eight weekly periods reach each level
//! exactly where `requirements.md` puts the thresholds.

use super::*;
use crate::assess::attest::{NewAttestation, Statement};
use crate::assess::catalog::Catalog;
use crate::store::Store;
use crate::store::sqlite::SqliteStore;
use shoko_proto::{
    AssetRef, ConfigCheck, Envelope, HostFacts, HostSnapshot, Observation, ObservationBody, ParserRef,
    Provenance, Source,
};

const WEEK: i64 = 7 * DAY_NS;
const HOSTS: usize = 20;

/// End of the latest period.
fn at() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-22T00:00:00Z").unwrap()
}

fn host_obs(when: Timestamp, body: ObservationBody) -> Observation {
    Observation {
        provenance: Provenance {
            source: Source::Agent,
            parser: ParserRef::new("test", "1"),
            observed_at: when,
            evidence: Default::default(),
        },
        body,
    }
}

fn host_ref(host: usize) -> AssetRef {
    AssetRef {
        host_id: Some(format!("{host:032x}")),
        ..Default::default()
    }
}

/// A store where `HOSTS` hosts report once in the middle of each of 8 weeks (week 0 the newest):
/// a full inventory and `check` with the outcome `outcome(host, week)` gives, each received as it
/// is made.
fn history(check: &str, outcome: impl Fn(usize, usize) -> CheckOutcome) -> (tempfile::TempDir, SqliteStore) {
    history_received(check, outcome, |made| made)
}

/// [`history`] with each report received at `received(made)`.
fn history_received(
    check: &str,
    outcome: impl Fn(usize, usize) -> CheckOutcome,
    received: impl Fn(Timestamp) -> Timestamp,
) -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    for week in (0..8).rev() {
        let when = Timestamp(at().0 - week as i64 * WEEK - WEEK / 2);
        for host in 0..HOSTS {
            let facts = HostFacts {
                asset: host_ref(host),
                hostname: format!("hmi-{host:02}"),
                snapshot: Some(HostSnapshot {
                    full: true,
                    items: 1,
                    sent: 1,
                    removed: vec![],
                }),
                ..Default::default()
            };
            let check = ConfigCheck {
                asset: host_ref(host),
                check_id: check.into(),
                requirements: vec![],
                outcome: outcome(host, week),
                reason: format!("week {week}"),
                excerpts: vec![],
            };
            let batch = Envelope {
                protocol_version: 1,
                agent_id: format!("host-{host}"),
                seq: 8 - week as u64,
                sent_at: when,
                observations: vec![
                    host_obs(when, ObservationBody::HostFacts(facts)),
                    host_obs(when, ObservationBody::ConfigCheck(check)),
                ],
            };
            store.ingest(&batch, received(when)).unwrap();
        }
    }
    (dir, store)
}

/// A document covering `scope`, reviewed next on `next_review`, countersigned by a second
/// administrator.
fn document(store: &SqliteStore, scope: &str, next_review: &str) -> i64 {
    let id = uncountersigned_document(store, scope, next_review);
    countersign(store, id);
    id
}

/// A second administrator's countersignature of attestation `id`, 59 days before the end.
fn countersign(store: &SqliteStore, id: i64) {
    store
        .countersign_attestation(id, "user:second-admin", Timestamp(at().0 - 59 * DAY_NS))
        .unwrap();
}

fn uncountersigned_document(store: &SqliteStore, scope: &str, next_review: &str) -> i64 {
    store
        .attest(&NewAttestation {
            statement: Statement {
                kind: AttestationKind::Document,
                scope: scope.into(),
                title: "Portable media procedure".into(),
                version: Some("2".into()),
                owner: Some("OT security".into()),
                approved_on: Some("2026-01-10".into()),
                next_review: Some(next_review.into()),
                file_name: Some("media.pdf".into()),
                sha256: Some("00".repeat(32)),
                expires: None,
            },
            by: "auditor".into(),
            at: Timestamp(at().0 - 60 * DAY_NS),
        })
        .unwrap()
}

/// An attestation of `kind` over `scope` for `day` (a record's day of practice), entered at
/// `entered` (60 days before the end by default).
fn attest_at(
    store: &SqliteStore,
    kind: AttestationKind,
    scope: &str,
    day: Option<&str>,
    entered: Option<Timestamp>,
) -> i64 {
    store
        .attest(&NewAttestation {
            statement: Statement {
                kind,
                scope: scope.into(),
                title: "stated".into(),
                approved_on: day.map(str::to_string),
                ..Default::default()
            },
            by: "auditor".into(),
            at: entered.unwrap_or(Timestamp(at().0 - 60 * DAY_NS)),
        })
        .unwrap()
}

fn attest(store: &SqliteStore, kind: AttestationKind, scope: &str, day: Option<&str>) -> i64 {
    attest_at(store, kind, scope, day, None)
}

/// A record of practice on `day`, entered that day at noon.
fn record(store: &SqliteStore, scope: &str, day: &str) -> i64 {
    let noon = Timestamp::parse_rfc3339(&format!("{day}T12:00:00Z")).unwrap();
    attest_at(store, AttestationKind::Record, scope, Some(day), Some(noon))
}

fn score_of(store: &SqliteStore, requirement: &str) -> RequirementScore {
    let catalog = Catalog::embedded();
    let inputs = Inputs {
        store,
        catalog: &catalog,
        declared: None,
    };
    let d = assess(&inputs, at(), 7).unwrap();
    d.assessment
        .scores
        .into_iter()
        .find(|s| s.requirement == requirement)
        .unwrap()
}

fn levels(s: &RequirementScore) -> (Level, Level, Option<Level>) {
    (s.level, s.practice, s.documentary)
}

const USB: &str = "media.usb_storage_blocked";

/// `fails[week]` hosts failing in each week, different hosts from one week to the next.
fn failing(fails: [usize; 8]) -> impl Fn(usize, usize) -> CheckOutcome {
    move |host, week| {
        if host >= 10 + week && host < 10 + week + fails[week] {
            CheckOutcome::Fail
        } else {
            CheckOutcome::Pass
        }
    }
}
use CheckOutcome::{Fail, NotApplicable, Pass, Unknown};

#[test]
fn every_host_passing_for_eight_periods_is_ml4_practice_rated_ml1_until_documented() {
    let (_d, store) = history(USB, |_, _| Pass);
    let s = score_of(&store, "COMP 1.2");
    assert_eq!(levels(&s), (Level::Ml1, Level::Ml4, None));
    assert!(
        s.reasons
            .contains(&"practice at ML4, document it to be rated ML4".to_string()),
        "{:?}",
        s.reasons
    );
    let p = &s.periods[0];
    assert_eq!((p.subjects, p.satisfied, p.violated, p.unknown), (20, 20, 0, 0));
    assert_eq!(
        (p.observability, p.conformance, p.metric),
        (Some(1.0), Some(1.0), Some(1.0))
    );
    assert_eq!(s.periods.len(), 8);
    assert_eq!(
        period_label(&s.periods[7].period),
        "2026-09-27..2026-10-04",
        "eight weekly periods back from the end"
    );

    let doc = document(&store, "COMP 1", "2027-01-10");
    let s = score_of(&store, "COMP 1.2");
    assert_eq!(levels(&s), (Level::Ml4, Level::Ml4, Some(Level::Ml2)));
    assert_eq!(s.attestations, [doc]);
}

#[test]
fn the_same_kind_of_violation_from_alternating_hosts_blocks_ml3() {
    // One host in 20 fails each week, a different one each week: 0.95 in every period, but the
    // same check fails every week: no repeatable practice.
    let (_d, store) = history(USB, |host, week| if host == week { Fail } else { Pass });
    document(&store, "COMP 1.2", "2027-01-10");
    let s = score_of(&store, "COMP 1.2");
    assert_eq!(levels(&s), (Level::Ml2, Level::Ml1, Some(Level::Ml2)));
    assert_eq!(s.periods[0].conformance, Some(0.95));
    assert_eq!(
        s.recurring,
        ["comp-1.2/usb-storage-blocked violated in 4 of 4 periods"]
    );
    assert!(
        s.reasons.contains(
            &"the same kind of violation recurs (comp-1.2/usb-storage-blocked violated in 4 of 4 periods): not ML3"
                .to_string()
        ),
        "{:?}",
        s.reasons
    );
}

#[test]
fn conformance_at_the_ml3_threshold_once_is_ml3_not_ml4() {
    // Control twin: one host fails in the current week only (0.95), every other week all pass.
    let (_d, store) = history(USB, |host, week| if host == 0 && week == 0 { Fail } else { Pass });
    let s = score_of(&store, "COMP 1.2");
    assert_eq!(levels(&s), (Level::Ml1, Level::Ml3, None));
    assert!(s.recurring.is_empty());
    assert!(
        s.reasons
            .contains(&"practice at ML3, document it to be rated ML3".to_string())
    );
    document(&store, "COMP 1.2", "2027-01-10");
    let s = score_of(&store, "COMP 1.2");
    assert_eq!(levels(&s), (Level::Ml3, Level::Ml3, Some(Level::Ml2)));
    assert_eq!(s.periods[0].conformance, Some(0.95));
    assert!(
        s.reasons.contains(
            &"conformance of its subjects not at target (0.99) in each of the last 4 periods (0.95, 1.00, 1.00, 1.00, newest first): not ML4"
                .to_string()
        ),
        "{:?}",
        s.reasons
    );
}

#[test]
fn an_improving_trend_alone_is_not_ml4_and_a_dip_below_the_threshold_in_four_periods_is_not_ml3() {
    // Failures per week, newest first, of 20 hosts: improving, but the fourth period back is
    // below the 0.99 target.
    let (_d, store) = history(USB, failing([0, 0, 0, 1, 2, 3, 3, 4]));
    document(&store, "COMP 1.2", "2027-01-10");
    let s = score_of(&store, "COMP 1.2");
    assert_eq!(levels(&s), (Level::Ml3, Level::Ml3, Some(Level::Ml2)));
    assert!(
        s.reasons
            .iter()
            .any(|r| r.starts_with("conformance of its subjects not at target (0.99)")),
        "{:?}",
        s.reasons
    );
    // At target in the last four periods and improving before: ML4.
    let (_d, store) = history(USB, failing([0, 0, 0, 0, 2, 3, 3, 4]));
    document(&store, "COMP 1.2", "2027-01-10");
    let s = score_of(&store, "COMP 1.2");
    assert_eq!(levels(&s), (Level::Ml4, Level::Ml4, Some(Level::Ml2)));
    assert!(
        s.reasons.iter().any(|r| r.starts_with(
            "conformance of its subjects at target (0.99) in each of the last 4 periods and not worsening over 8"
        )),
        "{:?}",
        s.reasons
    );

    // Two failures in the fourth period back: 0.90 < 0.95.
    let (_d, store) = history(USB, failing([0, 1, 1, 2, 2, 3, 3, 4]));
    document(&store, "COMP 1.2", "2027-01-10");
    let s = score_of(&store, "COMP 1.2");
    assert_eq!(levels(&s), (Level::Ml2, Level::Ml1, Some(Level::Ml2)));
    assert!(
        s.reasons.contains(
            &"period 2026-10-25..2026-11-01: conformance 0.90 (ML3 needs 0.95), observability 1.00 (needs 0.8): not ML3"
                .to_string()
        ),
        "{:?}",
        s.reasons
    );
}

#[test]
fn a_violation_open_past_its_sla_stops_ml3() {
    // The same host fails for five weeks (35 days > 30), the rest pass: 0.95 in every period.
    let (_d, store) = history(USB, |host, week| if host == 0 && week < 5 { Fail } else { Pass });
    document(&store, "COMP 1.2", "2027-01-10");
    let s = score_of(&store, "COMP 1.2");
    assert_eq!(levels(&s), (Level::Ml2, Level::Ml1, Some(Level::Ml2)));
    assert_eq!(
        s.overdue,
        ["comp-1.2/usb-storage-blocked host hmi-00 (asset 1) media.usb_storage_blocked"]
    );
    // Four weeks (28 days) is within the SLA.
    let (_d, store) = history(USB, |host, week| if host == 0 && week < 4 { Fail } else { Pass });
    let s = score_of(&store, "COMP 1.2");
    assert_eq!(levels(&s), (Level::Ml1, Level::Ml3, None));
    assert!(s.overdue.is_empty());
}

#[test]
fn documented_but_practised_ad_hoc_is_ml2_and_an_expired_document_does_not_count() {
    let (_d, store) = history(USB, |host, _| if host % 2 == 0 { Fail } else { Pass });
    assert_eq!(
        levels(&score_of(&store, "COMP 1.2")),
        (Level::Ml1, Level::Ml1, None)
    );
    document(&store, "COMP 1.2", "2026-11-21");
    assert_eq!(
        levels(&score_of(&store, "COMP 1.2")),
        (Level::Ml1, Level::Ml1, None)
    );
    // A valid document no second administrator countersigned: no effect.
    let id = uncountersigned_document(&store, "COMP 1.2", "2026-11-22");
    let s = score_of(&store, "COMP 1.2");
    assert_eq!(levels(&s), (Level::Ml1, Level::Ml1, None));
    assert!(s.reasons.contains(&format!(
        "awaiting a second administrator's countersignature, so without effect: document \"Portable media procedure\" (attestation {id})"
    )), "{:?}", s.reasons);
    countersign(&store, id);
    let s = score_of(&store, "COMP 1.2");
    assert_eq!(levels(&s), (Level::Ml2, Level::Ml1, Some(Level::Ml2)));
    assert!(s.reasons.contains(&format!(
        "documented: \"Portable media procedure\" version 2, owner OT security, attested by auditor, countersigned by user:second-admin, review due 2026-11-22, SHA-256 {} (attestation {id})",
        "00".repeat(32)
    )), "{:?}", s.reasons);
}

#[test]
fn no_satisfied_subject_is_not_met_and_too_few_with_data_is_insufficient_evidence() {
    let (_d, store) = history(USB, |_, _| Fail);
    assert_eq!(
        levels(&score_of(&store, "COMP 1.2")),
        (Level::NotMet, Level::NotMet, None)
    );
    // A document over practice that is not met leaves it not met.
    document(&store, "COMP 1.2", "2027-01-10");
    let s = score_of(&store, "COMP 1.2");
    assert_eq!(levels(&s), (Level::NotMet, Level::NotMet, Some(Level::Ml2)));
    assert!(s.reasons.contains(
        &"documented, not practised: a document does not lift practice that is not met".to_string()
    ));

    // 10 of 20 hosts with data: observability 0.5 is enough to rate.
    let (_d, store) = history(USB, |host, _| if host < 10 { Unknown } else { Pass });
    let s = score_of(&store, "COMP 1.2");
    assert_eq!(levels(&s), (Level::Ml1, Level::Ml1, None));
    assert_eq!(s.periods[0].observability, Some(0.5));
    // 11 of 20 without: 0.45.
    let (_d, store) = history(USB, |host, _| if host < 11 { Unknown } else { Pass });
    let s = score_of(&store, "COMP 1.2");
    assert_eq!(
        levels(&s),
        (Level::InsufficientEvidence, Level::InsufficientEvidence, None)
    );
    assert_eq!(
        s.reasons[0],
        "observability 0.45 (9 of 20 subjects with data) < 0.5: insufficient evidence"
    );
    // Documented, the practice unknown: ML2.
    document(&store, "COMP 1", "2027-01-10");
    assert_eq!(
        levels(&score_of(&store, "COMP 1.2")),
        (Level::Ml2, Level::InsufficientEvidence, Some(Level::Ml2))
    );
    // Nothing observed at all for a requirement: insufficient evidence, not ML1.
    assert_eq!(score_of(&store, "NET 1.3").practice, Level::InsufficientEvidence);
}

#[test]
fn not_applicable_by_attestation_or_by_evidence() {
    let (_d, store) = history("wireless.enterprise_security", |_, _| NotApplicable);
    let s = score_of(&store, "NET 2.1");
    assert_eq!(s.level, Level::NotApplicable);
    assert_eq!(
        s.not_applicable.as_deref(),
        Some("none of the 20 reporting hosts has a wireless network and no zone is declared wireless")
    );
    // One host with a wireless network: it applies, and one subject rates no higher than ML1.
    let (_d, store) = history("wireless.enterprise_security", |host, _| {
        if host == 3 { Pass } else { NotApplicable }
    });
    let s = score_of(&store, "NET 2.1");
    assert_eq!(levels(&s), (Level::Ml1, Level::Ml1, None));
    assert!(s.reasons.contains(
        &"too few subjects to rate above ML1: 1 in period 2026-11-15..2026-11-22 (ML3 and ML4 need at least 5 in each of the last 4 periods)"
            .to_string()
    ), "{:?}", s.reasons);
    let id = attest(&store, AttestationKind::NotApplicable, "NET 2", None);
    // Without a second administrator's countersignature the statement has no effect.
    let s = score_of(&store, "NET 2.1");
    assert_eq!(s.level, Level::Ml1);
    assert!(s.reasons.contains(&format!(
        "awaiting a second administrator's countersignature, so without effect: not_applicable \"stated\" (attestation {id})"
    )), "{:?}", s.reasons);
    countersign(&store, id);
    let s = score_of(&store, "NET 2.1");
    assert_eq!(s.level, Level::NotApplicable);
    assert_eq!(
        s.not_applicable,
        Some(format!("attested by auditor (attestation {id}): stated"))
    );

    // Not applicable cannot hide a violation seen in the period.
    let (_d, store) = history("wireless.enterprise_security", |host, _| {
        if host == 3 { Fail } else { NotApplicable }
    });
    let id = attest(&store, AttestationKind::NotApplicable, "NET 2", None);
    countersign(&store, id);
    let s = score_of(&store, "NET 2.1");
    assert_eq!((s.level, s.not_applicable.as_deref()), (Level::NotMet, None));
    assert!(s.reasons.contains(&format!(
        "not-applicable statement contradicted by evidence (attested by auditor (attestation {id}): stated): 1 violations in the current period, rated from the evidence"
    )), "{:?}", s.reasons);
}

#[test]
fn attestation_only_requirements_rise_above_ml2_only_with_records_of_practice() {
    let (_d, store) = history(USB, |_, _| Pass);
    assert_eq!(
        levels(&score_of(&store, "NET 1.5")),
        (Level::InsufficientEvidence, Level::InsufficientEvidence, None)
    );
    document(&store, "NET 1.5", "2027-01-10");
    assert_eq!(
        levels(&score_of(&store, "NET 1.5")),
        (Level::Ml2, Level::InsufficientEvidence, Some(Level::Ml2))
    );
    // A disconnection test recorded this week: practised (ML1), still ML2.
    record(&store, "NET 1.5", "2026-11-20");
    assert_eq!(
        levels(&score_of(&store, "NET 1.5")),
        (Level::Ml2, Level::Ml1, Some(Level::Ml2))
    );
    // Backdated: three more records for earlier weeks, all entered now: last week's within the
    // 7 days of grace, the two before it not counted.
    for day in ["2026-11-12", "2026-11-05", "2026-10-29"] {
        let now = Timestamp(at().0 - 3_600_000_000_000);
        attest_at(&store, AttestationKind::Record, "NET 1.5", Some(day), Some(now));
    }
    let s = score_of(&store, "NET 1.5");
    assert_eq!(levels(&s), (Level::Ml2, Level::Ml1, Some(Level::Ml2)));
    assert_eq!(
        s.periods
            .iter()
            .map(|p| (p.records, p.records_late))
            .collect::<Vec<_>>(),
        [(1, 0), (1, 0), (0, 1), (0, 1), (0, 0), (0, 0), (0, 0), (0, 0)]
    );
    assert!(s.reasons.contains(
        &"2 records of practice recorded late (more than 7 days after their period, or before it): not counted".to_string()
    ), "{:?}", s.reasons);
    // Recorded in each of the last four weeks, each within its week: ML3.
    for day in ["2026-11-05", "2026-10-29"] {
        record(&store, "NET 1.5", day);
    }
    let s = score_of(&store, "NET 1.5");
    assert_eq!(levels(&s), (Level::Ml3, Level::Ml3, Some(Level::Ml2)));
    assert_eq!(
        s.periods.iter().map(|p| p.records).collect::<Vec<_>>(),
        [1, 1, 1, 1, 0, 0, 0, 0]
    );
}

#[test]
fn the_same_evidence_gives_the_same_digest_and_new_evidence_another() {
    let (_d, store) = history(USB, |host, week| if host == 0 && week == 0 { Fail } else { Pass });
    let first = score_of(&store, "COMP 1.2");
    assert_eq!(first, score_of(&store, "COMP 1.2"));
    let other = score_of(&store, "NET 1.9").evidence_digest;
    // One more report in the current period changes NET 1.6's digest and no other's evidence.
    let when = Timestamp(at().0 - DAY_NS);
    let check = ConfigCheck {
        asset: host_ref(0),
        check_id: USB.into(),
        requirements: vec![],
        outcome: Pass,
        reason: "again".into(),
        excerpts: vec![],
    };
    let batch = Envelope {
        protocol_version: 1,
        agent_id: "host-0".into(),
        seq: 9,
        sent_at: when,
        observations: vec![host_obs(when, ObservationBody::ConfigCheck(check))],
    };
    store.ingest(&batch, when).unwrap();
    let second = score_of(&store, "COMP 1.2");
    assert_ne!(first.evidence_digest, second.evidence_digest);
    // host 0, failing this week, now passes: conformance 1.00 this week, so the metric improves.
    assert_eq!((first.practice, second.practice), (Level::Ml3, Level::Ml4));
    assert_eq!(score_of(&store, "NET 1.9").evidence_digest, other);
}

#[test]
fn groups_and_spes_show_the_distribution() {
    let (_d, store) = history(USB, |_, _| Pass);
    document(&store, "COMP 1", "2027-01-10");
    document(&store, "COMP 2", "2027-01-10");
    let na = attest(&store, AttestationKind::NotApplicable, "COMP 1.1", None);
    countersign(&store, na);
    let catalog = Catalog::embedded();
    let inputs = Inputs {
        store: &store,
        catalog: &catalog,
        declared: None,
    };
    let a = assess(&inputs, at(), 7).unwrap().assessment;
    let group = |id: &str| {
        let g = a.groups.iter().find(|g| g.id == id).unwrap();
        let levels: Vec<(&str, usize)> = g.levels.iter().map(|(l, n)| (*l, *n)).collect();
        (levels, g.lowest)
    };
    // COMP 1.2 practised at ML4 and documented; COMP 1.1 not applicable.
    assert_eq!(
        group("COMP 1"),
        (vec![("ML4", 1), ("not-applicable", 1)], Some(Level::Ml4))
    );
    // Documented, no evidence of practice: ML2 each.
    assert_eq!(group("COMP 2"), (vec![("ML2", 3)], Some(Level::Ml2)));
    // Neither: COMP 3.1 to 3.4 have hosts without package data (insufficient), COMP 3.5 no host
    // with pending updates (insufficient).
    // Insufficient evidence is the lowest: a group is no better than what could not be seen.
    assert_eq!(
        group("COMP 3"),
        (
            vec![("insufficient-evidence", 5)],
            Some(Level::InsufficientEvidence)
        )
    );
    let comp = a.spes.iter().find(|s| s.id == "COMP").unwrap();
    assert_eq!(comp.levels.values().sum::<usize>(), 10);
    assert_eq!(comp.lowest, Some(Level::InsufficientEvidence));
}

#[test]
fn medians_means_and_trends() {
    assert_eq!(median(&mut [5.0, 1.0, 3.0]), Some(3.0));
    assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    assert_eq!(median(&mut []), None);
    assert_eq!(mean(&[1.0, 0.0, 0.0, 0.0]), Some(0.25));
    assert_eq!(trend(&[4.0, 3.0, 2.0, 1.0]), -1.0);
    assert_eq!(trend(&[2.0, 2.0]), 0.0);
    assert_eq!(trend(&[7.0]), 0.0);
}

#[test]
fn eight_weeks_delivered_at_once_show_each_weeks_state_but_no_practice_over_time() {
    // The same eight weekly reports, all received now (a replay, or copies shifted a week apart
    // in one delivery): every period but the newest is retrospective.
    let (_d, store) = history_received(USB, |_, _| Pass, |_| at());
    document(&store, "COMP 1", "2027-01-10");
    let s = score_of(&store, "COMP 1.2");
    assert_eq!(levels(&s), (Level::Ml2, Level::Ml1, Some(Level::Ml2)));
    assert_eq!(
        s.periods[0].receipt.late, 0,
        "the current period is received in time"
    );
    assert_eq!(
        (s.periods[1].receipt.observations, s.periods[1].receipt.late),
        (40, 40)
    );
    assert!(
        s.reasons.contains(
            &"period 2026-11-08..2026-11-15: of 40 observations, 40 received more than 48 hours after its end (retrospective) and 0 captured after their receipt (from the future): it shows the period's state, not practice: not ML3"
                .to_string()
        ),
        "{:?}",
        s.reasons
    );
    // Each period still shows its state: 20 hosts passing every week.
    assert!(s.periods.iter().all(|p| (p.satisfied, p.violated) == (20, 0)));

    // Control twin: the same reports received week by week reach ML4.
    let (_d, store) = history(USB, |_, _| Pass);
    document(&store, "COMP 1", "2027-01-10");
    assert_eq!(
        levels(&score_of(&store, "COMP 1.2")),
        (Level::Ml4, Level::Ml4, Some(Level::Ml2))
    );

    // Reports captured a day after they were received (a sensor clock a day fast) are from the
    // future: no practice either.
    let (_d, store) = history_received(USB, |_, _| Pass, |made| Timestamp(made.0 - DAY_NS));
    let s = score_of(&store, "COMP 1.2");
    assert_eq!(s.practice, Level::Ml1);
    assert_eq!(s.periods[0].receipt.future, 40);
}

#[test]
fn observability_is_measured_against_the_hosts_expected_not_those_reporting() {
    // 20 hosts with agents pass every week; 30 more HMIs are seen on the wire each week without
    // an agent: 20 of 50 expected hosts report, 0.40 < 0.5.
    let (_d, store) = history(USB, |_, _| Pass);
    for week in 0..8 {
        let when = Timestamp(at().0 - week * WEEK - WEEK / 2);
        let sightings = (0..30)
            .map(|i| {
                host_obs(
                    when,
                    ObservationBody::AssetSighting(shoko_proto::AssetSighting {
                        mac: Some(format!("00:1c:06:00:01:{i:02x}").parse().unwrap()),
                        ips: vec![format!("10.10.1.{}", 100 + i).parse().unwrap()],
                        first_seen: when,
                        last_seen: when,
                        class: Some("hmi-scada".into()),
                        ..Default::default()
                    }),
                )
            })
            .collect();
        let batch = Envelope {
            protocol_version: 1,
            agent_id: "sensor".into(),
            seq: 8 - week as u64,
            sent_at: when,
            observations: sightings,
        };
        store.ingest(&batch, when).unwrap();
    }
    let s = score_of(&store, "COMP 1.2");
    assert_eq!(s.practice, Level::InsufficientEvidence);
    let p = &s.periods[0];
    assert_eq!((p.satisfied, p.violated, p.observability), (20, 0, Some(0.4)));
    assert_eq!(
        p.coverage_statement,
        "hosts with agents 20/50; sensor placement not declared; days with data 1/7"
    );
}
