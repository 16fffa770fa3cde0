//! COMP rules. `comp-1.1/no-cleartext-management`: no service offering a cleartext management
//! protocol (Telnet, FTP, TFTP, HTTP without TLS, community-based SNMP) is seen in the period; every other service
//! seen satisfies it.

use super::{Evidence, Observed, Outcome, finding};
use crate::assess::rules::Finding;

/// Cleartext management protocols and why they fail.
const CLEARTEXT: &[(&str, &str)] = &[
    ("telnet", "Telnet sends credentials and sessions in clear text"),
    ("ftp", "FTP sends credentials in clear text"),
    ("tftp", "TFTP has no authentication"),
    (
        "http",
        "HTTP without TLS: web administration and its credentials in clear text",
    ),
    (
        "snmp",
        "SNMP seen without evidence of v3: community strings in clear text",
    ),
];

/// One finding per service seen during the period.
pub fn cleartext_management(seen: &Observed) -> Vec<Finding> {
    let (rule, period) = ("comp-1.1/no-cleartext-management", seen.period);
    let mut out = Vec::new();
    for asset in &seen.assets {
        for s in asset
            .services
            .iter()
            .filter(|s| s.last_seen >= period.start && s.first_seen < period.end)
        {
            let protocol = s.protocol.as_deref().unwrap_or("");
            let subject = format!(
                "{} {}/{} {}",
                s.ip,
                s.transport.as_str(),
                s.port,
                if protocol.is_empty() { "?" } else { protocol }
            );
            let (outcome, detail) = match CLEARTEXT.iter().find(|(p, _)| *p == protocol) {
                Some((_, why)) => (Outcome::Violated, why.to_string()),
                None => (
                    Outcome::Satisfied,
                    "not a cleartext management protocol".to_string(),
                ),
            };
            let evidence = vec![Evidence::Observation { id: s.observation_id }];
            out.push(finding(rule, subject, outcome, detail, evidence));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::rules::testdata::{Plant, service};
    use shoko_proto::Transport;

    #[test]
    fn telnet_ftp_and_snmp_are_violations_and_modbus_is_not() {
        let plant = Plant::new(
            vec![
                service("10.10.2.21", Transport::Tcp, 23, "telnet"),
                service("10.10.2.21", Transport::Tcp, 21, "ftp"),
                service("10.10.2.21", Transport::Udp, 161, "snmp"),
                service("10.10.2.21", Transport::Tcp, 502, "modbus"),
            ],
            None,
        );
        let got: Vec<(String, Outcome)> = cleartext_management(&plant.observed(0, 1_000))
            .into_iter()
            .map(|f| (f.subject, f.outcome))
            .collect();
        assert_eq!(
            got,
            [
                ("10.10.2.21 tcp/21 ftp".to_string(), Outcome::Violated),
                ("10.10.2.21 tcp/23 telnet".to_string(), Outcome::Violated),
                ("10.10.2.21 tcp/502 modbus".to_string(), Outcome::Satisfied),
                ("10.10.2.21 udp/161 snmp".to_string(), Outcome::Violated),
            ]
        );
        // Outside the period nothing is seen.
        assert!(cleartext_management(&plant.observed(2_000, 3_000)).is_empty());
    }
}
