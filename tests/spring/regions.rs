//! R-130 with Java: a Spring Eureka server takes our `eureka-server` as its remote region
//! (Java's `RemoteRegionRegistry` reads our `/apps` and `/apps/delta`), and our server takes
//! the Spring one as its remote region. One JVM.

use crate::java::{self, App, JavaProcess};
use crate::{get_json, send, start_rust_server, wait_for, RustServer};
use reqwest::Method;
use serde_json::Value;

/// A legacy JSON register body for `id` of `app`.
fn body(app: &str, id: &str) -> String {
    serde_json::json!({"instance": {
        "instanceId": id, "hostName": "127.0.0.1", "app": app, "ipAddr": "127.0.0.1",
        "status": "UP", "overriddenStatus": "UNKNOWN",
        "port": {"$": 8080, "@enabled": "true"}, "securePort": {"$": 443, "@enabled": "false"},
        "countryId": 1,
        "dataCenterInfo": {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"},
        "leaseInfo": {"renewalIntervalInSecs": 30, "durationInSecs": 90},
        "vipAddress": app.to_lowercase(), "secureVipAddress": app.to_lowercase(),
        "isCoordinatingDiscoveryServer": "false",
        "lastUpdatedTimestamp": "0", "lastDirtyTimestamp": "0"
    }})
    .to_string()
}

/// `(hash, sorted instance ids)` of an Applications answer.
fn ids(v: &Value) -> (String, Vec<String>) {
    let apps = &v["applications"];
    let mut ids: Vec<String> = apps["application"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|a| a["instance"].as_array().cloned().unwrap_or_default())
        .filter_map(|i| i["instanceId"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    (
        apps["apps__hashcode"].as_str().unwrap_or("").to_owned(),
        ids,
    )
}

/// `GET {base}{path}` until it answers 200 with `want` ids.
async fn until_ids(base: &str, path: &str, want: &[&str]) -> String {
    let url = format!("{base}{path}");
    wait_for(&format!("{url} to hold {want:?}"), || async {
        match get_json(&url).await {
            Some((200, v)) => {
                let (hash, got) = ids(&v);
                (got == want).then_some(hash)
            }
            _ => None,
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r130_java_and_rust_servers_serve_each_other_as_remote_regions() {
    let ours: RustServer = start_rust_server();
    let status = send(
        Method::POST,
        &format!("{}/apps/RUST-APP", ours.url),
        Some(body("RUST-APP", "r1")),
    )
    .await;
    assert_eq!(status, Some(204));

    let port = java::free_port();
    let region = format!(
        "eureka.server.remote-region-urls-with-name.rust={}/",
        ours.url
    );
    let _java = JavaProcess::start(
        App::EurekaServer,
        port,
        java::TEST_JVM,
        &java::standalone_server_props(&[
            &region,
            "eureka.server.remote-region-registry-fetch-interval=1",
        ]),
        "/eureka/apps",
    );
    let java_url = format!("http://127.0.0.1:{port}/eureka");
    let status = send(
        Method::POST,
        &format!("{java_url}/apps/JAVA-APP"),
        Some(body("JAVA-APP", "j1")),
    )
    .await;
    assert_eq!(status, Some(204));

    // Java merges our registry into ?regions=rust, and hashes the merge.
    let hash = until_ids(&java_url, "/apps?regions=rust", &["j1", "r1"]).await;
    assert_eq!(hash, "UP_2_");
    // Java's plain /apps merges every remote region too while its transparent fallback is
    // on (its default, `getApplications()`); ours stays local (see docs/protocol.md).
    until_ids(&java_url, "/apps", &["j1", "r1"]).await;

    // Our server, with the Java server as region "java".
    let a = RustServer::start(&[
        "--remote-region",
        &format!("java;{java_url}/"),
        "--remote-region-fetch-interval",
        "1",
    ]);
    // What the Java server answers to a plain /apps, r1 from its own remote region included.
    let hash = until_ids(&a.url, "/apps?regions=java", &["j1", "r1"]).await;
    assert_eq!(hash, "UP_2_");
    until_ids(&a.url, "/apps", &[]).await;
    // A change on the Java side arrives through our delta fetch of it.
    let status = send(
        Method::POST,
        &format!("{java_url}/apps/JAVA-APP"),
        Some(body("JAVA-APP", "j2")),
    )
    .await;
    assert_eq!(status, Some(204));
    until_ids(&a.url, "/apps?regions=java", &["j1", "j2", "r1"]).await;
    let (_, st) = get_json(&format!("{}/status", a.url))
        .await
        .unwrap_or_default();
    assert_eq!(st["remoteRegions"][0]["ready"], true, "{st}");
    assert_eq!(st["remoteRegions"][0]["failedFetches"], 0, "{st}");
}
