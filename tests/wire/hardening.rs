//! The readers' bounds (issue 11): no entity beyond XML's five predefined ones, no DTD, no
//! nesting deeper than [`MAX_DEPTH`], in both formats and for every document type. Each
//! hostile document is a syntax error that names the cause, read with bounded stack (the
//! test thread's default stack) and in one pass.

use tower_eureka::codec::{self, Format, MAX_DEPTH};

/// Every reader of `format` refuses `doc`, with a message that contains `why`.
fn refused_everywhere(doc: &[u8], format: Format, why: &str) {
    refused(doc, format, "", why)
}

/// The readers of `format` for document type `root` (all of them for `""`) refuse `doc`,
/// with a message that contains `why`.
fn refused(doc: &[u8], format: Format, root: &str, why: &str) {
    let any = root.is_empty();
    let errors = [
        (any || root == "applications").then(|| {
            codec::decode_applications(doc, format)
                .err()
                .map(|e| e.to_string())
        }),
        (any || root == "application").then(|| {
            codec::decode_application(doc, format)
                .err()
                .map(|e| e.to_string())
        }),
        (any || root == "instance").then(|| {
            codec::decode_instance(doc, format)
                .err()
                .map(|e| e.to_string())
        }),
        (any || root == "instance").then(|| {
            codec::decode_register(doc, format, "MYAPP")
                .err()
                .map(|e| e.to_string())
        }),
    ];
    for (n, e) in errors
        .into_iter()
        .enumerate()
        .filter_map(|(n, e)| Some((n, e?)))
    {
        match e {
            Some(e) => assert!(e.contains(why), "reader {n}: {e:?} should say {why:?}"),
            None => panic!("reader {n} accepted a hostile {format:?} document"),
        }
    }
}

/// A billion-laughs document: ten entities, each ten of the one before; expanded, `&lol9;`
/// would be 3 GB.
fn billion_laughs(root: &str) -> String {
    let mut dtd = String::from("<!ENTITY lol0 \"lol\">");
    for n in 1..10 {
        let prev = format!("&lol{};", n - 1);
        dtd.push_str(&format!("<!ENTITY lol{n} \"{}\">", prev.repeat(10)));
    }
    format!("<?xml version=\"1.0\"?><!DOCTYPE {root} [{dtd}]><{root}><x>&lol9;</x></{root}>")
}

// W-76: the billion laughs is refused at its DOCTYPE, before any entity is looked at.
#[test]
fn w76_xml_billion_laughs_is_refused() {
    for root in ["applications", "application", "instance"] {
        refused_everywhere(billion_laughs(root).as_bytes(), Format::Xml, "DOCTYPE");
    }
}

// W-76: a DOCTYPE with an external entity (XXE) is refused; nothing is read from the file.
#[test]
fn w76_xml_external_entity_is_refused() {
    let doc = r#"<?xml version="1.0"?>
<!DOCTYPE instance [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<instance><hostName>&xxe;</hostName><app>MYAPP</app></instance>"#;
    refused_everywhere(doc.as_bytes(), Format::Xml, "DOCTYPE");
    // A DOCTYPE with no internal subset is refused too: no DTD is taken at all.
    let doc = r#"<!DOCTYPE instance SYSTEM "http://127.0.0.1:9/x.dtd"><instance/>"#;
    refused_everywhere(doc.as_bytes(), Format::Xml, "DOCTYPE");
}

// W-76: an entity that no DTD declares (there is none) stays an error, as before.
#[test]
fn w76_xml_undeclared_entity_is_refused() {
    let doc = "<instance><hostName>&lol9;</hostName></instance>";
    refused(
        doc.as_bytes(),
        Format::Xml,
        "instance",
        "undeclared entity &lol9;",
    );
    // The five predefined ones are fine.
    let doc = "<instance><hostName>&lt;&gt;&amp;&apos;&quot;</hostName></instance>";
    let inst = codec::decode_instance(doc.as_bytes(), Format::Xml).unwrap();
    assert_eq!(inst.host_name, "<>&'\"");
}

fn nested_xml(root: &str, depth: usize) -> Vec<u8> {
    [
        format!("<{root}>").as_bytes(),
        &b"<x>".repeat(depth),
        &b"</x>".repeat(depth),
        format!("</{root}>").as_bytes(),
    ]
    .concat()
}

// W-53, W-76: unknown elements are skipped, but not 10,000 levels of them.
#[test]
fn w76_xml_10k_nested_elements_are_refused() {
    for root in ["applications", "application", "instance"] {
        refused(
            &nested_xml(root, 10_000),
            Format::Xml,
            root,
            &format!("nested deeper than {MAX_DEPTH}"),
        );
    }
    // Inside a known element too (metadata, dataCenterInfo).
    let doc = [
        &b"<instance><dataCenterInfo><metadata>"[..],
        &b"<x>".repeat(10_000),
        &b"</x>".repeat(10_000),
        b"</metadata></dataCenterInfo></instance>",
    ]
    .concat();
    refused(&doc, Format::Xml, "instance", "nested deeper");
    // Up to the bound, unknown elements are still skipped (W-53).
    let apps = codec::decode_applications(&nested_xml("applications", MAX_DEPTH - 1), Format::Xml);
    assert!(apps.unwrap().applications.is_empty());
}

/// `depth` levels of `open`, a `0`, and as many `close`.
fn nested_json(open: &[u8], close: &[u8], depth: usize) -> Vec<u8> {
    [&open.repeat(depth)[..], b"0", &close.repeat(depth)].concat()
}

// W-53, W-76: unknown keys are skipped, but not 10,000 levels of arrays or objects, at any
// level of any document type.
#[test]
fn w76_json_10k_nested_arrays_and_objects_are_refused() {
    for (open, close) in [(&b"["[..], &b"]"[..]), (b"{\"a\":", b"}")] {
        let deep = nested_json(open, close, 10_000);
        let docs = [
            [&b"{\"applications\":{\"x\":"[..], &deep, b"}}"].concat(),
            [&b"{\"application\":{\"x\":"[..], &deep, b"}}"].concat(),
            [&b"{\"instance\":{\"x\":"[..], &deep, b"}}"].concat(),
            [&b"{\"x\":"[..], &deep, b",\"instance\":{}}"].concat(),
            [&b"{\"instance\":{\"leaseInfo\":{\"x\":"[..], &deep, b"}}}"].concat(),
            [&b"{\"instance\":{\"metadata\":{\"m\":"[..], &deep, b"}}}"].concat(),
            [
                &b"{\"instance\":{\"dataCenterInfo\":{\"metadata\":{\"m\":"[..],
                &deep,
                b"}}}}",
            ]
            .concat(),
        ];
        for doc in docs {
            let what = String::from_utf8_lossy(&doc[..40]).into_owned();
            for e in [
                codec::decode_applications(&doc, Format::Json).err(),
                codec::decode_application(&doc, Format::Json).err(),
                codec::decode_instance(&doc, Format::Json).err(),
            ] {
                let e = e.unwrap_or_else(|| panic!("{what}… accepted"));
                assert!(e.to_string().contains("recursion limit"), "{what}…: {e}");
            }
            assert!(codec::decode_register(&doc, Format::Json, "MYAPP").is_err());
        }
    }
    // A hundred levels is still an unknown value, skipped (W-53).
    let doc = [
        &b"{\"instance\":{\"hostName\":\"h\",\"x\":"[..],
        &nested_json(b"[", b"]", 100),
        b"}}",
    ]
    .concat();
    assert_eq!(
        codec::decode_instance(&doc, Format::Json)
            .unwrap()
            .host_name,
        "h"
    );
}

// W-53: an unknown value is skipped, but it is still read as JSON: a lone surrogate escape or
// a number out of range is an error there as in a known field (as when the whole body is
// read as a `serde_json::Value`).
#[test]
fn w53_unknown_values_are_still_json_values() {
    for bad in [r#""\ud800""#, "1e400", r#"["\udc00"]"#] {
        let doc = format!(r#"{{"instance":{{"hostName":"h","x":{bad}}}}}"#);
        assert!(
            codec::decode_instance(doc.as_bytes(), Format::Json).is_err(),
            "{bad} accepted"
        );
    }
    let doc = r#"{"instance":{"hostName":"h","x":["\u00e9",1e300,{"a":null}]}}"#;
    assert!(codec::decode_instance(doc.as_bytes(), Format::Json).is_ok());
}
