//! Status overrides and the rule chain through the registry (R-52, R-60..R-64).

use crate::support::*;
use tower_eureka::model::{ActionType, Status};
use tower_eureka::registry::{Origin, Registry, RegistryConfig, Renew, RenewOutcome};

fn status(reg: &Registry, id: &str) -> Status {
    reg.instance("A", id).expect("present").status
}

// R-61 worked examples, row by row, driven through register / renew / override calls.
#[tokio::test(start_paused = true)]
async fn r61_worked_examples_through_registry() {
    let reg = registry();

    // Row 1: first registration, STARTING.
    reg.register(inst_status("A", "r1", 1, Status::Starting), Origin::Client)
        .unwrap();
    assert_eq!(status(&reg, "r1"), Status::Starting);

    // Row 2: app becomes ready: UP over a stored STARTING (rule 5).
    reg.register(inst_status("A", "r1", 2, Status::Up), Origin::Client)
        .unwrap();
    assert_eq!(status(&reg, "r1"), Status::Up);

    // Row 3: operator takes it out; renews keep OUT_OF_SERVICE (rule 2).
    assert!(reg.set_status_override("A", "r1", Status::OutOfService, None, Origin::Client));
    assert_eq!(
        reg.renew("A", "r1", Renew::new(), Origin::Client),
        RenewOutcome::Renewed
    );
    assert_eq!(status(&reg, "r1"), Status::OutOfService);
    // A re-registration UP while overridden stays OUT_OF_SERVICE (rule 2).
    reg.register(inst_status("A", "r1", 3, Status::Up), Origin::Client)
        .unwrap();
    assert_eq!(status(&reg, "r1"), Status::OutOfService);

    // Row 4: app reports DOWN while overridden (rule 1 beats the override).
    reg.register(inst_status("A", "r1", 4, Status::Down), Origin::Client)
        .unwrap();
    assert_eq!(status(&reg, "r1"), Status::Down);

    // Row 5: re-register UP after a server-side OUT_OF_SERVICE without override (rule 4).
    reg.register(inst_status("A", "r5", 1, Status::Up), Origin::Client)
        .unwrap();
    assert!(reg.set_status_override("A", "r5", Status::OutOfService, None, Origin::Client));
    assert!(reg.delete_status_override(
        "A",
        "r5",
        Some(Status::OutOfService),
        None,
        Origin::Client
    ));
    assert!(reg.overrides().iter().all(|(_, id, _)| id != "r5"));
    assert_eq!(status(&reg, "r5"), Status::OutOfService);
    reg.register(inst_status("A", "r5", 2, Status::Up), Origin::Client)
        .unwrap();
    assert_eq!(status(&reg, "r5"), Status::OutOfService);

    // Row 6: same, but arriving by replication → UP.
    reg.register(inst_status("A", "r5", 3, Status::Up), Origin::Peer)
        .unwrap();
    assert_eq!(status(&reg, "r5"), Status::Up);

    // Row 7: client re-registers OUT_OF_SERVICE while stored UP → UP (rule 4).
    reg.register(
        inst_status("A", "r5", 4, Status::OutOfService),
        Origin::Client,
    )
    .unwrap();
    assert_eq!(status(&reg, "r5"), Status::Up);
}

// R-61 last row / R-64 legacy: delete without value sets UNKNOWN → heartbeat 404.
#[tokio::test(start_paused = true)]
async fn r64_legacy_delete_without_value_forces_reregistration() {
    let reg = Registry::new(RegistryConfig {
        legacy_override_delete: true,
        ..config()
    });
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    assert!(reg.set_status_override("A", "a-1", Status::OutOfService, None, Origin::Client));
    assert!(reg.delete_status_override("A", "a-1", None, None, Origin::Client));
    let rec = reg.instance("A", "a-1").expect("present");
    assert_eq!(rec.status, Status::Unknown);
    assert_eq!(rec.overridden_status, Status::Unknown);
    assert_eq!(
        reg.renew("A", "a-1", Renew::new(), Origin::Client),
        RenewOutcome::NotFound
    );
}

// R-64 (fix, default): delete without value restores the status the instance reported.
#[tokio::test(start_paused = true)]
async fn r64_delete_without_value_restores_reported_status() {
    let reg = registry();
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    assert!(reg.set_status_override("A", "a-1", Status::OutOfService, None, Origin::Client));
    assert_eq!(status(&reg, "a-1"), Status::OutOfService);
    let rev = reg.snapshot().revision();
    assert!(reg.delete_status_override("A", "a-1", None, None, Origin::Client));
    let rec = reg.instance("A", "a-1").expect("present");
    assert_eq!(rec.status, Status::Up);
    assert_eq!(rec.overridden_status, Status::Unknown);
    assert_eq!(rec.action_type, Some(ActionType::Modified));
    assert!(reg.snapshot().revision() > rev);
    assert_eq!(
        reg.renew("A", "a-1", Renew::new(), Origin::Client),
        RenewOutcome::Renewed
    );
    assert_eq!(status(&reg, "a-1"), Status::Up);

    // A STARTING instance overridden UP goes back to STARTING.
    reg.register(inst_status("A", "s-1", 1, Status::Starting), Origin::Client)
        .unwrap();
    assert!(reg.set_status_override("A", "s-1", Status::Up, None, Origin::Client));
    assert_eq!(status(&reg, "s-1"), Status::Up);
    assert!(reg.delete_status_override("A", "s-1", None, None, Origin::Client));
    assert_eq!(status(&reg, "s-1"), Status::Starting);
}

// set override renews, stores, MODIFIED, max dirty timestamp.
#[tokio::test(start_paused = true)]
async fn r62_set_override() {
    let reg = registry();
    reg.register(inst("A", "a-1", 1_000), Origin::Client)
        .unwrap();
    secs(80).await;
    assert!(reg.set_status_override("A", "a-1", Status::OutOfService, Some(500), Origin::Client));
    let rec = reg.instance("A", "a-1").expect("present");
    assert_eq!(rec.status, Status::OutOfService);
    assert_eq!(rec.overridden_status, Status::OutOfService);
    assert_eq!(rec.action_type, Some(ActionType::Modified));
    assert_eq!(rec.last_updated_timestamp, T0 + 80_000);
    assert_eq!(rec.last_dirty_timestamp, 1_000, "R-52: max(stored, param)");
    assert_eq!(delta_action(&reg, "A", "a-1"), Some(ActionType::Modified));
    assert_eq!(reg.snapshot().hashcode(), "OUT_OF_SERVICE_1_");
    // The lease was renewed: 80 s later it has not expired.
    secs(80).await;
    assert!(reg.instance("A", "a-1").is_some());

    assert!(reg.set_status_override("A", "a-1", Status::Up, Some(3_000), Origin::Client));
    let rec = reg.instance("A", "a-1").expect("present");
    assert_eq!(rec.status, Status::Up);
    assert_eq!(rec.last_dirty_timestamp, 3_000, "R-52: max(stored, param)");
    assert!(!reg.set_status_override("A", "missing", Status::Up, None, Origin::Client));
}

// R-62a: pinning to the current status stores the override; MODIFIED only if visible.
#[tokio::test(start_paused = true)]
async fn r62a_pin_current_status_is_recorded() {
    let reg = registry();
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    let rev = reg.snapshot().revision();
    assert!(reg.set_status_override("A", "a-1", Status::Up, None, Origin::Client));
    assert_eq!(
        reg.overrides(),
        vec![("A".to_owned(), "a-1".to_owned(), Status::Up)]
    );
    let rec = reg.instance("A", "a-1").expect("present");
    assert_eq!(
        rec.overridden_status,
        Status::Up,
        "visible: overriddenStatus"
    );
    let rev2 = reg.snapshot().revision();
    assert!(rev2 > rev);
    // The pin lasts: a client re-registering OUT_OF_SERVICE by replication stays UP.
    reg.register(
        inst_status("A", "a-1", 2, Status::OutOfService),
        Origin::Peer,
    )
    .unwrap();
    assert_eq!(status(&reg, "a-1"), Status::Up);
    // Pinning again changes nothing visible: no new revision.
    let rev3 = reg.snapshot().revision();
    assert!(reg.set_status_override("A", "a-1", Status::Up, None, Origin::Client));
    assert_eq!(reg.snapshot().revision(), rev3);
}

// delete with a value; without an override nothing changes.
#[tokio::test(start_paused = true)]
async fn r63_delete_override() {
    let reg = registry();
    reg.register(inst("A", "a-1", 1_000), Origin::Client)
        .unwrap();
    let rev = reg.snapshot().revision();
    assert!(reg.delete_status_override("A", "a-1", Some(Status::Down), None, Origin::Client));
    assert_eq!(
        reg.snapshot().revision(),
        rev,
        "no override: nothing changes"
    );
    assert_eq!(status(&reg, "a-1"), Status::Up);

    assert!(reg.set_status_override("A", "a-1", Status::OutOfService, None, Origin::Client));
    assert!(reg.delete_status_override(
        "A",
        "a-1",
        Some(Status::Down),
        Some(2_000),
        Origin::Client
    ));
    let rec = reg.instance("A", "a-1").expect("present");
    assert_eq!(rec.status, Status::Down);
    assert_eq!(rec.overridden_status, Status::Unknown);
    assert_eq!(rec.last_dirty_timestamp, 2_000);
    assert_eq!(rec.action_type, Some(ActionType::Modified));
    assert!(reg.overrides().is_empty());
    assert!(!reg.delete_status_override("A", "missing", None, None, Origin::Client));
}

// R-60 / D13: overrides are keyed by (app, id).
#[tokio::test(start_paused = true)]
async fn d13_overrides_keyed_by_app_and_id() {
    let reg = registry();
    reg.register(inst("A", "same", 1), Origin::Client).unwrap();
    reg.register(inst("B", "same", 1), Origin::Client).unwrap();
    assert!(reg.set_status_override("A", "same", Status::OutOfService, None, Origin::Client));
    assert_eq!(
        reg.instance("A", "same").expect("a").status,
        Status::OutOfService
    );
    assert_eq!(reg.instance("B", "same").expect("b").status, Status::Up);
    assert_eq!(reg.overrides().len(), 1);
}
