//! Register: `POST /apps/{app}` (E-10).
//!
//! The body's format comes from `Content-Type` (E-04, 415 otherwise); the record is decoded
//! and validated by [`codec::decode_register`]. A valid record answers exactly 204; a record
//! that decoded but was refused answers 400 with the plain-text reason; a body that does not
//! decode answers 400 with Java's body (W-95).

use super::request::RequestCtx;
use super::response::{bytes_response, empty, error, set_reason, text, ResponseBody};
use crate::codec::{self, Format, RegisterError};
use crate::registry::{Origin, Registry};
use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, Response, StatusCode};

/// Decodes, validates and registers the body of `POST /apps/{app}`; with `want_key`, a
/// successful register also returns the `(app, id)` it stored (for the replicator).
pub(super) fn register(
    registry: &Registry,
    ctx: &RequestCtx,
    headers: &HeaderMap,
    app: &str,
    body: &[u8],
    want_key: bool,
) -> (Response<ResponseBody>, Option<(String, String)>) {
    let ct = headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes);
    let format = match Format::from_content_type(ct) {
        Ok(f) => f,
        Err(e) => return (error(StatusCode::UNSUPPORTED_MEDIA_TYPE, e.reason()), None),
    };
    match codec::decode_register_boxed(body, format, app) {
        Ok(inst) => {
            tracing::debug!(app = %inst.app, id = %inst.id(), replication = ctx.replication, "register");
            let key = want_key.then(|| (inst.app.clone(), inst.id().to_owned()));
            // The codec applied the text rule: no second scan in the registry.
            registry.register_decoded(inst, Origin::from_replication_header(ctx.replication));
            (empty(StatusCode::NO_CONTENT), key)
        }
        Err(RegisterError::Invalid(msg)) => (invalid(app, msg), None),
        Err(RegisterError::InvalidText(e)) => (invalid(app, e.to_string()), None),
        Err(RegisterError::Undecodable(e)) => {
            let reason = format!("cannot parse request body: {e}");
            tracing::debug!(%app, %reason, "register rejected");
            // W-95: Java's bodies; the precise reason travels in a header.
            let mut r = if ct == Some(b"application/json".as_slice()) {
                bytes_response(
                    StatusCode::BAD_REQUEST,
                    "application/json",
                    Bytes::from_static(codec::CANNOT_PARSE_JSON_BODY.as_bytes()),
                )
            } else {
                bytes_response(
                    StatusCode::BAD_REQUEST,
                    "application/xml",
                    Bytes::from_static(codec::CANNOT_PARSE_XML_BODY.as_bytes()),
                )
            };
            set_reason(&mut r, &reason);
            (r, None)
        }
    }
}

/// A register body that decoded but was refused: 400, the plain-text reason (E-10).
fn invalid(app: &str, msg: String) -> Response<ResponseBody> {
    tracing::debug!(%app, reason = %msg, "register rejected");
    let mut r = text(StatusCode::BAD_REQUEST, msg.clone());
    set_reason(&mut r, &msg);
    r
}
