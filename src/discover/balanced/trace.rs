//! The outermost layer of a [`BalancedClient`](super::BalancedClient): a `tracing` span per
//! call.

use std::sync::Arc;
use std::task::{Context, Poll};
use tower::Service;
use tracing::Instrument;

/// Runs each call in an `eureka.call` span naming the target, method and path.
#[derive(Clone)]
pub(super) struct Traced<S> {
    inner: S,
    target: Arc<str>,
}

impl<S> Traced<S> {
    /// Traces the calls to `inner` as calls to `target` (its label).
    pub(super) fn new(inner: S, target: Arc<str>) -> Self {
        Traced { inner, target }
    }
}

impl<S, B> Service<http::Request<B>> for Traced<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = tracing::instrument::Instrumented<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let span = tracing::debug_span!(
            "eureka.call",
            target = %self.target,
            method = %req.method(),
            path = req.uri().path(),
        );
        let _enter = span.enter();
        self.inner.call(req).instrument(span.clone())
    }
}
