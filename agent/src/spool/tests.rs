//! The spool on a real directory: restart, numbering, acknowledgement, torn writes, limits.

use super::*;

fn config(dir: &Path) -> SpoolConfig {
    SpoolConfig {
        dir: dir.to_path_buf(),
        max_bytes: 1 << 20,
        max_age: Duration::from_secs(3600),
        segment_bytes: 300,
        fsync: Fsync::Always,
        fsync_interval: Duration::from_millis(100),
        when_full: WhenFull::DropFlowsFirst,
        max_record: 1 << 20,
    }
}

/// The drop counters: (batches, flow observations, other observations).
fn dropped(s: &Spool) -> (u64, u64, u64) {
    let st = s.stats();
    (
        st.dropped_batches,
        st.dropped_flow_observations,
        st.dropped_other_observations,
    )
}

/// Every pending batch as (id, seq, lane, payload).
fn pending(s: &Spool) -> Vec<(u64, u64, Lane, Vec<u8>)> {
    let mut out = Vec::new();
    let mut after = 0;
    while let Some(r) = s.next_after(after) {
        out.push((r.meta.id, r.meta.seq, r.lane, s.read(&r).unwrap()));
        after = r.meta.id;
    }
    out
}

#[test]
fn batches_survive_a_restart_keep_their_numbers_and_go_when_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, rec) = Spool::open(config(dir.path())).unwrap();
    assert_eq!(rec, Recovery::default());
    for (lane, body) in [
        (Lane::Other, "identity"),
        (Lane::Flows, "flows-1"),
        (Lane::Flows, "flows-2"),
    ] {
        s.append(lane, 2, body.as_bytes()).unwrap();
    }
    s.number(&[(1, 41), (2, 42)]).unwrap();
    drop(s);

    let (mut s, rec) = Spool::open(config(dir.path())).unwrap();
    assert_eq!((rec.batches, rec.numbered, rec.truncated_bytes), (3, 2, 0));
    assert_eq!(s.highest_seq(), 42);
    assert_eq!(
        pending(&s),
        [
            (1, 41, Lane::Other, b"identity".to_vec()),
            (2, 42, Lane::Flows, b"flows-1".to_vec()),
            (3, 0, Lane::Flows, b"flows-2".to_vec()),
        ]
    );
    s.ack(41).unwrap();
    assert_eq!(pending(&s).len(), 2);
    drop(s);
    let (mut s, rec) = Spool::open(config(dir.path())).unwrap();
    assert_eq!(rec.batches, 2, "the acknowledged batch stays gone");
    let r = s.append(Lane::Other, 1, b"event").unwrap();
    assert_eq!(r.meta.id, 4, "record ids continue");
    s.number(&[(3, 43), (4, 44)]).unwrap();
    s.ack(44).unwrap();
    assert_eq!(pending(&s), []);
    assert_eq!(s.stats().batches, 0);
    drop(s);
    let (s, rec) = Spool::open(config(dir.path())).unwrap();
    assert_eq!((rec.batches, s.highest_seq()), (0, 44));
    let files: usize = ["flows", "other"]
        .iter()
        .map(|l| std::fs::read_dir(dir.path().join(l)).unwrap().count())
        .sum();
    assert_eq!(files, 0, "no segment left");
}

#[test]
fn a_torn_write_is_cut_off_and_the_rest_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = Spool::open(config(dir.path())).unwrap();
    let mut cfg = config(dir.path());
    cfg.segment_bytes = 1 << 20;
    drop(s);
    (s, _) = Spool::open(cfg.clone()).unwrap();
    for i in 0..3 {
        s.append(Lane::Other, 1, format!("batch {i}").as_bytes()).unwrap();
    }
    drop(s);
    // Power loss in the middle of a fourth record: half a header and garbage.
    let seg = dir.path().join("other").join(segment_name(1));
    let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&record::encode(4, 0, 1, b"batch 3")[..21]).unwrap();
    drop(f);
    let whole = std::fs::metadata(&seg).unwrap().len();
    let (mut s, rec) = Spool::open(cfg.clone()).unwrap();
    assert_eq!((rec.batches, rec.truncated_bytes), (3, 21));
    assert_eq!(rec.truncated.len(), 1);
    assert!(
        rec.truncated[0].ends_with(&format!(
            ": a header cut short after 21 bytes at byte {}",
            whole - 21
        )),
        "{:?}",
        rec.truncated
    );
    s.append(Lane::Other, 1, b"after").unwrap();
    drop(s);
    let (s, rec) = Spool::open(cfg).unwrap();
    assert_eq!((rec.batches, rec.truncated_bytes), (4, 0));
    assert_eq!(pending(&s)[3].3, b"after");
}

#[test]
fn over_its_size_the_spool_drops_flows_first_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.max_bytes = 800;
    cfg.segment_bytes = 200;
    let (mut s, _) = Spool::open(cfg).unwrap();
    // 240 bytes a record (header and payload), one segment each.
    let body = [7u8; 200];
    s.append(Lane::Other, 5, &body).unwrap();
    s.append(Lane::Flows, 10, &body).unwrap();
    s.append(Lane::Flows, 10, &body).unwrap();
    assert_eq!(s.stats().dropped_batches, 0);
    // The fourth batch puts it over 800 bytes: the oldest flows go, not the identity batch.
    s.append(Lane::Other, 5, &body).unwrap();
    assert_eq!(dropped(&s), (1, 10, 0));
    assert_eq!(
        pending(&s).iter().map(|p| (p.0, p.2)).collect::<Vec<_>>(),
        [(1, Lane::Other), (3, Lane::Flows), (4, Lane::Other)]
    );
    s.append(Lane::Other, 5, &body).unwrap();
    s.append(Lane::Other, 5, &body).unwrap();
    assert_eq!(dropped(&s), (3, 20, 5));
    assert_eq!(s.stats().bytes, 720);
    assert_eq!(pending(&s).iter().map(|p| p.0).collect::<Vec<_>>(), [4, 5, 6]);
}

#[test]
fn batches_past_the_age_limit_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.max_age = Duration::from_millis(50);
    let (mut s, _) = Spool::open(cfg).unwrap();
    s.append(Lane::Other, 3, b"old").unwrap();
    std::thread::sleep(Duration::from_millis(120));
    s.append(Lane::Flows, 4, b"new").unwrap();
    assert_eq!(s.stats().dropped_other_observations, 3);
    assert_eq!(pending(&s).iter().map(|p| p.0).collect::<Vec<_>>(), [2]);
}
