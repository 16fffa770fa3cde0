//! The changes queue: change records (open first, or all), each with its evidence before and
//! after, and for operators and admins a form to acknowledge or reject it under a change
//! reference. Decisions go through the audit log.

use super::{Nav, error_page, read, when};
use crate::access::{Accounts, Permission};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::store::{ChangeView, Decision, DecisionKind};
use axum::extract::{Extension, Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use shoko_proto::Timestamp;

/// Which changes to list.
#[derive(Debug, Default, serde::Deserialize)]
pub struct QueueQuery {
    /// `open` (default), `acknowledged`, `rejected` or `all`.
    #[serde(default)]
    status: String,
    /// Only changes of this kind (`firmware_change` ...); all when empty.
    #[serde(default)]
    kind: String,
}

/// A decision as posted by the form.
#[derive(Debug, serde::Deserialize)]
pub struct DecisionForm {
    /// `acknowledged` or `rejected`.
    decision: String,
    /// Change reference.
    #[serde(default)]
    reference: String,
    /// Free text.
    #[serde(default)]
    comment: String,
}

/// `GET /changes`.
pub async fn page(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<QueueQuery>,
) -> Response {
    let status = if q.status.is_empty() {
        "open"
    } else {
        q.status.as_str()
    };
    let mut all = match read(&s, &caller, |st| st.changes()).await {
        Ok(c) => c,
        Err(r) => return *r,
    };
    all.sort_by_key(|c| std::cmp::Reverse(c.observed_at));
    let mut kinds: Vec<String> = all.iter().map(|c| c.kind.clone()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    all.retain(|c| q.kind.is_empty() || c.kind == q.kind);
    let shown: Vec<&ChangeView> = all
        .iter()
        .filter(|c| status == "all" || c.status == status)
        .collect();
    let kind_query = super::encode(&q.kind);
    let may_decide = caller.may(Permission::Decide);
    let tab = |name: &str, label: &str| {
        html! { a href={ "/changes?status=" (name) "&kind=" (kind_query) } class=[(status == name).then_some("active")] { (label) " (" (all.iter().filter(|c| name == "all" || c.status == name).count()) ")" } }
    };
    let body = html! {
        h1 { "Changes" }
        nav class="tabs" { (tab("open", "Open")) (tab("acknowledged", "Acknowledged")) (tab("rejected", "Rejected")) (tab("all", "All")) }
        form method="get" action="/changes" class="filters" {
            input type="hidden" name="status" value=(status);
            label { "Kind "
                select name="kind" id="kind" {
                    option value="" { "any" }
                    @for k in &kinds { option value=(k) selected[*k == q.kind] { (k) } }
                }
            }
            button type="submit" { "Filter" }
        }
        @if !may_decide {
            p class="notice" id="read-only" { "Your role (" (caller.principal.role.as_str()) ") reads and exports; acknowledging or rejecting changes needs an operator or admin." }
        }
        @if shown.is_empty() { p class="muted" { "No change here." } }
        table id="changes" {
            thead { tr { th { "Id" } th { "Asset" } th { "Kind" } th { "Subject" } th { "Before" } th { "After" } th { "Observed" } th { "Status" } th { "Decision" } } }
            tbody { @for c in &shown { (row(c, may_decide)) } }
        }
    };
    super::page("Changes", &caller, Some(Nav::Changes), body)
}

/// One change with its evidence and, while open, the decision form.
fn row(c: &ChangeView, may_decide: bool) -> Markup {
    html! {
        tr id={ "change-" (c.id) } {
            td class="num" { (c.id) }
            td class="nowrap" { a href={ "/assets/" (c.asset_id) } { "asset " (c.asset_id) } }
            td { (c.kind) } td { (c.subject) }
            td { (c.old_value.as_deref().unwrap_or("")) @if let Some(p) = c.previous_observation_id { " " a class="muted" href={ "/observations/" (p) } { "(evidence)" } } }
            td { (c.new_value.as_deref().unwrap_or("")) " " a class="muted" href={ "/observations/" (c.observation_id) } { "(evidence)" } }
            td class="nowrap" { (when(c.observed_at)) }
            td { span class={ "status-" (c.status) } { (c.status) }
                @if let Some(by) = &c.decided_by { br; span class="muted" { "by " (by) @if let Some(at) = c.decided_at { " " (when(at)) } } }
                @if let Some(r) = c.reference.as_deref().filter(|r| !r.is_empty()) { br; span class="muted" { "ref " (r) } }
            }
            td {
                @if c.status == "open" {
                    form method="post" action={ "/changes/" (c.id) "/decision" } class="decide" {
                        input type="text" name="reference" placeholder="change reference" disabled[!may_decide];
                        input type="text" name="comment" placeholder="comment" disabled[!may_decide];
                        button type="submit" name="decision" value="acknowledged" class="ack" disabled[!may_decide] { "Acknowledge" }
                        button type="submit" name="decision" value="rejected" class="reject" disabled[!may_decide] { "Reject" }
                    }
                }
            }
        }
    }
}

/// `POST /changes/{id}/decision`: operators and admins only.
pub async fn decide(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
    Form(f): Form<DecisionForm>,
) -> Response {
    if !caller.may(Permission::Decide) {
        tracing::warn!(user = %caller.principal.user, change = id, "decision refused: role may not decide");
        let m = format!(
            "Forbidden: the {} role may not acknowledge or reject changes.",
            caller.principal.role.as_str()
        );
        return error_page(StatusCode::FORBIDDEN, Some(&caller), &m);
    }
    let Some(kind) = DecisionKind::parse(&f.decision) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            Some(&caller),
            "decision must be acknowledged or rejected",
        );
    };
    let decision = Decision {
        kind,
        reference: f.reference,
        by: caller.principal.actor(),
        at: Timestamp::now(),
        comment: f.comment,
    };
    let source = caller.source.clone();
    match read(&s, &caller, move |st| {
        Accounts::new(st).decide(id, &decision, &source)
    })
    .await
    {
        Ok(_) => Redirect::to(&format!("/changes?status=all#change-{id}")).into_response(),
        Err(r) => *r,
    }
}
