//! The Java estate (issue 9), functional half: a real Spring Cloud client against the real
//! `eureka-server` binary ([`spring_client`]), and the crate's own client, Discover and
//! balancer against a real Spring (Netflix Eureka 2) server ([`java_server`]).
//!
//! The Maven projects under `tests/java/` are built by the harness on first use (cached in
//! `~/.m2`); each role runs in one JVM per scenario function, every JVM is killed on drop.

#[path = "../java/harness.rs"]
#[allow(unreachable_pub)]
mod java;
#[path = "../interop/proxy.rs"]
#[allow(dead_code)]
mod proxy;
#[path = "../common/server_process.rs"]
mod server_process;

mod java_server;
mod regions;
mod spring_client;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

/// How long any awaited outcome may take before the test fails (JVMs on shared cores).
const WAIT: Duration = Duration::from_secs(45);

/// Polls `f` every 200 ms until it yields `Some`, failing the test after `WAIT`.
async fn wait_for<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out ({WAIT:?}) waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The `eureka-server` binary on 127.0.0.1:0; killed on drop.
pub(crate) use server_process::ServerProcess as RustServer;

/// Short settings: changes published every 50 ms, expired leases evicted every 250 ms, no
/// self-preservation.
pub(crate) fn start_rust_server() -> RustServer {
    RustServer::start(&[
        "--response-cache-update-interval-ms",
        "50",
        "--eviction-interval-timer-in-ms",
        "250",
        "--enable-self-preservation",
        "false",
    ])
}

/// A plain HTTP client for the tests' own requests.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

/// `GET url` with `Accept: application/json`: the status and the parsed body (`Null`
/// when it is not JSON).
async fn get_json(url: &str) -> Option<(u16, Value)> {
    let rsp = http()
        .get(url)
        .header("Accept", "application/json")
        .send()
        .await
        .ok()?;
    let status = rsp.status().as_u16();
    let text = rsp.text().await.ok()?;
    Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// `GET url` as text: status and body.
async fn get_text(url: &str) -> Option<(u16, String)> {
    let rsp = http().get(url).send().await.ok()?;
    let status = rsp.status().as_u16();
    Some((status, rsp.text().await.ok()?))
}

/// `method url` with an optional JSON body: the status.
async fn send(method: reqwest::Method, url: &str, json: Option<String>) -> Option<u16> {
    let mut req = http().request(method, url);
    if let Some(body) = json {
        req = req.header("Content-Type", "application/json").body(body);
    }
    Some(req.send().await.ok()?.status().as_u16())
}

/// One instance as a Eureka server answers `GET /apps/{APP}/{ID}` (JSON), or `None`
/// while it answers something else.
async fn instance(base: &str, app: &str, id: &str) -> Option<Value> {
    match get_json(&format!("{base}/apps/{app}/{id}")).await {
        Some((200, v)) => v.get("instance").cloned(),
        _ => None,
    }
}

/// The proxy's counts (`"{kind} {target} {status}"`).
async fn counts(proxy: &proxy::Proxy) -> BTreeMap<String, u64> {
    let base = proxy.url.trim_end_matches("/eureka");
    let Some((200, v)) = get_json(&format!("{base}/__counts")).await else {
        panic!("the proxy did not answer its counts");
    };
    serde_json::from_value(v).expect("counts are a map")
}

/// The sum of the counts whose key starts with `prefix` and ends with `status`.
fn count(c: &BTreeMap<String, u64>, prefix: &str, status: &str) -> u64 {
    c.iter()
        .filter(|(k, _)| k.starts_with(prefix) && k.ends_with(status))
        .map(|(_, v)| v)
        .sum()
}

/// A small HTTP service on 127.0.0.1:0 that answers every request with `name:path`.
struct RustBackend {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl RustBackend {
    async fn start(name: &str) -> RustBackend {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind backend");
        let port = listener.local_addr().expect("addr").port();
        let name = name.to_owned();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let name = name.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: http::Request<_>| {
                        let body = format!("{name}:{}", req.uri().path());
                        async move {
                            Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                                Bytes::from(body),
                            )))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        RustBackend { port, task }
    }
}

impl Drop for RustBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Lines of a Java log that show a failure: exceptions, errors, Jackson's complaints
/// about a payload (Spring's mapper fails on any key it does not know).
fn failures(log: &[String]) -> Vec<String> {
    log.iter()
        .filter(|l| {
            [
                "Exception",
                "ERROR",
                "Cannot deserialize",
                "Unrecognized field",
            ]
            .iter()
            .any(|w| l.contains(w))
        })
        .cloned()
        .collect()
}

/// A Rust Discover over a client's snapshots, and the ids it has inserted so far.
pub(crate) struct Watched<M: tower_eureka::discover::MakeEndpoint> {
    pub(crate) discover: tower_eureka::discover::EurekaDiscover<M>,
    pub(crate) ids: std::collections::HashSet<String>,
}

impl<M: tower_eureka::discover::MakeEndpoint> Watched<M> {
    /// Applies the Discover's changes until `id` is (or is not) inserted, failing the test
    /// after `WAIT`.
    pub(crate) async fn until(&mut self, id: &str, present: bool) {
        use futures_core::Stream;
        let deadline = std::time::Instant::now() + WAIT;
        while self.ids.contains(id) != present {
            let d = &mut self.discover;
            let step = std::future::poll_fn(|cx| std::pin::Pin::new(&mut *d).poll_next(cx));
            match tokio::time::timeout(Duration::from_millis(200), step).await {
                Ok(Some(Ok(tower::discover::Change::Insert(k, _)))) => {
                    self.ids.insert(k.to_string());
                }
                Ok(Some(Ok(tower::discover::Change::Remove(k)))) => {
                    self.ids.remove(&*k);
                }
                _ => {}
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the Rust Discover never had {id} present={present}"
            );
        }
    }
}
