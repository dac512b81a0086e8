//! Calls by name: route `http://APP-NAME/path` to a balancer per target.

use super::balanced::{target_label, BalancedClient, BalancedClientBuilder};
use super::future::CallOrFail;
use super::RouteError;
use crate::client::{ClientSnapshot, Target};
use crate::sync::{read, write};
use crate::BoxError;
use pin_project_lite::pin_project;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use tokio::sync::watch;
use tower::util::Oneshot;
use tower::{Layer, Service, ServiceExt};

/// How a request's host names its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum HostIs {
    /// The host is an application name (`http://orders/...` → app `ORDERS`). The default.
    #[default]
    App,
    /// The host is a VIP address.
    Vip,
    /// The host is a secure VIP address.
    SecureVip,
}

impl HostIs {
    fn target(self, host: &str) -> Target {
        match self {
            HostIs::App => Target::app(host),
            HostIs::Vip => Target::vip(host),
            HostIs::SecureVip => Target::secure_vip(host),
        }
    }
}

/// The default cap on distinct targets one router balances.
pub const DEFAULT_MAX_TARGETS: usize = 256;

/// Sends each request to the target its host names, through one [`BalancedClient`] per
/// target, created on first use and kept.
///
/// `http://orders/api/x` goes to `/api/x` on an `UP` instance of `ORDERS` (app lookups are
/// case-insensitive, C-27); with [`HostIs::Vip`] the host is a VIP address instead. The
/// host comes from the URI, else from the `Host` header; a request with neither fails with
/// [`RouteError`]. At most [`max_targets`](RouteByHostLayer::max_targets) balancers are created (each
/// has a task); requests for further targets fail with [`RouteError`].
///
/// Every per-target client is built by the same [`BalancedClientBuilder`] (see
/// [`RouteByHostLayer::client_builder`]) around a clone of `inner`. A retry budget set there
/// is shared by all targets. To call one fixed target, use a [`BalancedClient`] directly.
///
/// ```no_run
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use hyper_util::client::legacy::Client;
/// use hyper_util::rt::TokioExecutor;
/// use tower::ServiceExt;
/// use tower_eureka::client::EurekaClient;
/// use tower_eureka::discover::RouteByHostLayer;
/// use tower::Layer;
///
/// # async fn run() -> Result<(), tower_eureka::BoxError> {
/// let eureka = EurekaClient::builder(["http://eureka:8761/eureka"]).fetch_only().start()?;
/// let http = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
/// let by_name = RouteByHostLayer::new(eureka.snapshots()).layer(http);
///
/// let req = http::Request::get("http://billing/invoices").body(Full::new(Bytes::new()))?;
/// let rsp = by_name.oneshot(req).await?;
/// # Ok(()) }
/// ```
pub struct RouteByHost<S, B, R> {
    inner: S,
    state: Arc<RouterState<B, R>>,
}

/// What every clone of one router shares: its settings and its per-target clients.
struct RouterState<B, R> {
    snapshots: watch::Receiver<Arc<ClientSnapshot>>,
    client_builder: BalancedClientBuilder,
    host_is: HostIs,
    max_targets: usize,
    clients: RwLock<Clients<B, R>>,
}

struct Clients<B, R> {
    /// Raw host as seen in requests -> client (a fast lookup without normalising).
    by_host: HashMap<Box<str>, BalancedClient<B, R>>,
    /// Normalised target -> client (one balancer per target, whatever the spelling).
    by_target: HashMap<Target, BalancedClient<B, R>>,
}

impl<S, B, R> RouteByHost<S, B, R> {
    /// A router over the snapshots `snapshots` receives, calling through clones of `inner`,
    /// with default settings.
    pub fn new(snapshots: watch::Receiver<Arc<ClientSnapshot>>, inner: S) -> Self {
        RouteByHostLayer::new(snapshots).layer(inner)
    }

    /// How many targets have a balancer.
    pub fn targets(&self) -> usize {
        read(&self.state.clients).by_target.len()
    }
}

/// The host a request is addressed to: the URI's, else the `Host` header's.
fn request_host<B>(req: &http::Request<B>) -> Option<&str> {
    if let Some(host) = req.uri().host() {
        return Some(host).filter(|h| !h.is_empty());
    }
    let value = req.headers().get(http::header::HOST)?.to_str().ok()?;
    // Strip a port; keep IPv6 brackets out of the name.
    let host = match value.rsplit_once(':') {
        Some((h, port)) if !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => value,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']').trim();
    Some(host).filter(|h| !h.is_empty())
}

impl<S, B, R> RouteByHost<S, B, R>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: Clone + Send + 'static,
    R: Send + 'static,
{
    fn client_for(&self, host: &str) -> Result<BalancedClient<B, R>, RouteError> {
        if let Some(c) = read(&self.state.clients).by_host.get(host) {
            return Ok(c.clone());
        }
        let target = self.state.host_is.target(host);
        let mut clients = write(&self.state.clients);
        let client = match clients.by_target.get(&target) {
            Some(c) => c.clone(),
            None => {
                if clients.by_target.len() >= self.state.max_targets {
                    return Err(RouteError::too_many_targets(self.state.max_targets));
                }
                tracing::debug!(target = %target_label(&target), "new balancer");
                let c = self.state.client_builder.build(
                    self.state.snapshots.clone(),
                    target.clone(),
                    self.inner.clone(),
                );
                clients.by_target.insert(target, c.clone());
                c
            }
        };
        // Aliases are bounded too: a few spellings per target.
        if clients.by_host.len() < self.state.max_targets.saturating_mul(4) {
            clients.by_host.insert(host.into(), client.clone());
        }
        Ok(client)
    }
}

impl<S, B, R> Service<http::Request<B>> for RouteByHost<S, B, R>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: Clone + Send + 'static,
    R: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = BoxError;
    type Future = RouteFuture<B, R>;

    /// Always ready: readiness is the chosen target's, awaited in the call.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let client = match request_host(&req) {
            None => Err(RouteError::missing_host()),
            Some(host) => self.client_for(host),
        };
        let inner = match client {
            Ok(client) => CallOrFail::call(client.oneshot(req)),
            Err(e) => CallOrFail::fail(e),
        };
        RouteFuture { inner }
    }
}

impl<S: Clone, B, R> Clone for RouteByHost<S, B, R> {
    fn clone(&self) -> Self {
        RouteByHost {
            inner: self.inner.clone(),
            state: self.state.clone(),
        }
    }
}

impl<S, B, R> fmt::Debug for RouteByHost<S, B, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteByHost")
            .field("host_is", &self.state.host_is)
            .field("max_targets", &self.state.max_targets)
            .field("targets", &self.targets())
            .finish_non_exhaustive()
    }
}

pin_project! {
    /// The response future of [`RouteByHost`]: the target's answer, or the [`RouteError`]
    /// that kept the request from being routed. Panics if polled after it completed.
    pub struct RouteFuture<B, R> {
        #[pin]
        inner: CallOrFail<Oneshot<BalancedClient<B, R>, http::Request<B>>, BoxError>,
    }
}

impl<B, R> fmt::Debug for RouteFuture<B, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RouteFuture")
    }
}

impl<B, R> Future for RouteFuture<B, R> {
    type Output = Result<http::Response<R>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

// === RouteByHostLayer ===

/// Wraps an HTTP client service in a [`RouteByHost`].
pub struct RouteByHostLayer<B, R> {
    snapshots: watch::Receiver<Arc<ClientSnapshot>>,
    client_builder: BalancedClientBuilder,
    host_is: HostIs,
    max_targets: usize,
    _types: PhantomData<fn(B) -> R>,
}

impl<B, R> RouteByHostLayer<B, R> {
    /// Routes over the snapshots `snapshots` receives, with default settings.
    pub fn new(snapshots: watch::Receiver<Arc<ClientSnapshot>>) -> Self {
        RouteByHostLayer {
            snapshots,
            client_builder: BalancedClientBuilder::default(),
            host_is: HostIs::App,
            max_targets: DEFAULT_MAX_TARGETS,
            _types: PhantomData,
        }
    }

    /// Which kind of target the host names (default [`HostIs::App`]).
    pub fn host_is(mut self, host_is: HostIs) -> Self {
        self.host_is = host_is;
        self
    }

    /// The most targets a router balances (default [`DEFAULT_MAX_TARGETS`]).
    pub fn max_targets(mut self, max: usize) -> Self {
        self.max_targets = max;
        self
    }

    /// The builder of every per-target client (default `BalancedClient::builder()`).
    pub fn client_builder(mut self, builder: BalancedClientBuilder) -> Self {
        self.client_builder = builder;
        self
    }
}

impl<B, R> Clone for RouteByHostLayer<B, R> {
    fn clone(&self) -> Self {
        RouteByHostLayer {
            snapshots: self.snapshots.clone(),
            client_builder: self.client_builder.clone(),
            host_is: self.host_is,
            max_targets: self.max_targets,
            _types: PhantomData,
        }
    }
}

impl<B, R> fmt::Debug for RouteByHostLayer<B, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteByHostLayer")
            .field("client_builder", &self.client_builder)
            .field("host_is", &self.host_is)
            .field("max_targets", &self.max_targets)
            .finish_non_exhaustive()
    }
}

impl<S, B, R> Layer<S> for RouteByHostLayer<B, R> {
    type Service = RouteByHost<S, B, R>;

    fn layer(&self, inner: S) -> Self::Service {
        RouteByHost {
            inner,
            state: Arc::new(RouterState {
                snapshots: self.snapshots.clone(),
                client_builder: self.client_builder.clone(),
                host_is: self.host_is,
                max_targets: self.max_targets,
                clients: RwLock::new(Clients {
                    by_host: HashMap::new(),
                    by_target: HashMap::new(),
                }),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(uri: &str, host: Option<&str>) -> http::Request<()> {
        let mut b = http::Request::get(uri);
        if let Some(h) = host {
            b = b.header(http::header::HOST, h);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn host_from_uri_then_header() {
        assert_eq!(request_host(&req("http://orders/x", None)), Some("orders"));
        assert_eq!(
            request_host(&req("http://orders:8080/x", Some("other"))),
            Some("orders")
        );
        assert_eq!(
            request_host(&req("/x", Some("billing:80"))),
            Some("billing")
        );
        assert_eq!(request_host(&req("/x", Some("billing"))), Some("billing"));
        assert_eq!(request_host(&req("/x", Some("[::1]:80"))), Some("::1"));
        assert_eq!(request_host(&req("/x", None)), None);
        assert_eq!(request_host(&req("/x", Some(""))), None);
    }

    // C-27: the host names an app case-insensitively.
    #[test]
    fn c27_host_maps_to_targets() {
        assert_eq!(HostIs::App.target("orders"), Target::App("ORDERS".into()));
        assert_eq!(
            HostIs::Vip.target("Orders-Vip"),
            Target::Vip("orders-vip".into())
        );
        assert_eq!(HostIs::SecureVip.target("S"), Target::SecureVip("s".into()));
    }
}
