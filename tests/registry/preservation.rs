//! Self-preservation: the legacy arithmetic (R-100..R-103) and the improved mode.

use crate::support::*;
use tower_eureka::registry::{
    Origin, Registry, RegistryConfig, Renew, RenewOutcome, SelfPreservationMode,
};

fn legacy(initial_expected: u32) -> Registry {
    Registry::new(RegistryConfig {
        self_preservation: SelfPreservationMode::Legacy,
        legacy_initial_expected_clients: initial_expected,
        ..config()
    })
}

/// Seconds since the test clock started.
fn now_s(reg: &Registry) -> u64 {
    (reg.clock().epoch_ms() - T0) / 1000
}

/// Renews each id in `ids`.
fn renew_all(reg: &Registry, ids: &[String]) {
    for id in ids {
        assert_eq!(
            reg.renew("A", id, Renew::new(), Origin::Client),
            RenewOutcome::Renewed
        );
    }
}

/// Drives the registry in 5 s steps until `until_s`: `live` heartbeat every 30 s, an
/// eviction pass every step. Returns the number of evictions.
async fn drive(reg: &Registry, live: &[String], until_s: u64) -> usize {
    let mut evicted = 0;
    while now_s(reg) < until_s {
        secs(5).await;
        if now_s(reg) % 30 == 0 {
            renew_all(reg, live);
        }
        evicted += reg.evict();
    }
    evicted
}

/// In minute bucket `[m, m+1)`: `renewing` instances heartbeat twice; then moves to the
/// start of the next bucket.
async fn legacy_minute(reg: &Registry, ids: &[String], renewing: usize) {
    secs(10).await;
    renew_all(reg, &ids[..renewing]);
    secs(30).await;
    renew_all(reg, &ids[..renewing]);
    secs(20).await;
}

// R-103 row "10 instances": expected 10, threshold 17; 9 live (18) keep expiry enabled,
// 8 live (16) disable it.
#[tokio::test(start_paused = true)]
async fn r103_ten_instances() {
    let reg = legacy(1);
    let ids = register_n(&reg, "A", 10);
    reg.open_for_traffic(10);
    let sp = reg.self_preservation();
    assert_eq!(sp.expected_clients, Some(10));
    assert_eq!(sp.threshold, 17.0);
    assert_eq!(sp.expected_renews_per_min, 20.0);
    legacy_minute(&reg, &ids, 9).await;
    let sp = reg.self_preservation();
    assert_eq!(sp.renews_last_min, 18);
    assert!(!sp.active, "{}", sp.reason);
    legacy_minute(&reg, &ids, 8).await;
    let sp = reg.self_preservation();
    assert_eq!(sp.renews_last_min, 16);
    assert!(sp.active, "{}", sp.reason);
}

// R-103 row "1 instance": threshold 1, needs ≥ 2 renewals in the previous minute.
#[tokio::test(start_paused = true)]
async fn r103_one_instance() {
    let reg = legacy(1);
    let ids = register_n(&reg, "A", 1);
    reg.open_for_traffic(1);
    assert_eq!(reg.self_preservation().threshold, 1.0);
    legacy_minute(&reg, &ids, 1).await;
    assert!(!reg.self_preservation().active);
    secs(10).await;
    renew_all(&reg, &ids);
    secs(50).await;
    let sp = reg.self_preservation();
    assert_eq!(sp.renews_last_min, 1);
    assert!(sp.active, "one heartbeat in a minute flickers expiry off");
}

// R-103 row "3 instances": threshold 5, all three must be alive.
#[tokio::test(start_paused = true)]
async fn r103_three_instances() {
    let reg = legacy(1);
    let ids = register_n(&reg, "A", 3);
    reg.open_for_traffic(3);
    assert_eq!(reg.self_preservation().threshold, 5.0);
    legacy_minute(&reg, &ids, 3).await;
    assert!(!reg.self_preservation().active);
    legacy_minute(&reg, &ids, 2).await;
    assert!(reg.self_preservation().active);
}

// R-103 row "100 instances": threshold 170, about 86 live instances needed.
#[tokio::test(start_paused = true)]
async fn r103_hundred_instances() {
    let reg = legacy(1);
    let ids = register_n(&reg, "A", 100);
    reg.open_for_traffic(100);
    assert_eq!(reg.self_preservation().threshold, 170.0);
    legacy_minute(&reg, &ids, 86).await;
    assert!(!reg.self_preservation().active);
    legacy_minute(&reg, &ids, 85).await;
    assert!(reg.self_preservation().active);
}

// R-103 row "Netflix server, empty start" / R-102: expected 0 → threshold 0 → expiry
// never enabled; registrations do not raise expected.
#[tokio::test(start_paused = true)]
async fn r103_netflix_empty_start_never_expires() {
    let reg = legacy(0);
    reg.open_for_traffic(0);
    let ids = register_n(&reg, "A", 5);
    let sp = reg.self_preservation();
    assert_eq!(sp.expected_clients, Some(0));
    assert_eq!(sp.threshold, 0.0);
    for _ in 0..3 {
        legacy_minute(&reg, &ids, 5).await;
        assert!(reg.self_preservation().active);
    }
}

// R-103 row "Spring server, empty start, then 5 registrations": 1 → 6, threshold 1 → 10.
// cancels decrement.
#[tokio::test(start_paused = true)]
async fn r103_spring_empty_start_then_registrations() {
    let reg = legacy(1);
    reg.open_for_traffic(0);
    let sp = reg.self_preservation();
    assert_eq!(sp.expected_clients, Some(1));
    assert_eq!(sp.threshold, 1.0);
    register_n(&reg, "A", 5);
    let sp = reg.self_preservation();
    assert_eq!(sp.expected_clients, Some(6));
    assert_eq!(sp.threshold, 10.0);
    // Re-registering an existing lease does not count again.
    reg.register(inst("A", "i-0", 9), Origin::Client).unwrap();
    assert_eq!(reg.self_preservation().expected_clients, Some(6));
    assert!(reg.cancel("A", "i-0", Origin::Client));
    assert_eq!(reg.self_preservation().expected_clients, Some(5));
}

// R-103 row "Self-preservation disabled": expiry always enabled.
#[tokio::test(start_paused = true)]
async fn r103_disabled_always_expires() {
    let reg = registry_no_sp();
    register_n(&reg, "A", 10);
    secs(200).await;
    let sp = reg.self_preservation();
    assert!(!sp.active);
    assert_eq!(reg.evict(), 2);
}

// R-101 last row: the 15-minute update takes the registry size when it exceeds 85 %.
#[tokio::test(start_paused = true)]
async fn r101_fifteen_minute_update() {
    let reg = legacy(1);
    let ids = register_n(&reg, "A", 10); // expected 1 + 10
    assert_eq!(reg.self_preservation().expected_clients, Some(11));
    drive(&reg, &ids, 15 * 60 - 5).await;
    assert_eq!(reg.self_preservation().expected_clients, Some(11));
    drive(&reg, &ids, 15 * 60 + 5).await;
    assert_eq!(reg.self_preservation().expected_clients, Some(10));
}

// in legacy mode a scale-down without cancels blocks eviction indefinitely.
#[tokio::test(start_paused = true)]
async fn r102_legacy_scale_down_sticks() {
    let reg = legacy(1);
    let ids = register_n(&reg, "A", 10);
    reg.open_for_traffic(10);
    assert_eq!(drive(&reg, &ids, 120).await, 0);
    let live = &ids[..5];
    assert_eq!(drive(&reg, live, 40 * 60).await, 0);
    assert_eq!(reg.len(), 10);
    let sp = reg.self_preservation();
    assert!(sp.active, "{}", sp.reason);
    assert_eq!(sp.expected_clients, Some(10), "the 15-min updates keep it");
}

// in the improved mode the same scale-down does not stick: expired leases are
// protected for 15 min, then evicted (within the per-window limit), and the state clears.
#[tokio::test(start_paused = true)]
async fn r104_improved_scale_down_does_not_stick() {
    let reg = registry();
    let ids = register_n(&reg, "A", 10);
    assert_eq!(drive(&reg, &ids, 120).await, 0);
    assert!(!reg.self_preservation().active);
    let live = &ids[..5];
    // The dead leases expire at 210 s; at 10 min they are protected.
    assert_eq!(drive(&reg, live, 10 * 60).await, 0);
    let sp = reg.self_preservation();
    assert!(sp.active, "{}", sp.reason);
    assert_eq!(sp.protected_count, 5);
    let protected: Vec<String> = reg
        .protected_leases()
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert_eq!(protected, ids[5..].to_vec());
    assert_eq!(sp.expected_renews_per_min, 20.0);
    assert!(reg.stats().self_preservation_active);
    // Expired for 15 min at 1110 s; evicted 2 + 2 + 1 over three windows.
    assert_eq!(drive(&reg, live, 25 * 60).await, 5);
    assert_eq!(reg.len(), 5);
    let sp = reg.self_preservation();
    assert!(!sp.active, "{}", sp.reason);
    assert!(reg.protected_leases().is_empty());
    assert_eq!(sp.expected_renews_per_min, 10.0);
    for id in live {
        assert!(reg.instance("A", id).is_some());
    }
}

// no engagement below the minimum registry size (default 5 leases).
#[tokio::test(start_paused = true)]
async fn r104_min_leases_floor() {
    let reg = registry();
    let ids = register_n(&reg, "A", 4);
    drive(&reg, &ids, 60).await;
    // All four die; with 4 < 5 leases expiry stays on: one eviction per 60 s window.
    assert_eq!(drive(&reg, &[], 6 * 60).await, 4);
    let sp = reg.self_preservation();
    assert!(!sp.active);
    assert!(sp.reason.contains("minimum"), "{}", sp.reason);

    // Five leases dying at once do engage it.
    let reg = registry();
    let ids = register_n(&reg, "A", 5);
    drive(&reg, &ids, 60).await;
    assert_eq!(drive(&reg, &[], 10 * 60).await, 0);
    assert!(reg.self_preservation().active);
}

// tolerance: 8 of 10 live (16 renewals vs 0.85 × 20 − 1 = 16) keeps expiry on,
// where Java's legacy gate (16 ≤ 17) would freeze evictions.
#[tokio::test(start_paused = true)]
async fn r104_tolerance_for_jitter() {
    let reg = registry();
    let ids = register_n(&reg, "A", 10);
    drive(&reg, &ids, 120).await;
    let live = &ids[..8];
    drive(&reg, live, 190).await;
    let sp = reg.self_preservation();
    assert_eq!(sp.renews_last_min, 16);
    assert_eq!(sp.threshold, 16.0);
    assert!(!sp.active, "{}", sp.reason);
    assert_eq!(drive(&reg, live, 10 * 60).await, 2);
    assert_eq!(reg.len(), 8);
    assert!(!reg.self_preservation().active);
}

// expected renewals follow each lease's own renewal interval.
#[tokio::test(start_paused = true)]
async fn r104_expected_from_lease_intervals() {
    let reg = registry();
    let mut fast = inst("A", "fast", 1);
    fast.lease_info.renewal_interval_in_secs = 10;
    reg.register(fast, Origin::Client).unwrap();
    reg.register(inst("A", "default", 1), Origin::Client)
        .unwrap();
    assert_eq!(reg.self_preservation().expected_renews_per_min, 8.0);
    assert!(reg.cancel("A", "fast", Origin::Client));
    assert_eq!(reg.self_preservation().expected_renews_per_min, 2.0);
}

// a register restarts the lease and counts as a renewal, so a freshly started
// registry whose clients have just (re-)registered is not in self-preservation.
#[tokio::test(start_paused = true)]
async fn r104_no_false_alarm_after_start() {
    let reg = registry();
    register_n(&reg, "A", 10);
    secs(20).await;
    let sp = reg.self_preservation();
    assert!(!sp.active, "{}", sp.reason);
    assert_eq!(sp.renews_last_min, 10);
}
