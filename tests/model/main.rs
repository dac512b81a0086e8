//! Model-based tests (issue 11): the registry against a reference model written from the
//! spec, and a delta-following client against the server, on random operation sequences
//! that proptest shrinks to a minimal failing one.
#![cfg(all(feature = "server", feature = "client"))]

mod client;
mod registry;
