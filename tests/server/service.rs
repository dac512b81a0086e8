//! The service at the tower level: no sockets, paused time.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::time::Duration;
use tower::{Service, ServiceExt};
use tower_eureka::server::{EurekaService, ServerConfig};

fn req(method: &str, uri: &str, body: &str) -> http::Request<Full<Bytes>> {
    http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("request")
}

async fn call(svc: &EurekaService, r: http::Request<Full<Bytes>>) -> (u16, Bytes) {
    let res = svc.clone().oneshot(r).await.expect("infallible");
    let code = res.status().as_u16();
    (
        code,
        res.into_body().collect().await.expect("body").to_bytes(),
    )
}

/// R-90 (this crate's default): a change is visible to GET within the 25 ms publication
/// interval, and the service is always ready, Clone, and never errors.
#[tokio::test(start_paused = true)]
async fn r90_change_visible_within_publish_interval() {
    let svc = EurekaService::new(ServerConfig::default());
    assert_eq!(
        svc.config().registry.publish_interval,
        Duration::from_millis(25)
    );
    let mut s2 = svc.clone();
    std::future::poll_fn(|cx| Service::<http::Request<Full<Bytes>>>::poll_ready(&mut s2, cx))
        .await
        .expect("always ready");
    let body = super::support::register_body("ORDERS", "o1", "h1", 8080, "UP");
    assert_eq!(call(&svc, req("POST", "/apps/ORDERS", &body)).await.0, 204);
    tokio::time::advance(Duration::from_millis(26)).await;
    let (code, bytes) = call(&svc, req("GET", "/apps", "")).await;
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(v["applications"]["apps__hashcode"], "UP_1_");
}

/// The same payload bytes are served until the registry changes (encoded once per change):
/// two GETs return the very same allocation.
#[tokio::test(start_paused = true)]
async fn r90_payload_encoded_once_per_change() {
    let mut cfg = ServerConfig::default();
    cfg.registry.publish_interval = Duration::ZERO;
    let svc = EurekaService::new(cfg);
    let body = super::support::register_body("ORDERS", "o1", "h1", 8080, "UP");
    call(&svc, req("POST", "/apps/ORDERS", &body)).await;
    let (_, a) = call(&svc, req("GET", "/apps", "")).await;
    let (_, b) = call(&svc, req("GET", "/apps", "")).await;
    assert_eq!(a, b);
    assert_eq!(
        a.as_ptr(),
        b.as_ptr(),
        "served from the cache, not re-encoded"
    );
    // A heartbeat is not a change: still the same bytes.
    assert_eq!(call(&svc, req("PUT", "/apps/ORDERS/o1", "")).await.0, 200);
    let (_, c) = call(&svc, req("GET", "/apps", "")).await;
    assert_eq!(a.as_ptr(), c.as_ptr());
    // A status change is: new bytes.
    call(&svc, req("PUT", "/apps/ORDERS/o1/status?value=DOWN", "")).await;
    let (_, d) = call(&svc, req("GET", "/apps", "")).await;
    assert_ne!(a, d);
}

/// Mounted in axum with `nest_service`, the prefix is stripped and both `/eureka/apps`
/// and `/eureka/v2/apps` work next to the app's own routes.
#[tokio::test]
async fn axum_nest_service_mount() {
    let app: axum::Router = axum::Router::new()
        .route("/", axum::routing::get(|| async { "mine" }))
        .nest_service("/eureka", EurekaService::default());
    for (uri, code) in [
        ("/", 200),
        ("/eureka/apps", 200),
        ("/eureka/v2/apps/", 200),
        ("/eureka/nope", 404),
        // The dashboard and the probes are relative to the mount point.
        ("/eureka/", 200),
        ("/eureka/dashboard.json", 200),
        ("/eureka/health", 200),
    ] {
        let res = app
            .clone()
            .oneshot(
                http::Request::get(uri)
                    .body(axum::body::Body::empty())
                    .expect("req"),
            )
            .await
            .expect("infallible");
        assert_eq!(res.status().as_u16(), code, "{uri}");
    }
}

/// E-07: a gzip-first request (the plain variant not cached yet) decodes to exactly the
/// bytes a later plain request gets.
#[tokio::test]
async fn e07_gzip_first_then_plain_agree() {
    let mut cfg = ServerConfig::default();
    cfg.registry.publish_interval = Duration::ZERO;
    let svc = EurekaService::new(cfg);
    for n in 0..20 {
        let body = super::support::register_body("ORDERS", &format!("o{n}"), "h1", 8080, "UP");
        call(&svc, req("POST", "/apps/ORDERS", &body)).await;
    }
    let mut gz_req = req("GET", "/apps", "");
    gz_req
        .headers_mut()
        .insert("accept-encoding", http::HeaderValue::from_static("gzip"));
    let res = svc.clone().oneshot(gz_req).await.expect("infallible");
    assert_eq!(res.headers()["content-encoding"], "gzip");
    let gz = res.into_body().collect().await.expect("body").to_bytes();
    let (_, plain) = call(&svc, req("GET", "/apps", "")).await;
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut out)
        .expect("gunzip");
    assert_eq!(out, plain.as_ref());
}
