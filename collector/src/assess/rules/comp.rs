//! COMP rules. `comp-1.1/no-cleartext-management`: no service offering a cleartext management
//! protocol (Telnet, FTP, TFTP, community-based SNMP) is seen in the period; every other service
//! seen satisfies it.

use super::{Evidence, Inputs, Outcome, Period, finding};
use crate::assess::rules::Finding;
use crate::store::StoreError;

/// Cleartext management protocols and why they fail.
const CLEARTEXT: &[(&str, &str)] = &[
    ("telnet", "Telnet sends credentials and sessions in clear text"),
    ("ftp", "FTP sends credentials in clear text"),
    ("tftp", "TFTP has no authentication"),
    (
        "snmp",
        "SNMP seen without evidence of v3: community strings in clear text",
    ),
];

/// One finding per service seen during the period.
pub fn cleartext_management(inputs: &Inputs<'_>, period: Period) -> Result<Vec<Finding>, StoreError> {
    let rule = "comp-1.1/no-cleartext-management";
    let mut out = Vec::new();
    for asset in inputs.store.assets()? {
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
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::catalog::Catalog;
    use crate::store::Store;
    use crate::store::sqlite::SqliteStore;
    use shoko_proto::{
        AssetRef, Envelope, Observation, ObservationBody, ParserRef, Provenance, Service, Source, Timestamp,
        Transport,
    };

    fn service(port: u16, protocol: &str) -> Observation {
        Observation {
            provenance: Provenance {
                source: Source::Agent,
                parser: ParserRef::new("test", "1"),
                observed_at: Timestamp(100),
                evidence: Default::default(),
            },
            body: ObservationBody::Service(Service {
                asset: AssetRef {
                    ip: Some("10.10.2.21".parse().unwrap()),
                    ..Default::default()
                },
                transport: if protocol == "snmp" {
                    Transport::Udp
                } else {
                    Transport::Tcp
                },
                port,
                protocol: Some(protocol.into()),
                banner: None,
                bound: None,
                process: None,
                detected_by: Some("content".into()),
            }),
        }
    }

    #[test]
    fn telnet_ftp_and_snmp_are_violations_and_modbus_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
        let batch = Envelope {
            protocol_version: 1,
            agent_id: "s".into(),
            seq: 1,
            sent_at: Timestamp(1),
            observations: vec![
                service(23, "telnet"),
                service(21, "ftp"),
                service(161, "snmp"),
                service(502, "modbus"),
            ],
        };
        store.ingest(&batch, Timestamp(1)).unwrap();
        let catalog = Catalog::embedded();
        let inputs = Inputs {
            store: &store,
            catalog: &catalog,
            declared: None,
        };
        let got: Vec<(String, Outcome)> = cleartext_management(
            &inputs,
            Period {
                start: Timestamp(0),
                end: Timestamp(1_000),
            },
        )
        .unwrap()
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
        let later = Period {
            start: Timestamp(2_000),
            end: Timestamp(3_000),
        };
        assert!(cleartext_management(&inputs, later).unwrap().is_empty());
    }
}
