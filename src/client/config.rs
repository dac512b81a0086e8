//! Client settings, with the defaults of the Java client (spec 1.3.2), and local address
//! detection for the instance record.

use crate::model::{InstanceInfo, InstanceInfoBuilder};
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::Duration;

/// Settings of the background client.
///
/// Every default is the Java client's (spec 1.3.2), so existing tuning guides apply. Build one
/// with [`Config::default`] and change fields, or use the setters of
/// [`Builder`](super::Builder).
///
/// The heartbeat period is not here: it is the instance's own
/// `leaseInfo.renewalIntervalInSecs` (30 s by default), which is also what the server expects.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Registry fetch period (`registryFetchIntervalSeconds`, default 30 s). Deltas are
    /// fetched at this period; fetches are spaced by it measured from the end of the previous
    /// one.
    pub registry_fetch_interval: Duration,
    /// How often the record is checked for local changes and re-registered when dirty
    /// (`instanceInfoReplicationIntervalSeconds`, default 30 s). Also the upper bound of the
    /// registration retry back-off (C-13).
    pub instance_info_replication_interval: Duration,
    /// Delay before the first registration (default 0: register immediately, C-05).
    pub initial_registration_delay: Duration,
    /// First step of the registration retry back-off (default 1 s, C-13).
    pub registration_retry_base: Duration,
    /// Upper bound of the fetch back-off, as a multiple of the fetch interval
    /// (`cacheRefreshExecutorExponentialBackOffBound`, default 10, C-13).
    pub cache_refresh_backoff_bound: u32,
    /// Whether local status and metadata changes are registered at once (default true, C-08).
    pub on_demand_update_status_change: bool,
    /// Token bucket of on-demand registrations: burst (default 2, C-08).
    pub on_demand_burst: u32,
    /// Token bucket of on-demand registrations: tokens per minute (default 4, C-08).
    pub on_demand_per_minute: u32,
    /// TCP connect timeout per attempt (default 5 s).
    pub connect_timeout: Duration,
    /// Read timeout per attempt (default 8 s).
    pub read_timeout: Duration,
    /// Servers tried per logical call (default 3, C-41).
    pub retries_per_call: usize,
    /// Fraction of quarantined servers at which the quarantine is cleared (default 0.66, C-41).
    pub quarantine_refresh_percentage: f64,
    /// Period after which the sticky server and the quarantine are dropped, randomised by
    /// ±50 % (`sessionedClientReconnectIntervalSeconds`, default 1200 s, C-42).
    pub session_reconnect_interval: Duration,
    /// Always fetch the full registry instead of deltas (default false).
    pub disable_delta: bool,
    /// Cancel the registration on [`shutdown`](super::EurekaClient::shutdown) (default true,
    /// C-50).
    pub unregister_on_shutdown: bool,
    /// Drain before cancelling on shutdown: re-register as `DOWN`, keep heart-beating for
    /// this long, then cancel (default 0: no drain, C-51). Keep it below the lease duration
    /// if heartbeats may fail.
    pub shutdown_drain: Duration,
    /// Ask for gzip-compressed responses (default true).
    pub gzip: bool,
    /// Value of the `DiscoveryIdentity-Name` header (E-32, default `TowerEurekaClient`).
    pub identity_name: String,
    /// Seed for the random parts (server order, jitter); `None` (default) seeds from the OS.
    pub rng_seed: Option<u64>,
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
            unregister_on_shutdown: true,
            shutdown_drain: Duration::ZERO,
            gzip: true,
            identity_name: "TowerEurekaClient".to_owned(),
            rng_seed: None,
        }
    }
}

// === local address detection ===

/// A non-loopback IP address of this host, or `127.0.0.1` when there is none.
///
/// Connects a UDP socket to a TEST-NET-1 address (RFC 5737) and reads the local address the
/// kernel picked for that route. No packet is sent.
pub fn detect_ip_addr() -> IpAddr {
    let probe = || -> std::io::Result<IpAddr> {
        let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
        socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9))?;
        Ok(socket.local_addr()?.ip())
    };
    match probe() {
        Ok(ip) if !ip.is_unspecified() => ip,
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    }
}

/// This host's name: the `HOSTNAME` environment variable, else `/etc/hostname`, else the
/// detected IP address.
pub fn detect_host_name() -> String {
    let from_env = std::env::var("HOSTNAME")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| valid_host(h));
    from_env
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| valid_host(h))
        })
        .unwrap_or_else(|| detect_ip_addr().to_string())
}

fn valid_host(h: &str) -> bool {
    !h.is_empty() && !h.contains(|c: char| c.is_whitespace() || c == '/')
}

/// An instance builder for `app` with this host's detected name and IP address
/// ([`detect_host_name`], [`detect_ip_addr`]).
///
/// Everything can still be overridden on the returned builder (host name, IP, port, VIPs,
/// metadata, instance id). The instance id defaults to `{host}:{app lower-case}:{port}`
/// (C-04).
///
/// ```
/// use tower_eureka::client::local_instance;
/// let me = local_instance("orders").host_name("orders-1").port(8081).build();
/// assert_eq!(me.id(), "orders-1:orders:8081");
/// assert!(!me.ip_addr.is_empty());
/// ```
pub fn local_instance(app: impl AsRef<str>) -> InstanceInfoBuilder {
    let ip = detect_ip_addr().to_string();
    InstanceInfo::builder(app)
        .host_name(detect_host_name())
        .ip_addr(ip)
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

    #[test]
    fn detection_never_comes_back_empty() {
        let ip = detect_ip_addr();
        assert!(!ip.is_unspecified());
        let host = detect_host_name();
        assert!(valid_host(&host), "{host:?}");
    }
}
