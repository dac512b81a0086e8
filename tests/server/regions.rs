//! Remote regions (R-130, E-16, E-17, W-63, R-83): two of our servers as two regions, over
//! real HTTP on 127.0.0.1. Region `a` is configured with region `b`'s URL and fetches it
//! every 30 s of paused tokio time.

use super::support::{config, flatten, serve_service, start, TestServer};
use std::time::Duration;
use tower_eureka::cluster::{spawn_remote_regions, RemoteRegionFetchers, RemoteRegionSettings};
use tower_eureka::server::{EurekaService, RemoteRegions};

const INTERVAL: Duration = Duration::from_secs(30);

/// Region `a`, fetching region `b` at `b_base`.
async fn region_a(b_base: &str, allow: Option<&[&str]>) -> (TestServer, RemoteRegionFetchers) {
    let mut regions = RemoteRegions::new([("b", b_base)]);
    if let Some(apps) = allow {
        regions = regions.with_app_allow_list(Some("b"), apps.iter().copied());
    }
    let mut cfg = config();
    cfg.remote_regions = regions;
    let svc = EurekaService::new(cfg);
    let fetchers = spawn_remote_regions(&svc, RemoteRegionSettings::every(INTERVAL));
    (serve_service(svc).await, fetchers)
}

/// `/status`'s entry for region `b`.
async fn region_status(a: &TestServer) -> serde_json::Value {
    let (code, v) = a.get_json("/status").await;
    assert_eq!(code, 200);
    v["remoteRegions"][0].clone()
}

/// Waits (bounded: 50 polls of 100 ms of paused time) until `a` has its first copy of `b`.
async fn until_ready(a: &TestServer) {
    for _ in 0..50 {
        if region_status(a).await["ready"] == true {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("region b never became ready: {}", region_status(a).await);
}

async fn get_raw(s: &TestServer, path: &str) -> (u16, Vec<u8>) {
    let r = s
        .http
        .get(s.url(path))
        .header("accept", "application/json")
        .send()
        .await
        .expect("GET");
    let code = r.status().as_u16();
    (code, r.bytes().await.expect("body").to_vec())
}

/// The instance ids, sorted.
/// `eureka_payload_cache_misses` of `s` (each miss is one encode).
async fn cache_misses(s: &TestServer) -> u64 {
    let root = s.base.trim_end_matches("/eureka");
    let text = s
        .http
        .get(format!("{root}/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find(|l| l.starts_with("eureka_payload_cache_misses"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no eureka_payload_cache_misses in\n{text}"))
}

fn ids(v: &[(String, String, String)]) -> Vec<&str> {
    let mut ids: Vec<&str> = v.iter().map(|(_, id, _)| id.as_str()).collect();
    ids.sort_unstable();
    ids
}

#[tokio::test(start_paused = true)]
async fn r130_e16_remote_instances_are_merged_only_when_asked_w63_hash_over_the_merge() {
    let b = start().await;
    assert_eq!(b.register("billing", "b1", "UP").await.status(), 204);
    assert_eq!(b.register("ledger", "l1", "DOWN").await.status(), 204);
    let (a, _fetchers) = region_a(&b.base, None).await;
    assert_eq!(a.register("orders", "a1", "UP").await.status(), 204);
    assert_eq!(a.register("billing", "a-b2", "UP").await.status(), 204);
    until_ready(&a).await;

    // Without regions: local only.
    let (hash, local) = a.apps().await;
    assert_eq!(hash, "UP_2_");
    assert_eq!(ids(&local), ["a-b2", "a1"]);

    // With regions=b: b's instances merged, BILLING one application of both regions'.
    let (code, v) = a.get_json("/apps?regions=b").await;
    assert_eq!(code, 200);
    let billing: Vec<_> = v["applications"]["application"]
        .as_array()
        .expect("apps")
        .iter()
        .filter(|app| app["name"] == "BILLING")
        .collect();
    assert_eq!(billing.len(), 1, "one BILLING application");
    assert_eq!(billing[0]["instance"].as_array().map(Vec::len), Some(2));
    let (hash, merged) = flatten(&v);
    assert_eq!(hash, "DOWN_1_UP_3_", "W-63: the hash counts the merge");
    assert_eq!(ids(&merged), ["a-b2", "a1", "b1", "l1"]);

    // Lower-cased, sorted, unknown names ignored: one cache entry, the same bytes, encoded
    // once: no miss for the repeats.
    let (_, exact) = get_raw(&a, "/apps?regions=b").await;
    let misses = cache_misses(&a).await;
    let (_, spelled) = get_raw(&a, "/apps?regions=nowhere,%20B").await;
    let (_, again) = get_raw(&a, "/apps?regions=b").await;
    assert_eq!(exact, spelled);
    assert_eq!(exact, again);
    assert_eq!(
        cache_misses(&a).await,
        misses,
        "served from the cache, not re-merged"
    );
    // A fetch of b that brings nothing new (a heartbeat moves only a renewal timestamp)
    // leaves the merged payload as it was: not encoded again.
    assert_eq!(b.put("/apps/BILLING/b1").await, 200);
    tokio::time::sleep(INTERVAL + Duration::from_secs(1)).await;
    let (_, later) = get_raw(&a, "/apps?regions=b").await;
    assert_eq!(later, exact);
    assert_eq!(
        cache_misses(&a).await,
        misses,
        "a quiet region is not re-encoded"
    );
    // Only unknown names, or an empty value: the plain answer byte for byte.
    let (_, plain) = get_raw(&a, "/apps").await;
    for q in ["/apps?regions=nowhere", "/apps?regions="] {
        let (code, body) = get_raw(&a, q).await;
        assert_eq!(code, 200);
        assert_eq!(body, plain, "{q}");
    }

    // the delta with regions carries the merged registry's hash, and B's
    // instances are in neither the plain delta's hash nor its body.
    let (code, d) = a.get_json("/apps/delta?regions=b").await;
    assert_eq!(code, 200);
    assert_eq!(d["applications"]["apps__hashcode"], "DOWN_1_UP_3_");
    let (_, d) = a.get_json("/apps/delta").await;
    assert_eq!(d["applications"]["apps__hashcode"], "UP_2_");
    assert!(!ids(&flatten(&d).1).contains(&"b1"));
}

#[tokio::test(start_paused = true)]
async fn r130_a_change_in_b_reaches_a_at_its_next_fetch_r83_delta_merged() {
    let b = start().await;
    assert_eq!(b.register("billing", "b1", "UP").await.status(), 204);
    let (a, _fetchers) = region_a(&b.base, None).await;
    until_ready(&a).await;
    let (_, d0) = a.get_json("/apps/delta?regions=b").await;
    let v0 = d0["applications"]["versions__delta"]
        .as_str()
        .and_then(|v| v.parse::<u64>().ok())
        .expect("versions__delta");

    assert_eq!(b.register("billing", "b2", "UP").await.status(), 204);
    assert_eq!(b.delete("/apps/BILLING/b1").await, 200);
    // Not before a's next fetch: a serves its copy, not b live.
    let (_, v) = a.get_json("/apps?regions=b").await;
    assert_eq!(ids(&flatten(&v).1), ["b1"]);

    tokio::time::sleep(INTERVAL + Duration::from_secs(1)).await;
    let (_, v) = a.get_json("/apps?regions=b").await;
    let (hash, merged) = flatten(&v);
    assert_eq!(ids(&merged), ["b2"]);
    assert_eq!(hash, "UP_1_");

    // The merged delta carries b's changes and a larger version.
    let (_, d) = a.get_json("/apps/delta?regions=b").await;
    let changes: Vec<(String, String)> = d["applications"]["application"]
        .as_array()
        .expect("apps")
        .iter()
        .flat_map(|app| app["instance"].as_array().cloned().unwrap_or_default())
        .map(|i| {
            (
                i["instanceId"].as_str().unwrap_or("").to_owned(),
                i["actionType"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(
        changes.contains(&("b2".into(), "ADDED".into())),
        "{changes:?}"
    );
    assert!(
        changes.contains(&("b1".into(), "DELETED".into())),
        "{changes:?}"
    );
    assert_eq!(d["applications"]["apps__hashcode"], "UP_1_");
    let v1 = d["applications"]["versions__delta"]
        .as_str()
        .and_then(|v| v.parse::<u64>().ok())
        .expect("versions__delta");
    assert!(v1 > v0, "R-84: {v1} > {v0}");
    // The delta was applied and reconciled: no full-fetch fallback.
    let st = region_status(&a).await;
    assert_eq!(
        (st["fullFetches"].as_u64(), st["failedFetches"].as_u64()),
        (Some(1), Some(0)),
        "{st}"
    );
    assert!(st["deltaFetches"].as_u64() >= Some(1), "{st}");
}

#[tokio::test(start_paused = true)]
async fn r130_region_b_down_a_keeps_its_last_copy_and_local_reads_work() {
    let b = start().await;
    assert_eq!(b.register("billing", "b1", "UP").await.status(), 204);
    let (a, _fetchers) = region_a(&b.base, None).await;
    assert_eq!(a.register("orders", "a1", "UP").await.status(), 204);
    until_ready(&a).await;
    drop(b);
    tokio::time::sleep(Duration::from_secs(2)).await; // b's graceful shutdown

    for _ in 0..3 {
        // Within a1's 90 s lease (the eviction of a's own instances is not under test).
        tokio::time::sleep(INTERVAL * 2).await;
        assert_eq!(a.put("/apps/ORDERS/a1").await, 200);
        let (code, v) = a.get_json("/apps?regions=b").await;
        assert_eq!(code, 200);
        assert_eq!(ids(&flatten(&v).1), ["a1", "b1"], "the last copy of b");
        let (hash, local) = a.apps().await;
        assert_eq!((hash.as_str(), ids(&local)), ("UP_1_", vec!["a1"]));
    }
    let st = region_status(&a).await;
    assert!(st["failedFetches"].as_u64() >= Some(1), "{st}");
    assert_eq!(st["ready"], true);
    assert_eq!(st["instances"], 1);
}

#[tokio::test(start_paused = true)]
async fn e16_e17_regions_are_403_until_the_first_fetch_plain_reads_are_not() {
    // A port nobody listens on: bind one, then close it.
    let gone = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
        .local_addr()
        .expect("addr");
    let (a, _fetchers) = region_a(&format!("http://{gone}/eureka"), None).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for q in [
        "/apps?regions=b",
        "/apps/delta?regions=b",
        "/apps?regions=other",
    ] {
        assert_eq!(get_raw(&a, q).await.0, 403, "{q}");
    }
    assert_eq!(get_raw(&a, "/apps").await.0, 200);
    assert_eq!(get_raw(&a, "/apps/delta").await.0, 200);
    assert_eq!(region_status(&a).await["ready"], false);
}

#[tokio::test(start_paused = true)]
async fn r130_the_app_allow_list_limits_what_is_merged() {
    let b = start().await;
    assert_eq!(b.register("billing", "b1", "UP").await.status(), 204);
    assert_eq!(b.register("ledger", "l1", "UP").await.status(), 204);
    let (a, _fetchers) = region_a(&b.base, Some(&["Billing"])).await;
    until_ready(&a).await;
    let (_, v) = a.get_json("/apps?regions=b").await;
    let (hash, merged) = flatten(&v);
    assert_eq!(ids(&merged), ["b1"]);
    assert_eq!(hash, "UP_1_");

    // A change of an app outside the list still reconciles (the copy is whole).
    assert_eq!(b.register("ledger", "l2", "UP").await.status(), 204);
    tokio::time::sleep(INTERVAL + Duration::from_secs(1)).await;
    let st = region_status(&a).await;
    assert_eq!(
        (st["failedFetches"].as_u64(), st["fullFetches"].as_u64()),
        (Some(0), Some(1)),
        "{st}"
    );
    assert_eq!(st["instances"], 3, "{st}");
}

/// Registers `id` of `app` on `s` in zone `zone`.
async fn register_in_zone(s: &TestServer, app: &str, id: &str, zone: &str) {
    let body = super::support::register_body(app, id, &format!("{id}.host"), 8080, "UP")
        .replace("\"zone\":\"zone-a\"", &format!("\"zone\":\"{zone}\""));
    let r = s.post_json(&format!("/apps/{app}"), body).await;
    assert_eq!(r.status(), 204);
}

/// Drives `d` until it has nothing more to yield; its endpoint ids, sorted.
async fn discovered<M: tower_eureka::discover::MakeEndpoint>(
    d: &mut tower_eureka::discover::EurekaDiscover<M>,
) -> Vec<String> {
    use std::pin::Pin;
    use std::task::Poll;
    use tower::discover::Discover as _;
    while let Poll::Ready(Some(Ok(_))) =
        std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *d).poll_discover(cx))).await
    {}
    let mut ids: Vec<String> = d.endpoint_ids().map(str::to_owned).collect();
    ids.sort();
    ids
}

// C-71, C-22: a client asking a for region b sees both regions' instances, reconciles the
// merged hash on every delta (no full-fetch fallback), tells remote instances by zone, and
// its Discovers use local instances unless told to include b.
#[tokio::test(start_paused = true)]
async fn c71_a_client_fetching_region_b_sees_both_and_reconciles_the_merge() {
    use tower_eureka::client::{EurekaClient, Target};
    use tower_eureka::discover::EurekaDiscover;
    let b = start().await;
    register_in_zone(&b, "billing", "b1", "zone-b").await;
    let (a, _fetchers) = region_a(&b.base, None).await;
    register_in_zone(&a, "billing", "a1", "zone-a").await;
    until_ready(&a).await;

    // Not 10 s: that is the server's idle-connection timeout, and a pooled connection the
    // server closes at the very instant the client reuses it fails the call.
    let every = Duration::from_secs(7);
    let client = EurekaClient::builder([a.base.clone()])
        .fetch_interval(every)
        .fetch_remote_regions_registry(["B"])
        .region_zones("b", ["Zone-B"])
        .rng_seed(7)
        .start()
        .expect("client");
    let mut snaps = client.snapshots();
    let snap = snaps
        .wait_for(|s| s.is_fetched())
        .await
        .expect("a snapshot")
        .clone();
    let billing = snap.instances(&Target::app("billing"));
    let regions: Vec<(&str, Option<&str>)> = billing
        .iter()
        .map(|i| (i.id(), snap.region_of(i)))
        .collect();
    assert_eq!(regions.len(), 2, "{regions:?}");
    assert!(regions.contains(&("a1", None)) && regions.contains(&("b1", Some("b"))));
    assert_eq!(snap.hashcode(), "UP_2_");

    // A change in b reaches the client through a's next fetch of b and the client's next
    // delta, which reconciles against the merged hash.
    register_in_zone(&b, "billing", "b2", "zone-b").await;
    tokio::time::sleep(INTERVAL + every * 2).await;
    let snap = client.snapshot();
    assert_eq!(snap.instances(&Target::app("billing")).len(), 3);
    assert_eq!(snap.hashcode(), "UP_3_");
    tokio::time::sleep(every * 3).await;
    let m = client.metrics().snapshot();
    assert_eq!(m.full_fetches, 1, "{m:?}");
    assert_eq!(m.reconcile_mismatches, 0, "{m:?}");
    assert!(m.delta_fetches >= 5, "{m:?}");

    let ids = |i: &tower_eureka::model::InstanceInfo| i.id().to_owned();
    let mut local = EurekaDiscover::new(client.snapshots(), Target::app("billing"), ids);
    assert_eq!(discovered(&mut local).await, ["a1"]);
    let mut both =
        EurekaDiscover::new(client.snapshots(), Target::app("billing"), ids).include_regions(["b"]);
    assert_eq!(discovered(&mut both).await, ["a1", "b1", "b2"]);
}

// R-130 (Java's transparent fallback): `GET /apps/{app}` of an app a does not hold answers
// from region b; an app a holds answers locally; off, it is 404.
#[tokio::test(start_paused = true)]
async fn r130_e18_an_app_absent_here_answers_from_the_remote_region_unless_disabled() {
    let b = start().await;
    assert_eq!(b.register("billing", "b1", "UP").await.status(), 204);
    assert_eq!(b.register("orders", "b-o1", "UP").await.status(), 204);
    let (a, _fetchers) = region_a(&b.base, None).await;
    assert_eq!(a.register("orders", "a1", "UP").await.status(), 204);
    until_ready(&a).await;
    let (code, v) = a.get_json("/apps/BILLING").await;
    assert_eq!(code, 200);
    assert_eq!(v["application"]["instance"][0]["instanceId"], "b1");
    let (code, v) = a.get_json("/apps/ORDERS").await;
    assert_eq!(code, 200);
    let local: Vec<_> = v["application"]["instance"]
        .as_array()
        .expect("instances")
        .iter()
        .map(|i| i["instanceId"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(local, ["a1"], "a local app is answered locally only");
    assert_eq!(a.get_json("/apps/NOWHERE").await.0, 404);

    let mut cfg = config();
    cfg.remote_regions =
        RemoteRegions::new([("b", b.base.as_str())]).with_transparent_fallback(false);
    let svc = EurekaService::new(cfg);
    let _off_fetchers = spawn_remote_regions(&svc, RemoteRegionSettings::every(INTERVAL));
    let off = serve_service(svc).await;
    until_ready(&off).await;
    assert_eq!(off.get_json("/apps/BILLING").await.0, 404);
}

// an unreachable region is retried with back-off on tokio time: the interval
// doubled per consecutive failure (60 s, 120 s, 240 s), at most 10 intervals.
#[tokio::test(start_paused = true)]
async fn r130_an_unreachable_region_is_retried_with_backoff() {
    let gone = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
        .local_addr()
        .expect("addr");
    let (a, _fetchers) = region_a(&format!("http://{gone}/eureka"), None).await;
    // No pooled connections: the waits below outlast the server's 10 s idle timeout.
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let status_url = a.url("/status");
    let failed = |v: serde_json::Value| v["remoteRegions"][0]["failedFetches"].as_u64();
    let start = tokio::time::Instant::now();
    // (seconds since start, failed fetches by then): tries at 0, 60, 180, 420 s.
    for (at, want) in [
        (5, 1),
        (55, 1),
        (65, 2),
        (175, 2),
        (185, 3),
        (415, 3),
        (425, 4),
    ] {
        tokio::time::sleep_until(start + Duration::from_secs(at)).await;
        let body = fresh
            .get(&status_url)
            .send()
            .await
            .expect("GET /status")
            .bytes()
            .await
            .expect("body");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(failed(v), Some(want), "at {at} s");
    }
}
