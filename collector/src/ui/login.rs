//! Logging in and out: the form, the session cookie it sets, and closing the session.

use super::{html_response, layout, page_headers};
use crate::access::guard::Refusal;
use crate::access::{AccessError, Accounts, SESSION_HOURS};
use crate::http::auth::{Caller, SESSION_COOKIE, cookie, local_target, session_cookie};
use crate::http::{AppState, Peer};
use axum::extract::{Extension, Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

/// Where to go after logging in.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// The login form, as posted.
#[derive(serde::Deserialize)]
pub struct Credentials {
    user: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// The login page, with a message after a failed attempt.
fn login_page(next: &str, message: Option<&str>) -> Response {
    let body = html! {
        section class="login" {
            h1 { "shoko" }
            p class="muted" { "Evidence about your industrial control network. Log in to continue." }
            @if let Some(m) = message { p class="error" id="login-error" { (m) } }
            form method="post" action="/login" {
                input type="hidden" name="next" value=(next);
                label { "User" input type="text" name="user" id="user-name" autocomplete="username" required autofocus; }
                label { "Password" input type="password" name="password" id="password" autocomplete="current-password" required; }
                button type="submit" id="login" { "Log in" }
            }
        }
    };
    page_headers(html_response(layout("Log in", None, None, body)))
}

/// `GET /login`.
pub async fn form(Query(q): Query<Next>) -> Response {
    login_page(local_target(q.next.as_deref()), None)
}

/// `POST /login`: checks the password (through the login guard), sets the session cookie and
/// goes on. Every failure is counted and audited.
pub async fn login(
    State(s): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    Form(c): Form<Credentials>,
) -> Response {
    let next = local_target(c.next.as_deref()).to_owned();
    if !s.origins.allow(&headers) {
        tracing::warn!(peer = %peer.0, "cross-site login refused");
        return (StatusCode::FORBIDDEN, "forbidden: cross-site request\n").into_response();
    }
    let ip = peer.0.ip();
    let mut lease = match s.login.lease(&c.user, ip).await {
        Ok(lease) => lease,
        Err(refusal) => return refuse(&s, &next, &peer, c.user, refusal).await,
    };
    let (store, source, user) = (s.store.clone(), peer.source(), c.user.clone());
    let attempt = tokio::task::spawn_blocking(move || {
        Accounts::new(store.as_ref()).login(&user, &c.password, &source, lease.verifier())
    })
    .await;
    match attempt {
        Ok(Ok((secret, _expires))) => {
            s.login.succeeded(&c.user, ip);
            let cookie = session_cookie(&secret, SESSION_HOURS * 3600, s.secure_cookies);
            ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
        }
        Ok(Err(AccessError::LoginFailed)) => {
            s.login.failed(&c.user, ip);
            s.metrics.login_failed("wrong");
            let mut r = login_page(&next, Some("Wrong user name or password."));
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "login failed");
            let mut r = login_page(&next, Some(&format!("Login is unavailable: {e}")));
            *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            r
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

/// Answers a login the guard did not let through (backing off, or too many at once): counted,
/// audited, and told when to retry.
async fn refuse(s: &AppState, next: &str, peer: &Peer, user: String, refusal: Refusal) -> Response {
    let (status, reason, retry, message) = match refusal {
        Refusal::BackingOff(wait) => {
            let secs = wait.as_millis().div_ceil(1000) as u64;
            let message = format!("Too many failed attempts: try again in {secs} s.");
            (StatusCode::TOO_MANY_REQUESTS, "backoff", secs, message)
        }
        Refusal::Busy => {
            let message = "Too many logins at once: try again in a moment.".to_owned();
            (StatusCode::SERVICE_UNAVAILABLE, "busy", 1, message)
        }
    };
    s.metrics.login_failed(reason);
    let (store, source) = (s.store.clone(), peer.source());
    let audited = tokio::task::spawn_blocking(move || {
        Accounts::new(store.as_ref()).login_failed(&user, reason, &source)
    })
    .await;
    if !matches!(audited, Ok(Ok(()))) {
        tracing::error!("could not audit a refused login");
    }
    let mut r = login_page(next, Some(&message));
    *r.status_mut() = status;
    r.headers_mut().insert(header::RETRY_AFTER, retry.into());
    r
}

/// `POST /logout`: revokes the session and clears the cookie.
pub async fn logout(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    if cookie(&headers, SESSION_COOKIE).is_some() {
        let store = s.store.clone();
        let id = caller.principal.credential_id;
        let revoked = tokio::task::spawn_blocking(move || {
            Accounts::new(store.as_ref()).revoke(id, &caller.principal.actor(), &caller.source)
        })
        .await;
        if !matches!(revoked, Ok(Ok(()))) {
            tracing::error!(credential = id, "could not close a session at logout");
        }
    }
    (
        [(header::SET_COOKIE, session_cookie("", 0, s.secure_cookies))],
        Redirect::to("/login"),
    )
        .into_response()
}
