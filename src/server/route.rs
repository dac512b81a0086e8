//! Path parsing: which Eureka route a request path names (E-01..E-03, E-26).

use http::Method;
use percent_encoding::percent_decode_str;

/// A recognised Eureka route with its decoded path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `/apps`
    Apps,
    /// `/apps/delta`
    Delta,
    /// `/apps/{app}`
    App(String),
    /// `/apps/{app}/{id}`
    Instance(String, String),
    /// `/apps/{app}/{id}/status`
    InstanceStatus(String, String),
    /// `/apps/{app}/{id}/metadata`
    InstanceMetadata(String, String),
    /// `/instances/{id}`
    InstanceById(String),
    /// `/vips/{vip}`
    Vip(String),
    /// `/svips/{svip}`
    SecureVip(String),
    /// `/peerreplication/batch`
    ReplicationBatch,
    /// `/asg/{name}/status`
    AsgStatus,
    /// `/status`
    Status,
    /// `/serverinfo/statusoverrides`
    StatusOverrides,
}

/// Why a path did not resolve to a handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RouteError {
    /// No such route (404).
    NotFound,
    /// A path segment is not valid percent-encoded UTF-8 (400).
    BadEncoding,
    /// The route exists but not for this method (405), with the allowed methods.
    MethodNotAllowed(&'static str),
}

impl Route {
    /// Resolves `path` (already stripped of the service's mount prefix) for `method`.
    ///
    /// Accepts an optional `/v2` (or `/v1`) version segment (E-01) and one trailing slash
    /// (E-02); percent-decodes segments (E-03); upper-cases app names.
    pub(crate) fn resolve(method: &Method, path: &str) -> Result<Route, RouteError> {
        let path = path.strip_prefix('/').unwrap_or(path);
        let path = path.strip_suffix('/').unwrap_or(path);
        let mut raw: Vec<&str> = if path.is_empty() {
            Vec::new()
        } else {
            path.split('/').collect()
        };
        if matches!(raw.first(), Some(&"v2") | Some(&"v1")) {
            raw.remove(0);
        }
        if raw.iter().any(|s| s.is_empty()) {
            return Err(RouteError::NotFound);
        }
        let mut seg = Vec::with_capacity(raw.len());
        for s in raw {
            let decoded = percent_decode_str(s)
                .decode_utf8()
                .map_err(|_| RouteError::BadEncoding)?;
            seg.push(decoded.into_owned());
        }
        let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
        use Method as M;
        let m = method;
        let allow = |ok: bool, allowed: &'static str, r: Route| {
            if ok {
                Ok(r)
            } else {
                Err(RouteError::MethodNotAllowed(allowed))
            }
        };
        let up = crate::model::normalize_app_name;
        match seg.as_slice() {
            ["apps"] => allow(m == M::GET, "GET", Route::Apps),
            // E-03: the literal `delta` always selects the delta route.
            ["apps", "delta"] => allow(m == M::GET, "GET", Route::Delta),
            ["apps", app] => allow(
                m == M::GET || m == M::POST,
                "GET, POST",
                Route::App(up(app)),
            ),
            ["apps", app, id] => allow(
                m == M::GET || m == M::PUT || m == M::DELETE,
                "GET, PUT, DELETE",
                Route::Instance(up(app), (*id).to_owned()),
            ),
            ["apps", app, id, "status"] => allow(
                m == M::PUT || m == M::DELETE,
                "PUT, DELETE",
                Route::InstanceStatus(up(app), (*id).to_owned()),
            ),
            ["apps", app, id, "metadata"] => allow(
                m == M::PUT,
                "PUT",
                Route::InstanceMetadata(up(app), (*id).to_owned()),
            ),
            ["instances", id] => allow(m == M::GET, "GET", Route::InstanceById((*id).to_owned())),
            ["vips", vip] => allow(m == M::GET, "GET", Route::Vip((*vip).to_owned())),
            ["svips", vip] => allow(m == M::GET, "GET", Route::SecureVip((*vip).to_owned())),
            ["peerreplication", "batch"] => allow(m == M::POST, "POST", Route::ReplicationBatch),
            ["asg", _, "status"] => allow(m == M::PUT, "PUT", Route::AsgStatus),
            ["status"] => allow(m == M::GET, "GET", Route::Status),
            ["serverinfo", "statusoverrides"] => allow(m == M::GET, "GET", Route::StatusOverrides),
            _ => Err(RouteError::NotFound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(p: &str) -> Result<Route, RouteError> {
        Route::resolve(&Method::GET, p)
    }

    #[test]
    fn e01_version_segment_and_e02_trailing_slash() {
        assert_eq!(get("/apps"), Ok(Route::Apps));
        assert_eq!(get("/apps/"), Ok(Route::Apps));
        assert_eq!(get("/v2/apps/"), Ok(Route::Apps));
        assert_eq!(get("/v1/apps"), Ok(Route::Apps));
        assert_eq!(get("/v3/apps"), Err(RouteError::NotFound));
        assert_eq!(get("/apps//x"), Err(RouteError::NotFound));
        assert_eq!(get(""), Err(RouteError::NotFound));
    }

    #[test]
    fn e03_percent_decoding_and_upper_case() {
        assert_eq!(
            get("/apps/orders/host%3Aorders%3A8080"),
            Ok(Route::Instance("ORDERS".into(), "host:orders:8080".into()))
        );
        assert_eq!(
            get("/apps/orders/host:orders:8080"),
            Ok(Route::Instance("ORDERS".into(), "host:orders:8080".into()))
        );
        assert_eq!(get("/apps/delta"), Ok(Route::Delta));
        assert_eq!(get("/apps/%FF"), Err(RouteError::BadEncoding));
    }

    #[test]
    fn e26_wrong_method_is_405() {
        assert_eq!(
            Route::resolve(&Method::POST, "/apps"),
            Err(RouteError::MethodNotAllowed("GET"))
        );
        assert_eq!(
            Route::resolve(&Method::PUT, "/apps/A/i/status"),
            Ok(Route::InstanceStatus("A".into(), "i".into()))
        );
    }
}
