//! Client tests against a fake Eureka server, in paused tokio time.
#![cfg(feature = "client")]

mod support;

#[cfg(feature = "server")]
mod clock;
#[cfg(feature = "server")]
mod compact;
mod faults;
mod fetch;
mod fixtures;
mod follow;
#[cfg(feature = "server")]
mod health;
#[cfg(feature = "server")]
mod inproc;
mod lifecycle;
mod merge;
#[cfg(feature = "server")]
mod zones;
