//! The dashboard: maturity per SPE, group and requirement (heat map), the trend of conformance
//! over the assessed periods, open changes, the newest protocol events, and the health and
//! coverage of agents and sensors.

use super::{AsOf, Nav, Refused, derive, read, requirement_link, when};
use crate::assess::score::Assessment;
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::report::html::{HEAT_LEVELS, level_badge, percent};
use crate::store::{AgentView, AssetView, ChangeView, StoredObservation};
use axum::extract::{Extension, Query, State};
use axum::response::Response;
use maud::{Markup, html};
use shoko_proto::{ObservationBody, Timestamp};

/// Open changes and events listed at most.
const LISTED: usize = 10;

/// An agent silent for longer than this is shown as silent.
const SILENT_AFTER_NS: i64 = 15 * 60 * 1_000_000_000;

/// What the dashboard shows besides the assessment.
struct Facts {
    assets: Vec<AssetView>,
    changes: Vec<ChangeView>,
    events: Vec<StoredObservation>,
    agents: Vec<AgentView>,
}

/// `GET /`.
pub async fn page(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(as_of): Query<AsOf>,
) -> Response {
    match render(&s, &caller, &as_of).await {
        Ok(r) => r,
        Err(r) => *r,
    }
}

async fn render(s: &AppState, caller: &Caller, as_of: &AsOf) -> Result<Response, Refused> {
    let at = as_of.resolve(caller)?;
    let derivation = derive(s, caller, at).await?;
    let a = &derivation.assessment;
    let start = a.periods.first().map_or(at, |p| p.start);
    let facts = read(s, caller, move |st| {
        let mut events = st.observations_of_kind("protocol_event", start, at)?;
        events.reverse();
        events.truncate(LISTED);
        Ok(Facts {
            assets: st.assets()?,
            changes: st.changes()?,
            events,
            agents: st.agents()?,
        })
    })
    .await?;
    let newest = facts.assets.iter().map(|x| x.last_seen).max();
    let stale = newest.filter(|n| *n < start);
    let body = html! {
        h1 { "Dashboard" }
        p class="meta" {
            "Current period " (when(start)) " to " (when(at)) " · catalog " (a.catalog_version) " (" (a.standard) ")"
        }
        @if let Some(n) = stale {
            p class="notice" id="stale" {
                "No asset was seen in the current period: the newest evidence is from " (when(n)) ". "
                a href={ "/?at=" (super::encode(&n.to_string())) } { "Show the periods ending then" }
            }
        }
        div class="grid" {
            section class="card wide" { h2 { "Maturity per SPE and requirement" } (heat_map(a, as_of)) }
            section class="card" { h2 { "Groups" } (groups(a)) }
            section class="card" { h2 { "Conformance trend" } (trend(a)) }
            section class="card" { h2 { "Open changes" } (open_changes(&facts.changes)) }
            section class="card" { h2 { "Newest protocol events" } (events(&facts.events)) }
            section class="card" { h2 { "Agents and sensors" } (agents(&facts.agents)) }
            section class="card" { h2 { "Coverage" } (coverage(&facts.assets, start, s)) }
        }
    };
    Ok(super::page("Dashboard", caller, Some(Nav::Dashboard), body))
}

/// The SPEs in catalog order.
fn spes(a: &Assessment) -> Vec<&str> {
    let mut spes: Vec<&str> = a.scores.iter().map(|s| s.spe.as_str()).collect();
    spes.dedup();
    spes
}

/// SPE rows, level columns, each cell the requirements at that level.
fn heat_map(a: &Assessment, as_of: &AsOf) -> Markup {
    let spes = spes(a);
    html! {
        table class="heat" id="heat-map" {
            thead { tr { th { "SPE" } @for l in HEAT_LEVELS { th { (level_badge(l)) } } } }
            tbody { @for spe in &spes {
                tr {
                    th { (spe) }
                    @for l in HEAT_LEVELS {
                        @let here: Vec<_> = a.scores.iter().filter(|s| s.spe == *spe && s.level == l).collect();
                        td class={ "cell" @if here.is_empty() { " zero" } } {
                            @for s in &here {
                                a class="req" href=(super::requirement_href(&s.requirement, as_of)) title=(s.title) { (s.requirement) } " "
                            }
                        }
                    }
                }
            } }
        }
        details {
            summary { "Every requirement" }
            ul class="columns" { @for s in &a.scores { li { (requirement_link(&s.requirement, s.level, as_of)) " " span class="muted" { (s.title) } } } }
        }
    }
}

/// The group roll-ups: lowest rated level and how many requirements at each.
fn groups(a: &Assessment) -> Markup {
    html! {
        table {
            thead { tr { th { "Group" } th { "Lowest" } th { "Levels" } } }
            tbody { @for g in &a.groups {
                tr {
                    td { (g.id) " " span class="muted" { (g.title) } }
                    td { @if let Some(l) = g.lowest { (level_badge(l)) } @else { "–" } }
                    td { @for (level, n) in &g.levels { span class={ "level chip level-" (level) } title=(level) { (n) } " " } }
                }
            } }
        }
    }
}

/// Mean conformance per SPE in each period, oldest first, as bars.
fn trend(a: &Assessment) -> Markup {
    let spes = spes(a);
    let mean = |spe: &str, i: usize| {
        let values: Vec<f64> = a
            .scores
            .iter()
            .filter(|s| s.spe == spe)
            .filter_map(|s| s.periods.get(i).and_then(|p| p.conformance))
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    let mut periods: Vec<_> = a.periods.iter().enumerate().collect();
    periods.reverse();
    html! {
        table class="trend" id="trend" {
            thead { tr { th { "Period from" } @for spe in &spes { th { (spe) } } } }
            tbody { @for (i, p) in &periods {
                tr {
                    th { (p.start.to_string().get(..10).unwrap_or("")) }
                    @for spe in &spes {
                        @let v = mean(spe, *i);
                        td class="num" {
                            svg class="bar" width="36" height="10" viewBox="0 0 36 10" {
                                rect x="0" y="0" width="36" height="10" class="bar-bg" {}
                                rect x="0" y="0" width=(format!("{:.1}", v.unwrap_or(0.0) * 36.0)) height="10" class="bar-fg" {}
                            }
                            " " (percent(v))
                        }
                    }
                }
            } }
        }
        p class="muted" { "Mean conformance of each SPE's rated requirements per period, oldest first." }
    }
}

/// The newest open changes.
fn open_changes(changes: &[ChangeView]) -> Markup {
    let mut open: Vec<&ChangeView> = changes.iter().filter(|c| c.status == "open").collect();
    open.sort_by_key(|c| std::cmp::Reverse(c.observed_at));
    html! {
        p { strong id="open-changes" { (open.len()) } " open of " (changes.len()) " change records. " a href="/changes" { "Changes queue" } }
        ul { @for c in open.iter().take(LISTED) {
            li { a href={ "/changes#change-" (c.id) } { (c.kind) } " on " a href={ "/assets/" (c.asset_id) } { "asset " (c.asset_id) } ": " (c.subject) span class="muted" { " " (when(c.observed_at)) } }
        } }
    }
}

/// The newest protocol events of the current period.
fn events(events: &[StoredObservation]) -> Markup {
    html! {
        @if events.is_empty() { p class="muted" { "No protocol event in the current period." } }
        ul { @for e in events {
            @if let ObservationBody::ProtocolEvent(ev) = &e.observation.body {
                li {
                    a href={ "/observations/" (e.id) } { (ev.protocol) " " (ev.kind) }
                    " " span class={ "sev sev-" (format!("{:?}", ev.severity).to_lowercase()) } { (format!("{:?}", ev.severity).to_lowercase()) }
                    @if let Some(id) = e.asset_id { " on " a href={ "/assets/" (id) } { "asset " (id) } }
                    span class="muted" { " " (when(e.observation.provenance.observed_at)) }
                }
            }
        } }
    }
}

/// Each agent with the batches it delivered and whether it is reporting.
fn agents(agents: &[AgentView]) -> Markup {
    let now = Timestamp::now().0;
    html! {
        @if agents.is_empty() { p class="muted" { "No agent has delivered evidence yet." } }
        @else {
            table id="agents" {
                thead { tr { th { "Agent" } th { "State" } th class="num" { "Batches" } th { "Last batch" } } }
                tbody { @for ag in agents {
                    @let silent = now - ag.last_seen.0 > SILENT_AFTER_NS;
                    tr {
                        td class="mono" { (ag.agent_id) }
                        td { @if silent { span class="state-bad" { "silent" } } @else { span class="state-ok" { "reporting" } } }
                        td class="num" { (ag.batches) }
                        td { (when(ag.last_seen)) }
                    }
                } }
            }
        }
    }
}

/// How much of the inventory the evidence covers.
fn coverage(assets: &[AssetView], start: Timestamp, s: &AppState) -> Markup {
    let total = assets.len();
    let share = |n: usize| percent((total > 0).then(|| n as f64 / total as f64));
    let identified = assets
        .iter()
        .filter(|a| a.attributes.contains_key("vendor"))
        .count();
    let recent = assets.iter().filter(|a| a.last_seen >= start).count();
    let zoned = s.basis.declared.as_ref().map(|d| {
        assets
            .iter()
            .filter(|a| a.ips.iter().any(|ip| d.zone_of(*ip).is_some()))
            .count()
    });
    html! {
        table { tbody {
            tr { th { "Assets" } td class="num" id="asset-count" { (total) } td {} }
            tr { th { "With a known vendor" } td class="num" { (identified) } td class="num" { (share(identified)) } }
            tr { th { "Seen in the current period" } td class="num" { (recent) } td class="num" { (share(recent)) } }
            tr { th { "In a declared zone" }
                @if let Some(z) = zoned { td class="num" { (z) } td class="num" { (share(z)) } }
                @else { td colspan="2" class="muted" { "no zones declared" } }
            }
        } }
    }
}
