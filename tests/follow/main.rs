//! Watch per target, client side (issue 15): a fetch-only client that follows a few apps
//! (`EurekaClientBuilder::follow_apps`) through a counting proxy in front of our server on
//! 127.0.0.1. It sees the changes of its apps in a Discover at once, fetches nothing of
//! the others, polls a server that does not send the watch headers (as Java's), and
//! fetches an app again when its copy disagrees with the answer's hash.

use futures_core::Stream;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::discover::Change;
use tower_eureka::client::{EurekaClient, Target};
use tower_eureka::discover::EurekaDiscover;
use tower_eureka::model::InstanceInfo;
use tower_eureka::registry::Origin;
use tower_eureka::server::{serve, EurekaService, ServerConfig};

/// How the proxy treats answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Forwards as is.
    Pass,
    /// Drops the query and the `x-eureka-*` headers: a server that cannot watch.
    NoWatch,
    /// Forwards, but the first answer to a watch carries a wrong `x-eureka-hash`.
    LieOnce,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    mode: Mode,
    lied: Arc<Mutex<bool>>,
    /// Every request forwarded: path with query, and the body bytes answered.
    log: Arc<Mutex<Vec<(String, usize)>>>,
}

impl Proxy {
    fn log(&self) -> Vec<(String, usize)> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

async fn forward(
    axum::extract::State(p): axum::extract::State<Proxy>,
    req: axum::extract::Request,
) -> axum::response::Response {
    let pq = req
        .uri()
        .path_and_query()
        .map(|x| x.as_str().to_owned())
        .unwrap_or_default();
    let sent = match p.mode {
        Mode::NoWatch => req.uri().path().to_owned(),
        _ => pq.clone(),
    };
    let upstream = p
        .http
        .request(req.method().clone(), format!("{}{sent}", p.upstream))
        .header("accept", "application/json")
        .send()
        .await;
    let mut out = axum::response::Response::builder();
    let Ok(res) = upstream else {
        return out
            .status(502)
            .body(axum::body::Body::empty())
            .unwrap_or_default();
    };
    out = out.status(res.status().as_u16());
    for (k, v) in res.headers() {
        let name = k.as_str();
        let eureka = name.starts_with("x-eureka-");
        if (eureka && p.mode == Mode::NoWatch) || !(eureka || name == "content-type") {
            continue;
        }
        let mut value = v.clone();
        if name == "x-eureka-hash" && p.mode == Mode::LieOnce && pq.contains("watch=") {
            let mut lied = p.lied.lock().expect("lock");
            if !*lied {
                *lied = true;
                value = http::HeaderValue::from_static("DOWN_9_");
            }
        }
        out = out.header(name, value);
    }
    let body = res.bytes().await.unwrap_or_default();
    if let Ok(mut log) = p.log.lock() {
        log.push((pq, body.len()));
    }
    out.body(axum::body::Body::from(body)).unwrap_or_default()
}

/// Our server with `apps` apps of two instances each, and a proxy in front of it.
async fn start(apps: usize, mode: Mode) -> (EurekaService, Proxy, String) {
    let mut cfg = ServerConfig {
        prefix: "/eureka".into(),
        ..ServerConfig::default()
    };
    cfg.registry.publish_interval = Duration::from_millis(10);
    let svc = EurekaService::new(cfg);
    for a in 0..apps {
        for i in 0..2 {
            register(&svc, &format!("APP-{a}"), &format!("app-{a}-{i}"));
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve(
        listener,
        svc.clone(),
        std::future::pending(),
        Duration::ZERO,
    ));
    let proxy = Proxy {
        upstream: format!("http://{addr}"),
        http: reqwest::Client::new(),
        mode,
        lied: Arc::default(),
        log: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let front = listener.local_addr().expect("addr");
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(proxy.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (svc, proxy, format!("http://{front}/eureka"))
}

fn register(svc: &EurekaService, app: &str, id: &str) {
    let inst = InstanceInfo::builder(app)
        .instance_id(id)
        .host_name(id)
        .ip_addr("10.0.0.1")
        .build();
    assert!(svc.registry().register(inst, Origin::Client).is_ok());
}

type Make = fn(&InstanceInfo) -> String;

fn id_of(i: &InstanceInfo) -> String {
    i.id().to_owned()
}

/// The next change of `d` (as `+id` / `-id`), within 5 s.
async fn next_change(d: &mut EurekaDiscover<Make>) -> String {
    let next = std::future::poll_fn(|cx| Pin::new(&mut *d).poll_next(cx));
    match tokio::time::timeout(Duration::from_secs(5), next).await {
        Ok(Some(Ok(Change::Insert(_, id)))) => format!("+{id}"),
        Ok(Some(Ok(Change::Remove(id)))) => format!("-{id}"),
        other => panic!(
            "no change within 5 s: {:?}",
            other.map(|o| o.map(|r| r.is_ok()))
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue15_a_client_following_two_apps_gets_their_changes_and_nothing_else() {
    let (svc, proxy, url) = start(40, Mode::Pass).await;
    let client = EurekaClient::builder([url])
        .fetch_only()
        .fetch_interval(Duration::from_secs(60))
        .follow_apps(["app-1", "APP-2"])
        .start()
        .expect("client");
    let mut d = EurekaDiscover::new(client.snapshots(), Target::app("APP-1"), id_of as Make);
    let mut first = vec![next_change(&mut d).await, next_change(&mut d).await];
    first.sort();
    assert_eq!(first, ["+app-1-0", "+app-1-1"]);

    for round in 0..3 {
        // Other apps change (and one appears): nothing of that reaches the client.
        register(&svc, "APP-7", &format!("noise-{round}"));
        register(&svc, "APP-NEW", &format!("noise-new-{round}"));
        // Well inside the 60 s fetch interval: only a watch can bring these.
        let id = format!("app-1-new-{round}");
        register(&svc, "APP-1", &id);
        assert_eq!(next_change(&mut d).await, format!("+{id}"));
        assert!(svc.registry().cancel("APP-1", &id, Origin::Client));
        assert_eq!(next_change(&mut d).await, format!("-{id}"));
    }
    register(&svc, "APP-2", "app-2-late");
    let seen = tokio::time::timeout(Duration::from_secs(5), async {
        while !client
            .instances(&Target::app("APP-2"))
            .iter()
            .any(|i| i.id() == "app-2-late")
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    assert!(seen.await.is_ok(), "APP-2's change within 5 s");

    let snap = client.snapshot();
    let names: Vec<&str> = snap.app_names().collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let log = proxy.log();
    for (path, _) in &log {
        assert!(
            path.starts_with("/eureka/apps/APP-1") || path.starts_with("/eureka/apps/APP-2"),
            "fetched something else: {path}"
        );
    }
    let watches = log.iter().filter(|(p, _)| p.contains("watch=")).count();
    assert!(watches >= 7, "{log:?}");
    let m = client.metrics().snapshot();
    assert_eq!((m.full_fetches, m.reconcile_mismatches), (2, 0), "{m:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue15_a_client_following_an_app_that_does_not_exist_yet_sees_it_appear() {
    let (svc, proxy, url) = start(3, Mode::Pass).await;
    let client = EurekaClient::builder([url])
        .fetch_only()
        .fetch_interval(Duration::from_secs(60))
        .follow_apps(["LATER"])
        .start()
        .expect("client");
    let mut d = EurekaDiscover::new(client.snapshots(), Target::app("LATER"), id_of as Make);
    // The first answer (404) is a fetched, empty copy; then the client waits on it.
    let mut snaps = client.snapshots();
    let fetched = tokio::time::timeout(Duration::from_secs(5), snaps.wait_for(|s| s.is_fetched()));
    assert!(fetched.await.is_ok());
    tokio::time::sleep(Duration::from_millis(100)).await;
    register(&svc, "LATER", "later-1");
    assert_eq!(next_change(&mut d).await, "+later-1");
    assert!(
        proxy
            .log()
            .iter()
            .any(|(p, _)| p.contains("watch=0&hash=&")),
        "{:?}",
        proxy.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue15_against_a_server_without_the_watch_headers_the_client_polls() {
    let (svc, proxy, url) = start(3, Mode::NoWatch).await;
    let client = EurekaClient::builder([url])
        .fetch_only()
        .fetch_interval(Duration::from_millis(200))
        .follow_apps(["APP-1"])
        .start()
        .expect("client");
    let mut d = EurekaDiscover::new(client.snapshots(), Target::app("APP-1"), id_of as Make);
    let _ = (next_change(&mut d).await, next_change(&mut d).await);
    register(&svc, "APP-1", "polled");
    assert_eq!(next_change(&mut d).await, "+polled");
    let log = proxy.log();
    assert!(log.len() >= 2, "{log:?}");
    assert!(
        log.iter().all(|(p, _)| p == "/eureka/apps/APP-1"),
        "{log:?}"
    );
    let m = client.metrics().snapshot();
    assert_eq!(m.delta_fetches, 0, "never watched: {m:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue15_a_hash_mismatch_fetches_the_app_again() {
    let (_svc, proxy, url) = start(3, Mode::LieOnce).await;
    let client = EurekaClient::builder([url])
        .fetch_only()
        .fetch_interval(Duration::from_secs(60))
        .watch(Some(Duration::from_millis(300)))
        .follow_apps(["APP-1"])
        .start()
        .expect("client");
    let mismatched = tokio::time::timeout(Duration::from_secs(5), async {
        while client.metrics().snapshot().reconcile_mismatches == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    assert!(mismatched.await.is_ok(), "the lie was noticed");
    // The answer after the lie was a plain fetch of the app, then watching resumed.
    let resumed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let log = proxy.log();
            let lie = log.iter().position(|(p, _)| p.contains("watch="));
            if let Some(i) = lie {
                if log.len() > i + 2 {
                    return log;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("requests after the lie");
    let lie = resumed
        .iter()
        .position(|(p, _)| p.contains("watch="))
        .unwrap_or(0);
    assert_eq!(resumed[lie + 1].0, "/eureka/apps/APP-1", "{resumed:?}");
    assert!(resumed[lie + 2].0.contains("watch="), "{resumed:?}");
    assert_eq!(client.metrics().snapshot().reconcile_mismatches, 1);
    assert_eq!(client.instances(&Target::app("APP-1")).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue15_with_watching_off_a_client_following_an_app_polls_our_server() {
    let (svc, proxy, url) = start(3, Mode::Pass).await;
    let client = EurekaClient::builder([url])
        .fetch_only()
        .fetch_interval(Duration::from_millis(200))
        .watch(None)
        .follow_apps(["APP-1"])
        .start()
        .expect("client");
    let mut d = EurekaDiscover::new(client.snapshots(), Target::app("APP-1"), id_of as Make);
    let _ = (next_change(&mut d).await, next_change(&mut d).await);
    register(&svc, "APP-1", "polled");
    assert_eq!(next_change(&mut d).await, "+polled");
    let log = proxy.log();
    assert!(
        log.iter().all(|(p, _)| p == "/eureka/apps/APP-1"),
        "{log:?}"
    );
    // Polls at the interval, not at the watch spacing: a handful, not dozens.
    let polls = log.len();
    assert!((1..=15).contains(&polls), "{polls} polls: {log:?}");
}

fn register_vip(svc: &EurekaService, app: &str, id: &str, vip: &str) {
    let inst = InstanceInfo::builder(app)
        .instance_id(id)
        .host_name(id)
        .ip_addr("10.0.0.2")
        .vip_address(vip)
        .build();
    assert!(svc.registry().register(inst, Origin::Client).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue15_a_client_following_a_vip_and_an_app_gets_both_and_nothing_else() {
    let (svc, proxy, url) = start(10, Mode::Pass).await;
    register_vip(&svc, "APP-5", "shared-5", "shared");
    register_vip(&svc, "APP-6", "shared-6", "shared");
    let client = EurekaClient::builder([url])
        .fetch_only()
        .fetch_interval(Duration::from_secs(60))
        .follow([
            Target::vip("shared"),
            Target::app("APP-1"),
            Target::vip("shared"),
        ])
        .start()
        .expect("client");
    let mut d = EurekaDiscover::new(client.snapshots(), Target::vip("shared"), id_of as Make);
    let mut first = vec![next_change(&mut d).await, next_change(&mut d).await];
    first.sort();
    assert_eq!(first, ["+shared-5", "+shared-6"]);
    // A new member of the VIP, in an app the client did not hold anything of.
    register(&svc, "APP-7", "noise");
    register_vip(&svc, "APP-7", "shared-7", "shared");
    assert_eq!(next_change(&mut d).await, "+shared-7");
    // A member leaving the VIP (re-registered under another): removed.
    register_vip(&svc, "APP-5", "shared-5", "elsewhere");
    assert_eq!(next_change(&mut d).await, "-shared-5");

    let seen = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let snap = client.snapshot();
            let mut names: Vec<&str> = snap.app_names().collect();
            names.sort_unstable();
            if names == ["APP-1", "APP-6", "APP-7"] {
                // Of APP-6 and APP-7 only the VIP's instances, of APP-1 all.
                let held = |a: &str| snap.instances(&Target::app(a)).len();
                return (held("APP-1"), held("APP-6"), held("APP-7"));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    assert_eq!(seen.await.expect("the copy within 5 s"), (2, 1, 1));
    let log = proxy.log();
    for (path, _) in &log {
        assert!(
            path.starts_with("/eureka/vips/shared") || path.starts_with("/eureka/apps/APP-1"),
            "fetched something else: {path}"
        );
    }
    // Two targets (the repeated VIP is followed once): two plain fetches, no refetch.
    let m = client.metrics().snapshot();
    assert_eq!((m.full_fetches, m.reconcile_mismatches), (2, 0), "{m:?}");
}
