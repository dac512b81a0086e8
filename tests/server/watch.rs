//! Watch (issue 15): `GET /apps/delta?watch=V` waits until the registry passes `V`, or
//! until `waitMs`, then answers the ordinary delta; every delta answer says the server
//! supports it (`x-eureka-watch: 1`). Through the tower Service on paused time.

use crate::support::{config, register_body, send};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::time::Duration;
use tower::ServiceExt;
use tower_eureka::server::EurekaService;

async fn get(svc: &EurekaService, path: &str) -> (u16, Option<String>, serde_json::Value) {
    let res = send(svc, http::Method::GET, path).await;
    let status = res.status().as_u16();
    let watch = res
        .headers()
        .get("x-eureka-watch")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = res.into_body().collect().await.expect("body").to_bytes();
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    (status, watch, json)
}

async fn register(svc: &EurekaService, id: &str) {
    let req = http::Request::post("/eureka/apps/WATCHED")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(register_body(
            "WATCHED", id, "h", 8080, "UP",
        ))))
        .expect("request");
    let res = svc
        .clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| match e {});
    assert_eq!(res.status(), 204);
}

fn version(delta: &serde_json::Value) -> u64 {
    delta["applications"]["versions__delta"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .expect("versions__delta")
}

fn ids(delta: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = delta["applications"]["application"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|a| a["instance"].as_array().cloned().unwrap_or_default())
        .filter_map(|i| i["instanceId"].as_str().map(str::to_owned))
        .collect();
    v.sort();
    v
}

#[tokio::test(start_paused = true)]
async fn a_watch_answers_at_the_next_change_or_at_its_wait() {
    let svc = EurekaService::new(config());
    register(&svc, "w1").await;
    let (status, header, delta) = get(&svc, "/eureka/apps/delta").await;
    assert_eq!(status, 200);
    let epoch = header.expect("the server says it can be watched");
    assert_eq!(epoch, svc.registry().epoch().to_string());
    let v = version(&delta);

    // Holding v: nothing new, so the watch waits...
    let waiting = {
        let svc = svc.clone();
        let path = format!("/eureka/apps/delta?watch={v}&epoch={epoch}");
        tokio::spawn(async move { get(&svc, &path).await })
    };
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(!waiting.is_finished(), "answered with nothing new");
    // ...and answers at the change, with it.
    register(&svc, "w2").await;
    let (status, header, delta) = tokio::time::timeout(Duration::from_secs(1), waiting)
        .await
        .expect("answered within 1 s of the change")
        .expect("task");
    assert_eq!((status, header), (200, Some(epoch.clone())));
    assert!(version(&delta) > v);
    assert_eq!(ids(&delta), ["w1", "w2"]);

    // Nothing changes: the watch answers at its wait with the delta as it is.
    let v2 = version(&delta);
    let start = tokio::time::Instant::now();
    let (status, _, delta) = get(&svc, &format!("/eureka/apps/delta?watch={v2}&waitMs=500")).await;
    assert_eq!(status, 200);
    assert_eq!(version(&delta), v2);
    assert!(start.elapsed() >= Duration::from_millis(500));

    // A version of another registry (another server, or this one before a restart) does
    // not compare: answered at once.
    let other = svc.registry().epoch() ^ 2;
    let start = tokio::time::Instant::now();
    let (_, _, delta) = get(
        &svc,
        &format!("/eureka/apps/delta?watch={v2}&epoch={other}"),
    )
    .await;
    assert_eq!(version(&delta), v2);
    assert!(start.elapsed() < Duration::from_millis(10));

    // Holding an older version: answered at once.
    let start = tokio::time::Instant::now();
    let (_, _, delta) = get(&svc, &format!("/eureka/apps/delta?watch={v}")).await;
    assert_eq!(version(&delta), v2);
    assert!(start.elapsed() < Duration::from_millis(10));
}

#[tokio::test(start_paused = true)]
async fn a_bad_watch_is_400_naming_the_parameter() {
    let svc = EurekaService::new(config());
    for (q, name) in [("watch=abc", "watch"), ("watch=1&waitMs=soon", "waitMs")] {
        let (status, _, _) = get(&svc, &format!("/eureka/apps/delta?{q}")).await;
        assert_eq!(status, 400, "{q}");
        let res = send(&svc, http::Method::GET, &format!("/eureka/apps/delta?{q}")).await;
        let reason = res.headers()["x-eureka-error"]
            .to_str()
            .unwrap_or("")
            .to_owned();
        assert!(reason.starts_with(name), "{reason}");
    }
}

// Entries leaving the delta window move the version but change nothing a client holds:
// they do not answer a watch.
#[tokio::test(start_paused = true)]
async fn the_delta_window_emptying_does_not_answer_a_watch() {
    let mut cfg = config();
    cfg.registry.delta_retention = Duration::from_secs(1);
    let svc = EurekaService::new(cfg);
    register(&svc, "w1").await;
    let (_, header, delta) = get(&svc, "/eureka/apps/delta").await;
    let (v, epoch) = (version(&delta), header.expect("header"));
    let waiting = {
        let svc = svc.clone();
        let path = format!("/eureka/apps/delta?watch={v}&epoch={epoch}&waitMs=5000");
        tokio::spawn(async move { get(&svc, &path).await })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The window has emptied meanwhile (a plain delta shows it)...
    let (_, _, now) = get(&svc, "/eureka/apps/delta").await;
    assert!(ids(&now).is_empty(), "{now}");
    assert!(version(&now) > v, "the sweep moved the version");
    // ...and the watch still waits, until its 5 s.
    assert!(!waiting.is_finished());
    let (status, _, _) = waiting.await.expect("task");
    assert_eq!(status, 200);
}

// Every change wakes a watcher that follows the versions, also when it is published after
// the publication delay (25 ms) and when it lands between two watches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_following_watcher_misses_no_change() {
    let mut cfg = config();
    cfg.registry.publish_interval = Duration::from_millis(25);
    let svc = EurekaService::new(cfg);
    register(&svc, "base").await;
    let (_, header, delta) = get(&svc, "/eureka/apps/delta").await;
    let epoch = header.expect("header");
    let mut v = version(&delta);
    for k in 0..60 {
        let waiting = {
            let svc = svc.clone();
            let path = format!("/eureka/apps/delta?watch={v}&epoch={epoch}&waitMs=20000");
            tokio::spawn(async move { get(&svc, &path).await })
        };
        if k % 3 != 0 {
            tokio::time::sleep(Duration::from_millis(k % 7)).await;
        }
        let id = format!("f-{}", k / 2);
        if k % 2 == 0 {
            register(&svc, &id).await;
        } else {
            let res = send(
                &svc,
                http::Method::DELETE,
                &format!("/eureka/apps/WATCHED/{id}"),
            )
            .await;
            assert_eq!(res.status(), 200);
        }
        let answered = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        let Ok(Ok((status, _, delta))) = answered else {
            panic!("change {k} did not answer the watch within 5 s");
        };
        assert_eq!(status, 200);
        assert!(version(&delta) > v, "change {k}");
        v = version(&delta);
    }
}
