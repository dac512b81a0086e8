//! The delta window (R-80..R-84) and its hash.

use crate::support::*;
use tower_eureka::model::{apps_hashcode, ActionType, Status};
use tower_eureka::registry::{Origin, Renew, RenewOutcome};

// plain renewals do not enter the delta.
#[tokio::test(start_paused = true)]
async fn r80_renewals_not_in_delta() {
    let reg = registry();
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    let v = reg.snapshot().delta_version();
    secs(181).await;
    assert_eq!(
        reg.renew("A", "a-1", Renew::new(), Origin::Client),
        RenewOutcome::Renewed
    );
    let snap = reg.snapshot();
    assert_eq!(snap.delta_len(), 0);
    assert!(
        snap.delta_version() > v,
        "R-84: the content changed (entry expired)"
    );
}

// cancel then re-register shows ADDED with the new record.
#[tokio::test(start_paused = true)]
async fn r82_cancel_then_reregister_shows_added() {
    let reg = registry();
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    assert!(reg.cancel("A", "a-1", Origin::Client));
    let mut again = inst("A", "a-1", 2);
    again.ip_addr = "10.9.9.9".into();
    reg.register(again, Origin::Client).unwrap();
    let snap = reg.snapshot();
    assert_eq!(snap.delta_len(), 1, "one record per (app, id)");
    let d = delta_rec(&reg, "A", "a-1").expect("in delta");
    assert_eq!(d.action_type, Some(ActionType::Added));
    assert_eq!(d.ip_addr, "10.9.9.9");
    assert_eq!(d.lease_info.eviction_timestamp, 0);
}

// register then cancel shows DELETED with the last known fields.
#[tokio::test(start_paused = true)]
async fn r82_register_then_cancel_shows_deleted() {
    let reg = registry();
    reg.register(inst_status("A", "a-1", 1, Status::Starting), Origin::Client)
        .unwrap();
    secs(2).await;
    assert!(reg.cancel("A", "a-1", Origin::Client));
    let d = delta_rec(&reg, "A", "a-1").expect("in delta");
    assert_eq!(d.action_type, Some(ActionType::Deleted));
    assert_eq!(d.status, Status::Starting);
    assert_eq!(d.lease_info.eviction_timestamp, T0 + 2_000);
    assert_eq!(d.host_name, "a-1.internal");
    let snap = reg.snapshot();
    assert!(snap.is_empty());
    assert_eq!(snap.delta_len(), 1);
}

// a record changed twice shows once, latest state; app order by first entry.
#[tokio::test(start_paused = true)]
async fn r82_latest_state_once_and_order() {
    let reg = registry();
    reg.register(inst("ZED", "z-1", 1), Origin::Client).unwrap();
    secs(1).await;
    reg.register(inst("ALPHA", "a-1", 1), Origin::Client)
        .unwrap();
    secs(1).await;
    assert!(reg.set_status_override("ZED", "z-1", Status::OutOfService, None, Origin::Client));
    let snap = reg.snapshot();
    let order: Vec<&str> = snap.delta().map(|(n, _)| n).collect();
    assert_eq!(order, vec!["ZED", "ALPHA"]);
    assert_eq!(snap.delta_len(), 2);
    let z = delta_rec(&reg, "ZED", "z-1").expect("present");
    assert_eq!(z.status, Status::OutOfService);
    assert_eq!(z.action_type, Some(ActionType::Modified));
}

// entries stay for the retention window (180 s), then drop.
#[tokio::test(start_paused = true)]
async fn r81_retention_window() {
    let reg = registry();
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    secs(100).await;
    reg.register(inst("B", "b-1", 1), Origin::Client).unwrap();
    secs(80).await; // t = 180 s: the first entry is exactly 180 s old
    assert_eq!(reg.snapshot().delta_len(), 2);
    secs(1).await;
    let snap = reg.snapshot();
    assert_eq!(snap.delta_len(), 1);
    assert!(delta_rec(&reg, "A", "a-1").is_none());
    assert!(delta_rec(&reg, "B", "b-1").is_some());
    secs(100).await;
    assert_eq!(reg.snapshot().delta_len(), 0);
    // The window does not touch the registry (no eviction pass ran).
    assert_eq!(reg.snapshot().len(), 2);
}

// delta_version is positive and increases whenever the delta changes.
#[tokio::test(start_paused = true)]
async fn r84_delta_version_increases() {
    let reg = registry();
    let v0 = reg.snapshot().delta_version();
    assert!(v0 > 0);
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    let v1 = reg.snapshot().delta_version();
    assert!(v1 > v0);
    assert!(reg.set_status_override("A", "a-1", Status::Down, None, Origin::Client));
    let v2 = reg.snapshot().delta_version();
    assert!(v2 > v1);
    assert_eq!(reg.snapshot().delta_version(), v2, "stable without changes");
}

// the delta's hash is the whole registry's hash from the same snapshot.
#[tokio::test(start_paused = true)]
async fn r83_delta_hash_is_full_hash_of_same_snapshot() {
    let reg = registry();
    let a = register_n(&reg, "A", 3);
    let b = register_n(&reg, "B", 2);
    // Keep the leases alive while the registrations leave the delta window.
    for _ in 0..4 {
        secs(50).await;
        for id in &a {
            assert_eq!(
                reg.renew("A", id, Renew::new(), Origin::Client),
                RenewOutcome::Renewed
            );
        }
        for id in &b {
            assert_eq!(
                reg.renew("B", id, Renew::new(), Origin::Client),
                RenewOutcome::Renewed
            );
        }
    }
    assert_eq!(reg.snapshot().delta_len(), 0);
    assert!(reg.set_status_override("A", "i-0", Status::OutOfService, None, Origin::Client));
    reg.register(inst_status("C", "c-1", 1, Status::Down), Origin::Client)
        .unwrap();
    let snap = reg.snapshot();
    let full = apps_hashcode(snap.apps().flat_map(|(_, l)| l.iter().map(|i| i.status)));
    assert_eq!(full, "DOWN_1_OUT_OF_SERVICE_1_UP_4_");
    assert_eq!(snap.hashcode(), full);
    let delta = snap.delta_to_applications();
    assert_eq!(delta.apps_hashcode.as_deref(), Some(full.as_str()));
    // The delta body has only the two changed records, not the whole registry.
    assert_eq!(delta.compute_hashcode(), "DOWN_1_OUT_OF_SERVICE_1_");
    assert_eq!(snap.to_applications().compute_hashcode(), full);
}
