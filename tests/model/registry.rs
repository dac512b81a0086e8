//! The registry against a reference model (issue 11): random sequences of register, renew,
//! cancel, override set and delete, metadata update, time advancing (paused clock) and
//! eviction, with the invariants checked after every step.
//!
//! The model is written from the spec's rules, not from the implementation: R-11 (a stored
//! copy with a strictly newer `lastDirtyTimestamp` wins), R-12 (lease duration from the
//! body), R-13 (a register restarts the lease), the rule chain of R-61, R-62/R-62a (set
//! override), R-63/R-64 (delete override, with and without `value`), R-70 (metadata is a
//! local register of the stored record), R-40 (expiry after exactly one duration), R-44
//! (an expired lease is hidden from single lookups and writes until evicted) and R-42
//! (eviction takes only expired leases). Eviction picks at random within its per-window
//! limit, so the model learns which leases went and checks that each was expired; a final
//! drain checks that every expired lease goes.
//!
//! After every step: the listing holds exactly the model's instances with the model's
//! status, VIP, metadata and `lastDirtyTimestamp`; the per-instance lookups agree with
//! R-44; the VIP index equals the listing filtered by VIP; the `apps__hashcode` is the
//! hash of the model's statuses; and the delta window holds the current record of every
//! instance changed since the previous step.

use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tower_eureka::model::{apps_hashcode, InstanceInfo, Status};
use tower_eureka::registry::{
    Clock, Origin, Registry, RegistryConfig, Renew, RenewOutcome, SelfPreservationMode,
};

pub(crate) const APPS: [&str; 3] = ["A", "B", "C"];
const IDS: u8 = 6;
pub(crate) const STATUSES: [Status; 4] = [
    Status::Up,
    Status::Down,
    Status::Starting,
    Status::OutOfService,
];

#[derive(Debug, Clone)]
pub(crate) enum Op {
    Register {
        app: usize,
        id: u8,
        status: usize,
        vip: u8,
        /// Send a `lastDirtyTimestamp` older than the stored one.
        stale: bool,
        lease_secs: u32,
    },
    Renew {
        app: usize,
        id: u8,
    },
    Cancel {
        app: usize,
        id: u8,
    },
    SetOverride {
        app: usize,
        id: u8,
        status: usize,
    },
    DeleteOverride {
        app: usize,
        id: u8,
        value: Option<usize>,
    },
    Metadata {
        app: usize,
        id: u8,
        key: u8,
        value: u8,
    },
    Advance {
        secs: u64,
    },
    Evict,
}

pub(crate) fn op() -> impl Strategy<Value = Op> {
    let app = 0..APPS.len();
    let id = 0..IDS;
    let st = 0..STATUSES.len();
    prop_oneof![
        4 => (app.clone(), id.clone(), st.clone(), 0u8..3, any::<bool>(), 5u32..60).prop_map(
            |(app, id, status, vip, stale, lease_secs)| Op::Register {
                app, id, status, vip, stale, lease_secs
            }
        ),
        4 => (app.clone(), id.clone()).prop_map(|(app, id)| Op::Renew { app, id }),
        1 => (app.clone(), id.clone()).prop_map(|(app, id)| Op::Cancel { app, id }),
        2 => (app.clone(), id.clone(), st.clone())
            .prop_map(|(app, id, status)| Op::SetOverride { app, id, status }),
        2 => (app.clone(), id.clone(), proptest::option::of(st))
            .prop_map(|(app, id, value)| Op::DeleteOverride { app, id, value }),
        1 => (app, id, 0u8..3, 0u8..3)
            .prop_map(|(app, id, key, value)| Op::Metadata { app, id, key, value }),
        3 => (1u64..40).prop_map(|secs| Op::Advance { secs }),
        2 => Just(Op::Evict),
    ]
}

/// One instance as the model knows it.
#[derive(Debug, Clone)]
struct Inst {
    /// The status in the record.
    status: Status,
    /// The status the instance itself last reported in a register.
    reported: Status,
    override_status: Option<Status>,
    vip: String,
    metadata: BTreeMap<String, String>,
    ldt: u64,
    /// The record's `leaseInfo.durationInSecs` (what a metadata update re-registers with).
    record_lease_secs: u32,
    last_renewal_ms: u64,
    lease_ms: u64,
}

impl Inst {
    fn expired(&self, now: u64) -> bool {
        now > self.last_renewal_ms + self.lease_ms
    }
}

/// R-61 without the AWS rule.
fn rule_chain(reported: Status, ov: Option<Status>, previous: Option<Status>) -> Status {
    if !matches!(reported, Status::Up | Status::OutOfService) {
        return reported;
    }
    if let Some(o) = ov {
        return o;
    }
    if let Some(x @ (Status::Up | Status::OutOfService)) = previous {
        return x;
    }
    reported
}

struct Model {
    insts: BTreeMap<(String, String), Inst>,
    /// Milliseconds since the start (the registry's monotonic time).
    now: u64,
    /// Source of fresh `lastDirtyTimestamp`s, always increasing.
    next_ldt: u64,
    /// Instances whose record changed in the current step.
    changed: BTreeSet<(String, String)>,
}

/// The body of a `Register` op: instance `i-{id}` of `APPS[app]`.
pub(crate) fn register_body(
    app: usize,
    id: u8,
    status: usize,
    vip: u8,
    lease_secs: u32,
    ldt: u64,
) -> InstanceInfo {
    let id = format!("i-{id}");
    InstanceInfo::builder(APPS[app])
        .host_name(format!("{id}.internal"))
        .instance_id(id)
        .status(STATUSES[status])
        .vip_address(format!("vip-{vip}"))
        .lease(30, lease_secs)
        .last_dirty_timestamp(ldt)
        .build()
}

fn key(app: usize, id: u8) -> (String, String) {
    (APPS[app].to_owned(), format!("i-{id}"))
}

impl Model {
    fn new() -> Model {
        Model {
            insts: BTreeMap::new(),
            now: 0,
            next_ldt: 1_000,
            changed: BTreeSet::new(),
        }
    }

    /// whether single lookups and writes see `k`: registered, and either live or
    /// held by self-preservation (engaged, and expired for at most 15 minutes).
    fn visible(&self, reg: &Registry, k: &(String, String)) -> bool {
        let Some(i) = self.insts.get(k) else {
            return false;
        };
        if !i.expired(self.now) {
            return true;
        }
        let expired_for = self.now - (i.last_renewal_ms + i.lease_ms);
        reg.self_preservation().active && expired_for <= 15 * 60 * 1000
    }

    fn renew_lease(&mut self, k: &(String, String)) {
        let now = self.now;
        if let Some(i) = self.insts.get_mut(k) {
            i.last_renewal_ms = now;
        }
    }
}

/// Applies `op` to the model and the registry; panics (failing the case) where they
/// disagree on an operation's outcome.
fn step(reg: &Registry, m: &mut Model, op: &Op) {
    m.changed.clear();
    match *op {
        Op::Register {
            app,
            id,
            status,
            vip,
            stale,
            lease_secs,
        } => {
            let k = key(app, id);
            let prev = m.insts.get(&k).cloned();
            let ldt = match (&prev, stale) {
                (Some(p), true) => p.ldt.saturating_sub(1),
                _ => {
                    m.next_ldt += 1;
                    m.next_ldt
                }
            };
            let body = register_body(app, id, status, vip, lease_secs, ldt);
            assert!(reg.register(body, Origin::Client).is_ok());
            // a strictly newer stored copy wins; the lease is new either way
            // with the body's duration.
            let (base_status, reported, vip, metadata, ldt, record_secs) = match &prev {
                Some(p) if p.ldt > ldt => (
                    p.status,
                    p.reported,
                    p.vip.clone(),
                    p.metadata.clone(),
                    p.ldt,
                    // The record's leaseInfo is stamped from the new lease.
                    lease_secs,
                ),
                _ => (
                    STATUSES[status],
                    STATUSES[status],
                    format!("vip-{vip}"),
                    BTreeMap::new(),
                    ldt,
                    lease_secs,
                ),
            };
            let ov = prev.as_ref().and_then(|p| p.override_status);
            let status = rule_chain(base_status, ov, prev.as_ref().map(|p| p.status));
            m.insts.insert(
                k.clone(),
                Inst {
                    status,
                    reported,
                    override_status: ov,
                    vip,
                    metadata,
                    ldt,
                    record_lease_secs: record_secs,
                    last_renewal_ms: m.now,
                    lease_ms: u64::from(lease_secs) * 1000,
                },
            );
            m.changed.insert(k);
        }
        Op::Renew { app, id } => {
            let k = key(app, id);
            let got = reg.renew(&k.0, &k.1, Renew::new(), Origin::Client);
            let Some(i) = m.insts.get(&k).cloned() else {
                assert_eq!(got, RenewOutcome::NotFound, "{k:?}");
                return;
            };
            let effective = rule_chain(i.status, i.override_status, Some(i.status));
            if effective == Status::Unknown {
                assert_eq!(got, RenewOutcome::NotFound, "{k:?}");
                return;
            }
            assert_eq!(got, RenewOutcome::Renewed, "{k:?}");
            m.renew_lease(&k);
            if effective != i.status {
                // a renew-time status change is a visible change.
                if let Some(x) = m.insts.get_mut(&k) {
                    x.status = effective;
                }
                m.changed.insert(k);
            }
        }
        Op::Cancel { app, id } => {
            let k = key(app, id);
            let got = reg.cancel(&k.0, &k.1, Origin::Client);
            assert_eq!(got, m.insts.remove(&k).is_some(), "{k:?}");
        }
        Op::SetOverride { app, id, status } => {
            let k = key(app, id);
            let s = STATUSES[status];
            // Visibility is read before the write, which itself moves the gate.
            let live = m.visible(reg, &k);
            let got = reg.set_status_override(&k.0, &k.1, s, None, Origin::Client);
            assert_eq!(got, live, "{k:?} (R-44)");
            if live {
                m.renew_lease(&k);
                if let Some(i) = m.insts.get_mut(&k) {
                    // R-62a: stored even when the status is unchanged; a delta entry only
                    // when a visible field changes.
                    let visible_change = i.status != s || i.override_status != Some(s);
                    i.override_status = Some(s);
                    i.status = s;
                    if visible_change {
                        m.changed.insert(k);
                    }
                }
            }
        }
        Op::DeleteOverride { app, id, value } => {
            let k = key(app, id);
            let v = value.map(|s| STATUSES[s]);
            let live = m.visible(reg, &k);
            let got = reg.delete_status_override(&k.0, &k.1, v, None, Origin::Client);
            assert_eq!(got, live, "{k:?} (R-44)");
            if live {
                m.renew_lease(&k);
                if let Some(i) = m.insts.get_mut(&k) {
                    if i.override_status.take().is_some() {
                        // R-63 with `value`, R-64 without: the instance's own report.
                        i.status = v.unwrap_or(i.reported);
                        m.changed.insert(k);
                    }
                }
            }
        }
        Op::Metadata {
            app,
            id,
            key: mk,
            value,
        } => {
            let k = key(app, id);
            let entry = (format!("k{mk}"), format!("v{value}"));
            let live = m.visible(reg, &k);
            let got = reg.update_metadata(&k.0, &k.1, vec![entry.clone()]);
            assert_eq!(got, live, "{k:?} (R-44)");
            if live {
                let now = m.now;
                if let Some(i) = m.insts.get_mut(&k) {
                    // a local register of the stored record.
                    i.metadata.insert(entry.0, entry.1);
                    i.status = rule_chain(i.status, i.override_status, Some(i.status));
                    i.last_renewal_ms = now;
                    i.lease_ms = u64::from(i.record_lease_secs) * 1000;
                }
                m.changed.insert(k);
            }
        }
        Op::Advance { .. } | Op::Evict => unreachable!("handled by the async driver"),
    }
}

/// Evicts and lets the model learn which leases went: each must have been expired.
fn evict(reg: &Registry, m: &mut Model) {
    reg.evict();
    let listed: BTreeSet<(String, String)> = reg
        .snapshot()
        .apps()
        .flat_map(|(app, l)| l.iter().map(move |i| (app.to_owned(), i.id().to_owned())))
        .collect();
    let gone: Vec<(String, String)> = m
        .insts
        .keys()
        .filter(|k| !listed.contains(*k))
        .cloned()
        .collect();
    for k in gone {
        let Some(i) = m.insts.remove(&k) else {
            continue;
        };
        assert!(
            i.expired(m.now),
            "{k:?} evicted while its lease was live (R-42)"
        );
    }
}

/// The invariants between the registry and the model.
fn check(reg: &Registry, m: &Model, prev_delta_version: u64) {
    let snap = reg.snapshot();
    let mut listed: BTreeMap<(String, String), std::sync::Arc<InstanceInfo>> = BTreeMap::new();
    for (app, list) in snap.apps() {
        for i in list {
            listed.insert((app.to_owned(), i.id().to_owned()), i.clone());
        }
    }
    let lk: Vec<_> = listed.keys().cloned().collect();
    let mk: Vec<_> = m.insts.keys().cloned().collect();
    assert_eq!(lk, mk, "listing vs model");
    for (k, want) in &m.insts {
        let got = &listed[k];
        assert_eq!(got.status, want.status, "status of {k:?}");
        assert_eq!(got.vip_address.as_deref(), Some(want.vip.as_str()), "{k:?}");
        let meta: BTreeMap<String, String> = got
            .metadata
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(meta, want.metadata, "metadata of {k:?}");
        assert_eq!(got.last_dirty_timestamp, want.ldt, "ldt of {k:?}");
        assert_eq!(
            got.overridden_status,
            want.override_status.unwrap_or(Status::Unknown),
            "overriddenStatus of {k:?}"
        );
        // single lookups see only live leases.
        let single = reg.instance(&k.0, &k.1);
        assert_eq!(single.is_some(), m.visible(reg, k), "lookup of {k:?}");
    }
    for vip in 0..3 {
        let name = format!("vip-{vip}");
        let mut got: Vec<String> = snap.vip(&name).iter().map(|i| i.id().to_owned()).collect();
        got.sort();
        let mut want: Vec<String> = m
            .insts
            .iter()
            .filter(|(_, i)| i.vip == name)
            .map(|(k, _)| k.1.clone())
            .collect();
        want.sort();
        assert_eq!(got, want, "VIP {name}");
    }
    assert_eq!(
        snap.hashcode(),
        apps_hashcode(m.insts.values().map(|i| i.status)),
        "apps__hashcode"
    );
    // Every record changed by this step is in the delta window, as it is now.
    if !m.changed.is_empty() {
        assert!(
            snap.delta_version() > prev_delta_version,
            "delta version moved"
        );
    }
    for k in &m.changed {
        let rec = snap
            .delta()
            .filter(|(app, _)| *app == k.0)
            .flat_map(|(_, l)| l.iter())
            .find(|i| i.id() == k.1);
        match (rec, listed.get(k)) {
            (Some(d), Some(l)) => assert_eq!(**d, **l, "delta record of {k:?}"),
            (None, Some(_)) => panic!("{k:?} changed but is not in the delta"),
            _ => {}
        }
    }
}

fn run_case(ops: Vec<Op>, mode: SelfPreservationMode) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    rt.block_on(async move {
        let reg = Registry::new(RegistryConfig {
            publish_interval: Duration::ZERO,
            self_preservation: mode,
            clock: Some(Clock::starting_at(1_700_000_000_000)),
            ..RegistryConfig::default()
        });
        let mut m = Model::new();
        for op in &ops {
            let before = reg.snapshot().delta_version();
            match op {
                Op::Advance { secs } => {
                    tokio::time::advance(Duration::from_secs(*secs)).await;
                    m.now += secs * 1000;
                    m.changed.clear();
                }
                Op::Evict => {
                    m.changed.clear();
                    evict(&reg, &mut m);
                }
                op => step(&reg, &mut m, op),
            }
            check(&reg, &m, before);
        }
        // Drain: every expired lease goes within a few eviction windows, unless
        // self-preservation holds them, which only the disabled mode rules out.
        if mode == SelfPreservationMode::Disabled {
            for _ in 0..12 {
                tokio::time::advance(Duration::from_secs(61)).await;
                m.now += 61_000;
                evict(&reg, &mut m);
            }
            assert!(
                reg.snapshot().is_empty(),
                "expired leases left after the drain"
            );
        }
    });
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn registry_follows_the_model_without_self_preservation(
        ops in proptest::collection::vec(op(), 1..120)
    ) {
        run_case(ops, SelfPreservationMode::Disabled)?;
    }

    #[test]
    fn registry_follows_the_model_with_self_preservation(
        ops in proptest::collection::vec(op(), 1..120)
    ) {
        run_case(ops, SelfPreservationMode::Improved)?;
    }
}
