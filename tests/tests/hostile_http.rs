//! The web server against hostile requests: injection and traversal attempts in paths, queries
//! and forms are refused or answered harmlessly, a client that stalls mid-request holds no one
//! up, garbage instead of TLS is dropped, and afterwards the store is intact (`verify-store`).

use shoko_tests::*;
use std::io::Write;
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
