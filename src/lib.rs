//! # tower-eureka
//!
//! Netflix Eureka on both ends, as tower middleware.
//!
//! * **Server** (feature `server`): [`server::EurekaService`] is a tower `Service` that is a
//!   whole Eureka registry (the REST API of Netflix Eureka 1.x and Spring Cloud Netflix, JSON
//!   and XML, gzip, deltas, overrides, leases, eviction, self-preservation). Serve it alone
//!   (the `eureka-server` binary) or mount it into an axum app.
//! * **Client** (feature `client`): a background Eureka client that registers, heartbeats and
//!   keeps a local copy of the registry, and a tower `Discover` that turns an app name or a
//!   VIP address into a live endpoint set for tower's p2c balancer.
//!
//! The wire layer ([`model`], [`codec`]) is shared by both sides and always compiled.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub mod codec;
pub mod model;

#[cfg(feature = "server")]
pub mod registry;
#[cfg(feature = "server")]
pub mod server;

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
pub mod discover;

/// A type-erased error, as used throughout tower.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The README's Rust examples, compiled by `cargo test` so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
