//! The client's published copy of the registry: an immutable, copy-on-write snapshot.

use super::apps::AppTable;
use super::regions::ZoneRegions;
use super::vips::VipTable;
use crate::model::{normalize_app_name, Applications, InstanceInfo, Status, VipField};
use std::fmt;
use std::sync::Arc;

/// What a discovery target names: an application, a VIP address, or a secure VIP address.
///
/// Lookups are case-insensitive (C-27).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// An application name (`ORDERS`).
    App(String),
    /// A VIP address (one element of an instance's comma-separated `vipAddress`).
    Vip(String),
    /// A secure VIP address (one element of `secureVipAddress`).
    SecureVip(String),
}

impl Target {
    /// Target an application by name.
    pub fn app(name: impl AsRef<str>) -> Self {
        Target::App(normalize_app_name(name.as_ref()))
    }

    /// Target a VIP address.
    pub fn vip(vip: impl AsRef<str>) -> Self {
        Target::Vip(vip.as_ref().to_ascii_lowercase())
    }

    /// Target a secure VIP address.
    pub fn secure_vip(vip: impl AsRef<str>) -> Self {
        Target::SecureVip(vip.as_ref().to_ascii_lowercase())
    }
}

/// An immutable, reconciled copy of the registry as this client last fetched it (C-23).
///
/// Published by the background client through a `tokio::sync::watch` channel; every
/// Discover stream diffs consecutive snapshots. Instance lists hold every status; filter
/// with [`Status::Up`] for selection (C-26).
///
/// Snapshots are copy-on-write: [`with_delta`](Self::with_delta) shares every application
/// the delta does not touch (and the VIP lists of those applications) with the snapshot it
/// starts from, so cloning or deriving one costs in proportion to the applications and the
/// changes, not to the instances.
///
/// ```
/// use tower_eureka::client::{ClientSnapshot, Target};
/// use tower_eureka::model::{ActionType, Applications, InstanceInfo, Status};
///
/// let full = Applications::from_instances([
///     InstanceInfo::builder("orders").host_name("o1").vip_address("orders").build(),
///     InstanceInfo::builder("billing").host_name("b1").build(),
/// ]);
/// let first = ClientSnapshot::from_applications(&full, 1);
/// assert_eq!(first.up_instances(&Target::vip("ORDERS")).count(), 1);
///
/// let mut down = InstanceInfo::builder("orders").host_name("o1").vip_address("orders").build();
/// down.status = Status::Down;
/// down.action_type = Some(ActionType::Modified);
/// let delta = Applications::from_instances([down]);
/// let second = first.with_delta(&delta, 2);
/// assert_eq!(second.hashcode(), "DOWN_1_UP_1_"); // check it against the delta's (C-22)
/// assert_eq!(second.up_instances(&Target::app("orders")).count(), 0);
/// // BILLING did not change: both snapshots share its list.
/// let billing = |s: &ClientSnapshot| s.instances(&Target::app("billing")).as_ptr();
/// assert_eq!(billing(&first), billing(&second));
/// ```
#[derive(Clone)]
pub struct ClientSnapshot {
    generation: u64,
    fetched: bool,
    versions_delta: i64,
    hashcode: String,
    apps: AppTable,
    vips: VipTable,
    svips: VipTable,
    /// Which instances belong to remote regions (C-71), by zone.
    regions: Arc<ZoneRegions>,
}

impl ClientSnapshot {
    /// The snapshot before the first successful fetch: empty and not authoritative.
    pub fn empty() -> Self {
        ClientSnapshot {
            generation: 0,
            fetched: false,
            versions_delta: -1,
            hashcode: String::new(),
            apps: AppTable::default(),
            vips: VipTable::new(VipField::Vip),
            svips: VipTable::new(VipField::SecureVip),
            regions: Arc::default(),
        }
    }

    /// Builds an authoritative snapshot from a reconciled registry copy.
    ///
    /// `generation` increases with every publication of the same client.
    pub fn from_applications(apps: &Applications, generation: u64) -> Self {
        let table = AppTable::build(apps.applications.iter().map(|a| {
            let instances = a.instances.iter().map(|i| Arc::new(i.clone()));
            (a.name.clone(), instances)
        }));
        Self::from_table(table, apps.versions_delta, generation)
    }

    /// [`from_applications`](Self::from_applications) without copying the records: what
    /// the client does with a decoded full fetch.
    pub(crate) fn from_owned(apps: Applications, generation: u64) -> Self {
        let versions_delta = apps.versions_delta;
        let table = AppTable::build(
            apps.applications
                .into_iter()
                .map(|a| (a.name, a.instances.into_iter().map(Arc::new))),
        );
        Self::from_table(table, versions_delta, generation)
    }

    fn from_table(apps: AppTable, versions_delta: i64, generation: u64) -> Self {
        let empty = ClientSnapshot::empty();
        let names: Vec<Arc<str>> = apps.iter().map(|(name, _)| name.clone()).collect();
        ClientSnapshot {
            generation,
            fetched: true,
            versions_delta,
            hashcode: apps.counts().hashcode(),
            vips: empty.vips.updated(&empty.apps, &apps, &names),
            svips: empty.svips.updated(&empty.apps, &apps, &names),
            apps,
            regions: Arc::default(),
        }
    }

    /// The next snapshot: this one with `delta` applied (C-21, C-21a), by the rules of
    /// [`apply_delta`](super::apply_delta). This one is not touched (C-23).
    ///
    /// Applications the delta does not change are shared with this snapshot, not copied;
    /// so are entries that repeat what this snapshot already holds (consecutive deltas
    /// overlap, C-22). The cost is O(applications) plus the sizes of the changed
    /// applications and of their VIP lists.
    ///
    /// The result is authoritative, carries the delta's `versions__delta` and the
    /// [`hashcode`](Self::hashcode) of its own content: compare that with the delta's
    /// `apps__hashcode` before trusting it (C-22).
    pub fn with_delta(&self, delta: &Applications, generation: u64) -> Self {
        let (apps, changed) = self.apps.with_delta(delta);
        ClientSnapshot {
            generation,
            fetched: true,
            versions_delta: delta.versions_delta,
            hashcode: apps.counts().hashcode(),
            vips: self.vips.updated(&self.apps, &apps, &changed),
            svips: self.svips.updated(&self.apps, &apps, &changed),
            apps,
            regions: self.regions.clone(),
        }
    }

    /// The same snapshot, authoritative (fetched), under generation `generation`.
    pub(crate) fn fetched_as(mut self, generation: u64) -> Self {
        self.fetched = true;
        self.generation = generation;
        self
    }

    /// The remote region `inst` belongs to by its zone (C-71), `None` for the local
    /// region: always `None` unless the client fetches remote regions and was told their
    /// zones ([`region_zones`](super::EurekaClientBuilder::region_zones)).
    pub fn region_of(&self, inst: &InstanceInfo) -> Option<&str> {
        self.regions.region_of(inst)
    }

    /// This snapshot, its instances sorted into regions by `regions`.
    pub(crate) fn with_zone_regions(mut self, regions: &Arc<ZoneRegions>) -> Self {
        if !regions.is_empty() {
            self.regions = regions.clone();
        }
        self
    }

    /// The same snapshot under another generation number.
    pub(crate) fn with_generation(mut self, generation: u64) -> Self {
        self.generation = generation;
        self
    }

    /// Whether both hold the same records (ignoring renewal timestamps), whatever their
    /// order, generation or version: only such changes are published (C-23).
    pub(crate) fn same_content(&self, other: &ClientSnapshot) -> bool {
        self.apps.same_content(&other.apps)
    }

    /// The instance `id` of application `app`.
    pub(crate) fn instance(&self, app: &str, id: &str) -> Option<&Arc<InstanceInfo>> {
        self.apps
            .get(&normalize_app_name(app))?
            .iter()
            .find(|i| i.id() == id)
    }

    /// Publication counter: 0 for [`ClientSnapshot::empty`], then increasing.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether this snapshot comes from a successful fetch. Only then is the absence of an
    /// application authoritative ("the app is gone").
    pub fn is_fetched(&self) -> bool {
        self.fetched
    }

    /// The server's `versions__delta` of the last applied fetch.
    pub fn versions_delta(&self) -> i64 {
        self.versions_delta
    }

    /// The reconcile hash of the whole copy (W-60).
    pub fn hashcode(&self) -> &str {
        &self.hashcode
    }

    /// Number of instances of every status in the copy.
    pub fn len(&self) -> usize {
        self.apps.instances()
    }

    /// Whether the copy holds no instance.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Names of the applications in the copy (upper-case, in the order of the full fetch,
    /// applications added by deltas last).
    pub fn app_names(&self) -> impl Iterator<Item = &str> {
        self.apps.iter().map(|(name, _)| &**name)
    }

    /// Every instance (all statuses) of `target`; an empty slice when none carries it.
    pub fn instances(&self, target: &Target) -> &[Arc<InstanceInfo>] {
        let found = match target {
            Target::App(a) => self.apps.get(&normalize_app_name(a)).map(|l| &**l),
            Target::Vip(v) => self.vips.get(&v.to_ascii_lowercase()),
            Target::SecureVip(v) => self.svips.get(&v.to_ascii_lowercase()),
        };
        found.unwrap_or(&[])
    }

    /// The `UP` instances of `target` (C-26).
    pub fn up_instances<'a>(
        &'a self,
        target: &Target,
    ) -> impl Iterator<Item = &'a Arc<InstanceInfo>> + 'a {
        self.instances(target)
            .iter()
            .filter(|i| i.status == Status::Up)
    }
}

impl Default for ClientSnapshot {
    fn default() -> Self {
        ClientSnapshot::empty()
    }
}

impl fmt::Debug for ClientSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSnapshot")
            .field("generation", &self.generation)
            .field("fetched", &self.fetched)
            .field("versions_delta", &self.versions_delta)
            .field("hashcode", &self.hashcode)
            .field("apps", &self.apps.len())
            .field("instances", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c27_lookups_are_case_insensitive() {
        let a = InstanceInfo::builder("orders")
            .host_name("h1")
            .vip_address("Orders-VIP,x")
            .build();
        let mut b = InstanceInfo::builder("orders").host_name("h2").build();
        b.status = Status::Down;
        let snap = ClientSnapshot::from_applications(&Applications::from_instances([a, b]), 1);
        assert!(snap.is_fetched());
        assert_eq!(snap.instances(&Target::app("Orders")).len(), 2);
        assert_eq!(snap.up_instances(&Target::app("ORDERS")).count(), 1);
        assert_eq!(snap.instances(&Target::vip("orders-vip")).len(), 1);
        assert_eq!(snap.instances(&Target::Vip("ORDERS-VIP".into())).len(), 1);
        assert!(snap.instances(&Target::app("nope")).is_empty());
        assert_eq!(snap.hashcode(), "DOWN_1_UP_1_");
        assert!(!ClientSnapshot::empty().is_fetched());
    }

    use crate::model::ActionType;

    fn snap(apps: &Applications) -> ClientSnapshot {
        ClientSnapshot::from_applications(apps, 1)
    }

    #[test]
    fn c23_same_content_ignores_order_and_renewals() {
        let a = InstanceInfo::builder("a").host_name("h1").build();
        let b = InstanceInfo::builder("b").host_name("h2").build();
        let x = Applications::from_instances([a.clone(), b.clone()]);
        let mut a2 = a.clone();
        a2.lease_info.last_renewal_timestamp += 30_000;
        let mut y = Applications::from_instances([b.clone(), a2]);
        y.applications.reverse();
        y.versions_delta = 9;
        assert!(snap(&x).same_content(&snap(&y)));
        let mut a3 = a;
        a3.status = Status::Down;
        let z = Applications::from_instances([a3, b.clone()]);
        assert!(!snap(&x).same_content(&snap(&z)));
        assert!(!snap(&x).same_content(&snap(&Applications::from_instances([b]))));
    }

    fn inst(app: &str, host: &str, vip: &str) -> InstanceInfo {
        InstanceInfo::builder(app)
            .host_name(host)
            .vip_address(vip)
            .build()
    }

    fn with_action(mut i: InstanceInfo, action: ActionType) -> InstanceInfo {
        i.action_type = Some(action);
        i
    }

    fn hosts<'a>(s: &'a ClientSnapshot, t: &Target) -> Vec<&'a str> {
        s.instances(t)
            .iter()
            .map(|i| i.host_name.as_str())
            .collect()
    }

    // C-23: a delta copies what it changes and shares the rest, VIP lists included; a
    // repeated (overlapping) delta copies nothing.
    #[test]
    fn c23_with_delta_shares_what_did_not_change() {
        let full = Applications::from_instances([
            inst("orders", "o1", "orders"),
            inst("orders", "o2", "orders"),
            inst("billing", "b1", "billing"),
        ]);
        let first = snap(&full);
        let mut o1 = with_action(inst("orders", "o1", "orders"), ActionType::Modified);
        o1.status = Status::Down;
        let delta = Applications::from_instances([o1]);
        let second = first.with_delta(&delta, 2);
        let ptr = |s: &ClientSnapshot, t: &Target| s.instances(t).as_ptr();
        for t in [Target::app("billing"), Target::vip("billing")] {
            assert_eq!(ptr(&first, &t), ptr(&second, &t), "{t:?} shared");
        }
        for t in [Target::app("orders"), Target::vip("orders")] {
            assert_ne!(ptr(&first, &t), ptr(&second, &t), "{t:?} rebuilt");
        }
        assert_eq!(hosts(&second, &Target::vip("orders")), ["o1", "o2"]);
        // o2 itself is shared, only o1 is a new record.
        let o2 = |s: &ClientSnapshot| Arc::as_ptr(&s.instances(&Target::app("orders"))[1]);
        assert_eq!(o2(&first), o2(&second));
        assert!(!first.same_content(&second));

        let third = second.with_delta(&delta, 3);
        for t in [
            Target::app("orders"),
            Target::app("billing"),
            Target::vip("orders"),
        ] {
            assert_eq!(
                ptr(&second, &t),
                ptr(&third, &t),
                "{t:?} after a repeated delta"
            );
        }
        assert!(second.same_content(&third));
        assert_eq!(third.versions_delta(), delta.versions_delta);
    }

    // C-21, C-27: after a delta, VIP lists are what a full build of the merged copy gives:
    // applications in copy order (new ones last), instances in list order.
    #[test]
    fn c27_vip_lists_after_a_delta_match_a_full_build() {
        let full = Applications::from_instances([
            inst("a", "a1", "shared,a"),
            inst("b", "b1", "Shared"),
            inst("c", "c1", "shared"),
            inst("c", "c2", "c"),
        ]);
        let delta = Applications::from_instances([
            with_action(inst("a", "a1", "shared,a"), ActionType::Deleted),
            with_action(inst("b", "b2", "shared,b"), ActionType::Added),
            with_action(inst("d", "d1", "SHARED"), ActionType::Added),
            with_action(inst("c", "c2", "c,shared"), ActionType::Modified),
        ]);
        let merged = snap(&full).with_delta(&delta, 2);
        let rebuilt = snap(&super::super::apply_delta(&full, &delta));
        for t in ["shared", "a", "b", "c", "d"].map(Target::vip) {
            assert_eq!(hosts(&merged, &t), hosts(&rebuilt, &t), "{t:?}");
        }
        assert_eq!(
            hosts(&merged, &Target::vip("shared")),
            ["b1", "b2", "c1", "c2", "d1"]
        );
        assert!(merged.instances(&Target::app("a")).is_empty());
        assert_eq!(merged.app_names().collect::<Vec<_>>(), ["B", "C", "D"]);
        assert_eq!(merged.hashcode(), "UP_5_");
        assert_eq!(merged.len(), 5);
    }

    // C-27: an instance matches a VIP or not; naming it twice does not list it twice.
    #[test]
    fn c27_an_instance_is_listed_once_per_vip() {
        let s = snap(&Applications::from_instances([inst("a", "a1", "x,X,x")]));
        assert_eq!(hosts(&s, &Target::vip("x")), ["a1"]);
        assert_eq!(s.up_instances(&Target::vip("X")).count(), 1);
    }
}
