//! Per-target watch state (issue 15): each app's version (the content revision of its
//! last change) and counts in the snapshot, a VIP's over its instances, and the per-app
//! revision channels.

use crate::support::*;
use tower_eureka::model::{InstanceInfo, Status};
use tower_eureka::registry::{Origin, TargetState};

fn with_vip(app: &str, id: &str, vip: &str) -> InstanceInfo {
    let mut i = inst(app, id, 1);
    i.vip_address = Some(vip.to_owned());
    i
}

#[tokio::test(start_paused = true)]
async fn issue15_an_apps_version_moves_with_its_own_changes_only() {
    let reg = registry();
    assert_eq!(reg.snapshot().app_state("ORDERS"), TargetState::default());
    reg.register(inst("ORDERS", "o1", 1), Origin::Client)
        .expect("register");
    let s1 = reg.snapshot();
    let orders = s1.app_state("ORDERS");
    assert_eq!(orders.version, s1.content_revision());
    assert_eq!(orders.counts.hashcode(), "UP_1_");

    // Changes of another app leave it where it was.
    let mut billing = reg.app_changes("BILLING");
    let watched = reg.app_changes("ORDERS");
    for k in 0..5 {
        reg.register(inst("BILLING", &format!("b{k}"), 1), Origin::Client)
            .expect("register");
    }
    let s2 = reg.snapshot();
    assert!(s2.content_revision() > orders.version);
    assert_eq!(s2.app_state("ORDERS"), orders);
    assert!(!watched.has_changed().expect("open"), "woken by BILLING");
    assert!(billing.has_changed().expect("open"));
    assert_eq!(*billing.borrow_and_update(), s2.content_revision());

    // Its own change: a new version, new counts, its channel says so.
    assert!(reg.set_status_override("ORDERS", "o1", Status::OutOfService, None, Origin::Client));
    let s3 = reg.snapshot();
    let now = s3.app_state("ORDERS");
    assert_eq!(now.version, s3.content_revision());
    assert_eq!(now.counts.hashcode(), "OUT_OF_SERVICE_1_");
    assert!(watched.has_changed().expect("open"));
    assert_eq!(*watched.borrow(), now.version);
    // Gone: the default state again (the hash, not the version, tells a watcher).
    assert!(reg.cancel("ORDERS", "o1", Origin::Client));
    assert_eq!(reg.snapshot().app_state("ORDERS"), TargetState::default());
}

#[tokio::test(start_paused = true)]
async fn issue15_a_vips_state_spans_its_instances_across_apps() {
    let reg = registry();
    reg.register(with_vip("ORDERS", "o1", "shared,orders"), Origin::Client)
        .expect("register");
    reg.register(with_vip("CARTS", "c1", "shared"), Origin::Client)
        .expect("register");
    reg.register(with_vip("CARTS", "c2", "carts"), Origin::Client)
        .expect("register");
    let snap = reg.snapshot();
    let shared = snap.vip_state("shared");
    assert_eq!(shared.counts.hashcode(), "UP_2_");
    // The latest of its apps' versions: CARTS changed last (c2, outside the VIP).
    assert_eq!(shared.version, snap.app_state("CARTS").version);
    assert_eq!(
        snap.vip_state("orders").version,
        snap.app_state("ORDERS").version
    );
    assert_eq!(
        snap.vip_state("SHARED"),
        TargetState::default(),
        "E-21: exact"
    );
    assert_eq!(snap.svip_state("nothing"), TargetState::default());
}

#[tokio::test(start_paused = true)]
async fn issue15_a_held_app_channel_survives_the_pruning_of_unheld_ones() {
    let reg = registry();
    let kept = reg.app_changes("KEPT");
    // Many short-lived watchers of other apps: their channels are pruned as new ones are
    // made (at 64, 128, ... entries); the one still held must keep being served.
    for k in 0..1000 {
        drop(reg.app_changes(&format!("GONE-{k}")));
    }
    reg.register(inst("KEPT", "k1", 1), Origin::Client)
        .expect("register");
    assert!(kept
        .has_changed()
        .expect("the held channel is still served"));
}
