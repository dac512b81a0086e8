//! Informational endpoints: `GET /status` (E-24) and `/serverinfo/statusoverrides` (E-25).

use super::regions::RemoteRegions;
use super::response::{bytes_response, ResponseBody};
use crate::registry::Registry;
use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::{json, Map, Value};

/// `GET /status`: health, general and per-application statistics, why
/// self-preservation is on or off, and each remote region's copy when there are
/// any.
pub(super) fn status(
    registry: &Registry,
    cluster: Option<Value>,
    remote: &RemoteRegions,
) -> Response<ResponseBody> {
    let snap = registry.snapshot();
    let sp = registry.self_preservation();
    let mut apps = Map::new();
    for (name, list) in snap.apps() {
        apps.insert(name.to_owned(), json!(list.len()));
    }
    let body = json!({
        "isHealthy": true,
        "generalStats": {
            "server": "tower-eureka",
            "version": env!("CARGO_PKG_VERSION"),
            "registered-instances": snap.len(),
            "registry-revision": snap.revision(),
            "apps__hashcode": snap.hashcode(),
        },
        "applicationStats": Value::Object(apps),
        "selfPreservation": {
            "mode": format!("{:?}", sp.mode),
            "active": sp.active,
            "reason": sp.reason,
            "expectedRenewsPerMinute": sp.expected_renews_per_min,
            "renewsLastMinute": sp.renews_last_min,
            "threshold": sp.threshold.max(0.0),
            "leases": sp.lease_count,
            "protectedLeases": sp.protected_count,
        },
    });
    let mut body = body;
    if let (false, Value::Object(m)) = (remote.is_empty(), &mut body) {
        let regions: Vec<Value> = remote
            .status()
            .into_iter()
            .map(|r| {
                json!({
                    "name": r.name,
                    "url": crate::redact::userinfo(&r.url),
                    "ready": r.ready,
                    "instances": r.instances,
                    "lastFetchTimestamp": r.last_fetch_ms,
                    "failedFetches": r.failures,
                    "fullFetches": r.full_fetches,
                    "deltaFetches": r.delta_fetches,
                })
            })
            .collect();
        m.insert("remoteRegions".into(), Value::Array(regions));
    }
    if let (Some(Value::Object(extra)), Value::Object(m)) = (cluster, &mut body) {
        m.extend(extra);
    }
    json_response(&body)
}

/// `GET /serverinfo/statusoverrides`: instance id -> override status.
pub(super) fn status_overrides(registry: &Registry) -> Response<ResponseBody> {
    let mut m = Map::new();
    for (_app, id, st) in registry.overrides() {
        m.insert(id, json!(st.as_str()));
    }
    json_response(&Value::Object(m))
}

fn json_response(v: &Value) -> Response<ResponseBody> {
    let bytes = serde_json::to_vec(v).unwrap_or_default();
    bytes_response(StatusCode::OK, "application/json", Bytes::from(bytes))
}
