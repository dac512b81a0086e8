//! The tolerant reader's rules, one requirement at a time (W-22..W-82), and its errors.

use tower_eureka::codec::{self, Format};
use tower_eureka::model::{ActionType, DataCenterName, PortWrapper, Status};

fn inst(json: &str) -> tower_eureka::model::InstanceInfo {
    let doc = format!(r#"{{"instance":{json}}}"#);
    codec::decode_instance(doc.as_bytes(), Format::Json).unwrap_or_else(|e| panic!("{e}"))
}

fn xml_inst(body: &str) -> tower_eureka::model::InstanceInfo {
    let doc = format!("<instance>{body}</instance>");
    codec::decode_instance(doc.as_bytes(), Format::Xml).unwrap_or_else(|e| panic!("{e}"))
}

// W-51: both spellings; the last one in document order wins; null does not clobber.
#[test]
fn w51_overridden_status_spellings() {
    let i = inst(r#"{"overriddenstatus":"DOWN","overriddenStatus":"OUT_OF_SERVICE"}"#);
    assert_eq!(i.overridden_status, Status::OutOfService);
    let i = inst(r#"{"overriddenStatus":"OUT_OF_SERVICE","overriddenstatus":"DOWN"}"#);
    assert_eq!(i.overridden_status, Status::Down);
    let i = inst(r#"{"overriddenStatus":"DOWN","overriddenstatus":null}"#);
    assert_eq!(i.overridden_status, Status::Down);
    assert_eq!(
        xml_inst("<overriddenStatus>DOWN</overriddenStatus>").overridden_status,
        Status::Down
    );
    assert_eq!(
        xml_inst("<overriddenstatus>down</overriddenstatus>").overridden_status,
        Status::Down
    );
}

// W-52: JSON status matching is case-sensitive; XML is not; unknown actionType is absent.
#[test]
fn w52_status_case_and_unknown_action() {
    assert_eq!(inst(r#"{"status":"up"}"#).status, Status::Unknown);
    assert_eq!(inst(r#"{"status":"STARTING"}"#).status, Status::Starting);
    assert_eq!(
        xml_inst("<status>Starting</status>").status,
        Status::Starting
    );
    assert_eq!(xml_inst("<status>NEW</status>").status, Status::Unknown);
    assert_eq!(inst(r#"{"actionType":"REMOVED"}"#).action_type, None);
    assert_eq!(
        xml_inst("<actionType>DELETED</actionType>").action_type,
        Some(ActionType::Deleted)
    );
    // Client side: an unknown data-center name keeps the instance as MyOwn.
    let i = inst(r#"{"dataCenterInfo":{"@class":"x","name":"Mars"}}"#);
    assert_eq!(i.data_center_info.name, DataCenterName::MyOwn);
}

// W-56, W-82: numbers as strings and strings as numbers, booleans as strings.
#[test]
fn w56_string_number_forms() {
    let i = inst(
        r#"{"port":{"@enabled":true,"$":"8080"},"countryId":"2","isCoordinatingDiscoveryServer":true,
            "lastUpdatedTimestamp":1700000000000,"lastDirtyTimestamp":"1699999999999",
            "leaseInfo":{"durationInSecs":"60","registrationTimestamp":"5"},
            "metadata":{"n":8090,"b":false}}"#,
    );
    assert_eq!(i.port, PortWrapper::enabled(8080));
    assert_eq!(i.country_id, 2);
    assert!(i.is_coordinating_discovery_server);
    assert_eq!(i.last_updated_timestamp, 1700000000000);
    assert_eq!(i.last_dirty_timestamp, 1699999999999);
    assert_eq!(i.lease_info.duration_in_secs, 60);
    assert_eq!(i.lease_info.registration_timestamp, 5);
    assert_eq!(i.metadata.get("n"), Some("8090"));
    assert_eq!(i.metadata.get("b"), Some("false"));
    let apps =
        codec::decode_applications(br#"{"applications":{"versions__delta":7}}"#, Format::Json)
            .unwrap();
    assert_eq!(apps.versions_delta, 7);
    let apps =
        codec::decode_applications(br#"{"applications":{"versions__delta":"x"}}"#, Format::Json)
            .unwrap();
    assert_eq!(apps.versions_delta, -1);
}

// W-26, W-76: port defaults; XML `enabled` rules differ for port and securePort.
#[test]
fn w76_port_enabled_rules() {
    let i = inst(r#"{"port":{"$":1},"securePort":{"$":2}}"#);
    assert_eq!(
        (i.port, i.secure_port),
        (PortWrapper::enabled(1), PortWrapper::disabled(2))
    );
    let i = inst("{}");
    assert_eq!(
        (i.port, i.secure_port),
        (PortWrapper::enabled(7001), PortWrapper::disabled(7002))
    );
    let i = xml_inst(r#"<port enabled="yes">1</port><securePort enabled="yes">2</securePort>"#);
    assert_eq!(
        (i.port, i.secure_port),
        (PortWrapper::enabled(1), PortWrapper::disabled(2))
    );
    let i = xml_inst(r#"<port enabled="false">1</port><securePort enabled="true">2</securePort>"#);
    assert_eq!(
        (i.port, i.secure_port),
        (PortWrapper::disabled(1), PortWrapper::enabled(2))
    );
}

// W-28: renewalTimestamp alias; intervals <= 0 become the defaults.
#[test]
fn w28_lease_alias_and_defaults() {
    let i = inst(
        r#"{"leaseInfo":{"renewalIntervalInSecs":0,"durationInSecs":-5,"renewalTimestamp":42}}"#,
    );
    assert_eq!(i.lease_info.renewal_interval_in_secs, 30);
    assert_eq!(i.lease_info.duration_in_secs, 90);
    assert_eq!(i.lease_info.last_renewal_timestamp, 42);
    let i = xml_inst("<leaseInfo><renewalTimestamp>43</renewalTimestamp><durationInSecs>0</durationInSecs></leaseInfo>");
    assert_eq!(i.lease_info.last_renewal_timestamp, 43);
    assert_eq!(i.lease_info.duration_in_secs, 90);
}

// W-41: @class is always dropped from metadata; `class` only when it is the marker.
#[test]
fn w41_metadata_class_keys() {
    let i = inst(r#"{"metadata":{"@class":"java.util.Collections$EmptyMap"}}"#);
    assert!(i.metadata.is_empty());
    let i = inst(
        r#"{"metadata":{"a":"1","@class":"whatever","class":"java.util.Collections$EmptyMap"}}"#,
    );
    assert_eq!(i.metadata.iter().collect::<Vec<_>>(), [("a", "1")]);
    let i = inst(r#"{"metadata":{"class":"kept"}}"#);
    assert_eq!(i.metadata.get("class"), Some("kept"));
    let i = xml_inst(r#"<metadata class="java.util.Collections$EmptyMap"/>"#);
    assert!(i.metadata.is_empty());
    let i = xml_inst("<metadata><my__key>v</my__key><a_-b>w</a_-b></metadata>");
    assert_eq!(i.metadata.get("my_key"), Some("v"));
    assert_eq!(i.metadata.get("a$b"), Some("w"));
}

// W-42 (client side): nested metadata values are skipped, the rest is kept.
#[test]
fn w42_client_skips_nested_metadata() {
    let i = inst(r#"{"metadata":{"a":{"x":[1,2]},"b":"2","c":[{"y":1}]}}"#);
    assert_eq!(i.metadata.iter().collect::<Vec<_>>(), [("b", "2")]);
    let i = xml_inst("<metadata><a><x>1</x></a><b>2</b></metadata>");
    assert_eq!(i.metadata.iter().collect::<Vec<_>>(), [("b", "2")]);
}

// W-53: unknown keys at every level are ignored, nested values skipped whole.
#[test]
fn w53_unknown_keys_everywhere() {
    let doc = br#"{"extra":[1,{"a":2}],"applications":{"x":{"y":[]},"application":[{"z":1,
        "name":"a","instance":[{"hostName":"h","q":{"w":[1,2,{"e":null}]},"port":{"$":5,"extra":1},
        "leaseInfo":{"bogus":true,"durationInSecs":10},"dataCenterInfo":{"foo":"bar","name":"Amazon"}}]}],
        "versions__delta":"3","apps__hashcode":"UP_1_"},"after":true}"#;
    let apps = codec::decode_applications(doc, Format::Json).unwrap();
    assert_eq!(apps.versions_delta, 3);
    let a = &apps.applications[0];
    assert_eq!(a.name, "A");
    let i = &a.instances[0];
    assert_eq!(i.host_name, "h");
    assert_eq!(i.port.port, 5);
    assert_eq!(i.lease_info.duration_in_secs, 10);
    assert_eq!(i.data_center_info.name, DataCenterName::Amazon);

    let xml = br#"<?xml version="1.0"?><!-- c --><applications><x><y/></x><application><z>1</z>
        <name>a</name><instance><hostName>h</hostName><q><w>1</w></q></instance></application>
        </applications>"#;
    let apps = codec::decode_applications(xml, Format::Xml).unwrap();
    assert_eq!(apps.applications[0].name, "A");
    assert_eq!(apps.applications[0].instances[0].host_name, "h");
    assert_eq!(apps.versions_delta, -1);
    assert_eq!(apps.apps_hashcode, None);
}

// W-81: single objects for lists; null lists are empty; a missing app name falls back to
// the instances' app.
#[test]
fn w81_single_objects_and_nulls() {
    let doc = br#"{"applications":{"application":{"instance":{"app":"solo","hostName":"h"}}}}"#;
    let apps = codec::decode_applications(doc, Format::Json).unwrap();
    assert_eq!(apps.applications[0].name, "SOLO");
    assert_eq!(apps.applications[0].instances[0].app, "SOLO");
    let doc = br#"{"applications":{"application":null}}"#;
    assert!(codec::decode_applications(doc, Format::Json)
        .unwrap()
        .applications
        .is_empty());
    let doc = br#"{"application":{"name":"x","instance":[]}}"#;
    assert!(codec::decode_application(doc, Format::Json)
        .unwrap()
        .instances
        .is_empty());
}

// W-04: any valid JSON is read: whitespace, \/ and \u escapes.
#[test]
fn w04_escapes_read() {
    let i = inst(r#" { "hostName" : "a\/b\u00e9\ud83d\ude00\n" } "#);
    assert_eq!(i.host_name, "a/bé😀\n");
    let i = xml_inst("<hostName>a&amp;b&#x41;&#66;<![CDATA[<c>]]>&lt;&apos;</hostName>");
    assert_eq!(i.host_name, "a&bAB<c><'");
}

// The errors say what and where: path and line/column (hyper-style opaque error).
#[test]
fn decode_errors_locate_the_problem() {
    let doc = b"{\"instance\":{\n  \"hostName\":\"h\",\n  \"port\":{\"$\":\"eighty\"}}}";
    let e = codec::decode_instance(doc, Format::Json).unwrap_err();
    assert!(e.is_data());
    assert_eq!(e.path(), Some("instance.port.$"));
    assert_eq!(e.line(), Some(3));
    assert!(e.column().is_some());
    let msg = e.to_string();
    assert!(
        msg.contains("instance.port.$") && msg.contains("line 3") && msg.contains("eighty"),
        "{msg}"
    );

    let doc = br#"{"applications":{"application":[{"name":"A","instance":[{"hostName":"h"},{"leaseInfo":{"durationInSecs":"x"}}]}]}}"#;
    let e = codec::decode_applications(doc, Format::Json).unwrap_err();
    assert_eq!(
        e.path(),
        Some("applications.application[0].instance[1].leaseInfo.durationInSecs")
    );

    let e = codec::decode_applications(b"{\"applications\":{\"application\":[", Format::Json)
        .unwrap_err();
    assert!(e.is_syntax());
    assert_eq!((e.line(), e.column()), (Some(1), Some(32)));

    let xml = b"<instance>\n  <port>99999</port>\n</instance>";
    let e = codec::decode_instance(xml, Format::Xml).unwrap_err();
    assert_eq!(e.path(), Some("instance.port"));
    assert_eq!(e.line(), Some(2));
    assert!(e.to_string().contains("out of range"), "{e}");

    let xml = b"<instance>\n  <hostName>h</hostNam>\n</instance>";
    let e = codec::decode_instance(xml, Format::Xml).unwrap_err();
    assert!(e.is_syntax(), "{e}");
    assert_eq!(e.line(), Some(2));
    assert!(e.to_string().starts_with("malformed XML"), "{e}");
}
