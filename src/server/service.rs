//! [`EurekaService`]: the tower Service, and the dispatch of each route to its handler.
//!
//! `call` strips the mount prefix, resolves the [`Route`], reads the request head into a
//! [`RequestCtx`] and hands the request to the handler of its route: the read side
//! ([`fetch`](super::fetch)), [`register`](super::register), the instance writes
//! ([`instance`](super::instance)), the replication batch receiver
//! ([`replication`](super::replication)) and the informational endpoints
//! ([`status`](super::status)). Handlers answer synchronously; only the two routes with a
//! body (register, replication batch) box a future that reads the body first.
//!
//! Routes at the service root, outside the prefix (`/metrics`), are answered by
//! `Inner::root` before the prefix is stripped. Every request runs in a `request` span
//! (debug level: `route`, `app`, `status`) and, with [`ServerConfig::metrics`], is counted
//! by route and status with its latency.

use super::body::read_body;
use super::cache::{Entity, PayloadCache};
use super::config::ServerConfig;
use super::exposition::{self, EurekaMetrics};
use super::future::ResponseFuture;
use super::hook::{Replicator, WriteKind};
use super::metrics::{HttpMetrics, RouteName};
use super::operator::{self, OpPaths, OpRoute};
use super::request::RequestCtx;
use super::response::{body_error, bytes_response, error, unauthorized, ResponseBody};
use super::route::{NoRoute, Route};
use super::shed::{ShedLayer, ShedStats};
use super::{dashboard, fetch, instance, register, replication, status, watch};
use crate::registry::Registry;
use http::header::{HeaderValue, ALLOW};
use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;
use tracing::Instrument as _;

/// The Eureka registry as a tower [`Service`](tower::Service).
///
/// Generic over the request body, never fails (`Error = Infallible`: every problem is an
/// HTTP answer), always ready, cheap to clone (clones share one registry). Routes are
/// relative to where the service is mounted plus [`ServerConfig::prefix`]; every route is
/// also served under `/v2` (E-01).
///
/// Creating the service inside a tokio runtime spawns the registry's maintenance task
/// (eviction, delta retention); it stops when the last clone is dropped.
#[derive(Clone)]
pub struct EurekaService {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    cache: Arc<PayloadCache>,
    /// Request counters and latencies; `None` when metrics are off.
    http: Option<Arc<HttpMetrics>>,
    config: ServerConfig,
    replicator: Option<Arc<dyn Replicator>>,
    /// `/health`, `/ready` and the dashboard's paths.
    ops: OpPaths,
    /// When the service was created (epoch ms), for the dashboard's uptime.
    start_time: u64,
    /// The counters of the load-shedding layer [`serve`](super::serve) puts in front.
    shed: Arc<ShedStats>,
    _stop: tokio::sync::watch::Sender<()>,
}

// === impl EurekaService ===

impl fmt::Debug for EurekaService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EurekaService")
            .field("prefix", &self.inner.config.prefix)
            .field("instances", &self.inner.registry.snapshot().len())
            .finish()
    }
}

impl Default for EurekaService {
    fn default() -> Self {
        EurekaService::new(ServerConfig::default())
    }
}

impl EurekaService {
    /// A registry server with `config`.
    pub fn new(config: ServerConfig) -> Self {
        Self::build(config, |_| None)
    }

    /// A server whose client writes go to the [`Replicator`] that `make` builds over the
    /// registry (the cluster layer, P-02), which also gates registry reads until the
    /// startup sync is done (P-40) and adds its section to `/status` (P-45).
    pub fn with_replicator(
        config: ServerConfig,
        make: impl FnOnce(&Registry) -> Arc<dyn Replicator>,
    ) -> Self {
        Self::build(config, |r| Some(make(r)))
    }

    fn build(
        config: ServerConfig,
        make: impl FnOnce(&Registry) -> Option<Arc<dyn Replicator>>,
    ) -> Self {
        let registry = Registry::new(config.registry.clone());
        let (stop, mut stopped) = tokio::sync::watch::channel(());
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                let reg = registry.clone();
                handle.spawn(async move {
                    tokio::select! {
                        _ = reg.run() => {}
                        _ = stopped.changed() => {}
                    }
                });
            }
            Err(_) => tracing::warn!(
                "EurekaService created outside a tokio runtime: eviction will not run; \
                 create it inside the runtime"
            ),
        }
        let cache = Arc::new(PayloadCache::new(&registry.snapshot()));
        let replicator = make(&registry);
        let http = config.metrics.then(Arc::default);
        let start_time = registry.clock().epoch_ms();
        EurekaService {
            inner: Arc::new(Inner {
                registry,
                cache,
                http,
                ops: OpPaths::new(&config.dashboard),
                config,
                replicator,
                start_time,
                shed: Arc::default(),
                _stop: stop,
            }),
        }
    }

    /// The registry behind this service.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The configuration this service runs with.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// This server's metrics: what `GET /metrics` answers, as a `prometheus-client`
    /// collector an application can register in its own registry. See [`EurekaMetrics`].
    pub fn metrics(&self) -> EurekaMetrics {
        self.inner.metrics()
    }

    /// The load-shedding layer [`serve`](super::serve) puts in front of this service
    /// (its counters are this service's: `/metrics` shows what it shed), or `None` when
    /// [`ServerConfig::max_concurrent_requests`] is 0.
    pub fn shed_layer(&self) -> Option<ShedLayer> {
        let limit = self.inner.config.max_concurrent_requests;
        (limit > 0).then(|| ShedLayer::with_stats(limit, self.inner.shed.clone()))
    }

    /// [`shed_layer`](Self::shed_layer), or one that only counts when shedding is off.
    pub(crate) fn shed_or_count(&self) -> ShedLayer {
        self.shed_layer()
            .unwrap_or_else(|| ShedLayer::unbounded(self.inner.shed.clone()))
    }
}

impl<B> tower::Service<Request<B>> for EurekaService
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<crate::BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> ResponseFuture {
        let inner = self.inner.clone();
        let start = inner.http.is_some().then(Instant::now);
        let path = req.uri().path();
        if inner.config.auth.guards(path, &inner.config.prefix)
            && !inner.config.auth.verify(req.headers())
        {
            let res = unauthorized(&inner.config.auth);
            inner.record(RouteName::Unauthorized, &res, start);
            return ResponseFuture::ready(res);
        }
        if let Some(res) = inner.root(req.method(), path) {
            inner.record(RouteName::Metrics, &res, start);
            return ResponseFuture::ready(res);
        }
        if let Some(op) = inner.ops.resolve(path) {
            return operator_route(inner, &req, op, start);
        }
        let route = match inner.resolve(req.method(), path) {
            Ok(r) => r,
            Err(e) => {
                let res = no_route(e);
                inner.record(RouteName::Unmatched, &res, start);
                return ResponseFuture::ready(res);
            }
        };
        let name = RouteName::of(&route, req.method());
        let span = tracing::debug_span!(
            "request",
            route = name.as_str(),
            app = tracing::field::Empty,
            status = tracing::field::Empty,
        );
        if let Some(app) = route.app().filter(|_| !span.is_disabled()) {
            span.record("app", app);
        }
        let ctx = RequestCtx::new(&req);
        let timing = (name, start, span);
        if route == Route::Delta && !inner.config.disable_delta {
            match watch::ask(&ctx.query) {
                Ok(watch::Ask::Now) => {}
                Ok(watch::Ask::After {
                    after, wait, epoch, ..
                }) => {
                    return watch_delta(inner, ctx, timing, (after, wait, epoch));
                }
                Err(reason) => {
                    let (name, start, _) = timing;
                    let res = error(StatusCode::BAD_REQUEST, &reason);
                    inner.record(name, &res, start);
                    return ResponseFuture::ready(res);
                }
            }
        }
        if req.method() == Method::GET {
            if let Some(entity) = target_of(&route) {
                match watch::ask(&ctx.query) {
                    Ok(watch::Ask::Now) => {}
                    Ok(watch::Ask::After {
                        after,
                        wait,
                        epoch,
                        hash,
                    }) => {
                        let w = TargetWatch {
                            entity,
                            route,
                            after,
                            wait,
                            epoch,
                            hash,
                        };
                        return watch_target(inner, ctx, timing, w);
                    }
                    Err(reason) => {
                        let (name, start, _) = timing;
                        let res = error(StatusCode::BAD_REQUEST, &reason);
                        inner.record(name, &res, start);
                        return ResponseFuture::ready(res);
                    }
                }
            }
        }
        match route {
            Route::App(app) if req.method() == Method::POST => {
                with_body(req, inner, timing, move |inner, headers, bytes| {
                    let want_key = inner.replicator.is_some() && !ctx.replication;
                    let (res, key) =
                        register::register(&inner.registry, &ctx, headers, &app, bytes, want_key);
                    if let Some((app, id)) = key {
                        inner.replicate(WriteKind::Register, &app, &id);
                    }
                    res
                })
            }
            Route::ReplicationBatch => with_body(req, inner, timing, |inner, _, bytes| {
                replication::batch(&inner.registry, bytes)
            }),
            route => {
                let (name, start, span) = timing;
                let res = span.in_scope(|| inner.handle(&ctx, req.method(), route));
                span.record("status", res.status().as_u16());
                inner.record(name, &res, start);
                ResponseFuture::ready(res)
            }
        }
    }
}

/// What a request is counted and traced under: its route, when it started (`None`: metrics
/// off) and its span.
type Timing = (RouteName, Option<Instant>, tracing::Span);

/// Answers an operator route: `/health` and `/ready` at once, the dashboard on the
/// blocking pool (it renders, and reads `/proc`).
fn operator_route<B>(
    inner: Arc<Inner>,
    req: &Request<B>,
    op: OpRoute,
    start: Option<Instant>,
) -> ResponseFuture {
    let name = match op {
        OpRoute::Health => RouteName::Health,
        OpRoute::Ready => RouteName::Ready,
        OpRoute::Dashboard | OpRoute::DashboardJson => RouteName::Dashboard,
    };
    let ready = |res: Response<ResponseBody>| {
        inner.record(name, &res, start);
        ResponseFuture::ready(res)
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed here");
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return ready(r);
    }
    let format = match op {
        OpRoute::Health => return ready(operator::health()),
        OpRoute::Ready => return ready(operator::ready(inner.replicator.as_deref())),
        OpRoute::Dashboard => dashboard::Format::Html,
        OpRoute::DashboardJson => dashboard::Format::Json,
    };
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    ResponseFuture::boxed(async move {
        let for_render = inner.clone();
        let render = tokio::task::spawn_blocking(move || {
            let src = dashboard::Sources {
                registry: &for_render.registry,
                replicator: for_render.replicator.as_deref(),
                start_time: for_render.start_time,
            };
            dashboard::answer(&src, format, &path, query.as_deref())
        });
        let res = render.await.unwrap_or_else(|_| {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "dashboard rendering failed",
            )
        });
        inner.record(name, &res, start);
        Ok(res)
    })
}

/// A watching delta (issue 15): waits until the registry passes `after` (at most `wait`),
/// then answers the delta as it is then.
fn watch_delta(
    inner: Arc<Inner>,
    ctx: RequestCtx,
    timing: Timing,
    (after, wait, epoch): (u64, std::time::Duration, Option<u64>),
) -> ResponseFuture {
    let (name, start, span) = timing;
    let record = span.clone();
    ResponseFuture::boxed(
        async move {
            watch::until_past(&inner.registry, after, wait, epoch).await;
            let res = inner.handle(&ctx, &Method::GET, Route::Delta);
            record.record("status", res.status().as_u16());
            inner.record(name, &res, start);
            Ok(res)
        }
        .instrument(span),
    )
}

/// The watchable target a route reads, if it is one (watch per target, issue 15).
fn target_of(route: &Route) -> Option<Entity> {
    match route {
        Route::App(a) => Some(Entity::App(a.clone())),
        Route::Vip(v) => Some(Entity::Vip(v.clone())),
        Route::SecureVip(v) => Some(Entity::SecureVip(v.clone())),
        _ => None,
    }
}

/// What a watching target request asks.
struct TargetWatch {
    entity: Entity,
    route: Route,
    after: u64,
    wait: std::time::Duration,
    epoch: Option<u64>,
    hash: Option<String>,
}

/// A watching target fetch (issue 15): waits until the target is news to the client (at
/// most `wait`), then answers the target as it is then.
fn watch_target(
    inner: Arc<Inner>,
    ctx: RequestCtx,
    timing: Timing,
    w: TargetWatch,
) -> ResponseFuture {
    let (name, start, span) = timing;
    let record = span.clone();
    ResponseFuture::boxed(
        async move {
            watch::until_target_changed(
                &inner.registry,
                &w.entity,
                w.after,
                w.hash.as_deref(),
                w.wait,
                w.epoch,
            )
            .await;
            let res = inner.handle(&ctx, &Method::GET, w.route);
            record.record("status", res.status().as_u16());
            inner.record(name, &res, start);
            Ok(res)
        }
        .instrument(span),
    )
}

/// Reads the (size-limited, possibly gzip-encoded) body, then answers with `handle`; body
/// problems are answered with 413 / 400 / 415 without calling it.
fn with_body<B, F>(req: Request<B>, inner: Arc<Inner>, timing: Timing, handle: F) -> ResponseFuture
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<crate::BoxError>,
    F: FnOnce(&Inner, &http::HeaderMap, &[u8]) -> Response<ResponseBody> + Send + 'static,
{
    let (parts, body) = req.into_parts();
    let (name, start, span) = timing;
    let record = span.clone();
    ResponseFuture::boxed(
        async move {
            let read = read_body(&parts.headers, body, inner.config.max_body_bytes);
            let res = match tokio::time::timeout(inner.config.body_read_timeout, read).await {
                Ok(Ok(bytes)) => handle(&inner, &parts.headers, &bytes),
                Ok(Err(e)) => body_error(e),
                Err(_) => error(
                    StatusCode::REQUEST_TIMEOUT,
                    "the request body did not arrive in time",
                ),
            };
            record.record("status", res.status().as_u16());
            inner.record(name, &res, start);
            Ok(res)
        }
        .instrument(span),
    )
}

// === impl Inner ===

impl Inner {
    /// The routes at the service root, outside the prefix: `/metrics` (when metrics are
    /// on). `None`: not a root route.
    fn root(&self, method: &Method, path: &str) -> Option<Response<ResponseBody>> {
        if !self.config.metrics || path.strip_suffix('/').unwrap_or(path) != "/metrics" {
            return None;
        }
        Some(if method == Method::GET || method == Method::HEAD {
            let text = self.metrics().render();
            bytes_response(StatusCode::OK, exposition::CONTENT_TYPE, text.into())
        } else {
            method_not_allowed("GET")
        })
    }

    /// Strips the prefix and resolves the route.
    fn resolve(&self, method: &Method, path: &str) -> Result<Route, NoRoute> {
        let rest = path
            .strip_prefix(self.config.prefix.as_str())
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
            .ok_or(NoRoute::NotFound)?;
        Route::resolve(method, rest)
    }

    /// Counts an answered request (three atomic adds), when metrics are on.
    fn record(&self, route: RouteName, res: &Response<ResponseBody>, start: Option<Instant>) {
        if let (Some(http), Some(start)) = (&self.http, start) {
            http.record(route, res.status(), start.elapsed());
        }
    }

    fn metrics(&self) -> EurekaMetrics {
        EurekaMetrics {
            registry: self.registry.clone(),
            cache: self.cache.clone(),
            http: self.http.clone(),
            replicator: self.replicator.clone(),
            shed: self.shed.clone(),
        }
    }

    /// Reports a client write that succeeded to the replicator, if there is one.
    fn replicate(&self, kind: WriteKind, app: &str, id: &str) {
        if let Some(r) = &self.replicator {
            r.replicate(kind, app, id);
        }
    }

    /// Handles `route`, then reports a client write that succeeded to the replicator.
    fn handle(&self, ctx: &RequestCtx, method: &Method, route: Route) -> Response<ResponseBody> {
        let write = match (&route, method) {
            _ if ctx.replication || self.replicator.is_none() => None,
            (Route::Instance(app, id), &Method::PUT) => Some((WriteKind::Heartbeat, app, id)),
            (Route::Instance(app, id), &Method::DELETE) => Some((WriteKind::Cancel, app, id)),
            (Route::InstanceStatus(app, id), &Method::PUT) => {
                Some((WriteKind::StatusUpdate, app, id))
            }
            (Route::InstanceStatus(app, id), &Method::DELETE) => {
                Some((WriteKind::DeleteStatusOverride, app, id))
            }
            (Route::InstanceMetadata(app, id), &Method::PUT) => {
                Some((WriteKind::Register, app, id))
            }
            _ => None,
        }
        .map(|(k, a, i)| (k, a.clone(), i.clone()));
        let res = self.route(ctx, method, route);
        if let Some((kind, app, id)) = write {
            if res.status() == StatusCode::OK {
                self.replicate(kind, &app, &id);
            }
        }
        res
    }

    /// Answers a route that carries no body.
    fn route(&self, ctx: &RequestCtx, method: &Method, route: Route) -> Response<ResponseBody> {
        match route {
            Route::Apps => {
                let mut res = self.entity(ctx, Entity::Apps);
                if res.status() == StatusCode::OK && !self.config.disable_delta {
                    // Watching is supported here (issue 15): a client may start at once.
                    res.headers_mut()
                        .insert(watch::HEADER, HeaderValue::from(self.registry.epoch()));
                }
                res
            }
            Route::Delta => {
                if self.config.disable_delta {
                    return error(StatusCode::FORBIDDEN, "delta is disabled on this server");
                }
                let mut res = self.entity(ctx, Entity::Delta);
                if res.status() == StatusCode::OK {
                    // Watching is supported here (issue 15), on this registry's versions.
                    res.headers_mut()
                        .insert(watch::HEADER, HeaderValue::from(self.registry.epoch()));
                }
                res
            }
            Route::App(app) => self.entity(ctx, Entity::App(app)),
            Route::Vip(v) => self.entity(ctx, Entity::Vip(v)),
            Route::SecureVip(v) => self.entity(ctx, Entity::SecureVip(v)),
            Route::Instance(app, id) => match *method {
                Method::GET => fetch::instance(&self.registry, ctx, &app, &id),
                Method::PUT => instance::heartbeat(&self.registry, ctx, &app, &id),
                _ => instance::cancel(&self.registry, ctx, &app, &id),
            },
            Route::InstanceById(id) => fetch::instance_by_id(&self.registry, ctx, &id),
            Route::InstanceStatus(app, id) => {
                instance::status_override(&self.registry, ctx, method, &app, &id)
            }
            Route::InstanceMetadata(app, id) => instance::metadata(&self.registry, ctx, &app, &id),
            Route::AsgStatus => error(
                StatusCode::BAD_REQUEST,
                "ASG status is not supported: this server has no AWS integration",
            ),
            Route::Status => status::status(
                &self.registry,
                self.replicator.as_ref().and_then(|r| r.status()),
                &self.config.remote_regions,
            ),
            Route::StatusOverrides => status::status_overrides(&self.registry),
            // POST routes are handled before `handle` is called.
            Route::ReplicationBatch => error(StatusCode::METHOD_NOT_ALLOWED, "POST only"),
        }
    }

    fn entity(&self, ctx: &RequestCtx, entity: Entity) -> Response<ResponseBody> {
        if self.replicator.as_ref().is_some_and(|r| !r.ready()) {
            // P-40: never a 200 with a partial registry while the startup sync runs.
            let mut r = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "registry is syncing from its peers",
            );
            r.headers_mut()
                .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
            r.headers_mut()
                .insert("x-eureka-syncing", HeaderValue::from_static("true"));
            return r;
        }
        match entity {
            Entity::App(_) | Entity::Vip(_) | Entity::SecureVip(_) => fetch::target(
                &self.registry,
                &self.cache,
                &self.config.remote_regions,
                ctx,
                entity,
            ),
            Entity::Apps | Entity::Delta => fetch::entity(
                &self.registry,
                &self.cache,
                &self.config.remote_regions,
                ctx,
                entity,
            ),
        }
    }
}

/// The answer to a path that names no route: 404, 400 or 405.
fn no_route(e: NoRoute) -> Response<ResponseBody> {
    match e {
        NoRoute::NotFound => error(StatusCode::NOT_FOUND, "no such route"),
        NoRoute::BadEncoding => error(
            StatusCode::BAD_REQUEST,
            "path segment is not valid percent-encoded UTF-8",
        ),
        NoRoute::MethodNotAllowed(allow) => method_not_allowed(allow),
    }
}

/// 405 with the allowed methods.
fn method_not_allowed(allow: &'static str) -> Response<ResponseBody> {
    let mut r = error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed here");
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    r
}
