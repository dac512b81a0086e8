//! The Eureka registry server as a tower [`Service`](tower::Service).
//!
//! [`EurekaService`] implements the whole Eureka REST API (spec section 3) over a
//! [`Registry`](crate::registry::Registry): register, heartbeat, cancel, status overrides,
//! metadata, full and delta fetches, single apps and instances, VIP and secure-VIP queries,
//! the peer-replication batch receiver, and `/status`; outside the REST prefix, the
//! operator's dashboard (`/`, [`DashboardConfig`]) with its JSON twin, `/health` and
//! `/ready`. JSON or XML by `Accept` (E-05), compact by `X-Eureka-Accept` (E-30), gzip by
//! `Accept-Encoding` (E-07). Registry payloads are encoded once per registry change and
//! served as shared bytes. With users in
//! [`ServerConfig::auth`] the REST API needs HTTP Basic credentials ([`BasicAuth`]);
//! [`serve_tls`] serves it over HTTPS (feature `tls`).
//!
//! Mount it into an axum app (axum strips the prefix; the service applies its own body
//! limit):
//!
//! ```
//! use tower_eureka::server::EurekaService;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app: axum::Router = axum::Router::new()
//!     .route("/", axum::routing::get(|| async { "hello" }))
//!     .nest_service("/eureka", EurekaService::default());
//! # let _ = app;
//! # }
//! ```
//!
//! Or call it directly, as tower services are:
//!
//! ```
//! use tower::ServiceExt;
//! use tower_eureka::server::EurekaService;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let svc = EurekaService::default();
//! let req = http::Request::get("/apps")
//!     .header("accept", "application/json")
//!     .body(http_body_util::Empty::<bytes::Bytes>::new())
//!     .unwrap();
//! let res = svc.oneshot(req).await.unwrap();
//! assert_eq!(res.status(), 200);
//! # }
//! ```

//! # Layout
//!
//! One concept per module; each imports only from the modules listed before it, so no
//! import runs back up:
//!
//! | module | what it holds |
//! |---|---|
//! | `auth` | [`BasicAuth`], [`BasicAuthLayer`]: HTTP Basic users, constant-time check |
//! | `regions` | [`RemoteRegions`]: the copies of remote regions' registries (R-130) |
//! | `config` | [`ServerConfig`], [`DashboardConfig`] |
//! | `hook` | [`Replicator`]: what the server reports to the cluster layer, [`PeerMetrics`] |
//! | `route` | the path → route table (E-01..E-03, E-26) |
//! | `metrics` | the recording side of `/metrics`: route names, request counters, atomic histograms |
//! | `body` | request bodies: size limit, gzip (E-08) |
//! | `request` | the request head: negotiation (E-05, E-07, E-30), replication flag (E-31), query |
//! | `response` | [`ResponseBody`] and every response builder |
//! | `future` | [`ResponseFuture`] |
//! | `cache` | encoded payloads, once per change and variant (R-90..R-92), hits and misses |
//! | `exposition` | [`EurekaMetrics`]: the Prometheus text of `/metrics`, read at scrape time |
//! | `fetch` | `GET` handlers (E-16..E-21) |
//! | `register` | `POST /apps/{app}` (E-10) |
//! | `instance` | heartbeat, cancel, status overrides, metadata (E-11..E-15) |
//! | `replication` | the peer-replication batch receiver (E-22) |
//! | `watch` | the long poll on the delta and on one app or VIP (`?watch=V`, issue 15) |
//! | `status` | `/status`, `/serverinfo/statusoverrides` (E-24, E-25) |
//! | `operator` | the routes outside the prefix: `/health` (liveness), `/ready` (readiness, P-40), the dashboard's paths |
//! | `dashboard` | the dashboard page and its JSON twin (`{path}/dashboard.json`) |
//! | `service` | [`EurekaService`]: the tower Service and the dispatch of routes to handlers |
//! | `serve` | [`serve`], [`serve_tls`]: the accept loop of the standalone binary |

mod auth;
mod regions;

mod config;
mod hook;
mod route;

mod metrics;

mod body;
mod request;
mod response;

mod future;

mod cache;
mod exposition;

mod fetch;
mod instance;
mod register;
mod replication;
mod status;
mod watch;

mod dashboard;
mod operator;

mod service;

mod serve;
mod shed;

pub(crate) use self::auth::authorization as basic_authorization;
pub use self::auth::{AuthFuture, BasicAuth, BasicAuthLayer, OperatorRoutes, RequireBasicAuth};
pub use self::config::{DashboardConfig, ServerConfig};
pub use self::exposition::EurekaMetrics;
pub use self::future::ResponseFuture;
pub use self::hook::{PeerMetrics, Replicator, WriteKind};
pub use self::regions::{RegionStatus, RemoteRegions};
pub use self::response::ResponseBody;
pub use self::serve::serve;
#[cfg(feature = "tls")]
pub use self::serve::serve_tls;
pub use self::service::EurekaService;
pub use self::shed::{Shed, ShedBody, ShedLayer, ShedStats};
