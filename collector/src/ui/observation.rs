//! One observation as stored (the evidence a score, claim or change links to), and the frames
//! behind observations as pcap files.

use super::{Nav, attachment, error_page, read, when};
use crate::evidence::frames::pcap_files;
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::store::{Store, StoreError, StoredObservation};
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use shoko_proto::{EvidenceFrame, Source};

/// Which link type's file to download (pcap holds one).
#[derive(Debug, Default, serde::Deserialize)]
pub struct FramesQuery {
    /// Link type number (default: the lowest present).
    linktype: Option<u32>,
}

/// The frames as one pcap download named `name`, or a page saying there are none.
pub fn frames_download(caller: &Caller, frames: &[EvidenceFrame], q: &FramesQuery, name: &str) -> Response {
    let files = pcap_files(frames);
    let chosen = match q.linktype {
        Some(l) => files.get(&l),
        None => files.values().next(),
    };
    match chosen {
        Some(bytes) => attachment(
            "application/vnd.tcpdump.pcap",
            &format!("{name}.pcap"),
            bytes.clone(),
        ),
        None => error_page(
            StatusCode::NOT_FOUND,
            Some(caller),
            "no evidence frames of that link type",
        ),
    }
}

/// Observation `id`, or not found.
fn stored(st: &dyn Store, id: i64) -> Result<StoredObservation, StoreError> {
    st.observation(id)?
        .ok_or_else(|| StoreError::NotFound(format!("observation {id}")))
}

/// The link types present among frames.
pub fn linktypes(frames: &[EvidenceFrame]) -> Vec<u32> {
    let mut v: Vec<u32> = frames.iter().map(|f| f.linktype).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// `GET /observations/{id}`.
pub async fn page(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> Response {
    let found = match read(&s, &caller, move |st| stored(st, id)).await {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let o = &found.observation;
    let p = &o.provenance;
    let source = match &p.source {
        Source::Interface { name } => format!("interface {name}"),
        Source::CaptureFile { path } => format!("capture file {path}"),
        Source::HostCollector { name } => format!("host collector {name}"),
        Source::Agent => "the agent itself".into(),
    };
    let body_json = serde_json::to_string_pretty(&o.body).unwrap_or_default();
    let frames = &p.evidence.frames;
    let body = html! {
        h1 { "Observation " (id) }
        table class="facts" { tbody {
            tr { th { "Kind" } td id="kind" { (o.body.kind()) } }
            tr { th { "Observed" } td { (when(p.observed_at)) } }
            tr { th { "Source" } td { (source) } }
            tr { th { "Parser" } td { (p.parser.name) " " (p.parser.version) } }
            tr { th { "Asset" } td { @if let Some(a) = found.asset_id { a href={ "/assets/" (a) } { "asset " (a) } } @else { "–" } } }
        } }
        h2 { "What was seen" }
        pre class="json" id="observation-body" { (body_json) }
        h2 { "Evidence" }
        @if frames.is_empty() && p.evidence.files.is_empty() { p class="muted" { "No frames or files are attached." } }
        @if !frames.is_empty() {
            table {
                thead { tr { th { "Frame SHA-256" } th { "Captured" } th class="num" { "Link type" } th class="num" { "Length" } th class="num" { "Kept" } } }
                tbody { @for f in frames { tr {
                    td class="mono" { (f.sha256) } td { (when(f.timestamp)) } td class="num" { (f.linktype) }
                    td class="num" { (f.orig_len) } td class="num" { (f.data.len()) }
                } } }
            }
            p { @for l in linktypes(frames) {
                a class="button" href={ "/observations/" (id) "/frames.pcap?linktype=" (l) } { "Download frames (pcap, link type " (l) ")" } " "
            } }
        }
        @if !p.evidence.files.is_empty() {
            table {
                thead { tr { th { "File" } th { "SHA-256" } } }
                tbody { @for f in &p.evidence.files { tr { td class="mono" { (f.path) } td class="mono" { (f.sha256) } } } }
            }
        }
    };
    super::page(&format!("Observation {id}"), &caller, None::<Nav>, body)
}

/// `GET /observations/{id}/frames.pcap`.
pub async fn frames(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
    Query(q): Query<FramesQuery>,
) -> Response {
    match read(&s, &caller, move |st| stored(st, id)).await {
        Ok(o) => frames_download(
            &caller,
            &o.observation.provenance.evidence.frames,
            &q,
            &format!("observation-{id}"),
        ),
        Err(r) => *r,
    }
}
