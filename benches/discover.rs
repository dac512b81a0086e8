//! Per-call overhead of Discover + p2c Balance (PeakEwma) over 10 endpoints, against
//! calling one endpoint directly; plus the whole `BalancedClient` stack for reference.
//!
//! Run: `cargo bench --bench discover`. Every endpoint is a `tower::service_fn` that
//! answers at once, so the difference between the lines is the balancing machinery.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{criterion_group, criterion_main, Criterion};
use std::convert::Infallible;
use std::future::{ready, Ready};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tower::balance::p2c::Balance;
use tower::discover::ServiceList;
use tower::load::{CompleteOnResponse, PeakEwmaDiscover};
use tower::{service_fn, Service, ServiceExt};
use tower_eureka::client::{ClientSnapshot, Target};
use tower_eureka::discover::{BalancedClient, EurekaDiscover, DEFAULT_DECAY, DEFAULT_RTT};
use tower_eureka::model::{Applications, InstanceInfo};

type Req = http::Request<()>;
type Rsp = http::Response<()>;

fn answer(_req: Req) -> Ready<Result<Rsp, Infallible>> {
    ready(Ok(http::Response::new(())))
}

fn ten_instances() -> Arc<ClientSnapshot> {
    let instances = (0..10).map(|n| {
        InstanceInfo::builder("bench")
            .instance_id(format!("i{n}"))
            .ip_addr(format!("10.0.0.{n}"))
            .port(8080)
            .build()
    });
    Arc::new(ClientSnapshot::from_applications(
        &Applications::from_instances(instances),
        1,
    ))
}

/// A request without URI parsing, so that building it costs next to nothing.
fn request() -> Req {
    http::Request::new(())
}

/// Times `iters` sequential ready+call rounds on `svc`.
async fn drive<S>(svc: &mut S, iters: u64) -> Duration
where
    S: Service<Req, Response = Rsp>,
    S::Error: std::fmt::Debug,
{
    let start = Instant::now();
    for _ in 0..iters {
        let svc = match svc.ready().await {
            Ok(svc) => svc,
            Err(e) => panic!("not ready: {e:?}"),
        };
        if let Err(e) = svc.call(request()).await {
            panic!("call failed: {e:?}");
        }
    }
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    let mut group = c.benchmark_group("discover");

    group.bench_function("direct_endpoint", |b| {
        let mut svc = service_fn(answer);
        b.iter_custom(|iters| rt.block_on(drive(&mut svc, iters)));
    });

    group.bench_function("discover_p2c_peak_ewma_10", |b| {
        let (_tx, rx) = watch::channel(ten_instances());
        let discover = EurekaDiscover::new(rx, Target::app("bench"), |_: &InstanceInfo| {
            service_fn(answer)
        });
        let discover = PeakEwmaDiscover::new::<Req>(
            discover,
            DEFAULT_RTT,
            DEFAULT_DECAY,
            CompleteOnResponse::default(),
        );
        let mut balance: Balance<_, Req> = Balance::new(discover);
        b.iter_custom(|iters| rt.block_on(drive(&mut balance, iters)));
    });

    // tower's static `ServiceList` instead of `EurekaDiscover`: the share of the Discover.
    group.bench_function("static_list_p2c_peak_ewma_10", |b| {
        let endpoints: Vec<_> = (0..10).map(|_| service_fn(answer)).collect();
        let discover = PeakEwmaDiscover::new::<Req>(
            ServiceList::new::<Req>(endpoints),
            DEFAULT_RTT,
            DEFAULT_DECAY,
            CompleteOnResponse::default(),
        );
        let mut balance: Balance<_, Req> = Balance::new(discover);
        b.iter_custom(|iters| rt.block_on(drive(&mut balance, iters)));
    });

    group.bench_function("balanced_client_stack_10", |b| {
        let (_tx, rx) = watch::channel(ten_instances());
        let mut client = rt.block_on(async {
            BalancedClient::builder().build(rx, Target::app("bench"), service_fn(answer))
        });
        b.iter_custom(|iters| rt.block_on(drive(&mut client, iters)));
    });

    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
