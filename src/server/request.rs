//! What a handler needs from the request head: the negotiated response variant, the
//! replication flag, and the URL query.
//!
//! * format by `Accept` (E-05), full or compact by `X-Eureka-Accept` (E-30), gzip by
//!   `Accept-Encoding` (E-07);
//! * the replication flag by `x-netflix-discovery-replication: true` (E-31);
//! * the query, decoded lazily ([`Query`]).

use crate::codec::{Accept, Format};
use http::header::{HeaderName, HeaderValue, ACCEPT, ACCEPT_ENCODING};
use http::Request;
use std::borrow::Cow;

/// The header peers set on replicated single calls (E-31). Header names are statics so
/// that a lookup hashes the name without parsing it first.
static REPLICATION_HEADER: HeaderName = HeaderName::from_static("x-netflix-discovery-replication");
/// The header that asks for the compact variant (E-30).
static X_EUREKA_ACCEPT: HeaderName = HeaderName::from_static("x-eureka-accept");

/// What a handler needs from the request head.
#[derive(Debug)]
pub(super) struct RequestCtx {
    /// The response format (E-05).
    pub(super) format: Format,
    /// `X-Eureka-Accept: compact` (E-30).
    pub(super) compact: bool,
    /// The client accepts a gzip-encoded response (E-07).
    pub(super) gzip: bool,
    /// The call is a replication from a peer (E-31).
    pub(super) replication: bool,
    /// The URL query.
    pub(super) query: Query,
}

// === impl RequestCtx ===

impl RequestCtx {
    /// Reads the context from `req`'s head.
    pub(super) fn new<B>(req: &Request<B>) -> Self {
        let h = req.headers();
        RequestCtx {
            format: Format::from_accept(h.get(ACCEPT).map(HeaderValue::as_bytes)),
            compact: matches!(
                Accept::from_header(h.get(&X_EUREKA_ACCEPT).map(HeaderValue::as_bytes)),
                Accept::Compact
            ),
            gzip: h
                .get_all(ACCEPT_ENCODING)
                .iter()
                .any(|v| contains(v.as_bytes(), b"gzip")),
            // E-31: exactly `true`.
            replication: h
                .get(&REPLICATION_HEADER)
                .is_some_and(|v| v.as_bytes() == b"true"),
            query: Query::new(req.uri().query()),
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A request's URL query, decoded lazily: looking up a parameter allocates only when its
/// value carries escapes (`%XX` or `+`).
#[derive(Debug, Default)]
pub(super) struct Query(Option<Box<str>>);

// === impl Query ===

impl Query {
    /// The query of a URI (`None` or empty: no parameters).
    pub(super) fn new(raw: Option<&str>) -> Self {
        Query(raw.filter(|q| !q.is_empty()).map(Box::from))
    }

    fn raw_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
    }

    /// The first value of parameter `name`, decoded.
    pub(super) fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        self.raw_pairs()
            .find(|(k, _)| decode_component(k) == name)
            .map(|(_, v)| decode_component(v))
    }

    /// Every `(key, value)` pair, decoded, in order.
    pub(super) fn pairs(&self) -> Vec<(String, String)> {
        self.raw_pairs()
            .map(|(k, v)| {
                (
                    decode_component(k).into_owned(),
                    decode_component(v).into_owned(),
                )
            })
            .collect()
    }
}

fn decode_component(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(s);
    }
    let spaced = s.replace('+', " ");
    Cow::Owned(
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        let q = Query::new(Some("a=1&b=x%3Ay&c=hello+world&d&a=2&k%20y=v"));
        assert_eq!(q.get("a").as_deref(), Some("1"));
        assert!(matches!(q.get("a"), Some(Cow::Borrowed(_))));
        assert_eq!(q.get("b").as_deref(), Some("x:y"));
        assert_eq!(q.get("c").as_deref(), Some("hello world"));
        assert_eq!(q.get("d").as_deref(), Some(""));
        assert_eq!(q.get("k y").as_deref(), Some("v"));
        assert_eq!(q.get("z"), None);
        assert_eq!(q.pairs().len(), 6);
        assert!(Query::new(None).get("a").is_none());
    }

    #[test]
    fn e05_e07_e30_e31_negotiation() {
        let req = Request::get("/apps?x=1")
            .header(ACCEPT, "application/json")
            .header("x-eureka-accept", " Compact ")
            .header(ACCEPT_ENCODING, "deflate")
            .header(ACCEPT_ENCODING, "br, gzip")
            .header(&REPLICATION_HEADER, "true")
            .body(())
            .unwrap_or_default();
        let ctx = RequestCtx::new(&req);
        assert_eq!(ctx.format, Format::Json);
        assert!(ctx.compact && ctx.gzip && ctx.replication);
        assert_eq!(ctx.query.get("x").as_deref(), Some("1"));
        let req = Request::get("/apps")
            .header(&REPLICATION_HEADER, "TRUE")
            .body(())
            .unwrap_or_default();
        let ctx = RequestCtx::new(&req);
        assert_eq!(ctx.format, Format::Xml);
        assert!(!ctx.compact && !ctx.gzip && !ctx.replication);
    }
}
