//! The balancer's home: a failfast wrapper around `Balance`, driven by one background task
//! behind a `Buffer`.
//!
//! tower's `Buffer` worker polls its service only while it holds a request. The task
//! spawned here polls the `Buffer` worker *and*, when the worker did not, the balancer
//! itself, so discovery changes are applied and new endpoints are driven to readiness even
//! while no request flows (linkerd's habit). Both run in the one task, so the mutex that
//! lets them share the balancer is never contended.

use crate::discover::future::CallOrFail;
use crate::discover::Unavailable;
use crate::sync::lock;
use crate::BoxError;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;
use tower::balance::p2c::Balance;
use tower::buffer::Buffer;
use tower::discover::Discover;
use tower::Service;

/// How many endpoints a balancer knows, ready or not.
pub(crate) trait EndpointCount {
    fn endpoint_count(&self) -> usize;
}

impl<D, Req> EndpointCount for Balance<D, Req>
where
    D: Discover,
    D::Key: Hash,
    D::Service: Service<Req>,
    <D::Service as Service<Req>>::Error: Into<BoxError>,
{
    fn endpoint_count(&self) -> usize {
        self.len()
    }
}

/// Spawns the task that owns `balancer` and returns the cloneable handle in front of it.
///
/// A call waits for a ready endpoint at most `failfast` (counted from when the balancer
/// first could not serve a waiting request); after that, calls fail at once with
/// [`Unavailable`] until an endpoint is ready again.
///
/// # Panics
///
/// Outside a tokio runtime (it spawns a task).
pub(crate) fn spawn<S, Req>(
    balancer: S,
    target: Arc<str>,
    failfast: Duration,
    capacity: usize,
) -> Buffer<Req, PoolFuture<S::Future>>
where
    S: Service<Req, Error = BoxError> + EndpointCount + Send + 'static,
    S::Future: Send + 'static,
    Req: Send + 'static,
{
    let pool = Arc::new(Mutex::new(Pool {
        balancer,
        target,
        failfast,
        state: Failfast::Idle,
        ready: false,
        polled: false,
    }));
    let handle = PoolHandle { pool: pool.clone() };
    let (buffer, worker) = Buffer::pair(handle, capacity.max(1));
    tokio::spawn(async move {
        let mut worker = std::pin::pin!(worker);
        std::future::poll_fn(|cx| {
            if worker.as_mut().poll(cx).is_ready() {
                // Every handle is gone: stop, dropping the balancer and its endpoints.
                return Poll::Ready(());
            }
            let mut pool = lock(&pool);
            if !std::mem::take(&mut pool.polled) {
                pool.drive(cx);
            }
            Poll::Pending
        })
        .await;
    });
    buffer
}

struct Pool<S> {
    balancer: S,
    target: Arc<str>,
    failfast: Duration,
    state: Failfast,
    /// Whether the balancer said ready in the last `poll_ready`.
    ready: bool,
    /// Whether the worker polled since the driver last looked.
    polled: bool,
}

enum Failfast {
    /// The balancer was ready when last asked for a request.
    Idle,
    /// A request waits for the balancer since the timer started.
    Waiting(Pin<Box<Sleep>>),
    /// The balancer could not serve within the failfast timeout: calls fail at once.
    Failing,
}

impl<S> Pool<S> {
    fn poll_ready<Req>(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>>
    where
        S: Service<Req, Error = BoxError> + EndpointCount,
    {
        match self.balancer.poll_ready(cx) {
            Poll::Ready(Ok(())) => {
                self.ready = true;
                self.recovered();
                return Poll::Ready(Ok(()));
            }
            // Unreachable with an infallible discover; passing it on poisons the buffer,
            // which is the honest outcome for a broken balancer.
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => self.ready = false,
        }
        loop {
            match &mut self.state {
                Failfast::Idle => {
                    self.state = Failfast::Waiting(Box::pin(tokio::time::sleep(self.failfast)));
                }
                Failfast::Waiting(timer) => {
                    if timer.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    tracing::warn!(
                        target = %self.target,
                        endpoints = self.balancer.endpoint_count(),
                        timeout = ?self.failfast,
                        "no endpoint ready in time; failing fast"
                    );
                    self.state = Failfast::Failing;
                }
                // Ready to fail the request; `call` sees `ready == false`.
                Failfast::Failing => return Poll::Ready(Ok(())),
            }
        }
    }

    fn call<Req>(&mut self, req: Req) -> PoolFuture<S::Future>
    where
        S: Service<Req, Error = BoxError> + EndpointCount,
    {
        if std::mem::take(&mut self.ready) {
            CallOrFail::call(self.balancer.call(req))
        } else {
            CallOrFail::fail(Unavailable::new(
                self.target.clone(),
                self.balancer.endpoint_count(),
            ))
        }
    }

    /// Polls the balancer without a request: applies discovery changes and drives pending
    /// endpoints; leaves failfast once an endpoint is ready.
    fn drive<Req>(&mut self, cx: &mut Context<'_>)
    where
        S: Service<Req, Error = BoxError> + EndpointCount,
    {
        if let Poll::Ready(Ok(())) = self.balancer.poll_ready(cx) {
            self.recovered();
        }
    }

    fn recovered(&mut self) {
        if matches!(self.state, Failfast::Failing) {
            tracing::info!(target = %self.target, "endpoint ready again; leaving failfast");
        }
        self.state = Failfast::Idle;
    }
}

/// The `Buffer` worker's view of the shared pool.
struct PoolHandle<S> {
    pool: Arc<Mutex<Pool<S>>>,
}

impl<S, Req> Service<Req> for PoolHandle<S>
where
    S: Service<Req, Error = BoxError> + EndpointCount,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = PoolFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        let mut pool = lock(&self.pool);
        pool.polled = true;
        pool.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        lock(&self.pool).call(req)
    }
}

/// The response future of the balancer task: the endpoint's answer, or [`Unavailable`].
pub(crate) type PoolFuture<F> = CallOrFail<F, BoxError>;
