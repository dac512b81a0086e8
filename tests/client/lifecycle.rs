//! Registration, heartbeats, failover and shutdown (C-05..C-13, C-41, C-50, C-51).

use crate::fixture;
use crate::support::*;
use std::time::Duration;
use tokio::time::Instant;
use tower_eureka::client::EurekaClient;
use tower_eureka::codec;
use tower_eureka::model::{InstanceInfo, Status};

fn me(renew_secs: u32) -> InstanceInfo {
    InstanceInfo::builder("orders")
        .host_name("orders-1")
        .ip_addr("10.0.0.9")
        .port(8080)
        .lease(renew_secs, renew_secs * 3)
        .build()
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

// C-02, C-03, C-05, C-10, E-32: what the requests look like.
#[tokio::test(start_paused = true)]
async fn c02_c05_registers_at_start_and_heartbeats_with_java_like_requests() {
    let server = FakeEureka::start().await;
    let client = EurekaClient::builder([format!("{}/", server.url())])
        .instance(me(10))
        .start()
        .unwrap();
    wait_until(Duration::from_secs(1), || client.is_registered()).await;
    tokio::time::sleep(Duration::from_secs(11)).await;

    let reg = &server.of(Route::Register)[0];
    assert_eq!(reg.path, "/eureka/apps/ORDERS");
    assert_eq!(reg.header("content-type"), Some("application/json"));
    assert_eq!(reg.header("accept"), Some("application/json"));
    assert!(reg.header("accept-encoding").unwrap().contains("gzip"));
    assert_eq!(
        reg.header("discoveryidentity-name"),
        Some("TowerEurekaClient")
    );
    assert_eq!(reg.header("discoveryidentity-id"), Some("10.0.0.9"));
    assert!(reg.header("discoveryidentity-version").is_some());
    let body = reg.json();
    let inst = &body["instance"];
    assert_eq!(inst["instanceId"], "orders-1:orders:8080");
    assert_eq!(inst["app"], "ORDERS");
    assert_eq!(inst["status"], "UP");
    assert!(reg.body_dirty_ts() > 1_600_000_000_000);
    // C-03: the whole record, in legacy JSON, wrapped in `instance`.
    let mut sent = codec::decode_instance(&reg.body, codec::Format::Json).unwrap();
    assert!(sent.action_type.is_none());
    assert_eq!(sent.last_dirty_timestamp, reg.body_dirty_ts());
    sent.last_dirty_timestamp = 0;
    sent.last_updated_timestamp = 0;
    assert_eq!(sent, me(10));

    for r in server.requests() {
        // C-02: never the replication header.
        assert!(r.header("x-netflix-discovery-replication").is_none());
        assert_eq!(r.header("accept"), Some("application/json"));
    }
    let full = &server.of(Route::Full)[0];
    assert_eq!(full.path, "/eureka/apps/");
    assert!(full.header("accept-encoding").unwrap().contains("gzip"));

    // C-10: PUT apps/APP/id?status&lastDirtyTimestamp, no overriddenstatus, no body.
    let hb = &server.of(Route::Heartbeat)[0];
    assert_eq!(hb.path, "/eureka/apps/ORDERS/orders-1:orders:8080");
    assert_eq!(hb.param("status").as_deref(), Some("UP"));
    assert_eq!(
        hb.param("lastDirtyTimestamp"),
        Some(reg.body_dirty_ts().to_string())
    );
    assert_eq!(hb.param("overriddenstatus"), None);
    assert!(hb.body.is_empty());
}

// C-01: user info becomes Basic auth, ids are percent-encoded path segments.
#[tokio::test(start_paused = true)]
async fn c01_basic_auth_and_encoded_ids() {
    let server = FakeEureka::start().await;
    let url = server.url().replace("http://", "http://user:s%40cret@");
    let inst = InstanceInfo::builder("orders")
        .instance_id("orders 1:orders:8080")
        .host_name("orders-1")
        .lease(10, 30)
        .build();
    let client = EurekaClient::builder([url])
        .instance(inst)
        .register_only()
        .start()
        .unwrap();
    wait_until(Duration::from_secs(1), || client.is_registered()).await;
    tokio::time::sleep(Duration::from_secs(11)).await;
    let reg = &server.of(Route::Register)[0];
    // base64("user:s@cret")
    assert_eq!(reg.header("authorization"), Some("Basic dXNlcjpzQGNyZXQ="));
    let hb = &server.of(Route::Heartbeat)[0];
    assert_eq!(hb.path, "/eureka/apps/ORDERS/orders%201:orders:8080");
}

// C-06: only 204 counts; C-13: registration retries back off from 1 s up to 30 s.
#[tokio::test(start_paused = true)]
async fn c06_register_succeeds_only_on_204() {
    let server = FakeEureka::start().await;
    server.set(Route::Register, Canned::status(200));
    let client = EurekaClient::builder([server.url()])
        .instance(me(30))
        .register_only()
        .rng_seed(1)
        .start()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert!(!client.is_registered());
    let attempts = server.of(Route::Register);
    assert!(attempts.len() >= 3, "retried: {}", attempts.len());
    // Back-off: the gaps stay within the 30 s cap, and no heartbeat was sent meanwhile.
    for w in attempts.windows(2) {
        let gap = w[1].at - w[0].at;
        assert!(gap <= Duration::from_secs(30));
        assert!(gap >= Duration::from_millis(100));
    }
    assert_eq!(server.count(Route::Heartbeat), 0);

    server.set(Route::Register, Canned::status(204));
    wait_until(Duration::from_secs(31), || client.is_registered()).await;
    let registered = server.count(Route::Register);
    tokio::time::sleep(Duration::from_secs(95)).await;
    // Once registered, no further registrations: heartbeats only.
    assert_eq!(server.count(Route::Register), registered);
    assert!(server.count(Route::Heartbeat) >= 3);
}

// C-05: an optional start delay; nothing is sent for the instance before it ends.
#[tokio::test(start_paused = true)]
async fn c05_initial_registration_delay() {
    let server = FakeEureka::start().await;
    let t0 = Instant::now();
    let client = EurekaClient::builder([server.url()])
        .instance(me(10))
        .register_only()
        .initial_registration_delay(Duration::from_secs(45))
        .start()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(44)).await;
    assert!(server.requests().is_empty(), "{:?}", server.routes());
    wait_until(Duration::from_secs(2), || client.is_registered()).await;
    let reg = &server.of(Route::Register)[0];
    assert!(reg.at - t0 >= Duration::from_secs(45));
    assert_eq!(server.count(Route::Heartbeat), 0);
}

// C-11: fixed rate, jitter within ±5 % per beat, no drift.
#[tokio::test(start_paused = true)]
async fn c11_heartbeats_at_a_fixed_rate() {
    let server = FakeEureka::start().await;
    let t0 = Instant::now();
    let _client = EurekaClient::builder([server.url()])
        .instance(me(10))
        .register_only()
        .start()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(105)).await;
    let beats = server.of(Route::Heartbeat);
    assert_eq!(beats.len(), 10);
    let mut offsets = Vec::new();
    for (k, b) in beats.iter().enumerate() {
        let due = 10.0 * (k as f64 + 1.0);
        let off = secs(b.at - t0) - due;
        assert!(off.abs() <= 0.5 + 1e-3, "beat {k} at {:?}", b.at - t0);
        offsets.push(off);
    }
    // The jitter is drawn per beat, so the beats are not all on the same offset.
    assert!(offsets.iter().any(|o| (o - offsets[0]).abs() > 1e-3));
}

// C-11: a slow heartbeat does not shift the later ones; C-13: failed beats are not spaced
// out either.
#[tokio::test(start_paused = true)]
async fn c11_c13_slow_and_failed_beats_keep_the_schedule() {
    let server = FakeEureka::start().await;
    server.push(
        Route::Heartbeat,
        Canned::status(200).delay(Duration::from_secs(7)),
    );
    server.push(Route::Heartbeat, Canned::status(500));
    server.push(Route::Heartbeat, Canned::status(500));
    server.push(Route::Heartbeat, Canned::status(503));
    let t0 = Instant::now();
    let client = EurekaClient::builder([server.url()])
        .instance(me(10))
        .register_only()
        .start()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(105)).await;
    let beats = server.of(Route::Heartbeat);
    assert_eq!(beats.len(), 10);
    for (k, b) in beats.iter().enumerate() {
        let due = 10.0 * (k as f64 + 1.0);
        assert!((secs(b.at - t0) - due).abs() <= 0.5 + 1e-3, "beat {k}");
    }
    // Failed heartbeats are not 404s: no re-registration.
    assert_eq!(server.count(Route::Register), 1);
    assert!(client.is_registered());
}

// C-12: a 404 (here with Spring Boot's error document as body) re-registers at once, with a
// fresh lastDirtyTimestamp that the next heartbeats carry.
#[tokio::test(start_paused = true)]
async fn c12_heartbeat_404_reregisters() {
    let server = FakeEureka::start().await;
    let body = read_fixture(fixture!(
        "captured/spring-cloud-netflix__EurekaServerMockApplication__heartbeat-404-error-body.json"
    ));
    server.push(Route::Heartbeat, Canned::json(body).with_status(404));
    let _client = EurekaClient::builder([server.url()])
        .instance(me(10))
        .register_only()
        .start()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(25)).await;
    let routes = server.routes();
    assert_eq!(
        routes,
        vec![
            Route::Register,
            Route::Heartbeat,
            Route::Register,
            Route::Heartbeat
        ]
    );
    let regs = server.of(Route::Register);
    let beats = server.of(Route::Heartbeat);
    // Immediately: same instant as the 404.
    assert_eq!(regs[1].at, beats[0].at);
    let (ts1, ts2) = (regs[0].body_dirty_ts(), regs[1].body_dirty_ts());
    assert!(ts2 > ts1, "{ts2} > {ts1}");
    assert_eq!(beats[0].param("lastDirtyTimestamp"), Some(ts1.to_string()));
    assert_eq!(beats[1].param("lastDirtyTimestamp"), Some(ts2.to_string()));
}

// C-12: 409 is treated as renewed (no failover, no re-registration).
#[tokio::test(start_paused = true)]
async fn c12_heartbeat_409_counts_as_renewed() {
    let a = FakeEureka::start().await;
    let b = FakeEureka::start().await;
    for s in [&a, &b] {
        s.push(Route::Heartbeat, Canned::status(409));
    }
    let client = EurekaClient::builder([a.url(), b.url()])
        .instance(me(10))
        .register_only()
        .start()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(15)).await;
    let beats = a.count(Route::Heartbeat) + b.count(Route::Heartbeat);
    assert_eq!(beats, 1, "a 409 must not fail over");
    assert_eq!(a.count(Route::Register) + b.count(Route::Register), 1);
    assert!(client.is_registered());
}

// C-08: local changes re-register within a second, coalesced and rate-limited (burst 2,
// then one every 15 s).
#[tokio::test(start_paused = true)]
async fn c08_changes_reregister_promptly_with_a_rate_limit() {
    let server = FakeEureka::start().await;
    let client = EurekaClient::builder([server.url()])
        .instance(me(30))
        .register_only()
        .start()
        .unwrap();
    wait_until(Duration::from_secs(1), || client.is_registered()).await;
    assert_eq!(server.count(Route::Register), 1);

    let t1 = Instant::now();
    client.set_status(Status::OutOfService);
    wait_until(Duration::from_secs(1), || {
        server.count(Route::Register) == 2
    })
    .await;
    assert!(Instant::now() - t1 < Duration::from_secs(1));
    assert_eq!(
        server.of(Route::Register)[1].body_status(),
        "OUT_OF_SERVICE"
    );

    // Same value again: no change, no registration.
    client.set_status(Status::OutOfService);
    // Two changes in a row: the second token is used, the next must wait ~15 s.
    client.set_status(Status::Down);
    wait_until(Duration::from_secs(1), || {
        server.count(Route::Register) == 3
    })
    .await;
    let t3 = Instant::now();
    client.set_metadata("zone", "a");
    client.set_status(Status::Up);
    client.set_metadata("zone", "b");
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(server.count(Route::Register), 3, "rate limited");
    wait_until(Duration::from_secs(10), || {
        server.count(Route::Register) == 4
    })
    .await;
    let regs = server.of(Route::Register);
    let last = regs.last().unwrap();
    assert!(last.at - t3 <= Duration::from_secs(16));
    // Coalesced: the one registration carries the final state.
    assert_eq!(last.body_status(), "UP");
    assert_eq!(last.json()["instance"]["metadata"]["zone"], "b");
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(server.count(Route::Register), 4);
    // Timestamps only ever grow.
    let ts: Vec<u64> = regs.iter().map(|r| r.body_dirty_ts()).collect();
    assert!(ts.windows(2).all(|w| w[0] < w[1]), "{ts:?}");
}

// C-41: a failing server is left for a good one, which becomes sticky.
#[tokio::test(start_paused = true)]
async fn c41_fails_over_to_the_good_server_and_sticks() {
    let bad = FakeEureka::start().await;
    let good = FakeEureka::start().await;
    bad.set_down(true);
    let client = EurekaClient::builder([bad.url(), good.url()])
        .instance(me(10))
        .fetch_interval(Duration::from_secs(10))
        .start()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(65)).await;
    assert!(client.is_registered());
    assert!(client.snapshot().is_fetched());
    assert_eq!(good.count(Route::Register), 1);
    assert_eq!(good.count(Route::Heartbeat), 6);
    assert!(good.count(Route::Full) >= 1);
    // The bad server saw at most the first register and the first fetch.
    assert!(bad.requests().len() <= 2, "{:?}", bad.routes());

    // Now the good one fails and the other recovers: the client moves over.
    good.set_down(true);
    bad.set_down(false);
    let before = bad.count(Route::Heartbeat);
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(bad.count(Route::Heartbeat) >= before + 2);
}

// C-41: one call tries at most 3 servers, each once.
#[tokio::test(start_paused = true)]
async fn c41_a_call_tries_at_most_three_servers() {
    let servers = [
        FakeEureka::start().await,
        FakeEureka::start().await,
        FakeEureka::start().await,
        FakeEureka::start().await,
    ];
    for s in &servers {
        s.set_down(true);
    }
    let client = EurekaClient::builder(servers.iter().map(|s| s.url()))
        .instance(me(10))
        .register_only()
        .start()
        .unwrap();
    // The retry back-off never fires sooner than 100 ms.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let per_server: Vec<usize> = servers.iter().map(|s| s.requests().len()).collect();
    assert_eq!(per_server.iter().sum::<usize>(), 3, "{per_server:?}");
    assert!(per_server.iter().all(|&n| n <= 1), "{per_server:?}");
    assert!(!client.is_registered());
}

// C-41, C-01: connection errors fail over too.
#[tokio::test(start_paused = true)]
async fn c41_connection_refused_fails_over() {
    let good = FakeEureka::start().await;
    let client = EurekaClient::builder([dead_url().await, good.url()])
        .instance(me(10))
        .start()
        .unwrap();
    wait_until(Duration::from_secs(1), || {
        client.is_registered() && client.snapshot().is_fetched()
    })
    .await;
    assert_eq!(good.count(Route::Register), 1);
}

// C-50: shutdown cancels once; any status ends it; nothing is sent afterwards.
#[tokio::test(start_paused = true)]
async fn c50_shutdown_cancels_and_stops() {
    let a = FakeEureka::start().await;
    let b = FakeEureka::start().await;
    for s in [&a, &b] {
        s.set(Route::Cancel, Canned::status(500));
    }
    let client = EurekaClient::builder([a.url(), b.url()])
        .instance(me(10))
        .start()
        .unwrap();
    let other = client.clone();
    wait_until(Duration::from_secs(1), || client.is_registered()).await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    client.shutdown().await.unwrap();
    let cancels: Vec<_> = [&a, &b].iter().flat_map(|s| s.of(Route::Cancel)).collect();
    assert_eq!(cancels.len(), 1, "a 500 on cancel must not fail over");
    assert_eq!(cancels[0].path, "/eureka/apps/ORDERS/orders-1:orders:8080");
    assert!(!other.is_registered());
    let sent = a.requests().len() + b.requests().len();
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(a.requests().len() + b.requests().len(), sent);
    // A second shutdown from a clone does nothing.
    other.shutdown().await.unwrap();
    assert_eq!(a.requests().len() + b.requests().len(), sent);
}

// C-50: a cancel that reaches no server is an error.
#[tokio::test(start_paused = true)]
async fn c50_cancel_transport_failure_is_reported() {
    let server = FakeEureka::start().await;
    let client = EurekaClient::builder([server.url()])
        .instance(me(10))
        .register_only()
        .start()
        .unwrap();
    wait_until(Duration::from_secs(1), || client.is_registered()).await;
    drop(server);
    let err = client.shutdown().await.unwrap_err();
    assert!(err.is_transport(), "{err:?}");
}

// C-51: drain = register DOWN, keep heart-beating, then cancel.
#[tokio::test(start_paused = true)]
async fn c51_drain_registers_down_then_cancels() {
    let server = FakeEureka::start().await;
    let client = EurekaClient::builder([server.url()])
        .instance(me(10))
        .register_only()
        .shutdown_drain(Duration::from_secs(25))
        .start()
        .unwrap();
    wait_until(Duration::from_secs(1), || client.is_registered()).await;
    let t = Instant::now();
    client.shutdown().await.unwrap();
    let regs = server.of(Route::Register);
    assert_eq!(regs.len(), 2);
    assert_eq!(regs[1].body_status(), "DOWN");
    assert_eq!(regs[1].at, t);
    let beats = server.of(Route::Heartbeat);
    assert!(beats.len() >= 2);
    assert!(beats
        .iter()
        .all(|b| b.param("status").as_deref() == Some("DOWN")));
    let cancel = &server.of(Route::Cancel)[0];
    assert!(cancel.at - t >= Duration::from_secs(25));
    assert_eq!(server.routes().last(), Some(&Route::Cancel));
}

// C-28: the server-side status of our own instance is observable, and never triggers a
// registration by itself.
#[tokio::test(start_paused = true)]
async fn c28_own_status_follows_the_registry() {
    let server = FakeEureka::start().await;
    let mine = instance_json("orders", "orders-1", "OUT_OF_SERVICE", "ADDED");
    let other = instance_json("billing", "billing-1", "UP", "ADDED");
    server.set(
        Route::Full,
        Canned::json(apps_json(
            "1",
            Some("OUT_OF_SERVICE_1_UP_1_"),
            vec![mine, other],
        )),
    );
    let client = EurekaClient::builder([server.url()])
        .instance(me(10))
        .fetch_interval(Duration::from_secs(10))
        .start()
        .unwrap();
    let mut own = client.own_status();
    let _ = tokio::time::timeout(Duration::from_secs(5), own.wait_for(|s| s.is_some()))
        .await
        .unwrap();
    assert_eq!(*own.borrow(), Some(Status::OutOfService));
    tokio::time::sleep(Duration::from_secs(40)).await;
    assert_eq!(server.count(Route::Register), 1);
    assert_eq!(client.instance().unwrap().status, Status::Up);
}

// The client refuses records the server would refuse.
#[tokio::test]
async fn start_validates_the_configuration() {
    let bad_id = InstanceInfo::builder("a").instance_id("x/y").build();
    let err = EurekaClient::builder(["http://127.0.0.1:1/eureka"])
        .instance(bad_id)
        .start()
        .unwrap_err();
    assert!(err.is_config());
    let err = EurekaClient::builder(Vec::<String>::new())
        .start()
        .unwrap_err();
    assert!(err.is_config());
    let err = EurekaClient::builder(["not a url"]).start().unwrap_err();
    assert!(err.is_config());
    let err = EurekaClient::builder(["http://127.0.0.1:1/eureka"])
        .register_only()
        .start()
        .unwrap_err();
    assert!(err.is_config());
}

// Issue 12: a record holding a character XML cannot carry fails at start, naming the
// field, instead of being refused by every server at register.
#[tokio::test]
async fn start_refuses_an_instance_xml_cannot_carry() {
    let bad = InstanceInfo::builder("a")
        .host_name("h")
        .metadata("zone", "a\u{1}")
        .build();
    assert_eq!(
        start_refusal(bad),
        "Invalid character U+0001 in metadata value of \"zone\": XML 1.0 cannot carry it"
    );
}

/// Starts a client for `instance`, which must fail as a configuration error; its cause.
fn start_refusal(instance: InstanceInfo) -> String {
    let err = EurekaClient::builder(["http://127.0.0.1:1/eureka"])
        .instance(instance)
        .start()
        .unwrap_err();
    assert!(err.is_config());
    std::error::Error::source(&err)
        .map(ToString::to_string)
        .expect("a cause")
}

// E-10 in one place: the client refuses at start what the server's register validation
// would refuse, with the server's reason (here W-43, a metadata key XML cannot name).
#[tokio::test]
async fn e10_start_refuses_what_the_server_would_refuse() {
    let bad = InstanceInfo::builder("a")
        .host_name("h")
        .metadata("has space", "v")
        .build();
    assert_eq!(start_refusal(bad), "Invalid metadata key \"has space\"");
}

#[test]
fn start_outside_a_runtime_is_an_error() {
    let err = EurekaClient::builder(["http://127.0.0.1:1/eureka"])
        .start()
        .unwrap_err();
    assert!(err.is_no_runtime());
}
