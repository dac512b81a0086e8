//! `BalancedClient`: the ready-made outbound stack for one target.

use super::pool;
use super::{EurekaDiscover, MakeEndpoint, MakeHttpEndpoint, Unavailable};
use crate::client::{ClientSnapshot, Target};
use crate::BoxError;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::watch;
use tower::balance::p2c::Balance;
use tower::load::{CompleteOnResponse, PeakEwmaDiscover};
use tower::retry::budget::{Budget, TpsBudget};
use tower::retry::Policy;
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceBuilder};
use tracing::Instrument;

/// Total time a call may take, retries included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Time one attempt may take, waiting for an endpoint included.
pub const DEFAULT_PER_TRY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a call waits for a ready endpoint before the balancer fails fast.
pub const DEFAULT_FAILFAST_TIMEOUT: Duration = Duration::from_secs(3);
/// RTT assumed for an endpoint before its first answer (PeakEwma's floor).
pub const DEFAULT_RTT: Duration = Duration::from_millis(30);
/// PeakEwma decay period.
pub const DEFAULT_DECAY: Duration = Duration::from_secs(10);
/// Retries of one call at most (so at most 3 attempts).
pub const DEFAULT_MAX_RETRIES: usize = 2;
/// Requests the buffer in front of the balancer holds.
pub const DEFAULT_BUFFER_CAPACITY: usize = 1024;

/// A `Clone + Send + Sync` HTTP client service that sends every request to one
/// [`Target`], balanced over its `UP` instances.
///
/// From the outside in:
///
/// 1. a `tracing` span (`eureka.call`, with the target, method and path);
/// 2. a total [`timeout`](Builder::timeout) (`tower::timeout`: an error, not a 408);
/// 3. retries of **idempotent** requests (`GET`, `HEAD`, `OPTIONS`, `PUT`, `DELETE`,
///    `TRACE`) that failed with an error (connection refused, reset, per-try timeout, ...),
///    limited by a [`TpsBudget`] and [`max_retries`](Builder::max_retries). HTTP error
///    statuses are answers and are not retried, nor is [`Unavailable`];
/// 4. a [`per-try timeout`](Builder::per_try_timeout), outside the buffer, so it also
///    bounds the wait for an endpoint;
/// 5. a `Buffer`, whose worker task also drives discovery while idle;
/// 6. failfast: a call waits at most [`failfast_timeout`](Builder::failfast_timeout) for
///    a ready endpoint, then fails with [`Unavailable`] (and later calls fail at once
///    until an endpoint is ready again) — with no endpoint a call never hangs;
/// 7. tower's p2c `Balance` over `PeakEwma` endpoints (RTT floor 30 ms, decay 10 s), fed
///    by an [`EurekaDiscover`];
/// 8. per instance, an [`HttpEndpoint`](super::HttpEndpoint) that rewrites the URI to the
///    instance's address and rests after failures, around a clone of your HTTP client.
///
/// **Bodies.** A request must be cloneable to be retried, so the stack takes
/// `http::Request<B>` with `B: Clone`: use a buffered body — `http_body_util::Full<Bytes>`
/// with hyper-util's client, `bytes::Bytes` with [`ReqwestService`](super::ReqwestService).
/// Only idempotent requests are cloned. The response body is the inner client's, streamed.
///
/// **Addresses.** The request's own scheme and authority are replaced; `http://orders/a?b`
/// and `/a?b` both go to `/a?b` on the chosen instance.
///
/// ```no_run
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use hyper_util::client::legacy::Client;
/// use hyper_util::rt::TokioExecutor;
/// use tower::ServiceExt;
/// use tower_eureka::client::{EurekaClient, Target};
/// use tower_eureka::discover::BalancedClient;
///
/// # async fn run() -> Result<(), tower_eureka::BoxError> {
/// let eureka = EurekaClient::builder(["http://eureka:8761/eureka"]).fetch_only().start()?;
/// let http = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
/// let orders = BalancedClient::builder(eureka.snapshots(), Target::app("orders"))
///     .timeout(std::time::Duration::from_secs(5))
///     .build(http);
///
/// let req = http::Request::get("/orders/42").body(Full::new(Bytes::new()))?;
/// let rsp = orders.oneshot(req).await?;
/// println!("{}", rsp.status());
/// # Ok(()) }
/// ```
pub struct BalancedClient<B, R> {
    inner: BoxCloneSyncService<http::Request<B>, http::Response<R>, BoxError>,
    target: Arc<str>,
}

impl BalancedClient<(), ()> {
    /// Starts configuring a client of `target`, discovered in `snapshots` (from
    /// [`EurekaClient::snapshots`](crate::client::EurekaClient::snapshots), or any
    /// `watch` channel of snapshots).
    pub fn builder(snapshots: watch::Receiver<Arc<ClientSnapshot>>, target: Target) -> Builder {
        Builder {
            snapshots,
            target,
            settings: Settings::default(),
        }
    }
}

impl<B, R> BalancedClient<B, R> {
    /// The target, as shown in errors: `app ORDERS`, `vip orders`, `secure vip orders`.
    pub fn target(&self) -> &str {
        &self.target
    }
}

impl<B, R> Clone for BalancedClient<B, R> {
    fn clone(&self) -> Self {
        BalancedClient {
            inner: self.inner.clone(),
            target: self.target.clone(),
        }
    }
}

impl<B, R> fmt::Debug for BalancedClient<B, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BalancedClient")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl<B, R> Service<http::Request<B>> for BalancedClient<B, R> {
    type Response = http::Response<R>;
    type Error = BoxError;
    type Future = <BoxCloneSyncService<http::Request<B>, http::Response<R>, BoxError> as Service<
        http::Request<B>,
    >>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        self.inner.call(req)
    }
}

/// A shortcut for `BalancedClient::builder(snapshots, target).build(inner)`: the stack with
/// every default.
///
/// # Panics
///
/// Outside a tokio runtime.
pub fn balanced_client<S, B, R>(
    snapshots: watch::Receiver<Arc<ClientSnapshot>>,
    target: Target,
    inner: S,
) -> BalancedClient<B, R>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: Clone + Send + 'static,
    R: Send + 'static,
{
    BalancedClient::builder(snapshots, target).build(inner)
}

// === Builder ===

/// Configures a [`BalancedClient`].
pub struct Builder {
    snapshots: watch::Receiver<Arc<ClientSnapshot>>,
    target: Target,
    settings: Settings,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("target", &self.target)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// Replaces every setting at once.
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// See [`Settings::timeout`].
    pub fn timeout(mut self, total: Duration) -> Self {
        self.settings = self.settings.timeout(total);
        self
    }

    /// See [`Settings::per_try_timeout`].
    pub fn per_try_timeout(mut self, per_try: Duration) -> Self {
        self.settings = self.settings.per_try_timeout(per_try);
        self
    }

    /// See [`Settings::failfast_timeout`].
    pub fn failfast_timeout(mut self, failfast: Duration) -> Self {
        self.settings = self.settings.failfast_timeout(failfast);
        self
    }

    /// See [`Settings::retry_budget`].
    pub fn retry_budget(mut self, budget: TpsBudget) -> Self {
        self.settings = self.settings.retry_budget(budget);
        self
    }

    /// See [`Settings::max_retries`].
    pub fn max_retries(mut self, retries: usize) -> Self {
        self.settings = self.settings.max_retries(retries);
        self
    }

    /// See [`Settings::buffer_capacity`].
    pub fn buffer_capacity(mut self, capacity: usize) -> Self {
        self.settings = self.settings.buffer_capacity(capacity);
        self
    }

    /// See [`Settings::peak_ewma`].
    pub fn peak_ewma(mut self, default_rtt: Duration, decay: Duration) -> Self {
        self.settings = self.settings.peak_ewma(default_rtt, decay);
        self
    }

    /// See [`Settings::use_host_name`].
    pub fn use_host_name(mut self, yes: bool) -> Self {
        self.settings = self.settings.use_host_name(yes);
        self
    }

    /// See [`Settings::prefer_secure`].
    pub fn prefer_secure(mut self, yes: bool) -> Self {
        self.settings = self.settings.prefer_secure(yes);
        self
    }

    /// Builds the stack around `inner`, the HTTP client service cloned for each endpoint
    /// (hyper-util's legacy `Client`, a [`ReqwestService`](super::ReqwestService), ...).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (the balancer runs on a spawned task).
    pub fn build<S, B, R>(self, inner: S) -> BalancedClient<B, R>
    where
        S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
        B: Clone + Send + 'static,
        R: Send + 'static,
    {
        self.settings.build(self.snapshots, self.target, inner)
    }

    /// Builds the stack with a custom endpoint factory instead of
    /// [`MakeHttpEndpoint`]; the endpoints must accept absolute-form requests themselves.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn build_with<M, B, R>(self, make: M) -> BalancedClient<B, R>
    where
        M: MakeEndpoint + Send + 'static,
        M::Endpoint: Service<http::Request<B>, Response = http::Response<R>> + Send + 'static,
        <M::Endpoint as Service<http::Request<B>>>::Error: Into<BoxError>,
        <M::Endpoint as Service<http::Request<B>>>::Future: Send + 'static,
        B: Clone + Send + 'static,
        R: Send + 'static,
    {
        self.settings.build_with(self.snapshots, self.target, make)
    }
}

// === Settings ===

/// The settings of a [`BalancedClient`], apart from its target: what
/// [`BalancedClient::builder`] configures, and what a
/// [`RouteByHostLayer`](super::RouteByHostLayer) applies to each target.
///
/// ```
/// use std::time::Duration;
/// use tower_eureka::discover::Settings;
/// let s = Settings::default().timeout(Duration::from_secs(5)).max_retries(1);
/// # drop(s);
/// ```
#[derive(Clone)]
pub struct Settings {
    timeout: Duration,
    per_try_timeout: Duration,
    failfast_timeout: Duration,
    budget: Option<Arc<TpsBudget>>,
    max_retries: usize,
    buffer_capacity: usize,
    default_rtt: Duration,
    decay: Duration,
    use_host_name: bool,
    prefer_secure: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            timeout: DEFAULT_TIMEOUT,
            per_try_timeout: DEFAULT_PER_TRY_TIMEOUT,
            failfast_timeout: DEFAULT_FAILFAST_TIMEOUT,
            budget: None,
            max_retries: DEFAULT_MAX_RETRIES,
            buffer_capacity: DEFAULT_BUFFER_CAPACITY,
            default_rtt: DEFAULT_RTT,
            decay: DEFAULT_DECAY,
            use_host_name: false,
            prefer_secure: true,
        }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("timeout", &self.timeout)
            .field("per_try_timeout", &self.per_try_timeout)
            .field("failfast_timeout", &self.failfast_timeout)
            .field("max_retries", &self.max_retries)
            .field("buffer_capacity", &self.buffer_capacity)
            .field("default_rtt", &self.default_rtt)
            .field("decay", &self.decay)
            .field("use_host_name", &self.use_host_name)
            .field("prefer_secure", &self.prefer_secure)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Total time a call may take, retries included (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, total: Duration) -> Self {
        self.timeout = total;
        self
    }

    /// Time one attempt may take, including the wait for a ready endpoint (default
    /// [`DEFAULT_PER_TRY_TIMEOUT`]). Keep it above the failfast timeout, or calls to a
    /// target without endpoints end with a timeout error instead of [`Unavailable`].
    pub fn per_try_timeout(mut self, per_try: Duration) -> Self {
        self.per_try_timeout = per_try;
        self
    }

    /// How long a call waits for a ready endpoint before the balancer fails fast with
    /// [`Unavailable`] (default [`DEFAULT_FAILFAST_TIMEOUT`]).
    pub fn failfast_timeout(mut self, failfast: Duration) -> Self {
        self.failfast_timeout = failfast;
        self
    }

    /// The retry budget (default: a fresh `TpsBudget::default()` per client — 10 s
    /// window, 10 retries a second plus 20 % of calls). A budget set here is shared by
    /// every client built from these settings.
    pub fn retry_budget(mut self, budget: TpsBudget) -> Self {
        self.budget = Some(Arc::new(budget));
        self
    }

    /// Retries of one call at most (default [`DEFAULT_MAX_RETRIES`]); 0 turns retries off.
    pub fn max_retries(mut self, retries: usize) -> Self {
        self.max_retries = retries;
        self
    }

    /// Requests the buffer in front of the balancer holds (default
    /// [`DEFAULT_BUFFER_CAPACITY`]).
    pub fn buffer_capacity(mut self, capacity: usize) -> Self {
        self.buffer_capacity = capacity;
        self
    }

    /// PeakEwma's RTT floor for new endpoints and its decay period (defaults
    /// [`DEFAULT_RTT`], [`DEFAULT_DECAY`]).
    pub fn peak_ewma(mut self, default_rtt: Duration, decay: Duration) -> Self {
        self.default_rtt = default_rtt;
        self.decay = decay;
        self
    }

    /// Address instances by `hostName` instead of `ipAddr` (default: `ipAddr`).
    pub fn use_host_name(mut self, yes: bool) -> Self {
        self.use_host_name = yes;
        self
    }

    /// Call the secure port (`https`) when an instance enables it (default: yes).
    pub fn prefer_secure(mut self, yes: bool) -> Self {
        self.prefer_secure = yes;
        self
    }

    pub(crate) fn build<S, B, R>(
        &self,
        snapshots: watch::Receiver<Arc<ClientSnapshot>>,
        target: Target,
        inner: S,
    ) -> BalancedClient<B, R>
    where
        S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
        B: Clone + Send + 'static,
        R: Send + 'static,
    {
        let make = MakeHttpEndpoint::new(inner)
            .use_host_name(self.use_host_name)
            .prefer_secure(self.prefer_secure);
        self.build_with(snapshots, target, make)
    }

    pub(crate) fn build_with<M, B, R>(
        &self,
        snapshots: watch::Receiver<Arc<ClientSnapshot>>,
        target: Target,
        make: M,
    ) -> BalancedClient<B, R>
    where
        M: MakeEndpoint + Send + 'static,
        M::Endpoint: Service<http::Request<B>, Response = http::Response<R>> + Send + 'static,
        <M::Endpoint as Service<http::Request<B>>>::Error: Into<BoxError>,
        <M::Endpoint as Service<http::Request<B>>>::Future: Send + 'static,
        B: Clone + Send + 'static,
        R: Send + 'static,
    {
        let label = target_label(&target);
        let discover = EurekaDiscover::new(snapshots, target, make);
        let discover = PeakEwmaDiscover::new::<http::Request<B>>(
            discover,
            self.default_rtt,
            self.decay,
            CompleteOnResponse::default(),
        );
        let balance: Balance<_, http::Request<B>> = Balance::new(discover);
        let pool = pool::spawn(
            balance,
            label.clone(),
            self.failfast_timeout,
            self.buffer_capacity,
        );
        let policy = RetryPolicy {
            budget: self
                .budget
                .clone()
                .unwrap_or_else(|| Arc::new(TpsBudget::default())),
            retries_left: self.max_retries,
        };
        let stack = ServiceBuilder::new()
            .layer_fn(|inner| Traced {
                inner,
                target: label.clone(),
            })
            .timeout(self.timeout)
            .retry(policy)
            .timeout(self.per_try_timeout)
            .service(pool);
        BalancedClient {
            inner: BoxCloneSyncService::new(stack),
            target: label,
        }
    }
}

/// `app ORDERS`, `vip orders`, `secure vip orders`.
pub(crate) fn target_label(target: &Target) -> Arc<str> {
    match target {
        Target::App(a) => format!("app {a}"),
        Target::Vip(v) => format!("vip {v}"),
        Target::SecureVip(v) => format!("secure vip {v}"),
    }
    .into()
}

// === Traced ===

#[derive(Clone)]
struct Traced<S> {
    inner: S,
    target: Arc<str>,
}

impl<S, B> Service<http::Request<B>> for Traced<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = tracing::instrument::Instrumented<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let span = tracing::debug_span!(
            "eureka.call",
            target = %self.target,
            method = %req.method(),
            path = req.uri().path(),
        );
        let _enter = span.enter();
        self.inner.call(req).instrument(span.clone())
    }
}

// === RetryPolicy ===

/// Retries idempotent requests that failed with an error, within a budget.
#[derive(Clone)]
struct RetryPolicy {
    budget: Arc<TpsBudget>,
    retries_left: usize,
}

fn is_idempotent(method: &http::Method) -> bool {
    matches!(
        *method,
        http::Method::GET
            | http::Method::HEAD
            | http::Method::OPTIONS
            | http::Method::PUT
            | http::Method::DELETE
            | http::Method::TRACE
    )
}

fn is_retryable(error: &BoxError) -> bool {
    // Failfast would fail again at once; a dead buffer worker stays dead.
    !(error.is::<Unavailable>()
        || error.is::<tower::buffer::error::Closed>()
        || error.is::<tower::buffer::error::ServiceError>())
}

impl<B: Clone, R> Policy<http::Request<B>, http::Response<R>, BoxError> for RetryPolicy {
    type Future = std::future::Ready<()>;

    fn retry(
        &mut self,
        req: &mut http::Request<B>,
        result: &mut Result<http::Response<R>, BoxError>,
    ) -> Option<Self::Future> {
        match result {
            Ok(_) => {
                self.budget.deposit();
                None
            }
            Err(error) => {
                if self.retries_left == 0 || !is_retryable(error) {
                    return None;
                }
                if !self.budget.withdraw() {
                    tracing::debug!(%error, "retry budget exhausted; not retrying");
                    return None;
                }
                self.retries_left -= 1;
                tracing::debug!(%error, method = %req.method(), "retrying");
                Some(std::future::ready(()))
            }
        }
    }

    fn clone_request(&mut self, req: &http::Request<B>) -> Option<http::Request<B>> {
        if self.retries_left > 0 && is_idempotent(req.method()) {
            Some(req.clone())
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotent_methods() {
        for m in ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"] {
            assert!(is_idempotent(&m.parse().unwrap()), "{m}");
        }
        for m in ["POST", "PATCH", "CONNECT"] {
            assert!(!is_idempotent(&m.parse().unwrap()), "{m}");
        }
    }

    #[test]
    fn unavailable_is_not_retried() {
        let e: BoxError = Unavailable::new("app A".into(), 0).into();
        assert!(!is_retryable(&e));
        let e: BoxError = tower::timeout::error::Elapsed::new().into();
        assert!(is_retryable(&e));
    }

    #[test]
    fn labels() {
        assert_eq!(&*target_label(&Target::app("orders")), "app ORDERS");
        assert_eq!(&*target_label(&Target::vip("Orders")), "vip orders");
        assert_eq!(&*target_label(&Target::secure_vip("o")), "secure vip o");
    }
}
