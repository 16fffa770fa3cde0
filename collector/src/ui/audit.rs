//! The audit log and the accounts (admins only): every login, decision and account change with
//! who, when, from where and on what; users with their roles and state.

use super::{Nav, error_page, read, when};
use crate::access::Permission;
use crate::access::records::{AuditEntry, UserRecord};
use crate::http::AppState;
use crate::http::auth::Caller;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

/// Audit entries shown (the newest).
const SHOWN: u32 = 500;

/// `GET /audit`.
pub async fn page(State(s): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
    if !caller.may(Permission::Administer) {
        let m = format!(
            "Forbidden: the audit log is for admins; you are {}.",
            caller.principal.role.as_str()
        );
        return error_page(StatusCode::FORBIDDEN, Some(&caller), &m);
    }
    let (entries, users): (Vec<AuditEntry>, Vec<UserRecord>) =
        match read(&s, &caller, |st| Ok((st.audit_log(SHOWN)?, st.users()?))).await {
            Ok(v) => v,
            Err(r) => return *r,
        };
    let body = html! {
        h1 { "Audit log" }
        p class="meta" { "The newest " (entries.len()) " entries. All are listed by " code { "shoko-collector audit-log" } "." }
        table id="audit" {
            thead { tr { th class="num" { "Id" } th { "When" } th { "Who" } th { "Action" } th { "On" } th { "Detail" } th { "From" } } }
            tbody { @for e in &entries { tr {
                td class="num" { (e.id) } td { (when(e.at)) } td class="mono" { (e.actor) } td { (e.action) }
                td class="mono" { (e.target) } td { (e.detail) } td class="mono" { (e.source) }
            } } }
        }
        h2 { "Users" }
        table id="users" {
            thead { tr { th { "User" } th { "Role" } th { "Created" } th { "State" } } }
            tbody { @for u in &users { tr {
                td { (u.name) } td { (u.role) } td { (when(u.created_at)) }
                td { @if let Some(at) = u.disabled_at { span class="state-bad" { "disabled " (when(at)) } } @else { span class="state-ok" { "active" } } }
            } } }
        }
        p class="muted" { "Users and tokens are managed with " code { "shoko-collector users" } " and " code { "shoko-collector tokens" } "." }
    };
    super::page("Audit log", &caller, Some(Nav::Audit), body)
}
