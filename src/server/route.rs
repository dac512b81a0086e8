//! Path parsing: which Eureka route a request path names (E-01..E-03, E-26).

use http::Method;
use percent_encoding::percent_decode_str;
use std::borrow::Cow;

/// A recognised Eureka route with its decoded path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Route {
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

/// Why a path names no route of this server (the client side's `discover::RouteError`
/// is about outbound requests, a different thing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum NoRoute {
    /// No such route (404).
    NotFound,
    /// A path segment is not valid percent-encoded UTF-8 (400).
    BadEncoding,
    /// The route exists but not for this method (405), with the allowed methods.
    MethodNotAllowed(&'static str),
}

impl Route {
    /// The app the route names, if any (for spans).
    pub(super) fn app(&self) -> Option<&str> {
        match self {
            Route::App(a)
            | Route::Instance(a, _)
            | Route::InstanceStatus(a, _)
            | Route::InstanceMetadata(a, _) => Some(a),
            _ => None,
        }
    }

    /// Resolves `path` (already stripped of the service's mount prefix) for `method`.
    ///
    /// Accepts an optional `/v2` (or `/v1`) version segment (E-01) and one trailing slash
    /// (E-02); percent-decodes segments (E-03); upper-cases app names.
    pub(super) fn resolve(method: &Method, path: &str) -> Result<Route, NoRoute> {
        let path = path.strip_prefix('/').unwrap_or(path);
        let path = path.strip_suffix('/').unwrap_or(path);
        let path = path
            .strip_prefix("v2")
            .or_else(|| path.strip_prefix("v1"))
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
            .map_or(path, |rest| rest.strip_prefix('/').unwrap_or(rest));
        // At most four segments name a route: decode into a fixed array, borrowing
        // segments that need no decoding (the common case allocates nothing here).
        let mut seg: [Cow<'_, str>; 4] = Default::default();
        let mut n = 0;
        if !path.is_empty() {
            for raw in path.split('/') {
                if raw.is_empty() || n == seg.len() {
                    return Err(NoRoute::NotFound);
                }
                // Most segments hold no escape: a byte search, not the decoder's
                // byte-at-a-time walk and second UTF-8 check (`path` is already a `str`).
                seg[n] = if raw.as_bytes().contains(&b'%') {
                    percent_decode_str(raw)
                        .decode_utf8()
                        .map_err(|_| NoRoute::BadEncoding)?
                } else {
                    Cow::Borrowed(raw)
                };
                n += 1;
            }
        }
        let seg: [&str; 4] = [&seg[0], &seg[1], &seg[2], &seg[3]];
        let m = method;
        let allow = |ok: bool, allowed: &'static str, r: Route| {
            if ok {
                Ok(r)
            } else {
                Err(NoRoute::MethodNotAllowed(allowed))
            }
        };
        let up = crate::model::normalize_app_name;
        let own = |s: &str| s.to_owned();
        match (n, seg) {
            (1, ["apps", ..]) => allow(m == Method::GET, "GET", Route::Apps),
            // E-03: the literal `delta` always selects the delta route.
            (2, ["apps", "delta", ..]) => allow(m == Method::GET, "GET", Route::Delta),
            (2, ["apps", app, ..]) => allow(
                m == Method::GET || m == Method::POST,
                "GET, POST",
                Route::App(up(app)),
            ),
            (3, ["apps", app, id, _]) => allow(
                m == Method::GET || m == Method::PUT || m == Method::DELETE,
                "GET, PUT, DELETE",
                Route::Instance(up(app), own(id)),
            ),
            (4, ["apps", app, id, "status"]) => allow(
                m == Method::PUT || m == Method::DELETE,
                "PUT, DELETE",
                Route::InstanceStatus(up(app), own(id)),
            ),
            (4, ["apps", app, id, "metadata"]) => allow(
                m == Method::PUT,
                "PUT",
                Route::InstanceMetadata(up(app), own(id)),
            ),
            (2, ["instances", id, ..]) => {
                allow(m == Method::GET, "GET", Route::InstanceById(own(id)))
            }
            (2, ["vips", vip, ..]) => allow(m == Method::GET, "GET", Route::Vip(own(vip))),
            (2, ["svips", vip, ..]) => allow(m == Method::GET, "GET", Route::SecureVip(own(vip))),
            (2, ["peerreplication", "batch", ..]) => {
                allow(m == Method::POST, "POST", Route::ReplicationBatch)
            }
            (3, ["asg", _, "status", _]) => allow(m == Method::PUT, "PUT", Route::AsgStatus),
            (1, ["status", ..]) => allow(m == Method::GET, "GET", Route::Status),
            (2, ["serverinfo", "statusoverrides", ..]) => {
                allow(m == Method::GET, "GET", Route::StatusOverrides)
            }
            _ => Err(NoRoute::NotFound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(p: &str) -> Result<Route, NoRoute> {
        Route::resolve(&Method::GET, p)
    }

    #[test]
    fn e01_version_segment_and_e02_trailing_slash() {
        assert_eq!(get("/apps"), Ok(Route::Apps));
        assert_eq!(get("/apps/"), Ok(Route::Apps));
        assert_eq!(get("/v2/apps/"), Ok(Route::Apps));
        assert_eq!(get("/v1/apps"), Ok(Route::Apps));
        assert_eq!(get("/v3/apps"), Err(NoRoute::NotFound));
        assert_eq!(get("/apps//x"), Err(NoRoute::NotFound));
        assert_eq!(get(""), Err(NoRoute::NotFound));
        assert_eq!(get("/v2"), Err(NoRoute::NotFound));
        assert_eq!(get("/v2x/apps"), Err(NoRoute::NotFound));
        assert_eq!(get("/apps/A/i/status/more"), Err(NoRoute::NotFound));
        assert_eq!(get("/status/"), Ok(Route::Status));
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
        assert_eq!(get("/apps/%FF"), Err(NoRoute::BadEncoding));
    }

    #[test]
    fn e26_wrong_method_is_405() {
        assert_eq!(
            Route::resolve(&Method::POST, "/apps"),
            Err(NoRoute::MethodNotAllowed("GET"))
        );
        assert_eq!(
            Route::resolve(&Method::PUT, "/apps/A/i/status"),
            Ok(Route::InstanceStatus("A".into(), "i".into()))
        );
    }
}
