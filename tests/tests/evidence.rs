//! Tamper evidence of the stored observations: a sensor delivers a real capture
//! (EIP-FirmwareChange.pcap, a ControlLogix module telling its firmware), `verify-store`
//! recomputes every agent's hash chain and finds it intact; one stored observation edited behind
//! the collector's back is named, and the command exits 4.

use shoko_tests::*;

#[test]
fn verify_store_names_an_edited_observation() {
    let data = DataDir::init();
    let collector = CollectorProcess::start(&data);
    let bundle = data.enroll("sensor-0");
    let pcap = dev_capture("ITI_ICS-Security-Tools/pcaps/openics/EIP-FirmwareChange.pcap");
    let out = agent_send(&bundle, collector.ingest, &pcap);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stored = collector.get_json("/api/v1/status");
    drop(collector);

    let out = run_ok(
        "shoko-collector",
        &["verify-store", "--data", &data.path(), "--json"],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["agents"], 1);
    assert_eq!(report["batches"], stored["batches"]);
    assert_eq!(report["observations"], stored["observations"]);
    assert_eq!(
        (report["pruned"].as_u64(), report["unsealed"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(report["problems"], serde_json::json!([]));
    let head = &report["heads"][0];
    assert_eq!(
        (head["agent_id"].as_str(), head["position"].as_u64()),
        (Some("sensor-0"), stored["batches"].as_u64())
    );

    // The firmware the module told, made to read differently: one byte of one stored body.
    let db = rusqlite::Connection::open(format!("{}/shoko.db", data.path())).unwrap();
    let firmware_at = |body: &[u8]| body.windows(5).position(|w| w == b"4.003");
    let mut claims = db
        .prepare("SELECT id, seq, idx, body FROM observations WHERE kind = 'identity_claim' ORDER BY id")
        .unwrap();
    let (id, seq, idx, mut body): (i64, i64, i64, Vec<u8>) = claims
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .find(|(.., body): &(i64, i64, i64, Vec<u8>)| firmware_at(body).is_some())
        .expect("an identity claim telling firmware 4.003");
    drop(claims);
    let at = firmware_at(&body).unwrap();
    body[at + 4] = b'7';
    db.execute(
        "UPDATE observations SET body = ?1 WHERE id = ?2",
        rusqlite::params![body, id],
    )
    .unwrap();

    let out = run("shoko-collector", &["verify-store", "--data", &data.path()]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let tampered: Vec<&str> = text.lines().filter(|l| l.starts_with("TAMPERED")).collect();
    assert_eq!(
        tampered,
        [format!(
            "TAMPERED agent sensor-0 batch {seq}: observation {idx} was altered (identity_claim)"
        )]
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the stored evidence fails verification: 1 problems")
    );
}
