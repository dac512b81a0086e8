//! Immutable registry snapshots.

use super::delta::DeltaView;
use crate::model::{
    vip_index, Application, Applications, InstanceInfo, StatusCounts, VipField, VipIndex, VipMatch,
};
use std::fmt;
use std::sync::{Arc, OnceLock};

/// An application's published instance list.
pub(crate) type InstanceList = Arc<[Arc<InstanceInfo>]>;

/// One consistent, immutable view of the whole registry: the full registry, its reconcile
/// hash and the delta, all from the same instant.
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
    vips: OnceLock<VipIndex>,
    svips: OnceLock<VipIndex>,
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
            vips: OnceLock::new(),
            svips: OnceLock::new(),
        }
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
    /// `apps__hashcode` of both the full registry and the delta.
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

    /// The delta: one record per `(app, id)` changed within the retention window,
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

    /// `versions__delta`: positive, increases whenever the delta content changes.
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
