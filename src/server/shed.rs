//! Load shedding (issue 11): see [`ShedLayer`].

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

/// How long a shed client is asked to wait (`Retry-After`, seconds).
const RETRY_AFTER_SECS: u32 = 1;

/// The slices a served body is handed to hyper in: hyper asks for the next one only when
/// it has written the last, so a full registry of many megabytes holds its place until it
/// has (nearly) all gone to the socket, instead of releasing it when hyper took the one
/// `Bytes` of the payload. Slicing `Bytes` copies nothing.
const SLICE: usize = 64 * 1024;

/// What a request is admitted as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Priority,
    FullFetch,
    General,
    /// A long poll: not counted.
    Exempt,
}

impl Class {
    /// The class of a request from its method, path and query (the mount prefix may be
    /// anything: only the last segments are looked at).
    pub(crate) fn of(method: &http::Method, path: &str, query: Option<&str>) -> Class {
        if query.is_some_and(|q| q.split('&').any(|p| p.starts_with("watch="))) {
            return Class::Exempt;
        }
        let path = path.strip_suffix('/').unwrap_or(path);
        let mut rev = path.rsplit('/');
        let last = rev.next().unwrap_or("");
        if last == "health" || last == "ready" {
            return Class::Priority;
        }
        if *method == http::Method::GET && last.eq_ignore_ascii_case("apps") {
            return Class::FullFetch;
        }
        // E-34: heartbeats, registrations and replication are not throttled (only beyond
        // their own reserve).
        let before = rev.next();
        if *method == http::Method::POST
            && (before.is_some_and(|s| s.eq_ignore_ascii_case("apps"))
                || (last == "batch" && before == Some("peerreplication")))
        {
            // `POST /apps/{app}` (register), `POST /peerreplication/batch`.
            return Class::Priority;
        }
        if (*method == http::Method::PUT || *method == http::Method::DELETE)
            && rev.next().is_some_and(|s| s.eq_ignore_ascii_case("apps"))
        {
            // `/apps/{app}/{id}`: the segment two before the last is `apps`.
            return Class::Priority;
        }
        Class::General
    }
}

/// Counters of one [`ShedLayer`]: what is in progress and what was shed, by class.
#[derive(Debug, Default)]
pub struct ShedStats {
    general: AtomicUsize,
    priority: AtomicUsize,
    shed_priority: AtomicU64,
    shed_full: AtomicU64,
    shed_general: AtomicU64,
}

impl ShedStats {
    /// Requests shed so far, all classes.
    pub fn shed_total(&self) -> u64 {
        self.shed_priority.load(Ordering::Relaxed)
            + self.shed_full.load(Ordering::Relaxed)
            + self.shed_general.load(Ordering::Relaxed)
    }

    /// Requests shed so far by class: `("priority" | "full_fetch" | "general", count)`.
    pub fn shed_by_class(&self) -> [(&'static str, u64); 3] {
        [
            ("priority", self.shed_priority.load(Ordering::Relaxed)),
            ("full_fetch", self.shed_full.load(Ordering::Relaxed)),
            ("general", self.shed_general.load(Ordering::Relaxed)),
        ]
    }

    /// Requests in progress now, counted ones only (general, priority).
    pub fn in_progress(&self) -> (usize, usize) {
        (
            self.general.load(Ordering::Relaxed),
            self.priority.load(Ordering::Relaxed),
        )
    }

    /// Takes a place for `class` under `limit`, or counts the request as shed.
    fn admit(self: &Arc<Self>, class: Class, limit: usize) -> Result<Option<Permit>, ()> {
        let (counter, bound, shed) = match class {
            Class::Exempt => return Ok(None),
            Class::Priority => (&self.priority, limit, &self.shed_priority),
            Class::FullFetch => (&self.general, (limit / 2).max(1), &self.shed_full),
            Class::General => (&self.general, limit, &self.shed_general),
        };
        let taken = counter.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < bound).then_some(n + 1)
        });
        match taken {
            Ok(_) => Ok(Some(Permit {
                stats: self.clone(),
                priority: class == Class::Priority,
            })),
            Err(_) => {
                shed.fetch_add(1, Ordering::Relaxed);
                Err(())
            }
        }
    }
}

/// One request's place; given back when dropped (with the response body).
#[derive(Debug)]
struct Permit {
    stats: Arc<ShedStats>,
    priority: bool,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let counter = if self.priority {
            &self.stats.priority
        } else {
            &self.stats.general
        };
        counter.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Load shedding (issue 11): a bound on the requests in progress, answered `503` with
/// `Retry-After` beyond it instead of queueing without bound, with heartbeats, cancels and
/// the operator probes kept apart from full-registry fetches.
///
/// A request is "in progress" from the moment the service is called until its response
/// body has been written out (or dropped): for this server, whose answers are cached bytes,
/// what an overloaded node holds is bodies being uploaded (registrations, replication
/// batches) and bodies being written to slow readers (multi-megabyte full registries), so
/// the permit travels in the response body.
///
/// Three classes, chosen from the method and the path's last segments (no routing):
///
/// | class | requests | admitted while |
/// |---|---|---|
/// | priority | `PUT`/`DELETE /apps/{app}/{id}` (heartbeat, cancel), `POST /apps/{app}` (register), `POST /peerreplication/batch`, `/health`, `/ready` | fewer than `limit` priority requests are in progress (a reserve of their own; E-34: heartbeats, registrations and replication are not throttled with the reads) |
/// | full fetch | `GET /apps` | fewer than `limit / 2` general requests are in progress |
/// | general | everything else | fewer than `limit` general requests are in progress |
///
/// Long polls (a `watch=` query, see the watch extension) are not counted: they wait idle
/// for up to two minutes and the connection limit bounds them.
///
/// ```
/// use tower::{Layer, ServiceExt};
/// use tower_eureka::server::{EurekaService, ShedLayer};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let shed = ShedLayer::new(512);
/// let svc = shed.layer(EurekaService::default());
/// let req = http::Request::get("/apps").body(http_body_util::Empty::<bytes::Bytes>::new()).unwrap();
/// let res = svc.oneshot(req).await.unwrap();
/// assert_eq!(res.status(), 200);
/// assert_eq!(shed.stats().shed_total(), 0);
/// # }
/// ```
///
/// Clones share their counters.
#[derive(Debug, Clone)]
pub struct ShedLayer {
    limit: usize,
    stats: Arc<ShedStats>,
}

impl ShedLayer {
    /// Sheds beyond `limit` requests in progress (at least 1).
    pub fn new(limit: usize) -> Self {
        ShedLayer {
            limit: limit.max(1),
            stats: Arc::default(),
        }
    }

    /// Its counters (shared with every service it made).
    pub fn stats(&self) -> &Arc<ShedStats> {
        &self.stats
    }

    /// A layer that counts but never sheds (the limit is off).
    pub(crate) fn unbounded(stats: Arc<ShedStats>) -> Self {
        ShedLayer {
            limit: usize::MAX,
            stats,
        }
    }

    pub(crate) fn with_stats(limit: usize, stats: Arc<ShedStats>) -> Self {
        ShedLayer {
            limit: limit.max(1),
            stats,
        }
    }
}

impl<S> tower::Layer<S> for ShedLayer {
    type Service = Shed<S>;

    fn layer(&self, inner: S) -> Shed<S> {
        Shed {
            inner,
            limit: self.limit,
            stats: self.stats.clone(),
        }
    }
}

/// The service [`ShedLayer`] makes.
#[derive(Debug, Clone)]
pub struct Shed<S> {
    inner: S,
    limit: usize,
    stats: Arc<ShedStats>,
}

impl<S, B, RB> tower::Service<Request<B>> for Shed<S>
where
    S: tower::Service<Request<B>, Response = Response<RB>, Error = Infallible>,
    S::Future: Send + 'static,
    RB: Body<Data = Bytes> + Unpin + Send + 'static,
{
    type Response = Response<ShedBody<RB>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let class = Class::of(req.method(), req.uri().path(), req.uri().query());
        let permit = match self.stats.admit(class, self.limit) {
            Ok(p) => p,
            Err(()) => {
                let mut res = shed_response(class);
                if has_body(&req) {
                    // The upload is not read: say that the connection ends with this
                    // answer, rather than let the client find out by a broken pipe.
                    res.headers_mut()
                        .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
                }
                return Box::pin(std::future::ready(Ok(res)));
            }
        };
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = match fut.await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            Ok(res.map(|inner| ShedBody {
                inner: Inner::Served(inner),
                rest: Bytes::new(),
                _permit: permit,
            }))
        })
    }
}

/// The body of a response from [`Shed`]: the inner service's body (holding the request's
/// place until it is written out or dropped), or the short reason of a `503`.
#[derive(Debug)]
pub struct ShedBody<B> {
    inner: Inner<B>,
    /// What is left of the current data frame (see [`SLICE`]).
    rest: Bytes,
    _permit: Option<Permit>,
}

/// Whether a request carries a body (one the shed answer leaves unread).
fn has_body<B>(req: &Request<B>) -> bool {
    let h = req.headers();
    h.contains_key(http::header::TRANSFER_ENCODING)
        || h.get(http::header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
}

/// The next slice of `data`, at most [`SLICE`] long; `data` keeps the rest.
fn next_slice(data: &mut Bytes) -> Bytes {
    if data.len() > SLICE {
        data.split_to(SLICE)
    } else {
        std::mem::take(data)
    }
}

#[derive(Debug)]
enum Inner<B> {
    Served(B),
    Shed(Full<Bytes>),
}

impl<B: Body<Data = Bytes> + Unpin> Body for ShedBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        if !this.rest.is_empty() {
            return Poll::Ready(Some(Ok(Frame::data(next_slice(&mut this.rest)))));
        }
        match &mut this.inner {
            Inner::Served(b) => match Pin::new(b).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(mut data) => {
                        let first = next_slice(&mut data);
                        this.rest = data;
                        Poll::Ready(Some(Ok(Frame::data(first))))
                    }
                    Err(frame) => Poll::Ready(Some(Ok(frame))),
                },
                other => other,
            },
            Inner::Shed(b) => match Pin::new(b).poll_frame(cx) {
                Poll::Ready(Some(Ok(f))) => Poll::Ready(Some(Ok(f))),
                Poll::Ready(Some(Err(never))) => match never {},
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        if !self.rest.is_empty() {
            return false;
        }
        match &self.inner {
            Inner::Served(b) => b.is_end_stream(),
            Inner::Shed(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Served(b) => b.size_hint(),
            Inner::Shed(b) => b.size_hint(),
        }
    }
}

/// The `503` of a shed request.
fn shed_response<B>(class: Class) -> Response<ShedBody<B>> {
    let what = match class {
        Class::FullFetch => "full registry fetches",
        Class::Priority => "heartbeats, cancels and probes",
        _ => "requests",
    };
    let mut res = Response::new(ShedBody {
        inner: Inner::Shed(Full::new(Bytes::from(format!(
            "server overloaded: too many {what} in progress; retry after {RETRY_AFTER_SECS} s\n"
        )))),
        rest: Bytes::new(),
        _permit: None,
    });
    *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let h = res.headers_mut();
    h.insert(
        http::header::RETRY_AFTER,
        HeaderValue::from(RETRY_AFTER_SECS),
    );
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn e34_requests_are_classed_by_method_and_last_segments() {
        let c = |m: Method, p: &str, q: Option<&str>| Class::of(&m, p, q);
        assert_eq!(
            c(Method::PUT, "/eureka/apps/ORDERS/i-1", None),
            Class::Priority
        );
        assert_eq!(
            c(Method::DELETE, "/eureka/v2/apps/orders/i-1/", None),
            Class::Priority
        );
        assert_eq!(
            c(
                Method::PUT,
                "/eureka/apps/ORDERS/i-1/status",
                Some("value=UP")
            ),
            Class::General
        );
        assert_eq!(c(Method::GET, "/health", None), Class::Priority);
        assert_eq!(c(Method::GET, "/ready", None), Class::Priority);
        assert_eq!(c(Method::GET, "/eureka/apps/", None), Class::FullFetch);
        assert_eq!(c(Method::GET, "/apps", None), Class::FullFetch);
        assert_eq!(c(Method::GET, "/eureka/apps/delta", None), Class::General);
        assert_eq!(
            c(Method::GET, "/eureka/apps/delta", Some("watch=7&epoch=1")),
            Class::Exempt
        );
        assert_eq!(
            c(Method::GET, "/eureka/apps/ORDERS", Some("hash=&watch=0")),
            Class::Exempt
        );
        assert_eq!(
            c(Method::POST, "/eureka/apps/ORDERS", None),
            Class::Priority
        );
        assert_eq!(
            c(Method::POST, "/eureka/peerreplication/batch/", None),
            Class::Priority
        );
        assert_eq!(
            c(Method::POST, "/eureka/apps/ORDERS/i-1/metadata", None),
            Class::General
        );
        assert_eq!(
            c(Method::GET, "/eureka/apps/ORDERS/i-1", None),
            Class::General
        );
    }

    #[tokio::test]
    async fn a_served_body_goes_out_in_slices_and_holds_its_place_to_the_end() {
        use http_body_util::BodyExt;
        let stats = Arc::new(ShedStats::default());
        let permit = stats.admit(Class::FullFetch, 4).ok().flatten();
        assert_eq!(stats.in_progress(), (1, 0));
        let payload: Vec<u8> = (0..(SLICE * 2 + 10)).map(|i| (i % 251) as u8).collect();
        let mut body = ShedBody {
            inner: Inner::Served(Full::new(Bytes::from(payload.clone()))),
            rest: Bytes::new(),
            _permit: permit,
        };
        let mut got = Vec::new();
        let mut sizes = Vec::new();
        while let Some(frame) = body.frame().await {
            let data = frame
                .map(|f| f.into_data().ok())
                .ok()
                .flatten()
                .unwrap_or_default();
            sizes.push(data.len());
            got.extend_from_slice(&data);
            if got.len() < payload.len() {
                assert!(!body.is_end_stream());
                assert_eq!(stats.in_progress(), (1, 0), "held until the last slice");
            }
        }
        assert_eq!(sizes, [SLICE, SLICE, 10]);
        assert_eq!(got, payload);
        drop(body);
        assert_eq!(stats.in_progress(), (0, 0));
    }
}
