//! The client against a real in-process server when clocks jump (issue 11): the monotonic
//! clock leaping forward (a host suspend: every timer is tokio's, stepped here with
//! `tokio::time::advance`) and the wall clock stepping back or forth between operations
//! (the client's wall clock, read only for `lastDirtyTimestamp`, is injected). In every case
//! the client recovers by itself: no burst of catch-up calls, no re-registration loop, and
//! it ends UP and renewed, with its last change in effect on the server (C-07, C-11, C-12,
//!

use crate::support::wait_until;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tower_eureka::client::{ClientMetricsSnapshot, EurekaClient, EurekaClientBuilder};
use tower_eureka::model::{InstanceInfo, Status};
use tower_eureka::server::{serve, EurekaService, ServerConfig};

const HOUR_MS: i64 = 3_600_000;
const ID: &str = "orders-1:orders:8080";

fn me() -> InstanceInfo {
    InstanceInfo::builder("orders")
        .host_name("orders-1")
        .ip_addr("10.0.0.9")
        .port(8080)
        .lease(30, 90)
        .build()
}

/// The real registry on 127.0.0.1 port 0, in this runtime (so on its paused clock), with
/// eviction every second: a lease that is not renewed is gone 90 s later.
async fn registry() -> String {
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

/// A wall clock a test steps: the system's plus an offset in milliseconds.
#[derive(Clone, Default)]
struct Wall(Arc<AtomicI64>);

impl Wall {
    fn jump(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    fn now(&self) -> SystemTime {
        let off = self.0.load(Ordering::SeqCst);
        let d = Duration::from_millis(off.unsigned_abs());
        if off >= 0 {
            SystemTime::now() + d
        } else {
            SystemTime::now() - d
        }
    }
}

fn client(url: &str, wall: Option<&Wall>) -> EurekaClient {
    let mut b: EurekaClientBuilder = EurekaClient::builder([url.to_owned()])
        .instance(me())
        .fetch_interval(Duration::from_secs(30))
        .rng_seed(11);
    if let Some(w) = wall {
        let w = w.clone();
        b = b.wall_clock(move || w.now());
    }
    b.start().expect("client")
}

/// What the server holds for our instance: `GET /apps/ORDERS/{id}` in JSON, `None` on 404.
async fn on_server(url: &str) -> Option<serde_json::Value> {
    let r = reqwest::Client::new()
        .get(format!("{url}/apps/ORDERS/{ID}"))
        .header("accept", "application/json")
        .send()
        .await
        .expect("GET instance");
    if r.status() == 404 {
        return None;
    }
    assert_eq!(r.status(), 200);
    let body = r.bytes().await.expect("body");
    let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    Some(v["instance"].clone())
}

fn dirty_ts(inst: &serde_json::Value) -> u64 {
    inst["lastDirtyTimestamp"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("lastDirtyTimestamp")
}

/// Waits (paused time, bounded by 60 s) until the server's copy satisfies `cond`.
async fn server_shows(url: &str, what: &str, cond: impl Fn(&serde_json::Value) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if on_server(url).await.is_some_and(|i| cond(&i)) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server never showed {what}: {:?}",
            on_server(url).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn calls(m: &ClientMetricsSnapshot) -> (u64, u64, u64) {
    (
        m.heartbeats_ok + m.heartbeats_failed,
        m.registrations + m.registration_errors,
        m.full_fetches + m.delta_fetches + m.fetch_errors,
    )
}

/// The end state of every case: UP on the server, with a lease that is renewed (it
/// outlives its 90 s duration three times over while eviction runs every second), the
/// client's own `lastDirtyTimestamp` and no further registration in those 300 s.
async fn ends_up_and_renewed(url: &str, client: &EurekaClient) {
    server_shows(url, "UP", |i| i["status"] == "UP").await;
    let before = client.metrics().snapshot();
    tokio::time::sleep(Duration::from_secs(300)).await;
    let after = client.metrics().snapshot();
    let inst = on_server(url).await.expect("still registered after 300 s");
    assert_eq!(inst["status"], "UP");
    let ours = client.instance().expect("a record").last_dirty_timestamp;
    assert_eq!(dirty_ts(&inst), ours, "the server holds our record");
    let (b0, r0, _) = calls(&before);
    let (b1, r1, _) = calls(&after);
    assert_eq!(r1, r0, "no re-registration loop: {before:?} -> {after:?}");
    assert!(
        (9..=11).contains(&(b1 - b0)),
        "a heartbeat every 30 s: {} in 300 s",
        b1 - b0
    );
    assert_eq!(after.heartbeats_failed, before.heartbeats_failed);
}

// C-11, C-12, C-25: an hour's suspend of the host. Every timer is due at once when it
// wakes, but the client sends one heartbeat and one fetch, not the 120 it "missed", then
// goes on at its intervals; the lease is renewed or, when the server evicted it meanwhile
// (it runs on the same clock), re-registered after the 404.
#[tokio::test(start_paused = true)]
async fn c11_a_monotonic_jump_forward_fires_no_catch_up_burst_and_recovers() {
    let url = registry().await;
    let client = client(&url, None);
    wait_until(Duration::from_secs(5), || client.is_registered()).await;
    tokio::time::sleep(Duration::from_secs(100)).await;
    let before = client.metrics().snapshot();
    assert!(before.heartbeats_ok >= 3, "{before:?}");

    tokio::time::advance(Duration::from_secs(3600)).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let woke = client.metrics().snapshot();
    let (b0, r0, f0) = calls(&before);
    let (b1, r1, f1) = calls(&woke);
    assert!(b1 - b0 <= 1, "one heartbeat on waking, got {}", b1 - b0);
    assert!(r1 - r0 <= 1, "at most one re-registration, got {}", r1 - r0);
    assert!(f1 - f0 <= 2, "one fetch on waking, got {}", f1 - f0);
    assert!(
        b1 - b0 + r1 - r0 >= 1,
        "the lease is renewed or re-registered on waking: {woke:?}"
    );

    tokio::time::sleep(Duration::from_secs(90)).await;
    let later = client.metrics().snapshot();
    let (b2, _, f2) = calls(&later);
    assert!((2..=4).contains(&(b2 - b1)), "{} beats in 90 s", b2 - b1);
    assert!((2..=4).contains(&(f2 - f1)), "{} fetches in 90 s", f2 - f1);
    assert!(
        client
            .registry_age()
            .is_some_and(|a| a <= Duration::from_secs(31)),
        "the copy is fresh again: {:?}",
        client.registry_age()
    );
    ends_up_and_renewed(&url, &client).await;
}

// C-07, R-11: the wall clock steps back an hour, then the status changes. The new
// lastDirtyTimestamp is still above the one the server holds (max(now, last + 1)), so the
// change wins; then back to UP.
#[tokio::test(start_paused = true)]
async fn c07_a_wall_clock_step_back_keeps_status_changes_effective() {
    let url = registry().await;
    let wall = Wall::default();
    let client = client(&url, Some(&wall));
    wait_until(Duration::from_secs(5), || client.is_registered()).await;
    server_shows(&url, "UP", |i| i["status"] == "UP").await;
    let first = dirty_ts(&on_server(&url).await.expect("registered"));

    wall.jump(-HOUR_MS);
    // DOWN, not OUT_OF_SERVICE: the server keeps a leased UP over a client's
    // OUT_OF_SERVICE whatever the timestamps (R-61, LeaseExistsRule).
    client.set_status(Status::Down);
    server_shows(&url, "DOWN", |i| i["status"] == "DOWN").await;
    let second = dirty_ts(&on_server(&url).await.expect("registered"));
    assert!(second > first, "{second} after {first}");
    let (_, r0, _) = calls(&client.metrics().snapshot());
    tokio::time::sleep(Duration::from_secs(120)).await;
    let (_, r1, _) = calls(&client.metrics().snapshot());
    assert_eq!(r1, r0, "one registration per change, no loop");

    client.set_status(Status::Up);
    ends_up_and_renewed(&url, &client).await;
    assert!(dirty_ts(&on_server(&url).await.expect("registered")) > second);
}

// C-07, R-11: forward an hour (a change stamped in the future), then back (the next change
// would be stamped an hour earlier by the clock alone): both changes take effect.
#[tokio::test(start_paused = true)]
async fn c07_a_wall_clock_step_forward_then_back_keeps_changes_effective() {
    let url = registry().await;
    let wall = Wall::default();
    let client = client(&url, Some(&wall));
    wait_until(Duration::from_secs(5), || client.is_registered()).await;

    wall.jump(HOUR_MS);
    client.set_metadata("build", "1");
    server_shows(&url, "metadata build=1", |i| i["metadata"]["build"] == "1").await;
    let ahead = dirty_ts(&on_server(&url).await.expect("registered"));

    wall.jump(-HOUR_MS);
    client.set_metadata("build", "2");
    server_shows(&url, "metadata build=2", |i| i["metadata"]["build"] == "2").await;
    assert!(dirty_ts(&on_server(&url).await.expect("registered")) > ahead);
    let m = client.metrics().snapshot();
    assert_eq!(m.registrations, 3, "start and one per change: {m:?}");
    ends_up_and_renewed(&url, &client).await;
}

// C-12, R-50: after the wall clock stepped back, the server loses the instance (an
// operator's cancel); the heartbeat's 404 re-registers it once, with a timestamp above
// the last one.
#[tokio::test(start_paused = true)]
async fn c12_a_404_after_a_wall_clock_step_back_re_registers_once() {
    let url = registry().await;
    let wall = Wall::default();
    let client = client(&url, Some(&wall));
    wait_until(Duration::from_secs(5), || client.is_registered()).await;
    let first = dirty_ts(&on_server(&url).await.expect("registered"));

    wall.jump(-HOUR_MS);
    let r = reqwest::Client::new()
        .delete(format!("{url}/apps/ORDERS/{ID}"))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(r.status(), 200);
    assert!(on_server(&url).await.is_none());
    server_shows(&url, "the instance again", |_| true).await;
    let m = client.metrics().snapshot();
    assert_eq!(m.reregistrations, 1, "{m:?}");
    assert!(dirty_ts(&on_server(&url).await.expect("registered")) > first);
    ends_up_and_renewed(&url, &client).await;
}

// C-07, R-11, R-50: a previous run of this instance, whose wall clock was an hour ahead of
// ours now, left it DOWN on the server (it crashed after the drain step). The server keeps
// that record over our registration (stored lastDirtyTimestamp newer, R-11) and renews it
// (an older timestamp in a heartbeat gets 200, R-50), so without more the instance would
// stay DOWN for good. The client sees the newer timestamp in its first fetch, registers
// past it once, and ends UP.
#[tokio::test(start_paused = true)]
async fn c07_a_newer_record_left_by_a_previous_run_is_overtaken() {
    let url = registry().await;
    let mut stale = me();
    stale.status = Status::Down;
    let now_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64;
    stale.last_dirty_timestamp = now_ms + HOUR_MS as u64;
    let mut body = Vec::new();
    tower_eureka::codec::encode_instance(&stale, tower_eureka::codec::Format::Json, &mut body);
    let r = reqwest::Client::new()
        .post(format!("{url}/apps/ORDERS"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), 204);
    server_shows(&url, "the stale DOWN record", |i| i["status"] == "DOWN").await;

    let client = client(&url, None);
    server_shows(&url, "UP", |i| i["status"] == "UP").await;
    assert_eq!(
        dirty_ts(&on_server(&url).await.expect("registered")),
        stale.last_dirty_timestamp + 1
    );
    let m = client.metrics().snapshot();
    assert!(
        m.registrations <= 2,
        "one registration past the record: {m:?}"
    );
    ends_up_and_renewed(&url, &client).await;
}
