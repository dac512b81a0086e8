//! Content negotiation: E-04, E-05, E-06, E-30.

use tower_eureka::codec::{Accept, Format};

// E-05: JSON iff Accept contains "json" (case-sensitive, anywhere).
#[test]
fn e05_accept_selects_response_format() {
    for (accept, want) in [
        (Some(&b"application/json"[..]), Format::Json),
        (
            Some(b"application/xml, application/json;q=0.1"),
            Format::Json,
        ),
        (Some(b"application/vnd+json"), Format::Json),
        (Some(b"text/plain; x=json"), Format::Json),
        (Some(b"application/JSON"), Format::Xml),
        (Some(b"application/xml"), Format::Xml),
        (Some(b"*/*"), Format::Xml),
        (Some(b""), Format::Xml),
        (None, Format::Xml),
    ] {
        assert_eq!(Format::from_accept(accept), want, "{accept:?}");
    }
}

// E-06: response content types carry no parameters.
#[test]
fn e06_content_types() {
    assert_eq!(Format::Json.content_type(), "application/json");
    assert_eq!(Format::Xml.content_type(), "application/xml");
}

// E-04: request Content-Type -> body format, or 415 with a reason.
#[test]
fn e04_content_type_selects_body_format() {
    for (ct, want) in [
        ("application/json", Format::Json),
        ("application/json;charset=UTF-8", Format::Json),
        ("Application/JSON ; Charset=\"utf-8\"", Format::Json),
        ("application/json; charset=ISO-8859-1", Format::Json),
        ("application/vnd.netflix+json", Format::Json),
        ("text/json", Format::Json),
        ("application/xml", Format::Xml),
        ("application/xml; charset=utf-8", Format::Xml),
        ("text/xml", Format::Xml),
        ("*/*", Format::Xml),
    ] {
        assert_eq!(
            Format::from_content_type(Some(ct.as_bytes())),
            Ok(want),
            "{ct}"
        );
    }
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=utf-16",
        "application/xml;charset=latin2",
        "application",
        "",
        "+json",
        "application/+json",
    ] {
        let err = Format::from_content_type(Some(ct.as_bytes())).unwrap_err();
        assert!(!err.reason().is_empty(), "{ct}");
        assert_eq!(err.to_string(), err.reason());
    }
    let err = Format::from_content_type(None).unwrap_err();
    assert_eq!(err.reason(), "missing Content-Type");
    assert!(Format::from_content_type(Some(&[0xff, 0xfe][..])).is_err());
}

// E-30: X-Eureka-Accept.
#[test]
fn e30_x_eureka_accept() {
    assert_eq!(Accept::from_header(Some(b"compact")), Accept::Compact);
    assert_eq!(Accept::from_header(Some(b"COMPACT")), Accept::Compact);
    assert_eq!(Accept::from_header(Some(b" compact ")), Accept::Compact);
    assert_eq!(Accept::from_header(Some(b"full")), Accept::Full);
    assert_eq!(Accept::from_header(Some(b"compacted")), Accept::Full);
    assert_eq!(Accept::from_header(None), Accept::Full);
    assert_eq!(Accept::default(), Accept::Full);
}
