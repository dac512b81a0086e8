//! Call services by name: a tower `Discover` over the client's registry snapshots, and
//! outbound HTTP stacks balanced by p2c over PeakEwma.
//!
//! The pieces, from the bottom up:
//!
//! * [`EurekaDiscover`] — the `UP` instances of a [`Target`](crate::client::Target) (app,
//!   VIP or secure VIP) as a never-ending, never-failing stream of
//!   `Change::Insert`/`Change::Remove` keyed by instance id, diffed from the client's
//!   `watch` channel of snapshots. Feed it to tower's `Balance` (through
//!   `PeakEwmaDiscover`).
//! * [`MakeEndpoint`] — the synchronous factory that turns an instance into the service
//!   the balancer calls; [`MakeHttpEndpoint`] makes [`HttpEndpoint`]s, which rewrite a
//!   request's scheme and authority to the instance's and rest after failures.
//! * [`BalancedClient`] — the ready-made stack for one target: tracing span, total
//!   timeout, budgeted retries of idempotent requests, per-try timeout, `Buffer`, failfast
//!   and p2c over PeakEwma endpoints, with the balancer driven by its own task even while
//!   idle. With no endpoint a call fails with [`Unavailable`] within the failfast timeout;
//!   it never hangs. A [`BalancedClientBuilder`] holds its settings and builds one client
//!   per target.
//! * [`RouteByHost`] / [`RouteByHostLayer`] — `http://APP-NAME/path` goes to a
//!   [`BalancedClient`] of that app, created on first use by one builder.
//! * [`ReqwestService`] — reqwest's client as a `Service<http::Request<B>>`, for when you
//!   would rather use reqwest than hyper-util's legacy client.
//!
//! # Example
//!
//! A hand-made snapshot channel and a stand-in HTTP client (in a real program the
//! channel is [`EurekaClient::snapshots`](crate::client::EurekaClient::snapshots) and the
//! client hyper-util's or [`ReqwestService`]):
//!
//! ```
//! use std::sync::Arc;
//! use tokio::sync::watch;
//! use tower::{service_fn, ServiceExt};
//! use tower_eureka::client::{ClientSnapshot, Target};
//! use tower_eureka::discover::BalancedClient;
//! use tower_eureka::model::{Applications, InstanceInfo};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tower_eureka::BoxError> {
//! let apps = Applications::from_instances([
//!     InstanceInfo::builder("orders").host_name("o1").ip_addr("10.0.0.1").port(8080).build(),
//!     InstanceInfo::builder("orders").host_name("o2").ip_addr("10.0.0.2").port(8080).build(),
//! ]);
//! let (_publisher, snapshots) =
//!     watch::channel(Arc::new(ClientSnapshot::from_applications(&apps, 1)));
//!
//! // Stands in for an HTTP client: answers with the URI it was sent.
//! let http = service_fn(|req: http::Request<String>| async move {
//!     Ok::<_, std::convert::Infallible>(http::Response::new(req.uri().to_string()))
//! });
//! let orders = BalancedClient::builder().build(snapshots, Target::app("orders"), http);
//!
//! let req = http::Request::get("http://orders/status").body(String::new())?;
//! let rsp = orders.oneshot(req).await?;
//! assert!(rsp.body() == "http://10.0.0.1:8080/status" || rsp.body() == "http://10.0.0.2:8080/status");
//! # Ok(()) }
//! ```

mod balanced;
mod endpoint;
mod error;
mod future;
mod reqwest_service;
mod route;
mod stream;

pub use self::balanced::{
    balanced_client, BalancedClient, BalancedClientBuilder, DEFAULT_BUFFER_CAPACITY, DEFAULT_DECAY,
    DEFAULT_FAILFAST_TIMEOUT, DEFAULT_MAX_RETRIES, DEFAULT_PER_TRY_TIMEOUT, DEFAULT_RTT,
    DEFAULT_TIMEOUT,
};
pub use self::endpoint::{
    EndpointFuture, HttpEndpoint, MakeEndpoint, MakeHttpEndpoint, ServedBy,
    DEFAULT_FAILURE_BACKOFF, DEFAULT_MAX_FAILURE_BACKOFF,
};
pub use self::error::{RouteError, Unavailable};
pub use self::reqwest_service::{ReqwestFuture, ReqwestService};
pub use self::route::{HostIs, RouteByHost, RouteByHostLayer, RouteFuture, DEFAULT_MAX_TARGETS};
pub use self::stream::{EurekaDiscover, ZoneAffinity};
