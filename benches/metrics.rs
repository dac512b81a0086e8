//! What `/metrics` and the request spans cost a heartbeat, in one run: heartbeats through
//! `EurekaService::call` at 10k instances with [`ServerConfig::metrics`] off and on, under
//! an `info` subscriber as the binary installs (request spans are `debug`: filtered out),
//! and with a `debug` subscriber (spans recorded, written to a sink). Beside them, a
//! filtered-out span alone, and one scrape at 10k instances.
//!
//! On a shared machine criterion's separate runs drift more than metrics cost, so the
//! bench first prints an interleaved A/B: 30 rounds, each timing 20k heartbeats with
//! metrics off then 20k with them on (order alternating), and the median per round.
//!
//! ```text
//! cargo bench --bench metrics -- --warm-up-time 1 --measurement-time 5
//! ```

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use http::Request;
use http_body_util::Empty;
use std::time::Duration;
use tower::Service;
use tower_eureka::model::InstanceInfo;
use tower_eureka::registry::Origin;
use tower_eureka::server::{EurekaService, ServerConfig};
use tracing_subscriber::fmt::format::FmtSpan;

const INSTANCES: usize = 10_000;

fn service(metrics: bool) -> (EurekaService, Vec<String>) {
    let svc = EurekaService::new(ServerConfig {
        prefix: "/eureka".into(),
        metrics,
        ..ServerConfig::default()
    });
    let mut paths = Vec::with_capacity(INSTANCES);
    for n in 0..INSTANCES {
        let inst = InstanceInfo::builder(format!("APP-{}", n % 100))
            .instance_id(format!("inst-{n}"))
            .host_name(format!("host-{n}.internal"))
            .port(8080)
            .build();
        paths.push(format!("/eureka/apps/{}/{}", inst.app, inst.id()));
        svc.registry()
            .register(inst, Origin::Client)
            .expect("register");
    }
    (svc, paths)
}

fn install_info_subscriber() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("info")
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(std::io::sink)
        .try_init();
}

fn heartbeats(c: &mut Criterion) {
    install_info_subscriber();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = rt.enter();
    let mut g = c.benchmark_group("heartbeat");
    g.throughput(criterion::Throughput::Elements(1));
    let mut variants = Vec::new();
    for (name, metrics) in [("metrics_off", false), ("metrics_on", true)] {
        variants.push((name, service(metrics)));
    }
    ab(&rt, &variants[0].1, &variants[1].1);
    for (name, (svc, paths)) in &variants {
        let mut svc = svc.clone();
        let mut k = 0usize;
        g.bench_function(*name, |b| {
            b.iter(|| {
                let path = &paths[k % paths.len()];
                k += 1;
                let req = Request::put(path.as_str())
                    .body(Empty::<bytes::Bytes>::new())
                    .expect("request");
                let res = rt.block_on(svc.call(req)).expect("infallible");
                assert_eq!(res.status(), 200);
                black_box(res)
            })
        });
    }
    // Spans on: a debug subscriber for this thread, writing each closed span to a sink.
    let debug = tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(std::io::sink)
        .finish();
    let (svc, paths) = &variants[1].1;
    let mut svc = svc.clone();
    let mut k = 0usize;
    tracing::subscriber::with_default(debug, || {
        g.bench_function("metrics_on_spans_recorded", |b| {
            b.iter(|| {
                let path = &paths[k % paths.len()];
                k += 1;
                let req = Request::put(path.as_str())
                    .body(Empty::<bytes::Bytes>::new())
                    .expect("request");
                black_box(rt.block_on(svc.call(req)).expect("infallible"))
            })
        });
    });
    g.finish();

    let mut g = c.benchmark_group("span");
    g.bench_function("filtered_out", |b| {
        b.iter(|| {
            let span = tracing::debug_span!(
                "request",
                route = black_box("heartbeat"),
                app = tracing::field::Empty,
                status = tracing::field::Empty,
            );
            if !span.is_disabled() {
                span.record("app", "APP");
            }
            let v = span.in_scope(|| black_box(200u16));
            span.record("status", v);
            v
        })
    });
    g.bench_function("none", |b| b.iter(|| black_box(200u16)));
    // What timing a request costs: the two clock reads around it.
    g.bench_function("clock_pair", |b| {
        b.iter(|| black_box(std::time::Instant::now()).elapsed())
    });
    g.finish();

    let mut g = c.benchmark_group("scrape");
    g.measurement_time(Duration::from_secs(3));
    let metrics = variants[1].1 .0.metrics();
    g.bench_function("render_10k_instances", |b| {
        b.iter(|| black_box(metrics.render()))
    });
    g.finish();
}

/// The interleaved A/B of the module docs, printed.
fn ab(
    rt: &tokio::runtime::Runtime,
    off: &(EurekaService, Vec<String>),
    on: &(EurekaService, Vec<String>),
) {
    const N: usize = 20_000;
    let run = |(svc, paths): &(EurekaService, Vec<String>), from: usize| {
        let mut svc = svc.clone();
        let start = std::time::Instant::now();
        for k in from..from + N {
            let req = Request::put(paths[k % paths.len()].as_str())
                .body(Empty::<bytes::Bytes>::new())
                .expect("request");
            let res = rt.block_on(svc.call(req)).expect("infallible");
            assert_eq!(res.status(), 200);
        }
        start.elapsed().as_nanos() as f64 / N as f64
    };
    let (mut t_off, mut t_on) = (Vec::new(), Vec::new());
    for round in 0..30 {
        if round % 2 == 0 {
            t_off.push(run(off, round * N));
            t_on.push(run(on, round * N));
        } else {
            t_on.push(run(on, round * N));
            t_off.push(run(off, round * N));
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (a, b) = (median(&mut t_off), median(&mut t_on));
    println!(
        "heartbeat A/B, interleaved, median of 30 rounds of {N}: metrics off {a:.0} ns \
         ({:.0}k/s), on {b:.0} ns ({:.0}k/s), on/off time {:.3}",
        1e6 / a,
        1e6 / b,
        b / a
    );
}

criterion_group!(benches, heartbeats);
criterion_main!(benches);
