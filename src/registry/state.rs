//! The live registry state: the parts, composed, and the operations that span them.
//! Everything here runs under the registry's mutex and never blocks or awaits.
//!
//! Each part owns its state and its rules: [`Index`] the leases and their per-app lists,
//! [`ExpiryWheel`] when leases expire, [`Eviction`] which expired leases go,
//! [`Preservation`] the self-preservation gate and its counters, [`Overrides`] the status
//! overrides and the rule chain, [`DeltaLog`] the versioned change log, [`Stamp`] the wire
//! form of a record, [`Tombstones`] the client cancels anti-entropy may repeat to a peer. An operation here reads as the sequence of the parts it touches.

use super::delta::DeltaLog;
use super::eviction::Eviction;
use super::index::Index;
use super::lease::{expected_milli, Key, Lease, Stamp, Tracked};
use super::overrides::{effective_status, Overrides};
use super::preservation::{Preservation, SelfPreservationStatus};
use super::publish::Publication;
use super::renew::Verdict;
use super::stats::Counters;
use super::tombstone::Tombstones;
use super::wheel::ExpiryWheel;
use super::{Clock, Origin, RegistryConfig, RegistryStats, Renew, RenewOutcome};
use crate::model::{ActionType, InstanceInfo, LeaseInfo, Status};
use std::sync::{Arc, OnceLock};

#[derive(Debug)]
pub(crate) struct State {
    clock: Clock,
    /// Java's 2× expiry once renewed.
    legacy_expiry: bool,
    /// `syncWhenTimestampDiffers`.
    compare_dirty: bool,
    stamp: Stamp,
    index: Index,
    wheel: ExpiryWheel,
    eviction: Eviction,
    preservation: Preservation,
    overrides: Overrides,
    delta: DeltaLog,
    counters: Counters,
    tombstones: Tombstones,
    /// See [`RegistrySnapshot::content_revision`](super::RegistrySnapshot::content_revision).
    content_revision: u64,
    /// The content revision last announced (see `take_content_change`).
    content_notified: u64,
    /// Apps changed since the last announcement (may repeat): whose watchers to wake.
    changed_apps: Vec<Arc<str>>,
}

impl State {
    pub(crate) fn new(cfg: &RegistryConfig, clock: Clock) -> State {
        State {
            clock,
            legacy_expiry: cfg.legacy_lease_expiry,
            compare_dirty: cfg.sync_when_timestamp_differs,
            stamp: Stamp::new(cfg, clock),
            index: Index::default(),
            wheel: ExpiryWheel::default(),
            eviction: Eviction::new(cfg),
            preservation: Preservation::new(cfg),
            overrides: Overrides::new(cfg.legacy_override_delete),
            delta: DeltaLog::new(super::clock::duration_ms(cfg.delta_retention)),
            counters: Counters::default(),
            tombstones: Tombstones::default(),
            content_revision: 0,
            content_notified: 0,
            changed_apps: Vec::new(),
        }
    }

    pub(crate) fn revision(&self) -> u64 {
        self.delta.version()
    }

    pub(crate) fn delta_deadline(&self) -> u64 {
        self.delta.deadline()
    }

    pub(crate) fn lease_count(&self) -> usize {
        self.index.len()
    }

    // === visible changes ===

    /// Records a visible change of `key` (delta entry, new revision, app list patched at
    /// the next publication).
    fn commit(&mut self, key: Key, record: Arc<InstanceInfo>, now: u64) {
        self.delta.record(now, key.clone(), record);
        self.content_revision = self.delta.version();
        self.index.mark_dirty(&key, self.content_revision);
        self.changed_apps.push(key.0);
    }

    /// The revision of the last change of the content (not of the delta window).
    pub(crate) fn content_revision(&self) -> u64 {
        self.content_revision
    }

    /// The content revision if it changed since the last call (to wake waiters once per
    /// change, with one field compare on every operation).
    pub(crate) fn take_content_change(&mut self) -> Option<u64> {
        (self.content_revision != self.content_notified).then(|| {
            self.content_notified = self.content_revision;
            self.content_revision
        })
    }

    /// Calls `f` with each app changed since the last call (an app may come more than
    /// once), to wake its watchers. The list keeps its room: no allocation per change.
    pub(crate) fn drain_changed_apps(&mut self, mut f: impl FnMut(&Arc<str>)) {
        for app in self.changed_apps.drain(..) {
            f(&app);
        }
    }

    /// A `MODIFIED` change of the lease at `key`: its record, edited by `edit`, stamped
    /// and committed.
    fn modify(&mut self, key: Key, now: u64, edit: impl FnOnce(&mut InstanceInfo)) {
        let Some(lease) = self.index.get(&key.0, &key.1) else {
            return;
        };
        let mut r = (*lease.record).clone();
        edit(&mut r);
        let record = Arc::new(self.stamp.record(r, lease, ActionType::Modified, now));
        if self.index.replace_record(&key, record.clone()) {
            self.commit(key, record, now);
        }
    }

    // === register (R-10..R-15, R-70) ===

    /// `reported`: the status to remember as the instance's own report; `None`
    /// takes the body's status.
    pub(crate) fn register(
        &mut self,
        mut inst: Box<InstanceInfo>,
        origin: Origin,
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
        let key = self.index.intern(&inst.app, inst.id());
        let uid = self.index.next_uid();
        let previous = self.index.get(&key.0, &key.1);
        // 2. Conflict: strictly newer stored copy wins.
        let (mut chosen, reported) = match previous {
            Some(p) if p.record.last_dirty_timestamp > inst.last_dirty_timestamp => {
                (Box::new((*p.record).clone()), p.reported)
            }
            _ => {
                let rep = reported.unwrap_or(inst.status);
                (inst, rep)
            }
        };
        // 3. Expected-renewals bookkeeping: `Preservation::registered` below.
        // 5. Override transfer.
        let mut override_status = previous.and_then(|p| p.override_status);
        if override_status.is_none() && chosen.overridden_status != Status::Unknown {
            override_status = Some(chosen.overridden_status);
        }
        // 6. Effective status.
        let prev_status = previous.map(|p| p.record.status);
        chosen.status = effective_status(chosen.status, override_status, prev_status, origin);
        // 4 + 7. New lease, serviceUp carried over.
        let mut service_up = previous.map_or(0, |p| p.service_up_epoch);
        if chosen.status == Status::Up && service_up == 0 {
            service_up = now_epoch;
        }
        let expected = expected_milli(chosen.lease_info.renewal_interval_in_secs);
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
            expected_milli: expected,
            tracked: Tracked::Nowhere,
            client_write: origin == Origin::Client,
        };
        // 8. ADDED, lastUpdatedTimestamp, delta entry.
        // Stamped in place and moved into the `Arc` once (the record is ~600 bytes).
        self.stamp
            .stamp(&mut chosen, &lease, ActionType::Added, now);
        let record: Arc<InstanceInfo> = Arc::from(chosen);
        lease.record = record.clone();
        self.wheel.schedule(&mut lease, self.legacy_expiry);
        self.overrides.track(&key, override_status);
        self.tombstones.forget(&key);
        let replaced = self.index.insert(lease);
        self.preservation
            .registered(replaced.as_ref(), expected, now);
        self.counters.registrations += 1;
        self.commit(key, record, now);
    }

    // === renew (R-20..R-23, R-50, R-51) ===

    pub(crate) fn renew(
        &mut self,
        app: &str,
        id: &str,
        renew: Renew,
        origin: Origin,
        now: u64,
    ) -> RenewOutcome {
        // The common path is one lookup and a timestamp write (the wheel is left alone).
        let (status_change, verdict, key) = {
            let Some(lease) = self.index.get_mut(app, id) else {
                self.counters.renewals_not_found += 1;
                return RenewOutcome::NotFound;
            };
            let stored = lease.record.status;
            let effective = effective_status(stored, lease.override_status, Some(stored), origin);
            if effective == Status::Unknown {
                self.counters.renewals_not_found += 1;
                return RenewOutcome::NotFound;
            }
            lease.touch(now);
            lease.client_write = origin == Origin::Client;
            self.wheel.renewed(lease, self.legacy_expiry);
            let status_change = (effective != stored).then_some(effective);
            // dirty-timestamp comparison (the lease is renewed either way).
            let stored_ldt = lease.record.last_dirty_timestamp;
            let verdict = Verdict::of(&renew, stored_ldt, self.compare_dirty, origin);
            let key =
                (status_change.is_some() || verdict == Verdict::Newer).then(|| lease.key.clone());
            (status_change, verdict, key)
        };
        if let (Some(status), Some(key)) = (status_change, &key) {
            // R-22 / D6: a renew-time status change is a visible change.
            self.modify(key.clone(), now, |r| r.status = status);
        }
        self.preservation.renewed(now);
        self.counters.renewals += 1;
        match verdict {
            Verdict::Renewed => RenewOutcome::Renewed,
            Verdict::Newer => {
                // a replicated heartbeat carries the peer's override.
                let recover = renew
                    .overridden_status
                    .filter(|o| origin.is_replication() && *o != Status::Unknown);
                if let (Some(o), Some(key)) = (recover, key) {
                    if let Some(lease) = self.index.get_mut(&key.0, &key.1) {
                        if self.overrides.recover(lease, o) {
                            self.modify(key, now, |_| {});
                        }
                    }
                }
                RenewOutcome::NotFound
            }
            Verdict::Conflict => match self.index.get(app, id) {
                Some(l) => RenewOutcome::Conflict(l.record.clone()),
                None => RenewOutcome::NotFound,
            },
        }
    }

    // === cancel and eviction (R-30, R-31, R-42, R-43) ===

    pub(crate) fn cancel(&mut self, app: &str, id: &str, origin: Origin, now: u64) -> bool {
        match self
            .index
            .get(app, id)
            .map(|l| (l.key.clone(), l.record.last_dirty_timestamp))
        {
            Some((key, ldt)) => {
                if origin == Origin::Client {
                    self.tombstones.cancelled(key.clone(), ldt, now);
                }
                self.remove_lease(key, now);
                self.counters.cancellations += 1;
                true
            }
            None => false,
        }
    }

    /// Removes a lease like a cancel: forgets its override, emits a `DELETED` record.
    fn remove_lease(&mut self, key: Key, now: u64) {
        let Some(lease) = self.index.remove(&key) else {
            return;
        };
        self.preservation.removed(&lease);
        self.overrides.forget(&key);
        let mut r = self
            .stamp
            .record((*lease.record).clone(), &lease, ActionType::Deleted, now);
        r.lease_info.eviction_timestamp = self.clock.epoch_at(now);
        self.commit(key, Arc::new(r), now);
    }

    /// One eviction pass; returns how many leases it evicted.
    pub(crate) fn evict(&mut self, now: u64) -> usize {
        let cutoff = self.eviction.start_pass(now);
        self.eviction
            .collect(cutoff, &mut self.index, &mut self.wheel);
        let gate = self.preservation.gate(now, self.index.len());
        self.preservation.observe(&gate);
        let victims = self.eviction.select(now, cutoff, &gate, &self.index);
        let evicted = victims.len();
        for key in victims {
            tracing::info!(app = %key.0, id = %key.1, "evicting expired lease");
            self.remove_lease(key, now);
            self.counters.evictions += 1;
        }
        evicted
    }

    // === R-44: expired but not evicted ===

    /// Whether the lease `(app, id)` is hidden from single-instance lookups and writes at
    /// `now`: expired, and not protected by self-preservation.
    fn hidden(&mut self, app: &str, id: &str, now: u64) -> Option<bool> {
        let legacy = self.legacy_expiry;
        let expired_for = {
            let lease = self.index.get(app, id)?;
            if !lease.is_expired(now, legacy) {
                return Some(false);
            }
            now - lease.expires_at(legacy)
        };
        let gate = self.preservation.gate(now, self.index.len());
        Some(!gate.protects(expired_for))
    }

    pub(crate) fn instance(&mut self, app: &str, id: &str, now: u64) -> Option<Arc<InstanceInfo>> {
        if self.hidden(app, id, now)? {
            return None;
        }
        self.index.get(app, id).map(|l| l.record.clone())
    }

    pub(crate) fn instance_by_id(&mut self, id: &str, now: u64) -> Option<Arc<InstanceInfo>> {
        let apps = self.index.apps_of(id).to_vec();
        apps.iter().find_map(|app| self.instance(app, id, now))
    }

    /// Looks up a live (not hidden) lease for a write, renews it, and returns its key.
    fn live_key_renewed(&mut self, app: &str, id: &str, now: u64) -> Option<Key> {
        if self.hidden(app, id, now)? {
            return None;
        }
        let lease = self.index.get_mut(app, id)?;
        lease.touch(now);
        self.wheel.renewed(lease, self.legacy_expiry);
        Some(lease.key.clone())
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
        let Some(lease) = self.index.get_mut(app, id) else {
            return false;
        };
        if self.overrides.set(lease, status, now_epoch) {
            self.modify(key, now, |r| {
                r.status = status;
                keep_larger_dirty_timestamp(r, last_dirty_timestamp);
            });
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
        let Some(lease) = self.index.get_mut(app, id) else {
            return false;
        };
        if let Some(status) = self.overrides.delete(lease, value) {
            self.modify(key, now, |r| {
                r.status = status;
                keep_larger_dirty_timestamp(r, last_dirty_timestamp);
            });
        }
        true
    }

    pub(crate) fn overrides(&self) -> Vec<(String, String, Status)> {
        self.overrides.list(&self.index)
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
        let Some(lease) = self.index.get(app, id) else {
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
        self.register(Box::new(r), Origin::Client, Some(reported), now);
        true
    }

    // === who holds the client's last write (P-35) ===

    /// Whether the lease `(app, id)` exists and its last register or renew came from a
    /// client of this server.
    pub(crate) fn client_write(&self, app: &str, id: &str) -> bool {
        self.index.get(app, id).is_some_and(|l| l.client_write)
    }

    /// The client cancels this server remembers, as `((app, id), lastDirtyTimestamp)`.
    pub(crate) fn client_cancels(&mut self, now: u64) -> Vec<(Key, u64)> {
        self.tombstones.expire(now);
        self.tombstones.list()
    }

    // === self-preservation (R-100..R-104) ===

    pub(crate) fn self_preservation(&mut self, now: u64) -> SelfPreservationStatus {
        let protected = self.eviction.protected_count();
        self.preservation.status(now, self.index.len(), protected)
    }

    /// Expired leases currently held back by self-preservation (R-104: expose the list),
    /// as of the last eviction pass, sorted.
    pub(crate) fn protected_leases(&mut self, now: u64) -> Vec<(String, String)> {
        let gate = self.preservation.gate(now, self.index.len());
        self.eviction.protected(now, &gate, &self.index)
    }

    /// The wall-clock time (epoch ms) of the lease's last renewal, `None` for an unknown
    /// `(app, id)`.
    pub(crate) fn last_renewal(&self, app: &str, id: &str) -> Option<u64> {
        self.index
            .get(app, id)
            .map(|l| self.clock.epoch_at(l.last_renewal_ms))
    }

    /// Legacy mode, R-101 first row.
    pub(crate) fn open_for_traffic(&mut self, copied: usize) {
        self.preservation.open_for_traffic(copied);
    }

    // === maintenance ===

    /// Drops delta entries past the retention window; a drop is a visible change.
    pub(crate) fn sweep_delta(&mut self, now: u64) {
        self.delta.sweep(now);
    }

    /// The maintenance loop's periodic work: the delta sweep and (legacy mode) the
    /// threshold update, when due.
    pub(crate) fn maintain(&mut self, now: u64) {
        self.sweep_delta(now);
        self.tombstones.expire(now);
        self.preservation.maintain(now, self.index.len());
    }

    // === snapshots and stats ===

    /// What changed since the last publication, taken at this instant (O(apps)); the
    /// caller builds the snapshot from it outside the lock ([`Publication::build`]).
    pub(crate) fn take_publication(&mut self) -> Publication {
        Publication {
            revision: self.delta.version(),
            content_revision: self.content_revision,
            counts: self.index.counts(),
            len: self.index.len(),
            apps: self.index.take_updates(),
            delta: self.delta.take_update(),
        }
    }

    pub(crate) fn stats(&mut self, now: u64) -> RegistryStats {
        let active = self.preservation.gate(now, self.index.len()).active;
        RegistryStats {
            applications: self.index.app_count(),
            instances: self.index.len(),
            status_counts: self.index.counts(),
            overrides: self.overrides.len(),
            delta_records: self.delta.len(),
            revision: self.delta.version(),
            registrations: self.counters.registrations,
            renewals: self.counters.renewals,
            renewals_not_found: self.counters.renewals_not_found,
            cancellations: self.counters.cancellations,
            evictions: self.counters.evictions,
            expired_pending: self.eviction.pending(),
            expiry_index_len: self.wheel.len(),
            self_preservation_active: active,
        }
    }
}

/// a status change keeps the larger of the stored and the caller's dirty timestamp.
fn keep_larger_dirty_timestamp(r: &mut InstanceInfo, caller: Option<u64>) {
    r.last_dirty_timestamp = r.last_dirty_timestamp.max(caller.unwrap_or(0));
}

/// A shared empty record for the instant between creating a lease and stamping it.
fn placeholder() -> Arc<InstanceInfo> {
    static EMPTY: OnceLock<Arc<InstanceInfo>> = OnceLock::new();
    EMPTY
        .get_or_init(|| Arc::new(InstanceInfo::builder("").build()))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    // W-13 / R-92: an app that empties and is registered again between two publications
    // does not inherit the instances of its earlier list.
    #[test]
    fn an_app_emptied_and_filled_again_starts_from_an_empty_list() {
        let mut st = State::new(&RegistryConfig::default(), Clock::starting_at(0));
        let one = |id: &str| InstanceInfo::builder("A").instance_id(id).build();
        st.register(Box::new(one("a1")), Origin::Client, None, 1);
        st.register(Box::new(one("a2")), Origin::Client, None, 2);
        let first = st.take_publication().build(None);
        assert_eq!(first.app("A").map(<[_]>::len), Some(2));
        st.cancel("A", "a1", Origin::Client, 3);
        st.cancel("A", "a2", Origin::Client, 4);
        st.register(Box::new(one("a3")), Origin::Client, None, 5);
        let second = st.take_publication().build(Some(&first));
        let ids: Vec<&str> = second.app("A").unwrap().iter().map(|i| i.id()).collect();
        assert_eq!(ids, vec!["a3"]);
        assert_eq!(second.len(), 1);
        // The delta still shows both cancels and the registration.
        assert_eq!(second.delta_len(), 3);
    }

    // the incrementally patched app lists always equal a full rebuild.
    #[test]
    fn patched_lists_match_full_rebuild() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut st = State::new(&RegistryConfig::default(), Clock::starting_at(0));
        let mut now = 0;
        let mut last: Option<super::super::RegistrySnapshot> = None;
        for step in 0..2_000 {
            now += 10;
            let app = ["A", "B", "C"][rng.random_range(0..3)];
            let id = format!("i-{}", rng.random_range(0..40));
            match rng.random_range(0..4) {
                0 | 1 => {
                    let i = InstanceInfo::builder(app).instance_id(id).build();
                    st.register(Box::new(i), Origin::Client, None, now);
                }
                2 => {
                    st.cancel(app, &id, Origin::Client, now);
                }
                _ => {
                    st.set_status_override(app, &id, Status::OutOfService, None, now);
                }
            }
            if step % 7 == 0 {
                let snap = st.take_publication().build(last.as_ref());
                let mut expected: Vec<(String, Vec<(String, Status)>)> = st
                    .index
                    .apps()
                    .map(|(name, leases)| {
                        let mut v: Vec<(String, Status)> = leases
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
                assert_eq!(snap.len(), st.lease_count());
                assert_eq!(
                    snap.hashcode(),
                    crate::model::apps_hashcode(
                        snap.apps().flat_map(|(_, l)| l.iter().map(|i| i.status))
                    )
                );
                last = Some(snap);
            }
        }
    }
}
