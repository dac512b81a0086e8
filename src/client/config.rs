//! The client's settings, with the defaults of the Java client (spec 1.3.2).

use super::lifecycle::WallClock;
use std::time::Duration;

/// Settings of the background client: what the setters of
/// [`EurekaClientBuilder`](super::EurekaClientBuilder) set (each documented there), and
/// where every default is defined, once.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// See `EurekaClientBuilder::fetch_interval`.
    pub(crate) registry_fetch_interval: Duration,
    /// See `EurekaClientBuilder::instance_info_replication_interval`.
    pub(crate) instance_info_replication_interval: Duration,
    /// See `EurekaClientBuilder::initial_registration_delay`.
    pub(crate) initial_registration_delay: Duration,
    /// See `EurekaClientBuilder::registration_retry_base`.
    pub(crate) registration_retry_base: Duration,
    /// See `EurekaClientBuilder::cache_refresh_backoff_bound`.
    pub(crate) cache_refresh_backoff_bound: u32,
    /// See `EurekaClientBuilder::on_demand_update_status_change`.
    pub(crate) on_demand_update_status_change: bool,
    /// See `EurekaClientBuilder::on_demand_rate_limit`.
    pub(crate) on_demand_burst: u32,
    /// See `EurekaClientBuilder::on_demand_rate_limit`.
    pub(crate) on_demand_per_minute: u32,
    /// See `EurekaClientBuilder::timeouts`.
    pub(crate) connect_timeout: Duration,
    /// See `EurekaClientBuilder::timeouts`.
    pub(crate) read_timeout: Duration,
    /// See `EurekaClientBuilder::retries_per_call`.
    pub(crate) retries_per_call: usize,
    /// See `EurekaClientBuilder::quarantine_refresh_percentage`.
    pub(crate) quarantine_refresh_percentage: f64,
    /// See `EurekaClientBuilder::session_reconnect_interval`.
    pub(crate) session_reconnect_interval: Duration,
    /// See `EurekaClientBuilder::disable_delta`.
    pub(crate) disable_delta: bool,
    /// See `EurekaClientBuilder::watch`: how long one watching delta waits, zero for no
    /// watching.
    pub(crate) watch_wait: Duration,
    /// See `EurekaClientBuilder::follow`: the targets to follow one by one instead of
    /// fetching the whole registry (empty: the whole registry).
    pub(crate) follow: Vec<super::Target>,
    /// See `EurekaClientBuilder::unregister_on_shutdown`.
    pub(crate) unregister_on_shutdown: bool,
    /// See `EurekaClientBuilder::shutdown_drain`.
    pub(crate) shutdown_drain: Duration,
    /// See `EurekaClientBuilder::gzip`.
    pub(crate) gzip: bool,
    /// See `EurekaClientBuilder::identity_name`.
    pub(crate) identity_name: String,
    /// See `EurekaClientBuilder::rng_seed`.
    pub(crate) rng_seed: Option<u64>,
    /// See `EurekaClientBuilder::compact`: fetch with `X-Eureka-Accept: compact`.
    pub(crate) compact: bool,
    /// See `EurekaClientBuilder::health_check`.
    pub(crate) health_check: Option<super::health::HealthCheck>,
    /// See `EurekaClientBuilder::health_check_interval`; `None`: the instance info
    /// replication interval (where Java's replicator checks health).
    pub(crate) health_check_interval: Option<Duration>,
    /// See `EurekaClientBuilder::health_check_timeout`.
    pub(crate) health_check_timeout: Duration,
    /// See `EurekaClientBuilder::wall_clock` (tests only).
    pub(crate) wall_clock: WallClock,
    /// See `EurekaClientBuilder::ca_pem`: PEM CA bundles trusted besides the Mozilla roots.
    #[cfg(feature = "tls")]
    pub(crate) ca_pems: Vec<Vec<u8>>,
    /// See `EurekaClientBuilder::fetch_remote_regions_registry`: the `regions` query value.
    pub(crate) remote_regions: Option<String>,
    /// See `EurekaClientBuilder::region_zones`.
    pub(crate) zone_regions: std::sync::Arc<super::regions::ZoneRegions>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            registry_fetch_interval: Duration::from_secs(30),
            instance_info_replication_interval: Duration::from_secs(30),
            initial_registration_delay: Duration::ZERO,
            registration_retry_base: Duration::from_secs(1),
            cache_refresh_backoff_bound: 10,
            on_demand_update_status_change: true,
            on_demand_burst: 2,
            on_demand_per_minute: 4,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(8),
            retries_per_call: 3,
            quarantine_refresh_percentage: 0.66,
            session_reconnect_interval: Duration::from_secs(1200),
            disable_delta: false,
            watch_wait: Duration::from_secs(30),
            follow: Vec::new(),
            unregister_on_shutdown: true,
            shutdown_drain: Duration::ZERO,
            gzip: true,
            identity_name: "TowerEurekaClient".to_owned(),
            rng_seed: None,
            compact: false,
            health_check: None,
            health_check_interval: None,
            health_check_timeout: Duration::from_secs(5),
            wall_clock: WallClock::default(),
            #[cfg(feature = "tls")]
            ca_pems: Vec::new(),
            remote_regions: None,
            zone_regions: std::sync::Arc::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_java_ones() {
        let c = Config::default();
        assert_eq!(c.registry_fetch_interval, Duration::from_secs(30));
        assert_eq!(c.connect_timeout, Duration::from_secs(5));
        assert_eq!(c.read_timeout, Duration::from_secs(8));
        assert_eq!(c.retries_per_call, 3);
        assert_eq!(c.cache_refresh_backoff_bound, 10);
        assert!((c.quarantine_refresh_percentage - 0.66).abs() < f64::EPSILON);
        assert!(c.unregister_on_shutdown);
    }
}
