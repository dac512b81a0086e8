//! Immutable registry snapshots (R-92).

use super::delta::DeltaView;
use crate::model::{
    vip_index, Application, Applications, InstanceInfo, StatusCounts, VipField, VipIndex, VipMatch,
};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// An application's published instance list.
pub(crate) type InstanceList = Arc<[Arc<InstanceInfo>]>;

/// What a watch of one target (an app, a VIP, a secure VIP) compares, as of one snapshot
/// (issue 15): the content revision of the target's last change, and the per-status
/// counts of its instances (its reconcile hash, W-60, over the target alone).
///
/// A target that has no instance has version 0 and no counts. An instance leaving a
/// target that keeps others moves the version of its app; when nothing of the app is
/// left in the target, the counts shrink: so a watcher holding a version *and* a hash
/// learns of every change, departures included, without the registry remembering
/// targets that are gone.
///
/// ```
/// use tower_eureka::model::InstanceInfo;
/// use tower_eureka::registry::{Origin, Registry, RegistryConfig};
/// use std::time::Duration;
///
/// let registry = Registry::new(RegistryConfig {
///     publish_interval: Duration::ZERO,
///     ..RegistryConfig::default()
/// });
/// assert_eq!(registry.snapshot().app_state("ORDERS").version, 0);
/// let orders = InstanceInfo::builder("orders").vip_address("orders-vip").build();
/// registry.register(orders, Origin::Client).unwrap();
/// let snap = registry.snapshot();
/// let state = snap.app_state("ORDERS");
/// assert_eq!(state.version, snap.content_revision());
/// assert_eq!(state.counts.hashcode(), "UP_1_");
/// assert_eq!(snap.vip_state("orders-vip"), state);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TargetState {
    /// The content revision of the target's last change (0: no instance).
    pub version: u64,
    /// Instances of the target per status.
    pub counts: StatusCounts,
}

type TargetStates = HashMap<Box<str>, TargetState>;

/// One consistent, immutable view of the whole registry: the full registry, its reconcile
/// hash and the delta, all from the same instant (R-92).
///
/// Built copy-on-write: unchanged applications share their instance lists with the previous
/// snapshot, so publishing costs O(number of apps + size of the changed apps).
///
/// This is the server side's published state, what [`Registry::snapshot`](super::Registry::snapshot)
/// returns; a discovery client's reconciled copy of a remote registry is
/// `client::ClientSnapshot`.
pub struct RegistrySnapshot {
    pub(crate) revision: u64,
    /// The revision of the last change of the content (not of the delta window).
    pub(crate) content_revision: u64,
    pub(crate) hashcode: String,
    pub(crate) counts: StatusCounts,
    pub(crate) apps: Vec<(Arc<str>, InstanceList)>,
    pub(crate) len: usize,
    pub(crate) delta: Arc<DeltaView>,
    /// Beside `apps`, same order: each app's watch state.
    app_states: Vec<TargetState>,
    vips: OnceLock<VipIndex>,
    svips: OnceLock<VipIndex>,
    vip_states: OnceLock<TargetStates>,
    svip_states: OnceLock<TargetStates>,
}

impl RegistrySnapshot {
    /// A snapshot of revision `revision` (also its `versions__delta`: every visible change
    /// is a delta change).
    pub(crate) fn new(
        revision: u64,
        content_revision: u64,
        counts: StatusCounts,
        apps: Vec<(Arc<str>, InstanceList)>,
        len: usize,
        delta: Arc<DeltaView>,
    ) -> RegistrySnapshot {
        RegistrySnapshot {
            revision,
            content_revision,
            hashcode: counts.hashcode(),
            counts,
            apps,
            len,
            delta,
            app_states: Vec::new(),
            vips: OnceLock::new(),
            svips: OnceLock::new(),
            vip_states: OnceLock::new(),
            svip_states: OnceLock::new(),
        }
    }

    /// This snapshot with the apps' watch states (one per app of `apps`, same order).
    pub(crate) fn with_app_states(mut self, states: Vec<TargetState>) -> Self {
        debug_assert_eq!(states.len(), self.apps.len());
        self.app_states = states;
        self
    }

    /// The watch state of the `i`-th app of `apps`.
    pub(crate) fn app_state_at(&self, i: usize) -> Option<TargetState> {
        self.app_states.get(i).copied()
    }

    /// The watch state of application `name` (upper-case): O(log apps). An unknown app
    /// has the default state (version 0, no instances).
    pub fn app_state(&self, name: &str) -> TargetState {
        self.apps
            .binary_search_by(|(n, _)| (**n).cmp(name))
            .ok()
            .and_then(|i| self.app_states.get(i).copied())
            .unwrap_or_default()
    }

    /// The watch state of VIP `vip` (E-21 matching): the latest version of the apps of
    /// its instances and the counts of its instances. The states of every VIP are built
    /// together, once per snapshot on first use; then each lookup is one hash lookup.
    pub fn vip_state(&self, vip: &str) -> TargetState {
        self.vip_states
            .get_or_init(|| self.build_states(VipField::Vip))
            .get(vip)
            .copied()
            .unwrap_or_default()
    }

    /// [`vip_state`](Self::vip_state) for a secure VIP.
    pub fn svip_state(&self, svip: &str) -> TargetState {
        self.svip_states
            .get_or_init(|| self.build_states(VipField::SecureVip))
            .get(svip)
            .copied()
            .unwrap_or_default()
    }

    fn build_states(&self, field: VipField) -> TargetStates {
        let index = match field {
            VipField::Vip => self.vips.get_or_init(|| self.build_index(field)),
            VipField::SecureVip => self.svips.get_or_init(|| self.build_index(field)),
        };
        index
            .iter()
            .map(|(vip, list)| {
                let mut state = TargetState::default();
                for i in list {
                    state.counts.add(i.status);
                    state.version = state.version.max(self.app_state(&i.app).version);
                }
                (vip.clone(), state)
            })
            .collect()
    }

    /// The registry revision this snapshot shows; it increases on every visible change
    /// (registrations, status changes, cancels, evictions, delta-window expiries).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The revision of the last change of the registry's content as of this snapshot: a
    /// registration, status change, cancel or eviction. Unlike [`revision`](Self::revision)
    /// it does not move when old entries leave the delta window, so a client holding any
    /// revision at or after it holds this content (what a watching delta waits on).
    pub fn content_revision(&self) -> u64 {
        self.content_revision
    }

    /// The reconcile hash (W-60) of the whole registry in this snapshot. It is the
    /// `apps__hashcode` of both the full registry and the delta (R-83, R-92).
    pub fn hashcode(&self) -> &str {
        &self.hashcode
    }

    /// Per-status instance counts of the whole registry (the hash input).
    pub fn status_counts(&self) -> StatusCounts {
        self.counts
    }

    /// Every application, sorted by name, with its instances sorted by id. Applications
    /// without instances never appear (W-13).
    pub fn apps(&self) -> impl ExactSizeIterator<Item = (&str, &[Arc<InstanceInfo>])> + '_ {
        self.apps.iter().map(|(n, l)| (&**n, &**l))
    }

    /// The instances of application `name` (already upper-case, R-02).
    pub fn app(&self, name: &str) -> Option<&[Arc<InstanceInfo>]> {
        self.apps
            .binary_search_by(|(n, _)| (**n).cmp(name))
            .ok()
            .and_then(|i| self.apps.get(i))
            .map(|(_, l)| &**l)
    }

    /// The instance `id` of application `app`, as of this snapshot.
    pub fn instance(&self, app: &str, id: &str) -> Option<&Arc<InstanceInfo>> {
        self.app(app)?.iter().find(|i| i.id() == id)
    }

    /// Instances whose `vipAddress`, split on `,`, contains `vip` exactly (E-21,
    /// case-sensitive, no trimming). Apps in name order. The index is built once per
    /// snapshot, on first use.
    pub fn vip(&self, vip: &str) -> Vec<Arc<InstanceInfo>> {
        self.vips
            .get_or_init(|| self.build_index(VipField::Vip))
            .get(vip)
            .cloned()
            .unwrap_or_default()
    }

    /// Instances whose `secureVipAddress` contains `svip` exactly (E-21).
    pub fn svip(&self, svip: &str) -> Vec<Arc<InstanceInfo>> {
        self.svips
            .get_or_init(|| self.build_index(VipField::SecureVip))
            .get(svip)
            .cloned()
            .unwrap_or_default()
    }

    /// The exact-match index of every instance (E-21), built once per snapshot on first
    /// use, by the model's builder that the client uses too.
    fn build_index(&self, field: VipField) -> VipIndex {
        vip_index(
            self.apps.iter().flat_map(|(_, list)| list.iter()),
            field,
            VipMatch::Exact,
        )
    }

    /// The delta (R-82): one record per `(app, id)` changed within the retention window,
    /// showing its latest state and `actionType` (`DELETED` records carry
    /// `leaseInfo.evictionTimestamp`). Apps in order of their first change in the window,
    /// instances in order of their last change.
    pub fn delta(&self) -> impl ExactSizeIterator<Item = (&str, &[Arc<InstanceInfo>])> + '_ {
        self.delta.apps.iter().map(|(n, l)| (&**n, &**l))
    }

    /// Number of records in the delta.
    pub fn delta_len(&self) -> usize {
        self.delta.len
    }

    /// `versions__delta` (R-84): positive, increases whenever the delta content changes.
    pub fn delta_version(&self) -> u64 {
        self.revision
    }

    /// Number of instances in the registry.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the registry is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The full registry as a model [`Applications`] (`versions__delta` 1, with the hash).
    /// Copies every record: meant for tests and tools, not for serving.
    pub fn to_applications(&self) -> Applications {
        Applications {
            versions_delta: 1,
            apps_hashcode: Some(self.hashcode.clone()),
            applications: self
                .apps()
                .map(|(name, list)| Application {
                    name: name.to_owned(),
                    instances: list.iter().map(|i| (**i).clone()).collect(),
                })
                .collect(),
        }
    }

    /// The delta as a model [`Applications`] (with `versions__delta` and the whole
    /// registry's hash). Copies every record: meant for tests and tools.
    pub fn delta_to_applications(&self) -> Applications {
        Applications {
            versions_delta: i64::try_from(self.delta_version()).unwrap_or(i64::MAX),
            apps_hashcode: Some(self.hashcode.clone()),
            applications: self
                .delta()
                .map(|(name, list)| Application {
                    name: name.to_owned(),
                    instances: list.iter().map(|i| (**i).clone()).collect(),
                })
                .collect(),
        }
    }
}

impl fmt::Debug for RegistrySnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistrySnapshot")
            .field("revision", &self.revision)
            .field("hashcode", &self.hashcode)
            .field("apps", &self.apps.len())
            .field("instances", &self.len)
            .field("delta_len", &self.delta.len)
            .field("delta_version", &self.delta_version())
            .finish()
    }
}
