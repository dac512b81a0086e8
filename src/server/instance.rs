//! Writes to one registered instance: heartbeat (E-11), cancel (E-12), status override set
//! and delete (E-13, E-14) and metadata update (E-15).
//!
//! Parameters come from the query only; bodies are ignored (E-09). A bad parameter answers
//! 400 with a one-line reason; an unknown instance answers 404 with no body.

use super::request::{Query, RequestCtx};
use super::response::{empty, error, instance_response, ResponseBody};
use crate::codec;
use crate::model::{check_metadata_entry, Status};
use crate::registry::{Origin, Registry, Renew, RenewOutcome};
use http::{Method, Response, StatusCode};

/// `PUT /apps/{app}/{id}[?status=..&lastDirtyTimestamp=..&overriddenstatus=..]` (E-11):
/// 200, 404, or 409 with the stored instance.
pub(super) fn heartbeat(
    registry: &Registry,
    ctx: &RequestCtx,
    app: &str,
    id: &str,
) -> Response<ResponseBody> {
    let last_dirty = match last_dirty_timestamp(&ctx.query) {
        Ok(ts) => ts,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
    };
    let overridden = match ctx.query.get("overriddenstatus") {
        None => None,
        Some(s) => match Status::parse(&s) {
            Some(st) => Some(st),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("unknown overriddenstatus {s:?}"),
                )
            }
        },
    };
    let renew = Renew::new()
        .last_dirty_timestamp(last_dirty)
        .overridden_status(overridden);
    match registry.renew(
        app,
        id,
        renew,
        Origin::from_replication_header(ctx.replication),
    ) {
        RenewOutcome::Renewed => empty(StatusCode::OK),
        RenewOutcome::NotFound => empty(StatusCode::NOT_FOUND),
        RenewOutcome::Conflict(stored) => {
            instance_response(StatusCode::CONFLICT, &stored, ctx.format)
        }
    }
}

/// `DELETE /apps/{app}/{id}` (E-12): 200 or 404.
pub(super) fn cancel(
    registry: &Registry,
    ctx: &RequestCtx,
    app: &str,
    id: &str,
) -> Response<ResponseBody> {
    found(registry.cancel(app, id, Origin::from_replication_header(ctx.replication)))
}

/// `PUT` (E-13) or `DELETE` (E-14) `/apps/{app}/{id}/status?value=S&lastDirtyTimestamp=T`:
/// 200, 404, or 400 for a missing (PUT) or unknown status value.
pub(super) fn status_override(
    registry: &Registry,
    ctx: &RequestCtx,
    method: &Method,
    app: &str,
    id: &str,
) -> Response<ResponseBody> {
    let last_dirty = match last_dirty_timestamp(&ctx.query) {
        Ok(ts) => ts,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
    };
    let value = ctx.query.get("value");
    let parsed = match value.as_deref().map(|v| (v, Status::parse(v))) {
        Some((v, None)) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("invalid status value {v:?}: expected UP, DOWN, STARTING, OUT_OF_SERVICE or UNKNOWN"),
            )
        }
        Some((_, s)) => s,
        None => None,
    };
    let found_it = if *method == Method::PUT {
        let Some(status) = parsed else {
            return error(
                StatusCode::BAD_REQUEST,
                "missing status value (?value=STATUS)",
            );
        };
        registry.set_status_override(
            app,
            id,
            status,
            last_dirty,
            Origin::from_replication_header(ctx.replication),
        )
    } else {
        registry.delete_status_override(
            app,
            id,
            parsed,
            last_dirty,
            Origin::from_replication_header(ctx.replication),
        )
    };
    found(found_it)
}

/// `PUT /apps/{app}/{id}/metadata?k1=v1&k2=v2` (E-15): merges the pairs (the first of a
/// repeated key wins); 200, 404, or 400 for a pair the registry cannot carry.
pub(super) fn metadata(
    registry: &Registry,
    ctx: &RequestCtx,
    app: &str,
    id: &str,
) -> Response<ResponseBody> {
    let mut entries: Vec<(String, String)> = Vec::new();
    for (k, v) in ctx.query.pairs() {
        // The one text rule (issue 12): nothing XML cannot carry enters the registry.
        if let Err(e) = check_metadata_entry("metadata", &k, &v) {
            return error(StatusCode::BAD_REQUEST, &e.to_string());
        }
        if !codec::xml::is_encodable_key(&k) {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("invalid metadata key {k:?}: it must be usable as an XML element name"),
            );
        }
        if !entries.iter().any(|(ek, _)| *ek == k) {
            entries.push((k, v));
        }
    }
    found(registry.update_metadata(app, id, entries))
}

/// 200 when the instance was found, 404 otherwise; no body either way.
fn found(found: bool) -> Response<ResponseBody> {
    if found {
        empty(StatusCode::OK)
    } else {
        empty(StatusCode::NOT_FOUND)
    }
}

/// The `lastDirtyTimestamp` query parameter; `Err` carries the 400 reason.
fn last_dirty_timestamp(query: &Query) -> Result<Option<u64>, String> {
    match query.get("lastDirtyTimestamp").as_deref() {
        None | Some("") => Ok(None),
        Some(s) => match s.parse::<u64>() {
            // A Java long: a larger value would be stored and served where no reader,
            // ours or Java's, can read it back.
            Ok(t) if i64::try_from(t).is_ok() => Ok(Some(t)),
            Ok(_) => Err(format!(
                "lastDirtyTimestamp {s:?} is out of range (at most {})",
                i64::MAX
            )),
            Err(_) => Err(format!(
                "lastDirtyTimestamp {s:?} is not a decimal number of milliseconds"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_dirty_timestamp_is_decimal_milliseconds_or_absent() {
        let ts = |q: &str| last_dirty_timestamp(&Query::new(Some(q)));
        assert_eq!(
            ts("lastDirtyTimestamp=1700000000000"),
            Ok(Some(1_700_000_000_000))
        );
        assert_eq!(ts("lastDirtyTimestamp="), Ok(None));
        assert_eq!(ts("other=1"), Ok(None));
        assert!(ts("lastDirtyTimestamp=-1").is_err());
        assert!(ts("lastDirtyTimestamp=1e3").is_err());
    }
}
