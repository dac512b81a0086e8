//! The `client` module (under construction).
