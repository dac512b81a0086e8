//! Following one app against a server that does not watch (a Java server: no
//! `x-eureka-version` / `x-eureka-hash`), issue 15: `GET /apps/{APP}` at the fetch
//! interval, back-off on failures, the last copy kept. Paused time.

use crate::support::*;
use std::time::Duration;
use tower_eureka::client::{EurekaClient, Target};

const EVERY: Duration = Duration::from_secs(30);

fn orders(hosts: &[&str]) -> bytes::Bytes {
    let instances: Vec<serde_json::Value> = hosts
        .iter()
        .map(|h| instance_json("orders", h, "UP", "ADDED"))
        .collect();
    let body = serde_json::json!({"application": {"name": "ORDERS", "instance": instances}});
    bytes::Bytes::from(body.to_string())
}

#[tokio::test(start_paused = true)]
async fn issue15_a_followed_app_is_polled_at_the_fetch_interval_and_kept_through_outages() {
    let server = FakeEureka::start().await;
    server.set(Route::Other, Canned::json(orders(&["o1"])));
    let client = EurekaClient::builder([server.url()])
        .fetch_only()
        .fetch_interval(EVERY)
        .cache_refresh_backoff_bound(4)
        .rng_seed(7)
        .follow_apps(["orders"])
        .start()
        .expect("client");
    let mut snaps = client.snapshots();
    let first = snaps
        .wait_for(|s| s.is_fetched())
        .await
        .expect("fetched")
        .clone();
    assert_eq!(first.instances(&Target::app("ORDERS")).len(), 1);

    server.set(Route::Other, Canned::json(orders(&["o1", "o2"])));
    tokio::time::sleep(EVERY * 3 + Duration::from_secs(1)).await;
    let polls = server.of(Route::Other);
    assert_eq!(polls.len(), 4, "at 0, 30, 60, 90 s");
    for pair in polls.windows(2) {
        assert_eq!(pair[1].at - pair[0].at, EVERY);
    }
    for p in &polls {
        assert_eq!(
            (p.path.as_str(), p.query.as_deref()),
            ("/eureka/apps/ORDERS", None)
        );
    }
    assert_eq!(client.instances(&Target::app("ORDERS")).len(), 2);

    // The server goes away: the copy stays, the polls back off (C-13, full jitter, at
    // most 4 intervals apart).
    server.set_down(true);
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(client.instances(&Target::app("ORDERS")).len(), 2, "kept");
    let during = server.of(Route::Other).len() - polls.len();
    assert!((3..20).contains(&during), "{during} polls in 600 s");
    for pair in server.of(Route::Other)[polls.len()..].windows(2) {
        assert!(pair[1].at - pair[0].at <= EVERY * 4 + Duration::from_millis(1));
    }
    // Back: the next poll answers, the app comes as the server has it.
    server.set_down(false);
    server.set(Route::Other, Canned::json(orders(&["o3"])));
    tokio::time::sleep(EVERY * 5).await;
    let hosts: Vec<String> = client
        .instances(&Target::app("ORDERS"))
        .iter()
        .map(|i| i.host_name.clone())
        .collect();
    assert_eq!(hosts, ["o3"]);
    let m = client.metrics().snapshot();
    assert!(m.fetch_errors >= 3 && m.delta_fetches == 0, "{m:?}");
}
