//! [`BasicAuthLayer`]: the [`BasicAuth`] check as tower middleware.

use super::BasicAuth;
use http::header::WWW_AUTHENTICATE;
use http::{Request, Response, StatusCode};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Puts [`RequireBasicAuth`] in front of a service: every request needs the credentials of
/// one of the [`BasicAuth`] users (none configured: every request passes). Refusals are
/// 401 with `WWW-Authenticate` and an empty body (`ResBody::default()`), so the wrapped
/// service's response type, error type and `Clone` are kept.
///
/// [`EurekaService`](crate::server::EurekaService) checks its own
/// [`ServerConfig::auth`](crate::server::ServerConfig::auth); use the layer for what you
/// serve beside it, such as an axum router:
///
/// ```
/// use tower::ServiceExt;
/// use tower_eureka::server::{BasicAuth, BasicAuthLayer};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app = axum::Router::new()
///     .route("/admin", axum::routing::get(|| async { "secret" }))
///     .layer(BasicAuthLayer::new(BasicAuth::new().user("ops", "pw")));
/// let req = http::Request::get("/admin").body(axum::body::Body::empty()).unwrap();
/// assert_eq!(app.oneshot(req).await.unwrap().status(), 401);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct BasicAuthLayer {
    auth: Arc<BasicAuth>,
}

impl BasicAuthLayer {
    /// A layer checking `auth`.
    pub fn new(auth: BasicAuth) -> Self {
        BasicAuthLayer {
            auth: Arc::new(auth),
        }
    }
}

impl<S> tower::Layer<S> for BasicAuthLayer {
    type Service = RequireBasicAuth<S>;

    fn layer(&self, inner: S) -> RequireBasicAuth<S> {
        RequireBasicAuth {
            inner,
            auth: self.auth.clone(),
        }
    }
}

/// The service made by [`BasicAuthLayer`].
#[derive(Clone, Debug)]
pub struct RequireBasicAuth<S> {
    inner: S,
    auth: Arc<BasicAuth>,
}

impl<S, B, ResBody> tower::Service<Request<B>> for RequireBasicAuth<S>
where
    S: tower::Service<Request<B>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = AuthFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if !self.auth.is_enabled() || self.auth.verify(req.headers()) {
            return AuthFuture::inner(self.inner.call(req));
        }
        let mut res = Response::new(ResBody::default());
        *res.status_mut() = StatusCode::UNAUTHORIZED;
        res.headers_mut()
            .insert(WWW_AUTHENTICATE, self.auth.challenge().clone());
        AuthFuture::refused(res)
    }
}

pin_project! {
    /// The future of [`RequireBasicAuth`]: the inner service's, or a ready 401.
    #[derive(Debug)]
    pub struct AuthFuture<F, ResBody> {
        #[pin]
        kind: Kind<F, ResBody>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<F, ResBody> {
        // Authenticated: the inner service answers.
        Inner { #[pin] fut: F },
        // Refused: the 401, taken on the first poll.
        Refused { res: Option<Response<ResBody>> },
    }
}

impl<F, ResBody> AuthFuture<F, ResBody> {
    fn inner(fut: F) -> Self {
        AuthFuture {
            kind: Kind::Inner { fut },
        }
    }

    fn refused(res: Response<ResBody>) -> Self {
        AuthFuture {
            kind: Kind::Refused { res: Some(res) },
        }
    }
}

impl<F, ResBody, E> Future for AuthFuture<F, ResBody>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { fut } => fut.poll(cx),
            KindProj::Refused { res } => match res.take() {
                Some(r) => Poll::Ready(Ok(r)),
                // Polled after completion: never ready again, as futures may.
                None => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::{Layer, ServiceExt};

    #[tokio::test]
    async fn the_layer_refuses_without_credentials_and_passes_with_them() {
        let inner = tower::service_fn(|_req: Request<()>| async {
            Ok::<_, std::convert::Infallible>(Response::new(String::from("inner")))
        });
        let svc = BasicAuthLayer::new(BasicAuth::new().user("u", "p").realm("eureka")).layer(inner);
        let res = match svc.clone().oneshot(Request::new(())).await {
            Ok(r) => r,
            Err(e) => match e {},
        };
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(res.headers()[WWW_AUTHENTICATE], "Basic realm=\"eureka\"");
        assert_eq!(res.body(), "");
        let mut req = Request::new(());
        // "u:p"
        req.headers_mut().insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Basic dTpw"),
        );
        let res = match svc.oneshot(req).await {
            Ok(r) => r,
            Err(e) => match e {},
        };
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.body(), "inner");
    }
}
