//! [`BasicAuth`]: HTTP Basic authentication of the registry, Spring Security style.
//!
//! With at least one user configured, every request to the REST API (registration,
//! heartbeats, fetches, `/status`, the peer-replication batch; anything under the
//! service's prefix) needs an `Authorization: Basic` header naming one of the users;
//! without it, or with wrong credentials, the answer is 401 with
//! `WWW-Authenticate: Basic realm="…"` and nothing changes. Credentials are compared in
//! constant time (`subtle`), against every user, so an unknown user and a wrong password
//! take the same path. Spring clients send the header when their `defaultZone` carries
//! user info (`http://user:pass@host:8761/eureka/`); so do this crate's client and peers.
//!
//! The operator routes — the orchestrator probes `/health` and `/ready`, the Prometheus
//! scrape `/metrics`, and everything at the service root outside a non-empty prefix (the
//! dashboard) — are open by default so that a probe needs no secret;
//! [`OperatorRoutes::Protected`] puts them behind the same users.
//! The REST API has no such switch: it is always protected when users exist.
//!
//! [`BasicAuthLayer`] is the same check as tower middleware, for anything else a user
//! serves beside the registry (it protects every request it sees).
//!
//! ```
//! use tower::ServiceExt;
//! use tower_eureka::server::{BasicAuth, EurekaService, ServerConfig};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let config = ServerConfig {
//!     auth: BasicAuth::new().user("eureka", "s3cret"),
//!     ..Default::default()
//! };
//! let svc = EurekaService::new(config);
//! let req = |auth: Option<&str>| {
//!     let mut b = http::Request::get("/apps");
//!     if let Some(a) = auth {
//!         b = b.header("authorization", a);
//!     }
//!     b.body(http_body_util::Empty::<bytes::Bytes>::new()).unwrap()
//! };
//! let res = svc.clone().oneshot(req(None)).await.unwrap();
//! assert_eq!(res.status(), 401);
//! assert_eq!(res.headers()["www-authenticate"], r#"Basic realm="Realm""#);
//! // "eureka:s3cret", base64-encoded
//! let res = svc.oneshot(req(Some("Basic ZXVyZWthOnMzY3JldA=="))).await.unwrap();
//! assert_eq!(res.status(), 200);
//! # }
//! ```

mod layer;

pub use self::layer::{AuthFuture, BasicAuthLayer, RequireBasicAuth};

use base64::Engine as _;
use http::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use std::fmt;
use subtle::{Choice, ConstantTimeEq};

/// Longest decoded `user:password` accepted, in bytes; longer credentials are refused
/// without allocating.
const MAX_CREDENTIALS: usize = 512;

/// Spring Security's default realm (`BasicAuthenticationEntryPoint`).
const DEFAULT_REALM: &str = "Realm";

/// Whether the operator routes (`/health`, `/ready`, `/metrics`, the dashboard at the
/// service root) need credentials when users are configured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OperatorRoutes {
    /// Open to anyone, so that orchestrator probes need no secret (default).
    #[default]
    Open,
    /// Behind the same users as the REST API.
    Protected,
}

/// The users allowed to call the registry and how a refusal is answered.
///
/// No users (the default) means no authentication. Passwords never appear in `Debug`.
#[derive(Clone)]
pub struct BasicAuth {
    users: Vec<User>,
    challenge: HeaderValue,
    operator_routes: OperatorRoutes,
}

#[derive(Clone)]
struct User {
    name: Box<[u8]>,
    password: Box<[u8]>,
}

// === impl BasicAuth ===

impl Default for BasicAuth {
    fn default() -> Self {
        BasicAuth::new()
    }
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self
            .users
            .iter()
            .map(|u| String::from_utf8_lossy(&u.name).into_owned())
            .collect();
        f.debug_struct("BasicAuth")
            .field("users", &names)
            .field("passwords", &"<redacted>")
            .field("challenge", &self.challenge)
            .field("operator_routes", &self.operator_routes)
            .finish()
    }
}

impl BasicAuth {
    /// No users: authentication off.
    pub fn new() -> Self {
        BasicAuth {
            users: Vec::new(),
            challenge: challenge(DEFAULT_REALM),
            operator_routes: OperatorRoutes::Open,
        }
    }

    /// Adds a user (Spring's `spring.security.user.name` / `.password`). A `:` cannot be
    /// part of a Basic user name (RFC 7617); such a user can never authenticate.
    pub fn user(mut self, name: impl AsRef<[u8]>, password: impl AsRef<[u8]>) -> Self {
        self.users.push(User {
            name: name.as_ref().into(),
            password: password.as_ref().into(),
        });
        self
    }

    /// The realm named in `WWW-Authenticate` (default `Realm`, as Spring Security sends).
    /// Quotes, backslashes and characters that are not printable ASCII are dropped.
    pub fn realm(mut self, realm: &str) -> Self {
        self.challenge = challenge(realm);
        self
    }

    /// Whether `/health`, `/ready` and the dashboard need credentials too (default
    /// [`OperatorRoutes::Open`]).
    pub fn operator_routes(mut self, access: OperatorRoutes) -> Self {
        self.operator_routes = access;
        self
    }

    /// Whether any user is configured, that is, whether requests are checked at all.
    pub fn is_enabled(&self) -> bool {
        !self.users.is_empty()
    }

    /// The names of the configured users.
    pub fn user_names(&self) -> impl Iterator<Item = &[u8]> {
        self.users.iter().map(|u| &*u.name)
    }

    /// Whether `headers` carry `Authorization: Basic` credentials of a configured user.
    /// Always false without users. Allocates nothing; compares the name and password of
    /// every user in constant time, with no early exit.
    pub fn verify(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(AUTHORIZATION) else {
            return false;
        };
        let mut buf = [0u8; MAX_CREDENTIALS];
        let Some(decoded) = decode_basic(value.as_bytes(), &mut buf) else {
            return false;
        };
        let Some(colon) = decoded.iter().position(|&b| b == b':') else {
            return false;
        };
        let (name, password) = (&decoded[..colon], &decoded[colon + 1..]);
        let mut ok = Choice::from(0);
        for u in &self.users {
            ok |= u.name.ct_eq(name) & u.password.ct_eq(password);
        }
        bool::from(ok)
    }

    /// The `WWW-Authenticate` value of a refusal.
    pub fn challenge(&self) -> &HeaderValue {
        &self.challenge
    }

    /// Whether a request for `path` (the full request path) needs credentials, for a
    /// service whose REST API lives under `prefix`.
    pub(in crate::server) fn guards(&self, path: &str, prefix: &str) -> bool {
        self.is_enabled()
            && (self.operator_routes == OperatorRoutes::Protected
                || !is_operator_path(path, prefix))
    }
}

/// `/health`, `/ready`, `/metrics` (one trailing slash allowed), and, with a non-empty
/// prefix, every path outside it (the service root, where the dashboard lives).
fn is_operator_path(path: &str, prefix: &str) -> bool {
    let p = path.strip_suffix('/').unwrap_or(path);
    if matches!(p, "/health" | "/ready" | "/metrics") {
        return true;
    }
    if prefix.is_empty() {
        return false;
    }
    match path.strip_prefix(prefix) {
        Some(rest) => !(rest.is_empty() || rest.starts_with('/')),
        None => true,
    }
}

/// The credentials of `Basic <base64>` decoded into `buf`; `None` for another scheme,
/// bad base64, or credentials longer than `buf`.
fn decode_basic<'b>(value: &[u8], buf: &'b mut [u8; MAX_CREDENTIALS]) -> Option<&'b [u8]> {
    let scheme = value.get(..6)?;
    if !scheme[..5].eq_ignore_ascii_case(b"basic") || scheme[5] != b' ' {
        return None;
    }
    let b64 = value[6..].trim_ascii();
    // base64 of MAX_CREDENTIALS bytes; refuse longer input before decoding.
    if b64.len() > MAX_CREDENTIALS.div_ceil(3) * 4 {
        return None;
    }
    let n = base64::engine::general_purpose::STANDARD
        .decode_slice(b64, buf)
        .ok()?;
    Some(&buf[..n])
}

fn challenge(realm: &str) -> HeaderValue {
    let clean: String = realm
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .filter(|c| *c != '"' && *c != '\\')
        .collect();
    HeaderValue::from_str(&format!("Basic realm=\"{clean}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("Basic realm=\"Realm\""))
}

/// `Basic <base64(user:password)>`, marked sensitive: what a client sends. `None` when
/// the credentials hold characters a header cannot carry.
pub(crate) fn authorization(user: &str, password: &str) -> Option<HeaderValue> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let mut v = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
    v.set_sensitive(true);
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(auth) {
            h.insert(AUTHORIZATION, v);
        }
        h
    }

    fn basic(user: &str, pass: &str) -> String {
        match authorization(user, pass) {
            Some(v) => String::from_utf8_lossy(v.as_bytes()).into_owned(),
            None => panic!("encodable"),
        }
    }

    #[test]
    fn only_a_configured_user_with_its_password_passes() {
        let auth = BasicAuth::new().user("a", "pw-a").user("b", "pw:b");
        assert!(auth.verify(&headers(&basic("a", "pw-a"))));
        assert!(auth.verify(&headers(&basic("b", "pw:b"))));
        assert!(auth.verify(&headers(&basic("a", "pw-a").replace("Basic", "bAsIc"))));
        for bad in [
            basic("a", "pw-b"),
            basic("b", "pw-a"),
            basic("c", "pw-a"),
            basic("a", ""),
            basic("", ""),
            "Bearer abc".to_owned(),
            "Basic !!!".to_owned(),
            "Basic".to_owned(),
            format!("Basic {}", "QUFB".repeat(200)),
            String::new(),
        ] {
            assert!(!auth.verify(&headers(&bad)), "{bad:?} accepted");
        }
        assert!(!BasicAuth::new().verify(&headers(&basic("a", "pw-a"))));
    }

    #[test]
    fn passwords_never_show_in_debug() {
        let auth = BasicAuth::new().user("admin", "hunter2");
        let s = format!("{auth:?}");
        assert!(s.contains("admin") && !s.contains("hunter2"), "{s}");
    }

    #[test]
    fn the_challenge_names_a_clean_realm() {
        assert_eq!(BasicAuth::new().challenge(), "Basic realm=\"Realm\"");
        assert_eq!(
            BasicAuth::new().realm("eu\"re\nka").challenge(),
            "Basic realm=\"eureka\""
        );
    }

    #[test]
    fn the_rest_api_is_guarded_and_operator_routes_follow_their_setting() {
        let open = BasicAuth::new().user("u", "p");
        let closed = open.clone().operator_routes(OperatorRoutes::Protected);
        for path in [
            "/eureka/apps",
            "/eureka/status",
            "/eureka",
            "/eureka/health",
        ] {
            assert!(open.guards(path, "/eureka"), "{path}");
            assert!(closed.guards(path, "/eureka"), "{path}");
        }
        for path in ["/health", "/ready/", "/", "/dashboard.css", "/eurekax"] {
            assert!(!open.guards(path, "/eureka"), "{path}");
            assert!(closed.guards(path, "/eureka"), "{path}");
        }
        assert!(open.guards("/apps", ""));
        assert!(!open.guards("/health", ""));
        assert!(!open.guards("/metrics", ""));
        assert!(!BasicAuth::new().guards("/eureka/apps", "/eureka"));
    }
}
