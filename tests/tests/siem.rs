//! Forwarding to SIEMs: a collector holding the synthetic plant capture (Modbus writes, an S7
//! stop ...) and the 2008 ControlLogix firmware update forwards every change record and protocol
//! event as RFC 5424 syslog over TLS (octet counting, JSON messages) and as OCSF lines to a file.
//! The syslog receiver is down at first: rounds fail, are counted and retried with back-off, and
//! once it listens every item arrives exactly once; the OCSF file has them all meanwhile. The
//! delivery records make EVENT 1.2 satisfied for every change.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use shoko_tests::*;
use std::collections::BTreeSet;
use std::io::Read;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// (stream, id) of a syslog message's structured data.
fn item_of(message: &str) -> (String, i64) {
    let sd = &message[message.find("[shoko@32473 ").expect("shoko's SD element")..];
    let param = |name: &str| {
        let start = sd.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        sd[start..start + sd[start..].find('"').unwrap()].to_string()
    };
    (param("stream"), param("id").parse().unwrap())
}

/// A TLS syslog receiver on `port` with the collector's server certificate: the messages it
/// received, de-framed (octet counting), in order.
fn receiver(port: u16, data: &DataDir) -> Arc<Mutex<Vec<String>>> {
    let pki = data.dir.path().join("pki");
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(pki.join("server.crt"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(pki.join("server.key")).unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
    );
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut stream = rustls::StreamOwned::new(conn, tcp);
            let mut buf = Vec::new();
            let mut chunk = [0u8; 16384];
            while let Ok(n) = stream.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                // Octet counting: "LEN SP MSG".
                while let Some(space) = buf.iter().position(|b| *b == b' ') {
                    let len: usize = std::str::from_utf8(&buf[..space]).unwrap().parse().unwrap();
                    if buf.len() < space + 1 + len {
                        break;
                    }
                    let msg = String::from_utf8(buf[space + 1..space + 1 + len].to_vec()).unwrap();
                    sink.lock().unwrap().push(msg);
                    buf.drain(..space + 1 + len);
                }
            }
        }
    });
    received
}

#[test]
fn events_reach_a_tls_syslog_receiver_that_was_down_and_an_ocsf_file_none_lost() {
    let data = DataDir::init();
    let port = free_port();
    let cfg = data.dir.path().join("collector.toml");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("\n[", "\nsiem_interval_secs = 1\n[");
    let text = if text.contains("siem_interval_secs") {
        text
    } else {
        text + "siem_interval_secs = 1\n"
    };
    let text = text
        + &format!(
            "\n[[siem]]\nkind = \"syslog\"\nname = \"soc\"\naddress = \"127.0.0.1:{port}\"\ntls = true\n\
             ca = \"pki/ca.crt\"\nserver_name = \"shoko-collector\"\nformat = \"json\"\n\n\
             [[siem]]\nkind = \"ocsf-file\"\nname = \"lake\"\npath = \"ocsf.jsonl\"\n"
        );
    std::fs::write(&cfg, text).unwrap();
    let collector = CollectorProcess::start(&data);
    let work = tempfile::tempdir().unwrap();
    for (agent, pcap) in [
        ("sensor-0", synth_capture(work.path())),
        (
            "sensor-1",
            dev_capture("ITI_ICS-Security-Tools/pcaps/openics/EIP-FirmwareChange.pcap"),
        ),
        (
            "sensor-2",
            dev_capture("ITI_ICS-Security-Tools/pcaps/openics/EIP-IPAddressChangeAttempt.pcap"),
        ),
    ] {
        let out = agent_send(&data.enroll(agent), collector.ingest, &pcap);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // What must arrive: every change record and every protocol event stored.
    let changes: BTreeSet<i64> = collector
        .get_json("/api/v1/changes")
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    let db = rusqlite::Connection::open(data.dir.path().join("shoko.db")).unwrap();
    let events: BTreeSet<i64> = db
        .prepare("SELECT id FROM observations WHERE kind = 'protocol_event'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!((changes.len(), events.len()), (39, 5));
    let mut expected: BTreeSet<(String, i64)> = changes.iter().map(|id| ("change".into(), *id)).collect();
    expected.extend(events.iter().map(|id| ("event".into(), *id)));

    // The receiver is down: rounds fail and are retried; the file destination goes on.
    let failed = collector.wait_log("a failed SIEM round", |v| {
        v["fields"]["message"] == "SIEM delivery failed; will retry"
            || v["message"] == "SIEM delivery failed; will retry"
    });
    let failed_text = failed.to_string();
    assert!(failed_text.contains("soc"), "{failed_text}");
    let ocsf_path = data.dir.path().join("ocsf.jsonl");
    wait_until("every item in the OCSF file", 20, || {
        std::fs::read_to_string(&ocsf_path).is_ok_and(|t| t.lines().count() == expected.len())
    });
    let ocsf: Vec<serde_json::Value> = std::fs::read_to_string(&ocsf_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let uids: BTreeSet<(String, i64)> = ocsf
        .iter()
        .map(|r| {
            let (stream, id) = r["metadata"]["uid"].as_str().unwrap().split_once(':').unwrap();
            (stream.to_string(), id.parse().unwrap())
        })
        .collect();
    assert_eq!(uids, expected);
    let firmware = ocsf
        .iter()
        .find(|r| r["unmapped"]["kind"] == "firmware_change")
        .unwrap();
    assert_eq!(
        (firmware["class_uid"].as_u64(), firmware["type_uid"].as_u64()),
        (Some(5019), Some(501999))
    );
    assert_eq!(firmware["unmapped"]["fields"]["new_value"], "4.007");
    assert!(ocsf.iter().filter(|r| r["class_uid"] == 4001).count() == events.len());

    // The receiver comes up: everything arrives, once.
    let received = receiver(port, &data);
    wait_until("every item at the syslog receiver", 40, || {
        received.lock().unwrap().len() >= expected.len()
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let messages = received.lock().unwrap().clone();
    assert_eq!(messages.len(), expected.len(), "each item once");
    let got: BTreeSet<(String, i64)> = messages.iter().map(|m| item_of(m)).collect();
    assert_eq!(got, expected);
    let m = messages
        .iter()
        .find(|m| m.contains(" firmware_change ["))
        .unwrap();
    assert!(m.starts_with("<108>1 "), "{m}");
    let json: serde_json::Value = serde_json::from_str(&m[m.find("] ").unwrap() + 2..]).unwrap();
    assert_eq!(
        (
            json["fields"]["old_value"].as_str(),
            json["fields"]["new_value"].as_str()
        ),
        (Some("4.003"), Some("4.007"))
    );

    let metrics = collector.get_text("/metrics");
    let failures: f64 = metrics
        .lines()
        .find(|l| l.starts_with("shoko_siem_failures_total{destination=\"soc\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(failures >= 1.0, "{metrics}");
    assert!(
        metrics.contains(&format!(
            "shoko_siem_delivered_total{{destination=\"soc\"}} {}",
            expected.len()
        )),
        "{metrics}"
    );

    // EVENT 1.2: every change delivered within the hour.
    let out = run_ok(
        "shoko-collector",
        &[
            "findings",
            "--data",
            &data.path(),
            "--requirement",
            "EVENT-1.2",
            "--json",
        ],
    );
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcomes: BTreeSet<&str> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(findings.as_array().unwrap().len(), changes.len());
    assert_eq!(outcomes, BTreeSet::from(["satisfied"]));
}
