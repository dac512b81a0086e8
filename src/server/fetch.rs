//! The read side: `GET` of registry payloads and of single instances (E-16..E-21).
//!
//! Registry payloads (`/apps`, `/apps/delta`, `/apps/{app}`, `/vips/..`, `/svips/..`) come
//! from the [`PayloadCache`], encoded once per change and variant; single instances are
//! encoded per request (they are small, and always in full form, W-90).

use super::cache::{Entity, Key, PayloadCache};
use super::regions::{RemoteRegions, Selection};
use super::request::RequestCtx;
use super::response::{empty, error, instance_response, payload, ResponseBody};
use crate::registry::Registry;
use http::{Response, StatusCode};

/// A registry payload in the variant `ctx` negotiated; 404 when the entity does not exist.
///
/// `/apps` and `/apps/delta` with a non-empty `regions` merge those remote regions
/// 403 until every configured region has its first copy, unknown names ignored.
pub(super) fn entity(
    registry: &Registry,
    cache: &PayloadCache,
    remote: &RemoteRegions,
    ctx: &RequestCtx,
    entity: Entity,
) -> Response<ResponseBody> {
    let regions = match entity {
        Entity::Apps | Entity::Delta if !remote.is_empty() => {
            let asked = ctx.query.get("regions");
            let asked = asked.as_deref().filter(|v| !v.trim().is_empty());
            if asked.is_some() && !remote.ready() {
                return error(
                    StatusCode::FORBIDDEN,
                    "remote regions have not completed their first fetch",
                );
            }
            remote.select(asked, matches!(entity, Entity::Delta))
        }
        // Java's transparent fallback: an app absent here is looked up in the regions.
        Entity::App(ref name)
            if remote.transparent_fallback()
                && !remote.is_empty()
                && registry.snapshot().app(name).map_or(true, <[_]>::is_empty) =>
        {
            remote.select(Some(&remote.names().collect::<Vec<_>>().join(",")), false)
        }
        _ => Selection::default(),
    };
    let snap = registry.snapshot();
    let key = Key {
        entity,
        format: ctx.format,
        compact: ctx.compact,
        gzip: ctx.gzip,
        regions,
    };
    match cache.get(&snap, &key) {
        Some(bytes) => payload(StatusCode::OK, ctx.format, bytes, ctx.gzip),
        None => empty(StatusCode::NOT_FOUND),
    }
}

/// `GET /apps/{app}/{id}` (E-19).
pub(super) fn instance(
    registry: &Registry,
    ctx: &RequestCtx,
    app: &str,
    id: &str,
) -> Response<ResponseBody> {
    match registry.instance(app, id) {
        Some(i) => instance_response(StatusCode::OK, &i, ctx.format),
        None => empty(StatusCode::NOT_FOUND),
    }
}

/// `GET /instances/{id}` (E-20).
pub(super) fn instance_by_id(
    registry: &Registry,
    ctx: &RequestCtx,
    id: &str,
) -> Response<ResponseBody> {
    match registry.instance_by_id(id) {
        Some(i) => instance_response(StatusCode::OK, &i, ctx.format),
        None => empty(StatusCode::NOT_FOUND),
    }
}
