//! [`ServerConfig`]: the settings of the registry server.

use super::auth::BasicAuth;
use crate::registry::RegistryConfig;

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
    /// HTTP Basic users (default none: no authentication). With users, the whole REST API
    /// answers 401 without their credentials; see [`BasicAuth`].
    pub auth: BasicAuth,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            registry: RegistryConfig::default(),
            max_body_bytes: 1024 * 1024,
            disable_delta: false,
            prefix: String::new(),
            auth: BasicAuth::new(),
        }
    }
}
