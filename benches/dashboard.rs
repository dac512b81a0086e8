//! Criterion benches of the dashboard at 10k instances in 100 apps, through the tower
//! Service (no sockets): the default page (50 apps, up to 100 instances listed each), one
//! app with all its instances listed, the JSON twin, and `/health`. Beside them, a
//! heartbeat alone and a heartbeat while another thread loads the dashboard in a loop
//! (the dashboard must not slow the hot path).
//!
//! ```text
//! cargo bench --bench dashboard -- --warm-up-time 1 --measurement-time 3
//! ```

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use http_body_util::{BodyExt, Empty};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;
use tower_eureka::model::InstanceInfo;
use tower_eureka::registry::{Origin, Renew};
use tower_eureka::server::{EurekaService, ServerConfig};

const INSTANCES: u64 = 10_000;

fn instance(n: u64) -> InstanceInfo {
    InstanceInfo::builder(format!("APP-{:03}", n % 100))
        .instance_id(format!("inst-{n}"))
        .host_name(format!("host-{n}.internal"))
        .ip_addr(format!(
            "10.{}.{}.{}",
            (n >> 16) & 255,
            (n >> 8) & 255,
            n & 255
        ))
        .port(8080)
        .status_page_url(format!("http://host-{n}.internal:8080/actuator/info"))
        .health_check_url(format!("http://host-{n}.internal:8080/actuator/health"))
        .metadata("zone", ["zone-a", "zone-b", "zone-c"][(n % 3) as usize])
        .metadata("management.port", "8081")
        .last_dirty_timestamp(1_700_000_000_000)
        .build()
}

async fn get(svc: &EurekaService, uri: &str) -> usize {
    let req = http::Request::get(uri)
        .body(Empty::<Bytes>::new())
        .expect("request");
    let res = svc.clone().oneshot(req).await.expect("infallible");
    assert_eq!(res.status(), 200, "{uri}");
    res.into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .len()
}

fn dashboard(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let svc = rt.block_on(async {
        let svc = EurekaService::new(ServerConfig::default());
        for n in 0..INSTANCES {
            svc.registry()
                .register(instance(n), Origin::Client)
                .expect("valid instance");
        }
        svc
    });
    let mut g = c.benchmark_group("dashboard_10k");
    for (name, uri) in [
        ("page_default", "/"),
        (
            "page_one_app_all_instances",
            "/?app=APP-042&instances=10000",
        ),
        ("json_default", "/dashboard.json"),
        ("health", "/health"),
    ] {
        let bytes = rt.block_on(get(&svc, uri));
        eprintln!("{name}: {bytes} bytes");
        g.bench_function(name, |b| b.iter(|| rt.block_on(get(&svc, uri))));
    }

    // The hot path with and without a dashboard reader hammering the same registry.
    let registry = svc.registry().clone();
    let mut k = 0u64;
    g.bench_function("heartbeat_alone", |b| {
        b.iter(|| {
            k += 1;
            let n = k % INSTANCES;
            black_box(registry.renew(
                &format!("APP-{:03}", n % 100),
                &format!("inst-{n}"),
                Renew::new(),
                Origin::Client,
            ))
        })
    });
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (svc, stop) = (svc.clone(), stop.clone());
        let handle = rt.handle().clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                handle.block_on(get(&svc, "/"));
            }
        })
    };
    g.bench_function("heartbeat_while_dashboard_loads", |b| {
        b.iter(|| {
            k += 1;
            let n = k % INSTANCES;
            black_box(registry.renew(
                &format!("APP-{:03}", n % 100),
                &format!("inst-{n}"),
                Renew::new(),
                Origin::Client,
            ))
        })
    });
    stop.store(true, Ordering::Relaxed);
    let _ = reader.join();
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = dashboard
}
criterion_main!(benches);
