//! Watch per target (issue 15): what one change costs the fleet of watching clients, the
//! whole-registry watch against the per-app watch, in bytes sent and in the server's time.
//!
//! ```text
//! cargo bench --bench watch_target      # ~1 min; WATCH_TARGET_CLIENTS (default 1000)
//! ```
//!
//! In process, through the tower `EurekaService` (no sockets: the bytes are the answers'
//! bodies, gzip, as every client asks). 10k instances in 100 apps of 100. Each of C
//! clients calls 3 apps (client `c`: apps `c`, `c+37`, `c+71` mod 100) and watches
//! either the whole registry (`/apps/delta?watch=`, one poll per client) or each of its
//! apps (`/apps/{APP}?watch=`, three polls per client). One instance of `APP-0` then
//! changes its status; the figure is the bytes answered to all watchers until each one
//! that must answer did, divided by C. Two registries: *quiet* (the delta holds that one
//! change) and *churn* (300 changes in the delta window before it, as a 3-minute window
//! holds at 1% of 10k a minute, so every delta answer carries them). The window is 2 s
//! here so that the 10k registrations leave it before measuring.
//!
//! Then the cost of the wake-and-re-sleep choice: every per-app watcher wakes on every
//! change and goes back to sleep when its app did not change. The time from a change of
//! `APP-0` to the answer of all its watchers is measured with only those watchers, and
//! with the other 3C - C·3/100 watchers idle on other apps too, as a ratio.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tower::ServiceExt;
use tower_eureka::model::{InstanceInfo, Status};
use tower_eureka::registry::Origin;
use tower_eureka::server::{EurekaService, ServerConfig};

const APPS: usize = 100;
const PER_APP: usize = 100;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn service() -> EurekaService {
    let mut cfg = ServerConfig {
        prefix: "/eureka".into(),
        ..ServerConfig::default()
    };
    cfg.registry.publish_interval = Duration::from_millis(10);
    // Short, so that the registrations below leave the window before measuring (a
    // window of minutes holds the changes of minutes: `churn` puts those back).
    cfg.registry.delta_retention = Duration::from_secs(2);
    let svc = EurekaService::new(cfg);
    for a in 0..APPS {
        for i in 0..PER_APP {
            let inst = InstanceInfo::builder(format!("APP-{a}"))
                .instance_id(format!("app-{a}-{i}"))
                .host_name(format!("app-{a}-{i}.internal"))
                .ip_addr(format!("10.0.{a}.{i}"))
                .vip_address(format!("app-{a}"))
                .build();
            let _ = svc.registry().register(inst, Origin::Client);
        }
    }
    svc
}

/// One GET: status, the three watch headers, the body length.
async fn get(svc: &EurekaService, path: &str) -> (u16, String, String, String, usize) {
    let req = http::Request::get(path)
        .header("accept", "application/json")
        .header("accept-encoding", "gzip")
        .body(Empty::<Bytes>::new())
        .unwrap_or_default();
    let res = svc
        .clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| match e {});
    let h = |n: &str| {
        res.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (epoch, version, hash) = (
        h("x-eureka-watch"),
        h("x-eureka-version"),
        h("x-eureka-hash"),
    );
    let status = res.status().as_u16();
    let len = res
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().len())
        .unwrap_or(0);
    (status, epoch, version, hash, len)
}

/// Delta version of the registry now.
fn delta_version(svc: &EurekaService) -> u64 {
    svc.registry().snapshot().delta_version()
}

fn apps_of(c: usize) -> [usize; 3] {
    [c % APPS, (c + 37) % APPS, (c + 71) % APPS]
}

struct Counters {
    bytes: AtomicU64,
    answers: AtomicU64,
    done: Notify,
}

/// Starts one watch (it answers once) and counts its answer's bytes.
fn spawn_watch(svc: &EurekaService, path: String, counters: &Arc<Counters>) {
    let (svc, counters) = (svc.clone(), counters.clone());
    tokio::spawn(async move {
        let (_, _, _, _, len) = get(&svc, &path).await;
        counters.bytes.fetch_add(len as u64, Ordering::Relaxed);
        counters.answers.fetch_add(1, Ordering::Relaxed);
        counters.done.notify_one();
    });
}

async fn wait_answers(counters: &Counters, n: u64) -> bool {
    let until = tokio::time::Instant::now() + Duration::from_secs(20);
    while counters.answers.load(Ordering::Relaxed) < n {
        if tokio::time::timeout_at(until, counters.done.notified())
            .await
            .is_err()
        {
            return false;
        }
    }
    true
}

fn flip(svc: &EurekaService, k: usize) {
    let status = if k % 2 == 0 {
        Status::OutOfService
    } else {
        Status::Up
    };
    let id = format!("app-0-{}", k % PER_APP);
    let _ = svc
        .registry()
        .set_status_override("APP-0", &id, status, None, Origin::Client);
}

/// Bytes per client for one change of APP-0: (whole-registry watch, per-app watch).
async fn bytes_per_change(clients: usize, churn: usize) -> (f64, f64) {
    let svc = service();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let _ = svc.registry().snapshot();
    for k in 0..churn {
        let a = 1 + k % (APPS - 1);
        let id = format!("app-{a}-{}", k / APPS);
        let _ = svc.registry().set_status_override(
            &format!("APP-{a}"),
            &id,
            Status::OutOfService,
            None,
            Origin::Client,
        );
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let epoch = svc.registry().epoch();
    // The whole-registry watchers.
    let whole = Arc::new(Counters {
        bytes: 0.into(),
        answers: 0.into(),
        done: Notify::new(),
    });
    let v = delta_version(&svc);
    for _ in 0..clients {
        let path = format!("/eureka/apps/delta?watch={v}&epoch={epoch}&waitMs=60000");
        spawn_watch(&svc, path, &whole);
    }
    // The per-app watchers, each holding what a plain GET of its app said.
    let per_app = Arc::new(Counters {
        bytes: 0.into(),
        answers: 0.into(),
        done: Notify::new(),
    });
    let mut held = Vec::with_capacity(APPS);
    for a in 0..APPS {
        let (_, _, version, hash, _) = get(&svc, &format!("/eureka/apps/APP-{a}")).await;
        held.push((version, hash));
    }
    let mut of_app0 = 0;
    for c in 0..clients {
        for a in apps_of(c) {
            of_app0 += u64::from(a == 0);
            let (version, hash) = &held[a];
            let path = format!(
                "/eureka/apps/APP-{a}?watch={version}&hash={hash}&epoch={epoch}&waitMs=60000"
            );
            spawn_watch(&svc, path, &per_app);
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        whole.answers.load(Ordering::Relaxed) + per_app.answers.load(Ordering::Relaxed),
        0
    );
    flip(&svc, 0);
    let ok = wait_answers(&whole, clients as u64).await && wait_answers(&per_app, of_app0).await;
    assert!(ok, "not every watcher answered");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        per_app.answers.load(Ordering::Relaxed),
        of_app0,
        "a watcher of another app answered"
    );
    let per = |c: &Counters| c.bytes.load(Ordering::Relaxed) as f64 / clients as f64;
    (per(&whole), per(&per_app))
}

/// Median time from a change of APP-0 to the answers of its `watchers`, with `idle`
/// watchers of other apps waiting beside them.
async fn change_to_answers(watchers: usize, idle: usize, samples: usize) -> Duration {
    let svc = service();
    let epoch = svc.registry().epoch();
    let idle_counters = Arc::new(Counters {
        bytes: 0.into(),
        answers: 0.into(),
        done: Notify::new(),
    });
    for k in 0..idle {
        let a = 1 + k % (APPS - 1);
        let (_, _, version, hash, _) = get(&svc, &format!("/eureka/apps/APP-{a}")).await;
        let path =
            format!("/eureka/apps/APP-{a}?watch={version}&hash={hash}&epoch={epoch}&waitMs=120000");
        spawn_watch(&svc, path, &idle_counters);
    }
    let mut times = Vec::with_capacity(samples);
    for k in 0..samples {
        let counters = Arc::new(Counters {
            bytes: 0.into(),
            answers: 0.into(),
            done: Notify::new(),
        });
        let (_, _, version, hash, _) = get(&svc, "/eureka/apps/APP-0").await;
        for _ in 0..watchers {
            let path = format!(
                "/eureka/apps/APP-0?watch={version}&hash={hash}&epoch={epoch}&waitMs=60000"
            );
            spawn_watch(&svc, path, &counters);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let start = Instant::now();
        flip(&svc, k + 1);
        assert!(wait_answers(&counters, watchers as u64).await, "sample {k}");
        times.push(start.elapsed());
    }
    assert_eq!(
        idle_counters.answers.load(Ordering::Relaxed),
        0,
        "an idle watcher answered"
    );
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let clients = env_or("WATCH_TARGET_CLIENTS", 1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    rt.block_on(async {
        println!("watch_target: {clients} clients, 3 apps each, 10k instances in 100 apps, gzip");
        for (name, churn) in [("quiet", 0), ("churn", 300)] {
            let (whole, per_app) = bytes_per_change(clients, churn).await;
            println!(
                "  {name}: bytes per client per change: whole-registry watch {whole:.0}, per-app watch {per_app:.0} ({:.3}x)",
                per_app / whole
            );
        }
        let watchers = clients * 3 / APPS;
        let samples = 15;
        let alone = change_to_answers(watchers, 0, samples).await;
        let crowded = change_to_answers(watchers, clients * 3 - watchers, samples).await;
        println!(
            "  change -> {watchers} APP-0 watchers answered (median of {samples}): alone {alone:?}, with {} idle watchers of other apps {crowded:?} ({:.2}x)",
            clients * 3 - watchers,
            crowded.as_secs_f64() / alone.as_secs_f64()
        );
    });
}
