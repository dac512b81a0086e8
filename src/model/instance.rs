use super::{normalize_app_name, ActionType, Status, StatusCounts};
use std::collections::BTreeMap;

/// `@class` of the default (non-Amazon) data-center info (W-30).
pub const DEFAULT_DATA_CENTER_INFO_CLASS: &str =
    "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo";
/// `@class` of Amazon data-center info (W-30).
pub const AMAZON_INFO_CLASS: &str = "com.netflix.appinfo.AmazonInfo";

/// A port and whether it is enabled (`{"$": 8080, "@enabled": "true"}` on the wire, W-25).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PortWrapper {
    /// The port number.
    pub port: u16,
    /// Whether the port is enabled.
    pub enabled: bool,
}

impl PortWrapper {
    /// An enabled port.
    pub const fn enabled(port: u16) -> Self {
        PortWrapper {
            port,
            enabled: true,
        }
    }

    /// A disabled port.
    pub const fn disabled(port: u16) -> Self {
        PortWrapper {
            port,
            enabled: false,
        }
    }
}

/// Lease settings and timestamps (W-27). Timestamps are epoch milliseconds, 0 when unset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LeaseInfo {
    /// Heartbeat period requested by the client (default 30).
    pub renewal_interval_in_secs: u32,
    /// Lease duration requested by the client (default 90).
    pub duration_in_secs: u32,
    /// When the server created the current lease.
    pub registration_timestamp: u64,
    /// When the lease was last renewed (server output only).
    pub last_renewal_timestamp: u64,
    /// When the lease was cancelled or evicted; 0 while live.
    pub eviction_timestamp: u64,
    /// First time the instance was seen `UP`.
    pub service_up_timestamp: u64,
}

impl LeaseInfo {
    /// Default renewal interval in seconds.
    pub const DEFAULT_RENEWAL_INTERVAL_SECS: u32 = 30;
    /// Default lease duration in seconds.
    pub const DEFAULT_DURATION_SECS: u32 = 90;

    /// A lease with the given intervals and zero timestamps (what a client sends).
    /// Values of 0 are replaced by the defaults (W-28).
    pub fn new(renewal_interval_in_secs: u32, duration_in_secs: u32) -> Self {
        LeaseInfo {
            renewal_interval_in_secs: if renewal_interval_in_secs == 0 {
                Self::DEFAULT_RENEWAL_INTERVAL_SECS
            } else {
                renewal_interval_in_secs
            },
            duration_in_secs: if duration_in_secs == 0 {
                Self::DEFAULT_DURATION_SECS
            } else {
                duration_in_secs
            },
            registration_timestamp: 0,
            last_renewal_timestamp: 0,
            eviction_timestamp: 0,
            service_up_timestamp: 0,
        }
    }
}

impl Default for LeaseInfo {
    fn default() -> Self {
        LeaseInfo::new(
            Self::DEFAULT_RENEWAL_INTERVAL_SECS,
            Self::DEFAULT_DURATION_SECS,
        )
    }
}

/// The `name` of a data-center info: one of the three values the wire knows (W-50).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum DataCenterName {
    /// `MyOwn`: anything that is not AWS.
    #[default]
    MyOwn,
    /// `Amazon`: AWS, with Amazon metadata.
    Amazon,
    /// `Netflix`: Netflix's own data centers.
    Netflix,
}

impl DataCenterName {
    /// The exact wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            DataCenterName::MyOwn => "MyOwn",
            DataCenterName::Amazon => "Amazon",
            DataCenterName::Netflix => "Netflix",
        }
    }

    /// Parses an exact (case-sensitive) name.
    pub fn parse(s: &str) -> Option<DataCenterName> {
        match s {
            "MyOwn" => Some(DataCenterName::MyOwn),
            "Amazon" => Some(DataCenterName::Amazon),
            "Netflix" => Some(DataCenterName::Netflix),
            _ => None,
        }
    }

    /// The `@class` a server emits for this name (W-30).
    pub const fn class(self) -> &'static str {
        match self {
            DataCenterName::Amazon => AMAZON_INFO_CLASS,
            _ => DEFAULT_DATA_CENTER_INFO_CLASS,
        }
    }
}

/// Where an instance runs (W-30..W-33).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DataCenterInfo {
    /// The data-center name.
    pub name: DataCenterName,
    /// The `@class` as read from the wire, when it was not one of the two known classes
    /// (kept so that nothing read is lost; writers always emit [`DataCenterName::class`]).
    pub class: Option<String>,
    /// Amazon metadata (`instance-id`, `availability-zone`, ...); empty for other names.
    pub metadata: Metadata,
}

impl DataCenterInfo {
    /// `MyOwn`, the default for non-AWS deployments.
    pub fn my_own() -> Self {
        DataCenterInfo::default()
    }

    /// Amazon with the given metadata.
    pub fn amazon(metadata: Metadata) -> Self {
        DataCenterInfo {
            name: DataCenterName::Amazon,
            class: None,
            metadata,
        }
    }

    /// The Amazon `instance-id`, if this is Amazon info and it is non-empty.
    pub fn amazon_instance_id(&self) -> Option<&str> {
        if self.name == DataCenterName::Amazon {
            self.metadata.get("instance-id").filter(|s| !s.is_empty())
        } else {
            None
        }
    }
}

/// An ordered string map (instance metadata and Amazon metadata, W-40, W-31).
///
/// Keeps insertion order, which is what Java emits; inserting an existing key replaces its
/// value in place.
#[derive(Clone, Debug, PartialEq, Eq, Default, Hash)]
pub struct Metadata {
    entries: Vec<(String, String)>,
}

impl Metadata {
    /// An empty map.
    pub const fn new() -> Self {
        Metadata {
            entries: Vec::new(),
        }
    }

    /// Inserts or replaces `key`; returns the previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        let key = key.into();
        let value = value.into();
        if let Some(slot) = self.entries.iter_mut().find(|(k, _)| *k == key) {
            return Some(std::mem::replace(&mut slot.1, value));
        }
        self.entries.push((key, value));
        None
    }

    /// The value for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let pos = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(pos).1)
    }

    /// Builds a map entry by entry (`fill` inserts into it) in one allocation of exactly
    /// its size: a decoded map is kept for the life of a lease, and a vector grown entry by
    /// entry holds room for up to twice its entries (96 bytes of heap per instance with
    /// Spring's two entries), which giving back afterwards costs a reallocation per
    /// decode. The entries gather in a per-thread scratch vector instead and are moved
    /// out once at the end. An error from `fill` is passed on (the scratch is emptied).
    pub(crate) fn build_exact<E>(
        fill: impl FnOnce(&mut Metadata) -> Result<(), E>,
    ) -> Result<Metadata, E> {
        /// Scratch capacity kept between decodes, in entries (a larger one is dropped).
        const KEEP: usize = 64;
        thread_local! {
            static SCRATCH: std::cell::Cell<Vec<(String, String)>> =
                const { std::cell::Cell::new(Vec::new()) };
        }
        // Taken out of the cell, so a nested build (none today) would just start empty.
        let mut scratch = Metadata {
            entries: SCRATCH.with(std::cell::Cell::take),
        };
        scratch.entries.clear();
        let result = fill(&mut scratch).map(|()| Metadata {
            entries: scratch.entries.drain(..).collect(),
        });
        scratch.entries.clear();
        if scratch.entries.capacity() <= KEEP {
            SCRATCH.with(|c| c.set(scratch.entries));
        }
        result
    }

    /// Entries in insertion order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map is empty (written as the `EmptyMap` marker, W-40).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Metadata {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut m = Metadata::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

/// One registered process (W-14): the record clients register and servers serve.
///
/// Optional wire fields are `Option`s and are omitted (never `null`) on output. Build one
/// with [`InstanceInfo::builder`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceInfo {
    /// Explicit instance id; see [`InstanceInfo::id`] for the effective id.
    pub instance_id: Option<String>,
    /// Host name (or IP, when the client prefers IPs).
    pub host_name: String,
    /// Upper-case application name.
    pub app: String,
    /// IP address.
    pub ip_addr: String,
    /// Deprecated security id; `None` stands for the default `na`.
    pub sid: Option<String>,
    /// Effective status.
    pub status: Status,
    /// Operator override, [`Status::Unknown`] when there is none.
    pub overridden_status: Status,
    /// Non-secure port.
    pub port: PortWrapper,
    /// Secure port.
    pub secure_port: PortWrapper,
    /// Deprecated country id (default 1).
    pub country_id: i32,
    /// Where the instance runs.
    pub data_center_info: DataCenterInfo,
    /// Lease settings and timestamps.
    pub lease_info: LeaseInfo,
    /// Free-form metadata.
    pub metadata: Metadata,
    /// Upper-case application group name.
    pub app_group_name: Option<String>,
    /// Home page URL.
    pub home_page_url: Option<String>,
    /// Status page URL.
    pub status_page_url: Option<String>,
    /// Health check URL (never probed by the server).
    pub health_check_url: Option<String>,
    /// Secure health check URL.
    pub secure_health_check_url: Option<String>,
    /// Comma-separated VIP addresses.
    pub vip_address: Option<String>,
    /// Comma-separated secure VIP addresses.
    pub secure_vip_address: Option<String>,
    /// Whether this record is the serving server's own.
    pub is_coordinating_discovery_server: bool,
    /// Server time of the record's last registry change, epoch ms.
    pub last_updated_timestamp: u64,
    /// Client time of the client's last local change, epoch ms.
    pub last_dirty_timestamp: u64,
    /// Last registry action on this record.
    pub action_type: Option<ActionType>,
    /// AWS auto-scaling group.
    pub asg_name: Option<String>,
}

impl InstanceInfo {
    /// Starts building an instance of `app` with sensible defaults.
    pub fn builder(app: impl AsRef<str>) -> super::InstanceInfoBuilder {
        super::InstanceInfoBuilder::new(app.as_ref())
    }

    /// The instance id: `instanceId` if non-empty, else the Amazon `instance-id`,
    /// else `hostName`.
    pub fn id(&self) -> &str {
        if let Some(id) = self.instance_id.as_deref().filter(|s| !s.is_empty()) {
            return id;
        }
        if let Some(id) = self.data_center_info.amazon_instance_id() {
            return id;
        }
        &self.host_name
    }

    /// The VIP addresses this instance carries (comma-separated `vipAddress`).
    pub fn vip_addresses(&self) -> impl Iterator<Item = &str> {
        split_vips(self.vip_address.as_deref())
    }

    /// The secure VIP addresses this instance carries (comma-separated `secureVipAddress`).
    pub fn secure_vip_addresses(&self) -> impl Iterator<Item = &str> {
        split_vips(self.secure_vip_address.as_deref())
    }

    /// The zone (C-29): Amazon `availability-zone`, else the metadata key `zone`.
    pub fn zone(&self) -> Option<&str> {
        if self.data_center_info.name == DataCenterName::Amazon {
            if let Some(z) = self.data_center_info.metadata.get("availability-zone") {
                return Some(z);
            }
        }
        self.metadata.get("zone")
    }
}

pub(super) fn split_vips(v: Option<&str>) -> impl Iterator<Item = &str> {
    v.into_iter()
        .flat_map(|s| s.split(','))
        .filter(|s| !s.is_empty())
}

/// An application: an upper-case name and its instances (W-13).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Application {
    /// Upper-case application name.
    pub name: String,
    /// The instances, distinct by id.
    pub instances: Vec<InstanceInfo>,
}

impl Application {
    /// An empty application named `name` (upper-cased).
    pub fn new(name: impl AsRef<str>) -> Self {
        Application {
            name: normalize_app_name(name.as_ref()),
            instances: Vec::new(),
        }
    }

    /// The instance with id `id`.
    pub fn instance(&self, id: &str) -> Option<&InstanceInfo> {
        self.instances.iter().find(|i| i.id() == id)
    }
}

/// A whole registry, or a delta, or a VIP query result (W-11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applications {
    /// `versions__delta`: `1` for full fetches, a counter for deltas, `-1` for VIP queries
    /// and when absent (C-24).
    pub versions_delta: i64,
    /// `apps__hashcode`; `None` when the payload had none.
    pub apps_hashcode: Option<String>,
    /// The applications.
    pub applications: Vec<Application>,
}

impl Default for Applications {
    fn default() -> Self {
        Applications {
            versions_delta: 1,
            apps_hashcode: Some(String::new()),
            applications: Vec::new(),
        }
    }
}

impl Applications {
    /// Groups instances by application (sorted by app name), with `versions_delta` 1 and the
    /// matching hash.
    pub fn from_instances<I: IntoIterator<Item = InstanceInfo>>(instances: I) -> Self {
        let mut by_app: BTreeMap<String, Vec<InstanceInfo>> = BTreeMap::new();
        for i in instances {
            by_app.entry(i.app.clone()).or_default().push(i);
        }
        let applications = by_app
            .into_iter()
            .map(|(name, instances)| Application { name, instances })
            .collect();
        let mut apps = Applications {
            versions_delta: 1,
            apps_hashcode: None,
            applications,
        };
        apps.apps_hashcode = Some(apps.compute_hashcode());
        apps
    }

    /// The application named `name` (compared upper-case).
    pub fn application(&self, name: &str) -> Option<&Application> {
        let name = normalize_app_name(name);
        self.applications.iter().find(|a| a.name == name)
    }

    /// Every instance of every application.
    pub fn instances(&self) -> impl Iterator<Item = &InstanceInfo> {
        self.applications.iter().flat_map(|a| a.instances.iter())
    }

    /// Status counts over every instance (the reconcile-hash input, W-61).
    pub fn status_counts(&self) -> StatusCounts {
        self.instances().map(|i| i.status).collect()
    }

    /// The reconcile hash of every instance here (W-60, W-61).
    pub fn compute_hashcode(&self) -> String {
        self.status_counts().hashcode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w41_metadata_built_entry_by_entry_holds_exactly_its_entries() {
        let m = Metadata::build_exact(|m| {
            m.insert("zone", "a");
            m.insert("management.port", "8081");
            m.insert("zone", "b"); // replaced in place, as `insert` does
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(
            m.iter().collect::<Vec<_>>(),
            [("zone", "b"), ("management.port", "8081")]
        );
        assert_eq!(
            m.entries.capacity(),
            2,
            "one allocation of exactly its size"
        );
        // An error passes through and leaves nothing behind for the next build.
        let e = Metadata::build_exact(|m| {
            m.insert("left", "over");
            Err("bad value")
        });
        assert_eq!(e.unwrap_err(), "bad value");
        let next = Metadata::build_exact(|m| {
            m.insert("k", "v");
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(next.iter().collect::<Vec<_>>(), [("k", "v")]);
        let empty = Metadata::build_exact(|_| Ok::<(), ()>(())).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.entries.capacity(), 0);
    }

    #[test]
    fn r01_id_fallbacks() {
        let mut i = InstanceInfo::builder("a").host_name("h").build();
        i.instance_id = None;
        assert_eq!(i.id(), "h");
        i.data_center_info = DataCenterInfo::amazon([("instance-id", "i-1")].into_iter().collect());
        assert_eq!(i.id(), "i-1");
        i.instance_id = Some(String::new());
        assert_eq!(i.id(), "i-1");
        i.instance_id = Some("x".into());
        assert_eq!(i.id(), "x");
    }

    #[test]
    fn r02_app_names_upper_case() {
        assert_eq!(Application::new("orders").name, "ORDERS");
        assert_eq!(normalize_app_name("straße"), "STRASSE");
    }

    #[test]
    fn metadata_keeps_order_and_replaces() {
        let mut m = Metadata::new();
        m.insert("b", "1");
        m.insert("a", "2");
        assert_eq!(m.insert("b", "3"), Some("1".into()));
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![("b", "3"), ("a", "2")]);
    }

    #[test]
    fn vips_split_on_commas() {
        let i = InstanceInfo::builder("a").vip_address("x,y").build();
        assert_eq!(i.vip_addresses().collect::<Vec<_>>(), vec!["x", "y"]);
    }
}
