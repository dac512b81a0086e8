//! The response future of [`EurekaService`](super::EurekaService).
//!
//! Most requests are answered synchronously, so the future is usually ready when it is
//! made; only requests with a body (register, replication batches) box the future that reads
//! the body first.

use super::response::{empty, ResponseBody};
use http::{Response, StatusCode};
use pin_project_lite::pin_project;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project! {
    /// Response future of [`EurekaService`](super::EurekaService).
    pub struct ResponseFuture {
        #[pin]
        kind: Kind,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind {
        Ready { response: Option<Response<ResponseBody>> },
        Boxed { fut: Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, Infallible>> + Send>> },
    }
}

// === impl ResponseFuture ===

impl ResponseFuture {
    /// A future that resolves to `r` at once.
    pub(super) fn ready(r: Response<ResponseBody>) -> Self {
        ResponseFuture {
            kind: Kind::Ready { response: Some(r) },
        }
    }

    /// A future that runs `f`.
    pub(super) fn boxed<F>(f: F) -> Self
    where
        F: Future<Output = Result<Response<ResponseBody>, Infallible>> + Send + 'static,
    {
        ResponseFuture {
            kind: Kind::Boxed { fut: Box::pin(f) },
        }
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<ResponseBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Ready { response } => match response.take() {
                Some(r) => Poll::Ready(Ok(r)),
                // Polled again after completion: not a panic, a 500.
                None => Poll::Ready(Ok(empty(StatusCode::INTERNAL_SERVER_ERROR))),
            },
            KindProj::Boxed { fut } => fut.as_mut().poll(cx),
        }
    }
}
