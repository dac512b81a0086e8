//! The Eureka registry server as a tower [`Service`](tower::Service).
//!
//! [`EurekaService`] implements the whole Eureka REST API (spec section 3) over a
//! [`Registry`](crate::registry::Registry): register, heartbeat, cancel, status overrides,
//! metadata, full and delta fetches, single apps and instances, VIP and secure-VIP queries,
//! the peer-replication batch receiver, and `/status`. JSON or XML by `Accept` (E-05),
//! compact by `X-Eureka-Accept` (E-30), gzip by `Accept-Encoding` (E-07). Registry payloads
//! are encoded once per registry change and served as shared bytes.
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

mod body;
mod cache;
mod config;
mod replication;
mod route;
mod serve;
mod service;
mod status;

pub use self::config::ServerConfig;
pub use self::serve::serve;
pub use self::service::{EurekaService, ResponseBody, ResponseFuture};
