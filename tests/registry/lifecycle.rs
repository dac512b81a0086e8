//! Register, renew, cancel, metadata (R-10..R-31, R-50, R-51, R-70, R-111, R-112).

use crate::support::*;
use tower_eureka::model::{ActionType, Status};
use tower_eureka::registry::{Origin, Registry, RegistryConfig, Renew, RenewOutcome};

// a register stores the record with a lease from the body's duration.
#[tokio::test(start_paused = true)]
async fn r10_register_creates_lease() {
    let reg = registry();
    let mut i = inst("orders", "o-1", 5);
    i.lease_info.duration_in_secs = 0; // 0 means 90
    reg.register(i, Origin::Client).unwrap();
    let rec = reg.instance("ORDERS", "o-1").expect("registered");
    assert_eq!(rec.app, "ORDERS");
    assert_eq!(rec.status, Status::Up);
    assert_eq!(rec.action_type, Some(ActionType::Added));
    assert_eq!(rec.lease_info.duration_in_secs, 90);
    assert_eq!(rec.lease_info.registration_timestamp, T0);
    assert_eq!(rec.lease_info.service_up_timestamp, T0);
    assert_eq!(rec.last_updated_timestamp, T0);
    assert_eq!(rec.last_dirty_timestamp, 5);
    assert_eq!(reg.len(), 1);
}

// Issue 12: the registry itself refuses a record or a metadata entry that XML cannot
// carry, whoever calls it (the server answers 400 before it gets here).
#[tokio::test(start_paused = true)]
async fn r10_r70_records_xml_cannot_carry_are_never_stored() {
    let reg = registry();
    let mut bad = inst("orders", "o-1", 5);
    bad.host_name = "h\u{1}".into();
    assert!(reg.register(bad, Origin::Client).is_err());
    assert!(reg.instance("ORDERS", "o-1").is_none());
    assert_eq!(reg.len(), 0);

    reg.register(inst("orders", "o-1", 5), Origin::Client)
        .unwrap();
    let before = reg.instance("ORDERS", "o-1").expect("registered");
    let entries = vec![
        ("ok".to_owned(), "1".to_owned()),
        ("k".to_owned(), "\u{FFFF}".to_owned()),
    ];
    assert!(!reg.update_metadata("ORDERS", "o-1", entries));
    assert_eq!(reg.instance("ORDERS", "o-1").expect("still there"), before);
}

// the stored copy wins only when its lastDirtyTimestamp is strictly greater.
#[tokio::test(start_paused = true)]
async fn r11_register_conflict_strictly_greater() {
    let reg = registry();
    let mut stored = inst("A", "a-1", 200);
    stored.ip_addr = "10.0.0.1".into();
    reg.register(stored, Origin::Client).unwrap();

    let mut older = inst("A", "a-1", 100);
    older.ip_addr = "10.0.0.2".into();
    reg.register(older, Origin::Client).unwrap();
    let rec = reg.instance("A", "a-1").expect("present");
    assert_eq!(rec.ip_addr, "10.0.0.1", "stored copy (200 > 100) wins");
    assert_eq!(rec.last_dirty_timestamp, 200);

    let mut tie = inst("A", "a-1", 200);
    tie.ip_addr = "10.0.0.3".into();
    reg.register(tie, Origin::Client).unwrap();
    assert_eq!(
        reg.instance("A", "a-1").expect("present").ip_addr,
        "10.0.0.3",
        "a tie goes to the incoming record"
    );
}

// re-registration restarts the lease (acts as a renewal) and keeps serviceUpTimestamp.
#[tokio::test(start_paused = true)]
async fn r13_reregistration_replaces_lease() {
    let reg = registry();
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    secs(80).await;
    reg.register(inst("A", "a-1", 2), Origin::Client).unwrap();
    let rec = reg.instance("A", "a-1").expect("present");
    assert_eq!(rec.lease_info.registration_timestamp, T0 + 80_000);
    assert_eq!(rec.lease_info.service_up_timestamp, T0, "serviceUp kept");
    // Without the re-registration the lease would have expired at 90 s.
    secs(80).await;
    assert!(
        reg.instance("A", "a-1").is_some(),
        "renewed by the register"
    );
    assert_eq!(reg.evict(), 0);
}

// serviceUpTimestamp is set when the instance is first seen UP.
#[tokio::test(start_paused = true)]
async fn r10_service_up_set_on_first_up() {
    let reg = registry();
    reg.register(inst_status("A", "a-1", 1, Status::Starting), Origin::Client)
        .unwrap();
    assert_eq!(
        reg.instance("A", "a-1")
            .expect("present")
            .lease_info
            .service_up_timestamp,
        0
    );
    secs(3).await;
    reg.register(inst_status("A", "a-1", 2, Status::Up), Origin::Client)
        .unwrap();
    let rec = reg.instance("A", "a-1").expect("present");
    assert_eq!(rec.status, Status::Up);
    assert_eq!(rec.lease_info.service_up_timestamp, T0 + 3_000);
}

// every register, including re-registrations, yields ADDED.
#[tokio::test(start_paused = true)]
async fn r14_register_always_added() {
    let reg = registry();
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    assert!(reg.set_status_override("A", "a-1", Status::OutOfService, None, Origin::Client));
    assert_eq!(delta_action(&reg, "A", "a-1"), Some(ActionType::Modified));
    reg.register(inst("A", "a-1", 2), Origin::Peer).unwrap();
    assert_eq!(
        reg.instance("A", "a-1").expect("present").action_type,
        Some(ActionType::Added)
    );
    assert_eq!(delta_action(&reg, "A", "a-1"), Some(ActionType::Added));
}

// a register without lastDirtyTimestamp gets the server's clock.
#[tokio::test(start_paused = true)]
async fn r112_missing_dirty_timestamp_defaults_to_now() {
    let reg = registry();
    secs(7).await;
    reg.register(inst("A", "a-1", 0), Origin::Client).unwrap();
    let rec = reg.instance("A", "a-1").expect("present");
    assert_eq!(rec.last_dirty_timestamp, T0 + 7_000);
    assert_eq!(rec.last_updated_timestamp, T0 + 7_000);
}

// a replicated register skips LeaseExists (covered row by row in overrides.rs) and
// otherwise behaves the same.
#[tokio::test(start_paused = true)]
async fn r15_replicated_register() {
    let reg = registry();
    reg.register(inst("A", "a-1", 1), Origin::Peer).unwrap();
    assert_eq!(
        reg.renew("A", "a-1", Renew::new(), Origin::Peer),
        RenewOutcome::Renewed
    );
}

// R-15, P-40: a record copied from a peer at startup (`Origin::Sync`) is processed exactly
// like a peer's replication: the same rule chain, the same answers.
#[tokio::test(start_paused = true)]
async fn r15_p40_startup_copy_is_processed_like_replication() {
    for origin in [Origin::Peer, Origin::Sync] {
        let reg = registry();
        reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
        assert!(reg.set_status_override("A", "a-1", Status::OutOfService, None, Origin::Client));
        assert!(reg.delete_status_override(
            "A",
            "a-1",
            Some(Status::OutOfService),
            None,
            Origin::Client
        ));
        // LeaseExists is skipped: the copied UP wins over the stored OUT_OF_SERVICE.
        reg.register(inst_status("A", "a-1", 2, Status::Up), origin)
            .unwrap();
        let rec = reg.instance("A", "a-1").expect("present");
        assert_eq!(rec.status, Status::Up, "{origin:?}");
        // the caller holds older data → 409.
        let older = Renew::new().last_dirty_timestamp(Some(1));
        assert!(
            matches!(
                reg.renew("A", "a-1", older, origin),
                RenewOutcome::Conflict(_)
            ),
            "{origin:?}"
        );
        // newer data with an override → the override is stored, then 404.
        let newer = Renew::new()
            .last_dirty_timestamp(Some(3))
            .overridden_status(Some(Status::OutOfService));
        assert_eq!(
            reg.renew("A", "a-1", newer, origin),
            RenewOutcome::NotFound,
            "{origin:?}"
        );
        assert_eq!(
            reg.overrides(),
            vec![("A".to_owned(), "a-1".to_owned(), Status::OutOfService)],
            "{origin:?}"
        );
    }
}

// R-20 step 1: unknown instance → 404.
#[tokio::test(start_paused = true)]
async fn r20_renew_unknown_is_not_found() {
    let reg = registry();
    assert_eq!(
        reg.renew("A", "nope", Renew::new(), Origin::Client),
        RenewOutcome::NotFound
    );
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    assert_eq!(
        reg.renew("B", "a-1", Renew::new(), Origin::Client),
        RenewOutcome::NotFound
    );
}

// R-20 step 2 / E-11 case 2: a stored status resolving to UNKNOWN → 404 without renewing.
#[tokio::test(start_paused = true)]
async fn r20_renew_unknown_status_is_not_found() {
    let reg = registry();
    reg.register(inst_status("A", "a-1", 1, Status::Unknown), Origin::Client)
        .unwrap();
    assert_eq!(
        reg.renew("A", "a-1", Renew::new(), Origin::Client),
        RenewOutcome::NotFound
    );
    assert_eq!(reg.stats().renewals, 0);
}

// a renew extends the lease and is counted.
#[tokio::test(start_paused = true)]
async fn r20_renew_extends_lease() {
    let reg = registry();
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    secs(60).await;
    assert_eq!(
        reg.renew("A", "a-1", Renew::new(), Origin::Client),
        RenewOutcome::Renewed
    );
    secs(60).await; // 120 s after registration, 60 s after the renew
    assert!(reg.instance("A", "a-1").is_some());
    assert_eq!(reg.evict(), 0);
    assert_eq!(reg.stats().renewals, 1);
}

// A heartbeat is not a visible change: the snapshot revision does not move.
#[tokio::test(start_paused = true)]
async fn heartbeat_does_not_change_snapshot_revision() {
    let reg = registry();
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    let before = reg.snapshot();
    for _ in 0..5 {
        secs(30).await;
        assert_eq!(
            reg.renew(
                "A",
                "a-1",
                Renew::new().last_dirty_timestamp(Some(1)),
                Origin::Client
            ),
            RenewOutcome::Renewed
        );
    }
    let after = reg.snapshot();
    assert_eq!(after.revision(), before.revision());
    assert!(
        std::sync::Arc::ptr_eq(&before, &after),
        "same published snapshot"
    );
}

// the dirty-timestamp table, row by row.
#[tokio::test(start_paused = true)]
async fn r50_heartbeat_dirty_timestamp_table() {
    let reg = registry();
    reg.register(inst("A", "a-1", 1_000), Origin::Client)
        .unwrap();
    // P > S, either → 404.
    assert_eq!(
        reg.renew(
            "A",
            "a-1",
            Renew::new().last_dirty_timestamp(Some(2_000)),
            Origin::Client
        ),
        RenewOutcome::NotFound
    );
    assert_eq!(
        reg.renew(
            "A",
            "a-1",
            Renew::new().last_dirty_timestamp(Some(2_000)),
            Origin::Peer
        ),
        RenewOutcome::NotFound
    );
    // P < S, replication → 409 with the stored record.
    match reg.renew(
        "A",
        "a-1",
        Renew::new().last_dirty_timestamp(Some(500)),
        Origin::Peer,
    ) {
        RenewOutcome::Conflict(rec) => {
            assert_eq!(rec.id(), "a-1");
            assert_eq!(rec.last_dirty_timestamp, 1_000);
        }
        other => panic!("expected 409, got {other:?}"),
    }
    // P < S, not replication → 200.
    assert_eq!(
        reg.renew(
            "A",
            "a-1",
            Renew::new().last_dirty_timestamp(Some(500)),
            Origin::Client
        ),
        RenewOutcome::Renewed
    );
    // P = S or absent → 200.
    assert_eq!(
        reg.renew(
            "A",
            "a-1",
            Renew::new().last_dirty_timestamp(Some(1_000)),
            Origin::Peer
        ),
        RenewOutcome::Renewed
    );
    assert_eq!(
        reg.renew("A", "a-1", Renew::new(), Origin::Peer),
        RenewOutcome::Renewed
    );
    // In every case the lease was renewed first (E-11 cases 4-7).
    assert_eq!(reg.stats().renewals, 6);
}

// with syncWhenTimestampDiffers off the answer is always 200.
#[tokio::test(start_paused = true)]
async fn r50_switch_off_always_renewed() {
    let reg = Registry::new(RegistryConfig {
        sync_when_timestamp_differs: false,
        ..config()
    });
    reg.register(inst("A", "a-1", 1_000), Origin::Client)
        .unwrap();
    assert_eq!(
        reg.renew(
            "A",
            "a-1",
            Renew::new().last_dirty_timestamp(Some(2_000)),
            Origin::Peer
        ),
        RenewOutcome::Renewed
    );
    assert_eq!(
        reg.renew(
            "A",
            "a-1",
            Renew::new().last_dirty_timestamp(Some(500)),
            Origin::Peer
        ),
        RenewOutcome::Renewed
    );
}

// R-51 + R-22: a replicated heartbeat that gets 404 stores the peer's override; the next
// renew applies it as a visible MODIFIED change (D6).
#[tokio::test(start_paused = true)]
async fn r51_override_recovery_and_r22_visible_renew_change() {
    let reg = registry();
    reg.register(inst("A", "a-1", 1_000), Origin::Client)
        .unwrap();
    // A non-replicated heartbeat never stores an override.
    assert_eq!(
        reg.renew(
            "A",
            "a-1",
            Renew::new()
                .last_dirty_timestamp(Some(2_000))
                .overridden_status(Some(Status::OutOfService)),
            Origin::Client
        ),
        RenewOutcome::NotFound
    );
    assert!(reg.overrides().is_empty());
    // UNKNOWN is "no override".
    assert_eq!(
        reg.renew(
            "A",
            "a-1",
            Renew::new()
                .last_dirty_timestamp(Some(2_000))
                .overridden_status(Some(Status::Unknown)),
            Origin::Peer
        ),
        RenewOutcome::NotFound
    );
    assert!(reg.overrides().is_empty());

    assert_eq!(
        reg.renew(
            "A",
            "a-1",
            Renew::new()
                .last_dirty_timestamp(Some(2_000))
                .overridden_status(Some(Status::OutOfService)),
            Origin::Peer
        ),
        RenewOutcome::NotFound
    );
    assert_eq!(
        reg.overrides(),
        vec![("A".to_owned(), "a-1".to_owned(), Status::OutOfService)]
    );
    let rec = reg.instance("A", "a-1").expect("present");
    assert_eq!(rec.overridden_status, Status::OutOfService);
    assert_eq!(rec.status, Status::Up, "status changes at the next renew");

    let rev = reg.snapshot().revision();
    secs(1).await;
    assert_eq!(
        reg.renew("A", "a-1", Renew::new(), Origin::Client),
        RenewOutcome::Renewed
    );
    let snap = reg.snapshot();
    assert!(
        snap.revision() > rev,
        "R-22: the renew-time change is visible"
    );
    assert_eq!(snap.hashcode(), "OUT_OF_SERVICE_1_");
    let d = delta_rec(&reg, "A", "a-1").expect("in delta");
    assert_eq!(d.status, Status::OutOfService);
    assert_eq!(d.action_type, Some(ActionType::Modified));
    assert_eq!(d.last_updated_timestamp, T0 + 1_000);
}

// cancel removes the lease, emits DELETED; unknown → false (404).
#[tokio::test(start_paused = true)]
async fn r30_cancel() {
    let reg = registry();
    assert!(!reg.cancel("A", "a-1", Origin::Client));
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    secs(5).await;
    assert!(reg.cancel("A", "a-1", Origin::Client));
    assert!(reg.instance("A", "a-1").is_none());
    assert_eq!(
        reg.renew("A", "a-1", Renew::new(), Origin::Client),
        RenewOutcome::NotFound
    );
    assert!(
        !reg.cancel("A", "a-1", Origin::Client),
        "second cancel is 404"
    );
    let d = delta_rec(&reg, "A", "a-1").expect("in delta");
    assert_eq!(d.action_type, Some(ActionType::Deleted));
    assert_eq!(d.lease_info.eviction_timestamp, T0 + 5_000);
    assert_eq!(d.last_updated_timestamp, T0 + 5_000);
    assert_eq!(d.status, Status::Up, "status as it was");
    assert_eq!(reg.stats().cancellations, 1);
}

// cancelling forgets the override; a later re-registration starts without one.
#[tokio::test(start_paused = true)]
async fn r31_cancel_forgets_override() {
    let reg = registry();
    reg.register(inst("A", "a-1", 1), Origin::Client).unwrap();
    assert!(reg.set_status_override("A", "a-1", Status::OutOfService, None, Origin::Client));
    assert_eq!(reg.overrides().len(), 1);
    assert!(reg.cancel("A", "a-1", Origin::Client));
    assert!(reg.overrides().is_empty());
    reg.register(inst("A", "a-1", 5), Origin::Client).unwrap();
    let rec = reg.instance("A", "a-1").expect("present");
    assert_eq!(rec.status, Status::Up);
    assert_eq!(rec.overridden_status, Status::Unknown);
}

// R-10 step 5 / R-31: a registering record carrying overriddenStatus installs it.
#[tokio::test(start_paused = true)]
async fn r60_register_transfers_override() {
    let reg = registry();
    let mut i = inst("A", "a-1", 1);
    i.overridden_status = Status::OutOfService;
    reg.register(i, Origin::Peer).unwrap();
    let rec = reg.instance("A", "a-1").expect("present");
    assert_eq!(
        rec.status,
        Status::OutOfService,
        "rule 2 applies the override"
    );
    assert_eq!(rec.overridden_status, Status::OutOfService);
    assert_eq!(reg.overrides().len(), 1);
}

// R-70 / E-15: metadata merge (first value wins), processed as a local register.
#[tokio::test(start_paused = true)]
async fn r70_metadata_update() {
    let reg = registry();
    let mut i = inst("A", "a-1", 42);
    i.metadata.insert("keep", "1");
    i.metadata.insert("zone", "a");
    reg.register(i, Origin::Client).unwrap();
    assert!(reg.set_status_override("A", "a-1", Status::OutOfService, None, Origin::Client));
    secs(10).await;
    assert!(reg.update_metadata(
        "A",
        "a-1",
        vec![
            ("zone".into(), "b".into()),
            ("new".into(), "x".into()),
            ("zone".into(), "c".into()),
        ],
    ));
    let rec = reg.instance("A", "a-1").expect("present");
    assert_eq!(rec.metadata.get("keep"), Some("1"));
    assert_eq!(rec.metadata.get("zone"), Some("b"), "first value wins");
    assert_eq!(rec.metadata.get("new"), Some("x"));
    assert_eq!(rec.last_dirty_timestamp, 42, "not changed");
    assert_eq!(rec.action_type, Some(ActionType::Added));
    assert_eq!(
        rec.lease_info.registration_timestamp,
        T0 + 10_000,
        "new lease"
    );
    assert_eq!(rec.status, Status::OutOfService, "override still applies");
    assert_eq!(delta_action(&reg, "A", "a-1"), Some(ActionType::Added));
    assert!(!reg.update_metadata("A", "missing", vec![("k".into(), "v".into())]));
}

// only the server's own record is the coordinating discovery server.
#[tokio::test(start_paused = true)]
async fn r111_coordinating_discovery_server() {
    let reg = Registry::new(RegistryConfig {
        server_instance_id: Some("me:eureka:8761".into()),
        ..config()
    });
    reg.register(inst("EUREKA", "me:eureka:8761", 1), Origin::Client)
        .unwrap();
    reg.register(inst("EUREKA", "peer:eureka:8761", 1), Origin::Client)
        .unwrap();
    reg.register(inst("OTHER", "x", 1), Origin::Client).unwrap();
    let snap = reg.snapshot();
    let flags: Vec<(String, bool)> = snap
        .apps()
        .flat_map(|(_, l)| l.iter())
        .map(|i| (i.id().to_owned(), i.is_coordinating_discovery_server))
        .collect();
    assert_eq!(
        flags,
        vec![
            ("me:eureka:8761".to_owned(), true),
            ("peer:eureka:8761".to_owned(), false),
            ("x".to_owned(), false),
        ]
    );
}

// E-20: instance by id; the smallest app name wins.
#[tokio::test(start_paused = true)]
async fn e20_instance_by_id_smallest_app() {
    let reg = registry();
    reg.register(inst("ZETA", "shared", 1), Origin::Client)
        .unwrap();
    reg.register(inst("ALPHA", "shared", 1), Origin::Client)
        .unwrap();
    assert_eq!(reg.instance_by_id("shared").expect("found").app, "ALPHA");
    assert!(reg.cancel("ALPHA", "shared", Origin::Client));
    assert_eq!(reg.instance_by_id("shared").expect("found").app, "ZETA");
    assert!(reg.instance_by_id("none").is_none());
}
