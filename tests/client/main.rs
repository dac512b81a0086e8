//! Client tests against a fake Eureka server, in paused tokio time.
#![cfg(feature = "client")]

mod support;

mod faults;
mod fetch;
mod fixtures;
mod follow;
mod lifecycle;
mod merge;
