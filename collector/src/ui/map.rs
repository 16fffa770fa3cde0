//! The network map, drawn server-side as SVG: declared zones as horizontal bands (highest Purdue
//! level on top), each asset a node in its zone's grid (so hundreds stay readable), the observed
//! conversations of the current period as edges, those a NET finding marks as violating in red,
//! and the declared conduits between zones on the right margin.

use super::{AsOf, Nav, Refused, derive, read};
use crate::assess::declared::Declared;
use crate::assess::rules::{Evidence, Outcome};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::store::AssetView;
use axum::extract::{Extension, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

/// Width of the drawing.
const WIDTH: f64 = 1200.0;
/// Right margin kept for conduits.
const MARGIN: f64 = 160.0;
/// Grid cell of one asset.
const CELL_W: f64 = 46.0;
const CELL_H: f64 = 40.0;
/// Height of a band's title.
const BAND_HEAD: f64 = 26.0;
/// Edges drawn at most (the busiest; violating ones always).
const MAX_EDGES: usize = 3_000;

/// A conversation between two mapped assets over the period.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Edge {
    from: i64,
    to: i64,
    violating: bool,
    flows: i64,
    services: BTreeSet<String>,
}

/// One zone band and the assets in it.
struct Band {
    title: String,
    zone: Option<String>,
    assets: Vec<AssetView>,
    top: f64,
    height: f64,
}

/// The whole map, laid out.
pub struct Map {
    bands: Vec<Band>,
    edges: Vec<Edge>,
    conduits: Vec<(String, String, String)>,
    positions: HashMap<i64, (f64, f64)>,
    height: f64,
    unmapped_flows: i64,
}

/// Which band an asset belongs to: the first declared zone one of its addresses is in.
fn zone_of<'a>(d: Option<&'a Declared>, a: &AssetView) -> Option<&'a str> {
    d.and_then(|d| a.ips.iter().find_map(|ip| d.zone_of(*ip)))
        .map(|z| z.name.as_str())
}

/// Lays out the map of `assets` with the period's conversations.
fn lay_out(
    declared: Option<&Declared>,
    assets: Vec<AssetView>,
    flows: &[(crate::fuse::flows::FlowKey, crate::fuse::flows::FlowTotals)],
    violating: &BTreeSet<(String, String)>,
) -> Map {
    let mut zones: Vec<(&str, Option<u8>, &str)> = declared
        .map(|d| {
            d.zones
                .iter()
                .map(|z| (z.name.as_str(), z.level, z.kind.as_str()))
                .collect()
        })
        .unwrap_or_default();
    zones.sort_by_key(|(name, level, _)| (std::cmp::Reverse(*level), *name));
    let mut grouped: BTreeMap<Option<String>, Vec<AssetView>> = BTreeMap::new();
    for a in assets {
        grouped
            .entry(zone_of(declared, &a).map(str::to_owned))
            .or_default()
            .push(a);
    }
    let mut bands: Vec<Band> = zones
        .iter()
        .map(|(name, level, kind)| Band {
            title: format!(
                "{name} ({kind}{})",
                level.map(|l| format!(", level {l}")).unwrap_or_default()
            ),
            zone: Some(name.to_string()),
            assets: grouped.remove(&Some(name.to_string())).unwrap_or_default(),
            top: 0.0,
            height: 0.0,
        })
        .collect();
    let outside = grouped.remove(&None).unwrap_or_default();
    if !outside.is_empty() || bands.is_empty() {
        let title = if declared.is_some() {
            "Outside every declared zone"
        } else {
            "All assets (no zones declared)"
        };
        bands.push(Band {
            title: title.into(),
            zone: None,
            assets: outside,
            top: 0.0,
            height: 0.0,
        });
    }
    let cols = (((WIDTH - MARGIN - 20.0) / CELL_W).floor() as usize).max(1);
    let mut positions = HashMap::new();
    let mut y = 10.0;
    for b in &mut bands {
        b.assets.sort_by_key(|a| (a.ips.first().copied(), a.id));
        let rows = b.assets.len().div_ceil(cols).max(1);
        b.top = y;
        b.height = BAND_HEAD + rows as f64 * CELL_H + 8.0;
        for (i, a) in b.assets.iter().enumerate() {
            let x = 10.0 + CELL_W / 2.0 + (i % cols) as f64 * CELL_W;
            let cy = y + BAND_HEAD + CELL_H / 2.0 - 6.0 + (i / cols) as f64 * CELL_H;
            positions.insert(a.id, (x, cy));
        }
        y += b.height + 14.0;
    }
    let by_ip: HashMap<IpAddr, i64> = bands
        .iter()
        .flat_map(|b| &b.assets)
        .flat_map(|a| a.ips.iter().map(move |ip| (*ip, a.id)))
        .collect();
    let mut edges: BTreeMap<(i64, i64), Edge> = BTreeMap::new();
    let mut unmapped_flows = 0;
    for (k, t) in flows {
        let ends = (k.orig_ip.parse::<IpAddr>().ok(), k.resp_ip.parse::<IpAddr>().ok());
        let (Some(from), Some(to)) = (
            ends.0.and_then(|ip| by_ip.get(&ip)),
            ends.1.and_then(|ip| by_ip.get(&ip)),
        ) else {
            unmapped_flows += t.flows;
            continue;
        };
        let e = edges.entry((*from, *to)).or_insert_with(|| Edge {
            from: *from,
            to: *to,
            violating: false,
            flows: 0,
            services: BTreeSet::new(),
        });
        e.flows += t.flows;
        e.violating |= violating.contains(&(k.orig_ip.clone(), k.resp_ip.clone()));
        let app = if k.app_protocol.is_empty() {
            String::new()
        } else {
            format!(" {}", k.app_protocol)
        };
        e.services.insert(format!("{}/{}{app}", k.transport, k.resp_port));
    }
    let mut edges: Vec<Edge> = edges.into_values().filter(|e| e.from != e.to).collect();
    edges.sort_by_key(|e| (std::cmp::Reverse(e.violating), std::cmp::Reverse(e.flows)));
    edges.truncate(MAX_EDGES);
    // Violating edges last, so they are drawn on top.
    edges.reverse();
    let conduits = declared
        .map(|d| {
            d.conduits
                .iter()
                .map(|c| (c.name.clone(), c.zones[0].clone(), c.zones[1].clone()))
                .collect()
        })
        .unwrap_or_default();
    Map {
        bands,
        edges,
        conduits,
        positions,
        height: y,
        unmapped_flows,
    }
}

/// A CSS class for a device class.
fn class_style(class: Option<&String>) -> &'static str {
    let c = class.map(|c| c.to_lowercase()).unwrap_or_default();
    if ["plc", "rtu", "ied", "controller", "drive", "io"]
        .iter()
        .any(|k| c.contains(k))
    {
        "node-field"
    } else if ["hmi", "scada", "engineering", "historian", "workstation"]
        .iter()
        .any(|k| c.contains(k))
    {
        "node-control"
    } else if ["router", "switch", "firewall", "gateway"]
        .iter()
        .any(|k| c.contains(k))
    {
        "node-net"
    } else {
        "node"
    }
}

/// A short label: the last octet (or group) of the first address, else the key's tail.
fn label(a: &AssetView) -> String {
    match a.ips.first() {
        Some(IpAddr::V4(v4)) => {
            let o = v4.octets();
            format!(".{}.{}", o[2], o[3])
        }
        Some(IpAddr::V6(v6)) => format!(":{:x}", v6.segments()[7]),
        None => a
            .key
            .chars()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect(),
    }
}

impl Map {
    /// A link to an asset on the map, named by its addresses.
    fn asset_link(&self, id: i64) -> Markup {
        let ips = self
            .bands
            .iter()
            .flat_map(|b| &b.assets)
            .find(|a| a.id == id)
            .map(|a| {
                a.ips
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        html! { a href={ "/assets/" (id) } { "asset " (id) } " " span class="mono" { (ips) } }
    }

    /// The drawing.
    fn svg(&self) -> Markup {
        let band_y: HashMap<&str, (f64, f64)> = self
            .bands
            .iter()
            .filter_map(|b| b.zone.as_deref().map(|z| (z, (b.top, b.height))))
            .collect();
        html! {
            svg xmlns="http://www.w3.org/2000/svg" class="netmap" id="network-map" width=(WIDTH) height=(self.height)
                viewBox={ "0 0 " (WIDTH) " " (self.height) } role="img" {
                title { "Network map: zones, assets and observed flows" }
                @for b in &self.bands {
                    g class="zone" {
                        rect x="4" y=(b.top) width=(WIDTH - MARGIN) height=(b.height) rx="6" class={ "zone-band" @if b.zone.is_none() { " zone-outside" } } {}
                        text x="14" y=(b.top + 17.0) class="zone-title" { (b.title) " – " (b.assets.len()) " assets" }
                    }
                }
                @for (i, (name, a, z)) in self.conduits.iter().enumerate() {
                    @if let (Some(ya), Some(yb)) = (band_y.get(a.as_str()), band_y.get(z.as_str())) {
                        @let x = WIDTH - MARGIN + 14.0 + (i % 6) as f64 * 22.0;
                        @let (y1, y2) = (ya.0 + ya.1 / 2.0, yb.0 + yb.1 / 2.0);
                        g class="conduit" {
                            title { "conduit " (name) ": " (a) " ↔ " (z) }
                            path d=(format!("M {} {y1:.1} H {x:.1} V {y2:.1} H {}", WIDTH - MARGIN + 4.0, WIDTH - MARGIN + 4.0)) {}
                            text x=(x + 3.0) y=((y1 + y2) / 2.0) class="conduit-label" { (name) }
                        }
                    }
                }
                @for e in &self.edges {
                    @if let (Some(f), Some(t)) = (self.positions.get(&e.from), self.positions.get(&e.to)) {
                        line x1=(f.0) y1=(f.1) x2=(t.0) y2=(t.1)
                            class={ "edge" @if e.violating { " violating" } }
                            stroke-width=(format!("{:.1}", 0.6 + (e.flows as f64).log10().max(0.0) * 0.6)) {
                            title { "asset " (e.from) " → asset " (e.to) ": " (e.flows) " flows, " (e.services.iter().cloned().collect::<Vec<_>>().join(", ")) @if e.violating { " – VIOLATES the declared zones and conduits" } }
                        }
                    }
                }
                @for b in &self.bands { @for a in &b.assets {
                    @if let Some((x, y)) = self.positions.get(&a.id) {
                        a href={ "/assets/" (a.id) } class="asset" {
                            title { "asset " (a.id) ": " (a.attributes.get("vendor").map_or("", String::as_str)) " " (a.attributes.get("model").map_or("", String::as_str)) " " (a.ips.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")) }
                            circle cx=(x) cy=(y) r="7" class=(class_style(a.attributes.get("class"))) {}
                            text x=(x) y=(y + 18.0) class="asset-label" { (label(a)) }
                        }
                    }
                } }
            }
        }
    }
}

/// The map of the current period ending at `?at=`.
async fn build(s: &AppState, caller: &Caller, as_of: &AsOf) -> Result<Map, Refused> {
    let at = as_of.resolve(caller)?;
    let derivation = derive(s, caller, at).await?;
    let start = derivation.assessment.periods.first().map_or(at, |p| p.start);
    let violating: BTreeSet<(String, String)> = derivation
        .findings()
        .first()
        .into_iter()
        .flatten()
        .filter(|f| f.outcome == Outcome::Violated && f.requirement.starts_with("NET"))
        .flat_map(|f| &f.evidence)
        .filter_map(|e| match e {
            Evidence::Flows { orig, resp, .. } => Some((orig.clone(), resp.clone())),
            _ => None,
        })
        .collect();
    let basis = s.basis.clone();
    read(s, caller, move |st| {
        let flows = st.flow_hours_between(start, at)?;
        Ok(lay_out(basis.declared.as_ref(), st.assets()?, &flows, &violating))
    })
    .await
}

/// `GET /map`.
pub async fn page(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(as_of): Query<AsOf>,
) -> Response {
    let map = match build(&s, &caller, &as_of).await {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let violating: Vec<&Edge> = map.edges.iter().filter(|e| e.violating).collect();
    let body = html! {
        h1 { "Network map" }
        p class="meta" {
            "Zones as bands (highest level on top), assets as nodes, the current period's conversations as edges; "
            span class="legend-violating" { "red edges violate the declared zones and conduits" } ". "
            "Hover for details, click a node for its asset. "
            a href={ "/map.svg" (as_of.query()) } { "Download SVG" }
        }
        div class="map-frame" { (map.svg()) }
        @if map.unmapped_flows > 0 { p class="muted" { (map.unmapped_flows) " flows with an address outside the inventory are not drawn." } }
        h2 { "Violating conversations" }
        @if violating.is_empty() { p class="muted" id="no-violations" { "None in the current period." } }
        @else {
            table id="violations" {
                thead { tr { th { "From" } th { "To" } th class="num" { "Flows" } th { "Services" } } }
                tbody { @for e in violating.iter().rev() { tr {
                    td { (map.asset_link(e.from)) } td { (map.asset_link(e.to)) }
                    td class="num" { (e.flows) } td { (e.services.iter().cloned().collect::<Vec<_>>().join(", ")) }
                } } }
            }
        }
    };
    super::page("Network map", &caller, Some(Nav::Map), body)
}

/// `GET /map.svg`: the drawing alone, with the stylesheet it needs inside.
pub async fn svg(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(as_of): Query<AsOf>,
) -> Response {
    match build(&s, &caller, &as_of).await {
        Ok(map) => {
            let svg = map.svg().into_string();
            let styled = svg.replacen(
                "<title>",
                &format!("<style>{}</style><title>", PreEscaped(MAP_CSS).into_string()),
                1,
            );
            // Opened on its own, an SVG is a document: it runs nothing and is not sniffed.
            (
                [
                    (header::CONTENT_TYPE, "image/svg+xml"),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                    (
                        header::CONTENT_SECURITY_POLICY,
                        "default-src 'none'; style-src 'unsafe-inline'; sandbox",
                    ),
                ],
                styled,
            )
                .into_response()
        }
        Err(r) => *r,
    }
}

/// The map's part of the stylesheet, also embedded in the downloaded SVG.
pub(super) const MAP_CSS: &str = include_str!("static/map.css");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuse::flows::{FlowKey, FlowTotals};
    use shoko_proto::Timestamp;

    fn asset(id: i64, ip: &str) -> AssetView {
        AssetView {
            id,
            key: format!("ip:{ip}"),
            macs: vec![],
            ips: vec![ip.parse().unwrap()],
            vlans: vec![],
            router: false,
            first_seen: Timestamp(0),
            last_seen: Timestamp(0),
            services: vec![],
            attributes: Default::default(),
            conflicts: vec![],
        }
    }

    #[test]
    fn two_hundred_and_fifty_assets_stay_apart_and_a_violation_is_red() {
        let declared = Declared::parse(
            "[[zone]]\nname = \"control\"\nkind = \"control\"\nlevel = 2\ncidrs = [\"10.0.0.0/24\"]\n\n\
             [[zone]]\nname = \"office\"\nkind = \"enterprise\"\nlevel = 4\ncidrs = [\"10.9.0.0/24\"]\n",
            "zones.toml",
        )
        .unwrap();
        let mut assets: Vec<AssetView> = (0..240).map(|i| asset(i + 1, &format!("10.0.0.{i}"))).collect();
        assets.push(asset(1000, "10.9.0.5"));
        assets.extend((0..9).map(|i| asset(2000 + i, &format!("192.168.1.{i}"))));
        let flow = |orig: &str, resp: &str| {
            let key = FlowKey {
                transport: "tcp",
                orig_ip: orig.into(),
                resp_ip: resp.into(),
                resp_port: 502,
                app_protocol: "modbus".into(),
                ..FlowKey::default()
            };
            let totals = FlowTotals {
                flows: 3,
                ..FlowTotals::default()
            };
            (key, totals)
        };
        let flows = [
            flow("10.0.0.1", "10.0.0.2"),
            flow("10.9.0.5", "10.0.0.7"),
            flow("8.8.8.8", "10.0.0.1"),
        ];
        let violating = BTreeSet::from([("10.9.0.5".to_string(), "10.0.0.7".to_string())]);
        let map = lay_out(Some(&declared), assets, &flows, &violating);

        // Office on top, then control, then everything outside the zones.
        let titles: Vec<(&str, usize)> = map
            .bands
            .iter()
            .map(|b| (b.title.as_str(), b.assets.len()))
            .collect();
        assert_eq!(
            titles,
            [
                ("office (enterprise, level 4)", 1),
                ("control (control, level 2)", 240),
                ("Outside every declared zone", 9)
            ]
        );
        // Every node has its own cell inside the drawing.
        let points: Vec<(f64, f64)> = map.positions.values().copied().collect();
        assert_eq!(points.len(), 250);
        for (i, a) in points.iter().enumerate() {
            assert!(a.0 > 0.0 && a.0 < WIDTH - MARGIN && a.1 > 0.0 && a.1 < map.height);
            for b in &points[i + 1..] {
                assert!(
                    (a.0 - b.0).abs() >= CELL_W || (a.1 - b.1).abs() >= CELL_H,
                    "{a:?} {b:?}"
                );
            }
        }
        assert!(map.height < 700.0, "{}", map.height);
        // Two edges between mapped assets, the office's one violating; the outside address is counted.
        let edges: Vec<(i64, i64, bool)> = map.edges.iter().map(|e| (e.from, e.to, e.violating)).collect();
        assert_eq!(edges, [(2, 3, false), (1000, 8, true)]);
        assert_eq!(map.unmapped_flows, 3);
        let svg = map.svg().into_string();
        assert_eq!(svg.matches("<circle").count(), 250);
        assert_eq!(svg.matches("class=\"edge violating\"").count(), 1);
    }
}
