//! Register validation through the service: `POST /apps/MYAPP` with the input as the body,
//! JSON or XML by its first byte (E-04, E-10, W-02, W-22).
//!
//! What must hold: never a 5xx; a refused body leaves the registry empty; an accepted one
//! is held, is served in both formats so that the crate's reader reads it back, and the
//! record as served registers again (what one server writes, another takes).
#![no_main]

use fuzz_support::{call, get, listing_decodes, post, service, sniff};
use http::StatusCode;
use libfuzzer_sys::fuzz_target;
use tower_eureka::codec::Format;

fuzz_target!(|data: &[u8]| {
    let format = sniff(data);
    let svc = service();
    let (status, _) = call(&svc, post("/apps/MYAPP", format.content_type(), data));
    if status != StatusCode::NO_CONTENT {
        assert!(status.is_client_error(), "register answered {status}");
        assert_eq!(
            svc.registry().len(),
            0,
            "a refused register changed the registry"
        );
        return;
    }
    assert_eq!(svc.registry().len(), 1, "an accepted register is held");
    listing_decodes(&svc);
    let id = match svc.registry().snapshot().app("MYAPP") {
        Some([inst]) => inst.id().to_owned(),
        other => panic!("MYAPP after a register: {other:?}"),
    };
    let path = format!("/apps/MYAPP/{}", percent(&id));
    for format in [Format::Json, Format::Xml] {
        let (status, served) = call(&svc, get(&path, format));
        assert_eq!(status, StatusCode::OK, "GET {path} in {format:?}");
        let again = service();
        let (status, body) = call(&again, post("/apps/MYAPP", format.content_type(), &served));
        assert_eq!(
            status,
            StatusCode::NO_CONTENT,
            "the record served in {format:?} does not register again: {}\n{}",
            String::from_utf8_lossy(&body),
            String::from_utf8_lossy(&served)
        );
    }
});

/// Percent-encodes every byte outside the unreserved set, so that any id is one path
/// segment.
fn percent(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
