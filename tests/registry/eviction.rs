//! Lease expiry and eviction.

use crate::support::*;
use std::time::Duration;
use tower_eureka::model::{ActionType, Status};
use tower_eureka::registry::{
    Origin, Registry, RegistryConfig, Renew, RenewOutcome, SelfPreservationMode,
};

// expiry after exactly 1 × duration, from registration or the last renewal.
#[tokio::test(start_paused = true)]
async fn r40_expiry_at_exactly_one_duration() {
    let reg = registry(); // improved mode, 1 lease: below the minimum, expiry enabled
    reg.register(inst("A", "never-renewed", 1), Origin::Client)
        .unwrap();
    reg.register(inst("A", "renewed", 1), Origin::Client)
        .unwrap();
    secs(30).await;
    assert_eq!(
        reg.renew("A", "renewed", Renew::new(), Origin::Client),
        RenewOutcome::Renewed
    );

    secs(60).await; // t = 90 s
    assert!(
        reg.instance("A", "never-renewed").is_some(),
        "not expired at exactly 90 s"
    );
    advance(Duration::from_millis(1)).await;
    assert!(
        reg.instance("A", "never-renewed").is_none(),
        "expired after 90 s"
    );
    assert!(reg.instance("A", "renewed").is_some());
    assert_eq!(reg.evict(), 1);

    advance(Duration::from_millis(29_999)).await; // t = 120 s = renew + 90 s
    assert!(reg.instance("A", "renewed").is_some());
    advance(Duration::from_millis(1)).await;
    assert!(reg.instance("A", "renewed").is_none());
    // On-time passes (no lateness compensation) evict it once the 60 s window allows.
    let mut evicted = 0;
    for _ in 0..12 {
        secs(5).await;
        evicted += reg.evict();
    }
    assert_eq!(evicted, 1);
    assert!(reg.is_empty());
}

// R-40 legacy switch: 2 × duration once renewed; 1 × duration if never renewed.
#[tokio::test(start_paused = true)]
async fn r40_legacy_lease_expiry_doubles_after_renewal() {
    let reg = Registry::new(RegistryConfig {
        legacy_lease_expiry: true,
        ..config()
    });
    reg.register(inst("A", "never-renewed", 1), Origin::Client)
        .unwrap();
    reg.register(inst("A", "renewed", 1), Origin::Client)
        .unwrap();
    secs(30).await;
    assert_eq!(
        reg.renew("A", "renewed", Renew::new(), Origin::Client),
        RenewOutcome::Renewed
    );

    secs(60).await; // t = 90 s
    assert!(reg.instance("A", "never-renewed").is_some());
    advance(Duration::from_millis(1)).await;
    assert!(reg.instance("A", "never-renewed").is_none());

    advance(Duration::from_millis(119_999)).await; // t = 210 s = renew + 180 s
    assert!(
        reg.instance("A", "renewed").is_some(),
        "Java keeps it for 2 × 90 s"
    );
    advance(Duration::from_millis(1)).await;
    assert!(reg.instance("A", "renewed").is_none());
}

// the per-window limit table (size 1-6 → 1, 7-13 → 2, 20 → 3, 100 → 15).
#[tokio::test(start_paused = true)]
async fn r42_limit_table() {
    for (size, limit) in [
        (1, 1),
        (3, 1),
        (6, 1),
        (7, 2),
        (10, 2),
        (13, 2),
        (14, 3),
        (20, 3),
        (100, 15),
    ] {
        let reg = registry_no_sp();
        register_n(&reg, "A", size);
        secs(91).await;
        assert_eq!(reg.evict(), limit, "size {size}");
        assert_eq!(reg.len(), size - limit);
    }
}

// the limit applies per 60 s window; the next window evicts more.
#[tokio::test(start_paused = true)]
async fn r42_limit_per_window() {
    let reg = registry_no_sp();
    register_n(&reg, "A", 20);
    secs(91).await;
    assert_eq!(reg.evict(), 3);
    secs(5).await;
    assert_eq!(reg.evict(), 0, "same window");
    secs(55).await;
    // Size 17 now: 17 − floor(14.45) = 3.
    assert_eq!(reg.evict(), 3);
    assert_eq!(reg.stats().evictions, 6);
    assert_eq!(reg.stats().expired_pending, 14);
}

// eviction picks across all apps.
#[tokio::test(start_paused = true)]
async fn r42_random_choice_across_apps() {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..40 {
        let reg = registry_no_sp();
        register_n(&reg, "A", 5);
        register_n(&reg, "B", 5);
        secs(91).await;
        assert_eq!(reg.evict(), 2);
        let snap = reg.snapshot();
        for app in ["A", "B"] {
            if snap.app(app).map_or(0, |l| l.len()) < 5 {
                seen.insert(app);
            }
        }
    }
    assert_eq!(seen.len(), 2, "both apps lose instances over 40 runs");
}

// lateness compensation: a pass that runs late grants the lateness as grace.
#[tokio::test(start_paused = true)]
async fn r42_lateness_compensation() {
    let reg = registry_no_sp(); // eviction_interval 5 s
    assert_eq!(reg.evict(), 0);
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    // The next pass runs 95 s late (100 s instead of 5 s): the lease expired 10 s ago,
    // within the 95 s compensation, so it is kept.
    secs(100).await;
    assert_eq!(reg.evict(), 0);
    assert_eq!(reg.len(), 1);
    // An on-time pass evicts it.
    secs(5).await;
    assert_eq!(reg.evict(), 1);
    assert!(reg.is_empty());
}

// an eviction produces a DELETED delta record with evictionTimestamp.
#[tokio::test(start_paused = true)]
async fn r43_eviction_is_deleted_in_delta() {
    let reg = registry();
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    secs(100).await;
    assert_eq!(reg.evict(), 1);
    let d = delta_rec(&reg, "A", "a-1").expect("in delta");
    assert_eq!(d.action_type, Some(ActionType::Deleted));
    assert_eq!(d.lease_info.eviction_timestamp, T0 + 100_000);
    let snap = reg.snapshot();
    assert!(snap.app("A").is_none(), "W-13: empty apps disappear");
    assert_eq!(snap.hashcode(), "");
    assert_eq!(
        reg.renew("A", "a-1", Renew::new(), Origin::Client),
        RenewOutcome::NotFound
    );
}

// R-31 + R-43: eviction forgets the override too.
#[tokio::test(start_paused = true)]
async fn r31_eviction_forgets_override() {
    let reg = registry();
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    assert!(reg.set_status_override("A", "a-1", Status::OutOfService, None, Origin::Client));
    secs(100).await;
    assert_eq!(reg.evict(), 1);
    assert!(reg.overrides().is_empty());
}

// an expired, not yet evicted lease is hidden from single lookups and writes, but
// stays in full fetches, deltas and VIP queries.
#[tokio::test(start_paused = true)]
async fn r44_expired_hidden_until_evicted() {
    let reg = registry();
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    secs(91).await;
    assert!(reg.instance("A", "a-1").is_none());
    assert!(reg.instance_by_id("a-1").is_none());
    assert!(!reg.set_status_override("A", "a-1", Status::OutOfService, None, Origin::Client));
    assert!(!reg.delete_status_override("A", "a-1", None, None, Origin::Client));
    assert!(!reg.update_metadata("A", "a-1", vec![("k".into(), "v".into())]));
    let snap = reg.snapshot();
    assert_eq!(snap.app("A").map(|l| l.len()), Some(1));
    assert_eq!(snap.vip("a").len(), 1);
    assert_eq!(snap.delta_len(), 1);
    // A heartbeat revives it (Java renews whatever lease it finds).
    assert_eq!(
        reg.renew("A", "a-1", Renew::new(), Origin::Client),
        RenewOutcome::Renewed
    );
    assert!(reg.instance("A", "a-1").is_some());
    assert_eq!(reg.evict(), 0);
}

// while self-preservation disables expiry, expired leases are visible everywhere.
#[tokio::test(start_paused = true)]
async fn r44_visible_while_preserving() {
    // Legacy, Netflix-style empty start: threshold 0, expiry disabled.
    let reg = Registry::new(RegistryConfig {
        self_preservation: SelfPreservationMode::Legacy,
        legacy_initial_expected_clients: 0,
        ..config()
    });
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    secs(200).await;
    assert!(reg.self_preservation().active);
    assert!(reg.instance("A", "a-1").is_some());
    assert!(reg.set_status_override("A", "a-1", Status::OutOfService, None, Origin::Client));
    assert_eq!(reg.evict(), 0);
}

// The maintenance loop evicts on its own and stops when the registry is dropped.
#[tokio::test(start_paused = true)]
async fn run_loop_evicts_and_stops() {
    let reg = registry();
    let task = tokio::spawn(reg.clone().run());
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    tokio::time::sleep(Duration::from_secs(89)).await;
    assert_eq!(reg.len(), 1);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        reg.len(),
        0,
        "evicted by the loop within one tick of expiry"
    );
    drop(reg);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("loop ends once the registry is dropped")
        .expect("no panic");
}

// Eviction cost follows what expires, and a heartbeat costs the expiry index nothing: a
// renewal leaves the index alone and a drained entry of a renewed lease moves to its current
// expiry, so each lease holds exactly one entry however often it renews, and none of the
// renewed leases is ever evicted.
#[tokio::test(start_paused = true)]
async fn expiry_index_stays_bounded() {
    let reg = registry_no_sp();
    let ids = register_n(&reg, "A", 50);
    for _ in 0..40 {
        secs(30).await;
        for id in &ids {
            assert_eq!(
                reg.renew("A", id, Renew::new(), Origin::Client),
                RenewOutcome::Renewed
            );
        }
        assert_eq!(reg.evict(), 0);
    }
    let stats = reg.stats();
    assert_eq!(stats.expiry_index_len, 50, "one entry per lease");
    assert_eq!(stats.instances, 50);
    // Renewals stop: all 50 expire 90 s after their last renewal, not before (passes 10 s
    // apart: no lateness compensation).
    for _ in 0..9 {
        secs(10).await;
        assert_eq!(
            reg.evict(),
            0,
            "not expired within 90 s of the last renewal"
        );
    }
    secs(1).await;
    // All 50 found expired; R-42 lets 50 - floor(50 x 0.85) = 8 go in this window.
    assert_eq!(reg.evict(), 8);
    assert_eq!(reg.stats().expired_pending, 42);
}
