//! Snapshots: ordering, VIP queries, copy-on-write and publication (R-90, R-92, W-13, E-21).

use crate::support::*;
use std::time::Duration;
use tower_eureka::model::{InstanceInfo, Status};
use tower_eureka::registry::{Origin, Registry, RegistryConfig};

// W-13: apps sorted by name, instances by id; empty apps never appear.
#[tokio::test(start_paused = true)]
async fn w13_apps_sorted_and_never_empty() {
    let reg = registry();
    reg.register(inst("ZED", "z-2", 1), Origin::Client).unwrap();
    reg.register(inst("ZED", "z-1", 1), Origin::Client).unwrap();
    reg.register(inst("ALPHA", "a-1", 1), Origin::Client)
        .unwrap();
    reg.register(inst("MID", "m-1", 1), Origin::Client).unwrap();
    assert!(reg.cancel("MID", "m-1", Origin::Client));
    let snap = reg.snapshot();
    let names: Vec<&str> = snap.apps().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["ALPHA", "ZED"]);
    let zed: Vec<&str> = snap
        .app("ZED")
        .expect("zed")
        .iter()
        .map(|i| i.id())
        .collect();
    assert_eq!(zed, vec!["z-1", "z-2"]);
    assert!(snap.app("MID").is_none());
    assert!(snap.app("alpha").is_none(), "names are already upper-case");
    assert_eq!(snap.len(), 3);
    assert!(!snap.is_empty());
    assert_eq!(reg.stats().applications, 2);
}

// a register body with a lower-case app is filed upper-case.
#[tokio::test(start_paused = true)]
async fn r02_app_upper_cased() {
    let reg = registry();
    let mut i = inst("x", "x-1", 1);
    i.app = "mixedCase".into();
    reg.register(i, Origin::Client).unwrap();
    assert!(reg.instance("MIXEDCASE", "x-1").is_some());
}

fn with_vips(id: &str, vip: &str, svip: &str) -> InstanceInfo {
    let mut i = inst("A", id, 1);
    i.vip_address = Some(vip.into());
    i.secure_vip_address = Some(svip.into());
    i
}

// E-21: exact, case-sensitive element match on comma-separated VIPs.
#[tokio::test(start_paused = true)]
async fn e21_vip_exact_match() {
    let reg = registry();
    reg.register(
        with_vips("a-1", "orders,billing", "orders-secure"),
        Origin::Client,
    )
    .unwrap();
    reg.register(with_vips("a-2", "Orders, billing", "x"), Origin::Client)
        .unwrap();
    reg.register(with_vips("a-3", "orders,orders", ""), Origin::Client)
        .unwrap();
    let snap = reg.snapshot();
    let ids = |v: Vec<std::sync::Arc<InstanceInfo>>| {
        v.iter().map(|i| i.id().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(snap.vip("orders")),
        vec!["a-1", "a-3"],
        "once per instance"
    );
    assert_eq!(ids(snap.vip("billing")), vec!["a-1"]);
    assert_eq!(ids(snap.vip(" billing")), vec!["a-2"], "no trimming");
    assert_eq!(ids(snap.vip("Orders")), vec!["a-2"]);
    assert!(snap.vip("ORDERS").is_empty());
    assert_eq!(ids(snap.svip("orders-secure")), vec!["a-1"]);
    assert!(snap.svip("orders").is_empty());
}

// R-03 / publication is copy-on-write: an unchanged app shares its list.
#[tokio::test(start_paused = true)]
async fn r03_unchanged_apps_are_shared() {
    let reg = registry();
    register_n(&reg, "A", 3);
    register_n(&reg, "B", 3);
    let s1 = reg.snapshot();
    reg.register(inst("B", "b-new", 1), Origin::Client).unwrap();
    let s2 = reg.snapshot();
    assert!(s2.revision() > s1.revision());
    let (a1, a2) = (s1.app("A").expect("a"), s2.app("A").expect("a"));
    assert!(
        std::ptr::eq(a1.as_ptr(), a2.as_ptr()),
        "A untouched, shared"
    );
    let (b1, b2) = (s1.app("B").expect("b"), s2.app("B").expect("b"));
    assert!(!std::ptr::eq(b1.as_ptr(), b2.as_ptr()));
    assert_eq!(b2.len(), 4);
    // The old snapshot is immutable.
    assert_eq!(b1.len(), 3);
    assert_eq!(s1.hashcode(), "UP_6_");
    assert_eq!(s2.hashcode(), "UP_7_");
}

// changes are coalesced for at most `publish_interval`, measured to the next read.
#[tokio::test(start_paused = true)]
async fn r90_publication_is_coalesced() {
    let reg = Registry::new(RegistryConfig {
        publish_interval: Duration::from_millis(50),
        ..config()
    });
    // Idle for longer than the interval: the first change is published at once.
    advance(Duration::from_millis(100)).await;
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    assert_eq!(reg.snapshot().len(), 1);
    // A burst right after is held back...
    reg.register(inst("A", "a-2", 1), Origin::Client).unwrap();
    reg.register(inst("A", "a-3", 1), Origin::Client).unwrap();
    assert_eq!(reg.snapshot().len(), 1);
    advance(Duration::from_millis(49)).await;
    assert_eq!(reg.snapshot().len(), 1);
    // ...and published in one snapshot once the interval has passed.
    advance(Duration::from_millis(1)).await;
    let snap = reg.snapshot();
    assert_eq!(snap.len(), 3);
    assert_eq!(snap.hashcode(), "UP_3_");
    // Live lookups are never delayed.
    reg.register(inst("A", "a-4", 1), Origin::Client).unwrap();
    assert!(reg.instance("A", "a-4").is_some());
}

// a snapshot never changes after it is taken.
#[tokio::test(start_paused = true)]
async fn r92_snapshot_is_immutable() {
    let reg = registry();
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    let snap = reg.snapshot();
    assert!(reg.set_status_override("A", "a-1", Status::Down, None, Origin::Client));
    assert!(reg.cancel("A", "a-1", Origin::Client));
    assert_eq!(snap.hashcode(), "UP_1_");
    assert_eq!(snap.instance("A", "a-1").expect("kept").status, Status::Up);
    assert_eq!(snap.delta_len(), 1);
    assert_eq!(reg.snapshot().hashcode(), "");
}

// E-24 / E-25 support: stats and overrides.
#[tokio::test(start_paused = true)]
async fn e24_stats_counts() {
    let reg = registry();
    register_n(&reg, "A", 2);
    reg.register(inst_status("B", "b-1", 1, Status::Down), Origin::Client)
        .unwrap();
    assert!(reg.set_status_override("A", "i-1", Status::OutOfService, None, Origin::Client));
    let st = reg.stats();
    assert_eq!(st.applications, 2);
    assert_eq!(st.instances, 3);
    assert_eq!(st.status_counts.get(Status::Up), 1);
    assert_eq!(st.status_counts.get(Status::OutOfService), 1);
    assert_eq!(st.status_counts.get(Status::Down), 1);
    assert_eq!(st.overrides, 1);
    assert_eq!(st.registrations, 3);
    assert_eq!(st.delta_records, 3);
    assert_eq!(
        reg.overrides(),
        vec![("A".to_owned(), "i-1".to_owned(), Status::OutOfService)]
    );
}
