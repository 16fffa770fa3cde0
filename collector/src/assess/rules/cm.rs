//! Change rules. `cm-1.4/changes-acknowledged`: every detected change (new or missing asset,
//! firmware, software or attribute change, new service, device-changing protocol event) is
//! acknowledged as authorised, with a change reference, within the requirement's SLA, counted
//! from when the collector received it (a capture analysed today of a change years ago starts its
//! clock today). `event-1.7/events-triaged`: the same for the detected protocol events, under
//! EVENT 1.7's SLA. A change decided in the period carries the hours it took (the metric).

use super::{Evidence, Inputs, Observed, Outcome, finding, requirement_of};
use crate::assess::rules::Finding;

/// Change kinds that are bookkeeping, not changes of the plant.
const NOT_PLANT_CHANGES: &[&str] = &["assets_merged"];

const DAY_NS: i64 = 86_400_000_000_000;

/// CM 1.4 over every change of the plant.
pub fn change_control(inputs: &Inputs<'_>, seen: &Observed) -> Vec<Finding> {
    decisions(inputs, seen, "cm-1.4/changes-acknowledged", |kind| {
        !NOT_PLANT_CHANGES.contains(&kind)
    })
}

/// EVENT 1.7 over the detected protocol events.
pub fn events_triaged(inputs: &Inputs<'_>, seen: &Observed) -> Vec<Finding> {
    decisions(inputs, seen, "event-1.7/events-triaged", |kind| {
        kind == "protocol_event"
    })
}

/// One finding of `rule` per change of a kind `counts` accepts, detected before the period's end
/// and not decided before its start: an open change stays a subject (and, past its SLA, a
/// violation) until someone decides it.
fn decisions(
    inputs: &Inputs<'_>,
    seen: &Observed,
    rule: &str,
    counts: impl Fn(&str) -> bool,
) -> Vec<Finding> {
    let period = seen.period;
    let sla = inputs.sla_ns(&requirement_of(rule));
    let mut out = Vec::new();
    for c in &seen.changes {
        let detected = c.detected_at.unwrap_or(c.observed_at);
        if !counts(&c.kind) || detected >= period.end || c.decided_at.is_some_and(|at| at < period.start) {
            continue;
        }
        // A decision after the period's end is not known at its end.
        let decided = c.decided_at.filter(|at| *at < period.end);
        let age = |until: i64| (until - detected.0) / DAY_NS;
        let (outcome, detail) = match (decided, c.status.as_str()) {
            (Some(at), "acknowledged") if at.0 - detected.0 <= sla => (
                Outcome::Satisfied,
                format!(
                    "acknowledged after {} days under {}",
                    age(at.0),
                    c.reference.clone().unwrap_or_default()
                ),
            ),
            (Some(at), "acknowledged") => (
                Outcome::Violated,
                format!(
                    "acknowledged after {} days, past the {}-day SLA",
                    age(at.0),
                    sla / DAY_NS
                ),
            ),
            (Some(_), _) => (
                Outcome::Violated,
                format!(
                    "rejected: not authorised ({})",
                    c.reference.clone().unwrap_or_default()
                ),
            ),
            (None, _) if period.end.0 - detected.0 > sla => (
                Outcome::Violated,
                format!(
                    "open for {} days, past the {}-day SLA",
                    age(period.end.0),
                    sla / DAY_NS
                ),
            ),
            (None, _) => (
                Outcome::Pending,
                format!(
                    "awaiting acknowledgement ({} of {} days)",
                    age(period.end.0),
                    sla / DAY_NS
                ),
            ),
        };
        let subject = format!("change {} {} {}", c.id, c.kind, c.subject);
        let evidence = vec![
            Evidence::Change { id: c.id },
            Evidence::Observation { id: c.observation_id },
        ];
        let hours = decided
            .filter(|at| *at >= period.start)
            .map(|at| (at.0 - detected.0) as f64 / 3_600_000_000_000.0);
        out.push(finding(rule, subject, outcome, detail, evidence).valued(hours));
    }
    out
}
