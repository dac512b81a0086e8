//! The live registry state and every operation on it. Everything here runs under the
//! registry's mutex and never blocks or awaits.

use super::delta::DeltaLog;
use super::lease::{effective_status, expected_milli, Key, Lease, Tracked};
use super::preservation::{LegacyCounter, RenewWindow, SelfPreservationStatus};
use super::snapshot::{InstanceList, Snapshot};
use super::wheel::{ExpiryWheel, WheelEntry};
use super::{Clock, RegistryConfig, RegistryStats, RenewOutcome, SelfPreservationMode};
use crate::model::{ActionType, InstanceInfo, LeaseInfo, Status, StatusCounts};
use rand::seq::SliceRandom;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

/// The per-window eviction limit applies per 60 s.
const EVICTION_WINDOW_MS: u64 = 60_000;

#[derive(Debug)]
struct AppState {
    leases: HashMap<Arc<str>, Lease>,
    /// The last published instance list, sorted by id.
    list: InstanceList,
    /// Ids changed since `list` was built (unsorted, may repeat).
    dirty: Vec<Arc<str>>,
}

impl Default for AppState {
    fn default() -> Self {
        AppState {
            leases: HashMap::new(),
            list: Arc::from(Vec::new()),
            dirty: Vec::new(),
        }
    }
}

impl AppState {
    fn mark_dirty(&mut self, id: &Arc<str>) {
        self.dirty.push(id.clone());
        if self.dirty.len() > 2 * self.leases.len() + 64 {
            // Nobody published for a long time: keep the backlog bounded.
            self.dirty.sort_unstable();
            self.dirty.dedup();
        }
    }

    /// The instance list, patched with the changed ids: one merge pass over the previous
    /// list (O(size + changes × log changes)), no full sort.
    fn published_list(&mut self) -> InstanceList {
        if self.dirty.is_empty() {
            return self.list.clone();
        }
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        let old = &self.list;
        let mut out: Vec<Arc<InstanceInfo>> = Vec::with_capacity(self.leases.len());
        let mut rest = old.iter().peekable();
        for id in &dirty {
            while let Some(r) = rest.next_if(|r| r.id() < &**id) {
                out.push(r.clone());
            }
            // Skip the old version of this id, if any.
            let _ = rest.next_if(|r| r.id() == &**id);
            if let Some(lease) = self.leases.get(id) {
                out.push(lease.record.clone());
            }
        }
        out.extend(rest.cloned());
        self.list = out.into();
        self.list.clone()
    }
}

/// The dirty-timestamp verdict of a renew.
#[derive(Debug)]
enum Verdict {
    Renewed,
    Newer(Key),
    Conflict,
}

/// Self-preservation gate inputs at one instant.
#[derive(Debug, Clone, Copy)]
struct Gate {
    /// Self-preservation engaged (lease expiry disabled, except long-expired leases in
    /// improved mode).
    active: bool,
    expected_per_min: f64,
    renews: f64,
    threshold: f64,
}

#[derive(Debug, Default)]
struct Counters {
    registrations: u64,
    renewals: u64,
    cancellations: u64,
    evictions: u64,
}

#[derive(Debug)]
pub(crate) struct State {
    cfg: RegistryConfig,
    clock: Clock,
    apps: HashMap<Arc<str>, AppState>,
    /// App names, sorted (only changes when an app appears or disappears).
    app_names: Vec<Arc<str>>,
    /// id → apps holding it, sorted (E-20).
    ids: HashMap<Arc<str>, Vec<Arc<str>>>,
    lease_count: usize,
    counts: StatusCounts,
    overridden: BTreeSet<Key>,
    revision: u64,
    delta_version: u64,
    delta: DeltaLog,
    wheel: ExpiryWheel,
    /// Expired leases not evicted yet: `(key, lease uid)`.
    pool: Vec<(Key, u64)>,
    window: RenewWindow,
    legacy: LegacyCounter,
    expected_milli: u64,
    next_uid: u64,
    last_evict_ms: Option<u64>,
    evict_window_start_ms: Option<u64>,
    evicted_in_window: usize,
    sp_active: bool,
    protected_count: usize,
    counters: Counters,
}

impl State {
    pub(crate) fn new(cfg: RegistryConfig, clock: Clock) -> State {
        let legacy = LegacyCounter::new(
            u64::from(cfg.legacy_initial_expected_clients),
            super::clock::duration_ms(cfg.renewal_threshold_update_interval),
        );
        State {
            cfg,
            clock,
            apps: HashMap::new(),
            app_names: Vec::new(),
            ids: HashMap::new(),
            lease_count: 0,
            counts: StatusCounts::new(),
            overridden: BTreeSet::new(),
            revision: 1,
            delta_version: 1,
            delta: DeltaLog::default(),
            wheel: ExpiryWheel::default(),
            pool: Vec::new(),
            window: RenewWindow::default(),
            legacy,
            expected_milli: 0,
            next_uid: 0,
            last_evict_ms: None,
            evict_window_start_ms: None,
            evicted_in_window: 0,
            sp_active: false,
            protected_count: 0,
            counters: Counters::default(),
        }
    }

    pub(crate) fn revision(&self) -> u64 {
        self.revision
    }

    pub(crate) fn delta_deadline(&self) -> u64 {
        self.delta.deadline(self.retention_ms())
    }

    fn retention_ms(&self) -> u64 {
        super::clock::duration_ms(self.cfg.delta_retention)
    }

    fn legacy_expiry(&self) -> bool {
        self.cfg.legacy_lease_expiry
    }

    fn lease(&self, app: &str, id: &str) -> Option<&Lease> {
        self.apps.get(app)?.leases.get(id)
    }

    fn lease_mut(&mut self, app: &str, id: &str) -> Option<&mut Lease> {
        self.apps.get_mut(app)?.leases.get_mut(id)
    }

    fn key_of(&self, app: &str, id: &str) -> Option<Key> {
        self.lease(app, id).map(|l| l.key.clone())
    }

    // === visible changes ===

    /// Builds the wire record of `r` for `lease`.
    fn materialise(
        &self,
        mut r: InstanceInfo,
        lease: &Lease,
        action: ActionType,
        now: u64,
    ) -> InstanceInfo {
        let legacy = self.legacy_expiry();
        r.overridden_status = lease.override_status.unwrap_or(Status::Unknown);
        r.action_type = Some(action);
        r.last_updated_timestamp = self.clock.epoch_at(now);
        r.lease_info = LeaseInfo {
            renewal_interval_in_secs: match r.lease_info.renewal_interval_in_secs {
                0 => LeaseInfo::DEFAULT_RENEWAL_INTERVAL_SECS,
                n => n,
            },
            duration_in_secs: u32::try_from(lease.duration_ms / 1000).unwrap_or(u32::MAX),
            registration_timestamp: self.clock.epoch_at(lease.registered_ms),
            last_renewal_timestamp: self.clock.epoch_at(lease.wire_last_renewal_ms(legacy)),
            eviction_timestamp: 0,
            service_up_timestamp: lease.service_up_epoch,
        };
        r.is_coordinating_discovery_server = self
            .cfg
            .server_instance_id
            .as_deref()
            .is_some_and(|me| me == r.id());
        r
    }

    /// Records a visible change of `key` (delta entry, new revision, app list patched at
    /// the next publication).
    fn commit(&mut self, key: Key, record: Arc<InstanceInfo>, now: u64) {
        if let Some(a) = self.apps.get_mut(&key.0) {
            a.mark_dirty(&key.1);
        }
        let retention = self.retention_ms();
        self.delta.sweep(now, retention);
        self.delta.push(now, key, record);
        self.bump_delta();
    }

    fn bump_delta(&mut self) {
        self.revision += 1;
        self.delta_version = self.revision;
    }

    /// Replaces the record of the lease at `key` with `r` (already materialised) as a
    /// visible change.
    fn replace_record(&mut self, key: Key, r: InstanceInfo, now: u64) {
        let record = Arc::new(r);
        let Some(lease) = self.lease_mut(&key.0, &key.1) else {
            return;
        };
        let old = std::mem::replace(&mut lease.record, record.clone());
        self.counts.remove(old.status);
        self.counts.add(record.status);
        self.commit(key, record, now);
    }

    /// Puts the lease's expiry into the wheel if its bucket changed.
    fn schedule(&mut self, key: &Key) {
        let legacy = self.legacy_expiry();
        let Some(lease) = self
            .apps
            .get_mut(&key.0)
            .and_then(|a| a.leases.get_mut(&key.1))
        else {
            return;
        };
        let slot = ExpiryWheel::slot_of(lease.expires_at(legacy));
        if lease.tracked != Tracked::Wheel(slot) {
            lease.tracked = Tracked::Wheel(slot);
            let uid = lease.uid;
            self.wheel.push(
                slot,
                WheelEntry {
                    key: key.clone(),
                    uid,
                },
            );
        }
    }

    fn record_renewal(&mut self, now: u64) {
        self.window.record(now);
        self.legacy.record(now);
        self.counters.renewals += 1;
    }

    // === register (R-10..R-15, R-70) ===

    /// `reported`: the status to remember as the instance's own report; `None`
    /// takes the body's status.
    pub(crate) fn register(
        &mut self,
        mut inst: InstanceInfo,
        replication: bool,
        reported: Option<Status>,
        now: u64,
    ) {
        let now_epoch = self.clock.epoch_at(now);
        if inst.last_dirty_timestamp == 0 {
            // Java defaults a missing lastDirtyTimestamp to the server's clock.
            inst.last_dirty_timestamp = now_epoch;
        }
        if inst.app.bytes().any(|b| b.is_ascii_lowercase()) || !inst.app.is_ascii() {
            inst.app = crate::model::normalize_app_name(&inst.app);
        }
        // 1. Lease duration.
        let duration_secs = match inst.lease_info.duration_in_secs {
            0 => LeaseInfo::DEFAULT_DURATION_SECS,
            n => n,
        };
        let key = self.intern_key(&inst.app, inst.id());
        let previous = self
            .apps
            .get_mut(&key.0)
            .and_then(|a| a.leases.remove(&key.1));
        // 2. Conflict: strictly newer stored copy wins.
        let (mut chosen, reported) = match &previous {
            Some(p) if p.record.last_dirty_timestamp > inst.last_dirty_timestamp => {
                ((*p.record).clone(), p.reported)
            }
            _ => {
                let rep = reported.unwrap_or(inst.status);
                (inst, rep)
            }
        };
        // 3. Expected-renewals bookkeeping.
        if previous.is_none() {
            self.legacy.increment();
        }
        // 5. Override transfer.
        let mut override_status = previous.as_ref().and_then(|p| p.override_status);
        if override_status.is_none() && chosen.overridden_status != Status::Unknown {
            override_status = Some(chosen.overridden_status);
        }
        // 6. Effective status.
        let prev_status = previous.as_ref().map(|p| p.record.status);
        chosen.status = effective_status(chosen.status, override_status, prev_status, replication);
        // 4 + 7. New lease, serviceUp carried over.
        let mut service_up = previous.as_ref().map_or(0, |p| p.service_up_epoch);
        if chosen.status == Status::Up && service_up == 0 {
            service_up = now_epoch;
        }
        let uid = self.next_uid;
        self.next_uid += 1;
        let mut lease = Lease {
            key: key.clone(),
            uid,
            record: placeholder(),
            reported,
            override_status,
            registered_ms: now,
            last_renewal_ms: now,
            renewed: false,
            duration_ms: u64::from(duration_secs) * 1000,
            service_up_epoch: service_up,
            expected_milli: expected_milli(chosen.lease_info.renewal_interval_in_secs),
            tracked: Tracked::Nowhere,
        };
        // 8. ADDED, lastUpdatedTimestamp, delta entry.
        let record = Arc::new(self.materialise(chosen, &lease, ActionType::Added, now));
        lease.record = record.clone();

        match &previous {
            Some(p) => {
                self.counts.remove(p.record.status);
                self.expected_milli = self.expected_milli.saturating_sub(p.expected_milli);
            }
            None => {
                self.lease_count += 1;
                self.index_id(&key);
            }
        }
        self.counts.add(record.status);
        self.expected_milli += lease.expected_milli;
        if override_status.is_some() {
            self.overridden.insert(key.clone());
        } else {
            self.overridden.remove(&key);
        }
        self.apps
            .entry(key.0.clone())
            .or_default()
            .leases
            .insert(key.1.clone(), lease);
        self.schedule(&key);
        // A register restarts the lease: it counts as a renewal in the improved window
        // (not in Java's legacy counter).
        self.window.record(now);
        self.counters.registrations += 1;
        self.commit(key, record, now);
    }

    /// Returns the interned `(app, id)` key, creating the app (and its sorted name entry)
    /// if needed.
    fn intern_key(&mut self, app: &str, id: &str) -> Key {
        let app_key = match self.apps.get_key_value(app) {
            Some((k, _)) => k.clone(),
            None => {
                let k: Arc<str> = Arc::from(app);
                self.apps.insert(k.clone(), AppState::default());
                if let Err(pos) = self.app_names.binary_search(&k) {
                    self.app_names.insert(pos, k.clone());
                }
                k
            }
        };
        let id_key = match self
            .apps
            .get(&app_key)
            .and_then(|a| a.leases.get_key_value(id))
        {
            Some((k, _)) => k.clone(),
            None => match self.ids.get_key_value(id) {
                Some((k, _)) => k.clone(),
                None => Arc::from(id),
            },
        };
        (app_key, id_key)
    }

    fn index_id(&mut self, key: &Key) {
        let apps = self.ids.entry(key.1.clone()).or_default();
        if let Err(pos) = apps.binary_search(&key.0) {
            apps.insert(pos, key.0.clone());
        }
    }

    fn unindex_id(&mut self, key: &Key) {
        if let Some(apps) = self.ids.get_mut(&key.1) {
            apps.retain(|a| *a != key.0);
            if apps.is_empty() {
                self.ids.remove(&key.1);
            }
        }
    }

    /// Drops an app that has no leases left (W-13), e.g. after a register was the only
    /// thing that created it and failed, or after the last cancel.
    fn drop_app_if_empty(&mut self, app: &Arc<str>) {
        if self.apps.get(app).is_some_and(|a| a.leases.is_empty()) {
            self.apps.remove(app);
            if let Ok(pos) = self.app_names.binary_search(app) {
                self.app_names.remove(pos);
            }
        }
    }

    // === renew (R-20..R-23, R-50, R-51) ===

    pub(crate) fn renew(
        &mut self,
        app: &str,
        id: &str,
        last_dirty_timestamp: Option<u64>,
        overridden_status: Option<Status>,
        replication: bool,
        now: u64,
    ) -> RenewOutcome {
        let legacy = self.legacy_expiry();
        let sync = self.cfg.sync_when_timestamp_differs;
        // The common path is one lookup, a timestamp write and one wheel push.
        let (status_change, verdict) = {
            let State { apps, wheel, .. } = &mut *self;
            let Some(lease) = apps.get_mut(app).and_then(|a| a.leases.get_mut(id)) else {
                return RenewOutcome::NotFound;
            };
            let stored = lease.record.status;
            let effective =
                effective_status(stored, lease.override_status, Some(stored), replication);
            if effective == Status::Unknown {
                return RenewOutcome::NotFound;
            }
            lease.touch(now);
            let slot = ExpiryWheel::slot_of(lease.expires_at(legacy));
            if lease.tracked != Tracked::Wheel(slot) {
                lease.tracked = Tracked::Wheel(slot);
                wheel.push(
                    slot,
                    WheelEntry {
                        key: lease.key.clone(),
                        uid: lease.uid,
                    },
                );
            }
            let status_change = (effective != stored).then(|| (lease.key.clone(), effective));
            // dirty-timestamp comparison (the lease is renewed either way).
            let stored_ldt = lease.record.last_dirty_timestamp;
            let verdict = match last_dirty_timestamp.filter(|_| sync) {
                Some(p) if p > stored_ldt => Verdict::Newer(lease.key.clone()),
                Some(p) if p < stored_ldt && replication => Verdict::Conflict,
                _ => Verdict::Renewed,
            };
            (status_change, verdict)
        };
        if let Some((key, status)) = status_change {
            // R-22 / D6: a renew-time status change is a visible change.
            if let Some(lease) = self.lease(&key.0, &key.1) {
                let mut r = (*lease.record).clone();
                r.status = status;
                let r = self.materialise(r, lease, ActionType::Modified, now);
                self.replace_record(key, r, now);
            }
        }
        self.record_renewal(now);
        match verdict {
            Verdict::Renewed => RenewOutcome::Renewed,
            Verdict::Newer(key) => {
                // a replicated heartbeat carries the peer's override.
                if let Some(o) = overridden_status.filter(|o| replication && *o != Status::Unknown)
                {
                    self.store_override(key, o, now);
                }
                RenewOutcome::NotFound
            }
            Verdict::Conflict => match self.lease(app, id) {
                Some(l) => RenewOutcome::Conflict(l.record.clone()),
                None => RenewOutcome::NotFound,
            },
        }
    }

    /// `storeOverriddenStatusIfRequired`: remember `o` and mirror it on the record.
    fn store_override(&mut self, key: Key, o: Status, now: u64) {
        let Some(lease) = self.lease_mut(&key.0, &key.1) else {
            return;
        };
        if lease.override_status == Some(o) {
            return;
        }
        lease.override_status = Some(o);
        self.overridden.insert(key.clone());
        if let Some(lease) = self.lease(&key.0, &key.1) {
            let r = self.materialise((*lease.record).clone(), lease, ActionType::Modified, now);
            self.replace_record(key, r, now);
        }
    }

    // === cancel and eviction (R-30, R-31, R-43) ===

    pub(crate) fn cancel(&mut self, app: &str, id: &str, now: u64) -> bool {
        match self.key_of(app, id) {
            Some(key) => {
                self.remove_lease(key, now);
                self.counters.cancellations += 1;
                true
            }
            None => false,
        }
    }

    /// Removes a lease like a cancel: forgets its override, emits a `DELETED` record.
    fn remove_lease(&mut self, key: Key, now: u64) {
        let Some(lease) = self
            .apps
            .get_mut(&key.0)
            .and_then(|a| a.leases.remove(&key.1))
        else {
            return;
        };
        self.lease_count = self.lease_count.saturating_sub(1);
        self.counts.remove(lease.record.status);
        self.expected_milli = self.expected_milli.saturating_sub(lease.expected_milli);
        self.overridden.remove(&key);
        self.legacy.decrement();
        self.unindex_id(&key);
        let mut r = self.materialise((*lease.record).clone(), &lease, ActionType::Deleted, now);
        r.lease_info.eviction_timestamp = self.clock.epoch_at(now);
        // The list of the app changes (or the app disappears).
        self.commit(key.clone(), Arc::new(r), now);
        self.drop_app_if_empty(&key.0);
    }

    // === R-44: expired but not evicted ===

    /// Whether `lease` is hidden from single-instance lookups and writes at `now`.
    fn hidden(&mut self, app: &str, id: &str, now: u64) -> Option<bool> {
        let legacy = self.legacy_expiry();
        let expired_for = {
            let lease = self.lease(app, id)?;
            if !lease.is_expired(now, legacy) {
                return Some(false);
            }
            now - lease.expires_at(legacy)
        };
        let gate = self.gate(now);
        Some(!gate.active || self.beyond_protection(expired_for))
    }

    fn beyond_protection(&self, expired_for_ms: u64) -> bool {
        self.cfg.self_preservation == SelfPreservationMode::Improved
            && expired_for_ms > super::clock::duration_ms(self.cfg.self_preservation_max_protect)
    }

    pub(crate) fn instance(&mut self, app: &str, id: &str, now: u64) -> Option<Arc<InstanceInfo>> {
        if self.hidden(app, id, now)? {
            return None;
        }
        self.lease(app, id).map(|l| l.record.clone())
    }

    pub(crate) fn instance_by_id(&mut self, id: &str, now: u64) -> Option<Arc<InstanceInfo>> {
        let apps = self.ids.get(id)?.clone();
        apps.iter().find_map(|app| self.instance(app, id, now))
    }

    /// Looks up a live (not hidden) lease for a write, renews it, and returns its key.
    fn live_key_renewed(&mut self, app: &str, id: &str, now: u64) -> Option<Key> {
        if self.hidden(app, id, now)? {
            return None;
        }
        let key = self.key_of(app, id)?;
        if let Some(lease) = self.lease_mut(app, id) {
            lease.touch(now);
        }
        self.schedule(&key);
        Some(key)
    }

    // === overrides (R-62..R-64) ===

    pub(crate) fn set_status_override(
        &mut self,
        app: &str,
        id: &str,
        status: Status,
        last_dirty_timestamp: Option<u64>,
        now: u64,
    ) -> bool {
        let Some(key) = self.live_key_renewed(app, id, now) else {
            return false;
        };
        let now_epoch = self.clock.epoch_at(now);
        let Some(lease) = self.lease_mut(app, id) else {
            return false;
        };
        // R-62a: store the override even when the status does not change.
        lease.override_status = Some(status);
        if status == Status::Up && lease.service_up_epoch == 0 {
            lease.service_up_epoch = now_epoch;
        }
        self.overridden.insert(key.clone());
        let Some(lease) = self.lease(app, id) else {
            return false;
        };
        let old = &lease.record;
        if old.status != status || old.overridden_status != status {
            let mut r = (**old).clone();
            r.status = status;
            // keep the larger dirty timestamp.
            r.last_dirty_timestamp = r
                .last_dirty_timestamp
                .max(last_dirty_timestamp.unwrap_or(0));
            let r = self.materialise(r, lease, ActionType::Modified, now);
            self.replace_record(key, r, now);
        }
        true
    }

    pub(crate) fn delete_status_override(
        &mut self,
        app: &str,
        id: &str,
        value: Option<Status>,
        last_dirty_timestamp: Option<u64>,
        now: u64,
    ) -> bool {
        let Some(key) = self.live_key_renewed(app, id, now) else {
            return false;
        };
        let legacy_delete = self.cfg.legacy_override_delete;
        let Some(lease) = self.lease_mut(app, id) else {
            return false;
        };
        if lease.override_status.take().is_none() {
            return true;
        }
        self.overridden.remove(&key);
        let Some(lease) = self.lease(app, id) else {
            return false;
        };
        let status = match value {
            Some(v) => v,
            None if legacy_delete => Status::Unknown,
            // the rule chain on the instance's own last report, without override
            // (and without LeaseExists, whose stored status is the override's effect).
            None => effective_status(lease.reported, None, None, true),
        };
        let mut r = (*lease.record).clone();
        r.status = status;
        r.last_dirty_timestamp = r
            .last_dirty_timestamp
            .max(last_dirty_timestamp.unwrap_or(0));
        let r = self.materialise(r, lease, ActionType::Modified, now);
        self.replace_record(key, r, now);
        true
    }

    pub(crate) fn overrides(&self) -> Vec<(String, String, Status)> {
        self.overridden
            .iter()
            .filter_map(|(app, id)| {
                let o = self.lease(app, id)?.override_status?;
                Some((app.to_string(), id.to_string(), o))
            })
            .collect()
    }

    // === metadata (R-70) ===

    pub(crate) fn update_metadata(
        &mut self,
        app: &str,
        id: &str,
        entries: Vec<(String, String)>,
        now: u64,
    ) -> bool {
        if self.hidden(app, id, now) != Some(false) {
            return false;
        }
        let Some(lease) = self.lease(app, id) else {
            return false;
        };
        let reported = lease.reported;
        let mut r = (*lease.record).clone();
        let mut seen: Vec<&str> = Vec::with_capacity(entries.len());
        for (k, v) in &entries {
            // First value wins for repeated keys (E-15).
            if seen.contains(&k.as_str()) {
                continue;
            }
            seen.push(k);
            r.metadata.insert(k.clone(), v.clone());
        }
        // Processed as a local register of the stored record (new lease, ADDED).
        self.register(r, false, Some(reported), now);
        true
    }

    // === self-preservation (R-100..R-104) ===

    fn gate(&mut self, now: u64) -> Gate {
        let percent = self.cfg.percent();
        match self.cfg.self_preservation {
            SelfPreservationMode::Disabled => Gate {
                active: false,
                expected_per_min: self.expected_milli as f64 / 1000.0,
                renews: self.window.per_minute(now),
                threshold: 0.0,
            },
            SelfPreservationMode::Improved => {
                let expected = self.expected_milli as f64 / 1000.0;
                // While the registry is younger than the window, expect proportionally less.
                let span = now.min(60_000) as f64 / 60_000.0;
                let threshold = percent * expected * span - 1.0;
                let renews = self.window.per_minute(now);
                Gate {
                    active: self.lease_count >= self.cfg.self_preservation_min_leases
                        && renews < threshold,
                    expected_per_min: expected,
                    renews,
                    threshold,
                }
            }
            SelfPreservationMode::Legacy => {
                self.legacy_maintain(now);
                let interval = self.cfg.expected_interval_secs();
                let threshold = self.legacy.threshold(interval, percent);
                let renews = self.legacy.renews_last_min(now);
                Gate {
                    active: !(threshold > 0 && renews > threshold),
                    expected_per_min: self.legacy.expected as f64 * 60.0 / f64::from(interval),
                    renews: renews as f64,
                    threshold: threshold as f64,
                }
            }
        }
    }

    fn legacy_maintain(&mut self, now: u64) {
        let interval = super::clock::duration_ms(self.cfg.renewal_threshold_update_interval);
        let n = self.lease_count as u64;
        let before = self.legacy.expected;
        if self
            .legacy
            .maybe_update(now, interval, n, self.cfg.percent(), true)
        {
            tracing::info!(
                before,
                after = self.legacy.expected,
                "self-preservation: expected clients updated from the registry size"
            );
        }
    }

    fn reason(&self, gate: &Gate) -> String {
        match self.cfg.self_preservation {
            SelfPreservationMode::Disabled => "self-preservation is disabled".to_owned(),
            SelfPreservationMode::Improved => {
                if self.lease_count < self.cfg.self_preservation_min_leases {
                    format!(
                        "off: {} leases, below the minimum of {}",
                        self.lease_count, self.cfg.self_preservation_min_leases
                    )
                } else if gate.active {
                    format!(
                        "on: {:.1} renewals in the last minute, below the threshold {:.1} \
                         (85% of {:.1} expected, minus 1); expired leases are kept unless \
                         expired for more than {:?}",
                        gate.renews,
                        gate.threshold,
                        gate.expected_per_min,
                        self.cfg.self_preservation_max_protect
                    )
                } else {
                    format!(
                        "off: {:.1} renewals in the last minute reach the threshold {:.1} \
                         ({:.1} expected)",
                        gate.renews, gate.threshold, gate.expected_per_min
                    )
                }
            }
            SelfPreservationMode::Legacy => {
                if gate.threshold <= 0.0 {
                    format!(
                        "on: threshold is 0 (expected clients {}), lease expiry disabled",
                        self.legacy.expected
                    )
                } else if gate.active {
                    format!(
                        "on: {} renewals in the previous minute do not exceed the threshold {} \
                         (expected clients {})",
                        gate.renews, gate.threshold, self.legacy.expected
                    )
                } else {
                    format!(
                        "off: {} renewals in the previous minute exceed the threshold {}",
                        gate.renews, gate.threshold
                    )
                }
            }
        }
    }

    pub(crate) fn self_preservation(&mut self, now: u64) -> SelfPreservationStatus {
        let gate = self.gate(now);
        SelfPreservationStatus {
            mode: self.cfg.self_preservation,
            active: gate.active,
            reason: self.reason(&gate),
            expected_renews_per_min: gate.expected_per_min,
            renews_last_min: gate.renews.round() as u64,
            threshold: gate.threshold,
            expected_clients: (self.cfg.self_preservation == SelfPreservationMode::Legacy)
                .then_some(self.legacy.expected),
            lease_count: self.lease_count,
            protected_count: if gate.active { self.protected_count } else { 0 },
        }
    }

    /// Expired leases currently held back by self-preservation (R-104: expose the list),
    /// as of the last eviction pass, sorted.
    pub(crate) fn protected_leases(&mut self, now: u64) -> Vec<(String, String)> {
        if !self.gate(now).active {
            return Vec::new();
        }
        let legacy = self.legacy_expiry();
        let mut out: Vec<(String, String)> = self
            .pool
            .iter()
            .filter_map(|((app, id), uid)| {
                let lease = self.lease(app, id)?;
                let current = lease.uid == *uid && lease.tracked == Tracked::Pool;
                let expired_for = now.checked_sub(lease.expires_at(legacy))?;
                (current && expired_for > 0 && !self.beyond_protection(expired_for))
                    .then(|| (app.to_string(), id.to_string()))
            })
            .collect();
        out.sort();
        out
    }

    /// Legacy mode, R-101 first row.
    pub(crate) fn open_for_traffic(&mut self, copied: usize) {
        self.legacy.expected = match copied {
            0 => u64::from(self.cfg.legacy_initial_expected_clients),
            n => n as u64,
        };
    }

    // === eviction (R-42) ===

    pub(crate) fn evict(&mut self, now: u64) -> usize {
        let legacy = self.legacy_expiry();
        let interval = super::clock::duration_ms(self.cfg.eviction_interval).max(10);
        // Lateness compensation: a stalled task does not mass-expire leases.
        let compensation = self
            .last_evict_ms
            .map_or(0, |last| now.saturating_sub(last).saturating_sub(interval));
        self.last_evict_ms = Some(now);
        let cutoff = now.saturating_sub(compensation);

        // 1. Re-check the pool first (so that a lease revived and expired again is never
        //    pooled twice): keep what is still expired, send the rest back to the wheel.
        let pool = std::mem::take(&mut self.pool);
        let mut requeue: Vec<Key> = Vec::new();
        for (key, uid) in pool {
            let Some(lease) = self.lease_mut(&key.0, &key.1) else {
                continue;
            };
            if lease.uid != uid || lease.tracked != Tracked::Pool {
                continue;
            }
            if lease.is_expired(cutoff, legacy) {
                self.pool.push((key, uid));
            } else {
                lease.tracked = Tracked::Nowhere;
                requeue.push(key);
            }
        }
        for key in requeue {
            self.schedule(&key);
        }

        // 2. Drain the wheel up to the cutoff second.
        for (slot, entries) in self.wheel.drain_through(ExpiryWheel::slot_of(cutoff)) {
            for entry in entries {
                let Some(lease) = self.lease_mut(&entry.key.0, &entry.key.1) else {
                    continue;
                };
                if lease.uid != entry.uid || lease.tracked != Tracked::Wheel(slot) {
                    continue; // stale: renewed, re-registered or removed since
                }
                if lease.is_expired(cutoff, legacy) {
                    lease.tracked = Tracked::Pool;
                    self.pool.push((entry.key, entry.uid));
                } else {
                    self.wheel.push(slot, entry);
                }
            }
        }

        // 3. The self-preservation gate.
        let gate = self.gate(now);
        if gate.active != self.sp_active {
            self.sp_active = gate.active;
            let reason = self.reason(&gate);
            if gate.active {
                tracing::warn!(%reason, "self-preservation engaged: lease expiry suspended");
            } else {
                tracing::info!(%reason, "self-preservation released: lease expiry enabled");
            }
        }
        let mut candidates: Vec<usize> = Vec::new();
        for (i, (key, _)) in self.pool.iter().enumerate() {
            let evictable = !gate.active
                || self.lease(&key.0, &key.1).is_some_and(|l| {
                    self.beyond_protection(cutoff.saturating_sub(l.expires_at(legacy)))
                });
            if evictable {
                candidates.push(i);
            }
        }
        self.protected_count = if gate.active {
            self.pool.len() - candidates.len()
        } else {
            0
        };

        // 4. The per-window limit: size − floor(size × percent) per 60 s.
        if self.evict_window_start_ms.map_or(true, |start| {
            now.saturating_sub(start) >= EVICTION_WINDOW_MS
        }) {
            self.evict_window_start_ms = Some(now);
            self.evicted_in_window = 0;
        }
        let limit = eviction_limit(self.lease_count, self.cfg.percent());
        let budget = limit.saturating_sub(self.evicted_in_window);
        let n = budget.min(candidates.len());
        if n == 0 {
            return 0;
        }
        if n < candidates.len() {
            tracing::debug!(
                expired = candidates.len(),
                evicting = n,
                "eviction limited by the per-window limit"
            );
        }

        // 5. Evict a uniformly random choice across all apps.
        let (chosen, _) = candidates.partial_shuffle(&mut rand::rng(), n);
        let mut chosen: Vec<usize> = chosen.to_vec();
        chosen.sort_unstable();
        let mut victims = Vec::with_capacity(n);
        for &i in chosen.iter().rev() {
            if i < self.pool.len() {
                victims.push(self.pool.swap_remove(i).0);
            }
        }
        for key in &victims {
            tracing::info!(app = %key.0, id = %key.1, "evicting expired lease");
            self.remove_lease(key.clone(), now);
            self.counters.evictions += 1;
        }
        self.evicted_in_window += victims.len();
        victims.len()
    }

    /// Drops delta entries past the retention window; a drop is a visible change.
    pub(crate) fn sweep_delta(&mut self, now: u64) {
        if self.delta.sweep(now, self.retention_ms()) {
            self.bump_delta();
        }
    }

    /// Legacy threshold updates, when due (the maintenance loop calls this).
    pub(crate) fn maintain(&mut self, now: u64) {
        self.sweep_delta(now);
        if self.cfg.self_preservation == SelfPreservationMode::Legacy {
            self.legacy_maintain(now);
        }
    }

    // === snapshots ===

    pub(crate) fn build_snapshot(&mut self) -> Snapshot {
        let mut apps = Vec::with_capacity(self.app_names.len());
        for name in &self.app_names {
            let Some(a) = self.apps.get_mut(name) else {
                continue;
            };
            let list = a.published_list();
            if !list.is_empty() {
                apps.push((name.clone(), list));
            }
        }
        Snapshot {
            revision: self.revision,
            hashcode: self.counts.hashcode(),
            counts: self.counts,
            apps,
            len: self.lease_count,
            delta: self.delta.view(),
            delta_version: self.delta_version,
            vips: OnceLock::new(),
            svips: OnceLock::new(),
        }
    }

    pub(crate) fn stats(&mut self, now: u64) -> RegistryStats {
        let active = self.gate(now).active;
        RegistryStats {
            applications: self.app_names.len(),
            instances: self.lease_count,
            status_counts: self.counts,
            overrides: self.overridden.len(),
            delta_records: self.delta.len(),
            revision: self.revision,
            registrations: self.counters.registrations,
            renewals: self.counters.renewals,
            cancellations: self.counters.cancellations,
            evictions: self.counters.evictions,
            expired_pending: self.pool.len(),
            expiry_index_len: self.wheel.len(),
            self_preservation_active: active,
        }
    }

    pub(crate) fn lease_count(&self) -> usize {
        self.lease_count
    }
}

/// A shared empty record for the instant between creating a lease and materialising it.
fn placeholder() -> Arc<InstanceInfo> {
    static EMPTY: OnceLock<Arc<InstanceInfo>> = OnceLock::new();
    EMPTY
        .get_or_init(|| Arc::new(InstanceInfo::builder("").build()))
        .clone()
}

/// `size − floor(size × percent)`.
pub(crate) fn eviction_limit(size: usize, percent: f64) -> usize {
    let keep = (size as f64 * percent) as usize;
    size.saturating_sub(keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    // the incrementally patched app lists always equal a full rebuild.
    #[test]
    fn patched_lists_match_full_rebuild() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut st = State::new(RegistryConfig::default(), Clock::starting_at(0));
        let mut now = 0;
        for step in 0..2_000 {
            now += 10;
            let app = ["A", "B", "C"][rng.random_range(0..3)];
            let id = format!("i-{}", rng.random_range(0..40));
            match rng.random_range(0..4) {
                0 | 1 => {
                    let i = InstanceInfo::builder(app).instance_id(id).build();
                    st.register(i, false, None, now);
                }
                2 => {
                    st.cancel(app, &id, now);
                }
                _ => {
                    st.set_status_override(app, &id, Status::OutOfService, None, now);
                }
            }
            if step % 7 == 0 {
                let snap = st.build_snapshot();
                let mut expected: Vec<(String, Vec<(String, Status)>)> = st
                    .apps
                    .iter()
                    .map(|(name, a)| {
                        let mut v: Vec<(String, Status)> = a
                            .leases
                            .values()
                            .map(|l| (l.record.id().to_owned(), l.record.status))
                            .collect();
                        v.sort();
                        (name.to_string(), v)
                    })
                    .filter(|(_, v)| !v.is_empty())
                    .collect();
                expected.sort();
                let got: Vec<(String, Vec<(String, Status)>)> = snap
                    .apps()
                    .map(|(n, l)| {
                        let v = l.iter().map(|i| (i.id().to_owned(), i.status)).collect();
                        (n.to_owned(), v)
                    })
                    .collect();
                assert_eq!(got, expected, "step {step}");
                assert_eq!(snap.len(), st.lease_count);
                assert_eq!(
                    snap.hashcode(),
                    crate::model::apps_hashcode(
                        snap.apps().flat_map(|(_, l)| l.iter().map(|i| i.status))
                    )
                );
            }
        }
    }

    // the limit table.
    #[test]
    fn r42_eviction_limit_table() {
        for size in 1..=6 {
            assert_eq!(eviction_limit(size, 0.85), 1, "size {size}");
        }
        for size in 7..=13 {
            assert_eq!(eviction_limit(size, 0.85), 2, "size {size}");
        }
        assert_eq!(eviction_limit(20, 0.85), 3);
        assert_eq!(eviction_limit(100, 0.85), 15);
        assert_eq!(eviction_limit(1000, 0.85), 150);
        assert_eq!(eviction_limit(0, 0.85), 0);
    }
}
