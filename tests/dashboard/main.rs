//! The dashboard in a real browser: the real `eureka-server` binary, instances registered
//! over its REST API, the page loaded by headless Chromium, and the DOM Chromium dumps
//! parsed and checked (apps, counts by status, zones, statuses, an escaped hostile
//! instance id, the self-preservation banners). A screenshot goes to
//! `target/dashboard.png`.
//!
//! Chromium is Debian's `chromium` package, installed by the test when missing.

mod chromium;
#[path = "../common/server_process.rs"]
mod server_process;

use scraper::{ElementRef, Html, Selector};
use serde_json::{json, Value};
use server_process::ServerProcess;
use std::path::PathBuf;
use std::time::Duration;

const EMERGENCY: &str = "EMERGENCY! EUREKA MAY BE INCORRECTLY CLAIMING INSTANCES ARE UP WHEN \
     THEY'RE NOT. RENEWALS ARE LESSER THAN THRESHOLD AND HENCE THE INSTANCES ARE NOT BEING \
     EXPIRED JUST TO BE SAFE.";
const TURNED_OFF: &str = "THE SELF PRESERVATION MODE IS TURNED OFF. THIS MAY NOT PROTECT \
     INSTANCE EXPIRY IN CASE OF NETWORK/OTHER PROBLEMS.";

/// An instance id a hostile client registers (ids cannot hold '/').
const HOSTILE_ID: &str = "<script>document.title='pwned'";

/// A running binary and a client for its REST API.
struct Server {
    process: ServerProcess,
    http: reqwest::Client,
}

impl Server {
    fn start(flags: &[&str]) -> Server {
        Server {
            process: ServerProcess::start(flags),
            http: reqwest::Client::new(),
        }
    }

    /// The service root (the dashboard), without the `/eureka` REST prefix.
    fn root(&self) -> String {
        self.process.url.trim_end_matches("/eureka").to_owned()
    }

    /// Registers an instance over the REST API, renewing every `interval` seconds; the
    /// zone goes in metadata `zone` (Spring) or in Amazon's `availability-zone`.
    async fn register(&self, app: &str, id: &str, status: &str, zone: Zone<'_>, interval: u32) {
        let (dc, metadata) = match zone {
            Zone::Spring(z) => (
                json!({"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"}),
                json!({"management.port": "8081", "zone": z}),
            ),
            Zone::Amazon(az) => (
                json!({"@class": "com.netflix.appinfo.AmazonInfo", "name": "Amazon",
                       "metadata": {"availability-zone": az, "instance-id": "i-0abc"}}),
                json!({"management.port": "8081"}),
            ),
        };
        let body = json!({"instance": {
            "instanceId": id, "hostName": format!("{}.example", app.to_lowercase()),
            "app": app, "ipAddr": "10.1.2.3", "status": status,
            "port": {"$": 8080, "@enabled": "true"},
            "securePort": {"$": 8443, "@enabled": "true"},
            "dataCenterInfo": dc,
            "leaseInfo": {"renewalIntervalInSecs": interval, "durationInSecs": 300},
            "metadata": metadata,
            "statusPageUrl": "http://10.1.2.3:8080/actuator/info",
            "healthCheckUrl": "http://10.1.2.3:8080/actuator/health",
        }});
        let r = self
            .http
            .post(format!("{}/apps/{app}", self.process.url))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("register");
        assert_eq!(r.status().as_u16(), 204, "register {app}/{id}");
    }

    async fn put(&self, path: &str) -> u16 {
        let r = self
            .http
            .put(format!("{}{path}", self.process.url))
            .send()
            .await
            .expect("PUT");
        r.status().as_u16()
    }

    async fn get(&self, url: &str) -> (u16, String) {
        let r = self.http.get(url).send().await.expect("GET");
        (r.status().as_u16(), r.text().await.expect("body"))
    }
}

/// Where an instance says its zone is.
#[derive(Clone, Copy)]
enum Zone<'a> {
    /// Spring: metadata `zone`.
    Spring(&'a str),
    /// AWS: the Amazon metadata's `availability-zone`.
    Amazon(&'a str),
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("selector")
}

fn text(e: ElementRef<'_>) -> String {
    e.text().collect::<String>().trim().to_owned()
}

/// `(data-status, data-count)` of the status badges under `scope`.
fn badges(doc: &Html, scope: &str) -> Vec<(String, String)> {
    doc.select(&sel(&format!("{scope} span[data-status]")))
        .map(|b| {
            let a = |k| b.value().attr(k).unwrap_or_default().to_owned();
            (a("data-status"), a("data-count"))
        })
        .collect()
}

fn target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// Waits (at most 20 s) until the JSON twin at `root` satisfies `ok`.
async fn until(s: &Server, what: &str, ok: impl Fn(&Value) -> bool) {
    let url = format!("{}/dashboard.json", s.root());
    for _ in 0..200 {
        let (code, body) = s.get(&url).await;
        if code == 200 && serde_json::from_str(&body).is_ok_and(|v| ok(&v)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not within 20 s: {what}");
}

#[tokio::test]
async fn dashboard_in_chromium_shows_apps_statuses_zones_and_escapes() {
    chromium::ensure().await;
    // A peer that is not there (a closed loopback port): the replicas section shows it
    // unhealthy, and the startup sync keeps /ready at 503 for the whole test. The
    // threshold 0 keeps self-preservation from engaging while no heartbeats come.
    let s = Server::start(&[
        "--peer=http://127.0.0.1:9/eureka",
        "--peer-sync-budget-ms=600000",
        "--renewal-percent-threshold=0",
        "--response-cache-update-interval-ms=0",
    ]);
    s.register("ORDERS", "orders-1", "UP", Zone::Spring("zone-a"), 30)
        .await;
    s.register("ORDERS", "orders-2", "UP", Zone::Spring("zone-b"), 30)
        .await;
    s.register("ORDERS", "orders-3", "DOWN", Zone::Spring("zone-a"), 30)
        .await;
    s.register(
        "PAYMENTS",
        "payments-1",
        "STARTING",
        Zone::Spring("zone-b"),
        30,
    )
    .await;
    s.register("PAYMENTS", "payments-2", "UP", Zone::Spring("zone-b"), 30)
        .await;
    assert_eq!(
        s.put("/apps/PAYMENTS/payments-2/status?value=OUT_OF_SERVICE")
            .await,
        200
    );
    s.register(
        "INVENTORY",
        "inventory-1",
        "UP",
        Zone::Amazon("us-east-1a"),
        30,
    )
    .await;
    s.register("EVIL", HOSTILE_ID, "UP", Zone::Spring("<b>zone</b>"), 30)
        .await;

    let (code, body) = s.get(&format!("{}/health", s.root())).await;
    assert_eq!((code, body.as_str()), (200, r#"{"status":"UP"}"#));
    assert_eq!(
        s.get(&format!("{}/ready", s.root())).await.0,
        503,
        "P-40: syncing"
    );

    let dom = chromium::dump_dom(&format!("{}/", s.root())).await;
    let doc = Html::parse_document(&dom);
    // No script ran and none was injected.
    let title = doc.select(&sel("title")).next().map(text);
    assert_eq!(title.as_deref(), Some("Eureka · tower-eureka"));
    assert_eq!(doc.select(&sel("script")).count(), 0, "no script element");
    assert_eq!(
        doc.select(&sel("#instances b")).count(),
        0,
        "no injected markup"
    );

    let apps: Vec<String> = doc
        .select(&sel("tr.app"))
        .filter_map(|r| r.value().attr("data-app").map(str::to_owned))
        .collect();
    assert_eq!(apps, ["EVIL", "INVENTORY", "ORDERS", "PAYMENTS"]);
    let pair = |s: &str, n: &str| (s.to_owned(), n.to_owned());
    assert_eq!(
        badges(&doc, r#"tr.app[data-app="ORDERS"] td.counts"#),
        [pair("UP", "2"), pair("DOWN", "1")]
    );
    assert_eq!(
        badges(&doc, r#"tr.app[data-app="PAYMENTS"] td.counts"#),
        [pair("STARTING", "1"), pair("OUT_OF_SERVICE", "1")]
    );
    assert_eq!(
        badges(&doc, "#status-counts"),
        [
            pair("UP", "4"),
            pair("DOWN", "1"),
            pair("STARTING", "1"),
            pair("OUT_OF_SERVICE", "1")
        ]
    );
    let zones = |app: &str| -> Vec<String> {
        doc.select(&sel(&format!(r#"tr.app[data-app="{app}"] td.zones .zone"#)))
            .map(text)
            .collect()
    };
    assert_eq!(zones("ORDERS"), ["zone-a (2)", "zone-b (1)"]);
    assert_eq!(zones("INVENTORY"), ["us-east-1a (1)"]);
    assert_eq!(zones("EVIL"), ["<b>zone</b> (1)"], "markup shown as text");
    let statuses: Vec<&str> = doc
        .select(&sel(r#"tr.app-instances[data-app="PAYMENTS"] tr.instance"#))
        .filter_map(|r| r.value().attr("data-status"))
        .collect();
    assert_eq!(statuses, ["STARTING", "OUT_OF_SERVICE"]);
    let ids: Vec<String> = doc
        .select(&sel(r#"tr.app-instances[data-app="EVIL"] td.id"#))
        .map(text)
        .collect();
    assert!(
        ids.first().is_some_and(|t| t.starts_with(HOSTILE_ID)),
        "the hostile id is shown as text: {ids:?}"
    );
    let address: Vec<String> = doc
        .select(&sel(r#"tr.app-instances[data-app="ORDERS"] td.address"#))
        .map(text)
        .collect();
    assert!(address[0].starts_with("10.1.2.3:8080"), "{address:?}");
    assert!(
        address[0].contains("10.1.2.3:8443"),
        "secure port: {address:?}"
    );
    let links: Vec<&str> = doc
        .select(&sel(r#"tr.app-instances[data-app="ORDERS"] a.health-page"#))
        .filter_map(|a| a.value().attr("href"))
        .collect();
    assert_eq!(links.len(), 3);
    assert_eq!(links[0], "http://10.1.2.3:8080/actuator/health");
    let peers: Vec<String> = doc.select(&sel("#replicas tr.peer")).map(text).collect();
    assert_eq!(peers.len(), 1, "{peers:?}");
    assert!(peers[0].contains("127.0.0.1:9") && peers[0].contains("unhealthy"));
    assert_eq!(doc.select(&sel("#banner")).count(), 0, "no banner");

    // The filter box's query narrows the page to one app.
    let dom = chromium::dump_dom(&format!("{}/?app=pay", s.root())).await;
    let doc = Html::parse_document(&dom);
    let apps: Vec<&str> = doc
        .select(&sel("tr.app"))
        .filter_map(|r| r.value().attr("data-app"))
        .collect();
    assert_eq!(apps, ["PAYMENTS"]);

    let png = target_dir().join("dashboard.png");
    chromium::screenshot(&format!("{}/", s.root()), &png).await;
    let app_png = target_dir().join("dashboard-orders.png");
    chromium::screenshot(&format!("{}/?app=ORDERS", s.root()), &app_png).await;
}

// R-104: self-preservation engaged on the real binary. Five leases that announce a
// heartbeat every second expect 300 renewals a minute; none come, so the gate engages
// within seconds of the registrations.
#[tokio::test]
async fn r104_dashboard_in_chromium_shows_the_emergency_banner() {
    chromium::ensure().await;
    let s = Server::start(&["--response-cache-update-interval-ms=0"]);
    for n in 0..5 {
        s.register(
            "ORDERS",
            &format!("orders-{n}"),
            "UP",
            Zone::Spring("zone-a"),
            1,
        )
        .await;
    }
    until(&s, "self-preservation engages", |v| {
        v["selfPreservation"]["engaged"] == true
    })
    .await;
    let dom = chromium::dump_dom(&format!("{}/", s.root())).await;
    let doc = Html::parse_document(&dom);
    let banner: Vec<String> = doc.select(&sel("#banner.emergency")).map(text).collect();
    assert_eq!(banner, [EMERGENCY]);
    let lease = doc.select(&sel("#lease-expiration")).next().map(text);
    assert_eq!(lease.as_deref(), Some("false"));
    let why = doc
        .select(&sel("#self-preservation-reason"))
        .next()
        .map(text);
    assert!(why.is_some_and(|w| w.starts_with("on:")));
    let png = target_dir().join("dashboard-emergency.png");
    chromium::screenshot(&format!("{}/", s.root()), &png).await;
}

#[tokio::test]
async fn dashboard_in_chromium_shows_self_preservation_turned_off() {
    chromium::ensure().await;
    let s = Server::start(&["--enable-self-preservation=false"]);
    s.register("ORDERS", "orders-1", "UP", Zone::Spring("zone-a"), 30)
        .await;
    let dom = chromium::dump_dom(&format!("{}/", s.root())).await;
    let doc = Html::parse_document(&dom);
    let banner: Vec<String> = doc.select(&sel("#banner.off")).map(text).collect();
    assert_eq!(banner, [TURNED_OFF]);
    assert_eq!(doc.select(&sel("#banner.emergency")).count(), 0);
    // And the page is where the flags say: elsewhere with --dashboard-path, gone when
    // disabled.
    drop(s);
    let s = Server::start(&["--dashboard-path=/ops"]);
    assert_eq!(s.get(&format!("{}/", s.root())).await.0, 404);
    let (code, html) = s.get(&format!("{}/ops", s.root())).await;
    assert_eq!(code, 200);
    assert!(html.contains("System status"));
    drop(s);
    let s = Server::start(&["--dashboard-enabled=false"]);
    assert_eq!(s.get(&format!("{}/", s.root())).await.0, 404);
    assert_eq!(s.get(&format!("{}/health", s.root())).await.0, 200);
}

/// A dashboard path that cannot work stops the binary with a message naming the flag.
#[tokio::test]
async fn a_bad_dashboard_path_stops_the_binary_naming_the_flag() {
    for bad in ["ops", "/eureka/apps", "/health"] {
        let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_eureka-server"))
            .args(["--listen", "127.0.0.1:0", "--dashboard-path", bad])
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(Duration::from_secs(30), run)
            .await
            .expect("the binary exits within 30 s")
            .expect("the binary runs");
        assert!(!out.status.success(), "{bad}: exits unsuccessfully");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--dashboard-path"), "{bad}: {err}");
        assert!(out.stdout.is_empty(), "{bad}: never listened");
    }
}
