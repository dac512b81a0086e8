//! The registry state machine (spec section 4): leases, register / renew / cancel, status
//! overrides and their rule chain, metadata updates, the delta log, eviction,
//! self-preservation and immutable snapshots. No HTTP here: the server maps requests onto
//! these calls.
//!
//! Every write says where it comes from ([`Origin`]): a client's own request, a peer's
//! replication or the startup copy from a peer. The origin selects the replication
//! semantics; forwarding to peers is the caller's job.
//!
//! ```
//! use tower_eureka::model::{InstanceInfo, Status};
//! use tower_eureka::registry::{Origin, Registry, RegistryConfig, Renew, RenewOutcome};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), tower_eureka::model::InvalidText> {
//! let registry = Registry::new(RegistryConfig {
//!     publish_interval: Duration::ZERO, // make every change visible at once
//!     ..RegistryConfig::default()
//! });
//! // The server spawns the maintenance loop (eviction, delta retention).
//! tokio::spawn(registry.clone().run());
//!
//! let orders = InstanceInfo::builder("orders").host_name("orders-1").port(8080).build();
//! let id = orders.id().to_owned();
//! registry.register(orders, Origin::Client)?;
//! assert_eq!(registry.renew("ORDERS", &id, Renew::new(), Origin::Client), RenewOutcome::Renewed);
//!
//! let snap = registry.snapshot();
//! assert_eq!(snap.hashcode(), "UP_1_");
//! assert_eq!(snap.app("ORDERS").map(|l| l.len()), Some(1));
//! assert_eq!(snap.delta_len(), 1); // the registration, as ADDED
//!
//! assert!(registry.set_status_override("ORDERS", &id, Status::OutOfService, None, Origin::Client));
//! assert_eq!(registry.snapshot().hashcode(), "OUT_OF_SERVICE_1_");
//!
//! // A record XML cannot carry is refused, never stored.
//! let bad = InstanceInfo::builder("orders").host_name("orders-\u{1}").build();
//! assert!(registry.register(bad, Origin::Client).is_err());
//!
//! // Stop heartbeating: 90 s later the lease has expired and the next pass evicts it.
//! tokio::time::sleep(Duration::from_secs(100)).await;
//! assert!(registry.snapshot().is_empty());
//! # Ok(())
//! # }
//! ```
//!
//! # Design
//!
//! * **Live state** sits behind one `std::sync::Mutex` (short critical sections, never held
//!   across an `.await`; there is none inside). It is composed of parts that each own
//!   their state: the lease index, the expiry wheel, eviction, self-preservation, status
//!   overrides, the versioned delta log, and the client cancels remembered for
//!   anti-entropy (P-35; each lease also records whether its last register or renew came
//!   from a client). Apps map to per-app hash maps of leases; a
//!   lease holds its record as an immutable `Arc<InstanceInfo>` that is replaced, never
//!   mutated, on every visible change (R-03).
//! * **A heartbeat is O(1)**: one hash lookup, a timestamp write, a counter increment; it
//!   leaves the expiry wheel alone (buckets keyed by expiry second: a lease's entry is
//!   pushed again at its current expiry when its bucket is drained, stale entries are
//!   skipped). It never scans and it is **not a visible change**: it neither
//!   rebuilds a record nor bumps the revision. Consequently `leaseInfo.lastRenewalTimestamp`
//!   in a snapshot is "as of the record's last visible change" (register, status change,
//!   cancel); R-41 forbids clients and tests from relying on it. Renew-time status changes
//!   *are* visible (R-22, D6).
//! * **Eviction** drains the wheel up to `now − lateness compensation`, keeps expired leases
//!   in a pool, consults the self-preservation gate and evicts a uniformly random choice of
//!   at most `size − floor(size × 0.85)` leases per 60 s window (R-42). Its cost is what
//!   expires, not what is registered.
//! * **Snapshots** are immutable and built copy-on-write: unchanged apps share their
//!   `Arc<[Arc<InstanceInfo>]>` lists, the hash comes from incrementally kept
//!   [`StatusCounts`](crate::model::StatusCounts), the delta view is rebuilt only when the
//!   delta changed. A publication holds the lock only to take what changed since the last
//!   one (O(apps)) and patches the changed lists outside it, from the last published
//!   snapshot, so that publishing after a mass change never stalls heartbeats. Publication
//!   is lazy and coalesced: [`Registry::snapshot`] returns the
//!   published snapshot (an `arc-swap` load) unless the live revision moved *and*
//!   [`publish_interval`](RegistryConfig::publish_interval) has passed since the last
//!   publication, in which case it publishes first. A change is therefore never invisible
//!   for longer than `publish_interval`, measured to the first read after it. The delta
//!   window's expiry is checked on every read (one clock read), so retention is exact.
//! * **Time** comes from a [`Clock`] derived from tokio time: paused-time tests control
//!   leases and wire timestamps alike.

mod clock;
mod config;
mod delta;
mod eviction;
mod index;
mod lease;
mod origin;
mod overrides;
mod preservation;
mod publish;
mod renew;
mod sharded;
mod snapshot;
mod state;
mod stats;
mod tombstone;
mod wheel;

/// The registry's hash maps: keyed by instance ids and app names that clients choose, so
/// keyed per map with a random seed (foldhash's quality hasher), and several times cheaper
/// per lookup than SipHash on these short keys (a heartbeat is one lookup).
type Map<K, V> = std::collections::HashMap<K, V, foldhash::quality::RandomState>;

pub use self::clock::Clock;
pub use self::config::{RegistryConfig, SelfPreservationMode};
pub use self::origin::Origin;
pub use self::preservation::SelfPreservationStatus;
pub use self::renew::{Renew, RenewOutcome};
pub use self::snapshot::{RegistrySnapshot, TargetState};
pub use self::stats::RegistryStats;

use self::clock::duration_ms;
use self::state::State;
use crate::model::{check_metadata_entry, InstanceInfo, InvalidText, Status};
use arc_swap::ArcSwap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The registry: a cheap-to-clone handle (`Arc` inside) on the live state and the published
/// snapshot. See the [module docs](self).
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    config: RegistryConfig,
    clock: Clock,
    state: Mutex<State>,
    /// Held by the one publication in progress (never with `state` held first): each
    /// publication builds on the snapshot published before it.
    publishing: Mutex<()>,
    published: ArcSwap<RegistrySnapshot>,
    /// Live revision, mirrored from the state after every operation.
    live_revision: AtomicU64,
    /// When the oldest delta entry leaves the window (monotonic ms).
    delta_deadline: AtomicU64,
    /// When the published snapshot was built (monotonic ms).
    last_publish: AtomicU64,
    /// The live content revision, for those who wait for a change ([`Registry::changes`]);
    /// sent only when a write changed the content (never by a heartbeat or a delta-window
    /// sweep).
    changes: tokio::sync::watch::Sender<u64>,
    /// Per-app revision channels of the apps someone watches ([`Registry::app_changes`]);
    /// sent with the app's live content revision when it changes.
    app_changes: Mutex<Map<Arc<str>, tokio::sync::watch::Sender<u64>>>,
    /// Random, fixed for this registry's life: revisions of two registries (two servers,
    /// or one restarted) are not comparable, and this says which one a revision is of.
    epoch: u64,
}

impl Registry {
    /// A registry with `config`; an empty snapshot is published at once.
    pub fn new(config: RegistryConfig) -> Registry {
        let clock = config.clock.unwrap_or_default();
        let mut state = State::new(&config, clock);
        let first = Arc::new(state.take_publication().build(None));
        Registry {
            inner: Arc::new(Inner {
                live_revision: AtomicU64::new(state.revision()),
                delta_deadline: AtomicU64::new(state.delta_deadline()),
                last_publish: AtomicU64::new(clock.elapsed_ms()),
                published: ArcSwap::new(first),
                changes: tokio::sync::watch::Sender::new(state.content_revision()),
                app_changes: Mutex::new(Map::default()),
                epoch: rand::random::<u64>() | 1,
                state: Mutex::new(state),
                publishing: Mutex::new(()),
                clock,
                config,
            }),
        }
    }

    /// The configuration this registry was built with.
    pub fn config(&self) -> &RegistryConfig {
        &self.inner.config
    }

    /// The registry's clock (wire timestamps and lease time).
    pub fn clock(&self) -> Clock {
        self.inner.clock
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-updated in a way that
        // matters more than refusing service forever would: keep going.
        crate::sync::lock(&self.inner.state)
    }

    /// Runs `f` on the live state at the current time and mirrors the revision and delta
    /// deadline for lock-free readers.
    fn with_state<R>(&self, f: impl FnOnce(&mut State, u64) -> R) -> R {
        let mut st = self.lock();
        // Read the clock under the lock so that operations see time move forward.
        let now = self.inner.clock.elapsed_ms();
        let r = f(&mut st, now);
        self.inner
            .live_revision
            .store(st.revision(), Ordering::Release);
        if let Some(content) = st.take_content_change() {
            // The content changed: wake whoever waits for that (a long-polling delta).
            self.inner.changes.send_replace(content);
            let watched = crate::sync::lock(&self.inner.app_changes);
            st.drain_changed_apps(|app| {
                if let Some(tx) = watched.get(app) {
                    tx.send_replace(content);
                }
            });
        }
        self.inner
            .delta_deadline
            .store(st.delta_deadline(), Ordering::Release);
        r
    }

    /// Registers (or re-registers) an instance: R-10..R-15.
    ///
    /// `inst` is already validated and normalised by the codec (upper-case app, valid id).
    /// A `lastDirtyTimestamp` of 0 defaults to the server's clock (R-112). A stored copy
    /// with a strictly newer `lastDirtyTimestamp` wins over `inst` (R-11). The
    /// [`Origin`] only changes the status rule chain (R-15: a replicated register skips
    /// `LeaseExists`). Forwarding to peers is the caller's job: the chosen record is what
    /// [`instance`](Self::instance) returns afterwards.
    ///
    /// A record holding a string that XML 1.0 cannot carry ([`InstanceInfo::check_text`])
    /// is refused with that error and never stored: it would make every XML payload
    /// unparsable. The server answers such requests with 400 before they get here.
    pub fn register(&self, inst: InstanceInfo, origin: Origin) -> Result<(), InvalidText> {
        if let Err(e) = inst.check_text() {
            tracing::warn!(app = %inst.app, error = %e, "register refused");
            return Err(e);
        }
        self.register_decoded(Box::new(inst), origin);
        Ok(())
    }

    /// [`register`](Self::register) for a record that [`codec::decode_register`] (or its
    /// replication twin) produced: the codec already applied the text rule, or proved that
    /// the body could not break it (a JSON body without `\` or 0xEF), so the server does
    /// not scan every string a second time under its request.
    ///
    /// [`codec::decode_register`]: crate::codec::decode_register
    pub(crate) fn register_decoded(&self, inst: Box<InstanceInfo>, origin: Origin) {
        self.with_state(|st, now| st.register(inst, origin, None, now));
    }

    /// A heartbeat: R-20..R-23, R-50, R-51, E-11.
    ///
    /// `renew` carries the optional `lastDirtyTimestamp` and `overriddenstatus`; the
    /// heartbeat's `status` parameter is ignored (R-21). `app` must be upper-case. The
    /// [`Origin`] selects the replication semantics: a peer's heartbeat skips
    /// `LeaseExists` (R-61), is answered 409 when it carries older data and stores the
    /// override it carries when newer (R-50, R-51). Every origin counts as a renewal
    /// (R-23).
    pub fn renew(&self, app: &str, id: &str, renew: Renew, origin: Origin) -> RenewOutcome {
        self.with_state(|st, now| st.renew(app, id, renew, origin, now))
    }

    /// Cancels an instance (R-30, R-31): removes the lease and its override and emits a
    /// `DELETED` delta record. `false` means unknown (404). Every [`Origin`] is processed
    /// alike; only forwarding differs, and that is the caller's job.
    ///
    /// A client's cancel ([`Origin::Client`]) is remembered for a while, with the
    /// instance's `lastDirtyTimestamp`, so that anti-entropy can tell a peer that lost the
    /// replicated cancel to drop its copy ([`client_cancels`](Self::client_cancels), P-35).
    pub fn cancel(&self, app: &str, id: &str, origin: Origin) -> bool {
        self.with_state(|st, now| st.cancel(app, id, origin, now))
    }

    /// Whether `(app, id)` is registered here and its last register or renew came from a
    /// client of this server ([`Origin::Client`]), not from a peer or the startup sync: this
    /// server then holds the client's last write, and anti-entropy may give the instance to
    /// a peer that lacks it (P-35).
    pub fn holds_client_write(&self, app: &str, id: &str) -> bool {
        self.with_state(|st, _| st.client_write(app, id))
    }

    /// The client cancels this server took in the last 30 minutes (at most 100,000, the
    /// newest), as `(app, id, lastDirtyTimestamp of the cancelled record)`; a later register
    /// of the same instance forgets its entry. Anti-entropy cancels a peer's copy of one of
    /// these when that copy is not newer (P-35).
    pub fn client_cancels(&self) -> Vec<(Arc<str>, Arc<str>, u64)> {
        self.with_state(|st, now| {
            st.client_cancels(now)
                .into_iter()
                .map(|((app, id), ldt)| (app, id, ldt))
                .collect()
        })
    }

    /// Sets a status override (R-62, R-62a, R-44): renews the lease, stores the override
    /// (even when the status does not change, R-62a) and, if a visible field changed,
    /// emits a `MODIFIED` record with `lastDirtyTimestamp = max(stored, param)` (R-52).
    /// `false` means unknown or expired-and-hidden (404). Every [`Origin`] is processed
    /// alike; only forwarding differs, and that is the caller's job.
    pub fn set_status_override(
        &self,
        app: &str,
        id: &str,
        status: Status,
        last_dirty_timestamp: Option<u64>,
        origin: Origin,
    ) -> bool {
        let _ = origin;
        self.with_state(|st, now| {
            st.set_status_override(app, id, status, last_dirty_timestamp, now)
        })
    }

    /// Deletes a status override (R-63, R-64): renews the lease; if an override existed,
    /// removes it and sets the status to `value`, or without `value` to the status the
    /// instance itself last reported (R-64; Java's `UNKNOWN` with
    /// [`legacy_override_delete`](RegistryConfig::legacy_override_delete)). The status
    /// chosen (to replicate as `DeleteStatusOverride`) is the one
    /// [`instance`](Self::instance) shows afterwards. `false` means unknown (404). Every
    /// [`Origin`] is processed alike; only forwarding differs, and that is the caller's job.
    pub fn delete_status_override(
        &self,
        app: &str,
        id: &str,
        value: Option<Status>,
        last_dirty_timestamp: Option<u64>,
        origin: Origin,
    ) -> bool {
        let _ = origin;
        self.with_state(|st, now| {
            st.delete_status_override(app, id, value, last_dirty_timestamp, now)
        })
    }

    /// Merges metadata into the stored record (E-15, R-70; the first value wins for a
    /// repeated key) and processes the record as a local register of itself (new lease,
    /// `ADDED`, [`Origin::Client`]: replicated onward as a `Register`, P-02). `false`
    /// means unknown (404).
    ///
    /// Entries that XML 1.0 cannot carry are refused (nothing changes, `false`, logged);
    /// the server answers those with 400 before they get here.
    pub fn update_metadata(&self, app: &str, id: &str, entries: Vec<(String, String)>) -> bool {
        if let Some(e) = entries
            .iter()
            .find_map(|(k, v)| check_metadata_entry("metadata", k, v).err())
        {
            tracing::warn!(%app, %id, error = %e, "metadata update refused");
            return false;
        }
        self.with_state(|st, now| st.update_metadata(app, id, entries, now))
    }

    /// The live record of `(app, id)` (E-19). An expired lease that is not evicted yet is
    /// hidden while lease expiry is enabled (R-44).
    pub fn instance(&self, app: &str, id: &str) -> Option<Arc<InstanceInfo>> {
        self.with_state(|st, now| st.instance(app, id, now))
    }

    /// [`instance`](Self::instance) for each `(app, id)` of `keys`, in order, under one
    /// lock per 256 keys instead of one per key: what the replication sender builds a batch
    /// from, so that a batch of 250 costs the heartbeats beside it one lock, not 250.
    pub fn instances(&self, keys: &[(&str, &str)]) -> Vec<Option<Arc<InstanceInfo>>> {
        self.per_key(keys, |st, now, app, id| st.instance(app, id, now))
    }

    /// `f` for each `(app, id)` of `keys`, in order, under one short lock per 256 keys:
    /// the heartbeats beside a page or a batch never wait for all of it.
    fn per_key<T>(
        &self,
        keys: &[(&str, &str)],
        mut f: impl FnMut(&mut State, u64, &str, &str) -> T,
    ) -> Vec<T> {
        const CHUNK: usize = 256;
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(CHUNK) {
            self.with_state(|st, now| {
                out.extend(chunk.iter().map(|(app, id)| f(st, now, app, id)));
            });
        }
        out
    }

    /// The live record with id `id` in any app (E-20); the smallest app name wins.
    pub fn instance_by_id(&self, id: &str) -> Option<Arc<InstanceInfo>> {
        self.with_state(|st, now| st.instance_by_id(id, now))
    }

    /// The current published snapshot. Cheap (an `arc-swap` load) unless a change is
    /// waiting and [`publish_interval`](RegistryConfig::publish_interval) has passed, or
    /// the delta window moved: then it publishes first (O(apps + changed apps)).
    pub fn snapshot(&self) -> Arc<RegistrySnapshot> {
        let inner = &*self.inner;
        let current = inner.published.load_full();
        let now = inner.clock.elapsed_ms();
        let delta_due = now > inner.delta_deadline.load(Ordering::Acquire);
        if !delta_due {
            if current.revision == inner.live_revision.load(Ordering::Acquire) {
                return current;
            }
            let since = now.saturating_sub(inner.last_publish.load(Ordering::Acquire));
            if since < duration_ms(inner.config.publish_interval) {
                return current;
            }
        }
        self.publish()
    }

    /// [`snapshot`](Self::snapshot) holding every change made so far: a waiting change is
    /// published at once, whatever [`publish_interval`](RegistryConfig::publish_interval)
    /// says. For anti-entropy (P-35), which compares with a peer's list and must not miss a
    /// write of the last interval: a round run within `publish_interval` of a register
    /// would otherwise not repair that instance until its next round.
    pub(crate) fn snapshot_current(&self) -> Arc<RegistrySnapshot> {
        let inner = &*self.inner;
        let current = inner.published.load_full();
        let delta_due = inner.clock.elapsed_ms() > inner.delta_deadline.load(Ordering::Acquire);
        if !delta_due && current.revision == inner.live_revision.load(Ordering::Acquire) {
            return current;
        }
        self.publish()
    }

    /// A receiver of the live content revision
    /// ([`RegistrySnapshot::content_revision`]): it changes with every change of the
    /// registry's content (never with a heartbeat, nor when old entries leave the delta
    /// window). The snapshot that shows a change is
    /// published at most [`publish_interval`](RegistryConfig::publish_interval) later, so
    /// a waiter that needs the snapshot re-reads [`snapshot`](Self::snapshot) until it
    /// passes the revision it waits for.
    ///
    /// ```
    /// use tower_eureka::model::InstanceInfo;
    /// use tower_eureka::registry::{Origin, Registry, RegistryConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let registry = Registry::new(RegistryConfig::default());
    /// let mut changes = registry.changes();
    /// let before = *changes.borrow_and_update();
    /// registry.register(InstanceInfo::builder("orders").build(), Origin::Client).unwrap();
    /// changes.changed().await.unwrap();
    /// assert!(*changes.borrow() > before);
    /// # }
    /// ```
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    /// A receiver of application `app`'s live content revision (upper-case name): like
    /// [`changes`](Self::changes), but it changes only when that app does (issue 15: a
    /// watcher of one app sleeps through the changes of the others). It starts at the
    /// registry's content revision; an app that does not exist yet can be waited for.
    /// Each write costs one lookup per app it changed while someone watches; channels
    /// nobody receives any more are dropped as new ones are made.
    ///
    /// ```
    /// use tower_eureka::model::InstanceInfo;
    /// use tower_eureka::registry::{Origin, Registry, RegistryConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let registry = Registry::new(RegistryConfig::default());
    /// let mut orders = registry.app_changes("ORDERS");
    /// registry.register(InstanceInfo::builder("billing").build(), Origin::Client).unwrap();
    /// assert!(!orders.has_changed().unwrap());
    /// registry.register(InstanceInfo::builder("orders").build(), Origin::Client).unwrap();
    /// assert!(orders.has_changed().unwrap());
    /// # }
    /// ```
    pub fn app_changes(&self, app: &str) -> tokio::sync::watch::Receiver<u64> {
        let mut watched = crate::sync::lock(&self.inner.app_changes);
        if let Some(tx) = watched.get(app) {
            return tx.subscribe();
        }
        if watched.len() >= 64 && watched.len().is_power_of_two() {
            // Amortised: forget the apps nobody watches any more.
            watched.retain(|_, tx| tx.receiver_count() > 0);
        }
        let tx = tokio::sync::watch::Sender::new(*self.inner.changes.borrow());
        let rx = tx.subscribe();
        watched.insert(Arc::from(app), tx);
        rx
    }

    /// A random number fixed for this registry's life: revisions are comparable only
    /// between snapshots of the same epoch (a watching client names the epoch of the
    /// version it holds, and is answered at once by any other registry).
    pub fn epoch(&self) -> u64 {
        self.inner.epoch
    }

    /// Publishes the live state now (sweeping the delta window first).
    ///
    /// The registry lock is held only to take what changed since the last publication
    /// (O(apps)); the changed lists are patched from the published snapshot with no lock
    /// held, so that a publication after a mass change does not stall heartbeats and
    /// registrations (see `publish`). Readers that need this publication wait for it.
    fn publish(&self) -> Arc<RegistrySnapshot> {
        let inner = &*self.inner;
        let _turn = crate::sync::lock(&inner.publishing);
        let taken = self.with_state(|st, now| {
            st.sweep_delta(now);
            (inner.published.load().revision != st.revision()).then(|| (st.take_publication(), now))
        });
        let prev = inner.published.load_full();
        let Some((publication, now)) = taken else {
            return prev;
        };
        let snap = Arc::new(publication.build(Some(&prev)));
        inner.published.store(snap.clone());
        inner.last_publish.store(now, Ordering::Release);
        snap
    }

    /// One eviction pass at the current time (R-42: per-window limit, random choice,
    /// lateness compensation; R-100..R-104: the self-preservation gate). Returns how many
    /// leases were evicted. The maintenance loop calls this every
    /// [`eviction_interval`](RegistryConfig::eviction_interval).
    pub fn evict(&self) -> usize {
        self.with_state(|st, now| st.evict(now))
    }

    /// Runs the maintenance loop on tokio time: an eviction pass, the delta-retention
    /// sweep, (legacy mode) the threshold update and a publication check every
    /// [`eviction_interval`](RegistryConfig::eviction_interval). It holds only a weak
    /// reference and returns once every other handle on the registry is dropped.
    ///
    /// The server spawns it: `tokio::spawn(registry.clone().run())`.
    pub async fn run(self) {
        let period = self
            .inner
            .config
            .eviction_interval
            .max(Duration::from_millis(10)); // as in `evict`
        let weak = Arc::downgrade(&self.inner);
        drop(self);
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(inner) = weak.upgrade() else {
                return;
            };
            let registry = Registry { inner };
            registry.evict();
            registry.with_state(|st, now| st.maintain(now));
            // Keep the published snapshot fresh so readers hit the fast path. Off the
            // worker thread: after a mass change nobody read (a storm of new ids), the
            // publication patches every changed app's list, tens of milliseconds at 250k
            // instances, which would stall every connection this worker serves (the
            // registration max of the load driver).
            let _ = tokio::task::spawn_blocking(move || drop(registry.snapshot())).await;
        }
    }

    /// The self-preservation state and its inputs (R-104: expose the state).
    pub fn self_preservation(&self) -> SelfPreservationStatus {
        self.with_state(|st, now| st.self_preservation(now))
    }

    /// Expired leases that self-preservation currently keeps from eviction, as
    /// `(app, id)`, sorted (R-104: expose the protected leases). Empty while it is off.
    pub fn protected_leases(&self) -> Vec<(String, String)> {
        self.with_state(|st, now| st.protected_leases(now))
    }

    /// When each `(app, id)` of `keys` last renewed its lease (epoch ms; `None` when not
    /// registered), for views that show a page of instances: the published snapshot
    /// carries the record as of its last visible change, not its heartbeats. One lookup
    /// per key, under short locks of at most 256 lookups each, so that heartbeats never
    /// wait for a whole page.
    pub fn last_renewals(&self, keys: &[(&str, &str)]) -> Vec<Option<u64>> {
        self.per_key(keys, |st, _, app, id| st.last_renewal(app, id))
    }

    /// Legacy self-preservation, R-101 first row: sets `expected` to the number of
    /// instances the startup bootstrap copied from peers (its [`Origin::Sync`]
    /// registrations, P-41; 0 means
    /// [`legacy_initial_expected_clients`](RegistryConfig::legacy_initial_expected_clients),
    /// Spring's behaviour). No effect on the other modes.
    pub fn open_for_traffic(&self, copied_from_peers: usize) {
        self.with_state(|st, _| st.open_for_traffic(copied_from_peers));
    }

    /// Status overrides in force, as `(app, id, status)`, sorted (E-25).
    pub fn overrides(&self) -> Vec<(String, String, Status)> {
        self.with_state(|st, _| st.overrides())
    }

    /// Counters for `GET /status` (E-24).
    pub fn stats(&self) -> RegistryStats {
        self.with_state(|st, now| st.stats(now))
    }

    /// Number of registered instances (including expired ones not evicted yet).
    pub fn len(&self) -> usize {
        self.lock().lease_count()
    }

    /// Whether no instance is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field(
                "revision",
                &self.inner.live_revision.load(Ordering::Relaxed),
            )
            .field("published", &self.inner.published.load().revision)
            .field("config", &self.inner.config)
            .finish()
    }
}
