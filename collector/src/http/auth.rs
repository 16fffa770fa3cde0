//! Who a request is. API clients send a token (`Authorization: Bearer shoko_...`), browsers the
//! session cookie set at login (HttpOnly, SameSite=Strict, Secure over HTTPS). Without a usable
//! one, the API answers 401 and pages redirect to the login form. Writes with a cookie must come
//! from the collector's own pages (Origin checked), so another site cannot make them.

use super::{AppState, Peer};
use crate::access::{Accounts, Permission, Principal};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "shoko_session";

/// Which face of the server a request is for: how a refusal looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// JSON API: 401 with `WWW-Authenticate`.
    Api,
    /// Web page: redirect to the login form.
    Page,
}

/// An authenticated request's caller (in the request's extensions).
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who.
    pub principal: Principal,
    /// Where from, for the audit log.
    pub source: String,
}

impl Caller {
    /// True when the caller's role allows `p`.
    pub fn may(&self, p: Permission) -> bool {
        self.principal.role.may(p)
    }
}

/// The bearer token of a request, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The value of cookie `name`, if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(k, v)| (k == name).then_some(v))
}

/// Where browsers may send writes from: the web UI's public origin (`https://host:port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origins {
    /// The one origin allowed; none to compare with the `Host` asked for (a wildcard listener
    /// without a configured public address).
    public: Option<String>,
    /// `https` or `http`.
    scheme: &'static str,
}

impl Origins {
    /// From the configured public URL, or the listener's address and scheme.
    pub fn new(public_url: Option<&str>, listener: std::net::SocketAddr, tls: bool) -> Self {
        let scheme = if tls { "https" } else { "http" };
        let public = match public_url {
            Some(url) => Some(
                origin_of(url)
                    .unwrap_or(url)
                    .trim_end_matches('/')
                    .to_ascii_lowercase(),
            ),
            None if listener.ip().is_unspecified() => None,
            None => Some(format!("{scheme}://{listener}")),
        };
        Origins { public, scheme }
    }

    /// True when a browser's write comes from a page of this server: its `Origin` (or, without
    /// one, its `Referer`'s origin) is the public origin, scheme included. A write naming neither
    /// is refused.
    pub fn allow(&self, headers: &HeaderMap) -> bool {
        let text = |h| headers.get(h).and_then(|v: &HeaderValue| v.to_str().ok());
        let Some(origin) = text(header::ORIGIN).or_else(|| text(header::REFERER).and_then(origin_of)) else {
            return false;
        };
        match (&self.public, text(header::HOST)) {
            (Some(public), _) => origin.eq_ignore_ascii_case(public),
            (None, Some(host)) => origin.eq_ignore_ascii_case(&format!("{}://{host}", self.scheme)),
            (None, None) => false,
        }
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let end = url.len() - rest.len() + rest.find('/').unwrap_or(rest.len());
    Some(&url[..end])
}

/// The `Set-Cookie` value opening a session, or (with an empty secret) closing it.
pub fn session_cookie(secret: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let value = format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Refuses a caller without `p`: 403 naming the role, none when allowed.
pub fn refuse(caller: &Caller, p: Permission) -> Option<Response> {
    (!caller.may(p)).then(|| {
        (
            StatusCode::FORBIDDEN,
            format!(
                "forbidden: the {} role may not do this ({p:?})\n",
                caller.principal.role.as_str()
            ),
        )
            .into_response()
    })
}

/// Middleware: authenticates the request and puts its [`Caller`] into its extensions.
pub async fn authenticate(
    State((state, face)): State<(AppState, Face)>,
    peer: Peer,
    mut req: Request,
    next: Next,
) -> Response {
    let headers = req.headers();
    let (secret, by_cookie) = match bearer(headers) {
        Some(token) => (Some(token.to_owned()), false),
        None => (cookie(headers, SESSION_COOKIE).map(str::to_owned), true),
    };
    let write = !matches!(*req.method(), Method::GET | Method::HEAD);
    if write && by_cookie && !state.origins.allow(headers) {
        tracing::warn!(peer = %peer.0, path = %req.uri().path(), "cross-site write refused");
        return (StatusCode::FORBIDDEN, "forbidden: cross-site request\n").into_response();
    }
    let store = state.store.clone();
    let principal = match secret {
        Some(secret) => {
            tokio::task::spawn_blocking(move || Accounts::new(store.as_ref()).authenticate(&secret))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
        }
        None => Ok(None),
    };
    let principal = match principal {
        Ok(Some(p)) => p,
        Ok(None) => return unauthenticated(face, &req),
        Err(e) => {
            tracing::error!(error = %e, "authentication failed: store unavailable");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("store unavailable: {e}\n"),
            )
                .into_response();
        }
    };
    req.extensions_mut().insert(Caller {
        principal,
        source: peer.source(),
    });
    next.run(req).await
}

/// The answer to a request without a usable credential.
fn unauthenticated(face: Face, req: &Request) -> Response {
    match face {
        Face::Api => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"shoko\"")],
            "unauthorized: send Authorization: Bearer TOKEN (shoko-collector tokens create)\n",
        )
            .into_response(),
        Face::Page => {
            let here = req.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
            let next = percent_encoding::utf8_percent_encode(&here, percent_encoding::NON_ALPHANUMERIC);
            Redirect::to(&format!("/login?next={next}")).into_response()
        }
    }
}

/// A `next` target that stays on this server: a path of printable ASCII, not `//host`, a URL or
/// anything with a backslash, a space or a control character (browsers drop tabs and line feeds
/// from URLs, so `/\t/host` would become `//host`); anything else is `/`.
pub fn local_target(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            n
        }
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_targets_are_read_strictly() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; shoko_session=shoko_ab; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("shoko_ab"));
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer shoko_cd"));
        assert_eq!(bearer(&h), Some("shoko_cd"));
        // Writes: only from the public origin, scheme included; neither Origin nor Referer is
        // refused; the Host header is only a fallback for a wildcard listener.
        let listener: std::net::SocketAddr = "127.0.0.1:7780".parse().unwrap();
        let origins = Origins::new(None, listener, true);
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:7780"));
        assert!(!origins.allow(&h), "no Origin, no Referer");
        h.insert(
            header::REFERER,
            HeaderValue::from_static("https://127.0.0.1:7780/changes?x=1"),
        );
        assert!(origins.allow(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://127.0.0.1:7780"));
        assert!(origins.allow(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:7780"));
        assert!(!origins.allow(&h), "another scheme");
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        h.insert(header::HOST, HeaderValue::from_static("evil.example"));
        assert!(!origins.allow(&h), "a rebound name");
        let public = Origins::new(Some("https://Collector.plant.example:7780/"), listener, true);
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://collector.plant.example:7780"),
        );
        assert!(public.allow(&h));
        let wildcard = Origins::new(None, "0.0.0.0:7780".parse().unwrap(), false);
        h.insert(header::HOST, HeaderValue::from_static("collector:7780"));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://collector:7780"));
        assert!(wildcard.allow(&h));
        assert_eq!(local_target(Some("/assets/3?x=1")), "/assets/3?x=1");
        assert_eq!(local_target(Some("//evil.example/")), "/");
        assert_eq!(local_target(Some("https://evil.example/")), "/");
        assert_eq!(local_target(Some("/\\evil.example")), "/");
        assert_eq!(local_target(Some("/\t/evil.example")), "/");
        assert_eq!(local_target(Some("/\n/evil.example")), "/");
        assert_eq!(local_target(Some("/ok path")), "/");
        assert_eq!(local_target(None), "/");
    }
}
