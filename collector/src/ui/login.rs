//! Logging in and out: the form, the session cookie it sets, and closing the session.

use super::{html_response, layout, page_headers};
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

/// `POST /login`: checks the password, sets the session cookie and goes on.
pub async fn login(State(s): State<AppState>, peer: Peer, Form(c): Form<Credentials>) -> Response {
    let next = local_target(c.next.as_deref()).to_owned();
    let store = s.store.clone();
    let (user, password) = (c.user, c.password);
    let attempt = tokio::task::spawn_blocking(move || {
        Accounts::new(store.as_ref()).login(&user, &password, &peer.source())
    })
    .await;
    match attempt {
        Ok(Ok((secret, _expires))) => {
            let cookie = session_cookie(&secret, SESSION_HOURS * 3600, s.secure_cookies);
            ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
        }
        Ok(Err(AccessError::LoginFailed)) => {
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
