//! Findings of the fuzz targets (`fuzz/`) that go through the service, each kept with its
//! minimized input inline and named after what it found. See RELIABILITY.md for the runs.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::time::Duration;
use tower::ServiceExt;
use tower_eureka::codec::{self, Format};
use tower_eureka::model::InstanceInfo;
use tower_eureka::registry::Origin;
use tower_eureka::server::{EurekaService, ServerConfig};

const TOO_LARGE: &str = "17000000000000000000"; // > i64::MAX, fits a u64

fn service() -> EurekaService {
    let mut config = ServerConfig::default();
    config.registry.publish_interval = Duration::ZERO;
    let svc = EurekaService::new(config);
    let inst = InstanceInfo::builder("myapp")
        .host_name("host1")
        .ip_addr("10.0.0.1")
        .build();
    svc.registry().register(inst, Origin::Client).unwrap();
    svc
}

async fn call(svc: &EurekaService, req: http::Request<Full<Bytes>>) -> (u16, String, Bytes) {
    let res = svc.clone().oneshot(req).await.expect("infallible");
    let status = res.status().as_u16();
    let reason = res
        .headers()
        .get("x-eureka-error")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (status, reason, body)
}

/// The registry as served in both formats decodes with the crate's own reader.
async fn listing_decodes(svc: &EurekaService) {
    for format in [Format::Json, Format::Xml] {
        let req = http::Request::get("/apps")
            .header("accept", format.content_type())
            .body(Full::new(Bytes::new()))
            .unwrap();
        let (status, _, body) = call(svc, req).await;
        assert_eq!(status, 200);
        let apps = codec::decode_applications(&body, format)
            .unwrap_or_else(|e| panic!("GET /apps in {format:?} does not decode: {e}"));
        assert_eq!(apps.instances().count(), 1);
    }
}

// replication_batch (P-12, E-22): an item's `lastDirtyTimestamp` beyond a Java long was kept
// (here by a DeleteStatusOverride), so the registry served a record whose timestamp neither
// this crate's reader nor a Java client can read: every full fetch failed. Such a value now
// reads as absent, like any other value of the wrong type.
#[tokio::test]
async fn p12_batch_timestamp_beyond_a_java_long_does_not_poison_the_registry() {
    let svc = service();
    for action in ["DeleteStatusOverride", "StatusUpdate", "Heartbeat"] {
        let body = format!(
            r#"{{"replicationList":[{{"appName":"MYAPP","id":"host1:myapp:8080","lastDirtyTimestamp":{TOO_LARGE},"status":"UP","action":"{action}"}}]}}"#
        );
        let req = http::Request::post("/peerreplication/batch")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let (status, _, _) = call(&svc, req).await;
        assert_eq!(status, 200, "{action}");
        listing_decodes(&svc).await;
    }
}

// router (E-11, E-13, E-14): the same value as the `lastDirtyTimestamp` query parameter of a
// status override is a 400 with the reason, and changes nothing.
#[tokio::test]
async fn e13_query_timestamp_beyond_a_java_long_is_400() {
    let svc = service();
    let before = svc.registry().snapshot().revision();
    for (method, path) in [
        (
            "PUT",
            "/apps/MYAPP/host1:myapp:8080/status?value=OUT_OF_SERVICE",
        ),
        ("DELETE", "/apps/MYAPP/host1:myapp:8080/status?value=UP"),
        ("PUT", "/apps/MYAPP/host1:myapp:8080?status=UP"),
    ] {
        let req = http::Request::builder()
            .method(method)
            .uri(format!("{path}&lastDirtyTimestamp={TOO_LARGE}"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let (status, reason, _) = call(&svc, req).await;
        assert_eq!(status, 400, "{method} {path}");
        assert!(reason.contains("out of range"), "{reason:?}");
    }
    assert_eq!(svc.registry().snapshot().revision(), before);
    listing_decodes(&svc).await;
}
