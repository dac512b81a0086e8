//! Shared helpers: instances, snapshots, a recording stand-in for an HTTP client.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use tower::Service;
use tower_eureka::client::ClientSnapshot;
use tower_eureka::model::{Applications, InstanceInfo, Status};
use tower_eureka::BoxError;

/// An `UP` instance of `app` with id `id` at `ip:port`.
pub(crate) fn inst(app: &str, id: &str, ip: &str, port: u16) -> InstanceInfo {
    InstanceInfo::builder(app)
        .instance_id(id)
        .host_name(format!("{id}.example"))
        .ip_addr(ip)
        .port(port)
        .build()
}

/// The same instance with another status.
pub(crate) fn with_status(mut i: InstanceInfo, status: Status) -> InstanceInfo {
    i.status = status;
    i
}

/// A fetched snapshot of `instances`.
pub(crate) fn snapshot(
    instances: impl IntoIterator<Item = InstanceInfo>,
    generation: u64,
) -> Arc<ClientSnapshot> {
    Arc::new(ClientSnapshot::from_applications(
        &Applications::from_instances(instances),
        generation,
    ))
}

#[derive(Default)]
struct State {
    calls: Vec<(String, http::Method)>,
    polls: usize,
    fail_next: usize,
    fail_at: HashSet<String>,
    hang_at: HashSet<String>,
}

/// A stand-in HTTP client: records the authority and method of every call and answers
/// with the authority as body; can fail or hang on demand.
#[derive(Clone, Default)]
pub(crate) struct Recorder {
    state: Arc<Mutex<State>>,
}

impl Recorder {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Authorities called, in order.
    pub(crate) fn calls(&self) -> Vec<String> {
        self.lock().calls.iter().map(|(a, _)| a.clone()).collect()
    }

    /// Number of `poll_ready` calls on any clone.
    pub(crate) fn polls(&self) -> usize {
        self.lock().polls
    }

    /// The next `n` calls fail with a connection error, wherever they go.
    pub(crate) fn fail_next(&self, n: usize) {
        self.lock().fail_next = n;
    }

    /// Every call to `authority` fails with a connection error.
    pub(crate) fn fail_at(&self, authority: &str) {
        self.lock().fail_at.insert(authority.to_owned());
    }

    /// Every call to `authority` never answers.
    pub(crate) fn hang_at(&self, authority: &str) {
        self.lock().hang_at.insert(authority.to_owned());
    }
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<http::Response<String>, BoxError>> + Send>>;

impl Service<http::Request<String>> for Recorder {
    type Response = http::Response<String>;
    type Error = BoxError;
    type Future = BoxFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.lock().polls += 1;
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<String>) -> BoxFuture {
        let authority = req
            .uri()
            .authority()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let mut st = self.lock();
        st.calls.push((authority.clone(), req.method().clone()));
        if st.hang_at.contains(&authority) {
            return Box::pin(std::future::pending());
        }
        if st.fail_next > 0 || st.fail_at.contains(&authority) {
            st.fail_next = st.fail_next.saturating_sub(1);
            return Box::pin(
                async move { Err(format!("connection refused by {authority}").into()) },
            );
        }
        Box::pin(async move { Ok(http::Response::new(authority)) })
    }
}

/// A GET of `uri` with an empty body.
pub(crate) fn get(uri: &str) -> http::Request<String> {
    http::Request::get(uri)
        .body(String::new())
        .expect("valid request")
}
