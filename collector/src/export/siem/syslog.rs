//! Syslog to a SIEM: RFC 5424 messages (facility 13, log audit) carrying the event as JSON or
//! CEF, framed by octet counting (RFC 6587 section 3.4.1; the framing RFC 5425 requires over
//! TLS), over TCP or TLS 1.2+ checked against a configured CA. One connection is kept open
//! and reopened after an error.
//!
//! Syslog has no acknowledgement: a round counts as delivered once written and flushed. A
//! receiver that dies with data in flight can lose it; the next write then fails and the
//! following rounds are retried on a new connection.

use super::event::SiemEvent;
use super::{SiemError, Sink, SyslogFormat};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Facility `log audit` (13).
const FACILITY: u8 = 13;
/// The private enterprise number RFC 5612 reserves for documentation, naming shoko's SD-ID.
const SD_ID: &str = "shoko@32473";
/// Time allowed to connect and to write a round.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The syslog severity (0 emergency .. 7 debug) of a 0-10 severity.
fn syslog_severity(severity: u8) -> u8 {
    match severity {
        9.. => 2,
        7..=8 => 4,
        4..=6 => 5,
        _ => 6,
    }
}

/// Escapes an SD-PARAM value (RFC 5424 section 6.3.3).
fn sd_escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace(']', "\\]")
}

/// Escapes a CEF header field.
fn cef_header(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

/// Escapes a CEF extension value.
fn cef_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('=', "\\=")
        .replace('\r', "\\r")
        .replace('\n', "\\n")
}

/// The message body of an event.
pub fn body(e: &SiemEvent, format: SyslogFormat) -> String {
    match format {
        SyslogFormat::Json => serde_json::json!({
            "stream": e.stream,
            "id": e.id,
            "time": e.at.to_string(),
            "kind": e.kind,
            "severity": e.severity,
            "asset_id": e.asset_id,
            "summary": e.summary,
            "fields": e.fields,
        })
        .to_string(),
        SyslogFormat::Cef => {
            let mut ext = vec![
                format!("rt={}", e.at.0 / 1_000_000),
                format!("externalId={}:{}", e.stream, e.id),
                format!("msg={}", cef_value(&e.summary)),
            ];
            if let Some(a) = e.asset_id {
                ext.push(format!("cs1Label=asset cs1={a}"));
            }
            for (k, v) in &e.fields {
                if !k.contains(['=', ' ', '|', '\\']) {
                    ext.push(format!("shoko{k}={}", cef_value(v)));
                }
            }
            format!(
                "CEF:0|shoko|shoko-collector|{}|{}|{}|{}|{}",
                env!("CARGO_PKG_VERSION"),
                cef_header(&e.kind),
                cef_header(&e.summary),
                e.severity.min(10),
                ext.join(" ")
            )
        }
    }
}

/// One RFC 5424 message (without framing) from `hostname`.
pub fn message(e: &SiemEvent, format: SyslogFormat, hostname: &str) -> String {
    let pri = u16::from(FACILITY) * 8 + u16::from(syslog_severity(e.severity));
    let msgid: String = e.kind.chars().filter(|c| c.is_ascii_graphic()).take(32).collect();
    format!(
        "<{pri}>1 {} {hostname} shoko-collector {} {} [{SD_ID} stream=\"{}\" id=\"{}\" severity=\"{}\"] {}",
        e.at,
        std::process::id(),
        if msgid.is_empty() { "-".into() } else { msgid },
        sd_escape(e.stream),
        e.id,
        e.severity,
        body(e, format).replace(['\r', '\n'], " ")
    )
}

/// Octet-counting framing: the length, a space, the message.
pub fn frame(message: &str) -> String {
    format!("{} {message}", message.len())
}

/// This machine's host name as syslog wants it (printable ASCII, no spaces), or `-`.
fn hostname() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name: String = name
        .trim()
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(255)
        .collect();
    if name.is_empty() { "-".into() } else { name }
}

/// A connection to the receiver.
type Connection = Box<dyn Write + Send>;

/// A syslog receiver.
pub struct SyslogSink {
    address: String,
    tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    format: SyslogFormat,
    hostname: String,
    connection: Option<Connection>,
}

impl SyslogSink {
    /// A sink for `address`; with `tls`, checked against the CA certificates in `ca` and the name
    /// `server_name` (default: the address's host).
    pub fn new(
        address: &str,
        ca: Option<PathBuf>,
        tls: bool,
        server_name: Option<String>,
        format: SyslogFormat,
    ) -> Result<Self, SiemError> {
        let tls = if tls {
            let ca = ca.ok_or_else(|| SiemError::Io(format!("{address}: TLS needs `ca`")))?;
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(&ca)
                .map_err(|e| SiemError::Io(format!("{}: {e}", ca.display())))?
            {
                let cert = cert.map_err(|e| SiemError::Io(format!("{}: {e}", ca.display())))?;
                roots
                    .add(cert)
                    .map_err(|e| SiemError::Io(format!("{}: {e}", ca.display())))?;
            }
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|e| SiemError::Io(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
            let host = server_name.unwrap_or_else(|| {
                address
                    .rsplit_once(':')
                    .map_or(address, |(h, _)| h)
                    .trim_matches(['[', ']'])
                    .to_string()
            });
            let name = ServerName::try_from(host.clone())
                .map_err(|_| SiemError::Io(format!("{host:?} is not a server name")))?;
            Some((Arc::new(config), name))
        } else {
            None
        };
        Ok(SyslogSink {
            address: address.to_string(),
            tls,
            format,
            hostname: hostname(),
            connection: None,
        })
    }

    /// Connects (and completes the TLS handshake).
    fn connect(&self) -> Result<Connection, SiemError> {
        let io = |e: std::io::Error| SiemError::Io(format!("{}: {e}", self.address));
        let addr = self
            .address
            .to_socket_addrs()
            .map_err(io)?
            .next()
            .ok_or_else(|| SiemError::Io(format!("{}: no address", self.address)))?;
        let tcp = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(io)?;
        tcp.set_write_timeout(Some(TIMEOUT)).map_err(io)?;
        tcp.set_read_timeout(Some(TIMEOUT)).map_err(io)?;
        tcp.set_nodelay(true).map_err(io)?;
        Ok(match &self.tls {
            None => Box::new(tcp),
            Some((config, name)) => {
                let conn = rustls::ClientConnection::new(config.clone(), name.clone())
                    .map_err(|e| SiemError::Io(format!("{}: {e}", self.address)))?;
                let mut stream = rustls::StreamOwned::new(conn, tcp);
                while stream.conn.is_handshaking() {
                    stream.conn.complete_io(&mut stream.sock).map_err(io)?;
                }
                Box::new(stream)
            }
        })
    }
}

impl Sink for SyslogSink {
    fn send(&mut self, events: &[SiemEvent]) -> Result<(), SiemError> {
        let mut out = String::new();
        for e in events {
            out += &frame(&message(e, self.format, &self.hostname));
        }
        let connection = match self.connection.as_mut() {
            Some(c) => c,
            None => self.connection.insert(self.connect()?),
        };
        let written = connection
            .write_all(out.as_bytes())
            .and_then(|()| connection.flush());
        if let Err(e) = written {
            self.connection = None;
            return Err(SiemError::Io(format!("{}: {e}", self.address)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoko_proto::Timestamp;
    use std::collections::BTreeMap;

    fn event() -> SiemEvent {
        SiemEvent {
            stream: "change",
            id: 17,
            at: Timestamp(1_226_000_000_000_000_000),
            kind: "firmware_change".into(),
            severity: 8,
            asset_id: Some(5),
            summary: "firmware_change of asset 5 (1756-ENBT/A): 4.003 -> 4.007".into(),
            fields: BTreeMap::from([("subject".into(), "a=b|c]\"".into())]),
        }
    }

    #[test]
    fn messages_are_rfc_5424_with_octet_counting() {
        let m = message(&event(), SyslogFormat::Json, "collector-1");
        let expected_head = format!(
            "<108>1 2008-11-06T19:33:20.000000Z collector-1 shoko-collector {} firmware_change [shoko@32473 stream=\"change\" id=\"17\" severity=\"8\"] {{",
            std::process::id()
        );
        assert!(m.starts_with(&expected_head), "{m}");
        let framed = frame(&m);
        let (len, rest) = framed.split_once(' ').unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), rest.len());
        let json: serde_json::Value = serde_json::from_str(&m[m.find("] ").unwrap() + 2..]).unwrap();
        assert_eq!(json["fields"]["subject"], "a=b|c]\"");
        assert_eq!(json["id"], 17);
    }

    #[test]
    fn cef_escapes_headers_and_extensions() {
        let body = body(&event(), SyslogFormat::Cef);
        assert_eq!(
            body,
            format!(
                "CEF:0|shoko|shoko-collector|{}|firmware_change|firmware_change of asset 5 (1756-ENBT/A): 4.003 -> 4.007|8|rt=1226000000000 externalId=change:17 msg=firmware_change of asset 5 (1756-ENBT/A): 4.003 -> 4.007 cs1Label=asset cs1=5 shokosubject=a\\=b|c]\"",
                env!("CARGO_PKG_VERSION")
            )
        );
    }
}
