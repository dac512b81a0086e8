//! `BalancedClientBuilder`: every setting of a [`BalancedClient`], set once.

use super::pool;
use super::retry::RetryPolicy;
use super::trace::Traced;
use super::{target_label, BalancedClient};
use crate::client::{ClientSnapshot, Target};
use crate::discover::{EurekaDiscover, MakeEndpoint, MakeHttpEndpoint, ZoneAffinity};
use crate::BoxError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tower::balance::p2c::Balance;
use tower::load::{CompleteOnResponse, PeakEwmaDiscover};
use tower::retry::budget::TpsBudget;
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceBuilder};

/// Total time a call may take, retries included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Time one attempt may take, waiting for an endpoint included.
pub const DEFAULT_PER_TRY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a call waits for a ready endpoint before the balancer fails fast.
pub const DEFAULT_FAILFAST_TIMEOUT: Duration = Duration::from_secs(3);
/// RTT assumed for an endpoint before its first answer (PeakEwma's floor).
pub const DEFAULT_RTT: Duration = Duration::from_millis(30);
/// PeakEwma decay period.
pub const DEFAULT_DECAY: Duration = Duration::from_secs(10);
/// Retries of one call at most (so at most 3 attempts).
pub const DEFAULT_MAX_RETRIES: usize = 2;
/// Requests the buffer in front of the balancer holds.
pub const DEFAULT_BUFFER_CAPACITY: usize = 1024;

/// Configures and builds [`BalancedClient`]s. Made by [`BalancedClient::builder`] (or
/// `default()`).
///
/// It holds every setting of the stack and nothing about what a client calls: the target
/// and the snapshots it is discovered in are given to [`build`](Self::build). One builder
/// can so make a client per target; a [`RouteByHostLayer`](crate::discover::RouteByHostLayer)
/// does exactly that with the builder it is given.
///
/// ```
/// use std::time::Duration;
/// use tower_eureka::discover::BalancedClient;
/// let builder = BalancedClient::builder()
///     .timeout(Duration::from_secs(5))
///     .max_retries(1);
/// # drop(builder);
/// ```
#[derive(Clone)]
pub struct BalancedClientBuilder {
    timeout: Duration,
    per_try_timeout: Duration,
    failfast_timeout: Duration,
    budget: Option<Arc<TpsBudget>>,
    max_retries: usize,
    buffer_capacity: usize,
    default_rtt: Duration,
    decay: Duration,
    use_host_name: bool,
    prefer_secure: bool,
    zones: ZoneAffinity,
}

impl Default for BalancedClientBuilder {
    fn default() -> Self {
        BalancedClientBuilder {
            timeout: DEFAULT_TIMEOUT,
            per_try_timeout: DEFAULT_PER_TRY_TIMEOUT,
            failfast_timeout: DEFAULT_FAILFAST_TIMEOUT,
            budget: None,
            max_retries: DEFAULT_MAX_RETRIES,
            buffer_capacity: DEFAULT_BUFFER_CAPACITY,
            default_rtt: DEFAULT_RTT,
            decay: DEFAULT_DECAY,
            use_host_name: false,
            prefer_secure: true,
            zones: ZoneAffinity::Off,
        }
    }
}

impl fmt::Debug for BalancedClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BalancedClientBuilder")
            .field("timeout", &self.timeout)
            .field("per_try_timeout", &self.per_try_timeout)
            .field("failfast_timeout", &self.failfast_timeout)
            .field("max_retries", &self.max_retries)
            .field("buffer_capacity", &self.buffer_capacity)
            .field("default_rtt", &self.default_rtt)
            .field("decay", &self.decay)
            .field("use_host_name", &self.use_host_name)
            .field("prefer_secure", &self.prefer_secure)
            .field("zones", &self.zones)
            .finish_non_exhaustive()
    }
}

impl BalancedClientBuilder {
    /// Every setting at its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Total time a call may take, retries included (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, total: Duration) -> Self {
        self.timeout = total;
        self
    }

    /// Time one attempt may take, including the wait for a ready endpoint (default
    /// [`DEFAULT_PER_TRY_TIMEOUT`]). Keep it above the failfast timeout, or calls to a
    /// target without endpoints end with a timeout error instead of [`Unavailable`](crate::discover::Unavailable).
    pub fn per_try_timeout(mut self, per_try: Duration) -> Self {
        self.per_try_timeout = per_try;
        self
    }

    /// How long a call waits for a ready endpoint before the balancer fails fast with
    /// [`Unavailable`](crate::discover::Unavailable) (default [`DEFAULT_FAILFAST_TIMEOUT`]).
    pub fn failfast_timeout(mut self, failfast: Duration) -> Self {
        self.failfast_timeout = failfast;
        self
    }

    /// The retry budget (default: a fresh `TpsBudget::default()` per client — 10 s
    /// window, 10 retries a second plus 20 % of calls). A budget set here is shared by
    /// every client built by this builder (and its clones).
    pub fn retry_budget(mut self, budget: TpsBudget) -> Self {
        self.budget = Some(Arc::new(budget));
        self
    }

    /// Retries of one call at most (default [`DEFAULT_MAX_RETRIES`]); 0 turns retries off.
    pub fn max_retries(mut self, retries: usize) -> Self {
        self.max_retries = retries;
        self
    }

    /// Requests the buffer in front of the balancer holds (default
    /// [`DEFAULT_BUFFER_CAPACITY`]).
    pub fn buffer_capacity(mut self, capacity: usize) -> Self {
        self.buffer_capacity = capacity;
        self
    }

    /// PeakEwma's RTT floor for new endpoints and its decay period (defaults
    /// [`DEFAULT_RTT`], [`DEFAULT_DECAY`]).
    pub fn peak_ewma(mut self, default_rtt: Duration, decay: Duration) -> Self {
        self.default_rtt = default_rtt;
        self.decay = decay;
        self
    }

    /// Address instances by `hostName` instead of `ipAddr` (default: `ipAddr`).
    pub fn use_host_name(mut self, yes: bool) -> Self {
        self.use_host_name = yes;
        self
    }

    /// Call the secure port (`https`) when an instance enables it (default: yes).
    pub fn prefer_secure(mut self, yes: bool) -> Self {
        self.prefer_secure = yes;
        self
    }

    /// Keep calls in a zone (C-40; default [`ZoneAffinity::Off`]): with
    /// [`ZoneAffinity::Prefer`], endpoints of the caller's zone while it has `UP` ones,
    /// the others only when it has none.
    pub fn zone_affinity(mut self, zones: ZoneAffinity) -> Self {
        self.zones = zones;
        self
    }

    /// Builds the stack for `target`, discovered in `snapshots` (from
    /// [`EurekaClient::snapshots`](crate::client::EurekaClient::snapshots), or any `watch`
    /// channel of snapshots), around `inner`: the HTTP client service cloned for each
    /// endpoint (hyper-util's legacy `Client`, a
    /// [`ReqwestService`](crate::discover::ReqwestService), ...).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (the balancer runs on a spawned task).
    pub fn build<S, B, R>(
        &self,
        snapshots: watch::Receiver<Arc<ClientSnapshot>>,
        target: Target,
        inner: S,
    ) -> BalancedClient<B, R>
    where
        S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
        B: Clone + Send + 'static,
        R: Send + 'static,
    {
        let make = MakeHttpEndpoint::new(inner)
            .use_host_name(self.use_host_name)
            .prefer_secure(self.prefer_secure);
        self.build_with(snapshots, target, make)
    }

    /// Builds the stack with a custom endpoint factory instead of [`MakeHttpEndpoint`]
    /// (so [`use_host_name`](Self::use_host_name) and
    /// [`prefer_secure`](Self::prefer_secure) do not apply); the endpoints must accept
    /// absolute-form requests themselves.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn build_with<M, B, R>(
        &self,
        snapshots: watch::Receiver<Arc<ClientSnapshot>>,
        target: Target,
        make: M,
    ) -> BalancedClient<B, R>
    where
        M: MakeEndpoint + Send + 'static,
        M::Endpoint: Service<http::Request<B>, Response = http::Response<R>> + Send + 'static,
        <M::Endpoint as Service<http::Request<B>>>::Error: Into<BoxError>,
        <M::Endpoint as Service<http::Request<B>>>::Future: Send + 'static,
        B: Clone + Send + 'static,
        R: Send + 'static,
    {
        let label = target_label(&target);
        let discover =
            EurekaDiscover::new(snapshots, target, make).zone_affinity(self.zones.clone());
        let discover = PeakEwmaDiscover::new::<http::Request<B>>(
            discover,
            self.default_rtt,
            self.decay,
            CompleteOnResponse::default(),
        );
        let balance: Balance<_, http::Request<B>> = Balance::new(discover);
        let pool = pool::spawn(
            balance,
            label.clone(),
            self.failfast_timeout,
            self.buffer_capacity,
        );
        let budget = self
            .budget
            .clone()
            .unwrap_or_else(|| Arc::new(TpsBudget::default()));
        let policy = RetryPolicy::new(budget, self.max_retries);
        let stack = ServiceBuilder::new()
            .layer_fn(|inner| Traced::new(inner, label.clone()))
            .timeout(self.timeout)
            .retry(policy)
            .timeout(self.per_try_timeout)
            .service(pool);
        BalancedClient {
            inner: BoxCloneSyncService::new(stack),
            target: label,
        }
    }
}
