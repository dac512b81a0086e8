//! Scenario tests of the registry state machine (spec section 4), on paused tokio time.
#![cfg(feature = "server")]

mod cluster;
mod delta;
mod eviction;
mod lifecycle;
mod overrides;
mod preservation;
mod snapshots;
mod support;
mod targets;
