//! The `registry` module (under construction).
