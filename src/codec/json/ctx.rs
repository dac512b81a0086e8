//! The JSON reader's context: the mode (register body or response) and the error path.

use super::super::error::{DecodeError, Trace};
use super::super::Format;

/// Reading context: the mode and the error path trace.
pub(crate) struct Ctx {
    /// Register-body mode: unknown statuses are kept for validation and nested metadata
    /// values are errors (W-42) instead of being skipped.
    pub(super) strict: bool,
    pub(super) trace: Trace,
}

impl Ctx {
    pub(crate) fn new(strict: bool) -> Self {
        Ctx {
            strict,
            trace: Trace::default(),
        }
    }

    pub(super) fn translate(&self, e: serde_json::Error) -> DecodeError {
        use serde_json::error::Category;
        let text = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = match text.strip_suffix(&suffix) {
            Some(m) => m.to_owned(),
            None => text,
        };
        let err = match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                DecodeError::syntax(Format::Json, message)
            }
            Category::Data => DecodeError::data(Format::Json, message),
        };
        err.with_path(self.trace.render())
            .with_position(e.line(), e.column())
    }
}
