//! Discover, balancer and outbound-call tests (C-25, C-26, C-27).
#![cfg(feature = "client")]

mod balance;
mod e2e;
mod route;
mod stream;
mod support;
