//! Watch per target (issue 15): `GET /apps/{APP}`, `/vips/{VIP}` and `/svips/{SVIP}` with
//! `?watch=V&hash=H&epoch=E&waitMs=W` wait for a change of that target only, then answer
//! the ordinary payload with `x-eureka-version` / `x-eureka-hash` / `x-eureka-watch` to
//! send next. Through the tower Service on paused time.

use crate::support::{config, register_body, send};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::time::Duration;
use tokio::task::JoinHandle;
use tower::ServiceExt;
use tower_eureka::server::EurekaService;

/// One answer: status, the three watch headers and the instance ids of the body.
#[derive(Debug)]
struct Answer {
    status: u16,
    epoch: Option<String>,
    version: Option<u64>,
    hash: Option<String>,
    ids: Vec<String>,
}

async fn get(svc: &EurekaService, path: &str) -> Answer {
    let res = send(svc, http::Method::GET, path).await;
    let header = |n: &str| {
        res.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (epoch, hash) = (header("x-eureka-watch"), header("x-eureka-hash"));
    let version = header("x-eureka-version").and_then(|v| v.parse().ok());
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    // `/apps/{APP}` answers an application, `/vips/..` a list of applications.
    let apps: Vec<serde_json::Value> =
        match (&json["application"], &json["applications"]["application"]) {
            (a @ serde_json::Value::Object(_), _) => vec![a.clone()],
            (_, serde_json::Value::Array(list)) => list.clone(),
            _ => Vec::new(),
        };
    let mut ids: Vec<String> = apps
        .iter()
        .flat_map(|a| a["instance"].as_array().cloned().unwrap_or_default())
        .filter_map(|i| i["instanceId"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    Answer {
        status,
        epoch,
        version,
        hash,
        ids,
    }
}

/// Registers `app`/`id` with VIP `vip`.
async fn register(svc: &EurekaService, app: &str, id: &str, vip: &str) {
    let body = register_body(app, id, "h", 8080, "UP").replace(
        &format!("\"vipAddress\":\"{}\"", app.to_lowercase()),
        &format!("\"vipAddress\":\"{vip}\""),
    );
    let req = http::Request::post(format!("/eureka/apps/{app}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("request");
    let res = svc
        .clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| match e {});
    assert_eq!(res.status(), 204);
}

/// Starts a watch of `path` holding what `held` answered.
fn watch(svc: &EurekaService, path: &str, held: &Answer, wait_ms: u64) -> JoinHandle<Answer> {
    let svc = svc.clone();
    let path = format!(
        "{path}?watch={}&hash={}&epoch={}&waitMs={wait_ms}",
        held.version.expect("x-eureka-version"),
        held.hash.as_deref().expect("x-eureka-hash"),
        held.epoch.as_deref().expect("x-eureka-watch"),
    );
    tokio::spawn(async move { get(&svc, &path).await })
}

async fn answered(w: JoinHandle<Answer>) -> Answer {
    tokio::time::timeout(Duration::from_secs(1), w)
        .await
        .expect("answered within 1 s of the change")
        .expect("task")
}

#[tokio::test(start_paused = true)]
async fn issue15_an_app_watch_answers_a_change_of_its_app_not_of_another() {
    let svc = EurekaService::new(config());
    register(&svc, "ORDERS", "o1", "orders").await;
    register(&svc, "BILLING", "b1", "billing").await;
    let held = get(&svc, "/eureka/apps/ORDERS").await;
    assert_eq!(held.status, 200);
    assert_eq!(held.epoch, Some(svc.registry().epoch().to_string()));
    assert_eq!(held.hash.as_deref(), Some("UP_1_"));
    assert_eq!(held.ids, ["o1"]);

    let waiting = watch(&svc, "/eureka/apps/ORDERS", &held, 60_000);
    // Another app changes: the watcher sleeps on.
    register(&svc, "BILLING", "b2", "billing").await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(
        !waiting.is_finished(),
        "a change of BILLING answered an ORDERS watch"
    );
    // Its own app changes: answered with the app as it is now.
    register(&svc, "ORDERS", "o2", "orders").await;
    let got = answered(waiting).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.ids, ["o1", "o2"]);
    assert_eq!(got.hash.as_deref(), Some("UP_2_"));
    assert!(got.version > held.version, "{got:?} after {held:?}");
    // What it answers with is what a plain GET says.
    let plain = get(&svc, "/eureka/apps/ORDERS").await;
    assert_eq!((plain.version, plain.hash), (got.version, got.hash.clone()));

    // An instance leaving answers too (the version moves).
    let waiting = watch(&svc, "/eureka/apps/ORDERS", &got, 60_000);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!waiting.is_finished());
    let res = send(&svc, http::Method::DELETE, "/eureka/apps/ORDERS/o2").await;
    assert_eq!(res.status(), 200);
    let after = answered(waiting).await;
    assert_eq!(after.ids, ["o1"]);

    // The last instance leaving: the app is gone, 404, and the hash says so.
    let waiting = watch(&svc, "/eureka/apps/ORDERS", &after, 60_000);
    let res = send(&svc, http::Method::DELETE, "/eureka/apps/ORDERS/o1").await;
    assert_eq!(res.status(), 200);
    let gone = answered(waiting).await;
    assert_eq!(
        (gone.status, gone.version, gone.hash.as_deref()),
        (404, Some(0), Some(""))
    );
}

#[tokio::test(start_paused = true)]
async fn issue15_a_target_watch_answers_at_its_wait_and_at_once_on_another_epoch() {
    let svc = EurekaService::new(config());
    register(&svc, "ORDERS", "o1", "orders").await;
    let held = get(&svc, "/eureka/apps/ORDERS").await;

    // Nothing new: answered at the wait, with the app as it is.
    let start = tokio::time::Instant::now();
    let got = watch(&svc, "/eureka/apps/ORDERS", &held, 500)
        .await
        .expect("task");
    assert!(start.elapsed() >= Duration::from_millis(500));
    assert_eq!(
        (got.status, got.version, got.ids.clone()),
        (200, held.version, held.ids.clone())
    );

    // A version of another registry does not compare: at once.
    let other = Answer {
        epoch: Some((svc.registry().epoch() ^ 2).to_string()),
        ..got
    };
    let start = tokio::time::Instant::now();
    let got = watch(&svc, "/eureka/apps/ORDERS", &other, 60_000)
        .await
        .expect("task");
    assert!(start.elapsed() < Duration::from_millis(10));
    assert_eq!(
        got.epoch, held.epoch,
        "the answer names this registry's epoch"
    );
    assert_eq!(got.ids, ["o1"]);

    // A client holding an older version, or another hash: at once.
    for (version, hash) in [(0, "UP_1_"), (held.version.unwrap_or(0), "DOWN_1_")] {
        let stale = Answer {
            version: Some(version),
            hash: Some(hash.into()),
            ..get(&svc, "/eureka/apps/ORDERS").await
        };
        let start = tokio::time::Instant::now();
        let got = watch(&svc, "/eureka/apps/ORDERS", &stale, 60_000)
            .await
            .expect("task");
        assert!(
            start.elapsed() < Duration::from_millis(10),
            "{version} {hash}"
        );
        assert_eq!(got.ids, ["o1"]);
    }
}

#[tokio::test(start_paused = true)]
async fn issue15_a_watch_waits_for_an_app_that_does_not_exist_yet() {
    let svc = EurekaService::new(config());
    register(&svc, "OTHER", "x1", "other").await;
    // Java answers a GET of an unknown app 404; so do we, with the state to wait from.
    let held = get(&svc, "/eureka/apps/LATER").await;
    assert_eq!(
        (held.status, held.version, held.hash.as_deref()),
        (404, Some(0), Some(""))
    );
    let waiting = watch(&svc, "/eureka/apps/LATER", &held, 60_000);
    register(&svc, "OTHER", "x2", "other").await;
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert!(!waiting.is_finished(), "answered before the app appeared");
    register(&svc, "LATER", "l1", "later").await;
    let got = answered(waiting).await;
    assert_eq!(
        (got.status, got.ids.clone(), got.hash.as_deref()),
        (200, vec!["l1".to_owned()], Some("UP_1_"))
    );
    // At the wait, still absent: 404 again, same state.
    let none = get(&svc, "/eureka/apps/NEVER").await;
    let got = watch(&svc, "/eureka/apps/NEVER", &none, 300)
        .await
        .expect("task");
    assert_eq!((got.status, got.version), (404, Some(0)));
}

#[tokio::test(start_paused = true)]
async fn issue15_a_vip_watch_follows_the_instances_of_its_vip() {
    let svc = EurekaService::new(config());
    register(&svc, "ORDERS", "o1", "shared").await;
    register(&svc, "CARTS", "c1", "shared").await;
    register(&svc, "BILLING", "b1", "billing").await;
    let held = get(&svc, "/eureka/vips/shared").await;
    assert_eq!(
        (held.status, held.ids.clone()),
        (200, vec!["c1".to_owned(), "o1".to_owned()])
    );
    assert_eq!(held.hash.as_deref(), Some("UP_2_"));

    let waiting = watch(&svc, "/eureka/vips/shared", &held, 60_000);
    register(&svc, "BILLING", "b2", "billing").await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(!waiting.is_finished(), "a change outside the VIP answered");
    let res = send(
        &svc,
        http::Method::PUT,
        "/eureka/apps/CARTS/c1/status?value=OUT_OF_SERVICE",
    )
    .await;
    assert_eq!(res.status(), 200);
    let got = answered(waiting).await;
    assert_eq!(got.hash.as_deref(), Some("OUT_OF_SERVICE_1_UP_1_"));

    // An instance leaving the VIP (re-registered under another) while its app is no
    // longer in it: the version of the VIP may not move, its hash does.
    let waiting = watch(&svc, "/eureka/vips/shared", &got, 60_000);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!waiting.is_finished());
    register(&svc, "CARTS", "c1", "carts-only").await;
    let left = answered(waiting).await;
    assert_eq!(
        (left.ids.clone(), left.hash.as_deref()),
        (vec!["o1".to_owned()], Some("UP_1_"))
    );

    // The secure VIP route watches the same way (register_body sets `{vip}-secure`
    // from the app name).
    let held = get(&svc, "/eureka/svips/billing-secure").await;
    assert_eq!(held.ids, ["b1", "b2"]);
    let waiting = watch(&svc, "/eureka/svips/billing-secure", &held, 60_000);
    let res = send(&svc, http::Method::DELETE, "/eureka/apps/BILLING/b2").await;
    assert_eq!(res.status(), 200);
    assert_eq!(answered(waiting).await.ids, ["b1"]);
}

#[tokio::test(start_paused = true)]
async fn issue15_bad_target_watch_parameters_are_400_naming_them_and_change_nothing() {
    let svc = EurekaService::new(config());
    register(&svc, "ORDERS", "o1", "orders").await;
    let before = get(&svc, "/eureka/apps/ORDERS").await;
    for (path, name) in [
        ("/eureka/apps/ORDERS?watch=abc", "watch"),
        ("/eureka/apps/ORDERS?watch=1&waitMs=soon", "waitMs"),
        ("/eureka/vips/orders?watch=1&epoch=e", "epoch"),
        ("/eureka/svips/orders?watch=1&hash=UP%3C1", "hash"),
        ("/eureka/apps/ORDERS?watch=1&hash=x%0Ay", "hash"),
    ] {
        let res = send(&svc, http::Method::GET, path).await;
        assert_eq!(res.status(), 400, "{path}");
        let reason = res.headers()["x-eureka-error"]
            .to_str()
            .unwrap_or("")
            .to_owned();
        assert!(reason.starts_with(name), "{path}: {reason}");
    }
    let after = get(&svc, "/eureka/apps/ORDERS").await;
    assert_eq!((after.version, after.ids), (before.version, before.ids));
}
