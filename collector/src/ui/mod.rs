//! The web UI: server-rendered HTML pages (maud) with one embedded stylesheet and a little plain
//! JavaScript, nothing fetched from elsewhere. Every page has a stable URL and reads without
//! JavaScript; the script only filters and sorts tables in place. Pages that assess take `?at=`
//! (RFC 3339) to show the periods ending then instead of now.

mod asset;
mod audit;
mod changes;
mod dashboard;
mod exports;
mod inventory;
mod login;
mod map;
mod observation;
mod requirement;

use crate::access::Permission;
use crate::assess::score::{Derivation, assess};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::report::html::level_badge;
use crate::store::{Store, StoreError};
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, html};
use shoko_proto::Timestamp;

/// The stylesheet of the UI: the report's, then the UI's own.
const UI_CSS: &str = include_str!("static/ui.css");

/// The UI's script.
const UI_JS: &str = include_str!("static/ui.js");

/// Pages behind the login.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::page))
        .route("/inventory", get(inventory::page))
        .route("/inventory.csv", get(inventory::csv))
        .route("/assets/{id}", get(asset::page))
        .route("/assets/{id}/frames.pcap", get(asset::frames))
        .route("/observations/{id}", get(observation::page))
        .route("/observations/{id}/frames.pcap", get(observation::frames))
        .route("/map", get(map::page))
        .route("/map.svg", get(map::svg))
        .route("/changes", get(changes::page))
        .route("/changes/{id}/decision", post(changes::decide))
        .route("/requirements/{id}", get(requirement::page))
        .route("/exports", get(exports::page))
        .route("/exports/report", get(exports::report))
        .route("/exports/evidence.tar.gz", get(exports::evidence))
        .route("/exports/cyclonedx.json", get(exports::cyclonedx))
        .route("/audit", get(audit::page))
        .route("/logout", post(login::logout))
}

/// Pages and files anyone may fetch: the login form and the stylesheet and script.
pub fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::form).post(login::login))
        .route(
            "/static/ui.css",
            get(|| async { asset_file("text/css", &[crate::report::html::STYLE, UI_CSS, map::MAP_CSS]) }),
        )
        .route(
            "/static/ui.js",
            get(|| async { asset_file("text/javascript", &[UI_JS]) }),
        )
}

/// An embedded file, cacheable for an hour.
fn asset_file(content_type: &'static str, parts: &[&str]) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        parts.concat(),
    )
        .into_response()
}

/// A page refusing or failing a request (boxed: responses are large).
type Refused = Box<Response>;

/// The sections of the navigation bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nav {
    Dashboard,
    Inventory,
    Map,
    Changes,
    Exports,
    Audit,
}

/// Headers every page carries: no framing, no sniffing, scripts and styles only from here, no
/// referrer to other sites (`same-origin`: with `no-referrer` browsers send `Origin: null` on
/// the pages' own form posts, which the cross-site check refuses).
fn page_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A download: `bytes` as `content_type`, saved as `filename`.
fn attachment(content_type: &str, filename: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// Markup as an HTML response.
fn html_response(m: Markup) -> Response {
    axum::response::Html(m.into_string()).into_response()
}

/// A whole page: head, navigation with the user and logout, then `body`.
fn layout(title: &str, caller: Option<&Caller>, active: Option<Nav>, body: Markup) -> Markup {
    let item = |nav: Nav, href: &str, label: &str| {
        html! { a href=(href) class=[(active == Some(nav)).then_some("active")] { (label) } }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – shoko" }
                link rel="stylesheet" href="/static/ui.css";
                script src="/static/ui.js" defer {}
            }
            body {
                @if let Some(c) = caller {
                    nav class="top" {
                        a class="brand" href="/" title="証拠: evidence" { "shoko" }
                        (item(Nav::Dashboard, "/", "Dashboard"))
                        (item(Nav::Inventory, "/inventory", "Inventory"))
                        (item(Nav::Map, "/map", "Network map"))
                        (item(Nav::Changes, "/changes", "Changes"))
                        (item(Nav::Exports, "/exports", "Exports"))
                        @if c.may(Permission::Administer) { (item(Nav::Audit, "/audit", "Audit log")) }
                        span class="who" {
                            span id="user" { (c.principal.user) } " (" span id="role" { (c.principal.role.as_str()) } ")"
                            form method="post" action="/logout" class="inline" { button type="submit" { "Log out" } }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A page for `caller`, with the UI's headers.
fn page(title: &str, caller: &Caller, active: Option<Nav>, body: Markup) -> Response {
    page_headers(html_response(layout(title, Some(caller), active, body)))
}

/// An error page with its status.
fn error_page(status: StatusCode, caller: Option<&Caller>, message: &str) -> Response {
    let body = html! { h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) } p class="error" { (message) } };
    let mut r = page_headers(html_response(layout("Error", caller, None, body)));
    *r.status_mut() = status;
    r
}

/// An error page, boxed.
fn refused(status: StatusCode, caller: Option<&Caller>, message: &str) -> Refused {
    Box::new(error_page(status, caller, message))
}

/// The page for a failed store query.
fn failure(caller: &Caller, e: StoreError) -> Response {
    match e {
        StoreError::NotFound(what) => {
            error_page(StatusCode::NOT_FOUND, Some(caller), &format!("{what}: not found"))
        }
        e => {
            tracing::error!(error = %e, "store query for a page failed");
            error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(caller),
                &format!("store unavailable: {e}"),
            )
        }
    }
}

/// Runs `f` over the store off the async threads; a failure as its page.
async fn read<T, F>(s: &AppState, caller: &Caller, f: F) -> Result<T, Refused>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
{
    crate::http::blocking(s, f)
        .await
        .map_err(|e| Box::new(failure(caller, e)))
}

/// `?at=` of the pages that assess: the end of the latest period.
#[derive(Debug, Default, serde::Deserialize)]
struct AsOf {
    /// RFC 3339; now when absent or empty.
    at: Option<String>,
}

impl AsOf {
    /// The time, or the error page for a malformed one.
    fn resolve(&self, caller: &Caller) -> Result<Timestamp, Refused> {
        match self.at.as_deref().filter(|t| !t.is_empty()) {
            None => Ok(Timestamp::now()),
            Some(t) => Timestamp::parse_rfc3339(t).ok_or_else(|| {
                refused(
                    StatusCode::BAD_REQUEST,
                    Some(caller),
                    &format!("at={t}: not an RFC 3339 time"),
                )
            }),
        }
    }

    /// The query string carrying it to the next page ("" for now).
    fn query(&self) -> String {
        match self.at.as_deref().filter(|t| !t.is_empty()) {
            None => String::new(),
            Some(t) => format!("?at={}", encode(t)),
        }
    }
}

/// The assessment of the catalog's periods ending at `at`.
async fn derive(s: &AppState, caller: &Caller, at: Timestamp) -> Result<Derivation, Refused> {
    let basis = s.basis.clone();
    let days = basis.catalog.scoring.period_days;
    read(s, caller, move |st| assess(&basis.inputs(st), at, days)).await
}

/// What a URL query value or path segment keeps unencoded (RFC 3986 unreserved).
const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A text percent-encoded for a URL query or path segment.
fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, COMPONENT).to_string()
}

/// The link to a requirement's page.
fn requirement_href(id: &str, as_of: &AsOf) -> String {
    format!(
        "/requirements/{}{}",
        encode(&id.replacen(' ', "-", 1)),
        as_of.query()
    )
}

/// A requirement id linked to its page, with its level.
fn requirement_link(id: &str, level: crate::assess::score::Level, as_of: &AsOf) -> Markup {
    html! { a class="req" href=(requirement_href(id, as_of)) { (id) } " " (level_badge(level)) }
}

/// A timestamp as its page shows it (RFC 3339 to the second).
fn when(t: Timestamp) -> String {
    let s = t.to_string();
    match s.find('.') {
        Some(dot) => format!("{}Z", &s[..dot]),
        None => s,
    }
}
