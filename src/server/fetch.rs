//! The read side: `GET` of registry payloads and of single instances (E-16..E-21).
//!
//! Registry payloads (`/apps`, `/apps/delta`, `/apps/{app}`, `/vips/..`, `/svips/..`) come
//! from the [`PayloadCache`], encoded once per change and variant; single instances are
//! encoded per request (they are small, and always in full form, W-90).

use super::cache::{Entity, Key, PayloadCache};
use super::regions::{RemoteRegions, Selection};
use super::request::RequestCtx;
use super::response::{empty, error, instance_response, payload, ResponseBody};
use super::watch;
use crate::registry::{Registry, RegistrySnapshot};
use http::{HeaderValue, Response, StatusCode};

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
    entity_in(&registry.snapshot(), cache, remote, ctx, entity)
}

/// [`entity`] from the snapshot `snap`.
fn entity_in(
    snap: &RegistrySnapshot,
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
                && snap.app(name).map_or(true, <[_]>::is_empty) =>
        {
            remote.select_all(false)
        }
        _ => Selection::default(),
    };
    let key = Key {
        entity,
        format: ctx.format,
        compact: ctx.compact,
        gzip: ctx.gzip,
        regions,
    };
    match cache.get(snap, &key) {
        Some(bytes) => payload(StatusCode::OK, ctx.format, bytes, ctx.gzip),
        None => empty(StatusCode::NOT_FOUND),
    }
}

/// A per-target payload (`/apps/{app}`, `/vips/..`, `/svips/..`): [`entity`], plus the
/// headers a watching client sends back (watch per target, issue 15): the registry's
/// epoch, the target's version and its reconcile hash, all of the snapshot the body
/// comes from; on 404 too (version 0, empty hash), so a client may wait for the target
/// to appear. (An app answered from a remote region by the transparent fallback carries
/// the local state, version 0: a follower of it polls rather than watches.)
pub(super) fn target(
    registry: &Registry,
    cache: &PayloadCache,
    remote: &RemoteRegions,
    ctx: &RequestCtx,
    entity: Entity,
) -> Response<ResponseBody> {
    let snap = registry.snapshot();
    let state = watch::state(&snap, &entity).unwrap_or_default();
    let mut res = entity_in(&snap, cache, remote, ctx, entity);
    let h = res.headers_mut();
    h.insert(watch::HEADER, HeaderValue::from(registry.epoch()));
    h.insert(watch::VERSION_HEADER, HeaderValue::from(state.version));
    // A hash is ASCII letters, digits and `_`: always a valid header value.
    if let Ok(v) = HeaderValue::from_str(&state.counts.hashcode()) {
        h.insert(watch::HASH_HEADER, v);
    }
    res
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
