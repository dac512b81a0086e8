//! The background Eureka client (under construction).

mod snapshot;

pub use self::snapshot::{ClientSnapshot, Target};
