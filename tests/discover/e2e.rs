//! End to end: real hyper backends on 127.0.0.1:0, a hand-fed snapshot channel, real HTTP
//! clients (hyper-util's legacy client and reqwest) through `BalancedClient`.

use crate::support::{inst, snapshot};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;
use tower_eureka::client::{ClientSnapshot, Target};
use tower_eureka::discover::{BalancedClient, ReqwestService};
use tower_eureka::model::InstanceInfo;

/// A tiny HTTP/1 server counting its requests; `kill` closes the listener and every
/// connection.
struct Backend {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Backend {
    async fn start() -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let task = tokio::spawn(async move {
            // Dropped (aborting every connection) when the task is aborted.
            let mut conns = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let counter = counter.clone();
                let name = addr.to_string();
                conns.spawn(async move {
                    let svc = hyper::service::service_fn(move |_req| {
                        counter.fetch_add(1, Ordering::SeqCst);
                        let body = Full::new(Bytes::from(name.clone()));
                        async move { Ok::<_, Infallible>(http::Response::new(body)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
                while conns.try_join_next().is_some() {}
            }
        });
        Backend { addr, hits, task }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn instance(&self, id: &str) -> InstanceInfo {
        inst("backend", id, "127.0.0.1", self.addr.port())
    }

    async fn kill(&self) {
        self.task.abort();
        // Let the abort land (the task and its connections are dropped).
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }
}

async fn three_backends() -> (Vec<Backend>, Arc<ClientSnapshot>) {
    let b = vec![
        Backend::start().await,
        Backend::start().await,
        Backend::start().await,
    ];
    let snap = snapshot(
        [
            b[0].instance("b1"),
            b[1].instance("b2"),
            b[2].instance("b3"),
        ],
        1,
    );
    (b, snap)
}

type Hyper = BalancedClient<Full<Bytes>, hyper::body::Incoming>;

fn hyper_client(rx: watch::Receiver<Arc<ClientSnapshot>>) -> Hyper {
    let http = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    BalancedClient::builder().build(rx, Target::app("backend"), http)
}

/// Makes `n` sequential GETs; returns the bodies (the answering backend's address).
async fn get_n(c: &Hyper, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let req = http::Request::get("http://backend/hello")
            .body(Full::new(Bytes::new()))
            .expect("valid request");
        let rsp = c.clone().oneshot(req).await.expect("call succeeds");
        assert_eq!(rsp.status(), http::StatusCode::OK);
        let body = rsp.into_body().collect().await.expect("body").to_bytes();
        out.push(String::from_utf8_lossy(&body).into_owned());
    }
    out
}

#[tokio::test]
async fn calls_spread_over_all_three_backends() {
    let (b, snap) = three_backends().await;
    let (_tx, rx) = watch::channel(snap);
    let c = hyper_client(rx);
    let bodies = get_n(&c, 90).await;
    for backend in &b {
        assert!(backend.hits() > 0, "{} got no call", backend.addr);
        let answered = bodies
            .iter()
            .filter(|a| **a == backend.addr.to_string())
            .count();
        assert_eq!(answered, backend.hits());
    }
    assert_eq!(b.iter().map(Backend::hits).sum::<usize>(), 90);
}

#[tokio::test]
async fn a_backend_removed_from_the_snapshot_gets_no_more_calls() {
    let (b, snap) = three_backends().await;
    let (tx, rx) = watch::channel(snap);
    let c = hyper_client(rx);
    get_n(&c, 30).await;
    tx.send_replace(snapshot([b[0].instance("b1"), b[1].instance("b2")], 2));
    let before = b[2].hits();
    get_n(&c, 60).await;
    assert_eq!(b[2].hits(), before, "the removed backend was called");
    assert!(b[0].hits() > 0 && b[1].hits() > 0);
}

#[tokio::test]
async fn a_killed_backend_is_routed_around_by_retries() {
    let (b, snap) = three_backends().await;
    let (_tx, rx) = watch::channel(snap);
    let c = hyper_client(rx);
    get_n(&c, 30).await;
    b[1].kill().await;
    let before = b[1].hits();
    let others = b[0].hits() + b[2].hits();
    // Every call succeeds (get_n asserts it), though the dead backend stays listed.
    let bodies = get_n(&c, 60).await;
    assert_eq!(b[1].hits(), before);
    assert_eq!(b[0].hits() + b[2].hits(), others + 60);
    assert!(!bodies.contains(&b[1].addr.to_string()));
}

#[tokio::test]
async fn reqwest_through_the_adapter() {
    let (b, snap) = three_backends().await;
    let (_tx, rx) = watch::channel(snap);
    let http = ReqwestService::new(reqwest::Client::builder().build().expect("reqwest client"));
    let c = BalancedClient::builder().build(rx, Target::app("BACKEND"), http);
    for i in 0..60 {
        let req = http::Request::put(format!("http://backend/item/{i}"))
            .body(Bytes::from_static(b"payload"))
            .expect("valid request");
        let rsp = c.clone().oneshot(req).await.expect("call succeeds");
        assert_eq!(rsp.status(), http::StatusCode::OK);
        let body = rsp.into_body().collect().await.expect("body").to_bytes();
        assert!(b.iter().any(|x| x.addr.to_string().as_bytes() == body));
    }
    assert!(b.iter().all(|x| x.hits() > 0));
}
