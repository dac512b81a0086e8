//! `BalancedClient`: the ready-made outbound stack for one target.
//!
//! * `mod.rs`: the client, a boxed `Clone + Send + Sync` service;
//! * `builder.rs`: its settings and how the stack is assembled;
//! * `pool.rs`: the balancer's task, with failfast;
//! * `retry.rs`, `trace.rs`: the retry policy and the tracing span.

mod builder;
mod pool;
mod retry;
mod trace;

pub use self::builder::{
    BalancedClientBuilder, DEFAULT_BUFFER_CAPACITY, DEFAULT_DECAY, DEFAULT_FAILFAST_TIMEOUT,
    DEFAULT_MAX_RETRIES, DEFAULT_PER_TRY_TIMEOUT, DEFAULT_RTT, DEFAULT_TIMEOUT,
};

use crate::client::{ClientSnapshot, Target};
use crate::BoxError;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::watch;
use tower::util::BoxCloneSyncService;
use tower::Service;

/// A `Clone + Send + Sync` HTTP client service that sends every request to one
/// [`Target`], balanced over its `UP` instances.
///
/// From the outside in:
///
/// 1. a `tracing` span (`eureka.call`, with the target, method and path);
/// 2. a total [`timeout`](BalancedClientBuilder::timeout) (`tower::timeout`: an error, not a 408);
/// 3. retries of **idempotent** requests (`GET`, `HEAD`, `OPTIONS`, `PUT`, `DELETE`,
///    `TRACE`) that failed with an error (connection refused, reset, per-try timeout, ...),
///    limited by a [`TpsBudget`](tower::retry::budget::TpsBudget) and [`max_retries`](BalancedClientBuilder::max_retries). HTTP error
///    statuses are answers and are not retried, nor is [`Unavailable`](super::Unavailable);
/// 4. a [`per-try timeout`](BalancedClientBuilder::per_try_timeout), outside the buffer, so it also
///    bounds the wait for an endpoint;
/// 5. a `Buffer`, whose worker task also drives discovery while idle;
/// 6. failfast: a call waits at most [`failfast_timeout`](BalancedClientBuilder::failfast_timeout) for
///    a ready endpoint, then fails with [`Unavailable`](super::Unavailable) (and later calls fail at once
///    until an endpoint is ready again) — with no endpoint a call never hangs;
/// 7. tower's p2c `Balance` over `PeakEwma` endpoints (RTT floor 30 ms, decay 10 s), fed
///    by an [`EurekaDiscover`](super::EurekaDiscover);
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
/// let orders = BalancedClient::builder()
///     .timeout(std::time::Duration::from_secs(5))
///     .build(eureka.snapshots(), Target::app("orders"), http);
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
    /// Starts configuring clients: every setting at its default. The target and the
    /// snapshots come with [`BalancedClientBuilder::build`].
    pub fn builder() -> BalancedClientBuilder {
        BalancedClientBuilder::default()
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

/// A shortcut for `BalancedClient::builder().build(snapshots, target, inner)`: the stack
/// with every default.
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
    BalancedClient::builder().build(snapshots, target, inner)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(&*target_label(&Target::app("orders")), "app ORDERS");
        assert_eq!(&*target_label(&Target::vip("Orders")), "vip orders");
        assert_eq!(&*target_label(&Target::secure_vip("o")), "secure vip o");
    }
}
