//! # tower-eureka
//!
//! Netflix Eureka on both ends, as tower middleware.
//!
//! * **Server** (feature `server`): [`server::EurekaService`] is a tower `Service` that is a
//!   whole Eureka registry (the REST API of Netflix Eureka 1.x and Spring Cloud Netflix, JSON
//!   and XML, gzip, deltas, overrides, leases, eviction, self-preservation). Serve it alone
//!   (the `eureka-server` binary, or [`server::serve`]) or mount it into an axum app. It
//!   serves Prometheus metrics at `/metrics` ([`server::EurekaMetrics`]).
//! * **Client** (feature `client`): [`client::EurekaClient`] registers, heartbeats and keeps
//!   a local copy of the registry; [`discover`] turns an app name or a VIP address into a
//!   live endpoint set for tower's p2c balancer and wraps your HTTP client with it. Its
//!   counters are a [`client::ClientMetrics`].
//!
//! The wire layer ([`model`], [`codec`]) is shared by both sides and always compiled.
//!
//! # Layout
//!
//! Each module imports only from the ones above it in this list:
//!
//! | module | what |
//! |---|---|
//! | [`model`] | the Eureka records, the hash, what text the wire can carry, the VIP index |
//! | [`codec`] | JSON and XML on the wire: one field table for both readers, writers byte-compatible with Java |
//! | `tls` | (feature `tls`) PEM files and rustls (ring) configurations for both sides |
//! | `registry` | the state machine without HTTP: leases, overrides, deltas, eviction, self-preservation, snapshots; writes carry an `Origin` (client, peer, startup sync) |
//! | `server` | the tower `Service`: request parsing, handlers, response builders, the payload cache, `/metrics`, the dashboard and the health and readiness probes |
//! | `signal` | `shutdown_signal`: Ctrl-C or SIGTERM, what the binary and the examples stop on |
//! | `client` | the background client and its copy-on-write registry copy |
//! | `discover` | `Discover` streams and the balanced, retrying outbound stack |
//!
//! The requirement IDs in the docs and tests (`W-`, `E-`, `R-`, `C-`, `P-`) are explained in
//! `docs/protocol.md` in the repository.
//!
//! # A tour
//!
//! A registry, a service that registers with it, and a consumer that finds it, in one
//! process (in real life these are three):
//!
//! ```
//! # #[cfg(all(feature = "server", feature = "client"))]
//! # #[tokio::main]
//! # async fn main() -> Result<(), tower_eureka::BoxError> {
//! use std::time::Duration;
//! use tower_eureka::client::{EurekaClient, Target};
//! use tower_eureka::model::InstanceInfo;
//! use tower_eureka::server::{serve, EurekaService, ServerConfig};
//!
//! // The registry, on a free port, serving /eureka/apps (and /eureka/v2/apps).
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let url = format!("http://{}/eureka", listener.local_addr()?);
//! let registry = EurekaService::new(ServerConfig { prefix: "/eureka".into(), ..Default::default() });
//! tokio::spawn(serve(listener, registry, std::future::pending(), Duration::ZERO));
//!
//! // A service registers itself and heartbeats in the background.
//! let orders = EurekaClient::builder([url.as_str()])
//!     .instance(InstanceInfo::builder("orders").host_name("127.0.0.1").ip_addr("127.0.0.1").port(8080).build())
//!     .register_only()
//!     .start()?;
//!
//! // A consumer keeps a copy of the registry and sees the instance UP.
//! let consumer = EurekaClient::builder([url.as_str()])
//!     .fetch_only()
//!     .fetch_interval(Duration::from_millis(50))
//!     .start()?;
//! let mut updates = consumer.snapshots();
//! tokio::time::timeout(Duration::from_secs(10), async {
//!     while consumer.up_instances(&Target::app("orders")).is_empty() {
//!         updates.changed().await?;
//!     }
//!     Ok::<_, tower_eureka::BoxError>(())
//! })
//! .await??;
//! let found = consumer.up_instances(&Target::app("orders"));
//! assert_eq!(found[0].id(), "127.0.0.1:orders:8080");
//!
//! // Feed `consumer.snapshots()` to `discover::BalancedClient` to call `http://orders/...`.
//! orders.shutdown().await?; // cancels the registration
//! # Ok(())
//! # }
//! # #[cfg(not(all(feature = "server", feature = "client")))]
//! # fn main() {}
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

#[cfg(any(feature = "server", feature = "client"))]
mod backoff;
pub mod codec;
pub mod model;
mod redact;
mod sync;

#[cfg(feature = "server")]
pub mod cluster;
#[cfg(feature = "server")]
pub mod registry;
#[cfg(feature = "server")]
pub mod server;

#[cfg(feature = "tls")]
pub mod tls;

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
pub mod discover;
#[cfg(any(feature = "server", feature = "client"))]
pub mod signal;

/// A type-erased error, as used throughout tower.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The README's Rust examples, compiled by `cargo test` so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
