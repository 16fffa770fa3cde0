//! Which protocol events are changes of a device, and how their change records read. A change is
//! what alters the device itself: its program, firmware, operating mode, network identity or
//! configuration revision (the agent marks these severity high: program download, firmware
//! update, stop/start, restart, DCP set ...). Process writes (setpoints, tags, registers) are
//! operations, kept as events, not change records.

use shoko_proto::{AssetRef, ProtocolEvent, Severity};

/// Event kinds below high severity that still change a device's configuration.
const CONFIGURATION_KINDS: &[&str] = &["configuration_revision_changed"];

/// True when the event changes the device it targets.
pub fn is_change(e: &ProtocolEvent) -> bool {
    e.severity == Severity::High || CONFIGURATION_KINDS.contains(&e.kind.as_str())
}

/// How a party is named: IP, else MAC, else machine id.
fn party(r: &AssetRef) -> Option<String> {
    r.ip.map(|ip| ip.to_string())
        .or_else(|| r.mac.map(|m| m.to_string()))
        .or_else(|| r.host_id.clone())
}

/// The change record's subject (`s7comm plc_stop from 10.0.0.20`) and value (the details,
/// `key=value` joined by commas; none without details).
pub fn change_text(e: &ProtocolEvent) -> (String, Option<String>) {
    let mut subject = format!("{} {}", e.protocol, e.kind);
    if let Some(actor) = e.actor.as_ref().and_then(party) {
        subject.push_str(" from ");
        subject.push_str(&actor);
    }
    let details: Vec<String> = e.details.iter().map(|(k, v)| format!("{k}={v}")).collect();
    (subject, (!details.is_empty()).then(|| details.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_changes_are_changes_and_writes_are_not() {
        let mut e = ProtocolEvent {
            protocol: "pn_dcp".into(),
            kind: "set_ip".into(),
            severity: Severity::High,
            actor: Some(AssetRef {
                mac: Some("00:0c:29:aa:bb:cc".parse().unwrap()),
                ..Default::default()
            }),
            target: None,
            details: [("value".to_string(), "192.168.0.10".to_string())].into(),
        };
        assert!(is_change(&e));
        assert_eq!(
            change_text(&e),
            (
                "pn_dcp set_ip from 00:0c:29:aa:bb:cc".into(),
                Some("value=192.168.0.10".into())
            )
        );
        e.kind = "write".into();
        e.severity = Severity::Medium;
        assert!(!is_change(&e));
        e.kind = "configuration_revision_changed".into();
        assert!(is_change(&e));
    }
}
