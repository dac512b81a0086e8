//! What the client pays to adopt a registry copy: applying a 10-change delta to a
//! 10k-instance copy (100 apps of 100) next to rebuilding the same 10k copy from a full
//! fetch, in the same run. Decoding is left out of both (the delta's document is tiny, the
//! full one is not): the lines compare the merge and the snapshot building only.
//!
//! ```text
//! cargo bench --bench client
//! ```
//!
//! Goal: the delta costs at most 5 % of the full rebuild, because unchanged apps are
//! shared with the previous copy rather than copied (`ClientSnapshot::with_delta`). The
//! full rebuild copies the records out of the borrowed `Applications`; the fetcher builds
//! from the decoded document it owns and skips that copy.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use tower_eureka::client::{apply_delta, ClientSnapshot};
use tower_eureka::model::{ActionType, Applications, InstanceInfo, Status};

const APPS: u64 = 100;
const PER_APP: u64 = 100;

fn instance(app: u64, n: u64) -> InstanceInfo {
    let name = format!("app-{app}");
    InstanceInfo::builder(&name)
        .instance_id(format!("inst-{app}-{n}"))
        .host_name(format!("host-{app}-{n}.internal"))
        .ip_addr(format!("10.0.{app}.{n}"))
        .port(8080)
        .vip_address(&name)
        .secure_vip_address(format!("{name}-secure"))
        .metadata("zone", "zone-a")
        .metadata("management.port", "8081")
        .last_dirty_timestamp(1_700_000_000_000)
        .build()
}

/// The full fetch: 100 apps of 100 instances.
fn full_fetch() -> Applications {
    Applications::from_instances(
        (0..APPS).flat_map(|app| (0..PER_APP).map(move |n| instance(app, n))),
    )
}

/// Ten changes over ten apps, as a server would send them: six status changes, two new
/// instances, two cancels; with the hash of the registry after them.
fn delta(full: &Applications) -> Applications {
    let mut entries = Vec::new();
    for app in 0..6 {
        let mut i = instance(app * 10, 7);
        i.status = Status::Down;
        i.action_type = Some(ActionType::Modified);
        entries.push(i);
    }
    for app in [61, 71] {
        let mut i = instance(app, PER_APP);
        i.action_type = Some(ActionType::Added);
        entries.push(i);
    }
    for app in [81, 91] {
        let mut i = instance(app, 3);
        i.action_type = Some(ActionType::Deleted);
        entries.push(i);
    }
    let mut d = Applications::from_instances(entries);
    d.versions_delta = 2;
    d.apps_hashcode = Some(apply_delta(full, &d).compute_hashcode());
    d
}

fn bench(c: &mut Criterion) {
    let full = full_fetch();
    let delta = delta(&full);
    let copy = ClientSnapshot::from_applications(&full, 1);
    assert_eq!(copy.len(), 10_000);

    let mut g = c.benchmark_group("client");
    g.bench_function("full_rebuild/10000", |b| {
        b.iter(|| black_box(ClientSnapshot::from_applications(black_box(&full), 1)))
    });
    // What the fetcher runs on a delta: merge into the last snapshot, check the hash.
    g.bench_function("delta_10_changes/10000", |b| {
        b.iter(|| {
            let next = black_box(&copy).with_delta(black_box(&delta), 2);
            assert_eq!(Some(next.hashcode()), delta.apps_hashcode.as_deref());
            black_box(next)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
