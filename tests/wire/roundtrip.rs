//! Round trips: model -> bytes -> model keeps every field, in both formats, and both
//! formats decode to the same model.

use crate::support::*;
use tower_eureka::codec::{self, json, xml, Accept, Format};
use tower_eureka::model::{
    Application, Applications, DataCenterInfo, DataCenterName, InstanceInfo, Metadata, Status,
};

fn registry() -> Applications {
    let mut plain = InstanceInfo::builder("plain").host_name("p1").build();
    plain.instance_id = None;
    plain.secure_vip_address = None;
    let mut netflix = InstanceInfo::builder("plain")
        .host_name("p2")
        .status(Status::Down)
        .build();
    netflix.data_center_info.name = DataCenterName::Netflix;
    let starting = InstanceInfo::builder("other")
        .status(Status::Starting)
        .build();
    Applications::from_instances([rich_instance(), plain, netflix, starting])
}

// W-10..W-17, W-70..W-75: JSON -> model -> JSON and XML -> model -> XML keep every field,
// and JSON and XML decode to the same model.
#[test]
fn w10_w70_applications_round_trip_both_formats() {
    let apps = registry();
    for format in [Format::Json, Format::Xml] {
        let bytes = encode_apps(&apps, format);
        let back = codec::decode_applications(&bytes, format)
            .unwrap_or_else(|e| panic!("{format:?}: {e}\n{}", text(&bytes)));
        assert_eq!(back, apps, "{format:?}");
        assert_eq!(encode_apps(&back, format), bytes, "{format:?} is stable");
    }
    let from_json = codec::decode_applications(&encode_apps(&apps, Format::Json), Format::Json);
    let from_xml = codec::decode_applications(&encode_apps(&apps, Format::Xml), Format::Xml);
    assert_eq!(from_json.unwrap(), from_xml.unwrap());
}

#[test]
fn w06_single_application_and_instance_round_trip() {
    let apps = registry();
    for format in [Format::Json, Format::Xml] {
        for app in &apps.applications {
            let mut out = Vec::new();
            codec::encode_application(app, format, Accept::Full, &mut out);
            assert_eq!(&codec::decode_application(&out, format).unwrap(), app);
        }
        for inst in apps.instances() {
            let out = encode_inst(inst, format);
            assert_eq!(
                &codec::decode_instance(&out, format).unwrap(),
                inst,
                "{format:?}"
            );
        }
    }
    // Wrappers are per document type (W-06).
    let out = encode_inst(&rich_instance(), Format::Json);
    assert!(codec::decode_application(&out, Format::Json).is_err());
    let out = encode_inst(&rich_instance(), Format::Xml);
    let err = codec::decode_applications(&out, Format::Xml).unwrap_err();
    assert!(err
        .to_string()
        .contains("expected root element <applications>, found <instance>"));
}

// W-14 .. W-16: exact key order, string-typed trailing fields, no nulls, optional fields
// omitted (sid `na`/`unknown`, actionType none).
#[test]
fn w14_key_order_and_types() {
    let out = encode_inst(&rich_instance(), Format::Json);
    let s = text(&out);
    let keys = [
        "instanceId",
        "hostName",
        "app",
        "ipAddr",
        "sid",
        "status",
        "overriddenStatus",
        "port",
        "securePort",
        "countryId",
        "dataCenterInfo",
        "leaseInfo",
        "metadata",
        "appGroupName",
        "homePageUrl",
        "statusPageUrl",
        "healthCheckUrl",
        "secureHealthCheckUrl",
        "vipAddress",
        "secureVipAddress",
        "isCoordinatingDiscoveryServer",
        "lastUpdatedTimestamp",
        "lastDirtyTimestamp",
        "actionType",
        "asgName",
    ];
    let mut at = 0;
    for k in keys {
        let needle = format!(",\"{k}\":");
        let pos = s[at..]
            .find(&needle)
            .or_else(|| s[at..].find(&format!("{{\"{k}\":")))
            .unwrap_or_else(|| panic!("{k} after offset {at} in {s}"));
        at += pos + 1;
    }
    assert!(s.contains(r#""countryId":44,"#));
    assert!(s.contains(r#""isCoordinatingDiscoveryServer":"true","lastUpdatedTimestamp":"1700000000321","lastDirtyTimestamp":"1699999999123","actionType":"MODIFIED","asgName":"rich-v007"}"#));
    assert!(s.contains(r#""leaseInfo":{"renewalIntervalInSecs":15,"durationInSecs":45,"registrationTimestamp":1700000000000,"#));
    assert!(s.contains(
        r#""port":{"$":9000,"@enabled":"false"},"securePort":{"$":9443,"@enabled":"true"}"#
    ));
    assert!(!s.contains("null"));

    let mut bare = rich_instance();
    bare.sid = Some("na".into());
    bare.action_type = None;
    bare.asg_name = None;
    bare.app_group_name = None;
    let s = String::from_utf8(encode_inst(&bare, Format::Json)).unwrap();
    assert!(!s.contains("\"sid\""));
    assert!(!s.contains("actionType"));
    assert!(!s.contains("asgName"));
    assert!(!s.contains("appGroupName"));
    bare.sid = Some("unknown".into());
    assert!(!text(&encode_inst(&bare, Format::Json)).contains("\"sid\""));
    assert!(!text(&encode_inst(&bare, Format::Xml)).contains("<sid>"));
}

// W-30, W-33: never emit an unknown @class or non-Amazon metadata.
#[test]
fn w33_only_known_classes_emitted() {
    let mut i = InstanceInfo::builder("a").build();
    i.data_center_info = DataCenterInfo {
        name: DataCenterName::MyOwn,
        class: Some("com.example.Custom".into()),
        metadata: [("k", "v")].into_iter().collect(),
    };
    for format in [Format::Json, Format::Xml] {
        let out = encode_inst(&i, format);
        assert!(!text(&out).contains("Custom"), "{format:?}");
        assert!(text(&out).contains("com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"));
        assert!(!text(&out).contains("\"k\""));
        assert!(!text(&out).contains("<k>"));
    }
    let json = text(&encode_inst(&i, Format::Json)).to_owned();
    assert!(json.contains(r#""dataCenterInfo":{"@class":"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo","name":"MyOwn"},"#));
    // An unknown class read from the wire is kept as data (W-32 client side).
    let doc =
        br#"{"instance":{"hostName":"h","dataCenterInfo":{"@class":"x.Y","name":"Netflix"}}}"#;
    let back = codec::decode_instance(doc, Format::Json).unwrap();
    assert_eq!(back.data_center_info.class.as_deref(), Some("x.Y"));
    assert_eq!(back.data_center_info.name, DataCenterName::Netflix);
}

// W-13: applications without instances are never emitted in an Applications body.
#[test]
fn w13_empty_applications_left_out() {
    let mut apps = registry();
    apps.applications.insert(0, Application::new("ghost"));
    apps.applications.push(Application::new("ghost2"));
    for format in [Format::Json, Format::Xml] {
        for accept in [Accept::Full, Accept::Compact] {
            let mut out = Vec::new();
            codec::encode_applications(&apps, format, accept, &mut out);
            assert!(!text(&out).contains("GHOST"), "{format:?} {accept:?}");
            let back = codec::decode_applications(&out, format).unwrap();
            assert_eq!(back.applications.len(), 3);
        }
    }
    // JSON stays valid when the first and last apps are dropped.
    let out = encode_apps(&apps, Format::Json);
    serde_json::from_slice::<serde_json::Value>(&out).unwrap();
}

// W-80: application and instance are arrays even with one element.
#[test]
fn w80_lists_are_always_arrays() {
    let apps = Applications::from_instances([InstanceInfo::builder("solo").build()]);
    let out = encode_apps(&apps, Format::Json);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(v["applications"]["application"].is_array());
    assert!(v["applications"]["application"][0]["instance"].is_array());
}

// W-74: metadata keys with `_` and `$` travel as `__` and `_-` in XML and come back.
#[test]
fn w74_metadata_names_in_xml() {
    let out = encode_inst(&rich_instance(), Format::Xml);
    let s = text(&out);
    assert!(s.contains("<my__key>under_score</my__key>"));
    assert!(s.contains("<dollar_-key>d</dollar_-key>"));
    assert!(s.contains("<management.port>9001</management.port>"));
    assert!(s.contains("<empty></empty>"));
    let back = codec::decode_instance(&out, Format::Xml).unwrap();
    assert_eq!(back.metadata, rich_instance().metadata);

    // Keys a client could hold that are not XML names still produce well-formed XML.
    let mut odd = InstanceInfo::builder("a")
        .metadata("has space", "1")
        .metadata("", "x")
        .build();
    odd.metadata.insert("9lives", "2");
    let out = encode_inst(&odd, Format::Xml);
    let back = codec::decode_instance(&out, Format::Xml).unwrap();
    let expected: Metadata = [("has space", "1"), ("9lives", "2")].into_iter().collect();
    assert_eq!(back.metadata, expected);
}

// W-75: text escaping survives the round trip and the layout has no declaration.
#[test]
fn w75_escaping_round_trip() {
    let out = encode_inst(&rich_instance(), Format::Xml);
    let s = text(&out);
    assert!(s.starts_with("<instance>\n  <instanceId>"));
    assert!(!s.contains("<?xml"));
    assert!(s.contains("a &quot;quoted&quot; &lt;tag&gt; &amp; &apos;apos&apos;"));
    assert!(s.contains("info?a=1&amp;b=2"));
    assert!(!s.ends_with('\n'));
}

// json::write_instance_object / xml::write_instance are the building blocks of the
// documents (replication uses the bare JSON object).
#[test]
fn p13_lower_level_writers_compose() {
    let inst = rich_instance();
    let mut bare = Vec::new();
    json::write_instance_object(&inst, &mut bare);
    let doc = encode_inst(&inst, Format::Json);
    assert_eq!(doc, [b"{\"instance\":".as_slice(), &bare, b"}"].concat());
    assert_eq!(json::read_instance_object(&bare).unwrap(), inst);

    let mut nested = Vec::new();
    xml::write_instance(&inst, 2, &mut nested);
    let s = text(&nested);
    assert!(s.starts_with("    <instance>\n      <instanceId>"));
    assert!(s.ends_with("\n    </instance>"));
    assert_eq!(codec::decode_instance(&nested, Format::Xml).unwrap(), inst);
}
