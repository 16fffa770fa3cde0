//! Exports from the browser, for every role: the auditor's report (printable HTML, JSON, CSV
//! tables), the signed evidence bundle and the CycloneDX inventory, for all requirements or some,
//! over the periods ending now or at `at`. Every download is in the audit log.

use super::{Nav, Refused, attachment, error_page, read, refused};
use crate::access::{Accounts, Permission};
use crate::evidence::bundle;
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::report::{Built, Report, csv, html};
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use clap::ValueEnum;
use maud::html;
use shoko_proto::Timestamp;
use std::path::Path;

/// What to export.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ExportQuery {
    /// End of the latest period (RFC 3339; now when empty).
    #[serde(default)]
    at: String,
    /// Requirement ids, comma-separated (all when empty).
    #[serde(default)]
    requirements: String,
    /// `html` (default), `json` or `csv`.
    #[serde(default)]
    format: String,
    /// The CSV table: scores, inventory, changes or vulnerabilities.
    #[serde(default)]
    table: String,
}

impl ExportQuery {
    /// The requirements named, in the catalog's spelling.
    fn requirements(&self, s: &AppState, caller: &Caller) -> Result<Vec<String>, Refused> {
        self.requirements
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| {
                s.basis
                    .catalog
                    .requirement(r)
                    .map(|q| q.id.clone())
                    .ok_or_else(|| {
                        refused(
                            StatusCode::BAD_REQUEST,
                            Some(caller),
                            &format!("requirement {r}: not in the catalog"),
                        )
                    })
            })
            .collect()
    }

    /// The end of the latest period.
    fn at(&self, caller: &Caller) -> Result<Timestamp, Refused> {
        super::AsOf {
            at: Some(self.at.clone()),
        }
        .resolve(caller)
    }
}

/// `GET /exports`: what can be downloaded.
pub async fn page(State(_): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
    let body = html! {
        h1 { "Exports" }
        p class="meta" { "Every download is recorded in the audit log. Leave the time empty for the periods ending now; requirements are comma-separated ids (NET-1.1, CM 1.4), empty for all." }
        section class="card" {
            h2 { "Auditor's report" }
            form method="get" action="/exports/report" class="filters" {
                label { "Format " select name="format" { option value="html" { "HTML (printable)" } option value="json" { "JSON" } option value="csv" { "CSV table" } } }
                label { "CSV table " select name="table" { option value="scores" { "scores" } option value="inventory" { "inventory" } option value="changes" { "changes" } option value="vulnerabilities" { "vulnerabilities" } } }
                label { "Requirements " input type="text" name="requirements" placeholder="all"; }
                label { "Periods ending " input type="text" name="at" placeholder="now (or 2026-11-30T00:00:00Z)"; }
                button type="submit" id="export-report" { "Download report" }
            }
        }
        section class="card" {
            h2 { "Signed evidence bundle" }
            p class="muted" { "The report, scores, every period's findings, the observations, changes and attestations behind them, their frames as pcap, and a manifest of SHA-256 digests signed with the collector's Ed25519 key. Check it offline with " code { "shoko-collector verify-bundle bundle.tar.gz --key evidence.pub" } "." }
            form method="get" action="/exports/evidence.tar.gz" class="filters" {
                label { "Requirements " input type="text" name="requirements" placeholder="all"; }
                label { "Periods ending " input type="text" name="at" placeholder="now"; }
                button type="submit" id="export-bundle" { "Download bundle" }
            }
        }
        section class="card" {
            h2 { "Inventory as CycloneDX 1.5" }
            p { a class="button" id="export-cyclonedx" href="/exports/cyclonedx.json" { "Download BOM (JSON)" } }
        }
    };
    super::page("Exports", &caller, Some(Nav::Exports), body)
}

/// Refuses a caller without the export permission.
fn may_export(caller: &Caller) -> Result<(), Refused> {
    match caller.may(Permission::Export) {
        true => Ok(()),
        false => Err(refused(
            StatusCode::FORBIDDEN,
            Some(caller),
            "Forbidden: your role may not export.",
        )),
    }
}

/// Builds the report of the query, recording the export as `what` in the audit log.
async fn built(s: &AppState, caller: &Caller, q: &ExportQuery, what: &str) -> Result<Built, Refused> {
    may_export(caller)?;
    let (at, requirements) = (q.at(caller)?, q.requirements(s, caller)?);
    let basis = s.basis.clone();
    let days = basis.catalog.scoring.period_days;
    let (actor, source, what) = (caller.principal.actor(), caller.source.clone(), what.to_owned());
    read(s, caller, move |st| {
        let built = Report::build(&basis.inputs(st), at, days, &requirements)?;
        let detail = format!("requirements={:?} at={at}", built.report.scope.requirements);
        Accounts::new(st).audit(&actor, "export", &what, &detail, &source)?;
        Ok(built)
    })
    .await
}

/// `GET /exports/report?format=&table=&requirements=&at=`.
pub async fn report(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<ExportQuery>,
) -> Response {
    let format = if q.format.is_empty() {
        "html"
    } else {
        q.format.as_str()
    };
    let table = match (
        format,
        csv::Table::from_str(if q.table.is_empty() { "scores" } else { &q.table }, true),
    ) {
        ("html" | "json", _) => None,
        ("csv", Ok(t)) => Some(t),
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                Some(&caller),
                "format is html, json or csv (with table scores, inventory, changes or vulnerabilities)",
            );
        }
    };
    let built = match built(&s, &caller, &q, &format!("report:{format}")).await {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let r = &built.report;
    match (format, table) {
        ("json", _) => match serde_json::to_vec_pretty(r) {
            Ok(bytes) => attachment("application/json", "shoko-report.json", bytes),
            Err(e) => error_page(StatusCode::INTERNAL_SERVER_ERROR, Some(&caller), &e.to_string()),
        },
        (_, Some(t)) => match csv::write(r, t) {
            Ok(bytes) => attachment(
                "text/csv; charset=utf-8",
                &format!("shoko-{}.csv", q.table.to_lowercase()),
                bytes,
            ),
            Err(e) => error_page(StatusCode::INTERNAL_SERVER_ERROR, Some(&caller), &e.to_string()),
        },
        _ => attachment(
            "text/html; charset=utf-8",
            "shoko-report.html",
            html::render(r).into_bytes(),
        ),
    }
}

/// `GET /exports/evidence.tar.gz?requirements=&at=`: a signed bundle, built in memory.
pub async fn evidence(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<ExportQuery>,
) -> Response {
    let Some(key) = s.signing.clone() else {
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(&caller),
            "The collector has no evidence signing key (see its log).",
        );
    };
    let built = match built(&s, &caller, &q, "evidence-bundle").await {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let store = s.store.clone();
    let made = tokio::task::spawn_blocking(move || {
        let files = bundle::contents(store.as_ref(), &built)?;
        bundle::write_archive(
            Vec::new(),
            Path::new("evidence.tar.gz"),
            store.as_ref(),
            &built,
            &files,
            &key,
        )
    })
    .await;
    match made {
        Ok(Ok((_, bytes))) => attachment("application/gzip", "shoko-evidence.tar.gz", bytes),
        Ok(Err(e)) => error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(&caller),
            &format!("bundle failed: {e}"),
        ),
        Err(e) => error_page(StatusCode::INTERNAL_SERVER_ERROR, Some(&caller), &e.to_string()),
    }
}

/// `GET /exports/cyclonedx.json`.
pub async fn cyclonedx(State(s): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
    if let Err(r) = may_export(&caller) {
        return *r;
    }
    let (actor, source) = (caller.principal.actor(), caller.source.clone());
    let bom = read(&s, &caller, move |st| {
        let bom = crate::export::cyclonedx::of_store(st)?;
        Accounts::new(st).audit(&actor, "export", "cyclonedx", "", &source)?;
        Ok(bom)
    })
    .await;
    match bom.map(|b| serde_json::to_vec_pretty(&b)) {
        Ok(Ok(bytes)) => attachment(
            "application/vnd.cyclonedx+json",
            "shoko-inventory.cdx.json",
            bytes,
        ),
        Ok(Err(e)) => error_page(StatusCode::INTERNAL_SERVER_ERROR, Some(&caller), &e.to_string()),
        Err(r) => *r,
    }
}
