//! `EurekaClientBuilder`: every setting of an [`EurekaClient`], set once.

mod health;
mod zones;

use super::config::Config;
use super::lifecycle::{self, InstancePaths, LocalRecord, WallClock};
use super::local::detect_ip_addr;
use super::transport::{ServerUrl, Transport};
use super::zones::ZoneConfig;
use super::{
    fetcher, follow, ClientMetrics, ClientSnapshot, ClientState, Error, EurekaClient, Inner,
};
use crate::codec::{self, Format, RegisterError};
use crate::model::InstanceInfo;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// Configures and starts an [`EurekaClient`]. Made by [`EurekaClient::builder`].
///
/// Every setting has the Java client's default (spec 1.3.2), so existing tuning guides
/// apply; each setter says which property it mirrors. The heartbeat period is not here: it
/// is the instance's own `leaseInfo.renewalIntervalInSecs` (30 s by default), which is also
/// what the server expects.
///
/// ```
/// use std::time::Duration;
/// use tower_eureka::client::EurekaClient;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tower_eureka::client::Error> {
/// let client = EurekaClient::builder(["http://eureka1:8761/eureka"])
///     .fetch_only()
///     .fetch_interval(Duration::from_secs(10))
///     .timeouts(Duration::from_secs(2), Duration::from_secs(4))
///     .start()?;
/// # drop(client); Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct EurekaClientBuilder {
    urls: Vec<String>,
    instance: Option<InstanceInfo>,
    fetch: bool,
    register: bool,
    config: Config,
    zones: ZoneConfig,
}

impl EurekaClientBuilder {
    pub(super) fn new(urls: Vec<String>) -> Self {
        EurekaClientBuilder {
            urls,
            instance: None,
            fetch: true,
            register: true,
            config: Config::default(),
            zones: ZoneConfig::default(),
        }
    }

    /// The instance to register (see [`local_instance`](super::local_instance) for one with detected addresses).
    /// Without one, the client only fetches.
    pub fn instance(mut self, instance: InstanceInfo) -> Self {
        self.instance = Some(instance);
        self
    }

    /// Only fetch the registry; never register, even with an instance.
    pub fn fetch_only(mut self) -> Self {
        self.register = false;
        self.fetch = true;
        self
    }

    /// Only register and heartbeat; never fetch the registry.
    pub fn register_only(mut self) -> Self {
        self.fetch = false;
        self.register = true;
        self
    }

    // --- fetching ---

    /// Registry fetch period (`registryFetchIntervalSeconds`, default 30 s). Deltas are
    /// fetched at this period; fetches are spaced by it measured from the end of the previous
    /// one.
    pub fn fetch_interval(mut self, every: Duration) -> Self {
        self.config.registry_fetch_interval = every;
        self
    }

    /// Upper bound of the fetch back-off after failures, as a multiple of the fetch interval
    /// (`cacheRefreshExecutorExponentialBackOffBound`, default 10, C-13).
    pub fn cache_refresh_backoff_bound(mut self, times: u32) -> Self {
        self.config.cache_refresh_backoff_bound = times;
        self
    }

    /// Also fetch the registries of these remote regions (Java's
    /// `fetchRemoteRegionsRegistry`, C-71; default none): full and delta fetches carry
    /// `?regions=r1,r2` and the server merges those regions in (R-130). The copy and its
    /// hash check cover everything fetched; which instances are remote is told by their
    /// zones ([`region_zones`](Self::region_zones)), and Discovers use local instances
    /// unless told otherwise
    /// ([`EurekaDiscover::include_regions`](crate::discover::EurekaDiscover::include_regions)).
    /// Watching is off while regions are fetched (a watch wakes on local changes only).
    pub fn fetch_remote_regions_registry<I, S>(mut self, regions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let list: Vec<String> = regions.into_iter().map(|r| r.as_ref().to_owned()).collect();
        self.config.remote_regions = super::regions::query_value(&list);
        self
    }

    /// The zones of remote region `region` (Spring's
    /// `eureka.client.availability-zones.<region>`, C-70): an instance in one of them
    /// belongs to that region, any other instance to the local one. Call once per region.
    pub fn region_zones<I, S>(mut self, region: &str, zones: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        std::sync::Arc::make_mut(&mut self.config.zone_regions)
            .add(region, zones.into_iter().map(|z| z.as_ref().to_owned()));
        self
    }

    /// Always fetch the full registry instead of deltas (default false: deltas, C-20).
    pub fn disable_delta(mut self, disable: bool) -> Self {
        self.config.disable_delta = disable;
        self
    }

    /// Watch the registry (default on, 30 s): against a server that says it supports it
    /// (`x-eureka-watch` on its delta answers: tower-eureka's), each delta fetch waits up
    /// to `wait` for the next change and the next one starts at once, so changes arrive in
    /// milliseconds instead of a fetch interval. Against any other server (Java's) the
    /// client fetches every [`fetch_interval`](Self::fetch_interval) as usual. `None` turns
    /// watching off.
    pub fn watch(mut self, wait: Option<Duration>) -> Self {
        self.config.watch_wait = wait.unwrap_or(Duration::ZERO);
        self
    }

    /// Follow only these targets instead of the whole registry (issue 15): the client
    /// fetches `GET /apps/{APP}` (`/vips/{VIP}`, `/svips/{SVIP}`) for each, and against a
    /// server that supports it (tower-eureka's: `x-eureka-version` on its answers) waits
    /// on each for the next change of that target alone ([`watch`](Self::watch) sets the
    /// wait), so its traffic grows with what it calls, not with the registry. Against any
    /// other server (Java's) each target is fetched every
    /// [`fetch_interval`](Self::fetch_interval). Each answer is checked against the
    /// target's reconcile hash (`x-eureka-hash`) and fetched again on a mismatch. A target
    /// that does not exist yet (404) is waited for.
    ///
    /// The published [`ClientSnapshot`] then holds just the instances of these targets
    /// (a Discover or a lookup of anything else finds nothing); each change of one of them
    /// is published at once, sharing the lists of the apps it did not touch. The server
    /// matches VIP names exactly (E-21) while [`Target::vip`](super::Target::vip) lower-cases:
    /// to follow a VIP spelled with capitals, name it as `Target::Vip("Orders".into())`.
    /// In the [metrics](super::ClientMetrics), a plain fetch of a target counts as a full
    /// fetch and a watch answer as a delta fetch. An empty list: the whole registry.
    ///
    /// ```
    /// use tower_eureka::client::{EurekaClient, Target};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tower_eureka::client::Error> {
    /// let client = EurekaClient::builder(["http://127.0.0.1:8761/eureka"])
    ///     .fetch_only()
    ///     .follow([Target::app("orders"), Target::vip("billing")])
    ///     .start()?;
    /// # drop(client); Ok(()) }
    /// ```
    pub fn follow<I: IntoIterator<Item = super::Target>>(mut self, targets: I) -> Self {
        let mut seen = std::collections::HashSet::new();
        self.config.follow = targets
            .into_iter()
            .filter(|t| seen.insert(t.clone()))
            .collect();
        self
    }

    /// [`follow`](Self::follow) these applications, by name.
    pub fn follow_apps<I, S>(self, apps: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.follow(apps.into_iter().map(|a| super::Target::app(a.as_ref())))
    }

    // --- registering ---

    /// How often the record is checked for local changes and re-registered when dirty
    /// (`instanceInfoReplicationIntervalSeconds`, default 30 s). Also the upper bound of the
    /// registration retry back-off (C-13).
    pub fn instance_info_replication_interval(mut self, every: Duration) -> Self {
        self.config.instance_info_replication_interval = every;
        self
    }

    /// Delay before the first registration (default 0: register immediately, C-05).
    pub fn initial_registration_delay(mut self, delay: Duration) -> Self {
        self.config.initial_registration_delay = delay;
        self
    }

    /// First step of the registration retry back-off (default 1 s, C-13).
    pub fn registration_retry_base(mut self, base: Duration) -> Self {
        self.config.registration_retry_base = base;
        self
    }

    /// Whether local status and metadata changes are registered at once, within the rate
    /// limit (`shouldOnDemandUpdateStatusChange`, default true, C-08); when off they wait
    /// for the next periodic check.
    pub fn on_demand_update_status_change(mut self, yes: bool) -> Self {
        self.config.on_demand_update_status_change = yes;
        self
    }

    /// The token bucket of on-demand registrations: `burst` at once, then `per_minute`
    /// (defaults 2 and 4, C-08).
    pub fn on_demand_rate_limit(mut self, burst: u32, per_minute: u32) -> Self {
        self.config.on_demand_burst = burst;
        self.config.on_demand_per_minute = per_minute;
        self
    }

    // --- transport ---

    /// TCP connect and read timeouts per attempt (defaults 5 s and 8 s).
    pub fn timeouts(mut self, connect: Duration, read: Duration) -> Self {
        self.config.connect_timeout = connect;
        self.config.read_timeout = read;
        self
    }

    /// Servers tried per logical call (default 3, C-41).
    pub fn retries_per_call(mut self, servers: usize) -> Self {
        self.config.retries_per_call = servers;
        self
    }

    /// Fraction of quarantined servers at which the quarantine is cleared
    /// (`retryableClientQuarantineRefreshPercentage`, default 0.66, C-41).
    pub fn quarantine_refresh_percentage(mut self, fraction: f64) -> Self {
        self.config.quarantine_refresh_percentage = fraction;
        self
    }

    /// Period after which the sticky server and the quarantine are dropped, randomised by
    /// ±50 % (`sessionedClientReconnectIntervalSeconds`, default 1200 s, C-42); zero never
    /// drops them.
    pub fn session_reconnect_interval(mut self, every: Duration) -> Self {
        self.config.session_reconnect_interval = every;
        self
    }

    /// Ask for gzip-compressed responses (default true, C-02).
    pub fn gzip(mut self, yes: bool) -> Self {
        self.config.gzip = yes;
        self
    }

    /// Value of the `DiscoveryIdentity-Name` header (E-32, default `TowerEurekaClient`).
    pub fn identity_name(mut self, name: impl Into<String>) -> Self {
        self.config.identity_name = name.into();
        self
    }

    /// Also trust the CA certificate(s) of this PEM bundle for `https://` servers (feature
    /// `tls`; the Mozilla roots are always trusted). Call it again for more bundles; a
    /// bundle without a certificate fails [`start`](Self::start).
    #[cfg(feature = "tls")]
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.config.ca_pems.push(pem.into());
        self
    }

    // --- shutdown ---

    /// Whether [`shutdown`](EurekaClient::shutdown) cancels the registration (default
    /// true, C-50).
    pub fn unregister_on_shutdown(mut self, yes: bool) -> Self {
        self.config.unregister_on_shutdown = yes;
        self
    }

    /// Drain before cancelling on shutdown: re-register as `DOWN`, keep heart-beating for
    /// this long, then cancel (default 0: no drain, C-51). Keep it below the lease duration
    /// if heartbeats may fail.
    pub fn shutdown_drain(mut self, drain: Duration) -> Self {
        self.config.shutdown_drain = drain;
        self
    }

    /// Seed of the random parts (server order, jitter), for reproducible runs (default:
    /// seeded from the OS).
    pub fn rng_seed(mut self, seed: u64) -> Self {
        self.config.rng_seed = Some(seed);
        self
    }

    // --- compact fetches (E-30, W-90) ---

    /// Fetch the compact form of the registry (`X-Eureka-Accept: compact`,
    /// `eureka.client.client-data-accept=compact`; default off). Full and delta fetches ask
    /// for it; a server that does not implement it answers in full, which is read the same.
    ///
    /// A compact copy has, per instance, the id, app, IP, host name, VIP addresses, status,
    /// ports, `dataCenterInfo` (Amazon data reduced to `instance-id`, `public-ipv4`,
    /// `public-hostname`, `local-ipv4`, `availability-zone`), `asgName` and
    /// `lastUpdatedTimestamp` (W-91). It lacks the **metadata**, the lease info, the page
    /// URLs, `overriddenStatus` and `lastDirtyTimestamp`. What discovery and balancing need
    /// (addresses, ports, status, VIPs) is all there, and the reconcile hash (which counts
    /// statuses) works unchanged. What is lost: an instance's zone taken from metadata
    /// `zone` (C-29, Spring's convention) is unknown in a compact copy, so
    /// [`ZoneAffinity`](crate::discover::ZoneAffinity) sees such instances as zone-less;
    /// only an Amazon `availability-zone` survives. Use the full form (the default) when
    /// zone affinity relies on metadata zones or a caller reads metadata.
    pub fn compact(mut self, yes: bool) -> Self {
        self.config.compact = yes;
        self
    }

    /// For tests only, not a stable API: the wall clock the instance record's
    /// `lastDirtyTimestamp` is read from (default `SystemTime::now`), so that a test can
    /// step it back and forth. Timers never read it; they run on tokio's clock.
    #[doc(hidden)]
    pub fn wall_clock(mut self, now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.config.wall_clock = WallClock::new(now);
        self
    }

    /// Starts the background tasks. Must be called within a tokio runtime.
    ///
    /// Fails on an unusable configuration: no or invalid server URL, an instance with a
    /// blank id, host name, IP or app name or an id containing `/` (the server would refuse
    /// it), or registering without an instance.
    pub fn start(self) -> Result<EurekaClient, Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::no_runtime())?;
        let EurekaClientBuilder {
            urls,
            instance,
            fetch,
            register,
            config,
            zones,
        } = self;
        let servers = server_zones(&zones, &urls, instance.as_ref())?;
        let instance = match instance {
            Some(i) if register => Some(validate(i)?),
            Some(_) => None,
            None if register && !fetch => {
                return Err(Error::config(
                    "register_only() needs an instance to register",
                ))
            }
            None => None,
        };
        if !fetch && instance.is_none() {
            return Err(Error::config("the client neither fetches nor registers"));
        }
        let mut seeder = match config.rng_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        let identity = instance
            .as_ref()
            .map(|i| i.ip_addr.clone())
            .unwrap_or_else(|| detect_ip_addr().to_string());
        let transport = Transport::new(
            servers,
            &config,
            &identity,
            StdRng::seed_from_u64(seeder.random()),
        )?;
        let period = instance
            .as_ref()
            .map(|i| Duration::from_secs(u64::from(i.lease_info.renewal_interval_in_secs.max(1))));
        let (snapshot_tx, _) = watch::channel(Arc::new(ClientSnapshot::empty()));
        let (own_status_tx, _) = watch::channel(None);
        let shared = Arc::new(ClientState {
            paths: instance.as_ref().map(InstancePaths::new),
            own_key: instance
                .as_ref()
                .map(|i| (i.app.clone(), i.id().to_owned())),
            record: instance.map(|i| Mutex::new(LocalRecord::new(i, config.wall_clock.clone()))),
            config,
            transport,
            record_changed: Notify::new(),
            registered: AtomicBool::new(false),
            snapshot_tx,
            own_status_tx,
            metrics: ClientMetrics::default(),
        });
        let start = Instant::now();
        let lifecycle_task = period.map(|period| {
            let task = lifecycle::Lifecycle::new(
                shared.clone(),
                StdRng::seed_from_u64(seeder.random()),
                start,
                period,
            );
            runtime.spawn(task.run())
        });
        let fetch_task = fetch.then(|| {
            let rng = StdRng::seed_from_u64(seeder.random());
            if shared.config.follow.is_empty() {
                runtime.spawn(fetcher::Fetcher::new(shared.clone(), rng).run())
            } else {
                runtime.spawn(follow::run(shared.clone(), rng))
            }
        });
        Ok(EurekaClient {
            inner: Arc::new(Inner {
                shared,
                fetch_task: Mutex::new(fetch_task),
                lifecycle_task: Mutex::new(lifecycle_task),
                shut_down: AtomicBool::new(false),
            }),
        })
    }
}

/// The servers by zone, own zone first (C-40, C-70), each URL parsed (C-01) and listed once.
fn server_zones(
    zones: &ZoneConfig,
    defaults: &[String],
    instance: Option<&InstanceInfo>,
) -> Result<Vec<Vec<ServerUrl>>, Error> {
    let groups = zones.ordered(defaults, instance.and_then(InstanceInfo::zone));
    let used = zones.zones();
    for (zone, urls) in &zones.service_urls {
        let zone = zone.trim();
        if zone != super::zones::DEFAULT_ZONE && !urls.is_empty() && !used.contains(&zone) {
            tracing::warn!(zone, "eureka service URLs of a zone that is not among the availability zones of the region are not used");
        }
    }
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(groups.len());
    for group in groups {
        let mut servers = Vec::with_capacity(group.urls.len());
        for u in &group.urls {
            let server = ServerUrl::parse(u)?;
            let key = server.to_string();
            if !seen.contains(&key) {
                seen.push(key);
                servers.push(server);
            }
        }
        tracing::debug!(zone = %group.zone, servers = servers.len(), "eureka servers of a zone, in failover order");
        if !servers.is_empty() {
            out.push(servers);
        }
    }
    Ok(out)
}

/// The server would refuse these (E-10), or they cannot be addressed (E-03, C-04).
fn validate(i: InstanceInfo) -> Result<InstanceInfo, Error> {
    // C-04: the id and the app name travel as path segments, where `/`, `.` and `..`
    // cannot.
    let unaddressable = |s: &str| s.contains('/') || s == "." || s == "..";
    if unaddressable(i.id()) {
        return Err(Error::config(format!("unusable instance id {:?}", i.id())));
    }
    if unaddressable(&i.app) {
        return Err(Error::config(format!("unusable app name {:?}", i.app)));
    }
    // E-10 and the text rule: whatever the server would refuse, decided by the server's
    // own rules (the codec's register validation) on the very body this client sends, so
    // that a bad record fails at start instead of at every register.
    let mut body = Vec::new();
    codec::encode_instance(&i, Format::Json, &mut body);
    match codec::decode_register(&body, Format::Json, &i.app) {
        Ok(_) => Ok(i),
        Err(RegisterError::Invalid(reason)) => Err(Error::config(reason)),
        Err(RegisterError::InvalidText(e)) => Err(Error::config(e.to_string())),
        Err(e) => Err(Error::config(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // C-01, C-40, C-70: zone groups of parsed URLs, own zone first, each server once even
    // when two zones spell its URL differently.
    #[test]
    fn c70_server_zones_parse_and_list_each_server_once() {
        let b = EurekaClientBuilder::new(vec!["http://d:8761/eureka".into()])
            .availability_zones("us-east-1", ["z1", "z2", "z3"])
            .service_urls("z1", ["http://a:8761/eureka/", "http://b:8761/eureka"])
            .service_urls("z2", ["http://a:8761/eureka", "http://c:8761/eureka"]);
        let me = InstanceInfo::builder("x").metadata("zone", "z2").build();
        let zones = server_zones(&b.zones, &b.urls, Some(&me)).unwrap();
        let bases: Vec<Vec<String>> = zones
            .iter()
            .map(|z| z.iter().map(ToString::to_string).collect())
            .collect();
        assert_eq!(
            bases,
            [
                vec!["http://a:8761/eureka/", "http://c:8761/eureka/"],
                // z3 has no URLs of its own: defaultZone's.
                vec!["http://d:8761/eureka/"],
                vec!["http://b:8761/eureka/"],
            ]
        );
        let bad = EurekaClientBuilder::new(vec![]).service_urls("z1", ["ftp://x"]);
        assert!(server_zones(&bad.zones, &bad.urls, None)
            .unwrap_err()
            .is_config());
    }

    // Every setting that `Config`'s public fields used to offer is reachable here.
    #[test]
    fn every_setter_reaches_its_setting() {
        let s = Duration::from_secs;
        let b = EurekaClientBuilder::new(vec![])
            .fetch_interval(s(1))
            .cache_refresh_backoff_bound(3)
            .disable_delta(true)
            .instance_info_replication_interval(s(2))
            .initial_registration_delay(s(3))
            .registration_retry_base(s(4))
            .on_demand_update_status_change(false)
            .on_demand_rate_limit(5, 6)
            .timeouts(s(7), s(8))
            .retries_per_call(9)
            .quarantine_refresh_percentage(0.5)
            .session_reconnect_interval(s(10))
            .gzip(false)
            .identity_name("me")
            .unregister_on_shutdown(false)
            .shutdown_drain(s(11))
            .rng_seed(12)
            .compact(true)
            .health_check_interval(s(13))
            .health_check_timeout(s(14))
            .health_check(|| async { true });
        let c = &b.config;
        assert!(c.compact);
        assert_eq!(c.health_check_interval, Some(s(13)));
        assert_eq!(c.health_check_timeout, s(14));
        assert!(c.health_check.is_some());
        assert_eq!(c.registry_fetch_interval, s(1));
        assert_eq!(c.cache_refresh_backoff_bound, 3);
        assert!(c.disable_delta);
        assert_eq!(c.instance_info_replication_interval, s(2));
        assert_eq!(c.initial_registration_delay, s(3));
        assert_eq!(c.registration_retry_base, s(4));
        assert!(!c.on_demand_update_status_change);
        assert_eq!((c.on_demand_burst, c.on_demand_per_minute), (5, 6));
        assert_eq!((c.connect_timeout, c.read_timeout), (s(7), s(8)));
        assert_eq!(c.retries_per_call, 9);
        assert!((c.quarantine_refresh_percentage - 0.5).abs() < f64::EPSILON);
        assert_eq!(c.session_reconnect_interval, s(10));
        assert!(!c.gzip);
        assert_eq!(c.identity_name, "me");
        assert!(!c.unregister_on_shutdown);
        assert_eq!(c.shutdown_drain, s(11));
        assert_eq!(c.rng_seed, Some(12));
    }
}
