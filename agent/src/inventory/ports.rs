//! Well-known service ports: a first guess at a service's protocol before any dissector has looked
//! at its payload. Services named only this way carry `detected_by = "port"`.

use shoko_proto::Transport;

/// (transport, port, protocol name), sorted by transport then port.
const WELL_KNOWN: &[(Transport, u16, &str)] = &[
    (Transport::Tcp, 20, "ftp-data"),
    (Transport::Tcp, 21, "ftp"),
    (Transport::Tcp, 22, "ssh"),
    (Transport::Tcp, 23, "telnet"),
    (Transport::Tcp, 25, "smtp"),
    (Transport::Tcp, 53, "dns"),
    (Transport::Tcp, 80, "http"),
    (Transport::Tcp, 102, "iso-tsap"),
    (Transport::Tcp, 135, "msrpc"),
    (Transport::Tcp, 139, "netbios-ssn"),
    (Transport::Tcp, 443, "https"),
    (Transport::Tcp, 445, "smb"),
    (Transport::Tcp, 502, "modbus"),
    (Transport::Tcp, 789, "crimson-v3"),
    (Transport::Tcp, 1433, "mssql"),
    (Transport::Tcp, 1911, "niagara-fox"),
    (Transport::Tcp, 1962, "pcworx"),
    (Transport::Tcp, 2404, "iec104"),
    (Transport::Tcp, 3389, "rdp"),
    (Transport::Tcp, 4840, "opcua"),
    (Transport::Tcp, 5094, "hart-ip"),
    (Transport::Tcp, 5900, "vnc"),
    (Transport::Tcp, 9600, "omron-fins"),
    (Transport::Tcp, 20000, "dnp3"),
    (Transport::Tcp, 44818, "enip"),
    (Transport::Tcp, 48898, "ads"),
    (Transport::Udp, 53, "dns"),
    (Transport::Udp, 67, "dhcp"),
    (Transport::Udp, 69, "tftp"),
    (Transport::Udp, 123, "ntp"),
    (Transport::Udp, 137, "netbios-ns"),
    (Transport::Udp, 161, "snmp"),
    (Transport::Udp, 514, "syslog"),
    (Transport::Udp, 1900, "ssdp"),
    (Transport::Udp, 2222, "enip-io"),
    (Transport::Udp, 5094, "hart-ip"),
    (Transport::Udp, 5353, "mdns"),
    (Transport::Udp, 9600, "omron-fins"),
    (Transport::Udp, 20000, "dnp3"),
    (Transport::Udp, 44818, "enip"),
    (Transport::Udp, 47808, "bacnet"),
];

/// The protocol usually served on `port`, if it is a well-known service port.
pub fn well_known(transport: Transport, port: u16) -> Option<&'static str> {
    WELL_KNOWN
        .binary_search_by(|(t, p, _)| (*t, *p).cmp(&(transport, port)))
        .ok()
        .map(|i| WELL_KNOWN[i].2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_found() {
        assert!(WELL_KNOWN.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
        assert_eq!(well_known(Transport::Tcp, 502), Some("modbus"));
        assert_eq!(well_known(Transport::Udp, 502), None);
    }
}
