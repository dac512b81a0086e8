//! A tiny fake Eureka server for client tests: canned, scriptable answers per route, and a
//! record of every request (method, path, query, headers, body, tokio time of arrival).

#![allow(dead_code, unreachable_pub)]

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use std::collections::{HashMap, VecDeque};
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Path of a fixture under `shared/fixtures/eureka/`.
#[macro_export]
macro_rules! fixture {
    ($rel:literal) => {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/fixtures/eureka/",
            $rel
        )
    };
}

/// Reads a fixture file.
pub fn read_fixture(path: &str) -> Bytes {
    Bytes::from(std::fs::read(path).unwrap_or_else(|e| panic!("fixture {path}: {e}")))
}

/// Which Eureka operation a request was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    Register,
    Heartbeat,
    Cancel,
    Full,
    Delta,
    Other,
}

/// One received request.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub route: Route,
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Recorded {
    /// A query parameter's value.
    pub fn param(&self, name: &str) -> Option<String> {
        self.query.as_deref().and_then(|q| {
            q.split('&').find_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                (k == name).then(|| v.to_owned())
            })
        })
    }

    /// A header's value as a string.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The register body, parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// `instance.lastDirtyTimestamp` of a register body.
    pub fn body_dirty_ts(&self) -> u64 {
        let v = &self.json()["instance"]["lastDirtyTimestamp"];
        match v {
            serde_json::Value::String(s) => s.parse().expect("numeric string"),
            other => other.as_u64().expect("number"),
        }
    }

    /// `instance.status` of a register body.
    pub fn body_status(&self) -> String {
        self.json()["instance"]["status"]
            .as_str()
            .expect("status")
            .to_owned()
    }
}

/// A canned answer.
#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub body: Bytes,
    pub content_type: Option<&'static str>,
    pub gzip: bool,
    pub delay: Duration,
    /// Drop this many bytes from the end of the (possibly compressed) body: a truncated
    /// answer.
    pub truncate: Option<usize>,
}

impl Canned {
    pub fn status(status: u16) -> Self {
        Canned {
            status,
            body: Bytes::new(),
            content_type: None,
            gzip: false,
            delay: Duration::ZERO,
            truncate: None,
        }
    }

    pub fn json(body: impl Into<Bytes>) -> Self {
        Canned {
            body: body.into(),
            content_type: Some("application/json"),
            ..Canned::status(200)
        }
    }

    pub fn xml(body: impl Into<Bytes>) -> Self {
        Canned {
            body: body.into(),
            content_type: Some("application/xml"),
            ..Canned::status(200)
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn gzip(mut self) -> Self {
        self.gzip = true;
        self
    }

    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }

    pub fn truncated_by(mut self, len: usize) -> Self {
        self.truncate = Some(len);
        self
    }
}

#[derive(Default)]
struct Inner {
    requests: Vec<Recorded>,
    queued: HashMap<Route, VecDeque<Canned>>,
    defaults: HashMap<Route, Canned>,
    down: bool,
}

/// The fake server. Dropping it stops accepting connections.
pub struct FakeEureka {
    addr: SocketAddr,
    state: Arc<Mutex<Inner>>,
    task: JoinHandle<()>,
}

impl Drop for FakeEureka {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An empty registry in legacy JSON.
pub const EMPTY_APPS: &str =
    r#"{"applications":{"versions__delta":"1","apps__hashcode":"","application":[]}}"#;

impl FakeEureka {
    /// Starts a server on 127.0.0.1:0 with Eureka's usual answers: register 204, heartbeat
    /// and cancel 200, an empty registry, delta 403.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut inner = Inner::default();
        inner.defaults.insert(Route::Register, Canned::status(204));
        inner.defaults.insert(Route::Heartbeat, Canned::status(200));
        inner.defaults.insert(Route::Cancel, Canned::status(200));
        inner.defaults.insert(Route::Full, Canned::json(EMPTY_APPS));
        inner.defaults.insert(Route::Delta, Canned::status(403));
        inner.defaults.insert(Route::Other, Canned::status(404));
        let state = Arc::new(Mutex::new(inner));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeEureka { addr, state, task }
    }

    /// `http://127.0.0.1:{port}/eureka`
    pub fn url(&self) -> String {
        format!("http://{}/eureka", self.addr)
    }

    /// Answers the next request of `route` with `canned` (queued, one-shot).
    pub fn push(&self, route: Route, canned: Canned) {
        self.lock()
            .queued
            .entry(route)
            .or_default()
            .push_back(canned);
    }

    /// Answers every later request of `route` with `canned` (after the queued ones).
    pub fn set(&self, route: Route, canned: Canned) {
        self.lock().defaults.insert(route, canned);
    }

    /// While down, every request gets 503.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    pub fn of(&self, route: Route) -> Vec<Recorded> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.route == route)
            .cloned()
            .collect()
    }

    pub fn count(&self, route: Route) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.route == route)
            .count()
    }

    pub fn routes(&self) -> Vec<Route> {
        self.lock().requests.iter().map(|r| r.route).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn classify(method: &Method, path: &str) -> Route {
    let Some(rest) = path.strip_prefix("/eureka/") else {
        return Route::Other;
    };
    let segs: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match (method.as_str(), segs.as_slice()) {
        ("GET", ["apps"]) => Route::Full,
        ("GET", ["apps", "delta"]) => Route::Delta,
        ("POST", ["apps", _]) => Route::Register,
        ("PUT", ["apps", _, _]) => Route::Heartbeat,
        ("DELETE", ["apps", _, _]) => Route::Cancel,
        _ => Route::Other,
    }
}

async fn handle(State(state): State<Arc<Mutex<Inner>>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
    let route = classify(&parts.method, parts.uri.path());
    let canned = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.requests.push(Recorded {
            route,
            method: parts.method.clone(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts.headers.clone(),
            body,
            at: Instant::now(),
        });
        if s.down {
            Canned::status(503)
        } else if let Some(c) = s.queued.get_mut(&route).and_then(VecDeque::pop_front) {
            c
        } else {
            s.defaults
                .get(&route)
                .cloned()
                .unwrap_or_else(|| Canned::status(404))
        }
    };
    if !canned.delay.is_zero() {
        tokio::time::sleep(canned.delay).await;
    }
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::from_u16(canned.status).expect("status");
    if let Some(ct) = canned.content_type {
        resp.headers_mut()
            .insert(http::header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    let body = if canned.gzip {
        resp.headers_mut().insert(
            http::header::CONTENT_ENCODING,
            HeaderValue::from_static("gzip"),
        );
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&canned.body).expect("gzip");
        Bytes::from(enc.finish().expect("gzip"))
    } else {
        canned.body
    };
    let body = match canned.truncate {
        Some(n) => body.slice(..body.len().saturating_sub(n)),
        None => body,
    };
    *resp.body_mut() = Body::from(body);
    resp
}

// === legacy JSON bodies for tests ===

/// One instance in legacy JSON.
pub fn instance_json(app: &str, host: &str, status: &str, action: &str) -> serde_json::Value {
    let id = format!("{host}:{}:8080", app.to_lowercase());
    serde_json::json!({
        "instanceId": id,
        "hostName": host,
        "app": app.to_uppercase(),
        "ipAddr": "10.0.0.1",
        "status": status,
        "overriddenStatus": "UNKNOWN",
        "port": {"$": 8080, "@enabled": "true"},
        "securePort": {"$": 443, "@enabled": "false"},
        "countryId": 1,
        "dataCenterInfo": {
            "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
            "name": "MyOwn"
        },
        "leaseInfo": {
            "renewalIntervalInSecs": 30, "durationInSecs": 90,
            "registrationTimestamp": 1, "lastRenewalTimestamp": 2,
            "evictionTimestamp": 0, "serviceUpTimestamp": 1
        },
        "metadata": {"@class": "java.util.Collections$EmptyMap"},
        "vipAddress": app.to_lowercase(),
        "secureVipAddress": app.to_lowercase(),
        "isCoordinatingDiscoveryServer": "false",
        "lastUpdatedTimestamp": "1",
        "lastDirtyTimestamp": "1",
        "actionType": action
    })
}

/// An `applications` document in legacy JSON; instances grouped by their `app`.
pub fn apps_json(versions: &str, hash: Option<&str>, instances: Vec<serde_json::Value>) -> Bytes {
    let mut by_app: Vec<(String, Vec<serde_json::Value>)> = Vec::new();
    for i in instances {
        let app = i["app"].as_str().expect("app").to_owned();
        match by_app.iter_mut().find(|(a, _)| *a == app) {
            Some((_, v)) => v.push(i),
            None => by_app.push((app, vec![i])),
        }
    }
    let application: Vec<_> = by_app
        .into_iter()
        .map(|(name, instance)| serde_json::json!({"name": name, "instance": instance}))
        .collect();
    let mut apps = serde_json::Map::new();
    apps.insert("versions__delta".into(), versions.into());
    if let Some(h) = hash {
        apps.insert("apps__hashcode".into(), h.into());
    }
    apps.insert("application".into(), application.into());
    Bytes::from(serde_json::to_vec(&serde_json::json!({ "applications": apps })).expect("json"))
}

// === waiting in paused time ===

/// Sleeps in small steps (tokio time) until `cond` holds; panics after `limit`.
pub async fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) {
    let step = Duration::from_millis(10);
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(step).await;
    }
}

/// A port with nothing listening on it.
pub async fn dead_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    format!("http://{addr}/eureka")
}

// === capturing log events ===

/// Counts tracing events at or above WARN whose message contains a substring.
pub mod logs {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Level, Metadata, Subscriber};

    #[derive(Clone, Default)]
    pub struct Captured {
        messages: Arc<Mutex<Vec<(Level, String)>>>,
        next_id: Arc<AtomicUsize>,
    }

    impl Captured {
        /// Captures this thread's events until the guard drops.
        ///
        /// tracing-core caches each callsite's interest globally; while a single dispatcher
        /// is registered it asks the *current thread's* default, so a callsite first hit on
        /// another test thread would be cached as "never". A second, static dispatcher makes
        /// it consult every registered dispatcher instead.
        pub fn start() -> (Captured, tracing::dispatcher::DefaultGuard) {
            static KEEP: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
            KEEP.get_or_init(|| tracing::Dispatch::new(Captured::default()));
            let c = Captured::default();
            let guard = tracing::dispatcher::set_default(&tracing::Dispatch::new(c.clone()));
            (c, guard)
        }

        pub fn count(&self, level: Level, needle: &str) -> usize {
            self.messages
                .lock()
                .expect("lock")
                .iter()
                .filter(|(l, m)| *l == level && m.contains(needle))
                .count()
        }
    }

    struct Message(String);

    impl Visit for Message {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                self.0 = format!("{value:?}");
            }
        }
    }

    impl Subscriber for Captured {
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            *metadata.level() <= Level::INFO
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) as u64 + 1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut m = Message(String::new());
            event.record(&mut m);
            self.messages
                .lock()
                .expect("lock")
                .push((*event.metadata().level(), m.0));
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }
}
