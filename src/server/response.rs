//! Response builders: every answer the server gives is made here.
//!
//! Handlers decide *what* to answer; these functions decide how it looks on the wire:
//! payloads with `Content-Type` and `Vary` (E-06, E-07), single instances (W-18), empty
//! answers (E-10's 204, E-11's 200), and one-line plain-text errors whose reason also travels
//! in the `x-eureka-error` header.

use super::auth::BasicAuth;
use super::body::BodyError;
use crate::codec::{self, Format};
use crate::model::InstanceInfo;
use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, VARY, WWW_AUTHENTICATE};
use http::{Response, StatusCode};
use http_body_util::Full;

/// The response body of [`EurekaService`](super::EurekaService): a complete buffer.
pub type ResponseBody = Full<Bytes>;

/// The header that carries an error's one-line reason.
const ERROR_HEADER: &str = "x-eureka-error";

/// The longest reason put in [`ERROR_HEADER`], in characters.
const MAX_REASON_CHARS: usize = 300;

/// `body` with `status` and `content_type`.
pub(super) fn bytes_response(
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
) -> Response<ResponseBody> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// No body, no `Content-Type`: the answer to register (204), heartbeat (200), cancel and
/// the overrides, and every 404 of a lookup.
pub(super) fn empty(status: StatusCode) -> Response<ResponseBody> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    r
}

/// An encoded registry payload (possibly gzip-compressed already), marked as varying with
/// the negotiation headers.
pub(super) fn payload(
    status: StatusCode,
    format: Format,
    body: Bytes,
    gzip: bool,
) -> Response<ResponseBody> {
    let mut r = bytes_response(status, format.content_type(), body);
    if gzip {
        r.headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    r.headers_mut().insert(
        VARY,
        HeaderValue::from_static("Accept, Accept-Encoding, X-Eureka-Accept"),
    );
    r
}

/// One instance, wrapped (`{"instance":…}` or `<instance>`), in full form (W-90).
pub(super) fn instance_response(
    status: StatusCode,
    inst: &InstanceInfo,
    format: Format,
) -> Response<ResponseBody> {
    let mut out = Vec::with_capacity(1536);
    codec::encode_instance(inst, format, &mut out);
    bytes_response(status, format.content_type(), Bytes::from(out))
}

/// A plain-text UTF-8 body.
pub(super) fn text(status: StatusCode, msg: String) -> Response<ResponseBody> {
    bytes_response(status, "text/plain; charset=utf-8", Bytes::from(msg))
}

/// A 4xx with a one-line plain-text reason (also in the `x-eureka-error` header).
pub(super) fn error(status: StatusCode, reason: &str) -> Response<ResponseBody> {
    let mut r = text(status, format!("{reason}\n"));
    set_reason(&mut r, reason);
    r
}

/// 401 with the `WWW-Authenticate` challenge of `auth`: missing or wrong credentials.
pub(super) fn unauthorized(auth: &BasicAuth) -> Response<ResponseBody> {
    let mut r = error(
        StatusCode::UNAUTHORIZED,
        "authentication required: send Basic credentials of a configured user",
    );
    r.headers_mut()
        .insert(WWW_AUTHENTICATE, auth.challenge().clone());
    r
}

/// Puts `reason` in the `x-eureka-error` header: control and non-ASCII characters become
/// spaces, and it is cut at 300 characters.
pub(super) fn set_reason(r: &mut Response<ResponseBody>, reason: &str) {
    let one_line: String = reason
        .chars()
        .map(|c| {
            if c.is_control() || !c.is_ascii() {
                ' '
            } else {
                c
            }
        })
        .take(MAX_REASON_CHARS)
        .collect();
    if let Ok(v) = HeaderValue::from_str(&one_line) {
        r.headers_mut().insert(ERROR_HEADER, v);
    }
}

/// The answer to a body that could not be read: 413, 400 or 415.
pub(super) fn body_error(e: BodyError) -> Response<ResponseBody> {
    let status = match e {
        BodyError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        BodyError::Unreadable(_) => StatusCode::BAD_REQUEST,
        BodyError::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
    };
    error(status, &e.reason())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_reason_is_one_ascii_line_in_the_header() {
        let r = error(StatusCode::BAD_REQUEST, "bad\nvalue \u{e9}");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(r.headers()[CONTENT_TYPE], "text/plain; charset=utf-8");
        assert_eq!(r.headers()[ERROR_HEADER], "bad value  ");
        let long = "x".repeat(400);
        let r = error(StatusCode::BAD_REQUEST, &long);
        assert_eq!(r.headers()[ERROR_HEADER].len(), MAX_REASON_CHARS);
    }

    #[test]
    fn payloads_vary_and_carry_their_encoding() {
        let r = payload(
            StatusCode::OK,
            Format::Json,
            Bytes::from_static(b"{}"),
            true,
        );
        assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(r.headers()[CONTENT_ENCODING], "gzip");
        assert_eq!(
            r.headers()[VARY],
            "Accept, Accept-Encoding, X-Eureka-Accept"
        );
        let r = payload(StatusCode::OK, Format::Xml, Bytes::new(), false);
        assert!(r.headers().get(CONTENT_ENCODING).is_none());
        assert!(empty(StatusCode::NO_CONTENT)
            .headers()
            .get(CONTENT_TYPE)
            .is_none());
    }
}
