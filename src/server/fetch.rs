//! The read side: `GET` of registry payloads and of single instances (E-16..E-21).
//!
//! Registry payloads (`/apps`, `/apps/delta`, `/apps/{app}`, `/vips/..`, `/svips/..`) come
//! from the [`PayloadCache`], encoded once per change and variant; single instances are
//! encoded per request (they are small, and always in full form, W-90).

use super::cache::{Entity, Key, PayloadCache};
use super::request::RequestCtx;
use super::response::{empty, instance_response, payload, ResponseBody};
use super::watch;
use crate::registry::Registry;
use http::{HeaderValue, Response, StatusCode};

/// A registry payload in the variant `ctx` negotiated; 404 when the entity does not exist.
pub(super) fn entity(
    registry: &Registry,
    cache: &PayloadCache,
    ctx: &RequestCtx,
    entity: Entity,
) -> Response<ResponseBody> {
    let snap = registry.snapshot();
    let key = Key {
        entity,
        format: ctx.format,
        compact: ctx.compact,
        gzip: ctx.gzip,
    };
    match cache.get(&snap, &key) {
        Some(bytes) => payload(StatusCode::OK, ctx.format, bytes, ctx.gzip),
        None => empty(StatusCode::NOT_FOUND),
    }
}

/// A per-target payload (`/apps/{app}`, `/vips/..`, `/svips/..`): [`entity`], plus the
/// headers a watching client sends back (watch per target, issue 15): the registry's
/// epoch, the target's version and its reconcile hash, all of the snapshot the body
/// comes from; on 404 too (version 0, empty hash), so a client may wait for the target
/// to appear.
pub(super) fn target(
    registry: &Registry,
    cache: &PayloadCache,
    ctx: &RequestCtx,
    entity: Entity,
) -> Response<ResponseBody> {
    let snap = registry.snapshot();
    let state = watch::state(&snap, &entity).unwrap_or_default();
    let key = Key {
        entity,
        format: ctx.format,
        compact: ctx.compact,
        gzip: ctx.gzip,
    };
    let mut res = match cache.get(&snap, &key) {
        Some(bytes) => payload(StatusCode::OK, ctx.format, bytes, ctx.gzip),
        None => empty(StatusCode::NOT_FOUND),
    };
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
