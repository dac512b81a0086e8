//! Client tests against a fake Eureka server, in paused tokio time.
#![cfg(feature = "client")]

mod support;

#[cfg(feature = "server")]
mod clock;
mod faults;
mod fetch;
mod fixtures;
mod lifecycle;
mod merge;
