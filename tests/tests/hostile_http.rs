//! The web server against hostile requests: injection and traversal attempts in paths, queries
//! and forms are refused or answered harmlessly, a client that stalls mid-request holds no one
//! up, garbage instead of TLS is dropped, and afterwards the store is intact (`verify-store`).
//! Slowloris: stalled connections (in the TLS handshake or mid-request) are closed after the idle
//! timeout, and while they fill every connection slot the next client waits only until then.

use shoko_tests::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

#[test]
fn injection_traversal_and_stalled_clients_do_no_harm() {
    let (data, collector) = collector_with_captures(&["ITI_ICS-Security-Tools/pcaps/ModbusTCP/mb2.pcap"], "");
    let assets_before = collector.get_json("/api/v1/status")["assets"].clone();
    for (path, code) in [
        ("/api/v1/assets/1%20OR%201=1", 400),
        ("/api/v1/assets/1;DROP%20TABLE%20observations", 400),
        ("/api/v1/assets?vendor=x%27%20OR%20%271%27=%271", 200),
        ("/api/v1/changes?status=open%27--", 200),
        (
            "/api/v1/requirements/..%2F..%2F..%2Fetc%2Fpasswd/explanation",
            404,
        ),
        ("/api/v1/assessment?at=2026-01-01T00:00:00Z%27;--", 400),
        ("/static/..%2F..%2F..%2Fetc%2Fpasswd", 404),
        ("/static/../../../etc/passwd", 404),
        ("/observations/-1", 404),
        ("/assets/99999999999999999999999", 400),
        ("/requirements/..%2F..%2Fcollector.toml", 404),
        ("/exports/report?requirements=%27%20OR%201=1--", 400),
        ("/exports/report?format=../../etc/passwd", 400),
        ("/inventory?q=%27%20OR%20%271%27=%271&sort=id;DROP", 200),
    ] {
        let (got, body) = collector.status(path);
        assert_eq!(got, code, "{path}: {body}");
        assert!(!body.contains("root:x:0:0"), "{path} leaked a file");
    }
    let (_, inventory) = collector.status("/inventory?q=%27%20OR%20%271%27=%271");
    assert!(
        inventory.contains("<span id=\"shown\">0</span>"),
        "a quoted search matches nothing"
    );

    // A client that sends half a request and stalls, and one that speaks no TLS at all: the
    // others are served meanwhile, and the server lives on.
    let mut stalled = std::net::TcpStream::connect(collector.http).unwrap();
    stalled.write_all(b"\x16\x03\x01\x00\xc8\x01").unwrap();
    let mut garbage = std::net::TcpStream::connect(collector.http).unwrap();
    garbage.write_all(&[0x47; 4096]).unwrap();
    let started = std::time::Instant::now();
    assert_eq!(collector.get_text("/healthz"), "ok\n");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "served while others stall"
    );
    drop((stalled, garbage));
    assert_eq!(collector.get_json("/api/v1/status")["assets"], assets_before);
    drop(collector);
    let out = run("shoko-collector", &["verify-store", "--data", &data.path()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

/// A TLS connection to the collector's web server (trusting its CA), nothing sent yet.
fn tls_to(
    data: &DataDir,
    addr: std::net::SocketAddr,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(format!("{}/pki/ca.crt", data.path())).unwrap()
    {
        roots.add(c.unwrap()).unwrap();
    }
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let conn = rustls::ClientConnection::new(Arc::new(config), "127.0.0.1".try_into().unwrap()).unwrap();
    rustls::StreamOwned::new(conn, TcpStream::connect(addr).unwrap())
}

/// Seconds until the server closes a connection it is waiting on (a read ends or fails).
fn closed_after(stream: &mut impl Read) -> f64 {
    let started = std::time::Instant::now();
    let mut buf = [0u8; 256];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return started.elapsed().as_secs_f64(),
            Ok(_) => continue,
        }
    }
}

#[test]
fn stalled_connections_are_closed_after_the_idle_timeout() {
    let data = DataDir::init();
    data.set("http_idle_timeout_secs", "2");
    data.set("http_max_connections", "3");
    let collector = CollectorProcess::start(&data);
    assert_eq!(collector.get_text("/healthz"), "ok\n");

    // Half a TLS hello, then silence.
    let mut handshake = TcpStream::connect(collector.http).unwrap();
    handshake.write_all(b"\x16\x03\x01\x00\xc8\x01").unwrap();
    // A finished handshake, then half a request, then silence.
    let mut request = tls_to(&data, collector.http);
    request
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .unwrap();
    request.flush().unwrap();
    // A third stalled connection fills the last slot: the next client waits for one to close.
    let mut third = TcpStream::connect(collector.http).unwrap();
    third.write_all(b"\x16").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let started = std::time::Instant::now();
    assert_eq!(collector.get_text("/healthz"), "ok\n");
    let waited = started.elapsed().as_secs_f64();
    assert!(
        (1.0..6.0).contains(&waited),
        "the next client waited {waited:.1} s for a slot"
    );

    for (what, secs) in [
        ("handshake", closed_after(&mut handshake)),
        ("request", closed_after(&mut request)),
        ("third", closed_after(&mut third)),
    ] {
        assert!(secs < 4.0, "{what} still open after {secs:.1} s");
    }
    collector.wait_log("an idle connection closed", |l| {
        l["message"] == "web connection idle; closed"
    });
    collector.wait_log("a stalled handshake closed", |l| {
        l["message"] == "web TLS handshake timed out; connection closed"
    });
}

/// A DHCP discover from `mac` whose vendor class (option 60) is `vendor_class`.
fn dhcp_discover(mac: [u8; 6], vendor_class: &str) -> Vec<u8> {
    let mut bootp = vec![1u8, 1, 6, 0, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0];
    bootp.extend([0u8; 16]); // ciaddr, yiaddr, siaddr, giaddr
    bootp.extend(mac);
    bootp.extend([0u8; 10 + 64 + 128]); // chaddr padding, sname, file
    bootp.extend([0x63, 0x82, 0x53, 0x63, 53, 1, 1, 60, vendor_class.len() as u8]);
    bootp.extend(vendor_class.as_bytes());
    bootp.push(255);
    let udp_len = 8 + bootp.len();
    let mut frame = vec![0xff; 6];
    frame.extend(mac);
    frame.extend([0x08, 0x00]);
    let total = (20 + udp_len) as u16;
    frame.extend([0x45, 0, (total >> 8) as u8, total as u8, 0, 1, 0, 0, 64, 17, 0, 0]);
    frame.extend([0, 0, 0, 0, 255, 255, 255, 255]);
    frame.extend([0, 68, 0, 67, (udp_len >> 8) as u8, udp_len as u8, 0, 0]);
    frame.extend(bootp);
    frame
}

#[test]
fn names_from_the_network_cannot_become_spreadsheet_formulas() {
    // A device announcing a formula as its DHCP vendor class.
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("dhcp.pcap");
    let formula = "=cmd|' /C calc'!A0";
    let mut w = pcap_file::pcap::PcapWriter::new(std::fs::File::create(&pcap).unwrap()).unwrap();
    let frame = dhcp_discover([0x00, 0x1d, 0x9c, 0x01, 0x02, 0x03], formula);
    w.write_packet(&pcap_file::pcap::PcapPacket::new(
        Duration::from_secs(1_700_000_000),
        frame.len() as u32,
        &frame,
    ))
    .unwrap();
    drop(w);
    let data = DataDir::init();
    let collector = CollectorProcess::start(&data);
    let out = agent_send(&data.enroll("sensor-0"), collector.ingest, &pcap);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = collector.get_text("/inventory.csv");
    let row = csv
        .lines()
        .find(|l| l.contains("00:1d:9c:01:02:03"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(row.contains(",'=cmd|' /C calc'!A0,"), "{row}");
    assert!(!row.contains(",=cmd"), "{row}");
}
