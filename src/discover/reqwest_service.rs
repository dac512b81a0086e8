//! `ReqwestService`: reqwest's client as a `Service<http::Request<B>>`.

use super::future::CallOrFail;
use pin_project_lite::pin_project;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tower::Service;

type ReqwestCall = <reqwest::Client as Service<reqwest::Request>>::Future;

/// Adapts a `reqwest::Client` (a `Service<reqwest::Request>`) to the
/// `Service<http::Request<B>>` that [`HttpEndpoint`](super::HttpEndpoint) and
/// [`BalancedClient`](super::BalancedClient) expect.
///
/// Requests convert with `reqwest::Request::try_from` (`B: Into<reqwest::Body>`, e.g.
/// `bytes::Bytes`, `String`, `Vec<u8>`); responses come back as
/// `http::Response<reqwest::Body>`, streamed. reqwest's own settings (timeouts, gzip,
/// proxies) stay in force.
///
/// ```
/// use tower_eureka::discover::ReqwestService;
/// # fn build() -> Result<(), reqwest::Error> {
/// let http = ReqwestService::new(reqwest::Client::builder().build()?);
/// # drop(http); Ok(()) }
/// ```
#[derive(Clone)]
pub struct ReqwestService {
    client: reqwest::Client,
}

impl ReqwestService {
    /// Wraps `client`.
    pub fn new(client: reqwest::Client) -> Self {
        ReqwestService { client }
    }

    /// The wrapped client.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

impl fmt::Debug for ReqwestService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReqwestService").finish_non_exhaustive()
    }
}

impl<B> Service<http::Request<B>> for ReqwestService
where
    B: Into<reqwest::Body>,
{
    type Response = http::Response<reqwest::Body>;
    type Error = reqwest::Error;
    type Future = ReqwestFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), reqwest::Error>> {
        Service::<reqwest::Request>::poll_ready(&mut self.client, cx)
    }

    fn call(&mut self, req: http::Request<B>) -> ReqwestFuture {
        let inner = match reqwest::Request::try_from(req) {
            Ok(req) => CallOrFail::call(self.client.call(req)),
            Err(e) => CallOrFail::fail(e),
        };
        ReqwestFuture { inner }
    }
}

pin_project! {
    /// The response future of [`ReqwestService`]: reqwest's answer as an `http::Response`,
    /// or the error converting the request. Panics if polled after it completed.
    pub struct ReqwestFuture {
        #[pin]
        inner: CallOrFail<ReqwestCall, reqwest::Error>,
    }
}

impl fmt::Debug for ReqwestFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReqwestFuture")
    }
}

impl Future for ReqwestFuture {
    type Output = Result<http::Response<reqwest::Body>, reqwest::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let rsp = ready!(self.project().inner.poll(cx))?;
        Poll::Ready(Ok(http::Response::from(rsp)))
    }
}
