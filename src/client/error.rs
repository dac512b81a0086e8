//! The client's error type: one opaque [`Error`] with `is_*` predicates, in the style of hyper.

use crate::BoxError;
use std::fmt;

/// An error of the background Eureka client.
///
/// Opaque on purpose: ask what kind of failure it was with the `is_*` predicates, and walk
/// [`std::error::Error::source`] for the underlying cause.
pub struct Error {
    inner: Box<ErrorImpl>,
}

struct ErrorImpl {
    kind: Kind,
    cause: Option<BoxError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The client was configured with something unusable.
    Config,
    /// No configured server answered acceptably within one call (C-41).
    Transport,
    /// A server answered acceptably for failover purposes, but with a status that means the
    /// operation did not succeed (for example a register answered with 200 instead of 204).
    Status(u16),
    /// A response body could not be decoded.
    Decode,
    /// `start` was called outside a tokio runtime.
    NoRuntime,
}

impl Error {
    pub(crate) fn new(kind: Kind) -> Self {
        Error {
            inner: Box::new(ErrorImpl { kind, cause: None }),
        }
    }

    pub(crate) fn with<E: Into<BoxError>>(mut self, cause: E) -> Self {
        self.inner.cause = Some(cause.into());
        self
    }

    pub(crate) fn config<E: Into<BoxError>>(cause: E) -> Self {
        Error::new(Kind::Config).with(cause)
    }

    pub(crate) fn transport<E: Into<BoxError>>(cause: E) -> Self {
        Error::new(Kind::Transport).with(cause)
    }

    pub(crate) fn status(code: u16) -> Self {
        Error::new(Kind::Status(code))
    }

    pub(crate) fn decode<E: Into<BoxError>>(cause: E) -> Self {
        Error::new(Kind::Decode).with(cause)
    }

    pub(crate) fn no_runtime() -> Self {
        Error::new(Kind::NoRuntime)
    }

    /// The configuration (server URLs, instance record, settings) is unusable.
    pub fn is_config(&self) -> bool {
        matches!(self.inner.kind, Kind::Config | Kind::NoRuntime)
    }

    /// The client was started outside a tokio runtime.
    pub fn is_no_runtime(&self) -> bool {
        self.inner.kind == Kind::NoRuntime
    }

    /// Every server tried for one call failed: connection errors, timeouts or unacceptable
    /// status codes (C-41).
    pub fn is_transport(&self) -> bool {
        self.inner.kind == Kind::Transport
    }

    /// A server answered, but with a status that means the call did not succeed.
    pub fn is_status(&self) -> bool {
        matches!(self.inner.kind, Kind::Status(_))
    }

    /// A response body did not decode as an Eureka document.
    pub fn is_decode(&self) -> bool {
        self.inner.kind == Kind::Decode
    }

    /// Whether a timeout (connect or read) caused this error, somewhere in its chain.
    pub fn is_timeout(&self) -> bool {
        let mut source = self
            .inner
            .cause
            .as_deref()
            .map(|e| e as &dyn std::error::Error);
        while let Some(err) = source {
            if let Some(r) = err.downcast_ref::<reqwest::Error>() {
                if r.is_timeout() {
                    return true;
                }
            }
            source = err.source();
        }
        false
    }

    /// The HTTP status code, for [`Error::is_status`] errors.
    pub fn status_code(&self) -> Option<http::StatusCode> {
        match self.inner.kind {
            Kind::Status(code) => http::StatusCode::from_u16(code).ok(),
            _ => None,
        }
    }

    fn description(&self) -> &'static str {
        match self.inner.kind {
            Kind::Config => "invalid eureka client configuration",
            Kind::Transport => "no eureka server answered acceptably",
            Kind::Status(_) => "eureka server refused the request",
            Kind::Decode => "eureka response body did not decode",
            Kind::NoRuntime => "the eureka client must be started within a tokio runtime",
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_tuple("eureka::client::Error");
        d.field(&self.inner.kind);
        if let Some(cause) = &self.inner.cause {
            d.field(cause);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())?;
        if let Kind::Status(code) = self.inner.kind {
            write!(f, " (HTTP {code})")?;
        }
        Ok(())
    }
}

/// Displays an error with its whole `source` chain, for log lines.
pub(crate) struct Chain<'a>(pub(crate) &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(err) = source {
            write!(f, ": {err}")?;
            source = err.source();
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .cause
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_follow_the_kind() {
        let e = Error::status(500);
        assert!(e.is_status());
        assert_eq!(
            e.status_code(),
            Some(http::StatusCode::INTERNAL_SERVER_ERROR)
        );
        assert!(!e.is_transport());
        assert!(e.to_string().contains("500"));

        let e = Error::config("no server URL");
        assert!(e.is_config());
        assert!(!e.to_string().contains("no server URL"));
        assert!(Chain(&e).to_string().ends_with(": no server URL"));
        assert!(std::error::Error::source(&e).is_some());

        assert!(Error::no_runtime().is_config());
        assert!(Error::transport("x").is_transport());
        assert!(!Error::transport("x").is_timeout());
        assert!(Error::decode("bad").is_decode());
    }
}
