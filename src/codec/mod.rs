//! The `codec` module (under construction).
