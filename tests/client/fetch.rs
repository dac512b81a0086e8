//! Registry fetching: strategy, reconcile, versions, publication, outages (C-20..C-25, C-13).

use crate::fixture;
use crate::support::*;
use std::time::Duration;
use tokio::time::Instant;
use tower_eureka::client::{EurekaClient, Target};
use tower_eureka::model::Status;

const EVERY: Duration = Duration::from_secs(10);

fn fetcher(server: &FakeEureka) -> EurekaClient {
    EurekaClient::builder([server.url()])
        .fetch_interval(EVERY)
        .rng_seed(7)
        .start()
        .unwrap()
}

fn two_up() -> bytes::Bytes {
    apps_json(
        "1",
        Some("UP_2_"),
        vec![
            instance_json("orders", "o1", "UP", "ADDED"),
            instance_json("billing", "b1", "UP", "ADDED"),
        ],
    )
}

// C-20, C-21, C-22 (Appendix A): steeltoe full registry, then its MODIFIED delta: one
// instance with hostName `modified-host`, the hash matches, no second full fetch.
#[tokio::test(start_paused = true)]
async fn c20_c21_steeltoe_full_then_delta_modified() {
    let server = FakeEureka::start().await;
    server.set(
        Route::Full,
        Canned::json(read_fixture(fixture!(
            "captured/steeltoe__EurekaDiscoveryClientTest__FooAddedJson__full-registry.json"
        ))),
    );
    server.set(
        Route::Delta,
        Canned::json(read_fixture(fixture!(
            "captured/steeltoe__EurekaDiscoveryClientTest__FooModifiedJson__delta-modified.json"
        ))),
    );
    let client = fetcher(&server);
    let mut snaps = client.snapshots();
    let first = snaps.wait_for(|s| s.is_fetched()).await.unwrap().clone();
    assert_eq!(
        first.instances(&Target::app("foo"))[0].host_name,
        "localhost"
    );
    let second = snaps
        .wait_for(|s| s.generation() == 2)
        .await
        .unwrap()
        .clone();
    let foo = second.instances(&Target::app("foo"));
    assert_eq!(foo.len(), 1);
    assert_eq!(foo[0].host_name, "modified-host");
    assert_eq!(second.hashcode(), "UP_1_");
    assert_eq!(second.versions_delta(), 3);
    // Two more deltas, same content: nothing new is published.
    tokio::time::sleep(EVERY * 2 + Duration::from_secs(1)).await;
    assert_eq!(client.snapshot().generation(), 2);
    assert_eq!(server.count(Route::Full), 1);
    assert_eq!(server.count(Route::Delta), 3);
    assert_eq!(
        server.of(Route::Delta)[0].path,
        "/eureka/apps/delta",
        "delta path"
    );
}

async fn delta_failure_falls_back_to_full(delta: Canned) {
    let server = FakeEureka::start().await;
    server.set(Route::Full, Canned::json(two_up()));
    server.push(Route::Delta, delta);
    let client = fetcher(&server);
    tokio::time::sleep(EVERY + Duration::from_secs(1)).await;
    assert_eq!(
        server.routes(),
        vec![Route::Full, Route::Delta, Route::Full],
        "full fetch in the same cycle"
    );
    let fetches = server.of(Route::Full);
    assert_eq!(fetches[1].at, server.of(Route::Delta)[0].at);
    assert_eq!(client.snapshot().len(), 2);
}

// C-20 step 3, E-40: a 403 delta (acceptable, same server) means full fetch.
#[tokio::test(start_paused = true)]
async fn c20_delta_403_fetches_full() {
    delta_failure_falls_back_to_full(Canned::status(403)).await;
}

// C-20 step 3: a 5xx delta means full fetch too.
#[tokio::test(start_paused = true)]
async fn c20_delta_500_fetches_full() {
    delta_failure_falls_back_to_full(Canned::status(500)).await;
}

// C-20 step 3: an undecodable delta means full fetch.
#[tokio::test(start_paused = true)]
async fn c20_delta_garbage_fetches_full() {
    delta_failure_falls_back_to_full(Canned::json("{\"applications\": [1, 2")).await;
}

// C-22: a delta whose result does not hash like the server's registry is not published; a
// full fetch replaces the copy.
#[tokio::test(start_paused = true)]
async fn c22_hash_mismatch_fetches_full() {
    let server = FakeEureka::start().await;
    server.set(Route::Full, Canned::json(two_up()));
    // Adds one instance but claims the server has 3 UP: the client would have 3... make it
    // claim a DOWN one that the delta does not carry.
    server.push(
        Route::Delta,
        Canned::json(apps_json(
            "5",
            Some("DOWN_1_UP_3_"),
            vec![instance_json("orders", "o2", "UP", "ADDED")],
        )),
    );
    let client = fetcher(&server);
    let mut snaps = client.snapshots();
    let _ = snaps.wait_for(|s| s.is_fetched()).await.unwrap();
    tokio::time::sleep(EVERY + Duration::from_secs(1)).await;
    assert_eq!(
        server.routes(),
        vec![Route::Full, Route::Delta, Route::Full]
    );
    // The unreconciled copy (with o2) was never published.
    let snap = client.snapshot();
    assert_eq!(snap.generation(), 1);
    assert_eq!(snap.len(), 2);
    assert_eq!(snap.instances(&Target::app("orders")).len(), 1);
}

// C-22: a delta without apps__hashcode cannot be verified: full fetch.
#[tokio::test(start_paused = true)]
async fn c22_missing_hash_fetches_full() {
    let server = FakeEureka::start().await;
    server.set(Route::Full, Canned::json(two_up()));
    server.push(
        Route::Delta,
        Canned::json(apps_json(
            "5",
            None,
            vec![instance_json("orders", "o1", "DOWN", "MODIFIED")],
        )),
    );
    let client = fetcher(&server);
    tokio::time::sleep(EVERY + Duration::from_secs(1)).await;
    assert_eq!(
        server.routes(),
        vec![Route::Full, Route::Delta, Route::Full]
    );
    assert_eq!(
        client
            .snapshot()
            .up_instances(&Target::app("orders"))
            .count(),
        1
    );
}

// C-21, C-22: a good delta is merged and published; hash verified.
#[tokio::test(start_paused = true)]
async fn c21_good_delta_is_merged() {
    let server = FakeEureka::start().await;
    server.set(Route::Full, Canned::json(two_up()));
    server.push(
        Route::Delta,
        Canned::json(apps_json(
            "5",
            Some("DOWN_1_UP_1_"),
            vec![
                instance_json("orders", "o1", "DOWN", "MODIFIED"),
                instance_json("billing", "b1", "UP", "DELETED"),
                instance_json("search", "s1", "UP", "ADDED"),
            ],
        )),
    );
    server.set(
        Route::Delta,
        Canned::json(apps_json("6", Some("DOWN_1_UP_1_"), vec![])),
    );
    let client = fetcher(&server);
    let mut snaps = client.snapshots();
    let snap = snaps
        .wait_for(|s| s.generation() == 2)
        .await
        .unwrap()
        .clone();
    assert_eq!(snap.hashcode(), "DOWN_1_UP_1_");
    assert!(snap.instances(&Target::app("billing")).is_empty());
    assert_eq!(
        snap.instances(&Target::app("orders"))[0].status,
        Status::Down
    );
    assert_eq!(snap.up_instances(&Target::vip("search")).count(), 1);
    tokio::time::sleep(EVERY * 3).await;
    assert_eq!(server.count(Route::Full), 1);
    assert_eq!(client.snapshot().generation(), 2);
}

// C-24: a copy with version -1 (here: a full fetch without versions__delta) is always
// refreshed with full fetches; no delta is asked for.
#[tokio::test(start_paused = true)]
async fn c24_version_minus_one_forces_full() {
    let server = FakeEureka::start().await;
    let mut doc: serde_json::Value = serde_json::from_slice(&two_up()).unwrap();
    let apps = doc["applications"].as_object_mut().unwrap();
    assert!(apps.remove("versions__delta").is_some());
    let body = serde_json::to_vec(&doc).unwrap();
    server.set(Route::Full, Canned::json(body));
    let client = fetcher(&server);
    tokio::time::sleep(EVERY * 3 + Duration::from_secs(1)).await;
    assert_eq!(server.count(Route::Delta), 0);
    assert_eq!(server.count(Route::Full), 4);
    assert_eq!(client.snapshot().versions_delta(), -1);
    // Same content every time: published once.
    assert_eq!(client.snapshot().generation(), 1);
}

// C-20: deltas can be switched off.
#[tokio::test(start_paused = true)]
async fn c20_disable_delta_fetches_full_every_time() {
    let server = FakeEureka::start().await;
    server.set(Route::Full, Canned::json(two_up()));
    let _client = EurekaClient::builder([server.url()])
        .fetch_interval(EVERY)
        .disable_delta(true)
        .start()
        .unwrap();
    tokio::time::sleep(EVERY * 2 + Duration::from_secs(1)).await;
    assert_eq!(server.routes(), vec![Route::Full; 3]);
}

// C-25: during an outage the last copy stays, its age grows, one warning per outage; C-13:
// fetch retries back off (capped at 10 × the interval) and return to the interval after.
#[tokio::test(start_paused = true)]
async fn c25_keeps_the_last_copy_through_an_outage() {
    let (logs, _guard) = logs::Captured::start();
    let server = FakeEureka::start().await;
    server.set(Route::Full, Canned::json(two_up()));
    server.set(
        Route::Delta,
        Canned::json(apps_json("2", Some("UP_2_"), vec![])),
    );
    let client = fetcher(&server);
    let mut snaps = client.snapshots();
    let _ = snaps.wait_for(|s| s.is_fetched()).await.unwrap();
    assert!(client.registry_age().unwrap() < Duration::from_secs(1));

    server.set_down(true);
    let down_at = Instant::now();
    let before = server.requests().len();
    tokio::time::sleep(Duration::from_secs(600)).await;
    let snap = client.snapshot();
    assert!(snap.is_fetched());
    assert_eq!(snap.len(), 2);
    assert_eq!(snap.generation(), 1);
    assert!(client.registry_age().unwrap() >= Duration::from_secs(590));
    assert_eq!(
        logs.count(tracing::Level::WARN, "keeping the last registry copy"),
        1,
        "one warning per outage"
    );
    // Each failed cycle is a delta then a full fetch, on the one server.
    let during: Vec<_> = server.requests()[before..]
        .iter()
        .filter(|r| r.route == Route::Delta)
        .map(|r| r.at)
        .collect();
    assert!(during.len() >= 6, "retried: {}", during.len());
    assert!(
        during.len() < 600 / 10,
        "backed off: {} attempts in 600 s",
        during.len()
    );
    assert!(during[0] - down_at <= EVERY + Duration::from_millis(1));
    for w in during.windows(2) {
        assert!(w[1] - w[0] <= EVERY * 10 + Duration::from_millis(1));
    }

    server.set_down(false);
    tokio::time::sleep(EVERY * 10 + Duration::from_secs(1)).await;
    assert!(client.registry_age().unwrap() <= EVERY * 2);
    assert_eq!(logs.count(tracing::Level::INFO, "recovered"), 1);
    // Back to the normal cadence.
    let n = server.count(Route::Delta);
    tokio::time::sleep(EVERY * 3 + Duration::from_secs(1)).await;
    assert_eq!(server.count(Route::Delta), n + 3);
}

// C-25: a client that never reached a server reports "not fetched" and no age.
#[tokio::test(start_paused = true)]
async fn c25_never_fetched_is_not_authoritative() {
    let client = EurekaClient::builder([dead_url().await])
        .fetch_interval(EVERY)
        .start()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(!client.snapshot().is_fetched());
    assert_eq!(client.registry_age(), None);
    assert!(client.instances(&Target::app("orders")).is_empty());
}

// C-23: only reconciled copies are published, and only when their content changed.
#[tokio::test(start_paused = true)]
async fn c23_publishes_only_changes() {
    let server = FakeEureka::start().await;
    server.set(Route::Full, Canned::json(two_up()));
    let client = EurekaClient::builder([server.url()])
        .fetch_interval(EVERY)
        .disable_delta(true)
        .start()
        .unwrap();
    let mut rx = client.snapshots();
    let _ = rx.wait_for(|s| s.is_fetched()).await.unwrap();
    rx.mark_unchanged();
    tokio::time::sleep(EVERY * 3).await;
    assert!(!rx.has_changed().unwrap());
    // A renewal timestamp that moves is not a change either.
    let renewed = String::from_utf8(two_up().to_vec()).unwrap().replace(
        "\"lastRenewalTimestamp\":2",
        "\"lastRenewalTimestamp\":30002",
    );
    assert!(renewed.contains("30002"));
    server.set(Route::Full, Canned::json(renewed));
    tokio::time::sleep(EVERY * 2).await;
    assert!(!rx.has_changed().unwrap());
    server.set(
        Route::Full,
        Canned::json(apps_json(
            "1",
            Some("UP_1_"),
            vec![instance_json("orders", "o1", "UP", "ADDED")],
        )),
    );
    let snap = tokio::time::timeout(EVERY * 2, rx.wait_for(|s| s.len() == 1))
        .await
        .unwrap()
        .unwrap()
        .clone();
    assert_eq!(snap.generation(), 2);
    assert_eq!(client.snapshot().generation(), 2);
}
