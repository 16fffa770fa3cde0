//! The inventory: every asset with vendor, model, firmware, zone, class, addresses, protocols
//! and last sighting; searched, filtered and sorted by the query string (so every view has a
//! URL), and downloadable as CSV with the same filters.

use super::{Nav, Refused, attachment, encode, read, when};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::report::{InventoryRow, inventory_row};
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;

/// Columns the table sorts by.
const COLUMNS: [(&str, &str); 9] = [
    ("id", "Id"),
    ("vendor", "Vendor"),
    ("model", "Model"),
    ("firmware", "Firmware"),
    ("zone", "Zone"),
    ("class", "Class"),
    ("ips", "Addresses"),
    ("protocols", "Protocols"),
    ("last_seen", "Last seen"),
];

/// Search, filters and order of the table.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct InventoryQuery {
    /// Words each found in some column (case-insensitive).
    #[serde(default)]
    q: String,
    /// Zone name.
    #[serde(default)]
    zone: String,
    /// Device class.
    #[serde(default)]
    class: String,
    /// Protocol offered.
    #[serde(default)]
    protocol: String,
    /// Column to sort by (default id).
    #[serde(default)]
    sort: String,
    /// `desc` for descending.
    #[serde(default)]
    dir: String,
}

impl InventoryQuery {
    /// True when `row` passes the search and filters.
    fn matches(&self, row: &InventoryRow) -> bool {
        let text = format!(
            "{} {} {} {} {} {} {} {} {}",
            row.id,
            row.key,
            row.vendor,
            row.model,
            row.firmware,
            row.zone,
            row.class,
            row.ips.join(" "),
            row.protocols.join(" ")
        )
        .to_lowercase();
        self.q
            .split_whitespace()
            .all(|w| text.contains(&w.to_lowercase()))
            && (self.zone.is_empty() || row.zone == self.zone)
            && (self.class.is_empty() || row.class == self.class)
            && (self.protocol.is_empty() || row.protocols.contains(&self.protocol))
    }

    /// Sorts rows by the chosen column.
    fn sort(&self, rows: &mut [InventoryRow]) {
        match self.sort.as_str() {
            "vendor" => rows.sort_by(|a, b| a.vendor.cmp(&b.vendor)),
            "model" => rows.sort_by(|a, b| a.model.cmp(&b.model)),
            "firmware" => rows.sort_by(|a, b| a.firmware.cmp(&b.firmware)),
            "zone" => rows.sort_by(|a, b| a.zone.cmp(&b.zone)),
            "class" => rows.sort_by(|a, b| a.class.cmp(&b.class)),
            "ips" => rows.sort_by_key(first_ip),
            "protocols" => rows.sort_by(|a, b| a.protocols.cmp(&b.protocols)),
            "last_seen" => rows.sort_by_key(|r| r.last_seen),
            _ => rows.sort_by_key(|r| r.id),
        }
        if self.dir == "desc" {
            rows.reverse();
        }
    }

    /// This query with another order, as a query string.
    fn sorted_by(&self, column: &str) -> String {
        let dir = if self.sort == column && self.dir != "desc" {
            "desc"
        } else {
            "asc"
        };
        format!(
            "?q={}&zone={}&class={}&protocol={}&sort={column}&dir={dir}",
            encode(&self.q),
            encode(&self.zone),
            encode(&self.class),
            encode(&self.protocol)
        )
    }

    /// This query's filters, as a query string.
    fn filters(&self) -> String {
        format!(
            "?q={}&zone={}&class={}&protocol={}&sort={}&dir={}",
            encode(&self.q),
            encode(&self.zone),
            encode(&self.class),
            encode(&self.protocol),
            encode(&self.sort),
            encode(&self.dir)
        )
    }
}

/// The first address, ordered as an address.
fn first_ip(r: &InventoryRow) -> Option<std::net::IpAddr> {
    r.ips.first().and_then(|ip| ip.parse().ok())
}

/// Every inventory row, unfiltered.
async fn rows(s: &AppState, caller: &Caller) -> Result<Vec<InventoryRow>, Refused> {
    let basis = s.basis.clone();
    read(s, caller, move |st| {
        let inputs = basis.inputs(st);
        Ok(st.assets()?.iter().map(|a| inventory_row(a, &inputs)).collect())
    })
    .await
}

/// Distinct non-empty values of a column, sorted.
fn distinct<'a>(rows: &'a [InventoryRow], f: impl Fn(&'a InventoryRow) -> Vec<&'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = rows.iter().flat_map(f).filter(|v| !v.is_empty()).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// `GET /inventory`.
pub async fn page(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<InventoryQuery>,
) -> Response {
    let all = match rows(&s, &caller).await {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let zones = distinct(&all, |r| vec![r.zone.as_str()]);
    let classes = distinct(&all, |r| vec![r.class.as_str()]);
    let protocols = distinct(&all, |r| r.protocols.iter().map(String::as_str).collect());
    let mut shown: Vec<InventoryRow> = all.iter().filter(|r| q.matches(r)).cloned().collect();
    q.sort(&mut shown);
    let select = |name: &str, label: &str, values: &[&str], current: &str| {
        html! {
            label { (label) " "
                select name=(name) {
                    option value="" { "any" }
                    @for v in values { option value=(v) selected[*v == current] { (v) } }
                }
            }
        }
    };
    let body = html! {
        h1 { "Inventory" }
        form method="get" action="/inventory" class="filters" {
            label { "Search " input type="search" name="q" id="search" value=(q.q) placeholder="vendor, model, address ..."; }
            (select("zone", "Zone", &zones, &q.zone))
            (select("class", "Class", &classes, &q.class))
            (select("protocol", "Protocol", &protocols, &q.protocol))
            input type="hidden" name="sort" value=(q.sort);
            input type="hidden" name="dir" value=(q.dir);
            button type="submit" { "Filter" }
            " " a href="/inventory" { "Clear" }
            " " a href={ "/inventory.csv" (q.filters()) } id="csv" { "Download CSV" }
        }
        p class="meta" { span id="shown" { (shown.len()) } " of " (all.len()) " assets" }
        table id="inventory" class="sortable filterable" {
            thead { tr { @for (key, label) in COLUMNS {
                th { a href=(q.sorted_by(key)) { (label) @if q.sort == key || (q.sort.is_empty() && key == "id") { @if q.dir == "desc" { " ▼" } @else { " ▲" } } } }
            } } }
            tbody { @for r in &shown {
                tr {
                    td class="num" { a href={ "/assets/" (r.id) } { (r.id) } }
                    td { (r.vendor) } td { (r.model) } td { (r.firmware) } td { (r.zone) } td { (r.class) }
                    td class="mono" { (r.ips.join(" ")) } td { (r.protocols.join(", ")) } td { (when(r.last_seen)) }
                }
            } }
        }
    };
    super::page("Inventory", &caller, Some(Nav::Inventory), body)
}

/// `GET /inventory.csv`: the rows the same query shows.
pub async fn csv(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<InventoryQuery>,
) -> Response {
    let mut shown = match rows(&s, &caller).await {
        Ok(r) => r,
        Err(r) => return *r,
    };
    shown.retain(|r| q.matches(r));
    q.sort(&mut shown);
    match crate::report::csv::inventory(&shown) {
        Ok(bytes) => attachment("text/csv; charset=utf-8", "shoko-inventory.csv", bytes),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}
