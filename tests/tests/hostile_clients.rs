//! The collector refuses clients it must not trust, and survives malformed traffic, with a clear
//! logged reason each time. Every test runs a real `shoko-collector serve` process.

use shoko_proto::{Envelope, ErrorCode, Message, Observation, PROTOCOL_VERSION, Timestamp};
use shoko_tests::*;
use std::sync::Arc;
use std::time::Duration;

fn plant_observations(n: usize) -> Vec<Observation> {
    let dir = tempfile::tempdir().unwrap();
    let pcap = synth_capture(dir.path());
    let mut sensor = shoko_agent::pipeline::Sensor::new(Default::default());
    sensor.process_file(&pcap).unwrap();
    let mut obs = sensor
        .output()
        .to_observations(&shoko_proto::Source::CaptureFile {
            path: pcap.display().to_string(),
        });
    obs.truncate(n);
    obs
}

fn batch(agent: &str, seq: u64, observations: Vec<Observation>) -> Message {
    Message::Batch(Envelope {
        protocol_version: PROTOCOL_VERSION,
        agent_id: agent.into(),
        seq,
        sent_at: Timestamp(1_700_000_000_000_000_000),
        observations,
    })
}

fn error_code(m: Option<Message>) -> ErrorCode {
    match m {
        Some(Message::Error { code, .. }) => code,
        other => panic!("expected an error frame, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn client_without_certificate_is_refused() {
    let data = DataDir::init();
    let bundle = data.enroll("a1");
    let collector = CollectorProcess::start(&data);
    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(bundle.join("ca.crt")).unwrap();
    for c in rustls_pemfile_free::certs(&ca) {
        roots.add(c).unwrap();
    }
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    // TLS 1.3 lets the client finish its side of the handshake; the refusal arrives on first read.
    if let Ok(mut s) = RawSession::connect(collector.ingest, Arc::new(config)).await {
        assert!(s.hello("a1", &[1]).await.is_none());
    }
    let line = collector.wait_refusal("no_client_certificate");
    assert_eq!(
        line["message"],
        "connection refused: client presented no certificate"
    );
}

/// PEM parsing for the test without another crate: the pki-types parser.
mod rustls_pemfile_free {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    pub fn certs(pem: &[u8]) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_slice_iter(pem).map(|c| c.unwrap()).collect()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn certificate_from_another_ca_is_refused() {
    let data = DataDir::init();
    let collector = CollectorProcess::start(&data);
    let other = DataDir::init();
    let intruder = other.enroll("intruder");
    // The intruder trusts the real collector CA but holds a certificate from its own CA.
    std::fs::copy(data.dir.path().join("pki/ca.crt"), intruder.join("ca.crt")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = agent_send(&intruder, collector.ingest, &synth_capture(dir.path()));
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("rejected this agent's certificate"));
    let line = collector.wait_refusal("unknown_ca");
    assert_eq!(
        line["message"],
        "connection refused: client certificate is not issued by this collector's CA"
    );
    assert_eq!(collector.get_json("/api/v1/status")["batches"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn revoked_agent_is_refused_without_restart() {
    let data = DataDir::init();
    let bundle = data.enroll("a1");
    let collector = CollectorProcess::start(&data);
    let dir = tempfile::tempdir().unwrap();
    let pcap = synth_capture(dir.path());
    assert!(agent_send(&bundle, collector.ingest, &pcap).status.success());

    // A session opened before the revocation is cut at its next batch.
    let (mut open, highest) = RawSession::open(collector.ingest, client_config(&bundle), "a1").await;
    assert_eq!(highest, 1);

    let out = run_ok(
        "shoko-collector",
        &["revoke", "--data", &data.path(), "--agent-id", "a1"],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("revoked certificate"));

    open.send(&batch("a1", 2, plant_observations(2))).await;
    assert_eq!(error_code(open.recv().await), ErrorCode::Revoked);
    collector.wait_refusal("revoked");

    // New connections are refused in the TLS handshake; the agent exits with code 5.
    let out = agent_send(&bundle, collector.ingest, &pcap);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    collector.wait_log("a handshake refusal of the revoked certificate", |v| {
        v["message"] == "connection refused: client certificate is revoked"
    });
    assert_eq!(collector.get_json("/api/v1/status")["batches"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn claiming_another_agent_id_is_refused() {
    let data = DataDir::init();
    let bundle = data.enroll("a1");
    data.enroll("a2");
    let collector = CollectorProcess::start(&data);

    let mut s = RawSession::connect(collector.ingest, client_config(&bundle))
        .await
        .unwrap();
    assert_eq!(error_code(s.hello("a2", &[1]).await), ErrorCode::AgentIdMismatch);
    let line = collector.wait_refusal("agent_id_mismatch");
    assert!(
        line["message"]
            .as_str()
            .unwrap()
            .contains("hello names agent \"a2\" but the certificate is agent \"a1\""),
        "{line}"
    );

    let (mut s, _) = RawSession::open(collector.ingest, client_config(&bundle), "a1").await;
    s.send(&batch("a2", 1, plant_observations(2))).await;
    assert_eq!(error_code(s.recv().await), ErrorCode::AgentIdMismatch);
    collector.wait_log("batch agent id mismatch", |v| {
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("batch names agent \"a2\""))
    });
    assert_eq!(collector.get_json("/api/v1/status")["batches"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_garbage_and_unknown_versions_are_refused_without_harm() {
    let data = DataDir::init();
    let bundle = data.enroll("a1");
    let mut collector = CollectorProcess::start(&data);
    let config = client_config(&bundle);

    let mut s = RawSession::connect(collector.ingest, config.clone())
        .await
        .unwrap();
    assert_eq!(
        error_code(s.hello("a1", &[99]).await),
        ErrorCode::UnsupportedVersion
    );
    collector.wait_refusal("unsupported_version");

    let round = async |i: usize| {
        // A frame announcing 4 GiB: refused from its length prefix.
        let (mut s, _) = RawSession::open(collector.ingest, config.clone(), "a1").await;
        s.write_raw(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]).await;
        assert_eq!(error_code(s.recv().await), ErrorCode::FrameTooLarge);
        // A well-framed body that is not MessagePack.
        let (mut s, _) = RawSession::open(collector.ingest, config.clone(), "a1").await;
        let mut junk = vec![0, 0, 0x10, 0];
        junk.extend((0..4096u32).map(|x| (x.wrapping_mul(2_654_435_761) >> 13) as u8 | 0xc1));
        s.write_raw(&junk).await;
        assert_eq!(error_code(s.recv().await), ErrorCode::Malformed);
        // Garbage instead of a TLS handshake.
        use tokio::io::AsyncWriteExt;
        let mut tcp = tokio::net::TcpStream::connect(collector.ingest).await.unwrap();
        let noise: Vec<u8> = (0..65_536u32)
            .map(|x| (x ^ (i as u32)).wrapping_mul(40_503) as u8)
            .collect();
        let _ = tcp.write_all(&noise).await;
    };
    for i in 0..20 {
        round(i).await;
    }
    collector.wait_refusal("frame_too_large");
    collector.wait_refusal("malformed_frame");
    collector.wait_refusal("tls_error");
    let warm = collector.rss_kib();
    for i in 20..220 {
        round(i).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = collector.rss_kib();
    eprintln!("collector RSS: {warm} KiB after warm-up, {after} KiB after 200 more hostile rounds");
    assert!(collector.is_running());
    assert!(
        after < warm + 8 * 1024,
        "collector memory grew from {warm} KiB to {after} KiB over 200 rounds of hostile frames"
    );

    // Still serving honest agents.
    still_serves_an_honest_agent(&collector, &bundle);
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_resent_after_a_lost_ack_is_stored_once() {
    let data = DataDir::init();
    let bundle = data.enroll("a1");
    let collector = CollectorProcess::start(&data);
    let observations = plant_observations(3);

    let (mut s, highest) = RawSession::open(collector.ingest, client_config(&bundle), "a1").await;
    assert_eq!(highest, 0);
    s.send(&batch("a1", 1, observations.clone())).await;
    drop(s); // the connection dies before the ack is read
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while collector.get_json("/api/v1/status")["batches"] != 1 {
        assert!(std::time::Instant::now() < deadline, "first send never stored");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (mut s, highest) = RawSession::open(collector.ingest, client_config(&bundle), "a1").await;
    assert_eq!(highest, 1);
    s.send(&batch("a1", 1, observations)).await;
    assert_eq!(
        s.recv().await,
        Some(Message::Ack {
            seq: 1,
            highest_stored_seq: 1,
            duplicate: true
        })
    );
    let status = collector.get_json("/api/v1/status");
    assert_eq!(
        (status["batches"].as_u64(), status["observations"].as_u64()),
        (Some(1), Some(3))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_agent_does_not_hold_the_only_batch_permit() {
    let data = DataDir::init();
    // One batch permit for the whole collector; a long idle timeout.
    data.set("ingest_inflight_batches", "1");
    data.set("idle_timeout_secs", "60");
    let (slow, fast) = (data.enroll("slow"), data.enroll("fast"));
    let collector = CollectorProcess::start(&data);
    let observations = plant_observations(3);

    // The slow agent starts a batch frame and stalls in the middle of it.
    let (mut s, _) = RawSession::open(collector.ingest, client_config(&slow), "slow").await;
    let mut frame = bytes::BytesMut::new();
    tokio_util::codec::Encoder::encode(
        &mut shoko_proto::MessageCodec::default(),
        &batch("slow", 1, observations.clone()),
        &mut frame,
    )
    .unwrap();
    s.write_raw(&frame[..frame.len() / 2]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Another agent's batch is stored and acknowledged long before the idle timeout.
    let started = std::time::Instant::now();
    let (mut f, _) = RawSession::open(collector.ingest, client_config(&fast), "fast").await;
    f.send(&batch("fast", 1, observations)).await;
    assert!(matches!(f.recv().await, Some(Message::Ack { seq: 1, .. })));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // The slow agent finishes its frame and is acknowledged too.
    s.write_raw(&frame[frame.len() / 2..]).await;
    assert!(matches!(s.recv().await, Some(Message::Ack { seq: 1, .. })));
    assert_eq!(collector.get_json("/api/v1/status")["batches"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_over_its_rate_is_read_more_slowly_not_refused() {
    let data = DataDir::init();
    data.set("agent_observations_per_sec", "20");
    data.set("agent_observations_burst", "20");
    let bundle = data.enroll("busy");
    let collector = CollectorProcess::start(&data);
    let observations = plant_observations(20);
    assert_eq!(observations.len(), 20);
    let (mut s, _) = RawSession::open(collector.ingest, client_config(&bundle), "busy").await;
    let started = std::time::Instant::now();
    // Four batches of 20 at 20 observations/s, burst 20: the first fills the burst, and from the
    // second on the collector waits a second before reading the next one.
    for seq in 1..=4 {
        s.send(&batch("busy", seq, observations.clone())).await;
        assert!(matches!(s.recv().await, Some(Message::Ack { .. })));
    }
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1900), "{took:?}");
    assert_eq!(collector.get_json("/api/v1/status")["batches"], 4);
    let metrics = collector.get_text("/metrics");
    let throttled: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("shoko_ingest_throttled_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    // Before the third and fourth batches, and perhaps already before a fifth.
    assert!((2..=3).contains(&throttled), "{metrics}");
}

#[tokio::test(flavor = "multi_thread")]
async fn deeply_nested_frames_and_floods_of_tiny_frames_are_refused_without_harm() {
    let data = DataDir::init();
    let bundle = data.enroll("a1");
    let mut collector = CollectorProcess::start(&data);
    let config = client_config(&bundle);
    let warm = collector.rss_kib();
    for _ in 0..10 {
        // One million nested arrays in one 1 MB frame: refused at the decoder's depth limit.
        let (mut s, _) = RawSession::open(collector.ingest, config.clone(), "a1").await;
        let depth = 1_000_000u32;
        let mut frame = (depth + 1).to_be_bytes().to_vec();
        frame.extend(std::iter::repeat_n(0x91u8, depth as usize));
        frame.push(0xc0);
        s.write_raw(&frame).await;
        assert_eq!(error_code(s.recv().await), ErrorCode::Malformed);
        // 100,000 one-byte frames in one burst: the first is refused and the session closed.
        let (mut s, _) = RawSession::open(collector.ingest, config.clone(), "a1").await;
        let flood: Vec<u8> = std::iter::repeat_n([0u8, 0, 0, 1, 0x90], 100_000)
            .flatten()
            .collect();
        {
            use tokio::io::AsyncWriteExt;
            // The collector closes the session mid-burst: the rest of the write may fail.
            let _ = s.conn.get_mut().write_all(&flood).await;
        }
        match s.recv().await {
            None => {}
            other => assert_eq!(error_code(other), ErrorCode::Malformed),
        }
    }
    collector.wait_refusal("malformed_frame");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = collector.rss_kib();
    eprintln!(
        "collector RSS: {warm} KiB before, {after} KiB after 10 rounds of nested and tiny-frame floods"
    );
    assert!(collector.is_running());
    assert!(
        after < warm + 16 * 1024,
        "collector memory grew from {warm} KiB to {after} KiB"
    );
    still_serves_an_honest_agent(&collector, &bundle);
}

/// The collector, after the abuse, still stores an honest agent's capture (its first batch).
fn still_serves_an_honest_agent(collector: &CollectorProcess, bundle: &std::path::Path) {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        agent_send(bundle, collector.ingest, &synth_capture(dir.path()))
            .status
            .success()
    );
    assert_eq!(collector.get_json("/api/v1/status")["batches"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_number_beyond_what_the_store_holds_is_refused() {
    // 2^64-1 was stored as -1 (SQL integers are signed): refused now, nothing stored.
    let data = DataDir::init();
    let bundle = data.enroll("a1");
    let collector = CollectorProcess::start(&data);
    let (mut s, _) = RawSession::open(collector.ingest, client_config(&bundle), "a1").await;
    s.send(&batch("a1", u64::MAX, plant_observations(1))).await;
    assert_eq!(error_code(s.recv().await), ErrorCode::InvalidBatch);
    let line = collector.wait_refusal("invalid_batch");
    assert!(
        line["message"]
            .as_str()
            .unwrap()
            .contains("sequence number 18446744073709551615 is over 9223372036854775807"),
        "{line}"
    );
    assert_eq!(collector.get_json("/api/v1/status")["batches"], 0);
}
