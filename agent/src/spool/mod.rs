//! The agent's on-disk spool: every batch is appended here (and synced, by policy) before it is
//! sent, sent in order, and deleted only once the collector has acknowledged it. Batches of flow
//! summaries and batches of everything else (identities, services, changes, events, host
//! inventories) go to two lanes of segment files, so that when the spool is over its size the
//! oldest flows are dropped first and identity, change and event evidence only after them.
//! Batches older than the maximum age are dropped whatever they hold. What is dropped is counted.
//!
//! A batch's sequence number is written into its record the first time it is sent, so that after
//! a restart it is re-sent with the same number and the collector recognises a batch it already
//! stored. On start the spool is recovered: a record cut short or damaged (a torn write at power
//! loss) ends its segment, which is truncated there; records the acknowledgement watermark
//! (`acked`) covers are skipped, and empty segments deleted.

pub mod record;

use record::{RecordMeta, SEQ_OFFSET};
use serde::Deserialize;
use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// When appended records are flushed to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fsync {
    /// After every batch: nothing acknowledged by the spool is lost at power loss.
    Always,
    /// At most every `fsync_interval_ms` (a power loss loses the batches of that interval).
    Interval,
    /// Left to the kernel.
    Never,
}

/// What goes when the spool is over its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WhenFull {
    /// The oldest flow batches first, then the oldest of the rest.
    DropFlowsFirst,
    /// The oldest batches, whatever they hold.
    DropOldest,
}

/// Settings of the spool.
#[derive(Debug, Clone)]
pub struct SpoolConfig {
    /// Its directory.
    pub dir: PathBuf,
    /// Bytes on disk at most.
    pub max_bytes: u64,
    /// Batches older than this are dropped.
    pub max_age: Duration,
    /// A segment file is closed and a new one started past this size.
    pub segment_bytes: u64,
    /// Sync policy.
    pub fsync: Fsync,
    /// Interval of [`Fsync::Interval`].
    pub fsync_interval: Duration,
    /// Drop policy.
    pub when_full: WhenFull,
    /// Largest record payload accepted when reading (the frame limit).
    pub max_record: u32,
}

/// The two lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lane {
    /// Batches of flow summaries.
    Flows,
    /// Everything else.
    Other,
}

impl Lane {
    fn dir(self) -> &'static str {
        match self {
            Lane::Flows => "flows",
            Lane::Other => "other",
        }
    }
}

/// Where a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef {
    /// Its lane.
    pub lane: Lane,
    /// Its segment's number.
    pub segment: u64,
    /// The record.
    pub meta: RecordMeta,
}

/// Counters of the spool, for telemetry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpoolStats {
    /// Batches waiting on disk.
    pub batches: u64,
    /// Bytes on disk.
    pub bytes: u64,
    /// Batches dropped (over size or age).
    pub dropped_batches: u64,
    /// Flow observations dropped.
    pub dropped_flow_observations: u64,
    /// Other observations dropped.
    pub dropped_other_observations: u64,
}

/// What recovery found at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Batches found waiting.
    pub batches: u64,
    /// Of those, already sent once (they keep their number).
    pub numbered: u64,
    /// Segments truncated at a damaged record, with the reason.
    pub truncated: Vec<String>,
    /// Bytes cut off by those truncations.
    pub truncated_bytes: u64,
}

/// One segment file.
#[derive(Debug)]
struct Segment {
    number: u64,
    path: PathBuf,
    bytes: u64,
    /// Records not yet acknowledged.
    pending: VecDeque<RecordMeta>,
    newest_at: i64,
    /// Open for appending while it is the lane's last segment.
    file: Option<File>,
}

/// The spool.
#[derive(Debug)]
pub struct Spool {
    cfg: SpoolConfig,
    lanes: BTreeMap<Lane, VecDeque<Segment>>,
    /// Every pending record by id.
    index: BTreeMap<u64, RecordRef>,
    next_id: u64,
    acked_seq: u64,
    highest_seq: u64,
    stats: SpoolStats,
    last_sync: Instant,
}

/// Name of the file holding the acknowledgement watermark.
const ACKED: &str = "acked";

fn segment_name(number: u64) -> String {
    format!("{number:020}.seg")
}

fn now_ns() -> i64 {
    shoko_proto::Timestamp::now().0
}

/// Writes `text` to `path` through a temporary file and a rename.
fn write_atomic(path: &Path, text: &str, sync: bool) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    if sync {
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

impl Spool {
    /// Opens (creating) the spool and recovers what it holds.
    pub fn open(cfg: SpoolConfig) -> io::Result<(Self, Recovery)> {
        std::fs::create_dir_all(&cfg.dir)?;
        let acked_seq = match std::fs::read_to_string(cfg.dir.join(ACKED)) {
            Ok(t) => t.trim().parse().unwrap_or(0),
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e),
        };
        let mut spool = Spool {
            lanes: BTreeMap::new(),
            index: BTreeMap::new(),
            next_id: 1,
            acked_seq,
            highest_seq: acked_seq,
            stats: SpoolStats::default(),
            last_sync: Instant::now(),
            cfg,
        };
        let mut recovery = Recovery::default();
        for lane in [Lane::Flows, Lane::Other] {
            let segments = spool.recover_lane(lane, &mut recovery)?;
            spool.lanes.insert(lane, segments);
        }
        recovery.batches = spool.index.len() as u64;
        recovery.numbered = spool.index.values().filter(|r| r.meta.seq != 0).count() as u64;
        spool.refresh_stats();
        Ok((spool, recovery))
    }

    fn recover_lane(&mut self, lane: Lane, recovery: &mut Recovery) -> io::Result<VecDeque<Segment>> {
        let dir = self.cfg.dir.join(lane.dir());
        std::fs::create_dir_all(&dir)?;
        let mut numbers: Vec<u64> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".seg")?.parse().ok())
            .collect();
        numbers.sort_unstable();
        let mut segments = VecDeque::new();
        for number in numbers {
            let path = dir.join(segment_name(number));
            let scan = record::scan(&mut BufReader::new(File::open(&path)?), self.cfg.max_record)?;
            let on_disk = std::fs::metadata(&path)?.len();
            if let Some(why) = &scan.damage {
                OpenOptions::new()
                    .write(true)
                    .open(&path)?
                    .set_len(scan.valid_len)?;
                recovery.truncated_bytes += on_disk - scan.valid_len;
                recovery
                    .truncated
                    .push(format!("{}: {why} at byte {}", path.display(), scan.valid_len));
            }
            let mut seg = Segment {
                number,
                path,
                bytes: scan.valid_len,
                pending: VecDeque::new(),
                newest_at: 0,
                file: None,
            };
            for meta in scan.records {
                self.next_id = self.next_id.max(meta.id + 1);
                self.highest_seq = self.highest_seq.max(meta.seq);
                seg.newest_at = seg.newest_at.max(meta.at);
                if meta.seq != 0 && meta.seq <= self.acked_seq {
                    continue;
                }
                self.index.insert(
                    meta.id,
                    RecordRef {
                        lane,
                        segment: number,
                        meta,
                    },
                );
                seg.pending.push_back(meta);
            }
            if seg.pending.is_empty() {
                std::fs::remove_file(&seg.path)?;
            } else {
                segments.push_back(seg);
            }
        }
        Ok(segments)
    }

    /// The highest batch sequence number the spool has given out or seen acknowledged.
    pub fn highest_seq(&self) -> u64 {
        self.highest_seq
    }

    /// Counters.
    pub fn stats(&self) -> SpoolStats {
        self.stats
    }

    fn refresh_stats(&mut self) {
        self.stats.batches = self.index.len() as u64;
        self.stats.bytes = self.lanes.values().flatten().map(|s| s.bytes).sum();
    }

    /// Appends a batch of `count` observations (`payload`, their MessagePack) to `lane`; then
    /// drops what the size and age limits require. Its place.
    pub fn append(&mut self, lane: Lane, count: u32, payload: &[u8]) -> io::Result<RecordRef> {
        let (id, at) = (self.next_id, now_ns());
        let bytes = record::encode(id, at, count, payload);
        let segments = self.lanes.entry(lane).or_default();
        let needs_new = segments
            .back()
            .is_none_or(|s| s.file.is_none() || s.bytes >= self.cfg.segment_bytes);
        if needs_new {
            if let Some(last) = segments.back_mut() {
                last.file = None;
            }
            // A segment is numbered by its first record, unique over both lanes.
            let number = id;
            let path = self.cfg.dir.join(lane.dir()).join(segment_name(number));
            let file = OpenOptions::new().create(true).append(true).open(&path)?;
            segments.push_back(Segment {
                number,
                path,
                bytes: 0,
                pending: VecDeque::new(),
                newest_at: at,
                file: Some(file),
            });
        }
        let seg = segments.back_mut().expect("a segment was just ensured");
        let file = seg.file.as_mut().expect("the last segment is open");
        file.write_all(&bytes)?;
        let sync = match self.cfg.fsync {
            Fsync::Always => true,
            Fsync::Interval => self.last_sync.elapsed() >= self.cfg.fsync_interval,
            Fsync::Never => false,
        };
        if sync {
            file.sync_data()?;
            self.last_sync = Instant::now();
        }
        let meta = RecordMeta {
            id,
            seq: 0,
            at,
            count,
            offset: seg.bytes,
            len: payload.len() as u32,
        };
        seg.bytes += meta.size();
        seg.newest_at = at;
        seg.pending.push_back(meta);
        let r = RecordRef {
            lane,
            segment: seg.number,
            meta,
        };
        self.index.insert(id, r);
        self.next_id += 1;
        self.enforce_limits(at);
        self.refresh_stats();
        Ok(r)
    }

    /// The pending batch after record `id`, in the order they were spooled.
    pub fn next_after(&self, id: u64) -> Option<RecordRef> {
        self.index.range(id + 1..).next().map(|(_, r)| *r)
    }

    /// True while record `id` is still spooled (not acknowledged or dropped).
    pub fn holds(&self, id: u64) -> bool {
        self.index.contains_key(&id)
    }

    fn path(&self, r: &RecordRef) -> PathBuf {
        self.cfg.dir.join(r.lane.dir()).join(segment_name(r.segment))
    }

    /// Reads a record's payload back (checking it).
    pub fn read(&self, r: &RecordRef) -> io::Result<Vec<u8>> {
        let mut f = File::open(self.path(r))?;
        f.seek(SeekFrom::Start(r.meta.offset))?;
        match record::read(&mut f.take(r.meta.size()), r.meta.offset, self.cfg.max_record) {
            Ok(Some((_, payload))) => Ok(payload),
            Ok(None) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "record missing")),
            Err(record::RecordError::Io(e)) => Err(e),
            Err(record::RecordError::Damaged(why)) => Err(io::Error::new(io::ErrorKind::InvalidData, why)),
        }
    }

    /// Writes the sequence numbers of batches about to be sent for the first time into their
    /// records and syncs them (whatever the policy: a batch re-sent after a crash must carry the
    /// number it was first sent with).
    pub fn number(&mut self, assigned: &[(u64, u64)]) -> io::Result<()> {
        let mut touched: BTreeMap<PathBuf, File> = BTreeMap::new();
        for &(id, seq) in assigned {
            let Some(r) = self.index.get_mut(&id) else {
                continue;
            };
            r.meta.seq = seq;
            let r = *r;
            let path = self.path(&r);
            let file = match touched.entry(path) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    let f = OpenOptions::new().write(true).open(e.key())?;
                    e.insert(f)
                }
            };
            file.write_all_at(&seq.to_le_bytes(), r.meta.offset + SEQ_OFFSET)?;
            self.highest_seq = self.highest_seq.max(seq);
            if let Some(seg) = self
                .lanes
                .get_mut(&r.lane)
                .and_then(|l| l.iter_mut().find(|s| s.number == r.segment))
                && let Some(m) = seg.pending.iter_mut().find(|m| m.id == id)
            {
                m.seq = seq;
            }
        }
        for f in touched.values() {
            f.sync_data()?;
        }
        Ok(())
    }

    /// The collector acknowledged every batch up to `seq`: their records go, and segments left
    /// empty are deleted.
    pub fn ack(&mut self, seq: u64) -> io::Result<()> {
        if seq <= self.acked_seq {
            return Ok(());
        }
        self.acked_seq = seq;
        self.highest_seq = self.highest_seq.max(seq);
        let done: Vec<u64> = self
            .index
            .values()
            .filter(|r| r.meta.seq != 0 && r.meta.seq <= seq)
            .map(|r| r.meta.id)
            .collect();
        for id in &done {
            self.index.remove(id);
        }
        for segments in self.lanes.values_mut() {
            for seg in segments.iter_mut() {
                seg.pending.retain(|m| m.seq == 0 || m.seq > seq);
            }
            while let Some(pos) = segments
                .iter()
                .position(|s| s.pending.is_empty() && (s.file.is_none() || s.bytes >= self.cfg.segment_bytes))
            {
                if let Some(seg) = segments.remove(pos) {
                    std::fs::remove_file(&seg.path)?;
                }
            }
        }
        write_atomic(
            &self.cfg.dir.join(ACKED),
            &format!("{seq}\n"),
            self.cfg.fsync == Fsync::Always,
        )?;
        self.refresh_stats();
        Ok(())
    }

    /// Drops whole segments, oldest first, until the spool is within its age and size.
    fn enforce_limits(&mut self, now: i64) {
        let max_age = i64::try_from(self.cfg.max_age.as_nanos()).unwrap_or(i64::MAX);
        loop {
            let total: u64 = self.lanes.values().flatten().map(|s| s.bytes).sum();
            let aged = |s: &Segment| now.saturating_sub(s.newest_at) > max_age;
            let victim = [Lane::Flows, Lane::Other]
                .into_iter()
                .find(|l| self.lanes.get(l).and_then(|s| s.front()).is_some_and(aged))
                .or_else(|| {
                    (total > self.cfg.max_bytes)
                        .then(|| self.oversize_victim())
                        .flatten()
                });
            let Some(lane) = victim else { return };
            let Some(seg) = self.lanes.get_mut(&lane).and_then(VecDeque::pop_front) else {
                return;
            };
            let observations: u64 = seg.pending.iter().map(|m| u64::from(m.count)).sum();
            self.stats.dropped_batches += seg.pending.len() as u64;
            match lane {
                Lane::Flows => self.stats.dropped_flow_observations += observations,
                Lane::Other => self.stats.dropped_other_observations += observations,
            }
            for m in &seg.pending {
                self.index.remove(&m.id);
            }
            tracing::warn!(
                segment = %seg.path.display(),
                batches = seg.pending.len(),
                observations,
                "spool over its limits: oldest batches dropped"
            );
            if let Err(e) = std::fs::remove_file(&seg.path) {
                tracing::error!(segment = %seg.path.display(), error = %e, "cannot delete a dropped spool segment");
            }
        }
    }

    /// The lane whose oldest segment goes when the spool is over its size.
    fn oversize_victim(&self) -> Option<Lane> {
        let front = |l: Lane| self.lanes.get(&l).and_then(|s| s.front());
        match self.cfg.when_full {
            WhenFull::DropFlowsFirst => [Lane::Flows, Lane::Other]
                .into_iter()
                .find(|l| front(*l).is_some()),
            WhenFull::DropOldest => [Lane::Flows, Lane::Other]
                .into_iter()
                .filter_map(|l| front(l).and_then(|s| s.pending.front()).map(|m| (m.id, l)))
                .min()
                .map(|(_, l)| l),
        }
    }
}

#[cfg(test)]
mod tests;
