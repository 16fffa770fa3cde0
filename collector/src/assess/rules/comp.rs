//! COMP rules. `comp-1.1/no-cleartext-management`: no service offering a cleartext management
//! protocol (Telnet, FTP, TFTP, HTTP without TLS, community-based SNMP) and no OPC UA server
//! offering an endpoint without security (SecurityMode None) is seen in the period; every other
//! service seen satisfies it.

use super::{
    CLEARTEXT_ADMIN_INTO_IACS, CLEARTEXT_MANAGEMENT, Evidence, Inputs, Observed, Outcome, Period, finding,
};
use crate::assess::rules::Finding;
use crate::store::{Store, StoreError};
use shoko_proto::ObservationBody;
use std::collections::BTreeMap;
use std::net::IpAddr;

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

/// OPC UA servers seen offering an endpoint without security during `period`: per address, the
/// endpoint's URL and the observation (the GetEndpoints or CreateSession answer) that shows it.
pub fn opcua_without_security(
    store: &dyn Store,
    period: Period,
) -> Result<BTreeMap<IpAddr, (String, i64)>, StoreError> {
    let mut found = BTreeMap::new();
    for o in store.observations_of_kind("identity_claim", period.start, period.end)? {
        let ObservationBody::IdentityClaim(claim) = &o.observation.body else {
            continue;
        };
        let id = &claim.identity;
        if id.protocol != "opcua" || id.attributes.get("security_mode").map(String::as_str) != Some("None") {
            continue;
        }
        if let Some(ip) = claim.asset.ip {
            let url = id.attributes.get("endpoint_url").cloned().unwrap_or_default();
            found.entry(ip).or_insert((url, o.id));
        }
    }
    Ok(found)
}

/// One finding per service seen during the period.
pub fn cleartext_management(inputs: &Inputs<'_>, seen: &Observed) -> Vec<Finding> {
    let (rule, period) = ("comp-1.1/no-cleartext-management", seen.period);
    let mut out = Vec::new();
    for asset in seen.present_assets() {
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
            let mut evidence = vec![Evidence::Observation { id: s.observation_id }];
            let unsecured = (protocol == "opcua")
                .then(|| seen.opcua_without_security.get(&s.ip))
                .flatten();
            let (outcome, detail) = match (CLEARTEXT.iter().find(|(p, _)| *p == protocol), unsecured) {
                (Some((_, why)), _) => (Outcome::Violated, why.to_string()),
                (None, Some((url, shown_by))) => {
                    evidence.push(Evidence::Observation { id: *shown_by });
                    (
                        Outcome::Violated,
                        format!("OPC UA endpoint {url} offered without security (SecurityMode None)"),
                    )
                }
                (None, None) => (
                    Outcome::Satisfied,
                    "not a cleartext management protocol".to_string(),
                ),
            };
            let zone = inputs.declared.and_then(|d| d.zone_of(s.ip));
            let kind = match zone {
                Some(z) if protocol == "telnet" && z.kind.is_iacs() => {
                    (CLEARTEXT_ADMIN_INTO_IACS, z.name.clone())
                }
                _ => (CLEARTEXT_MANAGEMENT, protocol.to_owned()),
            };
            out.push(finding(rule, subject, outcome, detail, evidence).of_kind(kind.0, kind.1));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::rules::testdata::{Plant, obs, service};
    use shoko_proto::{AssetRef, Identity, IdentityClaim, Transport};

    /// An OPC UA server at `ip` telling, in a GetEndpoints answer, an endpoint with `mode`.
    fn endpoint(ip: &str, mode: &str) -> shoko_proto::Observation {
        let mut identity = Identity::new("opcua", 85);
        identity
            .attributes
            .insert("endpoint_url".into(), format!("opc.tcp://{ip}:4840/"));
        identity.attributes.insert("security_mode".into(), mode.into());
        obs(ObservationBody::IdentityClaim(IdentityClaim {
            asset: AssetRef {
                ip: Some(ip.parse().unwrap()),
                ..Default::default()
            },
            identity,
        }))
    }

    #[test]
    fn an_opc_ua_server_offering_an_endpoint_without_security_is_a_violation() {
        let plant = Plant::new(
            vec![
                service("10.10.2.15", Transport::Tcp, 4840, "opcua"),
                endpoint("10.10.2.15", "SignAndEncrypt"),
                endpoint("10.10.2.15", "None"),
                service("10.10.2.16", Transport::Tcp, 4840, "opcua"),
                endpoint("10.10.2.16", "SignAndEncrypt"),
                endpoint("10.10.2.16", "Sign"),
            ],
            None,
        );
        let got: Vec<(String, Outcome, String, usize)> =
            cleartext_management(&plant.inputs(), &plant.observed(0, 1_000))
                .into_iter()
                .map(|f| (f.subject, f.outcome, f.detail, f.evidence.len()))
                .collect();
        assert_eq!(
            got,
            [
                (
                    "10.10.2.15 tcp/4840 opcua".to_string(),
                    Outcome::Violated,
                    "OPC UA endpoint opc.tcp://10.10.2.15:4840/ offered without security (SecurityMode None)"
                        .to_string(),
                    2
                ),
                (
                    "10.10.2.16 tcp/4840 opcua".to_string(),
                    Outcome::Satisfied,
                    "not a cleartext management protocol".to_string(),
                    1
                ),
            ]
        );
    }

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
        let got: Vec<(String, Outcome)> = cleartext_management(&plant.inputs(), &plant.observed(0, 1_000))
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
        assert!(cleartext_management(&plant.inputs(), &plant.observed(2_000, 3_000)).is_empty());
    }
}
