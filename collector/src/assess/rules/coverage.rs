//! Coverage: how much of the system under consideration the evidence of a period could see,
//! measured against the expected population rather than against what happened to be observed:
//! in-scope zones with a declared sensor that reported, in-scope hosts with a reporting host agent
//! among those seen on the wire or reporting, and days with data.

use super::{Inputs, Observed};
use crate::store::{AssetView, StoreError};
use serde::{Deserialize, Serialize};

/// What a requirement's evidence is gathered from, so that its observability is measured against
/// that population.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Population {
    /// Network sensors: the in-scope zones.
    Zones,
    /// Host agents: the in-scope hosts.
    Hosts,
}

/// Covered out of expected, for one population.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    /// Covered.
    pub covered: usize,
    /// Expected.
    pub expected: usize,
}

/// The coverage of one period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// In-scope zones with a declared sensor that delivered in the period, of the in-scope zones;
    /// none when no zone declares its sensors (placement unknown).
    pub zones: Option<Share>,
    /// In-scope hosts with a host agent reporting in the period, of the in-scope hosts seen on
    /// the wire or reporting; none when none is expected.
    pub hosts: Option<Share>,
    /// Days of the period with an observation captured, and days in the period.
    pub days: Share,
}

/// Device classes of hosts an agent can run on (the sensor's classes and declared ones).
const HOST_CLASSES: &[&str] = &[
    "hmi",
    "scada",
    "engineering",
    "historian",
    "workstation",
    "server",
    "it-host",
];

/// Whether an asset's class is that of a host (a workstation, server, HMI ...), not a PLC or a
/// network device.
pub fn is_host_class(class: &str) -> bool {
    let class = class.to_lowercase();
    HOST_CLASSES.iter().any(|h| class.contains(h))
}

impl Coverage {
    /// Covered / expected of a population, when known.
    pub fn ratio(&self, population: Population) -> Option<f64> {
        let share = match population {
            Population::Zones => self.zones?,
            Population::Hosts => self.hosts?,
        };
        (share.expected > 0).then(|| share.covered as f64 / share.expected as f64)
    }

    /// In words: `hosts with agents 3/12; zones with sensor coverage 4/5; days with data 7/7`.
    pub fn statement(&self) -> String {
        let hosts = match self.hosts {
            Some(h) => format!("hosts with agents {}/{}", h.covered, h.expected),
            None => "no in-scope host seen".to_string(),
        };
        let zones = match self.zones {
            Some(z) => format!("zones with sensor coverage {}/{}", z.covered, z.expected),
            None => "sensor placement not declared".to_string(),
        };
        format!(
            "{hosts}; {zones}; days with data {}/{}",
            self.days.covered, self.days.expected
        )
    }
}

/// The coverage of what was read of a period.
pub fn read(inputs: &Inputs<'_>, seen: &Observed) -> Result<Coverage, StoreError> {
    let period = seen.period;
    let reporting = inputs.store.agents_reporting_between(period.start, period.end)?;
    let zones = inputs.declared.and_then(|d| {
        let placed = d.zones.iter().any(|z| !z.sensors.is_empty());
        let in_scope: Vec<_> = d.zones.iter().filter(|z| z.in_scope).collect();
        placed.then(|| Share {
            covered: in_scope
                .iter()
                .filter(|z| z.sensors.iter().any(|s| reporting.contains(s)))
                .count(),
            expected: in_scope.len(),
        })
    });
    let reporting_hosts = seen
        .hosts
        .iter()
        .filter(|(_, h)| h.reported_in(period))
        .map(|(id, _)| *id);
    let wire_hosts = seen
        .present_assets()
        .filter(|a| a.attributes.get("class").is_some_and(|c| is_host_class(c)))
        .map(|a: &AssetView| a.id);
    let expected: std::collections::BTreeSet<i64> = wire_hosts.chain(reporting_hosts.clone()).collect();
    let hosts = (!expected.is_empty()).then(|| Share {
        covered: reporting_hosts.filter(|id| expected.contains(id)).count(),
        expected: expected.len(),
    });
    let days = (period.end.0 - period.start.0).div_euclid(86_400_000_000_000);
    Ok(Coverage {
        zones,
        hosts,
        days: Share {
            covered: seen.receipt.days.clamp(0, days) as usize,
            expected: days as usize,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::rules::testdata::{Plant, sighting};

    const ZONES: &str = r#"
[[zone]]
name = "office"
kind = "enterprise"
cidrs = ["10.20.0.0/16"]
sensors = ["s"]

[[zone]]
name = "cell"
kind = "field"
cidrs = ["10.10.2.0/24"]
sensors = ["s"]

[[zone]]
name = "sis"
kind = "safety"
cidrs = ["10.10.9.0/24"]
sensors = ["sis-tap"]
"#;

    #[test]
    fn zones_in_scope_are_covered_by_their_declared_sensors_that_reported() {
        let observations = || {
            vec![
                sighting("00:80:f4:0a:0b:0c", "10.10.2.21", Some("plc")),
                sighting("00:0c:29:00:00:09", "10.20.0.9", Some("it-host")),
                sighting("00:0c:29:00:00:0a", "10.10.2.50", Some("hmi-scada")),
            ]
        };
        let plant = Plant::new(observations(), Some(ZONES));
        let seen = plant.observed(0, 1_000);
        // The office is enterprise, out of scope; the cell's sensor "s" delivered (the test
        // batch), the safety zone's did not.
        assert_eq!(
            seen.coverage.zones,
            Some(Share {
                covered: 1,
                expected: 2
            })
        );
        // The office PC is out of scope: the one expected host is the cell's HMI, without agent.
        assert_eq!(
            seen.coverage.hosts,
            Some(Share {
                covered: 0,
                expected: 1
            })
        );
        assert_eq!(seen.present.len(), 2);
        assert_eq!(
            seen.coverage.statement(),
            "hosts with agents 0/1; zones with sensor coverage 1/2; days with data 0/0"
        );
        assert_eq!(seen.coverage.ratio(Population::Zones), Some(0.5));

        // Without sensors declared, zone coverage is unknown, not full.
        let plant = Plant::new(
            observations(),
            Some(
                &ZONES
                    .replace("sensors = [\"sis-tap\"]", "")
                    .replace("sensors = [\"s\"]", ""),
            ),
        );
        let seen = plant.observed(0, 1_000);
        assert_eq!(seen.coverage.zones, None);
        assert_eq!(seen.coverage.ratio(Population::Zones), None);
    }
}
