//! End to end through every layer of the crate: the registry server on 127.0.0.1, three
//! HTTP backends registered by the crate's own Eureka client, and a consumer that resolves
//! the app by name through a fetch-only client, `EurekaDiscover` and the p2c
//! `BalancedClient`.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tower::{Service, ServiceExt};
use tower_eureka::client::{EurekaClient, Target};
use tower_eureka::discover::{BalancedClient, MakeEndpoint, MakeHttpEndpoint};
use tower_eureka::model::InstanceInfo;
use tower_eureka::server::{serve, EurekaService, ServerConfig};

const APP: &str = "E2E-BACKEND";

async fn start_registry() -> String {
    let mut cfg = ServerConfig {
        prefix: "/eureka".into(),
        ..ServerConfig::default()
    };
    cfg.registry.publish_interval = Duration::from_millis(10);
    cfg.registry.eviction_interval = Duration::from_secs(1);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve(
        listener,
        EurekaService::new(cfg),
        std::future::pending(),
        Duration::ZERO,
    ));
    format!("http://{addr}/eureka")
}

/// An HTTP backend that answers `GET /` with its name and counts its hits.
struct Backend {
    name: String,
    port: u16,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Backend {
    async fn start(name: &str) -> Backend {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let hits = Arc::new(AtomicUsize::new(0));
        let (h, n) = (hits.clone(), name.to_owned());
        let task = tokio::spawn(async move {
            // Connections live in this task's JoinSet: aborting the task (a crash) drops
            // every open connection too.
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (h, n) = (h.clone(), n.clone());
                conns.spawn(async move {
                    let svc = hyper::service::service_fn(move |_req| {
                        h.fetch_add(1, Ordering::SeqCst);
                        let body = Full::new(Bytes::from(n.clone()));
                        async move { Ok::<_, std::convert::Infallible>(http::Response::new(body)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Backend {
            name: name.to_owned(),
            port,
            hits,
            task,
        }
    }

    /// Registers this backend with the registry through the crate's client.
    fn register(&self, registry: &str) -> EurekaClient {
        let instance = InstanceInfo::builder(APP)
            .instance_id(self.name.clone())
            .host_name("127.0.0.1")
            .ip_addr("127.0.0.1")
            .port(self.port)
            .lease(1, 3)
            .build();
        EurekaClient::builder([registry])
            .instance(instance)
            .register_only()
            .start()
            .expect("backend client")
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

type Http = BalancedClient<Full<Bytes>, hyper::body::Incoming>;

/// How many endpoints the balancer holds per instance id: each endpoint counts from when
/// the Discover stream made it (`Insert`) until the balancer drops it (after `Remove`).
#[derive(Clone, Default)]
struct Live(Arc<Mutex<HashMap<String, usize>>>);

impl Live {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self, id: &str) -> usize {
        self.lock().get(id).copied().unwrap_or(0)
    }
}

/// The default endpoint factory, with every endpoint it makes counted in [`Live`].
struct Counted<M> {
    make: M,
    live: Live,
}

impl<M: MakeEndpoint> MakeEndpoint for Counted<M> {
    type Endpoint = CountedEndpoint<M::Endpoint>;

    fn make_endpoint(&self, instance: &InstanceInfo) -> Option<Self::Endpoint> {
        let inner = self.make.make_endpoint(instance)?;
        let id = instance.id().to_owned();
        *self.live.lock().entry(id.clone()).or_default() += 1;
        Some(CountedEndpoint {
            inner,
            _alive: Alive {
                id,
                live: self.live.clone(),
            },
        })
    }
}

/// An endpoint, unchanged, plus its entry in [`Live`].
struct CountedEndpoint<E> {
    inner: E,
    _alive: Alive,
}

struct Alive {
    id: String,
    live: Live,
}

impl Drop for Alive {
    fn drop(&mut self) {
        if let Some(n) = self.live.lock().get_mut(&self.id) {
            *n -= 1;
        }
    }
}

impl<E: Service<Req>, Req> Service<Req> for CountedEndpoint<E> {
    type Response = E::Response;
    type Error = E::Error;
    type Future = E::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), E::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> E::Future {
        self.inner.call(req)
    }
}

async fn call(c: &Http) -> Result<String, tower_eureka::BoxError> {
    let req = http::Request::get(format!("http://{APP}/"))
        .body(Full::new(Bytes::new()))
        .expect("request");
    let rsp = c.clone().oneshot(req).await?;
    let body = rsp.into_body().collect().await?.to_bytes();
    Ok(String::from_utf8_lossy(&body).into_owned())
}

async fn wait_until<F: Fn() -> bool>(what: &str, f: F) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// C-05/C-11 register + heartbeat, C-20/C-22 fetch + reconcile, C-26 UP only, the Discover
/// diff and p2c spreading; C-50 a cancelled backend gets no more calls; a killed one
/// (no cancel) is routed around by retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_by_app_name_spread_deregister_and_survive_a_crash() {
    let registry = start_registry().await;
    let backends = [
        Backend::start("b1").await,
        Backend::start("b2").await,
        Backend::start("b3").await,
    ];
    let clients: Vec<EurekaClient> = backends.iter().map(|b| b.register(&registry)).collect();

    let consumer = EurekaClient::builder([registry.as_str()])
        .fetch_only()
        .fetch_interval(Duration::from_millis(100))
        .start()
        .expect("consumer");
    let target = Target::app(APP);
    wait_until("three UP instances in the consumer's copy", || {
        consumer.up_instances(&target).len() == 3
    })
    .await;

    let http = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let live = Live::default();
    let c: Http = BalancedClient::builder()
        .timeout(Duration::from_secs(5))
        .per_try_timeout(Duration::from_secs(1))
        .build_with(
            consumer.snapshots(),
            target.clone(),
            Counted {
                make: MakeHttpEndpoint::new(http),
                live: live.clone(),
            },
        );

    // Spread over all three.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for _ in 0..60 {
        *seen.entry(call(&c).await.expect("call")).or_default() += 1;
    }
    // Every backend is reached. How evenly is not asserted: PeakEwma rightly avoids, for
    // its decay time, a backend whose first call was slow (connection setup on a loaded
    // machine), so a per-backend minimum failed ~1 run in 15 on 2 busy cores.
    assert_eq!(seen.len(), 3, "calls reached {seen:?}");
    assert_eq!(seen.values().sum::<usize>(), 60);
    for id in ["b1", "b2", "b3"] {
        assert_eq!(
            live.count(id),
            1,
            "the balancer holds one endpoint for {id}"
        );
    }

    // b1 deregisters (cancel): once the consumer's copy drops it, no call reaches it.
    let mut clients = clients.into_iter();
    let c1 = clients.next().expect("c1");
    c1.shutdown().await.expect("cancel");
    wait_until("b1 gone from the consumer", || {
        consumer
            .up_instances(&target)
            .iter()
            .all(|i| i.id() != "b1")
    })
    .await;
    // The balancer's own task applies the Discover diff: wait until it dropped b1's
    // endpoint (at most 10 s), not for a fixed time.
    wait_until("the balancer to drop b1's endpoint", || {
        live.count("b1") == 0
    })
    .await;
    assert_eq!((live.count("b2"), live.count("b3")), (1, 1));
    let before = backends[0].hits();
    for _ in 0..30 {
        let who = call(&c).await.expect("call");
        assert_ne!(who, "b1");
    }
    assert_eq!(
        backends[0].hits(),
        before,
        "a deregistered backend was called"
    );

    // b2 crashes: its process (server and heartbeats) vanishes without a cancel. Until its
    // lease expires, retries carry every call to b3.
    let c2 = clients.next().expect("c2");
    drop(c2);
    backends[1].task.abort();
    for _ in 0..30 {
        let who = call(&c)
            .await
            .expect("retries route around the dead backend");
        assert_eq!(who, "b3");
    }
    // one lease duration (3 s here) after its last heartbeat the registry evicts it
    // (R-42, 1 s eviction tick), and the consumer's copy follows (C-21).
    let c3 = clients.next().expect("c3");
    wait_until("b2 evicted after its lease expired", || {
        consumer.instances(&target).iter().all(|i| i.id() != "b2")
    })
    .await;
    assert_eq!(
        consumer
            .up_instances(&target)
            .iter()
            .map(|i| i.id().to_owned())
            .collect::<Vec<_>>(),
        vec!["b3".to_owned()]
    );
    c3.shutdown().await.expect("cancel");
    consumer.shutdown().await.expect("consumer shutdown");
}

// Issue 11: `client_lifecycle` (the example) stopped with SIGTERM, as a container is,
// cancels its registration at once instead of leaving it until the lease expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_cancels_the_registration_of_a_real_process() {
    let eureka = start_registry().await;
    let Ok(exe) = std::env::current_exe() else {
        panic!("no current exe");
    };
    // target/<profile>/deps/e2e-… → target/<profile>/examples/client_lifecycle
    let Some(example) = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|p| p.join("examples").join("client_lifecycle"))
    else {
        panic!("no target directory above {}", exe.display());
    };
    assert!(
        example.exists(),
        "{} missing: `cargo test` builds the examples (`--test e2e` alone does not: build them first)",
        example.display()
    );
    let mut child = tokio::process::Command::new(&example)
        .args([
            "--eureka",
            &eureka,
            "--app",
            "sigterm-demo",
            "--port",
            "9",
            "--fetch-secs",
            "1",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn client_lifecycle");
    let http = reqwest::Client::new();
    let listed = |present: bool| {
        let http = http.clone();
        let url = format!("{eureka}/apps/SIGTERM-DEMO");
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            loop {
                let code = match http
                    .get(&url)
                    .header("accept", "application/json")
                    .send()
                    .await
                {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                };
                if (code == 200) == present {
                    return;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "SIGTERM-DEMO listed={present} within 20 s (last {code})"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    listed(true).await;
    let Some(pid) = child.id() else {
        panic!("the example exited early");
    };
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(sent, "kill -TERM {pid}");
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("the example exits within 20 s of SIGTERM")
        .expect("wait");
    assert!(
        status.success(),
        "a clean exit, not death by signal: {status}"
    );
    // Cancelled, not expired: the lease is 90 s.
    listed(false).await;
}

// Issue 15: against our server the client watches: a change reaches its copy at once,
// although its fetch interval is a minute (and against a server that does not say it
// supports watching, such as Java's, it polls as before: tests/client, tests/spring).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_watches_our_server_and_gets_a_change_at_once() {
    let mut cfg = ServerConfig {
        prefix: "/eureka".into(),
        ..ServerConfig::default()
    };
    cfg.registry.publish_interval = Duration::from_millis(10);
    let svc = EurekaService::new(cfg);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve(
        listener,
        svc.clone(),
        std::future::pending(),
        Duration::ZERO,
    ));
    let client = EurekaClient::builder([format!("http://{addr}/eureka")])
        .fetch_interval(Duration::from_secs(60))
        .start()
        .expect("client");
    let mut snaps = client.snapshots();
    let fetched = tokio::time::timeout(Duration::from_secs(10), snaps.wait_for(|s| s.is_fetched()));
    assert!(fetched.await.is_ok(), "first fetch");
    for round in 0..3 {
        let id = format!("w-{round}");
        let inst = InstanceInfo::builder("WATCHED")
            .instance_id(id.clone())
            .build();
        assert!(svc
            .registry()
            .register(inst, tower_eureka::registry::Origin::Client)
            .is_ok());
        // Well inside the 60 s fetch interval: only a watch can bring it.
        let seen = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if client
                    .instances(&Target::app("WATCHED"))
                    .iter()
                    .any(|i| i.id() == id)
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        assert!(seen.await.is_ok(), "round {round}: the change within 5 s");
    }
    let m = client.metrics().snapshot();
    assert_eq!(m.full_fetches, 1, "{m:?}");
    assert!(m.delta_fetches >= 3, "{m:?}");
}
