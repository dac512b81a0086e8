//! The client's published copy of the registry: an immutable snapshot, swapped atomically.

use crate::model::{normalize_app_name, Applications, InstanceInfo, Status};
use std::collections::HashMap;
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

type Instances = Arc<[Arc<InstanceInfo>]>;

/// An immutable, reconciled copy of the registry as this client last fetched it (C-23).
///
/// Published by the background client through a `tokio::sync::watch` channel; every
/// Discover stream diffs consecutive snapshots. Instance lists hold every status; filter
/// with [`Status::Up`] for selection (C-26).
#[derive(Debug, Clone)]
pub struct ClientSnapshot {
    generation: u64,
    fetched: bool,
    versions_delta: i64,
    hashcode: String,
    apps: HashMap<String, Instances>,
    vips: HashMap<String, Instances>,
    svips: HashMap<String, Instances>,
    total: usize,
}

impl ClientSnapshot {
    /// The snapshot before the first successful fetch: empty and not authoritative.
    pub fn empty() -> Self {
        ClientSnapshot {
            generation: 0,
            fetched: false,
            versions_delta: -1,
            hashcode: String::new(),
            apps: HashMap::new(),
            vips: HashMap::new(),
            svips: HashMap::new(),
            total: 0,
        }
    }

    /// Builds an authoritative snapshot from a reconciled registry copy.
    ///
    /// `generation` increases with every publication of the same client.
    pub fn from_applications(apps: &Applications, generation: u64) -> Self {
        let mut by_app: HashMap<String, Vec<Arc<InstanceInfo>>> = HashMap::new();
        let mut vips: HashMap<String, Vec<Arc<InstanceInfo>>> = HashMap::new();
        let mut svips: HashMap<String, Vec<Arc<InstanceInfo>>> = HashMap::new();
        let mut total = 0;
        for app in &apps.applications {
            let name = normalize_app_name(&app.name);
            let list = by_app.entry(name).or_default();
            for inst in &app.instances {
                let inst = Arc::new(inst.clone());
                total += 1;
                for v in inst.vip_addresses() {
                    vips.entry(v.to_ascii_lowercase())
                        .or_default()
                        .push(inst.clone());
                }
                for v in inst.secure_vip_addresses() {
                    svips
                        .entry(v.to_ascii_lowercase())
                        .or_default()
                        .push(inst.clone());
                }
                list.push(inst);
            }
        }
        let freeze = |m: HashMap<String, Vec<Arc<InstanceInfo>>>| {
            m.into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k, Instances::from(v)))
                .collect()
        };
        ClientSnapshot {
            generation,
            fetched: true,
            versions_delta: apps.versions_delta,
            hashcode: apps.compute_hashcode(),
            apps: freeze(by_app),
            vips: freeze(vips),
            svips: freeze(svips),
            total,
        }
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
        self.total
    }

    /// Whether the copy holds no instance.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Names of the applications in the copy.
    pub fn app_names(&self) -> impl Iterator<Item = &str> {
        self.apps.keys().map(String::as_str)
    }

    /// Every instance (all statuses) of `target`; an empty slice when none carries it.
    pub fn instances(&self, target: &Target) -> &[Arc<InstanceInfo>] {
        let found = match target {
            Target::App(a) => self.apps.get(&normalize_app_name(a)),
            Target::Vip(v) => self.vips.get(&v.to_ascii_lowercase()),
            Target::SecureVip(v) => self.svips.get(&v.to_ascii_lowercase()),
        };
        found.map(|v| &v[..]).unwrap_or(&[])
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
}
