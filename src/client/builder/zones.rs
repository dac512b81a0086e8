//! The builder's server zones (C-40, C-70).

use super::EurekaClientBuilder;

impl EurekaClientBuilder {
    // --- zones (C-40, C-70) ---

    /// The server URLs of one zone (Spring's `eureka.client.service-url.<zone>`); call it
    /// once per zone. The URLs given to [`EurekaClient::builder`](crate::client::EurekaClient::builder) are the `defaultZone`
    /// list, which serves every zone that has none of its own (Spring's fallback).
    ///
    /// Servers are tried own zone first (C-40): the own zone is the instance's (Amazon
    /// `availability-zone`, else metadata `zone`, C-29), else the first availability zone;
    /// then the other zones follow in configured order, wrapping around from the own zone,
    /// as Java's `EndpointUtils.getServiceUrlsMapFromConfig` lists them. Within a zone the
    /// order is random. A client sticks to the server that answered (C-41), so after a
    /// failover to another zone it comes back to its own at the next session reshuffle
    /// ([`session_reconnect_interval`](Self::session_reconnect_interval), C-42).
    ///
    /// ```no_run
    /// use tower_eureka::client::{local_instance, EurekaClient};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tower_eureka::client::Error> {
    /// let me = local_instance("orders").port(8080).metadata("zone", "zone-b").build();
    /// let client = EurekaClient::builder(Vec::<String>::new())
    ///     .region("eu-west-1")
    ///     .availability_zones("eu-west-1", ["zone-a", "zone-b", "zone-c"])
    ///     .service_urls("zone-a", ["http://eureka-a:8761/eureka"])
    ///     .service_urls("zone-b", ["http://eureka-b1:8761/eureka", "http://eureka-b2:8761/eureka"])
    ///     .service_urls("zone-c", ["http://eureka-c:8761/eureka"])
    ///     .instance(me)
    ///     .start()?;
    /// // Tried in this order: eureka-b1/b2 (shuffled), eureka-c, eureka-a.
    /// # drop(client); Ok(()) }
    /// ```
    pub fn service_urls<I, S>(mut self, zone: impl Into<String>, urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let urls = urls.into_iter().map(Into::into).collect();
        self.zones.service_urls.push((zone.into(), urls));
        self
    }

    /// The client's region (`eureka.client.region`, default `us-east-1`): which
    /// [`availability_zones`](Self::availability_zones) list applies.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.zones.region = region.into();
        self
    }

    /// The zones of `region`, in order (`eureka.client.availability-zones.<region>`).
    /// Only the client's [`region`](Self::region)'s list is used; only its zones' URLs are
    /// tried (Java's rule). Without a list, the zones given
    /// [`service_urls`](Self::service_urls) count, in the order given; without those,
    /// `defaultZone`.
    pub fn availability_zones<I, S>(mut self, region: impl Into<String>, zones: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let zones = zones.into_iter().map(Into::into).collect();
        self.zones.availability_zones.push((region.into(), zones));
        self
    }

    /// Whether the own zone's servers come first (`eureka.client.prefer-same-zone-eureka`,
    /// default true). Off, the list starts at the first zone that is not the own one (as
    /// Java's `getZoneOffset` does) and the own zone comes after the others.
    pub fn prefer_same_zone(mut self, yes: bool) -> Self {
        self.zones.prefer_same_zone = yes;
        self
    }
}
