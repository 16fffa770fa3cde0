//! CM rules. `cm-1.4/changes-acknowledged`: every detected change (new or missing asset, firmware,
//! software or attribute change, new service, device-changing protocol event) is acknowledged
//! as authorised, with a change reference, within the requirement's SLA, counted from when the
//! collector received it (a capture analysed today of a change years ago starts its clock today).

use super::{Evidence, Inputs, Observed, Outcome, finding};
use crate::assess::rules::Finding;

/// Change kinds that are bookkeeping, not changes of the plant.
const NOT_PLANT_CHANGES: &[&str] = &["assets_merged"];

const DAY_NS: i64 = 86_400_000_000_000;

/// One finding per change detected before the period's end and not decided before its start: an
/// open change stays a subject (and, past its SLA, a violation) until someone decides it.
pub fn change_control(inputs: &Inputs<'_>, seen: &Observed) -> Vec<Finding> {
    let period = seen.period;
    let rule = "cm-1.4/changes-acknowledged";
    let sla = inputs.sla_ns("CM 1.4");
    let mut out = Vec::new();
    for c in &seen.changes {
        let detected = c.detected_at.unwrap_or(c.observed_at);
        if NOT_PLANT_CHANGES.contains(&c.kind.as_str())
            || detected >= period.end
            || c.decided_at.is_some_and(|at| at < period.start)
        {
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
                Outcome::Unknown,
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
        out.push(finding(rule, subject, outcome, detail, evidence));
    }
    out
}
