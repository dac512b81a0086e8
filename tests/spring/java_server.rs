//! The crate's client, Discover and balancer against a real Spring Eureka server
//! (`@EnableEurekaServer`, standalone, 100 ms response cache), through a counting proxy.

use crate::java::{self, App, JavaProcess};
use crate::proxy::Proxy;
use crate::{count, counts, instance, send, wait_for, RustBackend, Watched};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use reqwest::Method;
use std::collections::HashSet;
use std::time::Duration;
use tower::ServiceExt;
use tower_eureka::client::{EurekaClient, Target};
use tower_eureka::codec::{self, Format};
use tower_eureka::discover::{BalancedClient, EurekaDiscover, MakeHttpEndpoint};
use tower_eureka::model::{InstanceInfo, Status};

const APP: &str = "RUST-ON-JAVA";
const ID: &str = "roj-1";

fn start_java(port: u16) -> JavaProcess {
    JavaProcess::start(
        App::EurekaServer,
        port,
        java::TEST_JVM,
        &java::standalone_server_props(&[]),
        "/eureka/apps",
    )
}

/// One JVM for the whole life of a Rust service and a Rust consumer on a Java registry:
/// C-05 register (204), C-11 heartbeats; C-20/C-22 full then delta fetches with the hash
/// reconcile never falling back; C-40 failover from a dead server URL to the Java one;
/// E-30 a status override visible to our client and Discover; C-12 404 -> re-register
/// after the Java server restarts; C-50 cancel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_against_the_java_server() {
    let port = java::free_port();
    let mut javas = start_java(port);
    let java_url = format!("http://127.0.0.1:{port}/eureka");
    let proxy = Proxy::start(&java_url);
    let dead = format!("http://127.0.0.1:{}/eureka", java::free_port());

    let backend = RustBackend::start("rust-on-java").await;
    let service = EurekaClient::builder([proxy.url.as_str()])
        .instance(
            InstanceInfo::builder(APP)
                .instance_id(ID)
                .host_name("127.0.0.1")
                .ip_addr("127.0.0.1")
                .port(backend.port)
                .vip_address("rust-on-java")
                .metadata("lang", "rust")
                .lease(1, 3)
                .build(),
        )
        .register_only()
        .registration_retry_base(Duration::from_millis(200))
        .start()
        .expect("service client");

    // C-05 / C-11: registered as sent, heartbeating.
    let stored = wait_for("the Java server to store our instance", || async {
        instance(&java_url, APP, ID).await
    })
    .await;
    assert_eq!(stored["status"], "UP", "{stored}");
    assert_eq!(stored["port"]["$"], backend.port, "{stored}");
    assert_eq!(stored["metadata"]["lang"], "rust", "{stored}");
    assert_eq!(stored["vipAddress"], "rust-on-java", "{stored}");
    assert_eq!(stored["leaseInfo"]["renewalIntervalInSecs"], 1, "{stored}");
    assert_eq!(stored["leaseInfo"]["durationInSecs"], 3, "{stored}");
    let beats = || async {
        count(
            &counts(&proxy).await,
            &format!("heartbeat {APP}/{ID}"),
            " 200",
        )
    };
    let first = beats().await;
    wait_for("heartbeats accepted by Java (C-11)", || async {
        (beats().await >= first + 3).then_some(())
    })
    .await;
    assert!(service.is_registered());

    // C-40: the consumer knows a dead server URL and two routes to the Java server (two
    // counting proxies, `mirrors`); it finds a live one.
    let mut mirrors = [Some(Proxy::start(&java_url)), Some(Proxy::start(&java_url))];
    let urls: Vec<String> = mirrors.iter().flatten().map(|m| m.url.clone()).collect();
    let consumer = EurekaClient::builder([dead.as_str(), urls[0].as_str(), urls[1].as_str()])
        .fetch_only()
        .fetch_interval(Duration::from_millis(300))
        .timeouts(Duration::from_millis(500), Duration::from_secs(5))
        .start()
        .expect("consumer");
    let target = Target::app(APP);
    wait_for("the consumer to see our instance UP", || async {
        (consumer.up_instances(&target).len() == 1).then_some(())
    })
    .await;
    let seen = consumer.instances(&target);
    assert_eq!(seen[0].metadata.get("lang"), Some("rust"));
    assert_eq!(seen[0].port.port, backend.port);

    // C-20 / C-22: steady state is deltas, reconciled against Java's apps__hashcode.
    // `fetches(kind)` counts the consumer's fetches over the live mirrors, per mirror.
    async fn fetches(mirrors: &[Option<Proxy>; 2], kind: &str) -> [u64; 2] {
        let mut out = [0; 2];
        for (n, m) in mirrors.iter().enumerate() {
            if let Some(m) = m {
                out[n] = count(&counts(m).await, kind, " 200");
            }
        }
        out
    }
    let total = |c: [u64; 2]| c[0] + c[1];
    let d0 = total(fetches(&mirrors, "delta").await);
    wait_for("delta fetches from Java", || async {
        (total(fetches(&mirrors, "delta").await) >= d0 + 3).then_some(())
    })
    .await;
    let full_steady = total(fetches(&mirrors, "full").await);
    assert!(full_steady >= 1, "no full fetch first");

    // C-40/C-41: the route the consumer sticks to dies; it fails over to the other one and
    // keeps fetching deltas there.
    let per_mirror = fetches(&mirrors, "delta").await;
    let used = usize::from(per_mirror[1] > per_mirror[0]);
    mirrors[used] = None;
    let other = 1 - used;
    let d_other = fetches(&mirrors, "delta").await[other];
    wait_for(
        "deltas through the surviving route after failover",
        || async { (fetches(&mirrors, "delta").await[other] >= d_other + 3).then_some(()) },
    )
    .await;
    let full_after_failover = fetches(&mirrors, "full").await[other];
    let deltas = || async { fetches(&mirrors, "delta").await[other] };

    // W-: every document the Java server emits about it, JSON and XML, reads with our
    // codec and names the instance as registered.
    for (accept, format) in [
        ("application/json", Format::Json),
        ("application/xml", Format::Xml),
    ] {
        for path in ["apps", "apps/delta", &format!("apps/{APP}")] {
            let body = get_bytes(&format!("{java_url}/{path}"), accept).await;
            let apps = if path.starts_with("apps/RUST") {
                let app = codec::decode_application(&body, format)
                    .unwrap_or_else(|e| panic!("Java's {accept} /{path} does not read: {e}"));
                vec![app]
            } else {
                let apps = codec::decode_applications(&body, format)
                    .unwrap_or_else(|e| panic!("Java's {accept} /{path} does not read: {e}"));
                assert!(
                    apps.apps_hashcode.is_some(),
                    "{accept} /{path} has no hashcode"
                );
                apps.applications
            };
            let i = apps
                .iter()
                .flat_map(|a| &a.instances)
                .find(|i| i.id() == ID)
                .unwrap_or_else(|| panic!("{accept} /{path} lacks {ID}"));
            assert_eq!(i.port.port, backend.port, "{accept} /{path}");
            assert_eq!(i.metadata.get("lang"), Some("rust"), "{accept} /{path}");
            assert_eq!(i.lease_info.duration_in_secs, 3, "{accept} /{path}");
        }
        let body = get_bytes(&format!("{java_url}/apps/{APP}/{ID}"), accept).await;
        let i = codec::decode_instance(&body, format)
            .unwrap_or_else(|e| panic!("Java's {accept} instance does not read: {e}"));
        assert_eq!(i.status, Status::Up);
    }

    // The balancer calls the service by name, and a Discover holds it.
    let mut discover = Watched {
        discover: EurekaDiscover::new(consumer.snapshots(), target.clone(), |i: &InstanceInfo| {
            i.id().to_owned()
        }),
        ids: HashSet::new(),
    };
    discover.until(ID, true).await;
    let balanced: BalancedClient<Full<Bytes>, hyper::body::Incoming> = BalancedClient::builder()
        .timeout(Duration::from_secs(10))
        .build_with(
            consumer.snapshots(),
            target.clone(),
            MakeHttpEndpoint::new(Client::builder(TokioExecutor::new()).build_http()),
        );
    let req = http::Request::get(format!("http://{APP}/by-name"))
        .body(Full::new(Bytes::new()))
        .expect("request");
    let rsp = balanced
        .clone()
        .oneshot(req)
        .await
        .expect("BalancedClient call");
    let body = rsp.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(String::from_utf8_lossy(&body), "rust-on-java:/by-name");

    // E-30: an override set on the Java server reaches our client's copy and the Discover,
    // and its removal brings the instance back.
    let status_url = format!("{java_url}/apps/{APP}/{ID}/status");
    let put = send(
        Method::PUT,
        &format!("{status_url}?value=OUT_OF_SERVICE"),
        None,
    )
    .await;
    assert_eq!(put, Some(200));
    wait_for("the consumer to see OUT_OF_SERVICE", || async {
        consumer
            .instances(&target)
            .iter()
            .any(|i| i.status == Status::OutOfService)
            .then_some(())
    })
    .await;
    discover.until(ID, false).await;
    let del = send(Method::DELETE, &format!("{status_url}?value=UP"), None).await;
    assert_eq!(del, Some(200));
    wait_for("the consumer to see UP again", || async {
        (consumer.up_instances(&target).len() == 1).then_some(())
    })
    .await;
    discover.until(ID, true).await;
    let d1 = deltas().await;
    wait_for("more deltas after the overrides", || async {
        (deltas().await >= d1 + 3).then_some(())
    })
    .await;
    let c = counts(mirrors[other].as_ref().expect("the surviving route")).await;
    assert_eq!(
        count(&c, "full", " 200"),
        full_after_failover,
        "our client fell back to full fetches against Java (C-22): {c:?}"
    );
    assert_eq!(
        full_steady, 1,
        "more than one full fetch before the failover"
    );
    eprintln!("the consumer's requests through the surviving route: {c:?}");

    // C-12: the Java server restarts with an empty registry; the next heartbeat gets 404
    // and our client registers again.
    let registers = || async {
        count(
            &counts(&proxy).await,
            &format!("register {APP}/{ID}"),
            " 204",
        )
    };
    let r0 = registers().await;
    javas.kill();
    javas = start_java(port);
    wait_for("a 404 heartbeat after the restart", || async {
        (count(
            &counts(&proxy).await,
            &format!("heartbeat {APP}/{ID}"),
            " 404",
        ) >= 1)
            .then_some(())
    })
    .await;
    wait_for("our client to register again", || async {
        (registers().await > r0).then_some(())
    })
    .await;
    wait_for("the restarted Java server to hold our instance", || async {
        instance(&java_url, APP, ID).await
    })
    .await;
    wait_for("the consumer to see it UP after the restart", || async {
        (consumer.up_instances(&target).len() == 1).then_some(())
    })
    .await;

    // C-50: cancel; gone from Java, from the consumer's copy, from the Discover.
    service.shutdown().await.expect("cancel");
    let c = counts(&proxy).await;
    assert!(
        count(&c, &format!("cancel {APP}/{ID}"), " 200") >= 1,
        "{c:?}"
    );
    wait_for("Java to forget the cancelled instance", || async {
        match crate::get_json(&format!("{java_url}/apps/{APP}/{ID}")).await {
            Some((404, _)) => Some(()),
            _ => None,
        }
    })
    .await;
    discover.until(ID, false).await;
    wait_for("the consumer's copy to lose it", || async {
        consumer.instances(&target).is_empty().then_some(())
    })
    .await;
    consumer.shutdown().await.expect("consumer shutdown");
    let bad = crate::failures(&javas.log_lines());
    assert!(
        bad.is_empty(),
        "the Java server logged failures:\n{}",
        bad.join("\n")
    );
}

/// `GET url` with `Accept: accept`: the body of a 200, else the test fails.
async fn get_bytes(url: &str, accept: &str) -> Vec<u8> {
    let rsp = crate::http()
        .get(url)
        .header("Accept", accept)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(rsp.status(), 200, "GET {url} ({accept})");
    rsp.bytes()
        .await
        .unwrap_or_else(|e| panic!("GET {url} body: {e}"))
        .to_vec()
}
