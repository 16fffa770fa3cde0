//! The HTTP API (JSON), documented in `collector/api/openapi.json`: assets (filtered), one asset
//! with its attributes, claims, conflicts, flows, changes and evidence, changes (filtered) and
//! decisions on them, baselines and the drift from the latest, agents and status, the assets
//! imported advisories affect, the maturity assessment, one requirement's explanation and the
//! saved assessments. Every route needs a token ([`crate::http::auth`]).

use crate::access::{Accounts, Permission};
use crate::advisory::Vulnerabilities;
use crate::assess::catalog::{Catalog, MIN_PERIOD_DAYS};
use crate::assess::explain::explain;
use crate::assess::score::assess;
use crate::filter::{AssetFilter, ChangeFilter, EventFilter};
use crate::http::AppState;
use crate::http::auth::{Caller, refuse};
use crate::store::{AssetDetail, Decision, DecisionKind, SavedAssessment, Store, StoreError};
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use shoko_proto::Timestamp;

/// The API routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/assets", get(assets))
        .route("/api/v1/assets/{id}", get(asset))
        .route("/api/v1/baselines", get(baselines))
        .route("/api/v1/baselines/drift", get(drift))
        .route("/api/v1/agents", get(agents))
        .route("/api/v1/changes", get(changes))
        .route("/api/v1/events", get(events))
        .route("/api/v1/changes/{id}/decision", post(decide))
        .route("/api/v1/status", get(status))
        .route("/api/v1/vulnerabilities", get(vulnerabilities))
        .route("/api/v1/assessment", get(assessment))
        .route("/api/v1/assessments", get(saved_assessments))
        .route("/api/v1/requirements/{id}/explanation", get(explanation))
}

/// Runs a store query off the async threads and answers it as JSON.
async fn query<T, F>(s: AppState, f: F) -> Response
where
    T: serde::Serialize + Send + 'static,
    F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
{
    match crate::http::blocking(&s, f).await {
        Ok(v) => Json(v).into_response(),
        Err(StoreError::NotFound(what)) => {
            (StatusCode::NOT_FOUND, format!("{what}: not found\n")).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "store query failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("store unavailable: {e}\n"),
            )
                .into_response()
        }
    }
}

async fn assets(State(s): State<AppState>, Query(filter): Query<AssetFilter>) -> Response {
    query(s, move |st| {
        Ok(st
            .assets()?
            .into_iter()
            .filter(|a| filter.matches(a))
            .collect::<Vec<_>>())
    })
    .await
}

async fn asset(State(s): State<AppState>, Path(id): Path<i64>) -> Response {
    query(s, move |st| AssetDetail::read(st, id)).await
}

async fn changes(State(s): State<AppState>, Query(filter): Query<ChangeFilter>) -> Response {
    query(s, move |st| {
        Ok(st
            .changes()?
            .into_iter()
            .filter(|c| filter.matches(c))
            .collect::<Vec<_>>())
    })
    .await
}

async fn events(State(s): State<AppState>, Query(filter): Query<EventFilter>) -> Response {
    query(s, move |st| crate::events::list(st, &filter)).await
}

/// A decision on a change, as posted.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    /// `acknowledged` or `rejected`.
    decision: String,
    /// Change reference (ticket, work order).
    #[serde(default)]
    reference: String,
    /// Free text.
    #[serde(default)]
    comment: String,
}

async fn decide(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
    Json(body): Json<DecisionBody>,
) -> Response {
    if let Some(refusal) = refuse(&caller, Permission::Decide) {
        return refusal;
    }
    let Some(kind) = DecisionKind::parse(&body.decision) else {
        let m = format!(
            "decision {:?}: expected acknowledged or rejected\n",
            body.decision
        );
        return (StatusCode::BAD_REQUEST, m).into_response();
    };
    let decision = Decision {
        kind,
        reference: body.reference,
        by: caller.principal.actor(),
        at: Timestamp::now(),
        comment: body.comment,
    };
    query(s, move |st| {
        Accounts::new(st).decide(id, &decision, &caller.source)
    })
    .await
}

async fn baselines(State(s): State<AppState>) -> Response {
    query(s, |st| st.baselines()).await
}

/// Options of the drift report.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DriftQuery {
    /// An asset not seen for this many days is missing (default 7).
    #[serde(default = "default_missing_days")]
    missing_after_days: u64,
}

fn default_missing_days() -> u64 {
    7
}

async fn drift(State(s): State<AppState>, Query(q): Query<DriftQuery>) -> Response {
    let window = std::time::Duration::from_secs(q.missing_after_days.saturating_mul(86_400));
    query(s, move |st| {
        crate::baseline::latest_drift(st, shoko_proto::Timestamp::now(), window)
    })
    .await
}

async fn agents(State(s): State<AppState>) -> Response {
    query(s, |st| st.agents()).await
}

async fn status(State(s): State<AppState>) -> Response {
    query(s, |st| st.counts()).await
}

async fn vulnerabilities(State(s): State<AppState>) -> Response {
    query(s, |st| Vulnerabilities::read(st, &st.assets()?)).await
}

/// Which periods to assess.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodQuery {
    /// Days per period (default: the catalog's).
    period_days: Option<u32>,
    /// End of the latest period (RFC 3339; default now).
    at: Option<String>,
}

impl PeriodQuery {
    /// The end and days per period, or why they are wrong.
    fn resolve(&self, catalog: &Catalog) -> Result<(Timestamp, u32), (StatusCode, String)> {
        let bad = |m: String| (StatusCode::BAD_REQUEST, m);
        let at = match &self.at {
            Some(t) => {
                Timestamp::parse_rfc3339(t).ok_or_else(|| bad(format!("at={t}: not an RFC 3339 time\n")))?
            }
            None => Timestamp::now(),
        };
        let days = self.period_days.unwrap_or(catalog.scoring.period_days);
        if days < MIN_PERIOD_DAYS {
            return Err(bad(format!(
                "period_days must be at least {MIN_PERIOD_DAYS}: four shorter periods would not show practice sustained over a month\n"
            )));
        }
        Ok((at, days))
    }
}

async fn assessment(State(s): State<AppState>, Query(q): Query<PeriodQuery>) -> Response {
    let (at, days) = match q.resolve(&s.basis.catalog) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let basis = s.basis.clone();
    query(s, move |st| Ok(assess(&basis.inputs(st), at, days)?.assessment)).await
}

async fn explanation(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let (at, days) = match q.resolve(&s.basis.catalog) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let basis = s.basis.clone();
    query(s, move |st| {
        let requirement = basis
            .catalog
            .requirement(&id)
            .ok_or_else(|| StoreError::NotFound(format!("requirement {id}")))?
            .id
            .clone();
        let derivation = assess(&basis.inputs(st), at, days)?;
        explain(&derivation, &requirement).ok_or_else(|| StoreError::NotFound(format!("requirement {id}")))
    })
    .await
}

/// How many saved assessments to list.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedQuery {
    /// At most this many, newest first (default 10).
    #[serde(default = "default_saved_limit")]
    limit: u32,
}

fn default_saved_limit() -> u32 {
    10
}

/// A saved assessment as listed: its record and the assessment it saved.
#[derive(serde::Serialize)]
struct SavedView {
    #[serde(flatten)]
    saved: SavedAssessment,
    assessment: serde_json::Value,
}

async fn saved_assessments(State(s): State<AppState>, Query(q): Query<SavedQuery>) -> Response {
    query(s, move |st| {
        st.assessments(q.limit.min(100))?
            .into_iter()
            .map(|saved| {
                let assessment = serde_json::from_str(&saved.body)
                    .map_err(|e| StoreError::Encoding(format!("assessment {}: {e}", saved.id)))?;
                Ok(SavedView { saved, assessment })
            })
            .collect::<Result<Vec<_>, StoreError>>()
    })
    .await
}
