use super::body::{read_body, BodyError, Query};
use super::cache::{Entity, Key, PayloadCache};
use super::route::{Route, RouteError};
use super::ServerConfig;
use crate::codec::{self, Accept, Format, RegisterError};
use crate::model::{check_metadata_entry, InstanceInfo, Status};
use crate::registry::{Origin, Registry, Renew, RenewOutcome};
use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT, ACCEPT_ENCODING, ALLOW, CONTENT_ENCODING, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::Full;
use pin_project_lite::pin_project;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The response body of [`EurekaService`]: a complete buffer.
pub type ResponseBody = Full<Bytes>;

const REPLICATION_HEADER: &str = "x-netflix-discovery-replication";
const ERROR_HEADER: &str = "x-eureka-error";

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
    cache: PayloadCache,
    config: ServerConfig,
    _stop: tokio::sync::watch::Sender<()>,
}

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
        let cache = PayloadCache::new(&registry.snapshot());
        EurekaService {
            inner: Arc::new(Inner {
                registry,
                cache,
                config,
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
        let path = req.uri().path();
        let Some(rest) = path.strip_prefix(inner.config.prefix.as_str()) else {
            return ResponseFuture::ready(error(StatusCode::NOT_FOUND, "no such route"));
        };
        if !(rest.is_empty() || rest.starts_with('/')) {
            return ResponseFuture::ready(error(StatusCode::NOT_FOUND, "no such route"));
        }
        let route = match Route::resolve(req.method(), rest) {
            Ok(r) => r,
            Err(RouteError::NotFound) => {
                return ResponseFuture::ready(error(StatusCode::NOT_FOUND, "no such route"))
            }
            Err(RouteError::BadEncoding) => {
                return ResponseFuture::ready(error(
                    StatusCode::BAD_REQUEST,
                    "path segment is not valid percent-encoded UTF-8",
                ))
            }
            Err(RouteError::MethodNotAllowed(allow)) => {
                let mut r = error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed here");
                r.headers_mut()
                    .insert(ALLOW, HeaderValue::from_static(allow));
                return ResponseFuture::ready(r);
            }
        };
        let ctx = RequestCtx::new(&req);
        match route {
            Route::App(app) if req.method() == Method::POST => {
                with_body(req, inner, move |inner, headers, bytes| {
                    inner.register(&ctx, headers, &app, bytes)
                })
            }
            Route::ReplicationBatch => with_body(req, inner, |inner, _, bytes| {
                super::replication::batch(&inner.registry, bytes)
            }),
            route => ResponseFuture::ready(inner.handle(&ctx, req.method(), route)),
        }
    }
}

/// Reads the (size-limited, possibly gzip-encoded) body, then answers with `handle`; body
/// problems are answered with 413 / 400 / 415 without calling it.
fn with_body<B, F>(req: Request<B>, inner: Arc<Inner>, handle: F) -> ResponseFuture
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<crate::BoxError>,
    F: FnOnce(&Inner, &http::HeaderMap, &[u8]) -> Response<ResponseBody> + Send + 'static,
{
    let (parts, body) = req.into_parts();
    ResponseFuture::boxed(async move {
        match read_body(&parts.headers, body, inner.config.max_body_bytes).await {
            Ok(bytes) => Ok(handle(&inner, &parts.headers, &bytes)),
            Err(e) => Ok(body_error(e)),
        }
    })
}

/// What a handler needs from the request head.
struct RequestCtx {
    format: Format,
    compact: bool,
    gzip: bool,
    replication: bool,
    query: Query,
}

impl RequestCtx {
    fn new<B>(req: &Request<B>) -> Self {
        let h = req.headers();
        RequestCtx {
            format: Format::from_accept(h.get(ACCEPT).map(HeaderValue::as_bytes)),
            compact: matches!(
                Accept::from_header(h.get("x-eureka-accept").map(HeaderValue::as_bytes)),
                Accept::Compact
            ),
            gzip: h
                .get_all(ACCEPT_ENCODING)
                .iter()
                .any(|v| contains(v.as_bytes(), b"gzip")),
            // E-31: exactly `true`.
            replication: h
                .get(REPLICATION_HEADER)
                .is_some_and(|v| v.as_bytes() == b"true"),
            query: Query::new(req.uri().query()),
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

impl Inner {
    fn handle(&self, ctx: &RequestCtx, method: &Method, route: Route) -> Response<ResponseBody> {
        match route {
            Route::Apps => self.cached(ctx, Entity::Apps),
            Route::Delta => {
                if self.config.disable_delta {
                    return error(StatusCode::FORBIDDEN, "delta is disabled on this server");
                }
                self.cached(ctx, Entity::Delta)
            }
            Route::App(app) => self.cached(ctx, Entity::App(app)),
            Route::Vip(v) => self.cached(ctx, Entity::Vip(v)),
            Route::SecureVip(v) => self.cached(ctx, Entity::SecureVip(v)),
            Route::Instance(app, id) => match *method {
                Method::GET => match self.registry.instance(&app, &id) {
                    Some(i) => instance_response(StatusCode::OK, &i, ctx.format),
                    None => empty(StatusCode::NOT_FOUND),
                },
                Method::PUT => self.heartbeat(ctx, &app, &id),
                _ => {
                    let origin = Origin::from_replication_header(ctx.replication);
                    if self.registry.cancel(&app, &id, origin) {
                        empty(StatusCode::OK)
                    } else {
                        empty(StatusCode::NOT_FOUND)
                    }
                }
            },
            Route::InstanceById(id) => match self.registry.instance_by_id(&id) {
                Some(i) => instance_response(StatusCode::OK, &i, ctx.format),
                None => empty(StatusCode::NOT_FOUND),
            },
            Route::InstanceStatus(app, id) => self.status_override(ctx, method, &app, &id),
            Route::InstanceMetadata(app, id) => self.metadata(ctx, &app, &id),
            Route::AsgStatus => error(
                StatusCode::BAD_REQUEST,
                "ASG status is not supported: this server has no AWS integration",
            ),
            Route::Status => super::status::status(&self.registry),
            Route::StatusOverrides => super::status::status_overrides(&self.registry),
            // POST routes are handled before `handle` is called.
            Route::ReplicationBatch => error(StatusCode::METHOD_NOT_ALLOWED, "POST only"),
        }
    }

    fn cached(&self, ctx: &RequestCtx, entity: Entity) -> Response<ResponseBody> {
        let snap = self.registry.snapshot();
        let key = Key {
            entity,
            format: ctx.format,
            compact: ctx.compact,
            gzip: ctx.gzip,
        };
        match self.cache.get(&snap, &key) {
            Some(bytes) => payload(StatusCode::OK, ctx.format, bytes, ctx.gzip),
            None => empty(StatusCode::NOT_FOUND),
        }
    }

    fn register(
        &self,
        ctx: &RequestCtx,
        headers: &http::HeaderMap,
        app: &str,
        body: &[u8],
    ) -> Response<ResponseBody> {
        let ct = headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes);
        let format = match Format::from_content_type(ct) {
            Ok(f) => f,
            Err(e) => return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, e.reason()),
        };
        match codec::decode_register(body, format, app) {
            Ok(inst) => {
                tracing::debug!(app = %inst.app, id = %inst.id(), replication = ctx.replication, "register");
                let origin = Origin::from_replication_header(ctx.replication);
                match self.registry.register(inst, origin) {
                    Ok(()) => empty(StatusCode::NO_CONTENT),
                    // The codec checked the text already; the registry agrees.
                    Err(e) => invalid_register(app, e.to_string()),
                }
            }
            Err(RegisterError::Invalid(msg)) => invalid_register(app, msg),
            Err(RegisterError::InvalidText(e)) => invalid_register(app, e.to_string()),
            Err(RegisterError::Undecodable(e)) => {
                let reason = format!("cannot parse request body: {e}");
                tracing::debug!(%app, %reason, "register rejected");
                // W-95: Java's bodies; the precise reason travels in a header.
                let mut r = if ct == Some(b"application/json".as_slice()) {
                    bytes_response(
                        StatusCode::BAD_REQUEST,
                        "application/json",
                        Bytes::from_static(codec::CANNOT_PARSE_JSON_BODY.as_bytes()),
                    )
                } else {
                    bytes_response(
                        StatusCode::BAD_REQUEST,
                        "application/xml",
                        Bytes::from_static(codec::CANNOT_PARSE_XML_BODY.as_bytes()),
                    )
                };
                set_reason(&mut r, &reason);
                r
            }
        }
    }

    fn heartbeat(&self, ctx: &RequestCtx, app: &str, id: &str) -> Response<ResponseBody> {
        let last_dirty = match parse_ts(&ctx.query) {
            Ok(ts) => ts,
            Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
        };
        let overridden = match ctx.query.get("overriddenstatus") {
            None => None,
            Some(s) => match Status::parse(&s) {
                Some(st) => Some(st),
                None => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        &format!("unknown overriddenstatus {s:?}"),
                    )
                }
            },
        };
        let renew = Renew::new()
            .last_dirty_timestamp(last_dirty)
            .overridden_status(overridden);
        let origin = Origin::from_replication_header(ctx.replication);
        match self.registry.renew(app, id, renew, origin) {
            RenewOutcome::Renewed => empty(StatusCode::OK),
            RenewOutcome::NotFound => empty(StatusCode::NOT_FOUND),
            RenewOutcome::Conflict(stored) => {
                instance_response(StatusCode::CONFLICT, &stored, ctx.format)
            }
        }
    }

    fn status_override(
        &self,
        ctx: &RequestCtx,
        method: &Method,
        app: &str,
        id: &str,
    ) -> Response<ResponseBody> {
        let last_dirty = match parse_ts(&ctx.query) {
            Ok(ts) => ts,
            Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
        };
        let value = ctx.query.get("value");
        let parsed = match value.as_deref().map(|v| (v, Status::parse(v))) {
            Some((v, None)) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("invalid status value {v:?}: expected UP, DOWN, STARTING, OUT_OF_SERVICE or UNKNOWN"),
                )
            }
            Some((_, s)) => s,
            None => None,
        };
        let origin = Origin::from_replication_header(ctx.replication);
        let found = if *method == Method::PUT {
            let Some(status) = parsed else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "missing status value (?value=STATUS)",
                );
            };
            self.registry
                .set_status_override(app, id, status, last_dirty, origin)
        } else {
            self.registry
                .delete_status_override(app, id, parsed, last_dirty, origin)
        };
        if found {
            empty(StatusCode::OK)
        } else {
            empty(StatusCode::NOT_FOUND)
        }
    }

    fn metadata(&self, ctx: &RequestCtx, app: &str, id: &str) -> Response<ResponseBody> {
        let mut entries: Vec<(String, String)> = Vec::new();
        for (k, v) in ctx.query.pairs() {
            // The one text rule (issue 12): nothing XML cannot carry enters the registry.
            if let Err(e) = check_metadata_entry("metadata", &k, &v) {
                return error(StatusCode::BAD_REQUEST, &e.to_string());
            }
            if !codec::xml::is_encodable_key(&k) {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "invalid metadata key {k:?}: it must be usable as an XML element name"
                    ),
                );
            }
            if !entries.iter().any(|(ek, _)| *ek == k) {
                entries.push((k, v));
            }
        }
        if self.registry.update_metadata(app, id, entries) {
            empty(StatusCode::OK)
        } else {
            empty(StatusCode::NOT_FOUND)
        }
    }
}

/// A register body that decoded but was refused: 400, the plain-text reason (E-10).
fn invalid_register(app: &str, msg: String) -> Response<ResponseBody> {
    tracing::debug!(%app, reason = %msg, "register rejected");
    let mut r = text(StatusCode::BAD_REQUEST, msg.clone());
    set_reason(&mut r, &msg);
    r
}

/// The `lastDirtyTimestamp` query parameter; `Err` carries the 400 reason.
fn parse_ts(query: &Query) -> Result<Option<u64>, String> {
    match query.get("lastDirtyTimestamp").as_deref() {
        None | Some("") => Ok(None),
        Some(s) => s.parse::<u64>().map(Some).map_err(|_| {
            format!("lastDirtyTimestamp {s:?} is not a decimal number of milliseconds")
        }),
    }
}

fn instance_response(
    status: StatusCode,
    inst: &InstanceInfo,
    format: Format,
) -> Response<ResponseBody> {
    let mut out = Vec::with_capacity(1536);
    codec::encode_instance(inst, format, &mut out);
    bytes_response(status, format.content_type(), Bytes::from(out))
}

fn payload(status: StatusCode, format: Format, body: Bytes, gzip: bool) -> Response<ResponseBody> {
    let mut r = bytes_response(status, format.content_type(), body);
    if gzip {
        r.headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    r.headers_mut().insert(
        http::header::VARY,
        HeaderValue::from_static("Accept, Accept-Encoding, X-Eureka-Accept"),
    );
    r
}

pub(super) fn bytes_response(
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
) -> Response<ResponseBody> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

pub(super) fn empty(status: StatusCode) -> Response<ResponseBody> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    r
}

fn text(status: StatusCode, msg: String) -> Response<ResponseBody> {
    bytes_response(status, "text/plain; charset=utf-8", Bytes::from(msg))
}

/// A 4xx with a one-line plain-text reason (also in the `x-eureka-error` header).
pub(super) fn error(status: StatusCode, reason: &str) -> Response<ResponseBody> {
    let mut r = text(status, format!("{reason}\n"));
    set_reason(&mut r, reason);
    r
}

fn set_reason(r: &mut Response<ResponseBody>, reason: &str) {
    let one_line: String = reason
        .chars()
        .map(|c| {
            if c.is_control() || !c.is_ascii() {
                ' '
            } else {
                c
            }
        })
        .take(300)
        .collect();
    if let Ok(v) = HeaderValue::from_str(&one_line) {
        r.headers_mut().insert(ERROR_HEADER, v);
    }
}

fn body_error(e: BodyError) -> Response<ResponseBody> {
    let status = match e {
        BodyError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        BodyError::Unreadable(_) => StatusCode::BAD_REQUEST,
        BodyError::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
    };
    error(status, &e.reason())
}

pin_project! {
    /// Response future of [`EurekaService`].
    pub struct ResponseFuture {
        #[pin]
        kind: Kind,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind {
        Ready { response: Option<Response<ResponseBody>> },
        Boxed { fut: Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, Infallible>> + Send>> },
    }
}

impl ResponseFuture {
    fn ready(r: Response<ResponseBody>) -> Self {
        ResponseFuture {
            kind: Kind::Ready { response: Some(r) },
        }
    }

    fn boxed<F>(f: F) -> Self
    where
        F: Future<Output = Result<Response<ResponseBody>, Infallible>> + Send + 'static,
    {
        ResponseFuture {
            kind: Kind::Boxed { fut: Box::pin(f) },
        }
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<ResponseBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Ready { response } => match response.take() {
                Some(r) => Poll::Ready(Ok(r)),
                None => Poll::Ready(Ok(empty(StatusCode::INTERNAL_SERVER_ERROR))),
            },
            KindProj::Boxed { fut } => fut.as_mut().poll(cx),
        }
    }
}
