//! `/metrics` of the server (the service and the real binary), the cluster's per-peer
//! figures, and the client's counters against a real server. Values are asserted exactly
//! after known traffic; the text is parsed strictly (`prom.rs`).

#[path = "../common/server_process.rs"]
mod server_process;

mod client;
mod prom;

use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use prom::Exposition;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;
use tower_eureka::server::{EurekaService, PeerMetrics, Replicator, ServerConfig, WriteKind};

fn register_body(app: &str, id: &str, status: &str) -> String {
    format!(
        r#"{{"instance":{{"instanceId":"{id}","hostName":"{id}.host","app":"{app}","ipAddr":"10.0.0.1","status":"{status}","port":{{"$":8080,"@enabled":"true"}},"dataCenterInfo":{{"@class":"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo","name":"MyOwn"}}}}}}"#
    )
}

fn config() -> ServerConfig {
    let mut c = ServerConfig {
        prefix: "/eureka".into(),
        ..ServerConfig::default()
    };
    c.registry.publish_interval = Duration::ZERO;
    c
}

async fn call(
    svc: &EurekaService,
    method: Method,
    path: &str,
    body: String,
) -> (StatusCode, String) {
    let mut req = Request::builder().method(method).uri(path);
    if !body.is_empty() {
        req = req.header("content-type", "application/json");
    }
    let req = req
        .header("accept", "application/json")
        .body(Full::new(bytes::Bytes::from(body)))
        .expect("request");
    let res = svc.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let body = res.into_body().collect().await.expect("body").to_bytes();
    if path.ends_with("/metrics") && status == StatusCode::OK {
        assert_eq!(
            ct.as_deref(),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
    }
    (status, String::from_utf8(body.to_vec()).expect("UTF-8"))
}

/// The traffic both scrape tests send, through `send(method, path, body) -> status`:
/// 3 registrations, 5 heartbeats, 1 cancel, one heartbeat 404, two identical reads, one
/// unknown path.
async fn known_traffic<F, Fut>(send: F)
where
    F: Fn(Method, String, String) -> Fut,
    Fut: std::future::Future<Output = StatusCode>,
{
    for (app, id, status) in [
        ("orders", "o1", "UP"),
        ("orders", "o2", "UP"),
        ("payments", "p1", "STARTING"),
    ] {
        let path = format!("/eureka/apps/{app}");
        assert_eq!(
            send(Method::POST, path, register_body(app, id, status)).await,
            204
        );
    }
    for _ in 0..5 {
        let s = send(Method::PUT, "/eureka/apps/ORDERS/o1".into(), String::new()).await;
        assert_eq!(s, 200);
    }
    let s = send(
        Method::PUT,
        "/eureka/apps/ORDERS/ghost".into(),
        String::new(),
    )
    .await;
    assert_eq!(s, 404);
    let s = send(
        Method::DELETE,
        "/eureka/apps/ORDERS/o2".into(),
        String::new(),
    )
    .await;
    assert_eq!(s, 200);
    for _ in 0..2 {
        assert_eq!(
            send(Method::GET, "/eureka/apps".into(), String::new()).await,
            200
        );
    }
    assert_eq!(
        send(Method::GET, "/eureka/nope".into(), String::new()).await,
        404
    );
}

/// What both scrape tests assert after [`known_traffic`].
fn assert_known_values(m: &Exposition) {
    // E-10, E-11, E-12: the registry's own counters, read at scrape time.
    assert_eq!(m.value("eureka_registrations_total", &[]), 3.0);
    assert_eq!(m.value("eureka_renews_total", &[("result", "ok")]), 5.0);
    assert_eq!(
        m.value("eureka_renews_total", &[("result", "not_found")]),
        1.0
    );
    assert_eq!(m.value("eureka_cancels_total", &[]), 1.0);
    assert_eq!(m.value("eureka_evictions_total", &[]), 0.0);
    assert_eq!(m.value("eureka_expired_leases", &[]), 0.0);
    // Instances by app and status, from the snapshot.
    assert_eq!(m.all("eureka_instances").len(), 2);
    assert_eq!(
        m.value("eureka_instances", &[("app", "ORDERS"), ("status", "UP")]),
        1.0
    );
    assert_eq!(
        m.value(
            "eureka_instances",
            &[("app", "PAYMENTS"), ("status", "STARTING")]
        ),
        1.0
    );
    // R-90: the second identical read is served from the encoded payload.
    assert_eq!(m.value("eureka_payload_cache_misses_total", &[]), 1.0);
    assert_eq!(m.value("eureka_payload_cache_hits_total", &[]), 1.0);
    assert_eq!(m.value("eureka_payload_encode_seconds_count", &[]), 1.0);
    // Requests by route name and status, never by raw path.
    let req = |route: &str, status: &str| {
        m.value(
            "eureka_http_requests_total",
            &[("route", route), ("status", status)],
        )
    };
    assert_eq!(req("register", "204"), 3.0);
    assert_eq!(req("heartbeat", "200"), 5.0);
    assert_eq!(req("heartbeat", "404"), 1.0);
    assert_eq!(req("cancel", "200"), 1.0);
    assert_eq!(req("apps", "200"), 2.0);
    assert_eq!(req("unmatched", "404"), 1.0);
    for s in m.all("eureka_http_requests_total") {
        assert!(
            !s.labels["route"].contains('/'),
            "a raw path as label: {s:?}"
        );
    }
    let sum: f64 = m
        .all("eureka_http_requests_total")
        .iter()
        .map(|s| s.value)
        .sum();
    assert_eq!(sum, 13.0, "one count per request");
    // Latency histograms: one observation per request of the route.
    let h = "eureka_http_request_duration_seconds";
    assert_eq!(
        m.value(&format!("{h}_count"), &[("route", "heartbeat")]),
        6.0
    );
    assert_eq!(
        m.value(
            &format!("{h}_bucket"),
            &[("route", "heartbeat"), ("le", "+Inf")]
        ),
        6.0
    );
    assert!(m.value(&format!("{h}_sum"), &[("route", "heartbeat")]) > 0.0);
    assert_eq!(
        m.value(&format!("{h}_count"), &[("route", "register")]),
        3.0
    );
    for (family, ty) in [
        ("eureka_instances", "gauge"),
        ("eureka_registrations_total", "counter"),
        ("eureka_renews_total", "counter"),
        ("eureka_cancels_total", "counter"),
        ("eureka_evictions_total", "counter"),
        ("eureka_expired_leases", "gauge"),
        ("eureka_protected_leases", "gauge"),
        ("eureka_renews_last_minute", "gauge"),
        ("eureka_renew_threshold", "gauge"),
        ("eureka_expected_renews_per_minute", "gauge"),
        ("eureka_self_preservation_active", "gauge"),
        ("eureka_payload_cache_hits_total", "counter"),
        ("eureka_payload_cache_misses_total", "counter"),
        ("eureka_payload_encode_seconds", "histogram"),
        ("eureka_http_requests_total", "counter"),
        ("eureka_http_request_duration_seconds", "histogram"),
    ] {
        assert_eq!(m.type_of(family), Some(ty), "# TYPE of {family}");
    }
}

#[tokio::test(start_paused = true)]
async fn service_metrics_after_known_traffic_are_exact() {
    let svc = EurekaService::new(config());
    known_traffic(|m, p, b| {
        let svc = svc.clone();
        async move { call(&svc, m, &p, b).await.0 }
    })
    .await;
    let (status, text) = call(&svc, Method::GET, "/metrics", String::new()).await;
    assert_eq!(status, 200);
    let m = prom::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_known_values(&m);
    // R-104: the self-preservation state and its inputs, as the registry reports them.
    let sp = svc.registry().self_preservation();
    assert_eq!(
        m.value("eureka_renews_last_minute", &[]),
        sp.renews_last_min as f64
    );
    assert_eq!(m.value("eureka_renew_threshold", &[]), sp.threshold);
    assert_eq!(
        m.value("eureka_expected_renews_per_minute", &[]),
        sp.expected_renews_per_min
    );
    assert_eq!(
        m.value("eureka_protected_leases", &[]),
        sp.protected_count as f64
    );
    assert_eq!(
        m.value("eureka_self_preservation_active", &[]),
        if sp.active { 1.0 } else { 0.0 }
    );
    // No cluster: no peer families.
    assert!(m.types.keys().all(|k| !k.starts_with("eureka_peer_")));
    // The scrape itself is counted (seen by the next scrape), under its own route name.
    let (_, text) = call(&svc, Method::GET, "/metrics/", String::new()).await;
    let m = prom::parse(&text).expect("valid");
    assert_eq!(
        m.value(
            "eureka_http_requests_total",
            &[("route", "metrics"), ("status", "200")]
        ),
        1.0
    );
}

#[tokio::test(start_paused = true)]
async fn metrics_is_a_root_route_and_answers_get_only() {
    let svc = EurekaService::new(config());
    // Outside the REST prefix: `/eureka/metrics` is no route.
    assert_eq!(
        call(&svc, Method::GET, "/eureka/metrics", String::new())
            .await
            .0,
        404
    );
    let (status, body) = call(&svc, Method::POST, "/metrics", "x".into()).await;
    assert_eq!(status, 405, "{body}");
    // A bad request changes nothing: no registration was counted.
    let (_, text) = call(&svc, Method::GET, "/metrics", String::new()).await;
    let m = prom::parse(&text).expect("valid");
    assert_eq!(m.value("eureka_registrations_total", &[]), 0.0);
    assert_eq!(
        m.value(
            "eureka_http_requests_total",
            &[("route", "metrics"), ("status", "405")]
        ),
        1.0
    );
    assert_eq!(
        m.value(
            "eureka_http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ),
        1.0
    );
}

#[tokio::test(start_paused = true)]
async fn metrics_off_is_no_route_and_no_request_counting() {
    let svc = EurekaService::new(ServerConfig {
        metrics: false,
        ..config()
    });
    assert_eq!(
        call(&svc, Method::GET, "/metrics", String::new()).await.0,
        404
    );
    let body = register_body("orders", "o1", "UP");
    assert_eq!(
        call(&svc, Method::POST, "/eureka/apps/orders", body)
            .await
            .0,
        204
    );
    // The registry's counters are still there for an application's own registry.
    let m = prom::parse(&svc.metrics().render()).expect("valid");
    assert_eq!(m.value("eureka_registrations_total", &[]), 1.0);
    assert_eq!(m.type_of("eureka_http_requests_total"), None);
    assert_eq!(m.type_of("eureka_http_request_duration_seconds"), None);
}

// === the cluster's figures through the Replicator hook ===

struct TwoPeers;

impl Replicator for TwoPeers {
    fn replicate(&self, _: WriteKind, _: &str, _: &str) {}
    fn ready(&self) -> bool {
        true
    }
    fn status(&self) -> Option<serde_json::Value> {
        None
    }
    fn peer_metrics(&self) -> Vec<PeerMetrics> {
        let mut a = PeerMetrics::new("http://a:8761/eureka/");
        a.queued = 7;
        a.in_flight = 2;
        a.batches = 11;
        a.retries = 3;
        a.dropped = 1;
        a.sent_items = 40;
        a.circuit_open = true;
        a.last_success_epoch_ms = Some(1_700_000_000_500);
        let b = PeerMetrics::new("http://b:8761/eureka/");
        vec![a, b]
    }
}

// P-35: every dropped task is counted in a metric; P-45's figures per peer.
#[tokio::test(start_paused = true)]
async fn p35_peer_figures_come_from_the_replicator_at_scrape_time() {
    let svc = EurekaService::with_replicator(config(), |_| Arc::new(TwoPeers));
    let m = prom::parse(&svc.metrics().render()).expect("valid");
    let a = [("peer", "http://a:8761/eureka/")];
    let b = [("peer", "http://b:8761/eureka/")];
    assert_eq!(m.value("eureka_peer_queue_length", &a), 7.0);
    assert_eq!(m.value("eureka_peer_in_flight_batches", &a), 2.0);
    assert_eq!(m.value("eureka_peer_batches_total", &a), 11.0);
    assert_eq!(m.value("eureka_peer_retries_total", &a), 3.0);
    assert_eq!(m.value("eureka_peer_dropped_total", &a), 1.0);
    assert_eq!(m.value("eureka_peer_sent_items_total", &a), 40.0);
    assert_eq!(m.value("eureka_peer_circuit_open", &a), 1.0);
    assert_eq!(
        m.value("eureka_peer_last_success_timestamp_seconds", &a),
        1_700_000_000.5
    );
    assert_eq!(m.value("eureka_peer_dropped_total", &b), 0.0);
    assert_eq!(m.value("eureka_peer_circuit_open", &b), 0.0);
    // Never reached: no timestamp rather than a zero.
    assert_eq!(
        m.get("eureka_peer_last_success_timestamp_seconds", &b),
        None
    );
    assert_eq!(m.type_of("eureka_peer_queue_length"), Some("gauge"));
    assert_eq!(m.type_of("eureka_peer_dropped_total"), Some("counter"));
}

// P-32, P-35: a real cluster layer whose peer refuses connections: its tasks wait in the
// queue and its failed attempts are counted, as `/metrics` shows.
#[tokio::test]
async fn p32_a_down_peer_shows_queued_tasks_and_retries() {
    use tower_eureka::cluster::{Cluster, ClusterConfig, PeerUrl};
    // A port that was free a moment ago: connections to it are refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let peer = PeerUrl::parse(&format!("http://127.0.0.1:{port}/eureka/")).expect("peer url");
    let cluster = ClusterConfig {
        peers: vec![peer],
        batch_delay: Duration::from_millis(1),
        sync_budget: Duration::ZERO,
        ..ClusterConfig::default()
    };
    let svc = EurekaService::with_replicator(config(), |r| Cluster::start(cluster, r));
    let body = register_body("orders", "o1", "UP");
    assert_eq!(
        call(&svc, Method::POST, "/eureka/apps/orders", body)
            .await
            .0,
        204
    );
    let label = [("peer", format!("http://127.0.0.1:{port}/eureka/"))];
    let label = [(label[0].0, label[0].1.as_str())];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let m = loop {
        let m = prom::parse(&svc.metrics().render()).expect("valid");
        if m.get("eureka_peer_retries_total", &label).unwrap_or(0.0) >= 1.0 {
            break m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no retry counted in 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // The register task is kept for the next attempt (P-35: never dropped for waiting).
    assert_eq!(m.value("eureka_peer_queue_length", &label), 1.0);
    assert_eq!(m.value("eureka_peer_dropped_total", &label), 0.0);
    assert_eq!(
        m.get("eureka_peer_last_success_timestamp_seconds", &label),
        None
    );
}

// === the real binary ===

#[tokio::test]
async fn the_binary_serves_metrics_at_its_root() {
    let server = server_process::ServerProcess::start(&["--response-cache-update-interval-ms=0"]);
    let base = server.url.trim_end_matches("/eureka").to_owned();
    let http = reqwest::Client::new();
    known_traffic(|m, p, b| {
        let http = http.clone();
        let url = format!("{base}{p}");
        async move {
            let mut req = http
                .request(m, url)
                .header("accept", "application/json")
                .timeout(Duration::from_secs(10));
            if !b.is_empty() {
                req = req.header("content-type", "application/json").body(b);
            }
            req.send().await.expect("request").status()
        }
    })
    .await;
    let res = http
        .get(format!("{base}/metrics"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("scrape");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = res.text().await.expect("text");
    let m = prom::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_known_values(&m);
}

// === request spans ===

#[derive(Clone, Default)]
struct Capture(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn request_spans_carry_route_app_and_status() {
    let logs = Capture::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let svc = EurekaService::new(config());
    let body = register_body("orders", "o1", "UP");
    assert_eq!(
        call(&svc, Method::POST, "/eureka/apps/orders", body)
            .await
            .0,
        204
    );
    let s = call(
        &svc,
        Method::PUT,
        "/eureka/apps/orders/ghost",
        String::new(),
    )
    .await;
    assert_eq!(s.0, 404);
    let text = String::from_utf8(logs.0.lock().expect("lock").clone()).expect("UTF-8");
    let spans: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "close" && v["span"]["name"] == "request")
        .map(|v| v["span"].clone())
        .collect();
    assert_eq!(spans.len(), 2, "{text}");
    // The register's span is closed by its boxed future, after the body was read.
    assert_eq!(spans[0]["route"], "register");
    assert_eq!(spans[0]["app"], "ORDERS");
    assert_eq!(spans[0]["status"], 204);
    assert_eq!(spans[1]["route"], "heartbeat");
    assert_eq!(spans[1]["app"], "ORDERS");
    assert_eq!(spans[1]["status"], 404);
}

// === eviction and self-preservation, on paused time ===

async fn register_n(svc: &EurekaService, n: usize) {
    for i in 0..n {
        let body = register_body("orders", &format!("o{i}"), "UP");
        assert_eq!(
            call(svc, Method::POST, "/eureka/apps/orders", body).await.0,
            204
        );
    }
}

// R-42: leases that stop renewing are evicted, and counted.
#[tokio::test(start_paused = true)]
async fn r42_evictions_are_counted_and_evicted_instances_leave_the_gauge() {
    let mut c = config();
    c.registry.self_preservation = tower_eureka::registry::SelfPreservationMode::Disabled;
    let svc = EurekaService::new(c);
    register_n(&svc, 3).await;
    tokio::time::sleep(Duration::from_secs(300)).await;
    let m = prom::parse(&svc.metrics().render()).expect("valid");
    assert_eq!(m.value("eureka_evictions_total", &[]), 3.0);
    assert_eq!(m.value("eureka_expired_leases", &[]), 0.0);
    assert_eq!(m.value("eureka_self_preservation_active", &[]), 0.0);
    assert!(m.all("eureka_instances").is_empty());
}

// R-104: the self-preservation state, its inputs and the protected leases are exposed.
#[tokio::test(start_paused = true)]
async fn r104_self_preservation_on_shows_protected_and_expired_leases() {
    let svc = EurekaService::new(config());
    register_n(&svc, 10).await;
    tokio::time::sleep(Duration::from_secs(300)).await;
    let m = prom::parse(&svc.metrics().render()).expect("valid");
    assert_eq!(m.value("eureka_self_preservation_active", &[]), 1.0);
    assert_eq!(m.value("eureka_evictions_total", &[]), 0.0);
    assert_eq!(m.value("eureka_protected_leases", &[]), 10.0);
    assert_eq!(m.value("eureka_expired_leases", &[]), 10.0);
    assert_eq!(m.value("eureka_renews_last_minute", &[]), 0.0);
    assert_eq!(
        m.value("eureka_instances", &[("app", "ORDERS"), ("status", "UP")]),
        10.0
    );
}

// P-45: a peer that answers: the batch, the delivered item and the last success show up.
#[tokio::test]
async fn p45_a_live_peer_shows_batches_items_and_its_last_success() {
    use tower_eureka::cluster::{Cluster, ClusterConfig, PeerUrl};
    let b = EurekaService::new(config());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(tower_eureka::server::serve(
        listener,
        b.clone(),
        async move {
            let _ = stopped.await;
        },
        Duration::from_millis(200),
    ));
    let url = format!("http://{addr}/eureka/");
    let cluster = ClusterConfig {
        peers: vec![PeerUrl::parse(&url).expect("peer url")],
        batch_delay: Duration::from_millis(1),
        ..ClusterConfig::default()
    };
    let a = EurekaService::with_replicator(config(), |r| Cluster::start(cluster, r));
    let body = register_body("orders", "o1", "UP");
    assert_eq!(
        call(&a, Method::POST, "/eureka/apps/orders", body).await.0,
        204
    );
    let label = [("peer", url.as_str())];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let m = loop {
        let m = prom::parse(&a.metrics().render()).expect("valid");
        if m.get("eureka_peer_sent_items_total", &label) == Some(1.0) {
            break m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing delivered in 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(b.registry().instance("ORDERS", "o1").is_some());
    assert!(m.value("eureka_peer_batches_total", &label) >= 1.0);
    assert_eq!(m.value("eureka_peer_queue_length", &label), 0.0);
    assert_eq!(m.value("eureka_peer_retries_total", &label), 0.0);
    assert_eq!(m.value("eureka_peer_dropped_total", &label), 0.0);
    assert_eq!(m.value("eureka_peer_circuit_open", &label), 0.0);
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let last = m.value("eureka_peer_last_success_timestamp_seconds", &label);
    assert!(last > 1.6e9 && last <= since_epoch + 1.0, "{last}");
    // The peer counted the replicated register as a request of its own.
    let pm = prom::parse(&b.metrics().render()).expect("valid");
    assert!(
        pm.get(
            "eureka_http_requests_total",
            &[("route", "replication_batch"), ("status", "200")]
        ) >= Some(1.0)
    );
    let _ = stop.send(());
}
