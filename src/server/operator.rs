//! The operator and orchestrator routes outside the REST prefix: `/health` (liveness),
//! `/ready` (readiness) and the dashboard's two paths.
//!
//! They are matched on the request path as the service receives it, before
//! [`ServerConfig::prefix`](super::ServerConfig::prefix) is stripped, and before the REST
//! routes: a dashboard path that equals a REST path shadows it. `/health` and `/ready` are
//! answered from static bytes (cheap enough to poll every second); the dashboard is
//! rendered by [`dashboard`](super::dashboard).

use super::config::DashboardConfig;
use super::hook::Replicator;
use super::response::{bytes_response, ResponseBody};
use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL, RETRY_AFTER};
use http::{Response, StatusCode};

/// The JSON twin's file name under the dashboard path.
const JSON_TWIN: &str = "dashboard.json";

/// An operator route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OpRoute {
    /// `GET /health`
    Health,
    /// `GET /ready`
    Ready,
    /// `GET {dashboard.path}`
    Dashboard,
    /// `GET {dashboard.path}/dashboard.json`
    DashboardJson,
}

/// The operator paths of one service, fixed at construction.
#[derive(Debug)]
pub(super) struct OpPaths {
    /// The dashboard's base path (empty for the root), when it is enabled.
    dashboard: Option<String>,
}

impl OpPaths {
    pub(super) fn new(config: &DashboardConfig) -> OpPaths {
        OpPaths {
            dashboard: config.enabled.then(|| config.base()),
        }
    }

    /// The operator route `path` names, if any. A few string comparisons: no allocation.
    pub(super) fn resolve(&self, path: &str) -> Option<OpRoute> {
        match path {
            "/health" => return Some(OpRoute::Health),
            "/ready" => return Some(OpRoute::Ready),
            _ => {}
        }
        let rest = path.strip_prefix(self.dashboard.as_deref()?)?;
        match rest {
            "" | "/" => Some(OpRoute::Dashboard),
            _ => (rest.strip_prefix('/') == Some(JSON_TWIN)).then_some(OpRoute::DashboardJson),
        }
    }
}

/// `GET /health`: 200 `{"status":"UP"}` while the process serves requests.
pub(super) fn health() -> Response<ResponseBody> {
    no_store(bytes_response(
        StatusCode::OK,
        "application/json",
        Bytes::from_static(br#"{"status":"UP"}"#),
    ))
}

/// `GET /ready`: 503 while the cluster's startup sync runs ([`Replicator::ready`], P-40),
/// else 200.
pub(super) fn ready(replicator: Option<&dyn Replicator>) -> Response<ResponseBody> {
    if replicator.is_some_and(|r| !r.ready()) {
        let mut r = bytes_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "application/json",
            Bytes::from_static(
                br#"{"status":"OUT_OF_SERVICE","reason":"registry is syncing from its peers"}"#,
            ),
        );
        r.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        return no_store(r);
    }
    no_store(bytes_response(
        StatusCode::OK,
        "application/json",
        Bytes::from_static(br#"{"status":"UP"}"#),
    ))
}

/// Marks an answer that must not be cached: it describes this instant.
pub(super) fn no_store(mut r: Response<ResponseBody>) -> Response<ResponseBody> {
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(enabled: bool, path: &str) -> OpPaths {
        OpPaths::new(&DashboardConfig {
            enabled,
            path: path.into(),
        })
    }

    #[test]
    fn root_dashboard() {
        let p = paths(true, "/");
        assert_eq!(p.resolve("/"), Some(OpRoute::Dashboard));
        assert_eq!(p.resolve(""), Some(OpRoute::Dashboard));
        assert_eq!(p.resolve("/dashboard.json"), Some(OpRoute::DashboardJson));
        assert_eq!(p.resolve("/health"), Some(OpRoute::Health));
        assert_eq!(p.resolve("/ready"), Some(OpRoute::Ready));
        assert_eq!(p.resolve("/apps"), None);
        assert_eq!(p.resolve("/eureka/apps"), None);
        assert_eq!(p.resolve("/health/"), None);
    }

    #[test]
    fn custom_path_and_disabled() {
        for path in ["/ops/eureka", "/ops/eureka/", "ops/eureka"] {
            let p = paths(true, path);
            assert_eq!(p.resolve("/ops/eureka"), Some(OpRoute::Dashboard), "{path}");
            assert_eq!(
                p.resolve("/ops/eureka/"),
                Some(OpRoute::Dashboard),
                "{path}"
            );
            assert_eq!(
                p.resolve("/ops/eureka/dashboard.json"),
                Some(OpRoute::DashboardJson)
            );
            assert_eq!(p.resolve("/ops/eurekax"), None);
            assert_eq!(p.resolve("/"), None);
            assert_eq!(p.resolve("/ops/eureka/x"), None);
        }
        let p = paths(false, "/");
        assert_eq!(p.resolve("/"), None);
        assert_eq!(p.resolve("/dashboard.json"), None);
        assert_eq!(p.resolve("/health"), Some(OpRoute::Health));
    }
}
