//! Findings: what the dissectors learnt about devices (identities, software, services by content,
//! addresses a device announced, protocol events), deduplicated, bounded, each with the frames
//! that showed it.

use foldhash::HashMap;
use serde::Serialize;
use shoko_proto::{
    AssetRef, EVIDENCE_MAX_FRAMES, EvidenceFrame, Identity, MacAddr, ProtocolEvent, Timestamp, Transport,
};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// The frame a finding comes from.
#[derive(Debug, Clone, Copy)]
pub struct FrameRef<'a> {
    /// Capture time.
    pub ts: Timestamp,
    /// Link type.
    pub linktype: u32,
    /// Length on the wire.
    pub orig_len: u32,
    /// Captured bytes.
    pub raw: &'a [u8],
}

impl FrameRef<'_> {
    /// Evidence for this frame: its digest and a bounded copy.
    pub fn evidence(&self) -> EvidenceFrame {
        EvidenceFrame::capture(self.ts, self.linktype, self.orig_len, self.raw)
    }
}

/// Who a finding is about: the device's MAC when the frame came from it on the local segment,
/// otherwise its IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    /// A device on the sensor's segment.
    Mac(MacAddr),
    /// A device known by IP (possibly behind a router).
    Ip(IpAddr),
}

impl Subject {
    /// The subject as an asset reference.
    pub fn asset_ref(&self) -> AssetRef {
        match *self {
            Subject::Mac(m) => AssetRef {
                mac: Some(m),
                ..Default::default()
            },
            Subject::Ip(ip) => AssetRef {
                ip: Some(ip),
                ..Default::default()
            },
        }
    }
}

/// When something was seen, how often, and the first frames that showed it.
#[derive(Debug, Clone, Serialize)]
pub struct Seen {
    /// First time.
    pub first_seen: Timestamp,
    /// Last time.
    pub last_seen: Timestamp,
    /// Frames that showed it.
    pub count: u64,
    /// The first frames (at most [`EVIDENCE_MAX_FRAMES`]); serialised as their SHA-256.
    #[serde(rename = "evidence", serialize_with = "digests")]
    pub frames: Vec<EvidenceFrame>,
}

fn digests<S: serde::Serializer>(f: &[EvidenceFrame], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(f.iter().map(|e| e.sha256.to_hex()))
}

impl Seen {
    fn new(f: &FrameRef<'_>) -> Self {
        Seen {
            first_seen: f.ts,
            last_seen: f.ts,
            count: 1,
            frames: vec![f.evidence()],
        }
    }

    fn again(&mut self, f: &FrameRef<'_>) {
        self.first_seen = self.first_seen.min(f.ts);
        self.last_seen = self.last_seen.max(f.ts);
        self.count += 1;
        if self.frames.len() < EVIDENCE_MAX_FRAMES {
            let e = f.evidence();
            if self.frames.iter().all(|x| x.sha256 != e.sha256) {
                self.frames.push(e);
            }
        }
    }
}

/// An identity claim with when and from which frames it was seen (as in the inventory document).
#[derive(Debug, Clone, Serialize)]
pub struct IdentityRecord {
    /// The claim.
    #[serde(flatten)]
    pub identity: Identity,
    /// When and where it was seen.
    #[serde(flatten)]
    pub seen: Seen,
}

/// A software item with when and from which frames it was seen.
#[derive(Debug, Clone, Serialize)]
pub struct SoftwareRecord {
    /// The item.
    #[serde(flatten)]
    pub software: Software,
    /// When and where it was seen.
    #[serde(flatten)]
    pub seen: Seen,
}

/// A protocol event with when and from which frames it was seen.
#[derive(Debug, Clone, Serialize)]
pub struct EventRecord {
    /// The event.
    #[serde(flatten)]
    pub event: ProtocolEvent,
    /// When and where it was seen.
    #[serde(flatten)]
    pub seen: Seen,
}

/// A software item as a finding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Software {
    /// Product name.
    pub name: String,
    /// Version, when announced.
    pub version: Option<String>,
    /// Where it was learnt (`ssh-banner`, `http-server`, `http-user-agent` ...).
    pub source: &'static str,
}

/// Which service: (IP, transport, port).
pub type ServiceKey = (IpAddr, Transport, u16);

/// A service recognised by its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceFinding {
    /// Application protocol.
    pub protocol: String,
    /// Banner or version string announced, if any.
    pub banner: Option<String>,
}

/// Bounds of the findings tables.
#[derive(Debug, Clone, Copy)]
pub struct FindingLimits {
    /// Most distinct identity claims.
    pub max_identities: usize,
    /// Most distinct software items.
    pub max_software: usize,
    /// Most services recognised by content.
    pub max_services: usize,
    /// Most announced addresses.
    pub max_addresses: usize,
    /// Most distinct protocol events kept.
    pub max_events: usize,
    /// Most roles, tally counters and watched values (each).
    pub max_details: usize,
}

impl Default for FindingLimits {
    fn default() -> Self {
        FindingLimits {
            max_identities: 100_000,
            max_software: 100_000,
            max_services: 100_000,
            max_addresses: 100_000,
            max_events: 100_000,
            max_details: 100_000,
        }
    }
}

/// Counters of what the bounds refused.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct FindingDrops {
    /// Identity claims refused.
    pub identities: u64,
    /// Software items refused.
    pub software: u64,
    /// Services refused.
    pub services: u64,
    /// Addresses refused.
    pub addresses: u64,
    /// Events refused.
    pub events: u64,
    /// Roles, tallies and watched values refused.
    pub details: u64,
}

/// Everything dissectors found.
#[derive(Debug, Default)]
pub struct Findings {
    limits: FindingLimits,
    /// Identity claims per subject.
    pub identities: HashMap<(Subject, Identity), Seen>,
    /// Software per subject.
    pub software: HashMap<(Subject, Software), Seen>,
    /// Services recognised by content, per (ip, transport, port).
    pub services: HashMap<ServiceKey, (ServiceFinding, Seen)>,
    /// IPs a device announced as its own (LLDP/CDP management address, DHCP).
    pub addresses: HashMap<MacAddr, BTreeSet<IpAddr>>,
    address_count: usize,
    /// Protocol events in order of first occurrence; a repeat of the same event counts up.
    pub events: Vec<EventRecord>,
    event_index: HashMap<ProtocolEvent, usize>,
    /// Roles a subject plays in a protocol beyond client/server (`master`, `publisher` ...).
    pub roles: HashMap<(Subject, &'static str), BTreeSet<&'static str>>,
    /// Counters per (subject, protocol, category, code): function codes, unit ids, ASDU types ...
    pub tallies: HashMap<Tally, u64>,
    /// Last value seen per subject and watched key (configuration revisions), to notice changes.
    watched: HashMap<Subject, HashMap<String, u64>>,
    watched_count: usize,
    drops: FindingDrops,
}

/// What a tally counts: (subject, protocol, category, code).
pub type Tally = (Subject, &'static str, &'static str, u32);

fn upsert<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, Seen>,
    key: K,
    f: &FrameRef<'_>,
    max: usize,
    dropped: &mut u64,
) {
    if let Some(s) = map.get_mut(&key) {
        s.again(f);
    } else if map.len() >= max {
        *dropped += 1;
    } else {
        map.insert(key, Seen::new(f));
    }
}

impl Findings {
    /// Empty findings with the given bounds.
    pub fn new(limits: FindingLimits) -> Self {
        Findings {
            limits,
            ..Default::default()
        }
    }

    /// Counters of what the bounds refused.
    pub fn drops(&self) -> FindingDrops {
        self.drops
    }

    /// Records an identity claim about `who`.
    pub fn identity(&mut self, f: &FrameRef<'_>, who: Subject, id: Identity) {
        upsert(
            &mut self.identities,
            (who, id),
            f,
            self.limits.max_identities,
            &mut self.drops.identities,
        );
    }

    /// Records a software item on `who`.
    pub fn software(&mut self, f: &FrameRef<'_>, who: Subject, sw: Software) {
        upsert(
            &mut self.software,
            (who, sw),
            f,
            self.limits.max_software,
            &mut self.drops.software,
        );
    }

    /// Records a service recognised from its content; a later banner fills in a missing one.
    pub fn service(
        &mut self,
        f: &FrameRef<'_>,
        ip: IpAddr,
        transport: Transport,
        port: u16,
        protocol: &str,
        banner: Option<String>,
    ) {
        let key = (ip, transport, port);
        if let Some((s, seen)) = self.services.get_mut(&key) {
            seen.again(f);
            if s.banner.is_none() {
                s.banner = banner;
            }
        } else if self.services.len() >= self.limits.max_services {
            self.drops.services += 1;
        } else {
            let finding = ServiceFinding {
                protocol: protocol.to_owned(),
                banner,
            };
            self.services.insert(key, (finding, Seen::new(f)));
        }
    }

    /// Records that `mac` announced `ip` as its own address.
    pub fn address(&mut self, mac: MacAddr, ip: IpAddr) {
        if self.address_count >= self.limits.max_addresses {
            self.drops.addresses += 1;
            return;
        }
        if self.addresses.entry(mac).or_default().insert(ip) {
            self.address_count += 1;
        }
    }

    /// Records a protocol event; the same event again (same kind, parties and details) counts up.
    pub fn event(&mut self, f: &FrameRef<'_>, event: ProtocolEvent) {
        if let Some(&i) = self.event_index.get(&event) {
            self.events[i].seen.again(f);
        } else if self.events.len() >= self.limits.max_events {
            self.drops.events += 1;
        } else {
            self.event_index.insert(event.clone(), self.events.len());
            self.events.push(EventRecord {
                event,
                seen: Seen::new(f),
            });
        }
    }

    /// Takes the events found so far.
    pub fn take_events(&mut self) -> Vec<EventRecord> {
        self.event_index.clear();
        std::mem::take(&mut self.events)
    }

    /// Records that `who` plays `role` in `protocol`.
    pub fn role(&mut self, who: Subject, protocol: &'static str, role: &'static str) {
        if let Some(set) = self.roles.get_mut(&(who, protocol)) {
            set.insert(role);
        } else if self.roles.len() >= self.limits.max_details {
            self.drops.details += 1;
        } else {
            self.roles.insert((who, protocol), BTreeSet::from([role]));
        }
    }

    /// Counts one occurrence of `code` in `category` of `protocol` for `who`.
    pub fn tally(&mut self, who: Subject, protocol: &'static str, category: &'static str, code: u32) {
        let key = (who, protocol, category, code);
        if let Some(n) = self.tallies.get_mut(&key) {
            *n += 1;
        } else if self.tallies.len() >= self.limits.max_details {
            self.drops.details += 1;
        } else {
            self.tallies.insert(key, 1);
        }
    }

    /// Remembers `value` for `(who, key)`; returns the previous value when it differs.
    pub fn watch(&mut self, who: Subject, key: &str, value: u64) -> Option<u64> {
        if let Some(old) = self.watched.get_mut(&who).and_then(|keys| keys.get_mut(key)) {
            let before = std::mem::replace(old, value);
            return (before != value).then_some(before);
        }
        if self.watched_count >= self.limits.max_details {
            self.drops.details += 1;
        } else {
            self.watched.entry(who).or_default().insert(key.to_owned(), value);
            self.watched_count += 1;
        }
        None
    }
}
