//! The HTTP side of the client: service URLs (C-01), request headers (C-02, E-32), the
//! acceptable statuses of each call (E-40) and failover between servers (C-40..C-43).
//!
//! One logical call is tried on up to `retries_per_call` servers. The client sticks to the
//! last server that answered acceptably, quarantines servers that did not, and clears the
//! quarantine when it covers at least `quarantine_refresh_percentage` of the servers. Every
//! `session_reconnect_interval` (±50 %) it forgets the sticky server and the quarantine and
//! reshuffles, which spreads clients over servers in time.

use super::config::Config;
use super::error::{Error, Kind};
use super::selector::Selector;
use crate::codec::Format;
use crate::BoxError;
use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use http::{Method, StatusCode};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rand::rngs::StdRng;
use std::borrow::Cow;
use std::fmt;
use std::sync::Mutex;
use tokio::time::Instant;

// === service URLs (C-01) ===

/// One configured server: its normalised base URL (ending with exactly one `/`, no user
/// info, no query) and the Basic credentials taken out of it.
#[derive(Clone)]
pub(crate) struct ServerUrl {
    base: String,
    auth: Option<(String, Option<String>)>,
}

impl ServerUrl {
    /// Normalises one configured service URL (C-01).
    pub(crate) fn parse(raw: &str) -> Result<Self, Error> {
        let mut url = reqwest::Url::parse(raw.trim()).map_err(|e| {
            let shown = crate::redact::userinfo(raw.trim());
            Error::config(format!("invalid eureka server URL {shown:?}: {e}"))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Error::config(format!(
                "eureka server URL {} must be an http(s) URL with a host",
                crate::redact::userinfo(url.as_str())
            )));
        }
        if url.scheme() == "https" && !cfg!(feature = "tls") {
            return Err(Error::config(format!(
                "eureka server URL {} is https: that needs the `tls` feature",
                crate::redact::userinfo(url.as_str())
            )));
        }
        let user = percent_decode(url.username());
        let pass = url.password().map(percent_decode);
        let auth = if user.is_empty() && pass.is_none() {
            None
        } else {
            Some((user, pass))
        };
        // Cannot fail for http(s) URLs with a host, checked above.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_query(None);
        url.set_fragment(None);
        let mut base = String::from(url);
        while base.ends_with('/') {
            base.pop();
        }
        base.push('/');
        Ok(ServerUrl { base, auth })
    }

    /// The base URL, ending with `/`, without credentials.
    #[cfg(test)]
    pub(crate) fn base(&self) -> &str {
        &self.base
    }
}

impl fmt::Debug for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the credentials.
        f.debug_struct("ServerUrl")
            .field("base", &self.base)
            .field("basic_auth", &self.auth.is_some())
            .finish()
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

/// Decodes `%XX` escapes (user info in a service URL); anything else, including a `%` not
/// followed by two hex digits, stays as it is. Invalid UTF-8 becomes U+FFFD.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// What stays raw in a path segment: RFC 3986 `pchar` (unreserved, sub-delims, `:` and `@`).
/// Everything else, non-ASCII bytes included, is percent-encoded.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':')
    .remove(b'@')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=');

/// Percent-encodes `s` as one URL path segment (C-01), with upper-case hex digits. RFC 3986
/// `pchar`s stay raw, so the usual `host:app:port` ids keep their `:`; a segment that needs
/// no escape is borrowed.
pub(crate) fn encode_segment(s: &str) -> Cow<'_, str> {
    utf8_percent_encode(s, PATH_SEGMENT).into()
}

// === calls and their acceptable statuses (E-40, C-43) ===

/// The logical calls the client makes; each has its own set of acceptable statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    Register,
    Heartbeat,
    Cancel,
    FullFetch,
    DeltaFetch,
    /// `GET /apps/{APP}` of a followed app (issue 15): 404 is an answer (no such app yet).
    TargetFetch,
}

impl CallKind {
    /// Whether `status` keeps the client on this server (E-40). Anything else fails over.
    pub(crate) fn acceptable(self, status: StatusCode) -> bool {
        let code = status.as_u16();
        if status.is_success() || code == 302 {
            return true;
        }
        match self {
            CallKind::Register => code == 404,
            // 409 is only expected on replicated heartbeats; C-12 treats it as renewed,
            // so it must not send the client to another server either.
            CallKind::Heartbeat => code == 404 || code == 409,
            CallKind::Cancel => true,
            CallKind::DeltaFetch => code == 403 || code == 404,
            CallKind::FullFetch => false,
            CallKind::TargetFetch => code == 404,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            CallKind::Register => "register",
            CallKind::Heartbeat => "heartbeat",
            CallKind::Cancel => "cancel",
            CallKind::FullFetch => "full fetch",
            CallKind::DeltaFetch => "delta fetch",
            CallKind::TargetFetch => "app fetch",
        }
    }
}

/// An acceptable answer of one server.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    content_type: Option<HeaderValue>,
    pub(crate) body: Bytes,
    /// The server supports watching: the `x-eureka-watch` value on its answer, the epoch
    /// of the versions it answers with (issue 15).
    pub(crate) watch: Option<String>,
    /// A target answer's `x-eureka-version` and `x-eureka-hash` (watch per target).
    pub(crate) target: Option<(u64, String)>,
}

impl Reply {
    /// The body's format: from `Content-Type`, else sniffed (`<` means XML).
    pub(crate) fn format(&self) -> Format {
        if let Some(ct) = self.content_type.as_ref().and_then(|v| v.to_str().ok()) {
            let ct = ct.to_ascii_lowercase();
            if ct.contains("xml") {
                return Format::Xml;
            }
            if ct.contains("json") {
                return Format::Json;
            }
        }
        match self.body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'<') => Format::Xml,
            _ => Format::Json,
        }
    }
}

/// A server answered with a status that is not acceptable for the call (E-40).
#[derive(Debug)]
struct Unacceptable {
    call: CallKind,
    server: String,
    status: StatusCode,
}

impl fmt::Display for Unacceptable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} answered {} to a {}",
            self.server,
            self.status,
            self.call.as_str()
        )
    }
}

impl std::error::Error for Unacceptable {}

/// Every attempt of one call failed.
#[derive(Debug)]
struct Exhausted {
    call: CallKind,
    attempts: usize,
    last: BoxError,
}

impl fmt::Display for Exhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} failed on {} server(s), last: {}",
            self.call.as_str(),
            self.attempts,
            self.last
        )
    }
}

impl std::error::Error for Exhausted {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.last)
    }
}

// === the transport ===

/// The header that asks for the compact form (E-30).
const X_EUREKA_ACCEPT: HeaderName = HeaderName::from_static("x-eureka-accept");

/// The reqwest client, the servers and the selection state.
pub(crate) struct Transport {
    http: reqwest::Client,
    /// The same without a read timeout, for calls with a whole-request timeout (watching).
    long: reqwest::Client,
    servers: Box<[ServerUrl]>,
    selector: Mutex<Selector>,
    attempts: usize,
    /// Fetches ask for the compact form (`X-Eureka-Accept: compact`, E-30, W-90).
    compact: bool,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("servers", &self.servers)
            .field("attempts", &self.attempts)
            .finish()
    }
}

impl Transport {
    /// Builds the HTTP client. `identity_id` is sent as `DiscoveryIdentity-Id` (E-32).
    /// `zones` are the servers by zone in failover order, own zone first (C-40, C-70).
    pub(crate) fn new(
        zones: Vec<Vec<ServerUrl>>,
        config: &Config,
        identity_id: &str,
        rng: StdRng,
    ) -> Result<Self, Error> {
        let groups: Vec<usize> = zones.iter().map(Vec::len).collect();
        let servers: Vec<ServerUrl> = zones.into_iter().flatten().collect();
        if servers.is_empty() {
            return Err(Error::config("no eureka server URL configured"));
        }
        let header = |v: &str| {
            HeaderValue::from_str(v).map_err(|e| Error::config(format!("header value {v:?}: {e}")))
        };
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(
            HeaderName::from_static("discoveryidentity-name"),
            header(&config.identity_name)?,
        );
        headers.insert(
            HeaderName::from_static("discoveryidentity-version"),
            HeaderValue::from_static(env!("CARGO_PKG_VERSION")),
        );
        headers.insert(
            HeaderName::from_static("discoveryidentity-id"),
            header(identity_id)?,
        );
        // Two clients on the same settings: one with the read timeout for ordinary calls,
        // one without it for watching deltas, which wait for a change without a byte
        // (bounded by a whole-request timeout instead).
        let make = |read_timeout: Option<std::time::Duration>| -> Result<reqwest::Client, Error> {
            let builder = reqwest::Client::builder();
            #[cfg(feature = "tls")]
            let builder = {
                let mut builder = builder;
                for pem in &config.ca_pems {
                    let certs = reqwest::Certificate::from_pem_bundle(pem)
                        .map_err(|e| Error::config(format!("ca_pem: not a PEM bundle: {e}")))?;
                    if certs.is_empty() {
                        return Err(Error::config("ca_pem: no CERTIFICATE in the PEM bundle"));
                    }
                    for c in certs {
                        builder = builder.add_root_certificate(c);
                    }
                }
                builder
            };
            let mut builder = builder
                .default_headers(headers.clone())
                .user_agent(concat!("tower-eureka/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(config.connect_timeout)
                .redirect(reqwest::redirect::Policy::none())
                // Like the Java client: Eureka traffic does not go through system proxies.
                .no_proxy()
                .gzip(config.gzip);
            if let Some(t) = read_timeout {
                builder = builder.read_timeout(t);
            }
            builder
                .build()
                .map_err(|e| Error::new(Kind::Config).with(e))
        };
        let http = make(Some(config.read_timeout))?;
        let long = make(None)?;
        let selector = Selector::zoned(
            groups,
            config.quarantine_refresh_percentage,
            config.session_reconnect_interval,
            rng,
        );
        Ok(Transport {
            http,
            long,
            servers: servers.into_boxed_slice(),
            selector: Mutex::new(selector),
            attempts: config.retries_per_call.max(1),
            compact: config.compact,
        })
    }

    /// The configured servers.
    pub(crate) fn servers(&self) -> &[ServerUrl] {
        &self.servers
    }

    fn selector(&self) -> std::sync::MutexGuard<'_, Selector> {
        // A poisoned selector is still consistent: every update is a single assignment.
        crate::sync::lock(&self.selector)
    }

    /// Runs one logical call: tries up to `retries_per_call` servers until one answers with
    /// a status acceptable for `kind` (E-40). `path` is relative to the base URL and already
    /// encoded (`apps/ORDERS/h:orders:80?status=UP`).
    pub(crate) async fn call(
        &self,
        kind: CallKind,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<Reply, Error> {
        self.call_within(kind, method, path, body, None).await
    }

    /// [`call`](Self::call) with a per-request timeout instead of the read timeout (a
    /// watching delta waits longer than a read may take).
    pub(crate) async fn call_within(
        &self,
        kind: CallKind,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        timeout: Option<std::time::Duration>,
    ) -> Result<Reply, Error> {
        let max = self.attempts.min(self.servers.len());
        let mut tried: Vec<usize> = Vec::with_capacity(max);
        let mut last: Option<BoxError> = None;
        while tried.len() < max {
            let Some(i) = self.selector().pick(Instant::now(), &tried) else {
                break;
            };
            tried.push(i);
            let Some(server) = self.servers.get(i) else {
                break;
            };
            match self
                .attempt(server, &method, path, body.clone(), timeout)
                .await
            {
                Ok(reply) if kind.acceptable(reply.status) => {
                    self.selector().succeeded(i);
                    return Ok(reply);
                }
                Ok(reply) => {
                    tracing::debug!(server = %server, status = %reply.status, call = kind.as_str(), "unacceptable answer, failing over");
                    self.selector().failed(i);
                    last = Some(Box::new(Unacceptable {
                        call: kind,
                        server: server.base.clone(),
                        status: reply.status,
                    }));
                }
                Err(e) => {
                    tracing::debug!(server = %server, error = %e, call = kind.as_str(), "request failed, failing over");
                    self.selector().failed(i);
                    last = Some(Box::new(e));
                }
            }
        }
        Err(Error::transport(Exhausted {
            call: kind,
            attempts: tried.len(),
            last: last.unwrap_or_else(|| "no server to try".into()),
        }))
    }

    async fn attempt(
        &self,
        server: &ServerUrl,
        method: &Method,
        path: &str,
        body: Option<Bytes>,
        timeout: Option<std::time::Duration>,
    ) -> Result<Reply, reqwest::Error> {
        let url = format!("{}{}", server.base, path);
        let mut req = match timeout {
            Some(t) => self.long.request(method.clone(), url).timeout(t),
            None => self.http.request(method.clone(), url),
        };
        if let Some((user, pass)) = &server.auth {
            req = req.basic_auth(user, pass.as_ref());
        }
        if self.compact && *method == Method::GET {
            // Every GET of the client is a registry fetch (full or delta, E-30).
            req = req.header(X_EUREKA_ACCEPT, HeaderValue::from_static("compact"));
        }
        if let Some(body) = body {
            req = req
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let content_type = resp.headers().get(CONTENT_TYPE).cloned();
        let watch = resp
            .headers()
            .get("x-eureka-watch")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_owned);
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let target = match (header("x-eureka-version"), header("x-eureka-hash")) {
            (Some(v), Some(h)) => v.trim().parse::<u64>().ok().map(|v| (v, h)),
            _ => None,
        };
        let body = resp.bytes().await?;
        Ok(Reply {
            status,
            content_type,
            body,
            watch,
            target,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c01_urls_are_normalised() {
        for (raw, want) in [
            ("http://e1:8761/eureka", "http://e1:8761/eureka/"),
            ("http://e1:8761/eureka/", "http://e1:8761/eureka/"),
            ("http://e1:8761/eureka///", "http://e1:8761/eureka/"),
            (
                "http://e1:8080/eureka/v2/?x=1#f",
                "http://e1:8080/eureka/v2/",
            ),
            ("http://e1:8761", "http://e1:8761/"),
            ("  https://e1/eureka  ", "https://e1/eureka/"),
        ] {
            let s = ServerUrl::parse(raw).unwrap();
            assert_eq!(s.base(), want, "{raw}");
            assert!(s.auth.is_none());
        }
    }

    #[test]
    fn c01_user_info_becomes_basic_auth() {
        let s = ServerUrl::parse("http://us%40r:p%3Ass@e1:8761/eureka").unwrap();
        assert_eq!(s.base(), "http://e1:8761/eureka/");
        assert_eq!(s.auth, Some(("us@r".to_owned(), Some("p:ss".to_owned()))));
        assert!(!format!("{s:?}").contains("p:ss"));
        let s = ServerUrl::parse("http://user@e1/eureka").unwrap();
        assert_eq!(s.auth, Some(("user".to_owned(), None)));
    }

    #[test]
    fn c01_bad_urls_are_config_errors() {
        for raw in ["", "e1:8761", "ftp://e1/eureka", "mailto:x@y", "http://"] {
            let err = ServerUrl::parse(raw).unwrap_err();
            assert!(err.is_config(), "{raw}");
        }
        // The password never travels into an error message.
        for raw in ["ftp://u:hunter2@e1/eureka", "http://u:hunter2@[::1/eureka"] {
            let err = format!("{:?}", ServerUrl::parse(raw).unwrap_err());
            assert!(!err.contains("hunter2") && err.contains("u:***@"), "{err}");
        }
    }

    #[test]
    fn c01_segments_are_percent_encoded() {
        assert_eq!(encode_segment("host:orders:8080"), "host:orders:8080");
        assert!(matches!(encode_segment("ORDERS"), Cow::Borrowed(_)));
        assert_eq!(encode_segment("a/b c%d?e#f"), "a%2Fb%20c%25d%3Fe%23f");
        assert_eq!(encode_segment("straße"), "stra%C3%9Fe");
    }

    // The rule the hand-rolled encoder implemented, byte for byte: pchars raw, everything
    // else `%XX` with upper-case hex.
    #[test]
    fn c01_segment_encoding_is_the_pchar_rule_for_every_byte() {
        let pchar = |b: u8| b.is_ascii_alphanumeric() || b"-._~:@!$&'()*+,;=".contains(&b);
        for c in (0u8..0x80)
            .map(char::from)
            .chain(['é', 'ß', '\u{10348}', '\u{FFFD}'])
        {
            let s = c.to_string();
            let want: String = s
                .bytes()
                .map(|b| {
                    if pchar(b) {
                        char::from(b).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            assert_eq!(encode_segment(&s), want, "{c:?}");
        }
    }

    #[test]
    fn percent_decode_tolerates_garbage() {
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%C3%9F"), "ß");
    }

    #[test]
    fn e40_acceptable_statuses_per_call() {
        let s = |c| StatusCode::from_u16(c).unwrap();
        use CallKind::*;
        for k in [Register, Heartbeat, Cancel, FullFetch, DeltaFetch] {
            assert!(k.acceptable(s(200)));
            assert!(k.acceptable(s(204)));
            assert!(k.acceptable(s(302)));
        }
        assert!(Register.acceptable(s(404)));
        assert!(!Register.acceptable(s(500)));
        assert!(Heartbeat.acceptable(s(404)));
        assert!(Heartbeat.acceptable(s(409)));
        assert!(!Heartbeat.acceptable(s(503)));
        assert!(Cancel.acceptable(s(500)));
        assert!(Cancel.acceptable(s(404)));
        assert!(DeltaFetch.acceptable(s(403)));
        assert!(DeltaFetch.acceptable(s(404)));
        assert!(!DeltaFetch.acceptable(s(500)));
        assert!(!FullFetch.acceptable(s(403)));
        assert!(!FullFetch.acceptable(s(404)));
    }

    #[test]
    fn w03_reply_format_from_content_type_or_sniffed() {
        let reply = |ct: Option<&'static str>, body: &'static str| Reply {
            status: StatusCode::OK,
            content_type: ct.map(HeaderValue::from_static),
            body: Bytes::from_static(body.as_bytes()),
            watch: None,
            target: None,
        };
        assert_eq!(reply(Some("application/xml"), "{}").format(), Format::Xml);
        assert_eq!(
            reply(Some("text/xml; charset=UTF-8"), "").format(),
            Format::Xml
        );
        assert_eq!(
            reply(Some("application/json"), "<a/>").format(),
            Format::Json
        );
        assert_eq!(
            reply(Some("Application/JSON;charset=utf-8"), "").format(),
            Format::Json
        );
        assert_eq!(reply(None, "  \n<applications/>").format(), Format::Xml);
        assert_eq!(
            reply(Some("text/plain"), "{\"applications\":{}}").format(),
            Format::Json
        );
        assert_eq!(reply(None, "").format(), Format::Json);
    }
}
