//! Compact fetches (`X-Eureka-Accept: compact`, E-30, W-90, W-91) against the crate's own
//! server: fewer bytes for the same registry, the copy still reconciles (C-22) and feeds
//! a Discover with every endpoint.

use crate::inproc::{LiveIds, Registry, Seen};
use crate::support::wait_until;
use std::time::Duration;
use tower_eureka::client::{EurekaClient, Target};
use tower_eureka::codec::{self, Format};
use tower_eureka::model::{InstanceInfo, Status};

const N: u16 = 40;

fn instance(k: u16, status: Status) -> InstanceInfo {
    let host = format!("orders-{k}.internal");
    InstanceInfo::builder("orders")
        .host_name(host.clone())
        .ip_addr(format!("10.0.{}.{}", k / 200, k % 200 + 1))
        .port(8080)
        .status(status)
        .vip_address("orders")
        .secure_vip_address("orders")
        .home_page_url(format!("http://{host}:8080/"))
        .status_page_url(format!("http://{host}:8080/actuator/info"))
        .health_check_url(format!("http://{host}:8080/actuator/health"))
        .metadata("zone", "zone-a")
        .metadata("management.port", "8081")
        .metadata("version", "1.4.2")
        .build()
}

async fn register(http: &reqwest::Client, url: &str, i: &InstanceInfo) {
    let mut body = Vec::new();
    codec::encode_instance(i, Format::Json, &mut body);
    let r = http
        .post(format!("{url}/apps/ORDERS"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("register");
    assert_eq!(r.status().as_u16(), 204);
}

fn fetch_only(reg: &Registry, compact: bool, gzip: bool) -> EurekaClient {
    EurekaClient::builder([reg.url.clone()])
        .fetch_only()
        .compact(compact)
        .gzip(gzip)
        .start()
        .unwrap()
}

fn full_fetch_bytes(fetches: &[Seen], compact: bool) -> usize {
    fetches
        .iter()
        .find(|f| f.path.ends_with("/apps/") && f.accept.is_some() == compact)
        .map(|f| f.body_bytes)
        .expect("a full fetch")
}

// E-30, W-91, C-22: the same registry fetched compact and full, gzip off and on; the
// compact copies reconcile deltas without falling back to full fetches and feed Discover.
#[tokio::test(start_paused = true)]
async fn e30_compact_fetches_are_smaller_and_still_reconcile() {
    let reg = Registry::start().await;
    let http = reqwest::Client::new();
    for k in 0..N {
        register(&http, &reg.url, &instance(k, Status::Up)).await;
    }
    // Published within the registry's 10 ms interval.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut figures = Vec::new();
    for gzip in [false, true] {
        let since = tokio::time::Instant::now();
        let compact = fetch_only(&reg, true, gzip);
        let full = fetch_only(&reg, false, gzip);
        let target = Target::app("orders");
        let live = LiveIds::follow(compact.snapshots(), target.clone());
        wait_until(Duration::from_secs(30), || {
            live.ids().len() == usize::from(N) && full.up_instances(&target).len() == usize::from(N)
        })
        .await;
        // What the compact copy lacks (W-91): metadata; the full one has it.
        assert!(compact
            .instances(&target)
            .iter()
            .all(|i| i.metadata.is_empty()));
        assert!(full
            .instances(&target)
            .iter()
            .all(|i| i.metadata.get("zone") == Some("zone-a")));

        // A change arrives as a compact delta and reconciles: no second full fetch.
        let down = instance(N / 2, Status::Down);
        register(&http, &reg.url, &down).await;
        wait_until(Duration::from_secs(30), || {
            !live.contains(down.id()) && live.ids().len() == usize::from(N) - 1
        })
        .await;
        let m = compact.metrics().snapshot();
        assert_eq!((m.full_fetches, m.reconcile_mismatches), (1, 0), "{m:?}");
        assert!(m.delta_fetches >= 1);
        register(&http, &reg.url, &instance(N / 2, Status::Up)).await;
        wait_until(Duration::from_secs(30), || live.contains(down.id())).await;

        let fetches: Vec<_> = reg
            .fetches()
            .into_iter()
            .filter(|f| f.at >= since)
            .collect();
        let compact_fetches: Vec<_> = fetches.iter().filter(|f| f.accept.is_some()).collect();
        assert!(compact_fetches
            .iter()
            .all(|f| f.accept.as_deref() == Some("compact")));
        assert!(compact_fetches
            .iter()
            .any(|f| f.path.ends_with("/apps/delta")));
        let (c, f) = (
            full_fetch_bytes(&fetches, true),
            full_fetch_bytes(&fetches, false),
        );
        assert!(c < f, "compact {c} bytes, full {f} bytes (gzip {gzip})");
        figures.push(format!(
            "gzip {gzip}: compact {c} B, full {f} B, ratio {:.2}",
            c as f64 / f as f64
        ));
        compact.shutdown().await.unwrap();
        full.shutdown().await.unwrap();
    }
    eprintln!("GET /apps/ of {N} instances: {}", figures.join("; "));
}
