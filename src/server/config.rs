//! [`ServerConfig`]: the settings of the registry server, and [`DashboardConfig`], those of
//! its dashboard.

use super::auth::BasicAuth;
use super::regions::RemoteRegions;
use crate::registry::RegistryConfig;
use std::time::Duration;

/// Settings of the registry server.
///
/// Defaults follow Spring Cloud Netflix's `eureka.server.*` defaults, except where this crate
/// fixes a Java defect (see [`RegistryConfig`]).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Registry behaviour: leases, eviction, self-preservation, delta retention, publication.
    pub registry: RegistryConfig,
    /// Largest accepted request body, before and after gzip decoding (default 1 MiB).
    /// Larger bodies get 413.
    pub max_body_bytes: usize,
    /// Answer `GET /apps/delta` with 403 so clients always full-fetch
    /// (`eureka.server.disable-delta`, default false).
    pub disable_delta: bool,
    /// Path prefix the service strips before routing (default empty: paths are relative to
    /// where the service is mounted). The standalone binary uses `/eureka`.
    pub prefix: String,
    /// Longest wait for a request's head once a connection is open or between requests
    /// on it, for [`serve`](super::serve) and [`serve_tls`](super::serve_tls) (default
    /// 10 s): a connection that sends its headers slower (slowloris) is closed.
    pub header_read_timeout: Duration,
    /// Longest wait for a request body (default 10 s); slower bodies are answered 408 and
    /// change nothing.
    pub body_read_timeout: Duration,
    /// Most connections [`serve`](super::serve) keeps open at once (default 16384); beyond
    /// it new connections wait in the listen backlog until one closes.
    pub max_connections: usize,
    /// Most requests [`serve`](super::serve) keeps in progress before it sheds load with
    /// `503` and `Retry-After` (default 1024; 0: never shed). Heartbeats, cancels and the
    /// probes have a reserve of their own, full-registry fetches may use half; long polls
    /// are not counted. See [`ShedLayer`](super::ShedLayer).
    pub max_concurrent_requests: usize,
    /// Serve Prometheus metrics at `/metrics` on the service root (outside
    /// [`prefix`](Self::prefix)) and count every request by route and status for them
    /// (default **true**). Off: `/metrics` is not a route and requests are not timed;
    /// [`EurekaService::metrics`](super::EurekaService::metrics) still reads the
    /// registry's counters.
    pub metrics: bool,
    /// The operator dashboard, served outside [`prefix`](Self::prefix) (Spring's
    /// `eureka.dashboard.*`).
    pub dashboard: DashboardConfig,
    /// HTTP Basic users (default none: no authentication). With users, the whole REST API
    /// answers 401 without their credentials; see [`BasicAuth`].
    pub auth: BasicAuth,
    /// Remote regions merged into `GET /apps?regions=..` and `GET /apps/delta?regions=..`
    /// (R-130; default none). Their copies are filled by
    /// [`spawn_remote_regions`](crate::cluster::spawn_remote_regions).
    pub remote_regions: RemoteRegions,
}

/// Where the dashboard is served, and whether (Spring's `eureka.dashboard.enabled` and
/// `eureka.dashboard.path`).
///
/// The path is relative to where the service is mounted and does not include
/// [`ServerConfig::prefix`]: the standalone binary serves the REST API at `/eureka` and the
/// dashboard at `/`. Its JSON twin is at `{path}/dashboard.json` (`/dashboard.json` for
/// the root).
///
/// ```
/// use tower_eureka::server::{DashboardConfig, ServerConfig};
///
/// let config = ServerConfig {
///     dashboard: DashboardConfig { path: "/ops/eureka".into(), ..DashboardConfig::default() },
///     ..ServerConfig::default()
/// };
/// assert!(config.dashboard.enabled);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DashboardConfig {
    /// Serve the dashboard (default true); when false its paths answer 404.
    pub enabled: bool,
    /// Its path (default `/`). A trailing slash does not matter; a missing leading one is
    /// assumed.
    pub path: String,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        DashboardConfig {
            enabled: true,
            path: "/".to_owned(),
        }
    }
}

impl DashboardConfig {
    /// The path without its trailing slashes and with a leading one, or empty for the
    /// root: what request paths are compared with.
    pub(super) fn base(&self) -> String {
        let p = self.path.trim_matches('/');
        if p.is_empty() {
            String::new()
        } else {
            format!("/{p}")
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            registry: RegistryConfig::default(),
            max_body_bytes: 1024 * 1024,
            disable_delta: false,
            prefix: String::new(),
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            max_connections: 16_384,
            max_concurrent_requests: 1024,
            metrics: true,
            dashboard: DashboardConfig::default(),
            auth: BasicAuth::new(),
            remote_regions: RemoteRegions::default(),
        }
    }
}
