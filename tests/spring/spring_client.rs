//! A real Spring Cloud client (Spring Cloud Netflix 5, its default RestClient transport)
//! against the real `eureka-server` binary, through a counting proxy (and once with Basic
//! authentication, the credentials in `defaultZone`).

use crate::java::{self, App, JavaProcess};
use crate::proxy::Proxy;
use crate::Watched;
use crate::{
    count, counts, failures, get_json, get_text, instance, send, start_rust_server, wait_for,
    RustBackend,
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use reqwest::Method;
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;
use tower::ServiceExt;
use tower_eureka::client::{EurekaClient, Target};
use tower_eureka::discover::{BalancedClient, EurekaDiscover, MakeHttpEndpoint};
use tower_eureka::model::InstanceInfo;

/// The Spring client's name (`spring.application.name`, its VIP address).
const SPRING: &str = "spring-orders";
const SPRING_APP: &str = "SPRING-ORDERS";

/// Starts the Spring client on a free port, registered at `eureka` (with a trailing
/// slash, as Spring wants its zone URLs), with `extra` properties.
fn start_spring(app: App, name: &str, eureka: &str, extra: &[String]) -> (JavaProcess, String) {
    let port = java::free_port();
    let id = format!("{name}-{port}");
    let mut props = vec![
        format!("spring.application.name={name}"),
        format!("eureka.client.service-url.defaultZone={eureka}/"),
        format!("eureka.instance.instance-id={id}"),
    ];
    props.extend(extra.iter().cloned());
    let p = JavaProcess::start(app, port, java::TEST_JVM, &props, "/actuator/health");
    (p, id)
}

/// What the Spring client's `DiscoveryClient` sees for `service`.
async fn seen(spring: &JavaProcess, service: &str) -> Vec<Value> {
    match get_json(&format!("{}/seen/{service}", spring.base())).await {
        Some((200, Value::Array(rows))) => rows,
        _ => Vec::new(),
    }
}

/// The row of instance `id` in what Spring sees for `service`.
async fn seen_row(spring: &JavaProcess, service: &str, id: &str) -> Option<Value> {
    seen(spring, service)
        .await
        .into_iter()
        .find(|r| r["instanceId"] == id)
}

/// Registers `PY-SERVICE` by plain HTTP the way py-eureka-client 0.11 does: JSON, ports
/// as `{"$": n, "@enabled": "true"}`, `MyDataCenterInfo`, string booleans.
async fn register_like_py(server: &str, port: u16) {
    let body = serde_json::json!({"instance": {
        "instanceId": "py-1",
        "hostName": "127.0.0.1",
        "app": "PY-SERVICE",
        "ipAddr": "127.0.0.1",
        "status": "UP",
        "overriddenstatus": "UNKNOWN",
        "port": {"$": port, "@enabled": "true"},
        "securePort": {"$": 443, "@enabled": "false"},
        "countryId": 1,
        "dataCenterInfo": {
            "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
            "name": "MyOwn"
        },
        "leaseInfo": {"renewalIntervalInSecs": 30, "durationInSecs": 90},
        "metadata": {"lang": "python", "management.port": port.to_string()},
        "homePageUrl": format!("http://127.0.0.1:{port}/"),
        "statusPageUrl": format!("http://127.0.0.1:{port}/info"),
        "healthCheckUrl": format!("http://127.0.0.1:{port}/health"),
        "vipAddress": "py-service",
        "secureVipAddress": "py-service",
        "isCoordinatingDiscoveryServer": "false",
        "lastUpdatedTimestamp": "0",
        "lastDirtyTimestamp": "0"
    }});
    let status = send(
        Method::POST,
        &format!("{server}/apps/PY-SERVICE"),
        Some(body.to_string()),
    )
    .await;
    assert_eq!(status, Some(204), "a py-eureka-client style register");
}

/// The whole life of a Spring Cloud service against `eureka-server`, in one JVM: R-01/W-10
/// register (204) and heartbeats (R-10), its stored record; C-20/C-22 full then delta
/// fetches, hash reconcile never falling back; E-30 status overrides both ways; discovery
/// of Rust- and Python-style registrations; calls by name in both directions; R-30 cancel on
/// shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spring_cloud_client_against_our_server() {
    let server = start_rust_server();
    let proxy = Proxy::start(&server.url);

    // The services Spring is to find: one registered by our client, one by plain HTTP.
    let backend = RustBackend::start("rust-backend").await;
    let rust = EurekaClient::builder([server.url.as_str()])
        .instance(
            InstanceInfo::builder("RUST-BACKEND")
                .instance_id("rust-1")
                .host_name("127.0.0.1")
                .ip_addr("127.0.0.1")
                .port(backend.port)
                .vip_address("rust-backend")
                .metadata("lang", "rust")
                .lease(1, 3)
                .build(),
        )
        .register_only()
        .start()
        .expect("rust backend client");
    register_like_py(&server.url, 9).await;
    wait_for("the Rust backend registered", || async {
        instance(&server.url, "RUST-BACKEND", "rust-1").await
    })
    .await;

    let (mut spring, id) = start_spring(App::SpringClient, SPRING, &proxy.url, &[]);
    let port = spring.port;

    // 1. Registered with a 204 (the only answer Spring accepts), heartbeating, UP, and
    //    stored as sent.
    let stored = wait_for("Spring registered and UP", || async {
        instance(&server.url, SPRING_APP, &id)
            .await
            .filter(|i| i["status"] == "UP")
    })
    .await;
    assert_eq!(stored["app"], SPRING_APP);
    assert_eq!(stored["ipAddr"], "127.0.0.1");
    assert_eq!(stored["port"]["$"], port, "{stored}");
    assert_eq!(stored["port"]["@enabled"], "true", "{stored}");
    assert_eq!(stored["securePort"]["@enabled"], "false", "{stored}");
    assert_eq!(stored["vipAddress"], SPRING);
    assert_eq!(stored["metadata"]["team"], "payments", "{stored}");
    assert_eq!(stored["metadata"]["zone"], "zone-a", "{stored}");
    assert_eq!(stored["dataCenterInfo"]["name"], "MyOwn", "{stored}");
    assert_eq!(
        stored["dataCenterInfo"]["@class"],
        "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
        "{stored}"
    );
    assert_eq!(stored["leaseInfo"]["renewalIntervalInSecs"], 1, "{stored}");
    assert_eq!(stored["leaseInfo"]["durationInSecs"], 3, "{stored}");
    let c = counts(&proxy).await;
    assert!(
        count(&c, &format!("register {SPRING_APP}/{id}"), " 204") >= 1,
        "no 204 register at the proxy: {c:?}"
    );
    let beats = |c: &std::collections::BTreeMap<String, u64>| {
        count(c, &format!("heartbeat {SPRING_APP}/{id}"), " 200")
    };
    let first = beats(&c);
    wait_for("Spring's heartbeats (R-10)", || async {
        (beats(&counts(&proxy).await) >= first + 3).then_some(())
    })
    .await;
    // Three heartbeats later (past its 3 s lease) it is still UP. (Heartbeats are not
    // visible changes: `lastRenewalTimestamp` stays as of the last one, R-41.)
    let later = instance(&server.url, SPRING_APP, &id)
        .await
        .expect("Spring still registered");
    assert_eq!(later["status"], "UP", "{later}");
    let deltas_at_start = count(&counts(&proxy).await, "delta", " 200");
    wait_for("Spring's delta fetches (C-20)", || async {
        (count(&counts(&proxy).await, "delta", " 200") >= deltas_at_start + 3).then_some(())
    })
    .await;
    let full_steady = count(&counts(&proxy).await, "full", " 200");
    assert!(full_steady >= 1, "Spring never fetched the full registry");

    // 3. Its DiscoveryClient sees the Rust-registered and the Python-style instances, with
    //    their metadata.
    let row = wait_for("Spring sees rust-backend", || async {
        seen_row(&spring, "rust-backend", "rust-1").await
    })
    .await;
    assert_eq!(row["metadata"]["lang"], "rust", "{row}");
    assert_eq!(row["port"], backend.port, "{row}");
    assert_eq!(row["status"], "UP", "{row}");
    let row = wait_for("Spring sees py-service", || async {
        seen_row(&spring, "py-service", "py-1").await
    })
    .await;
    assert_eq!(row["metadata"]["lang"], "python", "{row}");
    assert_eq!(row["port"], 9, "{row}");

    // 5a. Its @LoadBalanced RestClient calls the Rust service by name.
    let reply = wait_for("Spring calls rust-backend by name", || async {
        match get_text(&format!("{}/call/rust-backend?path=/ping", spring.base())).await {
            Some((200, body)) => Some(body),
            _ => None,
        }
    })
    .await;
    assert_eq!(reply, "rust-backend:/ping");

    // 5b. Our BalancedClient calls the Spring service by name; a Rust Discover sees it.
    let consumer = EurekaClient::builder([server.url.as_str()])
        .fetch_only()
        .fetch_interval(Duration::from_millis(200))
        .start()
        .expect("consumer");
    let target = Target::app(SPRING_APP);
    let mut discover = Watched {
        discover: EurekaDiscover::new(consumer.snapshots(), target.clone(), |i: &InstanceInfo| {
            i.id().to_owned()
        }),
        ids: HashSet::new(),
    };
    // a Rust Discover to insert the Spring instance
    discover.until(&id, true).await;
    let balanced: BalancedClient<Full<Bytes>, hyper::body::Incoming> = BalancedClient::builder()
        .timeout(Duration::from_secs(10))
        .build_with(
            consumer.snapshots(),
            target.clone(),
            MakeHttpEndpoint::new(Client::builder(TokioExecutor::new()).build_http()),
        );
    let req = http::Request::get(format!("http://{SPRING_APP}/hello"))
        .body(Full::new(Bytes::new()))
        .expect("request");
    let rsp = balanced
        .clone()
        .oneshot(req)
        .await
        .expect("BalancedClient -> Spring");
    assert_eq!(rsp.status(), 200);
    let body = rsp.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(String::from_utf8_lossy(&body), format!("spring:{id}"));

    // 4a. E-30: an override set on our server shows in Spring's DiscoveryClient, and goes.
    let status_url = format!("{}/apps/{SPRING_APP}/{id}/status", server.url);
    let put = send(
        Method::PUT,
        &format!("{status_url}?value=OUT_OF_SERVICE"),
        None,
    )
    .await;
    assert_eq!(put, Some(200));
    // Spring's DiscoveryClient lists only UP instances (`shouldFilterOnlyUpInstances`
    // defaults to true): an OUT_OF_SERVICE instance leaves its list, while the instance is
    // still registered with us.
    wait_for("Spring no longer sees itself UP", || async {
        let row = seen_row(&spring, SPRING, &id).await;
        row.map_or(true, |r| r["status"] == "OUT_OF_SERVICE")
            .then_some(())
    })
    .await;
    assert!(instance(&server.url, SPRING_APP, &id).await.is_some());
    let del = send(Method::DELETE, &format!("{status_url}?value=UP"), None).await;
    assert_eq!(del, Some(200));
    wait_for("Spring sees itself UP again", || async {
        seen_row(&spring, SPRING, &id)
            .await
            .filter(|r| r["status"] == "UP")
    })
    .await;

    // 4b. A change through its own actuator `serviceregistry` endpoint reaches our server.
    let actuator = format!("{}/actuator/serviceregistry", spring.base());
    let set = send(
        Method::POST,
        &actuator,
        Some(r#"{"status":"OUT_OF_SERVICE"}"#.into()),
    )
    .await;
    assert!(matches!(set, Some(200..=204)), "actuator answered {set:?}");
    let stored = wait_for("our server stores Spring's OUT_OF_SERVICE", || async {
        instance(&server.url, SPRING_APP, &id)
            .await
            .filter(|i| i["status"] == "OUT_OF_SERVICE")
    })
    .await;
    assert_eq!(stored["overriddenStatus"], "OUT_OF_SERVICE", "{stored}");
    // the Rust Discover drops the OUT_OF_SERVICE instance (C-26)
    discover.until(&id, false).await;
    let set = send(
        Method::POST,
        &actuator,
        Some(r#"{"status":"CANCEL_OVERRIDE"}"#.into()),
    )
    .await;
    assert!(matches!(set, Some(200..=204)), "actuator answered {set:?}");
    wait_for("our server has Spring UP again", || async {
        instance(&server.url, SPRING_APP, &id)
            .await
            .filter(|i| i["status"] == "UP")
    })
    .await;
    // the Rust Discover inserts it again
    discover.until(&id, true).await;

    // 2. After all these changes, the deltas still reconciled: not one more full fetch
    //    (C-22), and not one parse error in Spring's log.
    let deltas = count(&counts(&proxy).await, "delta", " 200");
    wait_for("more deltas after the changes", || async {
        (count(&counts(&proxy).await, "delta", " 200") >= deltas + 3).then_some(())
    })
    .await;
    let c = counts(&proxy).await;
    assert_eq!(
        count(&c, "full", " 200"),
        full_steady,
        "Spring fell back to full fetches (hash reconcile failed): {c:?}\n{}",
        spring.log_text()
    );
    assert!(
        c.iter()
            .all(|(k, _)| k.ends_with(" 200") || k.ends_with(" 204")),
        "a request Spring made was refused: {c:?}"
    );
    let bad = failures(&spring.log_lines());
    assert!(
        bad.is_empty(),
        "Spring logged failures:\n{}",
        bad.join("\n")
    );
    eprintln!("Spring's requests, as the proxy counted them: {c:?}");

    // 6. R-30: on shutdown it cancels, and is gone from our registry and a Rust Discover.
    spring.terminate(Duration::from_secs(30));
    let c = counts(&proxy).await;
    assert_eq!(
        count(&c, &format!("cancel {SPRING_APP}/{id}"), " 200"),
        1,
        "Spring did not cancel: {c:?}"
    );
    assert_eq!(
        get_json(&format!("{}/apps/{SPRING_APP}/{id}", server.url))
            .await
            .map(|(s, _)| s),
        Some(404)
    );
    // the Rust Discover removes the cancelled instance
    discover.until(&id, false).await;
    // Spring marks itself DOWN before it cancels, so the Discover may drop it first; the
    // consumer's copy loses it once the cancel is published.
    wait_for(
        "the consumer's copy loses the cancelled instance",
        || async { consumer.instances(&target).is_empty().then_some(()) },
    )
    .await;
    let bad = failures(&spring.log_lines());
    assert!(
        bad.is_empty(),
        "Spring logged failures on shutdown:\n{}",
        bad.join("\n")
    );
    rust.shutdown().await.expect("rust backend cancel");
    consumer.shutdown().await.expect("consumer shutdown");
}

/// C-20 with `eureka.client.disable-delta=true`: every fetch is a full one, all parsed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spring_cloud_client_with_delta_disabled() {
    let server = start_rust_server();
    let proxy = Proxy::start(&server.url);
    register_like_py(&server.url, 9).await;
    let (spring, id) = start_spring(
        App::SpringClient,
        "spring-nodelta",
        &proxy.url,
        &["eureka.client.disable-delta=true".into()],
    );
    wait_for("the no-delta Spring registered", || async {
        instance(&server.url, "SPRING-NODELTA", &id)
            .await
            .filter(|i| i["status"] == "UP")
    })
    .await;
    let row = wait_for("it sees py-service", || async {
        seen_row(&spring, "py-service", "py-1").await
    })
    .await;
    assert_eq!(row["metadata"]["lang"], "python");
    wait_for("it sees itself", || async {
        seen_row(&spring, "spring-nodelta", &id).await
    })
    .await;
    let full = count(&counts(&proxy).await, "full", " 200");
    wait_for("more full fetches", || async {
        (count(&counts(&proxy).await, "full", " 200") >= full + 3).then_some(())
    })
    .await;
    let c = counts(&proxy).await;
    assert_eq!(
        count(&c, "delta", ""),
        0,
        "a delta with delta disabled: {c:?}"
    );
    let bad = failures(&spring.log_lines());
    assert!(
        bad.is_empty(),
        "Spring logged failures:\n{}",
        bad.join("\n")
    );
}

/// The old Jersey 3 transport (what every Spring Eureka server's embedded client uses)
/// against our server: W-10 register (204), R-10 heartbeats, C-20/C-22 full then deltas
/// without fallback, discovery with metadata, R-30 cancel on shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spring_cloud_client_on_jersey() {
    let server = start_rust_server();
    let proxy = Proxy::start(&server.url);
    register_like_py(&server.url, 9).await;
    let (mut spring, id) = start_spring(App::SpringClientJersey, "spring-jersey", &proxy.url, &[]);
    let log = spring.log_lines();
    assert!(
        log.iter()
            .any(|l| l.contains("Eureka HTTP Client uses Jersey")),
        "the Jersey transport is not in use:\n{}",
        log.join("\n")
    );
    let stored = wait_for("the Jersey Spring registered and UP", || async {
        instance(&server.url, "SPRING-JERSEY", &id)
            .await
            .filter(|i| i["status"] == "UP")
    })
    .await;
    assert_eq!(stored["metadata"]["team"], "payments", "{stored}");
    assert_eq!(stored["leaseInfo"]["durationInSecs"], 3, "{stored}");
    let row = wait_for("it sees py-service", || async {
        seen_row(&spring, "py-service", "py-1").await
    })
    .await;
    assert_eq!(row["metadata"]["lang"], "python");
    let deltas = count(&counts(&proxy).await, "delta", " 200");
    wait_for("its delta fetches", || async {
        (count(&counts(&proxy).await, "delta", " 200") >= deltas + 3).then_some(())
    })
    .await;
    let c = counts(&proxy).await;
    assert_eq!(
        count(&c, "full", " 200"),
        1,
        "fallback to full fetches: {c:?}"
    );
    assert!(count(&c, "heartbeat", " 200") >= 1, "{c:?}");
    assert!(
        c.iter()
            .all(|(k, _)| k.ends_with(" 200") || k.ends_with(" 204")),
        "a request Spring made was refused: {c:?}"
    );
    spring.terminate(Duration::from_secs(30));
    let c = counts(&proxy).await;
    assert_eq!(count(&c, "cancel SPRING-JERSEY", " 200"), 1, "{c:?}");
    eprintln!("the Jersey client's requests: {c:?}");
    let bad = failures(&spring.log_lines());
    assert!(
        bad.is_empty(),
        "Spring (Jersey) logged failures:\n{}",
        bad.join("\n")
    );
}

/// C-01 from the Spring side: a Spring Cloud client whose `defaultZone` carries user info
/// (`http://user:pass@host/eureka/`) registers, heartbeats and fetches against our server
/// with Basic authentication on; a request without the credentials is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spring_cloud_client_through_basic_auth() {
    let server = crate::RustServer::start(&[
        "--response-cache-update-interval-ms",
        "50",
        "--user",
        "eureka:s3cret",
    ]);
    let (code, _) = get_json(&format!("{}/apps", server.url))
        .await
        .expect("an answer");
    assert_eq!(code, 401);
    let with_userinfo = server.url.replacen("://", "://eureka:s3cret@", 1);
    let (spring, id) = start_spring(App::SpringClient, "spring-secure", &with_userinfo, &[]);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client");
    let at = format!("{}/apps/SPRING-SECURE/{id}", server.url);
    wait_for(
        "the Spring client registered through Basic auth",
        || async {
            let r = http
                .get(&at)
                .basic_auth("eureka", Some("s3cret"))
                .header("accept", "application/json")
                .send()
                .await
                .ok()?;
            let v: Value = serde_json::from_str(&r.text().await.ok()?).ok()?;
            (v["instance"]["status"] == "UP").then_some(())
        },
    )
    .await;
    wait_for("it fetched and sees itself", || async {
        seen_row(&spring, "spring-secure", &id).await
    })
    .await;
    let bad = failures(&spring.log_lines());
    assert!(
        bad.is_empty(),
        "Spring logged failures:\n{}",
        bad.join("\n")
    );
}
