//! `EurekaClientBuilder`: every setting of an [`EurekaClient`], set once.

use super::config::Config;
use super::lifecycle::{self, InstancePaths, LocalRecord, WallClock};
use super::local::detect_ip_addr;
use super::transport::{ServerUrl, Transport};
use super::{fetcher, ClientMetrics, ClientSnapshot, ClientState, Error, EurekaClient, Inner};
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
}

impl EurekaClientBuilder {
    pub(super) fn new(urls: Vec<String>) -> Self {
        EurekaClientBuilder {
            urls,
            instance: None,
            fetch: true,
            register: true,
            config: Config::default(),
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
        } = self;
        let servers = urls
            .iter()
            .map(|u| ServerUrl::parse(u))
            .collect::<Result<Vec<_>, _>>()?;
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
            let task =
                fetcher::Fetcher::new(shared.clone(), StdRng::seed_from_u64(seeder.random()));
            runtime.spawn(task.run())
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
            .rng_seed(12);
        let c = &b.config;
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
