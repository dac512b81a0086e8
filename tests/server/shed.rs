//! Load shedding (issue 11): beyond `max_concurrent_requests` requests in progress the
//! server answers 503 with `Retry-After` at once; heartbeats, cancels and the probes keep a
//! reserve of their own; full fetches may use half the limit; long polls are not counted.
//! A request is in progress until its response body is gone, so holding the (unread)
//! responses of full fetches saturates the layer deterministically, without sleeps.

use crate::support::{config, register_body};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::time::Duration;
use tower::{Layer, ServiceExt};
use tower_eureka::server::{EurekaService, Shed, ShedBody, ShedLayer};

type Svc = Shed<EurekaService>;
type Res = http::Response<ShedBody<tower_eureka::server::ResponseBody>>;

fn shed_service(limit: usize) -> (EurekaService, Svc, ShedLayer) {
    let mut c = config();
    c.max_concurrent_requests = limit;
    let svc = EurekaService::new(c);
    let layer = svc.shed_layer().expect("shedding is on");
    (svc.clone(), layer.layer(svc), layer)
}

async fn send(svc: &Svc, method: http::Method, path: &str, body: &str) -> Res {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("accept", "application/json")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("request");
    svc.clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| match e {})
}

async fn get(svc: &Svc, path: &str) -> Res {
    send(svc, http::Method::GET, path, "").await
}

fn assert_shed(res: &Res) {
    assert_eq!(res.status(), 503);
    assert_eq!(
        res.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
}

#[tokio::test]
async fn e34_beyond_the_limit_full_fetches_are_shed_while_heartbeats_and_probes_are_served() {
    let (plain, svc, layer) = shed_service(4);
    let r = send(
        &svc,
        http::Method::POST,
        "/eureka/apps/ORDERS",
        &register_body("ORDERS", "o1", "h", 8080, "UP"),
    )
    .await;
    assert_eq!(r.status(), 204);
    drop(r);

    // Full fetches may take half the limit: two unread answers hold it.
    let held: Vec<Res> = vec![
        get(&svc, "/eureka/apps").await,
        get(&svc, "/eureka/apps/").await,
    ];
    assert!(held.iter().all(|r| r.status() == 200));
    let third = get(&svc, "/eureka/apps").await;
    assert_shed(&third);
    let reason = third.into_body().collect().await.expect("body").to_bytes();
    assert!(
        String::from_utf8_lossy(&reason).contains("full registry fetches"),
        "{reason:?}"
    );

    // Other requests still have the other half.
    let delta = get(&svc, "/eureka/apps/delta").await;
    assert_eq!(delta.status(), 200);
    let app = get(&svc, "/eureka/apps/ORDERS").await;
    assert_eq!(app.status(), 200);
    // Now the general limit (4) is reached: a delta is shed too...
    assert_shed(&get(&svc, "/eureka/apps/delta").await);
    // ...but heartbeats and probes have their reserve (R-20 renew answered 200).
    for _ in 0..10 {
        let hb = send(&svc, http::Method::PUT, "/eureka/apps/ORDERS/o1", "").await;
        assert_eq!(hb.status(), 200);
    }
    assert_eq!(get(&svc, "/health").await.status(), 200);
    // ...and so do registrations (E-34).
    let reg = send(
        &svc,
        http::Method::POST,
        "/eureka/apps/ORDERS",
        &register_body("ORDERS", "o2", "h", 8080, "UP"),
    )
    .await;
    assert_eq!(reg.status(), 204);
    // A long poll is not counted: it is served (here at its 1 ms timeout).
    let watch = get(&svc, "/eureka/apps/delta?watch=999999&waitMs=1").await;
    assert_eq!(watch.status(), 200);

    let stats = layer.stats();
    assert_eq!(stats.shed_total(), 2);
    assert_eq!(
        stats.shed_by_class(),
        [("priority", 0), ("full_fetch", 1), ("general", 1)]
    );
    // /metrics of the service shows the same counters.
    let text = plain.metrics().render();
    assert!(
        text.contains("eureka_http_shed_total{class=\"full_fetch\"} 1"),
        "{text}"
    );

    // Bodies read to the end (or dropped) give their places back.
    drop((delta, app, watch, reg));
    for r in held {
        let _ = r.into_body().collect().await.expect("body");
    }
    assert_eq!(stats.in_progress(), (0, 0));
    assert_eq!(get(&svc, "/eureka/apps").await.status(), 200);
}

#[tokio::test]
async fn the_priority_reserve_has_its_own_bound() {
    let (_plain, svc, layer) = shed_service(2);
    let held = [get(&svc, "/health").await, get(&svc, "/ready").await];
    assert!(held.iter().all(|r| r.status() == 200), "{held:?}");
    assert_shed(&get(&svc, "/health").await);
    // The general half is untouched by the probes.
    assert_eq!(get(&svc, "/eureka/apps").await.status(), 200);
    assert_eq!(layer.stats().shed_by_class()[0], ("priority", 1));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_response_future_gives_its_place_back() {
    let (_plain, svc, layer) = shed_service(2);
    // A registration whose body never arrives is in progress until it is dropped.
    let req = http::Request::post("/eureka/apps/ORDERS")
        .header("content-type", "application/json")
        .body(Silent)
        .expect("request");
    let mut pending = Box::pin(svc.clone().oneshot(req));
    assert!(
        tokio::time::timeout(Duration::from_millis(10), &mut pending)
            .await
            .is_err(),
        "the registration waits for its body"
    );
    // A registration is a priority request (E-34).
    assert_eq!(layer.stats().in_progress(), (0, 1));
    drop(pending);
    assert_eq!(layer.stats().in_progress(), (0, 0));
}

/// A request body that never sends anything (a stalled upload).
struct Silent;

impl http_body::Body for Silent {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Pending
    }
}
