//! The login form under attack from the plant or office network, with no account: a flood of
//! concurrent wrong logins must not take the collector's memory (each password check runs
//! Argon2id with 19 MiB), guessing one user's password from one address backs off without
//! locking the user out elsewhere, an unknown user costs exactly what a known one does (one
//! Argon2id verification, counted), and every failed attempt is counted and audited.

use shoko_tests::*;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADMIN_PASSWORD: &str = "a long admin passphrase";

/// A TLS client configuration trusting the collector's CA.
fn web_tls(data: &DataDir) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(std::path::Path::new(&data.path()).join("pki/ca.crt")).unwrap()
    {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// POSTs the login form from `source`: the status and the `Retry-After` header.
async fn login(
    http: SocketAddr,
    source: IpAddr,
    tls: Arc<rustls::ClientConfig>,
    user: &str,
    password: &str,
) -> (u16, Option<u64>) {
    let (status, retry, _) = login_to(http, source, tls, user, password, "%2F").await;
    (status, retry)
}

/// POSTs the login form with `next` (form-encoded) from `source`: the status, the `Retry-After`
/// and the `Location` headers.
async fn login_to(
    http: SocketAddr,
    source: IpAddr,
    tls: Arc<rustls::ClientConfig>,
    user: &str,
    password: &str,
    next: &str,
) -> (u16, Option<u64>, Option<String>) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source, 0)).unwrap();
    let tcp = socket.connect(http).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .unwrap();
    let body = format!("user={user}&password={}&next={next}", password.replace(' ', "+"));
    let request = format!(
        "POST /login HTTP/1.1\r\nHost: {http}\r\nOrigin: https://{http}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let retry = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("retry-after: ")
                .or_else(|| l.strip_prefix("Retry-After: "))
        })
        .and_then(|v| v.trim().parse().ok());
    let location = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("location: ")
                .or_else(|| l.strip_prefix("Location: "))
        })
        .map(|v| v.trim_end_matches('\r').to_owned());
    (status, retry, location)
}

/// The value of a counter in `/metrics`, 0 when absent.
fn counter(data: &DataDir, collector: &CollectorProcess, line_start: &str) -> u64 {
    let text = https_client(&data.path())
        .get(&collector.url("/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    text.lines()
        .find_map(|l| {
            l.strip_prefix(line_start)
                .map(|v| v.trim().parse::<f64>().unwrap() as u64)
        })
        .unwrap_or(0)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn a_flood_of_wrong_logins_is_bounded_and_guessing_backs_off() {
    let data = DataDir::init();
    assert!(
        add_user(&data.path(), "admin", "admin", ADMIN_PASSWORD)
            .status
            .success()
    );
    let collector = CollectorProcess::start(&data);
    let tls = web_tls(&data);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let http = collector.http;
    let checks = "shoko_login_password_checks_total ";

    // One Argon2id verification per attempt, whether the user exists or not.
    let before = counter(&data, &collector, checks);
    let (status, _) = rt.block_on(login(
        http,
        ip("127.0.0.1"),
        tls.clone(),
        "nobody",
        "wrong password!",
    ));
    assert_eq!(status, 401);
    assert_eq!(
        counter(&data, &collector, checks),
        before + 1,
        "an unknown user costs one verification"
    );
    let (status, _) = rt.block_on(login(
        http,
        ip("127.0.0.1"),
        tls.clone(),
        "admin",
        "wrong password!",
    ));
    assert_eq!(status, 401);
    assert_eq!(
        counter(&data, &collector, checks),
        before + 2,
        "a known user costs one verification"
    );

    // 200 concurrent wrong logins: for the admin from 100 addresses (none backs off yet) and for
    // 100 unknown users from 127.0.0.2. Bounded memory, every attempt answered (refused, or told
    // to come back when the queue is full).
    let flood: Vec<_> = (0..200)
        .map(|i| {
            let tls = tls.clone();
            let (source, user) = match i % 2 {
                0 => (ip(&format!("127.0.1.{}", i / 2 + 1)), "admin".to_owned()),
                _ => (ip("127.0.0.2"), format!("intruder{i}")),
            };
            rt.spawn(async move { login(http, source, tls, &user, "guess guess guess").await })
        })
        .collect();
    let mut answers = std::collections::BTreeMap::new();
    for task in flood {
        *answers.entry(rt.block_on(task).unwrap().0).or_insert(0) += 1;
    }
    assert!(answers.keys().all(|s| [401, 503].contains(s)), "{answers:?}");
    let peak = collector.peak_rss_kib();
    eprintln!("collector peak RSS after the flood: {peak} KiB; answers {answers:?}");
    assert!(peak < 300 * 1024, "peak RSS {peak} KiB after the flood");
    let failed = counter(&data, &collector, "shoko_login_failures_total{reason=\"wrong\"} ");
    let busy = counter(&data, &collector, "shoko_login_failures_total{reason=\"busy\"} ");
    assert_eq!(failed + busy, 202, "every failed attempt counted: {answers:?}");

    // Still serving: an honest agent's capture is stored, the admin logs in from its address.
    let dir = tempfile::tempdir().unwrap();
    let out = agent_send(
        &data.enroll("honest"),
        collector.ingest,
        &synth_capture(dir.path()),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (status, _) = rt.block_on(login(http, ip("127.0.0.1"), tls.clone(), "admin", ADMIN_PASSWORD));
    assert_eq!(status, 303);

    // Guessing the admin's password from 127.0.0.3: five tries, then a growing delay for that
    // user from that address only.
    for _ in 0..5 {
        let (status, _) = rt.block_on(login(
            http,
            ip("127.0.0.3"),
            tls.clone(),
            "admin",
            "guess guess guess",
        ));
        assert_eq!(status, 401);
    }
    let (status, retry) = rt.block_on(login(http, ip("127.0.0.3"), tls.clone(), "admin", ADMIN_PASSWORD));
    assert_eq!((status, retry), (429, Some(1)), "even the right password waits");
    let (status, _) = rt.block_on(login(http, ip("127.0.0.1"), tls.clone(), "admin", ADMIN_PASSWORD));
    assert_eq!(status, 303, "the admin is not locked out from its own address");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (status, _) = rt.block_on(login(http, ip("127.0.0.3"), tls.clone(), "admin", ADMIN_PASSWORD));
    assert_eq!(status, 303, "after the delay");
    let backoff = counter(
        &data,
        &collector,
        "shoko_login_failures_total{reason=\"backoff\"} ",
    );
    assert_eq!(backoff, 1);

    // Every failed attempt in the audit log: 2 + 200 + 5 wrong or refused + 1 backed off.
    let failures = audit_actions(&data.path())
        .iter()
        .filter(|(_, action, _)| action == "login_failed")
        .count();
    assert_eq!(failures, 208);
}

#[test]
fn after_login_only_paths_on_this_server_are_followed() {
    let data = DataDir::init();
    assert!(
        add_user(&data.path(), "admin", "admin", ADMIN_PASSWORD)
            .status
            .success()
    );
    let collector = CollectorProcess::start(&data);
    let tls = web_tls(&data);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let go = |next: &str| {
        rt.block_on(login_to(
            collector.http,
            ip("127.0.0.1"),
            tls.clone(),
            "admin",
            ADMIN_PASSWORD,
            next,
        ))
    };
    // A tab or a line feed in the target (browsers drop them: `/\t/evil` becomes `//evil`), a
    // scheme-relative or backslashed target: all go to `/`.
    for next in [
        "%2F%09%2Fevil.example",
        "%2F%0a%2Fevil.example",
        "%2F%0d%0aSet-Cookie:x",
        "%2F%2Fevil.example",
        "%2F%5Cevil.example",
        "https%3A%2F%2Fevil.example",
    ] {
        let (status, _, location) = go(next);
        assert_eq!((status, location.as_deref()), (303, Some("/")), "next={next}");
    }
    // A path on this server is followed, with its query.
    let (status, _, location) = go("%2Finventory%3Fq%3Dplc");
    assert_eq!((status, location.as_deref()), (303, Some("/inventory?q=plc")));
}

#[test]
fn a_login_name_cannot_forge_audit_lines_or_drive_the_terminal() {
    let data = DataDir::init();
    let collector = CollectorProcess::start(&data);
    let tls = web_tls(&data);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // A user name with a line break, a forged entry after it, and a clear-screen sequence.
    let name = "x%0A2026-12-08T00%3A00%3A00Z+cli%3Aroot+user_added+user%3Aevil++%28cli%29%1B%5B2J";
    let (status, _) = rt.block_on(login(
        collector.http,
        ip("127.0.0.1"),
        tls,
        name,
        "wrong password!",
    ));
    assert_eq!(status, 401);
    let out = run_ok("shoko-collector", &["audit-log", "--data", &data.path()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\u{1b}'), "{text:?}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one entry, one line: {text:?}");
    assert!(
        lines[0].contains(
            " login_failed user:x\\n2026-12-08T00:00:00Z cli:root user_added user:evil  (cli)\\u{1b}[2J "
        ),
        "{text:?}"
    );
}
