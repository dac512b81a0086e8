//! The retry policy of a [`BalancedClient`](super::BalancedClient): idempotent requests that
//! failed with an error, within a budget.

use crate::discover::Unavailable;
use crate::BoxError;
use std::sync::Arc;
use tower::retry::budget::{Budget, TpsBudget};
use tower::retry::Policy;

/// Retries idempotent requests that failed with an error, within a budget.
#[derive(Clone)]
pub(super) struct RetryPolicy {
    budget: Arc<TpsBudget>,
    retries_left: usize,
}

impl RetryPolicy {
    /// At most `max_retries` retries per call, each withdrawn from `budget`.
    pub(super) fn new(budget: Arc<TpsBudget>, max_retries: usize) -> Self {
        RetryPolicy {
            budget,
            retries_left: max_retries,
        }
    }
}

fn is_idempotent(method: &http::Method) -> bool {
    matches!(
        *method,
        http::Method::GET
            | http::Method::HEAD
            | http::Method::OPTIONS
            | http::Method::PUT
            | http::Method::DELETE
            | http::Method::TRACE
    )
}

fn is_retryable(error: &BoxError) -> bool {
    // Failfast would fail again at once; a dead buffer worker stays dead.
    !(error.is::<Unavailable>()
        || error.is::<tower::buffer::error::Closed>()
        || error.is::<tower::buffer::error::ServiceError>())
}

impl<B: Clone, R> Policy<http::Request<B>, http::Response<R>, BoxError> for RetryPolicy {
    type Future = std::future::Ready<()>;

    fn retry(
        &mut self,
        req: &mut http::Request<B>,
        result: &mut Result<http::Response<R>, BoxError>,
    ) -> Option<Self::Future> {
        match result {
            Ok(_) => {
                self.budget.deposit();
                None
            }
            Err(error) => {
                if self.retries_left == 0 || !is_retryable(error) {
                    return None;
                }
                if !self.budget.withdraw() {
                    tracing::debug!(%error, "retry budget exhausted; not retrying");
                    return None;
                }
                self.retries_left -= 1;
                tracing::debug!(%error, method = %req.method(), "retrying");
                Some(std::future::ready(()))
            }
        }
    }

    fn clone_request(&mut self, req: &http::Request<B>) -> Option<http::Request<B>> {
        if self.retries_left > 0 && is_idempotent(req.method()) {
            Some(req.clone())
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotent_methods() {
        for m in ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"] {
            assert!(is_idempotent(&m.parse().unwrap()), "{m}");
        }
        for m in ["POST", "PATCH", "CONNECT"] {
            assert!(!is_idempotent(&m.parse().unwrap()), "{m}");
        }
    }

    #[test]
    fn unavailable_is_not_retried() {
        let e: BoxError = Unavailable::new("app A".into(), 0).into();
        assert!(!is_retryable(&e));
        let e: BoxError = tower::timeout::error::Elapsed::new().into();
        assert!(is_retryable(&e));
    }
}
