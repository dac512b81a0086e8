//! The operator routes outside the REST prefix, at the tower level: `/health`, `/ready`
//! (P-40), the dashboard and its JSON twin (configured path, disabled, filter and pages,
//! escaping, self-preservation banners, replicas).

use crate::support::register_body;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;
use tower_eureka::registry::SelfPreservationMode;
use tower_eureka::server::{DashboardConfig, EurekaService, Replicator, ServerConfig, WriteKind};

const EMERGENCY: &str = "EMERGENCY! EUREKA MAY BE INCORRECTLY CLAIMING INSTANCES ARE UP WHEN \
     THEY'RE NOT. RENEWALS ARE LESSER THAN THRESHOLD AND HENCE THE INSTANCES ARE NOT BEING \
     EXPIRED JUST TO BE SAFE.";
const TURNED_OFF: &str = "THE SELF PRESERVATION MODE IS TURNED OFF. THIS MAY NOT PROTECT \
     INSTANCE EXPIRY IN CASE OF NETWORK/OTHER PROBLEMS.";

/// A replicator that is ready when told, with one unhealthy peer in its status section.
#[derive(Default)]
struct FakeReplicator {
    ready: AtomicBool,
}

impl Replicator for FakeReplicator {
    fn replicate(&self, _: WriteKind, _: &str, _: &str) {}
    fn ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
    fn status(&self) -> Option<Value> {
        Some(json!({
            "peers": [{
                "url": "http://10.9.9.9:8761/eureka/",
                "healthy": false,
                "circuit": "open",
                "lastSuccess": null,
                "queued": 3,
                "lastError": "connection refused",
            }],
            "openForTraffic": self.ready(),
        }))
    }
}

/// The REST API under `/eureka` (as the binary runs it), publishing at once.
fn config() -> ServerConfig {
    let mut c = ServerConfig {
        prefix: "/eureka".into(),
        ..ServerConfig::default()
    };
    c.registry.publish_interval = Duration::ZERO;
    c
}

async fn send(
    svc: &EurekaService,
    method: &str,
    uri: &str,
    body: String,
) -> (u16, http::HeaderMap, Bytes) {
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("request");
    let res = svc.clone().oneshot(req).await.expect("infallible");
    let code = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (code, headers, body)
}

async fn get(svc: &EurekaService, uri: &str) -> (u16, http::HeaderMap, Bytes) {
    send(svc, "GET", uri, String::new()).await
}

async fn get_json(svc: &EurekaService, uri: &str) -> Value {
    let (code, h, body) = get(svc, uri).await;
    assert_eq!(code, 200, "{uri}: {}", String::from_utf8_lossy(&body));
    assert_eq!(h["content-type"], "application/json");
    serde_json::from_slice(&body).expect("JSON")
}

async fn get_html(svc: &EurekaService, uri: &str) -> String {
    let (code, h, body) = get(svc, uri).await;
    assert_eq!(code, 200, "{uri}");
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    String::from_utf8(body.to_vec()).expect("UTF-8 page")
}

/// Registers `app/id` with `status`, in `zone` (metadata), renewing every `interval` s.
async fn register(
    svc: &EurekaService,
    app: &str,
    id: &str,
    status: &str,
    zone: &str,
    interval: u32,
) {
    let mut v: Value =
        serde_json::from_str(&register_body(app, id, &format!("{id}.host"), 8080, status))
            .expect("register body");
    v["instance"]["metadata"]["zone"] = zone.into();
    v["instance"]["leaseInfo"]["renewalIntervalInSecs"] = interval.into();
    let (code, _, body) = send(svc, "POST", &format!("/eureka/apps/{app}"), v.to_string()).await;
    assert_eq!(code, 204, "{}", String::from_utf8_lossy(&body));
}

#[tokio::test(start_paused = true)]
async fn health_is_up_and_outside_the_prefix() {
    let svc = EurekaService::new(config());
    let (code, h, body) = get(&svc, "/health").await;
    assert_eq!(code, 200);
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(body.as_ref(), br#"{"status":"UP"}"#);
    assert_eq!(get(&svc, "/eureka/health").await.0, 404);
    assert_eq!(send(&svc, "HEAD", "/health", String::new()).await.0, 200);
    let (code, h, _) = send(&svc, "POST", "/health", String::new()).await;
    assert_eq!(code, 405);
    assert_eq!(h["allow"], "GET, HEAD");
}

// P-40: not ready while the cluster's startup sync runs.
#[tokio::test(start_paused = true)]
async fn p40_ready_is_503_until_the_replicator_is_ready() {
    let svc = EurekaService::new(config());
    assert_eq!(
        get(&svc, "/ready").await.0,
        200,
        "no cluster: ready at once"
    );

    let fake = Arc::new(FakeReplicator::default());
    let handle = fake.clone();
    let svc = EurekaService::with_replicator(config(), move |_| handle);
    let (code, h, body) = get(&svc, "/ready").await;
    assert_eq!(code, 503);
    assert_eq!(h["retry-after"], "1");
    let v: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(v["status"], "OUT_OF_SERVICE");
    // Liveness does not depend on it.
    assert_eq!(get(&svc, "/health").await.0, 200);
    fake.ready.store(true, Ordering::SeqCst);
    let (code, _, body) = get(&svc, "/ready").await;
    assert_eq!(code, 200);
    assert_eq!(body.as_ref(), br#"{"status":"UP"}"#);
}

#[tokio::test(start_paused = true)]
async fn dashboard_json_twin_has_counts_zones_and_instances() {
    let svc = EurekaService::new(config());
    register(&svc, "ORDERS", "o1", "UP", "zone-a", 30).await;
    register(&svc, "ORDERS", "o2", "DOWN", "zone-b", 30).await;
    register(&svc, "ORDERS", "o3", "UP", "zone-a", 30).await;
    register(&svc, "PAYMENTS", "p1", "STARTING", "zone-a", 30).await;
    assert_eq!(
        send(
            &svc,
            "PUT",
            "/eureka/apps/PAYMENTS/p1/status?value=OUT_OF_SERVICE",
            String::new()
        )
        .await
        .0,
        200
    );
    tokio::time::advance(Duration::from_secs(5)).await;
    assert_eq!(
        send(&svc, "PUT", "/eureka/apps/ORDERS/o1", String::new())
            .await
            .0,
        200
    );

    let v = get_json(&svc, "/dashboard.json").await;
    assert_eq!(v["registry"]["instances"], 4);
    assert_eq!(v["registry"]["apps"], 2);
    assert_eq!(
        v["registry"]["statusCounts"],
        json!([
            {"status": "UP", "count": 2},
            {"status": "DOWN", "count": 1},
            {"status": "OUT_OF_SERVICE", "count": 1},
        ])
    );
    let orders = &v["apps"][0];
    assert_eq!(orders["name"], "ORDERS");
    assert_eq!(orders["instanceCount"], 3);
    assert_eq!(
        orders["counts"],
        json!([{"status": "UP", "count": 2}, {"status": "DOWN", "count": 1}])
    );
    assert_eq!(
        orders["zones"],
        json!([{"zone": "zone-a", "count": 2}, {"zone": "zone-b", "count": 1}])
    );
    let o1 = &orders["instances"][0];
    assert_eq!(o1["id"], "o1");
    assert_eq!(o1["ipAddr"], "10.0.0.80");
    assert_eq!(o1["port"], 8080);
    assert_eq!(o1["securePort"], Value::Null, "the secure port is disabled");
    assert_eq!(o1["statusPageUrl"], "http://o1.host:8080/actuator/info");
    assert_eq!(o1["healthCheckUrl"], "http://o1.host:8080/actuator/health");
    assert_eq!(o1["metadata"]["management.port"], "8081");
    // The heartbeat 5 s after the registrations is the last renewal, not the snapshot's.
    let renewed = o1["lastRenewal"].as_u64().expect("o1 renewed");
    let registered = orders["instances"][1]["lastRenewal"]
        .as_u64()
        .expect("o2 registered");
    assert_eq!(renewed - registered, 5_000);
    let p1 = &v["apps"][1]["instances"][0];
    assert_eq!(p1["status"], "OUT_OF_SERVICE");
    assert_eq!(p1["overriddenStatus"], "OUT_OF_SERVICE");
    assert_eq!(v["selfPreservation"]["mode"], "improved");
    assert_eq!(v["selfPreservation"]["banner"], Value::Null);
    assert!(v.get("replicas").is_none(), "no cluster, no replicas");
    assert_eq!(v["server"]["uptimeMs"], 5_000);

    // The filter (case-insensitive substring), pages, and instances per app.
    let v = get_json(&svc, "/dashboard.json?app=pay").await;
    assert_eq!(v["filter"]["matchingApps"], 1);
    assert_eq!(v["apps"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["apps"][0]["name"], "PAYMENTS");
    let v = get_json(&svc, "/dashboard.json?size=1&page=2").await;
    assert_eq!(v["filter"]["pages"], 2);
    assert_eq!(v["apps"][0]["name"], "PAYMENTS");
    // A page past the last shows the last.
    let v = get_json(&svc, "/dashboard.json?size=1&page=99").await;
    assert_eq!(v["filter"]["page"], 2);
    assert_eq!(v["apps"][0]["name"], "PAYMENTS");
    let v = get_json(&svc, "/dashboard.json?instances=1").await;
    assert_eq!(v["apps"][0]["instances"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["apps"][0]["notListed"], 2);
    assert_eq!(v["apps"][0]["instanceCount"], 3);
}

#[tokio::test(start_paused = true)]
async fn dashboard_bad_query_is_400_with_the_reason() {
    let svc = EurekaService::new(config());
    register(&svc, "ORDERS", "o1", "UP", "zone-a", 30).await;
    for (uri, key) in [
        ("/?page=0", "page"),
        ("/dashboard.json?size=100000", "size"),
        ("/?instances=x", "instances"),
    ] {
        let (code, h, body) = get(&svc, uri).await;
        assert_eq!(code, 400, "{uri}");
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(&format!("{key}:")), "{uri}: {text}");
        assert!(h.contains_key("x-eureka-error"));
    }
    assert_eq!(
        get_json(&svc, "/dashboard.json").await["registry"]["instances"],
        1
    );
}

#[tokio::test(start_paused = true)]
async fn dashboard_disabled_is_404() {
    let mut c = config();
    c.dashboard.enabled = false;
    let svc = EurekaService::new(c);
    assert_eq!(get(&svc, "/").await.0, 404);
    assert_eq!(get(&svc, "/dashboard.json").await.0, 404);
    assert_eq!(get(&svc, "/health").await.0, 200);
    assert_eq!(get(&svc, "/eureka/apps").await.0, 200);
}

#[tokio::test(start_paused = true)]
async fn dashboard_at_a_custom_path() {
    let mut c = config();
    c.dashboard = DashboardConfig {
        enabled: true,
        path: "/ops/eureka/".into(),
    };
    let svc = EurekaService::new(c);
    register(&svc, "ORDERS", "o1", "UP", "zone-a", 30).await;
    let html = get_html(&svc, "/ops/eureka").await;
    assert!(
        html.contains(r#"href="eureka/dashboard.json""#),
        "relative JSON link"
    );
    let html = get_html(&svc, "/ops/eureka/").await;
    assert!(html.contains(r#"href="dashboard.json""#));
    assert!(html.contains(r#"data-app="ORDERS""#));
    let v = get_json(&svc, "/ops/eureka/dashboard.json").await;
    assert_eq!(v["registry"]["instances"], 1);
    assert_eq!(get(&svc, "/").await.0, 404);
    assert_eq!(get(&svc, "/dashboard.json").await.0, 404);
}

#[tokio::test(start_paused = true)]
async fn dashboard_escapes_what_clients_registered() {
    let svc = EurekaService::new(config());
    // Ids cannot hold '/': an unclosed script element is as hostile.
    let hostile = r#"<script>alert("id")"#;
    let mut v: Value =
        serde_json::from_str(&register_body("EVIL", "x", "x.host", 8080, "UP")).expect("body");
    v["instance"]["instanceId"] = hostile.into();
    v["instance"]["hostName"] = "<img src=x onerror=alert(1)>".into();
    v["instance"]["statusPageUrl"] = "javascript:alert(1)".into();
    v["instance"]["healthCheckUrl"] = r#"http://h/"><script>alert(2)</script>"#.into();
    // Metadata keys are XML names; values are free text.
    v["instance"]["metadata"]["note"] = "<i>v</i>&".into();
    let (code, _, body) = send(&svc, "POST", "/eureka/apps/EVIL", v.to_string()).await;
    assert_eq!(code, 204, "{}", String::from_utf8_lossy(&body));
    let html = get_html(&svc, "/").await;
    assert!(!html.contains("<script"), "no script element in the page");
    assert!(!html.contains("<img"));
    assert!(!html.contains("<i>"));
    assert!(html.contains("&lt;script&gt;alert(&quot;id&quot;)"));
    assert!(html.contains("&lt;i&gt;v&lt;/i&gt;&amp;"));
    assert!(
        !html.contains("href=\"javascript:"),
        "a javascript: URL is no link"
    );
    assert!(html.contains(r#"href="http://h/&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;""#));
    // The JSON twin carries the text as it was registered.
    let j = get_json(&svc, "/dashboard.json").await;
    assert_eq!(j["apps"][0]["instances"][0]["id"], hostile);
}

#[tokio::test(start_paused = true)]
async fn r104_dashboard_shows_self_preservation_engaged_and_turned_off() {
    let svc = EurekaService::new(config());
    // Five leases renewing every second expect 300 renewals a minute; none come.
    for n in 0..5 {
        register(&svc, "ORDERS", &format!("o{n}"), "UP", "zone-a", 1).await;
    }
    tokio::time::advance(Duration::from_secs(10)).await;
    let v = get_json(&svc, "/dashboard.json").await;
    let sp = &v["selfPreservation"];
    assert_eq!(sp["engaged"], true, "{sp}");
    assert_eq!(sp["leaseExpirationEnabled"], false);
    assert_eq!(sp["banner"], EMERGENCY);
    assert!(
        sp["reason"].as_str().is_some_and(|r| r.starts_with("on:")),
        "{sp}"
    );
    let html = get_html(&svc, "/").await;
    assert!(
        html.contains(&EMERGENCY.replace('\'', "&#x27;")),
        "the banner is on the page"
    );

    let mut c = config();
    c.registry.self_preservation = SelfPreservationMode::Disabled;
    let svc = EurekaService::new(c);
    let v = get_json(&svc, "/dashboard.json").await;
    assert_eq!(v["selfPreservation"]["banner"], TURNED_OFF);
    assert_eq!(v["selfPreservation"]["enabled"], false);
    let html = get_html(&svc, "/").await;
    assert!(html.contains(TURNED_OFF));
    assert!(!html.contains("EMERGENCY"));
}

// P-45: the cluster's peers and their health on the dashboard.
#[tokio::test(start_paused = true)]
async fn p45_dashboard_lists_the_replicas() {
    let fake = Arc::new(FakeReplicator::default());
    let handle = fake.clone();
    let svc = EurekaService::with_replicator(config(), move |_| handle);
    let v = get_json(&svc, "/dashboard.json").await;
    let r = &v["replicas"];
    assert_eq!(r["openForTraffic"], false);
    assert_eq!(r["peers"][0]["url"], "http://10.9.9.9:8761/eureka/");
    assert_eq!(r["peers"][0]["healthy"], false);
    assert_eq!(r["peers"][0]["lastError"], "connection refused");
    let html = get_html(&svc, "/").await;
    assert!(html.contains("DS Replicas"));
    assert!(html.contains("http://10.9.9.9:8761/eureka/"));
    assert!(html.contains("unhealthy"));
    let svc = EurekaService::new(config());
    assert!(!get_html(&svc, "/").await.contains("DS Replicas"));
}
