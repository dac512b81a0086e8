//! Register bodies (W-02, W-22, W-26, W-31, W-32, W-42, W-43, E-03, E-10).

use crate::support::*;
use serde_json::{json, Value};
use tower_eureka::codec::{self, Format, RegisterError};
use tower_eureka::model::{DataCenterName, InstanceInfo, PortWrapper, Status};

/// A valid Jackson-shape register body for ORDERS, as a JSON value to mutate.
fn body() -> Value {
    json!({"instance": {
        "instanceId": "orders-1.internal:orders:8080",
        "hostName": "orders-1.internal",
        "app": "ORDERS",
        "ipAddr": "10.0.1.11",
        "status": "UP",
        "overriddenStatus": "UNKNOWN",
        "port": {"$": 8080, "@enabled": "true"},
        "securePort": {"$": 443, "@enabled": "false"},
        "dataCenterInfo": {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"},
        "leaseInfo": {"renewalIntervalInSecs": 30, "durationInSecs": 90},
        "metadata": {"zone": "a"},
        "lastDirtyTimestamp": "1700000000000"
    }})
}

fn register(v: &Value, path_app: &str) -> Result<InstanceInfo, RegisterError> {
    codec::decode_register(&serde_json::to_vec(v).unwrap(), Format::Json, path_app)
}

fn invalid(v: &Value, path_app: &str) -> String {
    match register(v, path_app) {
        Err(RegisterError::Invalid(msg)) => msg,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn with(mut v: Value, f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    f(v["instance"].as_object_mut().unwrap());
    v
}

#[test]
fn e10_valid_body_is_accepted() {
    let i = register(&body(), "orders").unwrap();
    assert_eq!(i.id(), "orders-1.internal:orders:8080");
    assert_eq!(i.app, "ORDERS");
    assert_eq!(i.last_dirty_timestamp, 1700000000000);
    assert_eq!(i.metadata.get("zone"), Some("a"));
}

// E-10: each row of the validation table, with its exact body.
#[test]
fn e10_validation_table_rows() {
    let no_id = with(body(), |o| {
        o.remove("instanceId");
        o.remove("hostName");
    });
    assert_eq!(invalid(&no_id, "orders"), "Missing instanceId");

    let no_host = with(body(), |o| {
        o.insert("hostName".into(), json!(""));
    });
    assert_eq!(invalid(&no_host, "orders"), "Missing hostname");

    let no_ip = with(body(), |o| {
        o.insert("ipAddr".into(), Value::Null);
    });
    assert_eq!(invalid(&no_ip, "orders"), "Missing ip address");

    let no_app = with(body(), |o| {
        o.remove("app");
    });
    assert_eq!(invalid(&no_app, "orders"), "Missing appName");

    assert_eq!(
        invalid(&body(), "billing"),
        "Mismatched appName, expecting BILLING but was ORDERS"
    );
    let lower = with(body(), |o| {
        o.insert("app".into(), json!("orders"));
    });
    assert_eq!(register(&lower, "Orders").unwrap().app, "ORDERS");

    let no_dci = with(body(), |o| {
        o.remove("dataCenterInfo");
    });
    assert_eq!(invalid(&no_dci, "orders"), "Missing dataCenterInfo");

    let no_name = with(body(), |o| {
        o.insert(
            "dataCenterInfo".into(),
            json!({"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"}),
        );
    });
    assert_eq!(invalid(&no_name, "orders"), "Missing dataCenterInfo Name");

    let bad_status = with(body(), |o| {
        o.insert("status".into(), json!("SOME_NEW_STATUS"));
    });
    assert_eq!(
        invalid(&bad_status, "orders"),
        "Unknown status SOME_NEW_STATUS"
    );
    let bad_override = with(body(), |o| {
        o.insert("overriddenstatus".into(), json!("up"));
    });
    assert_eq!(invalid(&bad_override, "orders"), "Unknown status up");
}

// E-10: rules are checked in table order; the first failing one is reported.
#[test]
fn e10_first_failing_rule_wins() {
    let many = with(body(), |o| {
        o.insert("ipAddr".into(), json!(""));
        o.remove("dataCenterInfo");
        o.insert("status".into(), json!("BROKEN"));
    });
    assert_eq!(invalid(&many, "wrong"), "Missing ip address");
    let later = with(body(), |o| {
        o.remove("dataCenterInfo");
        o.insert("status".into(), json!("BROKEN"));
    });
    assert_eq!(
        invalid(&later, "wrong"),
        "Mismatched appName, expecting WRONG but was ORDERS"
    );
    assert_eq!(invalid(&later, "orders"), "Missing dataCenterInfo");
    // Whitespace-only values are blank (this crate's choice, allowed by E-10).
    let blank = with(body(), |o| {
        o.insert("hostName".into(), json!("  "));
    });
    assert_eq!(invalid(&blank, "orders"), "Missing hostname");
}

// W-52 (server side): an unknown data-center name is a 400.
#[test]
fn w52_unknown_data_center_name_refused() {
    let v = with(body(), |o| {
        o.insert(
            "dataCenterInfo".into(),
            json!({"@class": "x", "name": "Mars"}),
        );
    });
    assert_eq!(invalid(&v, "orders"), "Unknown dataCenterInfo Name Mars");
}

// W-32 [IMPL]: a missing @class with a valid name is accepted; AmazonInfo needs no name.
#[test]
fn w32_lenient_class() {
    let v = with(body(), |o| {
        o.insert("dataCenterInfo".into(), json!({"name": "Netflix"}));
    });
    assert_eq!(
        register(&v, "orders").unwrap().data_center_info.name,
        DataCenterName::Netflix
    );
    let v = with(body(), |o| {
        o.insert(
            "dataCenterInfo".into(),
            json!({"metadata": {"instance-id": "i-9"}, "@class": "com.netflix.appinfo.AmazonInfo"}),
        );
    });
    let i = register(&v, "orders").unwrap();
    assert_eq!(i.data_center_info.name, DataCenterName::Amazon);
    assert_eq!(i.data_center_info.metadata.get("instance-id"), Some("i-9"));
}

// W-31: a blank Amazon instance-id is back-filled with the derived id.
#[test]
fn w31_amazon_instance_id_backfilled() {
    let v = with(body(), |o| {
        o.insert(
            "dataCenterInfo".into(),
            json!({"@class": "com.netflix.appinfo.AmazonInfo", "name": "Amazon",
                   "metadata": {"instance-id": "", "availability-zone": "us-east-1a"}}),
        );
    });
    let i = register(&v, "orders").unwrap();
    assert_eq!(
        i.data_center_info.metadata.get("instance-id"),
        Some("orders-1.internal:orders:8080")
    );
    assert_eq!(
        i.data_center_info.metadata.get("availability-zone"),
        Some("us-east-1a")
    );
    // Missing metadata entirely: the key is added.
    let v = with(body(), |o| {
        o.remove("instanceId");
        o.insert(
            "dataCenterInfo".into(),
            json!({"@class": "com.netflix.appinfo.AmazonInfo"}),
        );
    });
    let i = register(&v, "orders").unwrap();
    assert_eq!(
        i.data_center_info.metadata.get("instance-id"),
        Some("orders-1.internal")
    );
}

// W-26: port defaults and leniencies.
#[test]
fn w26_port_defaults() {
    let v = with(body(), |o| {
        o.remove("port");
        o.remove("securePort");
    });
    let i = register(&v, "orders").unwrap();
    assert_eq!(i.port, PortWrapper::enabled(7001));
    assert_eq!(i.secure_port, PortWrapper::disabled(7002));

    let v = with(body(), |o| {
        o.insert("port".into(), json!({"$": "8081"}));
        o.insert("securePort".into(), json!({"$": 8443}));
    });
    let i = register(&v, "orders").unwrap();
    assert_eq!(i.port, PortWrapper::enabled(8081));
    assert_eq!(i.secure_port, PortWrapper::disabled(8443));

    // A bare number is accepted leniently (W-26 [IMPL]) and is enabled.
    let v = with(body(), |o| {
        o.insert("port".into(), json!(8080));
        o.insert("securePort".into(), json!({"@enabled": true, "$": 8443}));
    });
    let i = register(&v, "orders").unwrap();
    assert_eq!(i.port, PortWrapper::enabled(8080));
    assert_eq!(i.secure_port, PortWrapper::enabled(8443));

    let v = with(body(), |o| {
        o.insert("port".into(), json!({"$": 70000}));
    });
    match register(&v, "orders") {
        Err(RegisterError::Undecodable(e)) => {
            assert_eq!(e.path(), Some("instance.port.$"), "{e}");
            assert!(e.to_string().contains("out of range"), "{e}");
        }
        other => panic!("expected Undecodable, got {other:?}"),
    }
}

// W-42: metadata values that are objects or arrays make the body undecodable; scalars are
// text.
#[test]
fn w42_nested_metadata_refused() {
    for nested in [json!({"a": 1}), json!([1, 2])] {
        let v = with(body(), |o| {
            o.insert("metadata".into(), json!({"ok": "1", "bad": nested}));
        });
        match register(&v, "orders") {
            Err(RegisterError::Undecodable(e)) => {
                assert_eq!(e.path(), Some("instance.metadata.bad"), "{e}");
                assert!(e.to_string().contains("W-42"), "{e}");
            }
            other => panic!("expected Undecodable, got {other:?}"),
        }
    }
    let v = with(body(), |o| {
        o.insert(
            "metadata".into(),
            json!({"n": 8090, "b": true, "f": 1.5, "nil": null}),
        );
    });
    let i = register(&v, "orders").unwrap();
    assert_eq!(i.metadata.get("n"), Some("8090"));
    assert_eq!(i.metadata.get("b"), Some("true"));
    assert_eq!(i.metadata.get("f"), Some("1.5"));
    assert_eq!(i.metadata.get("nil"), None);
}

// W-43: metadata keys that cannot be XML names are refused.
#[test]
fn w43_metadata_keys_must_be_xml_names() {
    for key in ["has space", "", "a/b", "1st"] {
        let v = with(body(), |o| {
            o.insert("metadata".into(), json!({ key: "v" }));
        });
        assert_eq!(
            invalid(&v, "orders"),
            format!("Invalid metadata key \"{key}\"")
        );
    }
    let v = with(body(), |o| {
        o.insert(
            "metadata".into(),
            json!({"management.port": "1", "my_key": "2", "a$b": "3"}),
        );
    });
    let i = register(&v, "orders").expect("XML-name keys are accepted");
    assert_eq!(i.metadata.len(), 3);
    assert_eq!(i.metadata.get("management.port"), Some("1"));
    assert_eq!(i.metadata.get("my_key"), Some("2"));
    assert_eq!(i.metadata.get("a$b"), Some("3"));
}

// E-03: an id containing '/' is refused.
#[test]
fn e03_slash_in_id_refused() {
    let v = with(body(), |o| {
        o.insert("instanceId".into(), json!("host/1"));
    });
    assert_eq!(
        invalid(&v, "orders"),
        "Invalid instanceId host/1: must not contain '/'"
    );
}

// W-06: the `instance` wrapper is required.
#[test]
fn w06_unwrapped_body_is_undecodable() {
    let bare = serde_json::to_vec(&body()["instance"]).unwrap();
    match codec::decode_register(&bare, Format::Json, "orders") {
        Err(RegisterError::Undecodable(e)) => {
            assert!(e.to_string().contains("missing field `instance`"), "{e}")
        }
        other => panic!("expected Undecodable, got {other:?}"),
    }
    for junk in [
        &b""[..],
        b"not json",
        b"[]",
        b"{\"instance\":",
        b"{\"instance\":42}",
    ] {
        assert!(matches!(
            codec::decode_register(junk, Format::Json, "orders"),
            Err(RegisterError::Undecodable(_))
        ));
    }
}

// W-22, W-53: nulls are absent everywhere, unknown keys (with nested values) ignored,
// app names upper-cased, lastDirtyTimestamp defaults to 0.
#[test]
fn w22_nulls_unknown_keys_and_defaults() {
    let v = with(body(), |o| {
        o.insert("appGroupName".into(), json!("group-x"));
        o.insert("asgName".into(), Value::Null);
        o.insert("actionType".into(), Value::Null);
        o.insert("sid".into(), Value::Null);
        o.insert("futureField".into(), json!({"deep": [1, {"x": null}]}));
        o.insert("leaseInfo".into(), Value::Null);
        o.insert("metadata".into(), Value::Null);
        o.remove("lastDirtyTimestamp");
    });
    let i = register(&v, "orders").unwrap();
    assert_eq!(i.app_group_name.as_deref(), Some("GROUP-X"));
    assert_eq!(i.asg_name, None);
    assert_eq!(i.action_type, None);
    assert_eq!(i.sid, None);
    assert_eq!(i.last_dirty_timestamp, 0);
    assert!(i.metadata.is_empty());
    assert_eq!(i.lease_info.duration_in_secs, 90);
}

// W-02: XML register bodies, with the XML reader's rules (case-insensitive status).
#[test]
fn w02_xml_register_body() {
    let mut inst = InstanceInfo::builder("orders")
        .host_name("o1")
        .ip_addr("10.0.0.1")
        .build();
    inst.last_dirty_timestamp = 1700000000000;
    let xml = encode_inst(&inst, Format::Xml);
    assert_eq!(
        codec::decode_register(&xml, Format::Xml, "ORDERS").unwrap(),
        inst
    );

    let lower = text(&xml).replace("<status>UP</status>", "<status>up</status>");
    let i = codec::decode_register(lower.as_bytes(), Format::Xml, "orders").unwrap();
    assert_eq!(i.status, Status::Up);

    let bad = text(&xml).replace("<status>UP</status>", "<status>SOMETHING</status>");
    match codec::decode_register(bad.as_bytes(), Format::Xml, "orders") {
        Err(RegisterError::Invalid(m)) => assert_eq!(m, "Unknown status SOMETHING"),
        other => panic!("{other:?}"),
    }
    let no_ip = text(&xml).replace("<ipAddr>10.0.0.1</ipAddr>", "");
    match codec::decode_register(no_ip.as_bytes(), Format::Xml, "orders") {
        Err(RegisterError::Invalid(m)) => assert_eq!(m, "Missing ip address"),
        other => panic!("{other:?}"),
    }
    let nested = text(&xml).replace(
        "<metadata class=\"java.util.Collections$EmptyMap\"/>",
        "<metadata><k><x>1</x></k></metadata>",
    );
    match codec::decode_register(nested.as_bytes(), Format::Xml, "orders") {
        Err(RegisterError::Undecodable(e)) => {
            assert_eq!(e.path(), Some("instance.metadata.k"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}
