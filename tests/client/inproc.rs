//! The crate's own registry server on 127.0.0.1:0, in process, behind a recording axum
//! middleware: what the client really sent and how many bytes each answer had.

#![allow(dead_code, unreachable_pub)]

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tower::discover::Change;
use tower_eureka::client::{ClientSnapshot, Target};
use tower_eureka::discover::EurekaDiscover;
use tower_eureka::model::InstanceInfo;
use tower_eureka::server::{EurekaService, ServerConfig};

/// One request as the server saw it, with the size of its answer's body on the wire.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: http::Method,
    pub path: String,
    pub query: String,
    pub accept: Option<String>,
    pub status: u16,
    /// The `instance.status` of a register body.
    pub registered_status: Option<String>,
    pub body_bytes: usize,
    pub at: Instant,
}

/// A running in-process registry. Dropping it stops it.
pub struct Registry {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: JoinHandle<()>,
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Registry {
    /// Starts the registry (`/eureka`, publication every 10 ms) on 127.0.0.1:0.
    pub async fn start() -> Registry {
        let mut cfg = ServerConfig {
            prefix: "/eureka".into(),
            ..ServerConfig::default()
        };
        cfg.registry.publish_interval = Duration::from_millis(10);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .fallback_service(EurekaService::new(cfg))
            .layer(axum::middleware::from_fn_with_state(seen.clone(), record));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Registry {
            url: format!("http://{addr}/eureka"),
            seen,
            task,
        }
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The registrations (`POST …/apps/{APP}`) so far.
    pub fn registrations(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method == http::Method::POST && s.path.contains("/apps/"))
            .collect()
    }

    /// Fetches of the registry (`GET …/apps/` and `…/apps/delta`) so far.
    pub fn fetches(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method == http::Method::GET)
            .filter(|s| s.path.ends_with("/apps/") || s.path.ends_with("/apps/delta"))
            .collect()
    }
}

async fn record(State(seen): State<Arc<Mutex<Vec<Seen>>>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let accept = req
        .headers()
        .get("x-eureka-accept")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (req_parts, req_body) = req.into_parts();
    let req_bytes = req_body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let registered_status = serde_json::from_slice::<serde_json::Value>(&req_bytes)
        .ok()
        .and_then(|v| v["instance"]["status"].as_str().map(str::to_owned));
    let req = Request::from_parts(req_parts, Body::from(req_bytes));
    let res = next.run(req).await;
    let (parts, body) = res.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    seen.lock().unwrap_or_else(|e| e.into_inner()).push(Seen {
        method,
        path,
        query,
        accept,
        status: parts.status.as_u16(),
        registered_status,
        body_bytes: bytes.len(),
        at: Instant::now(),
    });
    Response::from_parts(parts, Body::from(bytes))
}

/// The ids a [`EurekaDiscover`] of `target` currently holds, kept up to date by a task that
/// drives the stream (as a balancer would).
pub struct LiveIds {
    ids: Arc<Mutex<Vec<String>>>,
    changes: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for LiveIds {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LiveIds {
    pub fn follow(
        snapshots: tokio::sync::watch::Receiver<Arc<ClientSnapshot>>,
        target: Target,
    ) -> LiveIds {
        let ids: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
        let changes = Arc::new(AtomicUsize::new(0));
        let mut d = EurekaDiscover::new(snapshots, target, |i: &InstanceInfo| i.id().to_owned());
        let (i2, c2) = (ids.clone(), changes.clone());
        let task = tokio::spawn(async move {
            loop {
                let next = NextChange(&mut d).await;
                let mut ids = i2.lock().unwrap_or_else(|e| e.into_inner());
                match next {
                    Some(Ok(Change::Insert(k, _))) => {
                        ids.retain(|i| i.as_str() != &*k);
                        ids.push(k.to_string());
                    }
                    Some(Ok(Change::Remove(k))) => ids.retain(|i| i.as_str() != &*k),
                    Some(Err(_)) | None => return,
                }
                c2.fetch_add(1, Ordering::SeqCst);
            }
        });
        LiveIds { ids, changes, task }
    }

    pub fn ids(&self) -> Vec<String> {
        let mut v = self.ids.lock().unwrap_or_else(|e| e.into_inner()).clone();
        v.sort();
        v
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|i| i == id)
    }
}

struct NextChange<'a, S>(&'a mut S);

impl<S: futures_core::Stream + Unpin> Future for NextChange<'_, S> {
    type Output = Option<S::Item>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut *self.0).poll_next(cx)
    }
}
