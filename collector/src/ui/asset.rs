//! One asset: its identity with every claim, source and conflict, software, services, flows,
//! changes, protocol events, vulnerabilities and the observations behind it, with their frames
//! downloadable as pcap.

use super::observation::{FramesQuery, frames_download, linktypes};
use super::{Nav, read, when};
use crate::advisory::Vulnerabilities;
use crate::advisory::matching::Match;
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::store::{AssetDetail, AssetView, Store, StoreError, StoredObservation};
use axum::extract::{Extension, Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};
use shoko_proto::{AssetRef, EvidenceFrame, ObservationBody, Timestamp};

/// Observations whose frames an asset's download gathers at most (the newest).
const FRAMES_FROM: usize = 2_000;

/// Observations listed on the page at most (the newest).
const EVIDENCE_LISTED: usize = 200;

/// Days before its last sighting in which an asset's protocol events are looked for.
const EVENT_DAYS: i64 = 30;

/// The asset with what only its page shows.
struct AssetPage {
    detail: AssetDetail,
    vulnerabilities: Vec<Match>,
    frames: Vec<EvidenceFrame>,
    events: Vec<StoredObservation>,
}

/// True when `r` names the asset (by address or MAC).
fn names(a: &AssetView, r: Option<&AssetRef>) -> bool {
    r.is_some_and(|r| {
        r.ip.is_some_and(|ip| a.ips.contains(&ip)) || r.mac.is_some_and(|m| a.macs.contains(&m))
    })
}

/// The protocol events the asset took part in (as actor or target) in the last
/// [`EVENT_DAYS`] days it was seen, newest first.
fn asset_events(st: &dyn Store, a: &AssetView) -> Result<Vec<StoredObservation>, StoreError> {
    let start = Timestamp(
        a.first_seen
            .0
            .max(a.last_seen.0 - EVENT_DAYS * 86_400_000_000_000),
    );
    let end = Timestamp(a.last_seen.0 + 1);
    let mut events: Vec<StoredObservation> = st
        .observations_of_kind("protocol_event", start, end)?
        .into_iter()
        .filter(|o| match &o.observation.body {
            ObservationBody::ProtocolEvent(e) => names(a, e.actor.as_ref()) || names(a, e.target.as_ref()),
            _ => false,
        })
        .collect();
    events.reverse();
    events.truncate(EVIDENCE_LISTED);
    Ok(events)
}

/// The frames of an asset's newest observations.
fn asset_frames(st: &dyn Store, detail: &AssetDetail) -> Result<Vec<EvidenceFrame>, StoreError> {
    let mut frames = Vec::new();
    for r in detail.evidence.iter().rev().take(FRAMES_FROM) {
        if let Some(o) = st.observation(r.id)? {
            frames.extend(o.observation.provenance.evidence.frames);
        }
    }
    Ok(frames)
}

/// `GET /assets/{id}`.
pub async fn page(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> Response {
    let loaded = read(&s, &caller, move |st| {
        let detail = AssetDetail::read(st, id)?;
        let vulnerabilities = Vulnerabilities::read(st, std::slice::from_ref(&detail.asset))?.matches;
        let frames = asset_frames(st, &detail)?;
        let events = asset_events(st, &detail.asset)?;
        Ok(AssetPage {
            detail,
            vulnerabilities,
            frames,
            events,
        })
    })
    .await;
    let p = match loaded {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let zone = s
        .basis
        .declared
        .as_ref()
        .and_then(|d| p.detail.asset.ips.iter().find_map(|ip| d.zone_of(*ip)))
        .map(|z| z.name.clone());
    let title = title(&p.detail.asset);
    let body = html! {
        h1 { "Asset " (id) ": " (title) }
        (summary(&p, zone.as_deref()))
        (identity(&p.detail))
        (software_and_services(&p.detail))
        (flows(&p.detail))
        (changes(&p.detail))
        (vulnerabilities(&p.vulnerabilities))
        (evidence(id, &p))
    };
    super::page(&format!("Asset {id}"), &caller, Some(Nav::Inventory), body)
}

/// What an asset is called: vendor and model, else host name, else class and address, else its
/// key.
fn title(a: &AssetView) -> String {
    let attr = |k: &str| a.attributes.get(k).map(String::as_str).unwrap_or("");
    let named = [attr("vendor"), attr("model")].join(" ").trim().to_owned();
    let ip = a.ips.first().map(ToString::to_string).unwrap_or_default();
    if !named.is_empty() {
        named
    } else if !attr("hostname").is_empty() {
        attr("hostname").to_owned()
    } else if !attr("class").is_empty() || !ip.is_empty() {
        format!("{} {ip}", attr("class")).trim().to_owned()
    } else {
        a.key.clone()
    }
}

fn summary(p: &AssetPage, zone: Option<&str>) -> Markup {
    let a = &p.detail.asset;
    html! {
        table class="facts" id="asset-summary" { tbody {
            tr { th { "Fusion key" } td class="mono" { (a.key) } }
            tr { th { "Addresses" } td class="mono" { @for ip in &a.ips { (ip) " " } } }
            tr { th { "MAC addresses" } td class="mono" { @for m in &a.macs { (m) " " } } }
            tr { th { "VLANs" } td { @for v in &a.vlans { (v) " " } } }
            tr { th { "Zone" } td { (zone.unwrap_or("not in a declared zone")) } }
            tr { th { "First seen" } td { (when(a.first_seen)) } }
            tr { th { "Last seen" } td { (when(a.last_seen)) } }
            @if a.router { tr { th { "Router" } td { "yes (its MAC forwards other hosts' traffic)" } } }
        } }
    }
}

fn identity(d: &AssetDetail) -> Markup {
    html! {
        h2 { "Identity" }
        @if d.attributes.is_empty() { p class="muted" { "No identity claim yet." } }
        table id="identity" {
            thead { tr { th { "Attribute" } th { "Value" } th { "Claimed by" } th class="num" { "Confidence" } th { "First" } th { "Last" } th { "Evidence" } } }
            tbody { @for attr in &d.attributes {
                @for c in &attr.claims {
                    tr class=[(!attr.conflicting.is_empty()).then_some("conflict")] {
                        td { (attr.name) @if !attr.conflicting.is_empty() { " " span class="state-bad" title="sources disagree" { "conflict" } } }
                        td { @if c.value == attr.value { strong { (c.value) } } @else { (c.value) } }
                        td { (c.source) } td class="num" { (c.confidence) }
                        td { (when(c.first_seen)) } td { (when(c.last_seen)) }
                        td { a href={ "/observations/" (c.observation_id) } { "observation " (c.observation_id) } }
                    }
                }
            } }
        }
    }
}

fn software_and_services(d: &AssetDetail) -> Markup {
    html! {
        h2 { "Services" }
        @if d.asset.services.is_empty() { p class="muted" { "No service seen." } }
        @else {
            table id="services" {
                thead { tr { th { "Address" } th { "Port" } th { "Protocol" } th { "Recognised by" } th { "First" } th { "Last" } } }
                tbody { @for sv in &d.asset.services { tr {
                    td class="mono" { (sv.ip) } td { (format!("{:?}", sv.transport).to_lowercase()) "/" (sv.port) }
                    td { (sv.protocol.as_deref().unwrap_or("")) } td { (sv.detected_by.as_deref().unwrap_or("")) }
                    td { (when(sv.first_seen)) } td { (when(sv.last_seen)) }
                } } }
            }
        }
        h2 { "Software" }
        @if d.software.is_empty() { p class="muted" { "No software reported." } }
        @else {
            table id="software" {
                thead { tr { th { "Name" } th { "Version" } th { "Package URL" } th { "Source" } th { "Evidence" } } }
                tbody { @for sw in &d.software { tr {
                    td { (sw.name) } td { (sw.version.as_deref().unwrap_or("")) } td class="mono" { (sw.purl.as_deref().unwrap_or("")) }
                    td { (sw.source) } td { a href={ "/observations/" (sw.observation_id) } { "observation " (sw.observation_id) } }
                } } }
            }
        }
    }
}

fn flows(d: &AssetDetail) -> Markup {
    html! {
        h2 { "Flows" }
        @if d.flows.is_empty() { p class="muted" { "No flow seen." } }
        @else {
            table id="flows" {
                thead { tr { th { "Direction" } th { "Address" } th { "Peer" } th { "Service" } th class="num" { "Flows" } th class="num" { "Packets" } th class="num" { "Bytes" } th { "First" } th { "Last" } } }
                tbody { @for f in &d.flows { tr {
                    td { (f.direction) } td class="mono" { (f.ip) } td class="mono" { a href={ "/inventory?q=" (super::encode(&f.peer)) } { (f.peer) } }
                    td { (f.transport) "/" (f.port) @if let Some(p) = &f.app_protocol { " " (p) } }
                    td class="num" { (f.flows) } td class="num" { (f.packets) } td class="num" { (f.bytes) }
                    td { (when(f.first_seen)) } td { (when(f.last_seen)) }
                } } }
            }
        }
    }
}

fn changes(d: &AssetDetail) -> Markup {
    html! {
        h2 { "Changes" }
        @if d.changes.is_empty() { p class="muted" { "No change recorded." } }
        @else {
            table id="asset-changes" {
                thead { tr { th { "Id" } th { "Kind" } th { "Subject" } th { "Before" } th { "After" } th { "Observed" } th { "Status" } } }
                tbody { @for c in &d.changes { tr {
                    td class="num" { a href={ "/changes#change-" (c.id) } { (c.id) } } td { (c.kind) } td { (c.subject) }
                    td { (c.old_value.as_deref().unwrap_or("")) } td { (c.new_value.as_deref().unwrap_or("")) }
                    td { (when(c.observed_at)) } td { span class={ "status-" (c.status) } { (c.status) } }
                } } }
            }
        }
    }
}

fn vulnerabilities(matches: &[Match]) -> Markup {
    html! {
        h2 { "Vulnerabilities" }
        @if matches.is_empty() { p class="muted" { "No imported advisory matches this asset." } }
        @else {
            table id="vulnerabilities" {
                thead { tr { th { "Advisory" } th { "CVEs" } th { "Exploited" } th { "Product" } th { "Version" } th { "Affected" } th class="num" { "Confidence" } } }
                tbody { @for m in matches { tr {
                    td { (m.advisory) " " span class="muted" { (m.title) } } td { (m.cves.join(", ")) }
                    td { @if m.known_exploited.is_empty() { "–" } @else { span class="state-bad" { (m.known_exploited.join(", ")) } } }
                    td { (m.product) } td { (m.version) } td { (m.affected) } td class="num" { (format!("{:.2}", m.confidence)) }
                } } }
            }
        }
    }
}

fn evidence(id: i64, p: &AssetPage) -> Markup {
    let refs = &p.detail.evidence;
    html! {
        h2 { "Protocol events" }
        @if p.events.is_empty() { p class="muted" { "No protocol event involving this asset in the last " (EVENT_DAYS) " days it was seen." } }
        @else {
            table id="asset-events" {
                thead { tr { th { "Event" } th { "Severity" } th { "Role" } th { "Details" } th { "Observed" } } }
                tbody { @for o in &p.events {
                    @if let ObservationBody::ProtocolEvent(e) = &o.observation.body {
                        tr {
                            td { a href={ "/observations/" (o.id) } { (e.protocol) " " (e.kind) } }
                            td { (format!("{:?}", e.severity).to_lowercase()) }
                            td { @if names(&p.detail.asset, e.target.as_ref()) { "target" } @else { "actor" } }
                            td class="mono" { @for (k, v) in &e.details { (k) "=" (v) " " } }
                            td { (when(o.observation.provenance.observed_at)) }
                        }
                    }
                } }
            }
        }
        h2 { "Evidence" }
        p {
            (refs.len()) " observations" @if refs.len() > EVIDENCE_LISTED { " (the newest " (EVIDENCE_LISTED) " listed)" } ", "
            (p.frames.len()) " frames. "
            @for l in linktypes(&p.frames) {
                a class="button" id="frames" href={ "/assets/" (id) "/frames.pcap?linktype=" (l) } { "Download frames (pcap, link type " (l) ")" } " "
            }
        }
        table id="evidence" {
            thead { tr { th { "Observation" } th { "Kind" } th { "Observed" } th { "Agent" } th class="num" { "Batch" } } }
            tbody { @for r in refs.iter().rev().take(EVIDENCE_LISTED) { tr {
                td { a href={ "/observations/" (r.id) } { (r.id) } } td { (r.kind) } td { (when(r.observed_at)) }
                td class="mono" { (r.agent_id) } td class="num" { (r.seq) }
            } } }
        }
    }
}

/// `GET /assets/{id}/frames.pcap`: the frames behind the asset's newest observations.
pub async fn frames(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
    Query(q): Query<FramesQuery>,
) -> Response {
    match read(&s, &caller, move |st| {
        asset_frames(st, &AssetDetail::read(st, id)?)
    })
    .await
    {
        Ok(frames) => frames_download(&caller, &frames, &q, &format!("asset-{id}")),
        Err(r) => *r,
    }
}
