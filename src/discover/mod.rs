//! The `discover` module (under construction).
