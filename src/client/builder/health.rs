//! The builder's health-check settings (C-08).

use super::EurekaClientBuilder;
use crate::client::health::HealthCheck;
use std::time::Duration;

impl EurekaClientBuilder {
    // --- health checks (C-08) ---

    /// Report the instance's health (Spring's `eureka.client.healthcheck.enabled` with
    /// actuator health; Java's `HealthCheckHandler`). `check` returns a future of a
    /// [`Health`](crate::client::Health) (or a `bool`, `true` healthy). The client polls it at
    /// start, before the first registration, then every
    /// [`health_check_interval`](Self::health_check_interval) on tokio time. When the status
    /// to register changes it re-registers at once, within the on-demand rate limit
    /// ([`on_demand_rate_limit`](Self::on_demand_rate_limit), C-08; with
    /// [`on_demand_update_status_change`](Self::on_demand_update_status_change) off, at the
    /// next replication interval): consumers watching the registry drop a sick instance
    /// within one watch round trip instead of a lease expiry.
    ///
    /// The registered status combines the application's own status
    /// ([`EurekaClient::set_status`](crate::client::EurekaClient::set_status)) with the health result as Java does: health `Down`
    /// or `OutOfService` wins over the application's `UP`; the application's `STARTING`,
    /// `OUT_OF_SERVICE` and `DOWN` stay whatever the health. A check that panics or takes
    /// longer than [`health_check_timeout`](Self::health_check_timeout) counts as `Down` and
    /// is logged; it never stops the client. The check runs in a task of its own: it must
    /// not block the thread. A client that does not register (fetch-only, or without an
    /// instance) never runs it.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use tower_eureka::client::{local_instance, EurekaClient, Health};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tower_eureka::client::Error> {
    /// let db_ok = Arc::new(AtomicBool::new(true));
    /// let flag = db_ok.clone();
    /// let client = EurekaClient::builder(["http://127.0.0.1:8761/eureka"])
    ///     .instance(local_instance("orders").port(8080).build())
    ///     .health_check(move || {
    ///         let flag = flag.clone();
    ///         async move {
    ///             if flag.load(Ordering::Relaxed) { Health::Up } else { Health::Down }
    ///         }
    ///     })
    ///     .health_check_interval(Duration::from_secs(5))
    ///     .start()?;
    /// db_ok.store(false, Ordering::Relaxed); // registered as DOWN within about 5 s
    /// # drop(client); Ok(()) }
    /// ```
    pub fn health_check<F, Fut, H>(mut self, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = H> + Send + 'static,
        H: Into<crate::client::Health>,
    {
        self.config.health_check = Some(HealthCheck::new(check));
        self
    }

    /// How often the [`health_check`](Self::health_check) runs (default: the
    /// [`instance_info_replication_interval`](Self::instance_info_replication_interval),
    /// 30 s, where Java's replicator checks).
    pub fn health_check_interval(mut self, every: Duration) -> Self {
        self.config.health_check_interval = Some(every);
        self
    }

    /// How long one [`health_check`](Self::health_check) may take before it counts as
    /// `Down` (default 5 s).
    pub fn health_check_timeout(mut self, timeout: Duration) -> Self {
        self.config.health_check_timeout = timeout;
        self
    }
}
