//! Criterion benches of the registry state machine (no HTTP): the cost of register, renew
//! and cancel at 1k and 100k instances (a heartbeat must not depend on the registry's size),
//! of publishing a snapshot after one change at 10k instances, and of publishing after a
//! mass change (every instance re-registered) at 10k and 100k, and after 1k new ids on top
//! (instances arriving, nothing replaced): how long the publication
//! takes and the longest heartbeat that waited for it (issue 8's publication pause).
//!
//! ```text
//! cargo bench --bench registry -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Baselines in the same run: a `HashMap<String, u64>` lookup-and-store (the least a renew
//! can do) and a snapshot load with nothing changed (one `arc-swap` load).

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use std::collections::HashMap;
use std::time::Duration;
use tower_eureka::model::InstanceInfo;
use tower_eureka::registry::{Origin, Registry, RegistryConfig, Renew};

fn instance(n: u64) -> InstanceInfo {
    InstanceInfo::builder(format!("APP-{}", n % 100))
        .instance_id(format!("inst-{n}"))
        .host_name(format!("host-{n}.internal"))
        .ip_addr(format!(
            "10.{}.{}.{}",
            (n >> 16) & 255,
            (n >> 8) & 255,
            n & 255
        ))
        .port(8080)
        .metadata("zone", "zone-a")
        .metadata("management.port", "8081")
        .last_dirty_timestamp(1_700_000_000_000)
        .build()
}

fn registry(n: u64, publish_interval: Duration) -> (Registry, Vec<(String, String)>) {
    let reg = Registry::new(RegistryConfig {
        publish_interval,
        ..RegistryConfig::default()
    });
    let mut keys = Vec::with_capacity(n as usize);
    for i in 0..n {
        let inst = instance(i);
        keys.push((inst.app.clone(), inst.id().to_owned()));
        reg.register(inst, Origin::Client).unwrap();
    }
    (reg, keys)
}

fn ops(c: &mut Criterion) {
    let mut g = c.benchmark_group("registry");
    for n in [1_000u64, 100_000] {
        let (reg, keys) = registry(n, Duration::from_millis(25));
        let mut k = 0usize;
        g.bench_with_input(BenchmarkId::new("renew", n), &n, |b, _| {
            b.iter(|| {
                let (app, id) = &keys[k % keys.len()];
                k += 1;
                black_box(reg.renew(
                    app,
                    id,
                    Renew::new().last_dirty_timestamp(Some(1_700_000_000_000)),
                    Origin::Client,
                ))
            })
        });
        let mut k = 0u64;
        g.bench_with_input(BenchmarkId::new("re-register", n), &n, |b, _| {
            b.iter_batched(
                || {
                    k += 1;
                    instance(k % n)
                },
                |inst| reg.register(inst, Origin::Client),
                criterion::BatchSize::SmallInput,
            )
        });
        let mut k = 0u64;
        g.bench_with_input(BenchmarkId::new("cancel+register", n), &n, |b, _| {
            b.iter_batched(
                || {
                    k += 1;
                    instance(k % n)
                },
                |inst| {
                    let app = inst.app.clone();
                    let id = inst.id().to_owned();
                    black_box(reg.cancel(&app, &id, Origin::Client));
                    reg.register(inst, Origin::Client).unwrap();
                },
                criterion::BatchSize::SmallInput,
            )
        });
        // New ids on top (the load driver's "registrations/s (new ids)"): the registry
        // grows while measured, as it does during a registration storm of fresh instances.
        let mut k = 1_000_000_000u64;
        g.bench_with_input(BenchmarkId::new("register-new-id", n), &n, |b, _| {
            b.iter_batched(
                || {
                    k += 1;
                    instance(k)
                },
                |inst| reg.register(inst, Origin::Client),
                criterion::BatchSize::SmallInput,
            )
        });
        // Baseline: the least a renew can do.
        let mut map: HashMap<String, u64> = keys.iter().map(|(_, id)| (id.clone(), 0)).collect();
        let mut k = 0usize;
        g.bench_with_input(BenchmarkId::new("baseline-hashmap-renew", n), &n, |b, _| {
            b.iter(|| {
                let (_, id) = &keys[k % keys.len()];
                k += 1;
                if let Some(v) = map.get_mut(id.as_str()) {
                    *v += 1;
                }
            })
        });
    }

    // Publishing after one change at 10k instances, vs loading an unchanged snapshot.
    let (reg, _) = registry(10_000, Duration::ZERO);
    let _ = reg.snapshot();
    let mut k = 0u64;
    g.bench_function("snapshot-after-one-change/10000", |b| {
        b.iter_batched(
            || {
                k += 1;
                let mut inst = instance(k % 10_000);
                inst.last_dirty_timestamp += k;
                inst
            },
            |inst| {
                reg.register(inst, Origin::Client).unwrap();
                black_box(reg.snapshot().revision())
            },
            criterion::BatchSize::SmallInput,
        )
    });
    g.bench_function("baseline-snapshot-unchanged/10000", |b| {
        b.iter(|| black_box(reg.snapshot().revision()))
    });
    g.finish();
}

/// The cost of HTTP Basic authentication on the hot path: the check alone, and a heartbeat
/// through the tower service with and without users configured.
fn auth(c: &mut Criterion) {
    use http::HeaderValue;
    use tower::Service;
    use tower_eureka::server::{BasicAuth, EurekaService, ServerConfig};
    let mut g = c.benchmark_group("auth");
    let users = BasicAuth::new().user("eureka", "correct horse battery staple");
    let with = |v: &'static str| {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, HeaderValue::from_static(v));
        h
    };
    // base64 of "eureka:correct horse battery staple", of the same name with a wrong
    // password of the same length, and of an unknown name of the same length
    let ok = with("Basic ZXVyZWthOmNvcnJlY3QgaG9yc2UgYmF0dGVyeSBzdGFwbGU=");
    let wrong = with("Basic ZXVyZWthOmNvcnJlY3QgaG9yc2UgYmF0dGVyeSBzdGFwbDM=");
    let unknown = with("Basic ZXVyZWtiOmNvcnJlY3QgaG9yc2UgYmF0dGVyeSBzdGFwbGU=");
    g.bench_function("verify/ok", |b| {
        b.iter(|| black_box(users.verify(black_box(&ok))))
    });
    g.bench_function("verify/wrong-password", |b| {
        b.iter(|| black_box(users.verify(black_box(&wrong))))
    });
    g.bench_function("verify/unknown-user", |b| {
        b.iter(|| black_box(users.verify(black_box(&unknown))))
    });
    g.bench_function("verify/no-header", |b| {
        let none = http::HeaderMap::new();
        b.iter(|| black_box(users.verify(black_box(&none))))
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (name, auth) in [
        ("heartbeat/no-auth", BasicAuth::new()),
        ("heartbeat/basic-auth", users.clone()),
    ] {
        let mut svc = rt.block_on(async {
            EurekaService::new(ServerConfig {
                auth,
                ..ServerConfig::default()
            })
        });
        svc.registry()
            .register(instance(0), Origin::Client)
            .unwrap();
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut req = http::Request::put("/apps/APP-0/inst-0")
                    .body(http_body_util::Empty::<bytes::Bytes>::new())
                    .unwrap();
                req.headers_mut().insert(
                    http::header::AUTHORIZATION,
                    HeaderValue::from_static(
                        "Basic ZXVyZWthOmNvcnJlY3QgaG9yc2UgYmF0dGVyeSBzdGFwbGU=",
                    ),
                );
                let res = rt.block_on(svc.call(req)).unwrap();
                assert_eq!(res.status(), 200);
            })
        });
    }
    g.finish();
}

/// Publication after a mass change: every instance of a 10k / 100k registry (100 apps)
/// re-registered, so every app list and every app's delta list changes, then one
/// `snapshot()`. Three lines per size: the publication's wall time; the longest single
/// heartbeat (`renew` on another thread, nonstop) that ran while it was publishing, what a
/// publication makes heartbeats and registrations wait; and, as its baseline, the longest
/// heartbeat while the main thread spins off the registry for as long as the publication
/// took (the scheduler's share on a shared machine). Each reported time is the mean per
/// publication. A registry is filled only for the lines that run (criterion's filter).
fn publication(c: &mut Criterion) {
    let mut g = c.benchmark_group("publication");
    g.sample_size(10);
    for n in [10_000u64, 100_000] {
        let mut fixture: Option<MassChange> = None;
        g.bench_function(BenchmarkId::new("publish-after-mass-change", n), |b| {
            let f = fixture.get_or_insert_with(|| MassChange::new(n));
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    f.change();
                    let t = std::time::Instant::now();
                    black_box(f.reg.snapshot().revision());
                    total += t.elapsed();
                }
                total
            })
        });
        // Instances arriving: 1,000 new ids (10 per app) on top of the registry, then one
        // publication. Every app changes, but nothing in the delta window is replaced, so
        // this costs the new entries and the lists they are appended to, not a search of
        // the whole window (which holds every registration of the last 3 minutes).
        let mut fixture: Option<(Registry, u64)> = None;
        g.bench_function(BenchmarkId::new("publish-after-1k-new-ids", n), |b| {
            let (reg, next) = fixture.get_or_insert_with(|| {
                let (reg, _) = registry(n, Duration::ZERO);
                let _ = reg.snapshot();
                (reg, 1_000_000_000)
            });
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    for _ in 0..1_000 {
                        *next += 1;
                        reg.register(instance(*next), Origin::Client).unwrap();
                    }
                    let t = std::time::Instant::now();
                    black_box(reg.snapshot().revision());
                    total += t.elapsed();
                }
                total
            })
        });
        let mut fixture: Option<(MassChange, Heartbeats)> = None;
        g.bench_function(BenchmarkId::new("longest-heartbeat-during-it", n), |b| {
            let (f, hb) = fixture.get_or_insert_with(|| {
                let f = MassChange::new(n);
                let hb = Heartbeats::start(&f);
                (f, hb)
            });
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    f.change();
                    total += hb.longest_during(|| black_box(f.reg.snapshot().revision()));
                }
                total
            })
        });
        // Baseline: the longest heartbeat while the main thread spins, off the registry,
        // for as long as a publication took: what the shared machine's scheduler alone
        // does to a heartbeat over that time.
        g.bench_function(BenchmarkId::new("longest-heartbeat-baseline", n), |b| {
            let (f, hb) = fixture.get_or_insert_with(|| {
                let f = MassChange::new(n);
                let hb = Heartbeats::start(&f);
                (f, hb)
            });
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    f.change();
                    let t = std::time::Instant::now();
                    black_box(f.reg.snapshot().revision());
                    let took = t.elapsed();
                    total += hb.longest_during(|| {
                        let t = std::time::Instant::now();
                        while t.elapsed() < took {
                            std::hint::spin_loop();
                        }
                    });
                }
                total
            })
        });
    }
    g.finish();
}

/// A registry of `n` instances that [`change`](Self::change) re-registers whole.
struct MassChange {
    reg: Registry,
    keys: Vec<(String, String)>,
    n: u64,
    round: u64,
}

impl MassChange {
    fn new(n: u64) -> MassChange {
        let (reg, keys) = registry(n, Duration::ZERO);
        let _ = reg.snapshot();
        MassChange {
            reg,
            keys,
            n,
            round: 0,
        }
    }

    fn change(&mut self) {
        self.round += 1;
        for i in 0..self.n {
            let mut inst = instance(i);
            inst.last_dirty_timestamp += self.round;
            self.reg.register(inst, Origin::Client).unwrap();
        }
    }
}

/// A thread renewing one lease nonstop, timing each renew while asked to.
struct Heartbeats {
    active: std::sync::Arc<std::sync::atomic::AtomicBool>,
    longest: std::sync::Arc<std::sync::atomic::AtomicU64>,
    beats: std::sync::Arc<std::sync::atomic::AtomicU64>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Heartbeats {
    fn start(f: &MassChange) -> Heartbeats {
        use std::sync::atomic::Ordering;
        let mut hb = Heartbeats {
            active: Default::default(),
            longest: Default::default(),
            beats: Default::default(),
            stop: Default::default(),
            thread: None,
        };
        let (reg, active, stop) = (f.reg.clone(), hb.active.clone(), hb.stop.clone());
        let (longest, beats) = (hb.longest.clone(), hb.beats.clone());
        let (app, id) = f.keys[f.keys.len() / 2].clone();
        hb.thread = Some(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if !active.load(Ordering::Acquire) {
                    std::thread::yield_now();
                    continue;
                }
                let t = std::time::Instant::now();
                black_box(reg.renew(&app, &id, Renew::new(), Origin::Client));
                let ns = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
                longest.fetch_max(ns, Ordering::Relaxed);
                beats.fetch_add(1, Ordering::Relaxed);
            }
        }));
        hb
    }

    /// The longest single renew while `work` ran.
    fn longest_during<R>(&self, work: impl FnOnce() -> R) -> Duration {
        use std::sync::atomic::Ordering;
        self.active.store(true, Ordering::Release);
        // Wait until the heartbeat thread runs, then reset its record.
        let seen = self.beats.load(Ordering::Relaxed);
        while self.beats.load(Ordering::Relaxed) < seen + 100 {
            std::hint::spin_loop();
        }
        self.longest.store(0, Ordering::Relaxed);
        black_box(work());
        self.active.store(false, Ordering::Release);
        Duration::from_nanos(self.longest.load(Ordering::Relaxed))
    }
}

impl Drop for Heartbeats {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

criterion_group!(benches, ops, auth, publication);
criterion_main!(benches);
