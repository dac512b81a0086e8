//! The `server` module (under construction).
