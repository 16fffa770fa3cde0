//! `event-1.2/events-delivered`: every change record the collector received in the period
//! (device-changing protocol events among them) reaches a SIEM destination within
//! [`DELIVERY_HOURS`] of being received, as the delivery records show; one not delivered yet and
//! younger than that is pending.

use super::{Evidence, Observed, Outcome, finding};
use crate::assess::rules::Finding;

/// Hours a change record may take to reach a SIEM.
pub const DELIVERY_HOURS: i64 = 1;

const HOUR_NS: i64 = 3_600_000_000_000;

/// EVENT 1.2 over the change records received in the period.
pub fn events_delivered(seen: &Observed) -> Vec<Finding> {
    let period = seen.period;
    let mut out = Vec::new();
    for c in &seen.changes {
        let received = c.detected_at.unwrap_or(c.observed_at);
        if received < period.start || received >= period.end {
            continue;
        }
        let delivered = seen.deliveries.get(&c.id).filter(|at| **at < period.end);
        let minutes = |at: i64| (at - received.0).max(0) / 60_000_000_000;
        let (outcome, detail) = match delivered {
            Some(at) if at.0 - received.0 <= DELIVERY_HOURS * HOUR_NS => (
                Outcome::Satisfied,
                format!("delivered to a SIEM {} min after it was received", minutes(at.0)),
            ),
            Some(at) => (
                Outcome::Violated,
                format!(
                    "delivered to a SIEM {} min after it was received (over {DELIVERY_HOURS} h)",
                    minutes(at.0)
                ),
            ),
            None if period.end.0 - received.0 < DELIVERY_HOURS * HOUR_NS => (
                Outcome::Pending,
                "not delivered to a SIEM yet, within the hour".to_string(),
            ),
            None => (
                Outcome::Violated,
                format!("not delivered to any SIEM destination ({} received)", c.kind),
            ),
        };
        out.push(finding(
            "event-1.2/events-delivered",
            format!("change {}", c.id),
            outcome,
            detail,
            vec![Evidence::Change { id: c.id }],
        ));
    }
    out
}
