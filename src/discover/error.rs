//! Errors of the discovery stack: small, opaque, with predicates.

use std::fmt;
use std::sync::Arc;

/// No endpoint of a target could take a call within the failfast timeout.
///
/// Returned (boxed in a [`BoxError`](crate::BoxError)) by every call the balancer fails
/// fast: either the target has no `UP` instance at all (the set is empty, perhaps because
/// the registry has not been fetched yet), or every known endpoint is temporarily unhealthy.
/// Find it with `err.downcast_ref::<Unavailable>()`.
///
/// It is never retried by the ready-made stack: while the balancer is in failfast, a retry
/// would fail the same way.
#[derive(Clone)]
pub struct Unavailable {
    target: Arc<str>,
    known: usize,
}

impl Unavailable {
    pub(crate) fn new(target: Arc<str>, known: usize) -> Self {
        Unavailable { target, known }
    }

    /// The target that had no ready endpoint, as `app ORDERS`, `vip orders` or
    /// `secure vip orders`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Whether the endpoint set was empty (as opposed to endpoints that all failed).
    pub fn is_no_endpoints(&self) -> bool {
        self.known == 0
    }

    /// How many endpoints the balancer knew (none of them ready).
    pub fn known_endpoints(&self) -> usize {
        self.known
    }
}

impl fmt::Debug for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unavailable")
            .field("target", &self.target)
            .field("known", &self.known)
            .finish()
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.known == 0 {
            write!(f, "no endpoints for {}", self.target)
        } else {
            write!(
                f,
                "no ready endpoint for {} ({} known, all unavailable)",
                self.target, self.known
            )
        }
    }
}

impl std::error::Error for Unavailable {}

/// A request the host router could not route.
#[derive(Clone)]
pub struct RouteError {
    kind: RouteErrorKind,
}

#[derive(Clone, Debug)]
enum RouteErrorKind {
    MissingHost,
    TooManyTargets(usize),
}

impl RouteError {
    pub(crate) fn missing_host() -> Self {
        RouteError {
            kind: RouteErrorKind::MissingHost,
        }
    }

    pub(crate) fn too_many_targets(max: usize) -> Self {
        RouteError {
            kind: RouteErrorKind::TooManyTargets(max),
        }
    }

    /// Whether the request carried no host (neither in its URI nor in a `Host` header).
    pub fn is_missing_host(&self) -> bool {
        matches!(self.kind, RouteErrorKind::MissingHost)
    }

    /// Whether the router already holds its maximum number of per-target balancers.
    pub fn is_too_many_targets(&self) -> bool {
        matches!(self.kind, RouteErrorKind::TooManyTargets(_))
    }
}

impl fmt::Debug for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RouteError").field(&self.kind).finish()
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            RouteErrorKind::MissingHost => f.write_str("request has no host to route by"),
            RouteErrorKind::TooManyTargets(max) => {
                write!(f, "too many discovery targets (at most {max})")
            }
        }
    }
}

impl std::error::Error for RouteError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_names_the_target() {
        let e = Unavailable::new("app ORDERS".into(), 0);
        assert_eq!(e.to_string(), "no endpoints for app ORDERS");
        assert!(e.is_no_endpoints());
        let e = Unavailable::new("vip orders".into(), 3);
        assert!(e.to_string().contains("vip orders"));
        assert!(e.to_string().contains("3 known"));
        assert!(!e.is_no_endpoints());
        assert_eq!(e.known_endpoints(), 3);
    }
}
