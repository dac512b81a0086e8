//! A mixed cluster: one Rust node and one Spring Eureka server (Netflix Eureka 2) that list
//! each other (P-44). One JVM for the whole test binary: every scenario runs in this one
//! test function.

use crate::java::{self, App, JavaProcess};
use crate::support::*;
use reqwest::Method;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

async fn status_is(http: &Http, base: &str, app: &str, id: &str, want: &str) -> Option<()> {
    let v = http.json(&format!("{base}/apps/{app}/{id}")).await?;
    (v["instance"]["status"] == want).then_some(())
}

async fn gone(http: &Http, base: &str, app: &str, id: &str) -> Option<()> {
    let (code, _) = http.get(&format!("{base}/apps/{app}/{id}")).await;
    (code == 404).then_some(())
}

// P-10..P-18, P-33, P-40, P-44: register, heartbeat, override, override deletion and
// cancel travel both ways between a Rust node and a Java server; a restarted Rust node
// syncs from the Java node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p44_mixed_cluster_with_a_java_server() {
    let http = Http::new();
    let (rust_port, java_port) = (free_port(), java::free_port());
    let java_url = format!("http://127.0.0.1:{java_port}/eureka/");
    // The Rust node starts first: the Java node is not up, so it opens after its budget.
    let mut rust = Node::start(
        rust_port,
        &[],
        &[&format!("--peer={java_url}"), "--peer-sync-budget-ms=1000"],
    );
    let r = rust.url();
    wait_open(&http, &r).await;
    // Java decides "this URL is me" by host only: give it a host name of its own so that
    // 127.0.0.1 is a peer. Its embedded client fetches the registry for its startup sync.
    let props: Vec<String> = [
        "eureka.client.register-with-eureka=false",
        "eureka.client.fetch-registry=true",
        "eureka.client.registry-fetch-interval-seconds=5",
        // Java's startup sync copies its embedded client's cache, which by default holds
        // only UP instances: an OUT_OF_SERVICE one would be lost on a Java restart.
        "eureka.client.filter-only-up-instances=false",
        // Spring's default is 0 sync rounds: a restarted Java node would copy nothing and
        // open with the fake count of 1 (default-open-for-traffic-count).
        "eureka.server.registry-sync-retries=5",
        "eureka.server.registry-sync-retry-wait-ms=500",
        &format!("eureka.client.service-url.defaultZone={}/", r),
        "eureka.instance.hostname=java-eureka-node",
        "eureka.server.peer-node-read-timeout-ms=2000",
        "eureka.server.response-cache-update-interval-ms=100",
        "eureka.server.use-read-only-response-cache=false",
        "eureka.server.eviction-interval-timer-in-ms=1000",
        "eureka.server.enable-self-preservation=false",
        "eureka.server.wait-time-in-ms-when-sync-empty=0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut jvm = JavaProcess::start(
        App::EurekaServer,
        java_port,
        java::TEST_JVM,
        &props,
        "/eureka/apps",
    );
    let j = format!("http://127.0.0.1:{java_port}/eureka");

    // Register on Java -> visible on Rust; register on Rust -> visible on Java.
    assert_eq!(http.register_lease(&j, "MIXED", "from-java", 4).await, 204);
    eventually(WAIT, "Java's register on Rust", || {
        status_is(&http, &r, "MIXED", "from-java", "UP")
    })
    .await;
    assert_eq!(http.register_lease(&r, "MIXED", "from-rust", 4).await, 204);
    eventually(WAIT, "Rust's register on Java", || {
        status_is(&http, &j, "MIXED", "from-rust", "UP")
    })
    .await;

    // Heartbeats sent only to one side keep the lease alive on the other: a 4 s lease,
    // renewed for 12 s through the peer only (Java evicts within 2x the duration).
    let until = tokio::time::Instant::now() + Duration::from_secs(12);
    while tokio::time::Instant::now() < until {
        assert_eq!(
            http.send(Method::PUT, &format!("{r}/apps/MIXED/from-java"), None)
                .await,
            200
        );
        assert_eq!(
            http.send(Method::PUT, &format!("{j}/apps/MIXED/from-rust"), None)
                .await,
            200
        );
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    status_is(&http, &j, "MIXED", "from-java", "UP")
        .await
        .expect("Java kept the lease renewed only through Rust");
    status_is(&http, &r, "MIXED", "from-rust", "UP")
        .await
        .expect("Rust kept the lease renewed only through Java");

    // Overrides: set on Java -> Rust; deleted on Rust -> Java.
    assert_eq!(
        http.send(
            Method::PUT,
            &format!("{j}/apps/MIXED/from-java/status?value=OUT_OF_SERVICE"),
            None
        )
        .await,
        200
    );
    eventually(WAIT, "Java's override on Rust", || {
        status_is(&http, &r, "MIXED", "from-java", "OUT_OF_SERVICE")
    })
    .await;
    assert_eq!(
        http.send(
            Method::PUT,
            &format!("{r}/apps/MIXED/from-rust/status?value=OUT_OF_SERVICE"),
            None
        )
        .await,
        200
    );
    eventually(WAIT, "Rust's override on Java", || {
        status_is(&http, &j, "MIXED", "from-rust", "OUT_OF_SERVICE")
    })
    .await;
    assert_eq!(
        http.send(
            Method::DELETE,
            &format!("{r}/apps/MIXED/from-rust/status?value=UP"),
            None
        )
        .await,
        200
    );
    eventually(WAIT, "Rust's override deletion on Java", || {
        status_is(&http, &j, "MIXED", "from-rust", "UP")
    })
    .await;

    // A restarted Rust node syncs from the Java node (keep the leases alive meanwhile).
    for id in ["from-java", "from-rust"] {
        assert_eq!(http.register_lease(&j, "MIXED", id, 60).await, 204);
    }
    assert_eq!(http.register_lease(&j, "MIXED", "java-only", 60).await, 204);
    eventually(WAIT, "leases renewed on Rust", || {
        status_is(&http, &r, "MIXED", "java-only", "UP")
    })
    .await;
    rust.kill();
    assert_eq!(
        http.register_lease(&j, "MIXED", "while-rust-was-down", 60)
            .await,
        204
    );
    rust = Node::start(rust_port, &[], &[&format!("--peer={java_url}")]);
    let want = eventually(WAIT, "Java's set", || http.instances(&j)).await;
    assert_eq!(want.len(), 4, "{want:?}");
    let got = eventually(WAIT, "restarted Rust node synced from Java", || async {
        let got = http.instances(&r).await?;
        (got == want).then_some(got)
    })
    .await;
    assert_eq!(got.len(), 4);

    // Cancels: on Java -> gone on Rust; on Rust -> gone on Java.
    assert_eq!(
        http.send(Method::DELETE, &format!("{j}/apps/MIXED/java-only"), None)
            .await,
        200
    );
    eventually(WAIT, "Java's cancel on Rust", || {
        gone(&http, &r, "MIXED", "java-only")
    })
    .await;
    assert_eq!(
        http.send(Method::DELETE, &format!("{r}/apps/MIXED/from-rust"), None)
            .await,
        200
    );
    eventually(WAIT, "Rust's cancel on Java", || {
        gone(&http, &j, "MIXED", "from-rust")
    })
    .await;
    // The Rust node reports the Java peer healthy, nothing dropped.
    let s = http.status(&r).await.expect("status");
    assert_eq!(s["peers"][0]["dropped"], 0, "{s}");

    // A restarted Java node syncs from the Rust node (its embedded client's fetch).
    assert_eq!(
        http.register_lease(&r, "MIXED", "before-java-restart", 60)
            .await,
        204
    );
    let want = eventually(WAIT, "Rust's set", || async {
        let got = http.instances(&r).await?;
        got.iter()
            .any(|(id, _)| id == "before-java-restart")
            .then_some(got)
    })
    .await;
    eventually(WAIT, "Java holds Rust's set before its restart", || async {
        (http.instances(&j).await? == want).then_some(())
    })
    .await;
    jvm.kill();
    drop(jvm);
    let _jvm = JavaProcess::start(
        App::EurekaServer,
        java_port,
        java::TEST_JVM,
        &props,
        "/eureka/apps",
    );
    eventually(WAIT, "restarted Java node synced from Rust", || async {
        (http.instances(&j).await? == want).then_some(())
    })
    .await;
    drop(rust);
}
