//! Endpoints: what the balancer calls for one instance, built by a synchronous factory.

use super::future::CallOrFail;
use crate::model::InstanceInfo;
use crate::BoxError;
use http::uri::{Authority, PathAndQuery, Scheme};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};
use std::time::Duration;
use std::{fmt, mem};
use tokio::time::{Instant, Sleep};
use tower::Service;

/// Builds the service that the balancer calls for one instance.
///
/// Called synchronously by [`EurekaDiscover`](super::EurekaDiscover) each time an `UP`
/// instance appears (or reappears with a new address). Return `None` for an instance that
/// cannot be called (no usable port, unparseable host); it is then left out of the set.
///
/// Any `Fn(&InstanceInfo) -> S` is a factory that never skips:
///
/// ```
/// use tower_eureka::discover::MakeEndpoint;
/// use tower_eureka::model::InstanceInfo;
///
/// let make = |i: &InstanceInfo| format!("{}:{}", i.ip_addr, i.port.port);
/// let inst = InstanceInfo::builder("orders").ip_addr("10.0.0.1").port(8080).build();
/// assert_eq!(make.make_endpoint(&inst).as_deref(), Some("10.0.0.1:8080"));
/// ```
pub trait MakeEndpoint {
    /// The endpoint service.
    type Endpoint;

    /// Builds the endpoint for `instance`, or `None` to leave it out.
    fn make_endpoint(&self, instance: &InstanceInfo) -> Option<Self::Endpoint>;
}

impl<F, S> MakeEndpoint for F
where
    F: Fn(&InstanceInfo) -> S,
{
    type Endpoint = S;

    fn make_endpoint(&self, instance: &InstanceInfo) -> Option<S> {
        Some(self(instance))
    }
}

/// The first pause after a failed call, before the endpoint is tried again.
pub const DEFAULT_FAILURE_BACKOFF: Duration = Duration::from_millis(250);
/// The longest pause after consecutive failed calls.
pub const DEFAULT_MAX_FAILURE_BACKOFF: Duration = Duration::from_secs(10);

// === MakeHttpEndpoint ===

/// The default endpoint factory: an [`HttpEndpoint`] per instance around a clone of one
/// HTTP client service.
///
/// The base URI is `https://{host}:{securePort}` when the instance's secure port is enabled
/// (and [`prefer_secure`](Self::prefer_secure) is on, the default), else
/// `http://{host}:{port}`; an instance with neither port enabled is skipped. `host` is the
/// instance's `ipAddr` by default, or its `hostName` with
/// [`use_host_name`](Self::use_host_name).
///
/// ```
/// use tower_eureka::discover::{MakeEndpoint, MakeHttpEndpoint};
/// use tower_eureka::model::InstanceInfo;
///
/// let make = MakeHttpEndpoint::new(tower::service_fn(|_req: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
/// }));
/// let inst = InstanceInfo::builder("orders").ip_addr("10.0.0.7").port(8080).build();
/// let ep = make.make_endpoint(&inst).unwrap();
/// assert_eq!(ep.base_uri().to_string(), "http://10.0.0.7:8080/");
///
/// let tls = InstanceInfo::builder("orders").host_name("o1").secure_port(8443).build();
/// let ep = make.clone().use_host_name(true).make_endpoint(&tls).unwrap();
/// assert_eq!(ep.base_uri().to_string(), "https://o1:8443/");
/// ```
#[derive(Clone)]
pub struct MakeHttpEndpoint<S> {
    inner: S,
    use_host_name: bool,
    prefer_secure: bool,
    backoff: RestBackoff,
}

impl<S> MakeHttpEndpoint<S> {
    /// A factory that clones `inner` for each endpoint.
    pub fn new(inner: S) -> Self {
        MakeHttpEndpoint {
            inner,
            use_host_name: false,
            prefer_secure: true,
            backoff: RestBackoff::default(),
        }
    }

    /// Address instances by `hostName` instead of `ipAddr` (default: `ipAddr`).
    pub fn use_host_name(mut self, yes: bool) -> Self {
        self.use_host_name = yes;
        self
    }

    /// Use the secure port when it is enabled (default: yes). When off, the secure port is
    /// used only for instances whose non-secure port is disabled.
    pub fn prefer_secure(mut self, yes: bool) -> Self {
        self.prefer_secure = yes;
        self
    }

    /// How long an endpoint rests after a failed call: `base` after the first failure,
    /// doubling with each consecutive failure up to `max` (defaults
    /// [`DEFAULT_FAILURE_BACKOFF`], [`DEFAULT_MAX_FAILURE_BACKOFF`]). While it rests it
    /// reports itself not ready, so the balancer picks other endpoints; then one call probes
    /// it. A zero `base` turns resting off.
    pub fn failure_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff = RestBackoff {
            base,
            max: max.max(base),
        };
        self
    }

    /// The scheme and authority this factory would give `instance`, if it is callable.
    pub fn address(&self, instance: &InstanceInfo) -> Option<(Scheme, Authority)> {
        let secure = instance.secure_port.enabled && instance.secure_port.port != 0;
        let plain = instance.port.enabled && instance.port.port != 0;
        let (scheme, port) = if secure && (self.prefer_secure || !plain) {
            (Scheme::HTTPS, instance.secure_port.port)
        } else if plain {
            (Scheme::HTTP, instance.port.port)
        } else {
            return None;
        };
        let host = if self.use_host_name {
            instance.host_name.trim()
        } else {
            instance.ip_addr.trim()
        };
        if host.is_empty() {
            return None;
        }
        let authority = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let authority = Authority::try_from(authority).ok()?;
        Some((scheme, authority))
    }
}

impl<S: Clone> MakeEndpoint for MakeHttpEndpoint<S> {
    type Endpoint = HttpEndpoint<S>;

    fn make_endpoint(&self, instance: &InstanceInfo) -> Option<HttpEndpoint<S>> {
        let Some((scheme, authority)) = self.address(instance) else {
            tracing::debug!(
                instance = instance.id(),
                "instance has no usable address; skipped"
            );
            return None;
        };
        Some(HttpEndpoint::with_backoff(
            self.inner.clone(),
            Some(Arc::from(instance.id())),
            scheme,
            authority,
            self.backoff,
        ))
    }
}

impl<S> fmt::Debug for MakeHttpEndpoint<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MakeHttpEndpoint")
            .field("use_host_name", &self.use_host_name)
            .field("prefer_secure", &self.prefer_secure)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

// === ServedBy ===

/// Which endpoint answered: put in the extensions of every response an [`HttpEndpoint`]
/// returns.
///
/// ```
/// # use tower_eureka::discover::ServedBy;
/// # fn log(rsp: &http::Response<()>) {
/// if let Some(by) = rsp.extensions().get::<ServedBy>() {
///     println!("answered by {} ({:?})", by.authority(), by.instance_id());
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct ServedBy {
    inner: Arc<ServedByInner>,
}

struct ServedByInner {
    instance_id: Option<Arc<str>>,
    scheme: Scheme,
    authority: Authority,
}

impl ServedBy {
    /// The instance id, when the endpoint was made from an instance.
    pub fn instance_id(&self) -> Option<&str> {
        self.inner.instance_id.as_deref()
    }

    /// The `host:port` the request was sent to.
    pub fn authority(&self) -> &Authority {
        &self.inner.authority
    }

    /// The scheme the request was sent with.
    pub fn scheme(&self) -> &Scheme {
        &self.inner.scheme
    }
}

impl fmt::Debug for ServedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServedBy")
            .field("instance_id", &self.inner.instance_id)
            .field("scheme", &self.inner.scheme)
            .field("authority", &self.inner.authority)
            .finish()
    }
}

// === HttpEndpoint ===

/// One instance's endpoint: rewrites each request's scheme and authority to the instance's
/// and sends it through the inner HTTP client service.
///
/// The path and query are kept (an empty path becomes `/`); headers are left alone (the
/// client fills in `Host` from the new URI when the request has none).
///
/// Each response carries a [`ServedBy`] extension naming the endpoint.
///
/// A failed call (an `Err` from the inner service: connection refused, reset, ...) puts the
/// endpoint to rest for a backoff period, during which `poll_ready` is `Pending`: the
/// balancer then routes around it instead of evicting it, and it comes back by itself.
/// HTTP error statuses are answers, not failures.
pub struct HttpEndpoint<S> {
    inner: S,
    served_by: ServedBy,
    health: Arc<Health>,
    rest: Option<Pin<Box<Sleep>>>,
}

impl<S> HttpEndpoint<S> {
    /// An endpoint sending to `scheme://authority` through `inner`.
    pub fn new(inner: S, scheme: Scheme, authority: Authority) -> Self {
        Self::with_backoff(inner, None, scheme, authority, RestBackoff::default())
    }

    fn with_backoff(
        inner: S,
        instance_id: Option<Arc<str>>,
        scheme: Scheme,
        authority: Authority,
        backoff: RestBackoff,
    ) -> Self {
        HttpEndpoint {
            inner,
            served_by: ServedBy {
                inner: Arc::new(ServedByInner {
                    instance_id,
                    scheme,
                    authority,
                }),
            },
            health: Arc::new(Health::new(backoff)),
            rest: None,
        }
    }

    /// The authority (`host:port`) requests are sent to.
    pub fn authority(&self) -> &Authority {
        self.served_by.authority()
    }

    /// The scheme requests are sent with.
    pub fn scheme(&self) -> &Scheme {
        self.served_by.scheme()
    }

    /// What this endpoint's responses carry in their extensions.
    pub fn served_by(&self) -> &ServedBy {
        &self.served_by
    }

    /// `scheme://authority/`.
    pub fn base_uri(&self) -> http::Uri {
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(self.scheme().clone());
        parts.authority = Some(self.authority().clone());
        parts.path_and_query = Some(PathAndQuery::from_static("/"));
        // Scheme, authority and path are all present and valid, so this cannot fail; fall
        // back to an empty URI rather than panic.
        http::Uri::from_parts(parts).unwrap_or_default()
    }

    /// `Pending` until the current rest (if any) is over.
    fn poll_rest(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(until) = self.health.resting_until() {
            if Instant::now() < until {
                let rest = self
                    .rest
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(until)));
                if rest.deadline() != until {
                    rest.as_mut().reset(until);
                }
                return rest.as_mut().poll(cx);
            }
            // The rest is over: the next call probes the endpoint.
        }
        Poll::Ready(())
    }

    fn rewrite<B>(&self, req: http::Request<B>) -> Result<http::Request<B>, http::Error> {
        let (mut parts, body) = req.into_parts();
        let mut uri = mem::take(&mut parts.uri).into_parts();
        uri.scheme = Some(self.scheme().clone());
        uri.authority = Some(self.authority().clone());
        if uri.path_and_query.is_none() {
            uri.path_and_query = Some(PathAndQuery::from_static("/"));
        }
        parts.uri = http::Uri::from_parts(uri)?;
        Ok(http::Request::from_parts(parts, body))
    }
}

impl<S: Clone> Clone for HttpEndpoint<S> {
    /// A clone shares the original's health (resting state).
    fn clone(&self) -> Self {
        HttpEndpoint {
            inner: self.inner.clone(),
            served_by: self.served_by.clone(),
            health: self.health.clone(),
            rest: None,
        }
    }
}

impl<S> fmt::Debug for HttpEndpoint<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpEndpoint")
            .field("served_by", &self.served_by)
            .field("failures", &self.health.failures.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<S, B, R> Service<http::Request<B>> for HttpEndpoint<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Error: Into<BoxError>,
{
    type Response = http::Response<R>;
    type Error = BoxError;
    type Future = EndpointFuture<S::Future>;

    /// `Pending` while the endpoint rests after a failure. An error from the inner
    /// service's `poll_ready` also puts it to rest (rather than having the balancer evict
    /// it for good), unless resting is turned off.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        if self.poll_rest(cx).is_pending() {
            return Poll::Pending;
        }
        match self.inner.poll_ready(cx) {
            Poll::Ready(Err(e)) if self.health.rests() => {
                let error: BoxError = e.into();
                tracing::debug!(endpoint = %self.authority(), %error, "endpoint not ready; resting");
                self.health.record_failure();
                if self.poll_rest(cx).is_ready() {
                    // The rest is already over: look again on the next poll.
                    cx.waker().wake_by_ref();
                }
                Poll::Pending
            }
            ready => ready.map_err(Into::into),
        }
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        match self.rewrite(req) {
            Ok(req) => EndpointFuture {
                inner: CallOrFail::call(self.inner.call(req)),
                called: Some((self.health.clone(), self.served_by.clone())),
            },
            // Not the endpoint's failure: it does not rest for it.
            Err(e) => EndpointFuture {
                inner: CallOrFail::fail(e),
                called: None,
            },
        }
    }
}

pin_project! {
    /// The response future of an [`HttpEndpoint`]: the inner service's answer, marked with
    /// [`ServedBy`], or the error rewriting the request's URI. Panics if polled after it
    /// completed.
    pub struct EndpointFuture<F> {
        #[pin]
        inner: CallOrFail<F, BoxError>,
        // The endpoint's health and name, when the call was made.
        called: Option<(Arc<Health>, ServedBy)>,
    }
}

impl<F> fmt::Debug for EndpointFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EndpointFuture")
    }
}

impl<F, R, E> Future for EndpointFuture<F>
where
    F: Future<Output = Result<http::Response<R>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<http::Response<R>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = ready!(this.inner.poll(cx));
        if let Some((health, served_by)) = this.called.take() {
            match &out {
                Ok(_) => health.record_success(),
                Err(_) => health.record_failure(),
            }
            return Poll::Ready(out.map(|mut rsp| {
                rsp.extensions_mut().insert(served_by);
                rsp
            }));
        }
        Poll::Ready(out)
    }
}

// === Health ===

/// How long an endpoint rests after consecutive failed calls: `base`, doubling, up to `max`.
#[derive(Clone, Copy, Debug)]
struct RestBackoff {
    base: Duration,
    max: Duration,
}

impl Default for RestBackoff {
    fn default() -> Self {
        RestBackoff {
            base: DEFAULT_FAILURE_BACKOFF,
            max: DEFAULT_MAX_FAILURE_BACKOFF,
        }
    }
}

impl RestBackoff {
    fn after(&self, failures: u32) -> Duration {
        let factor = 1u32 << failures.saturating_sub(1).min(16);
        self.base.saturating_mul(factor).min(self.max)
    }
}

/// Shared failure state of one endpoint (the endpoint and its in-flight calls).
struct Health {
    backoff: RestBackoff,
    /// Consecutive failures; 0 means healthy (and lets the fast path skip the lock).
    failures: AtomicU32,
    resting_until: Mutex<Option<Instant>>,
}

impl fmt::Debug for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Health")
            .field("failures", &self.failures.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Health {
    fn new(backoff: RestBackoff) -> Self {
        Health {
            backoff,
            failures: AtomicU32::new(0),
            resting_until: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Instant>> {
        crate::sync::lock(&self.resting_until)
    }

    fn resting_until(&self) -> Option<Instant> {
        if self.failures.load(Ordering::Acquire) == 0 {
            return None;
        }
        *self.lock()
    }

    fn record_success(&self) {
        if self.failures.load(Ordering::Acquire) != 0 {
            let mut until = self.lock();
            self.failures.store(0, Ordering::Release);
            *until = None;
        }
    }

    fn rests(&self) -> bool {
        !self.backoff.base.is_zero()
    }

    fn record_failure(&self) {
        if !self.rests() {
            return;
        }
        let now = Instant::now();
        let mut until = self.lock();
        if until.is_some_and(|u| now < u) {
            // Already resting: failures of calls sent before the rest began say nothing new.
            return;
        }
        let n = self.failures.load(Ordering::Acquire).saturating_add(1);
        self.failures.store(n, Ordering::Release);
        *until = Some(now + self.backoff.after(n));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PortWrapper;

    fn make() -> MakeHttpEndpoint<()> {
        MakeHttpEndpoint::new(())
    }

    #[test]
    fn address_prefers_enabled_secure_port() {
        let i = InstanceInfo::builder("a")
            .ip_addr("10.0.0.1")
            .port(80)
            .secure_port(443)
            .build();
        let (s, a) = make().address(&i).unwrap();
        assert_eq!((s.as_str(), a.as_str()), ("https", "10.0.0.1:443"));
        let (s, a) = make().prefer_secure(false).address(&i).unwrap();
        assert_eq!((s.as_str(), a.as_str()), ("http", "10.0.0.1:80"));
    }

    #[test]
    fn address_skips_instances_without_ports_or_host() {
        let i = InstanceInfo::builder("a")
            .port_wrapper(PortWrapper::disabled(80))
            .build();
        assert!(make().address(&i).is_none());
        let i = InstanceInfo::builder("a").ip_addr("").build();
        assert!(make().address(&i).is_none());
        let i = InstanceInfo::builder("a").ip_addr("bad host/x").build();
        assert!(make().address(&i).is_none());
    }

    #[test]
    fn address_brackets_ipv6_and_can_use_host_name() {
        let i = InstanceInfo::builder("a")
            .ip_addr("::1")
            .host_name("h")
            .port(81)
            .build();
        assert_eq!(make().address(&i).unwrap().1.as_str(), "[::1]:81");
        assert_eq!(
            make().use_host_name(true).address(&i).unwrap().1.as_str(),
            "h:81"
        );
    }

    #[test]
    fn rewrite_keeps_path_and_query() {
        let ep = HttpEndpoint::new((), Scheme::HTTP, Authority::from_static("10.0.0.1:81"));
        let req = http::Request::get("http://ORDERS/a/b?c=d")
            .body(())
            .unwrap();
        let req = ep.rewrite(req).unwrap();
        assert_eq!(req.uri(), "http://10.0.0.1:81/a/b?c=d");
        let req = http::Request::get("/x").body(()).unwrap();
        assert_eq!(ep.rewrite(req).unwrap().uri(), "http://10.0.0.1:81/x");
    }

    #[test]
    fn backoff_doubles_up_to_max() {
        let b = RestBackoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        assert_eq!(b.after(1), Duration::from_millis(100));
        assert_eq!(b.after(2), Duration::from_millis(200));
        assert_eq!(b.after(4), Duration::from_millis(800));
        assert_eq!(b.after(5), Duration::from_secs(1));
        assert_eq!(b.after(u32::MAX), Duration::from_secs(1));
    }
}
