//! Every captured and derived fixture, parsed with its fields checked (spec Appendix A).

use crate::support::*;
use tower_eureka::codec::{self, json, Accept, Format, RegisterError};
use tower_eureka::model::{
    ActionType, DataCenterName, InstanceInfo, LeaseInfo, PortWrapper, Status,
};

/// A JSON `Applications` fixture, decoded.
fn json_apps(raw: &[u8]) -> tower_eureka::model::Applications {
    codec::decode_applications(raw, Format::Json).unwrap_or_else(|e| panic!("{e}"))
}

/// The single instance of a one-app, one-instance registry.
fn only(apps: &tower_eureka::model::Applications) -> &InstanceInfo {
    assert_eq!(apps.applications.len(), 1);
    assert_eq!(apps.applications[0].instances.len(), 1);
    &apps.applications[0].instances[0]
}

// W-10..W-17, C-30: the legacy JSON shape Java servers emit; re-serialising gives the same
// bytes modulo whitespace.
#[test]
fn w10_steeltoe_full_registry_fields_and_reencode() {
    let raw =
        fixture("captured/steeltoe__EurekaDiscoveryClientTest__FooAddedJson__full-registry.json");
    let apps = codec::decode_applications(&raw, Format::Json).unwrap();
    assert_eq!(apps.versions_delta, 1);
    assert_eq!(apps.apps_hashcode.as_deref(), Some("UP_1_"));
    assert_eq!(apps.applications[0].name, "FOO");
    let i = only(&apps);
    assert_eq!(i.instance_id.as_deref(), Some("localhost:foo"));
    assert_eq!(i.id(), "localhost:foo");
    assert_eq!(i.host_name, "localhost");
    assert_eq!(i.app, "FOO");
    assert_eq!(i.ip_addr, "192.168.56.1");
    assert_eq!(i.status, Status::Up);
    assert_eq!(i.overridden_status, Status::Unknown);
    assert_eq!(i.port, PortWrapper::enabled(8080));
    assert_eq!(i.secure_port, PortWrapper::disabled(443));
    assert_eq!(i.country_id, 1);
    assert_eq!(i.data_center_info.name, DataCenterName::MyOwn);
    assert_eq!(
        i.lease_info,
        LeaseInfo {
            renewal_interval_in_secs: 30,
            duration_in_secs: 90,
            registration_timestamp: 1457714988223,
            last_renewal_timestamp: 1457716158319,
            eviction_timestamp: 0,
            service_up_timestamp: 1457714988223,
        }
    );
    assert!(i.metadata.is_empty());
    assert_eq!(i.home_page_url.as_deref(), Some("http://localhost:8080/"));
    assert_eq!(
        i.status_page_url.as_deref(),
        Some("http://localhost:8080/info")
    );
    assert_eq!(
        i.health_check_url.as_deref(),
        Some("http://localhost:8080/health")
    );
    assert_eq!(i.vip_address.as_deref(), Some("foo"));
    assert_eq!(i.secure_vip_address, None);
    assert!(!i.is_coordinating_discovery_server);
    assert_eq!(i.last_updated_timestamp, 1457714988223);
    assert_eq!(i.last_dirty_timestamp, 1457714988172);
    assert_eq!(i.action_type, Some(ActionType::Added));
    assert_eq!(apps.compute_hashcode(), "UP_1_");

    let out = encode_apps(&apps, Format::Json);
    assert_eq!(text(&out), minify(text(&raw)));
}

// W-64, C-21, C-22: the legacy delta; applied over the full registry it keeps the hash.
#[test]
fn w64_steeltoe_delta_modified() {
    let full = json_apps(&fixture(
        "captured/steeltoe__EurekaDiscoveryClientTest__FooAddedJson__full-registry.json",
    ));
    let delta = json_apps(&fixture(
        "captured/steeltoe__EurekaDiscoveryClientTest__FooModifiedJson__delta-modified.json",
    ));
    assert_eq!(delta.versions_delta, 3);
    assert_eq!(delta.apps_hashcode.as_deref(), Some("UP_1_"));
    let d = only(&delta);
    assert_eq!(d.host_name, "modified-host");
    assert_eq!(d.action_type, Some(ActionType::Modified));
    assert_eq!(d.id(), only(&full).id());
    // Upsert by id, as a client merges a MODIFIED entry.
    let mut merged = full.clone();
    merged.applications[0].instances[0] = d.clone();
    assert_eq!(
        merged.compute_hashcode(),
        delta.apps_hashcode.clone().unwrap()
    );
    assert_eq!(only(&merged).host_name, "modified-host");
    let out = encode_apps(&delta, Format::Json);
    assert_eq!(
        text(&out),
        minify(text(&fixture(
            "captured/steeltoe__EurekaDiscoveryClientTest__FooModifiedJson__delta-modified.json"
        )))
    );
}

// W-20, W-21, W-56, C-24: the Jackson shape with native booleans and numbers, AmazonInfo,
// and no versions__delta / apps__hashcode.
#[test]
fn w21_iep_ec2_jackson_shape() {
    let apps = json_apps(&fixture(
        "captured/netflix-iep__iep-servergroups__eureka-ec2.json",
    ));
    assert_eq!(apps.versions_delta, -1);
    assert_eq!(apps.apps_hashcode, None);
    let i = only(&apps);
    assert_eq!(i.id(), "i-1234567890");
    assert_eq!(i.app, "APP");
    assert_eq!(i.app_group_name.as_deref(), Some("UNKNOWN"));
    assert_eq!(i.ip_addr, "10.20.30.40");
    assert_eq!(i.sid, None, "sid `na` is the default");
    assert_eq!(i.vip_address.as_deref(), Some("app-main:7001"));
    assert_eq!(i.host_name, "10.20.30.40");
    assert_eq!(i.port, PortWrapper::enabled(7101));
    assert_eq!(i.secure_port, PortWrapper::disabled(7102));
    assert!(!i.is_coordinating_discovery_server);
    assert_eq!(i.last_updated_timestamp, 1551379716423);
    assert_eq!(i.last_dirty_timestamp, 1551379715718);
    assert_eq!(i.lease_info.last_renewal_timestamp, 1551934330011);
    assert_eq!(i.asg_name.as_deref(), Some("app-main-v001"));
    assert_eq!(i.action_type, Some(ActionType::Added));
    assert!(i.metadata.is_empty());
    let dci = &i.data_center_info;
    assert_eq!(dci.name, DataCenterName::Amazon);
    assert_eq!(dci.class, None);
    assert_eq!(dci.metadata.len(), 10);
    assert_eq!(
        dci.metadata.iter().next(),
        Some(("mac", "0a:0b:0c:0d:0e:0f"))
    );
    assert_eq!(dci.metadata.get("accountId"), Some("12345"));
    assert_eq!(i.zone(), Some("us-east-1d"));
}

// W-60, C-26: one UP and one STARTING instance.
#[test]
fn w60_iep_nimble_hash() {
    let apps = json_apps(&fixture(
        "captured/netflix-iep__iep-servergroups__eureka-nimble.json",
    ));
    assert_eq!(apps.compute_hashcode(), "STARTING_1_UP_1_");
    let app = &apps.applications[0];
    assert_eq!(app.instances.len(), 2);
    let up: Vec<_> = app
        .instances
        .iter()
        .filter(|i| i.status == Status::Up)
        .collect();
    assert_eq!(up.len(), 1);
    assert_eq!(up[0].id(), "i-0001");
    assert_eq!(app.instances[1].status, Status::Starting);
    assert_eq!(
        app.instances[1].vip_address.as_deref(),
        Some("app-main-dev:7002")
    );
}

// W-52: an unknown status reads as UNKNOWN and is never re-emitted.
#[test]
fn w52_iep_unknown_status() {
    let apps = json_apps(&fixture(
        "captured/netflix-iep__iep-servergroups__eureka-unknown-status.json",
    ));
    assert_eq!(only(&apps).status, Status::Unknown);
    for format in [Format::Json, Format::Xml] {
        let out = encode_apps(&apps, format);
        assert!(!text(&out).contains("SOME_NEW_STATUS"));
        assert!(text(&out).contains("UNKNOWN"));
    }
}

// R-01: no instanceId; the id falls back to the Amazon instance-id.
#[test]
fn r01_iep_no_id() {
    let apps = json_apps(&fixture(
        "captured/netflix-iep__iep-servergroups__eureka-no-id.json",
    ));
    let i = only(&apps);
    assert_eq!(i.instance_id, None);
    assert_eq!(i.id(), "i-1234567890");
    assert_eq!(
        i.data_center_info.metadata.get("local-ipv4"),
        Some("10.20.30.42")
    );
    // No instanceId key is invented on output.
    assert!(!text(&encode_apps(&apps, Format::Json)).contains("instanceId"));
}

// R-01, W-31, E-10: Amazon without metadata and no ipAddr: parses with id = hostName, and
// the same record as a register body is refused with "Missing ip address".
#[test]
fn e10_iep_invalid_parses_but_is_not_registrable() {
    let raw = fixture("captured/netflix-iep__iep-servergroups__eureka-invalid.json");
    let apps = codec::decode_applications(&raw, Format::Json).unwrap();
    let i = only(&apps);
    assert_eq!(i.id(), "10.20.30.40");
    assert_eq!(i.ip_addr, "");
    assert_eq!(i.data_center_info.name, DataCenterName::Amazon);
    assert!(i.data_center_info.metadata.is_empty());

    let doc: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    let body =
        serde_json::json!({ "instance": doc["applications"]["application"][0]["instance"][0] });
    let body = serde_json::to_vec(&body).unwrap();
    match codec::decode_register(&body, Format::Json, "app") {
        Err(RegisterError::Invalid(msg)) => assert_eq!(msg, "Missing ip address"),
        other => panic!("expected Missing ip address, got {other:?}"),
    }
}

// W-61, R-01: two apps sharing an instance id count twice.
#[test]
fn w61_iep_dup_hash() {
    let apps = json_apps(&fixture(
        "captured/netflix-iep__iep-servergroups__eureka-dup.json",
    ));
    assert_eq!(apps.applications.len(), 2);
    assert_eq!(apps.applications[0].name, "APP");
    assert_eq!(apps.applications[1].name, "APP2");
    assert_eq!(
        apps.applications[0].instances[0].id(),
        apps.applications[1].instances[0].id()
    );
    assert_eq!(apps.compute_hashcode(), "UP_2_");
}

// W-31: unknown Amazon metadata keys (ipv6) are kept, in order, and re-emitted.
#[test]
fn w31_iep_ip_keeps_ipv6() {
    let apps = json_apps(&fixture(
        "captured/netflix-iep__iep-servergroups__eureka-ip.json",
    ));
    let m = &only(&apps).data_center_info.metadata;
    assert_eq!(m.get("ipv6"), Some("::ffff:a14:1e2a"));
    assert_eq!(m.iter().last(), Some(("ipv6", "::ffff:a14:1e2a")));
    assert!(text(&encode_apps(&apps, Format::Json)).contains(r#""ipv6":"::ffff:a14:1e2a"}"#));
    let xml = encode_apps(&apps, Format::Xml);
    assert!(text(&xml).contains("<ipv6>::ffff:a14:1e2a</ipv6>"));
}

// W-70..W-76, W-62: the XStream XML a Spring server serves; 2 apps x 2 instances, UP_4_,
// metadata keys with '.', and the writer reproduces the layout byte for byte.
#[test]
fn w70_prometheus_xml_fields_and_layout() {
    let raw = fixture(
        "captured/prometheus__discovery-eureka-client_test__TestFetchApps__applications.xml",
    );
    let apps = codec::decode_applications(&raw, Format::Xml).unwrap();
    assert_eq!(apps.versions_delta, 1);
    assert_eq!(apps.apps_hashcode.as_deref(), Some("UP_4_"));
    assert_eq!(apps.compute_hashcode(), "UP_4_");
    let names: Vec<_> = apps.applications.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["CONFIG-SERVICE", "META-SERVICE"]);
    assert!(apps.applications.iter().all(|a| a.instances.len() == 2));

    let c1 = &apps.applications[0].instances[0];
    assert_eq!(c1.id(), "config-service001.test.com:config-service:8080");
    assert_eq!(c1.ip_addr, "192.133.83.31");
    assert_eq!(c1.overridden_status, Status::Unknown);
    assert_eq!(c1.port, PortWrapper::enabled(8080));
    assert_eq!(c1.secure_port, PortWrapper::disabled(8080));
    assert_eq!(c1.lease_info.service_up_timestamp, 1547190033103);
    assert_eq!(
        c1.metadata.get("instanceId"),
        Some("config-service001.test.com:config-service:8080")
    );
    assert_eq!(
        c1.health_check_url.as_deref(),
        Some("http://config-service001.test.com 8080/health")
    );
    assert_eq!(c1.secure_vip_address, None);
    assert_eq!(c1.action_type, Some(ActionType::Added));

    let m2 = &apps.applications[1].instances[0];
    assert_eq!(m2.id(), "meta-service002.test.com:meta-service:8080");
    assert_eq!(m2.metadata.get("management.port"), Some("8090"));
    assert_eq!(m2.metadata.get("project"), Some("meta-service"));
    assert_eq!(m2.secure_vip_address.as_deref(), Some("meta-service"));
    assert_eq!(m2.last_dirty_timestamp, 1535444352398);

    let out = encode_apps(&apps, Format::Xml);
    assert_eq!(text(&out), text(&raw));
}

// W-32: AmazonInfo is recognised with @class first, last, or among unknown keys, and
// without a name.
#[test]
fn w32_data_center_info_fragments() {
    for (name, frag) in [
        ("payloadWithClassAndMetadata", fixture("captured/netflix-eureka__StringInterningAmazonInfoBuilderTest__payloadWithClassAndMetadata__dataCenterInfo.json")),
        ("payloadWithClassAfterMetadata", fixture("captured/netflix-eureka__StringInterningAmazonInfoBuilderTest__payloadWithClassAfterMetadata__dataCenterInfo.json")),
        ("payloadWithOtherStuffBeforeAndAfterMetadata", fixture("captured/netflix-eureka__StringInterningAmazonInfoBuilderTest__payloadWithOtherStuffBeforeAndAfterMetadata__dataCenterInfo.json")),
    ] {
        let doc = [
            br#"{"instance":{"hostName":"h","dataCenterInfo":"#.as_slice(),
            &frag,
            b"}}",
        ]
        .concat();
        let i =
            codec::decode_instance(&doc, Format::Json).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(i.data_center_info.name, DataCenterName::Amazon, "{name}");
        assert_eq!(
            i.data_center_info.metadata.get("instance-id"),
            Some("i-12345")
        );
        assert_eq!(
            i.data_center_info.metadata.len(),
            1,
            "{name}: unknown keys are not metadata"
        );
        assert_eq!(i.id(), "i-12345");
    }
}

// C-12, W-95: a Spring Boot 404 error body is not an Applications document; decoding
// fails cleanly.
#[test]
fn w95_heartbeat_404_body_is_not_applications() {
    let raw = fixture(
        "captured/spring-cloud-netflix__EurekaServerMockApplication__heartbeat-404-error-body.json",
    );
    let err = codec::decode_applications(&raw, Format::Json).unwrap_err();
    assert!(err.is_data(), "{err}");
    assert!(err.to_string().contains("applications"), "{err}");
    assert!(codec::decode_instance(&raw, Format::Json).is_err());
    assert!(codec::decode_applications(&raw, Format::Xml)
        .unwrap_err()
        .is_syntax());
}

// W-18, E-10, C-03: the register body a Netflix client sends is accepted, and the encoder
// produces exactly these bytes for the decoded record.
#[test]
fn w18_register_body_accepted_and_reproduced() {
    let raw = fixture_body("derived/DERIVED__legacy-jackson__POST-apps-MYAPP__register-body.json");
    let i = codec::decode_register(&raw, Format::Json, "myapp").unwrap();
    assert_eq!(i.id(), "host1:myapp:8080");
    assert_eq!(i.app, "MYAPP");
    assert_eq!(i.ip_addr, "10.0.0.1");
    assert_eq!(i.lease_info, LeaseInfo::default());
    assert_eq!(i.action_type, None);
    assert_eq!(i.last_dirty_timestamp, 1700000000000);
    assert_eq!(i.secure_vip_address.as_deref(), Some("myapp"));
    assert_eq!(encode_inst(&i, Format::Json), raw);

    // The same record built the way a Rust client would.
    let built = InstanceInfo::builder("myapp")
        .host_name("host1")
        .ip_addr("10.0.0.1")
        .secure_port_wrapper(PortWrapper::disabled(443))
        .status_page_url("http://host1:8080/Status")
        .health_check_url("http://host1:8080/healthcheck")
        .last_dirty_timestamp(1700000000000)
        .build();
    let mut built = built;
    built.last_updated_timestamp = 1700000000000;
    assert_eq!(built, i);
}

// W-12, W-61: the empty registry, byte for byte, and read back.
#[test]
fn w12_empty_registry_bytes() {
    let raw = fixture_body("derived/DERIVED__legacy-jackson__GET-apps__empty-registry.json");
    let apps = tower_eureka::model::Applications::default();
    assert_eq!(text(&encode_apps(&apps, Format::Json)), text(&raw));
    assert_eq!(
        codec::decode_applications(&raw, Format::Json).unwrap(),
        apps
    );
    // And from borrowed parts, with a hash but no applications.
    let mut out = Vec::new();
    let none: [(&str, Vec<&InstanceInfo>); 0] = [];
    codec::encode_applications_from(1, "", none, Format::Json, Accept::Full, &mut out);
    assert_eq!(out, raw);
}

// P-11..P-15 (shape only; replication is a later issue): the batch fixtures are JSON whose
// instanceInfo / responseEntity objects read through the bare-object reader, and the legacy
// writer reproduces them byte for byte (P-13).
#[test]
fn p13_replication_fixtures_bare_instances() {
    #[derive(serde::Deserialize)]
    struct Req {
        #[serde(rename = "replicationList")]
        replication_list: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        #[serde(rename = "instanceInfo")]
        instance_info: Option<json::InstanceJson>,
    }
    #[derive(serde::Deserialize)]
    struct Resp {
        #[serde(rename = "responseList")]
        response_list: Vec<RespItem>,
    }
    #[derive(serde::Deserialize)]
    struct RespItem {
        #[serde(rename = "statusCode")]
        status_code: u16,
        #[serde(rename = "responseEntity")]
        response_entity: Option<json::InstanceJson>,
    }

    let req_raw =
        fixture("derived/DERIVED__legacy-jackson__POST-peerreplication-batch__request.json");
    let req: Req = serde_json::from_slice(&req_raw).unwrap();
    assert_eq!(req.replication_list.len(), 6);
    let reg = req.replication_list[0].instance_info.as_ref().unwrap();
    assert_eq!(reg.0.id(), "host1:myapp:8080");
    assert_eq!(reg.0.action_type, Some(ActionType::Added));
    assert_eq!(reg.0.last_updated_timestamp, 1700000000100);
    assert!(req.replication_list[1..]
        .iter()
        .all(|i| i.instance_info.is_none()));
    let mut out = Vec::new();
    json::write_instance_object(&reg.0, &mut out);
    assert!(
        contains(&req_raw, &out),
        "re-encoded instanceInfo is a substring of the batch"
    );

    let resp_raw =
        fixture("derived/DERIVED__legacy-jackson__POST-peerreplication-batch__response.json");
    let resp: Resp = serde_json::from_slice(&resp_raw).unwrap();
    let codes: Vec<_> = resp.response_list.iter().map(|r| r.status_code).collect();
    assert_eq!(codes, [200, 200, 409, 200, 200, 404]);
    let entity = resp.response_list[2].response_entity.as_ref().unwrap();
    assert_eq!(entity.0.id(), "host2:myapp:8080");
    assert_eq!(entity.0.status, Status::OutOfService);
    assert_eq!(entity.0.overridden_status, Status::OutOfService);
    assert_eq!(entity.0.lease_info.last_renewal_timestamp, 1700000030000);
    let mut out = Vec::new();
    json::write_instance_object(&entity.0, &mut out);
    assert!(contains(&resp_raw, &out));
    // The bare-object entry point agrees.
    assert_eq!(json::read_instance_object(&out).unwrap(), entity.0);
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

// W-81, W-82, C-30: the historical Jettison JSON: single objects for lists, string `$`
// first, numbers for versions/timestamps, boolean flag, lower-case overriddenstatus, `\/`.
#[test]
fn w81_jettison_single_objects() {
    let raw = fixture(
        "derived/DERIVED__xstream-jettison-1.2-json__GET-apps__single-app-single-instance.json",
    );
    let apps = codec::decode_applications(&raw, Format::Json).unwrap();
    assert_eq!(apps.versions_delta, 1);
    assert_eq!(apps.apps_hashcode.as_deref(), Some("UP_1_"));
    let i = only(&apps);
    assert_eq!(apps.applications[0].name, "MYAPP");
    assert_eq!(i.id(), "host1:myapp:8080");
    assert_eq!(i.port, PortWrapper::enabled(8080));
    assert_eq!(i.secure_port, PortWrapper::disabled(443));
    assert_eq!(i.home_page_url.as_deref(), Some("http://host1:8080/"));
    assert!(!i.is_coordinating_discovery_server);
    assert_eq!(i.last_updated_timestamp, 1700000000000);
    assert_eq!(i.lease_info.last_renewal_timestamp, 1700000030000);
    assert_eq!(i.overridden_status, Status::Unknown);
    assert_eq!(i.action_type, Some(ActionType::Added));
    // Our writer answers with arrays (W-80) and unescaped slashes (W-04).
    let out = encode_apps(&apps, Format::Json);
    assert!(text(&out).contains(r#""application":[{"name":"MYAPP","instance":[{"#));
    assert!(text(&out).contains(r#""homePageUrl":"http://host1:8080/""#));
}

/// The record of the compact fixture, with extra full-form fields that compact drops.
fn compact_record() -> InstanceInfo {
    use tower_eureka::model::DataCenterInfo;
    let mut i = InstanceInfo::builder("myapp")
        .instance_id("i-0abc")
        .host_name("10.0.0.1")
        .ip_addr("10.0.0.1")
        .port(8080)
        .secure_port_wrapper(PortWrapper::disabled(443))
        .vip_address("myapp")
        .asg_name("myapp-v001")
        .metadata("dropped", "in compact")
        .app_group_name("group")
        .data_center_info(DataCenterInfo::amazon(
            [
                ("instance-id", "i-0abc"),
                ("ami-id", "ami-dropped"),
                ("local-ipv4", "10.0.0.1"),
                ("availability-zone", "us-east-1d"),
                ("public-hostname", "ec2-1-2-3-4.compute-1.amazonaws.com"),
                ("instance-type", "m5.dropped"),
                ("public-ipv4", "1.2.3.4"),
            ]
            .into_iter()
            .collect(),
        ))
        .last_dirty_timestamp(1699999999999)
        .build();
    i.secure_vip_address = None;
    i.last_updated_timestamp = 1700000000000;
    i.action_type = Some(ActionType::Added);
    i
}

// W-90, W-91: compact JSON byte for byte; W-92: compact XML is full XML.
#[test]
fn w91_compact_fixture_bytes() {
    let raw =
        fixture_body("derived/DERIVED__jackson-json-mini__GET-apps__X-Eureka-Accept-compact.json");
    let apps = tower_eureka::model::Applications::from_instances([compact_record()]);
    let mut out = Vec::new();
    codec::encode_applications(&apps, Format::Json, Accept::Compact, &mut out);
    assert_eq!(text(&out), text(&raw));

    // The compact body reads back with the tolerant reader.
    let back = codec::decode_applications(&raw, Format::Json).unwrap();
    assert_eq!(back.versions_delta, 1);
    assert_eq!(back.apps_hashcode.as_deref(), Some("UP_1_"));
    let i = only(&back);
    assert_eq!(i.id(), "i-0abc");
    assert_eq!(i.data_center_info.metadata.len(), 5);
    assert_eq!(i.last_updated_timestamp, 1700000000000);
    let mut again = Vec::new();
    codec::encode_applications(&back, Format::Json, Accept::Compact, &mut again);
    assert_eq!(again, out);

    let mut xml_compact = Vec::new();
    codec::encode_applications(&apps, Format::Xml, Accept::Compact, &mut xml_compact);
    assert_eq!(xml_compact, encode_apps(&apps, Format::Xml));

    // A single application in compact form.
    let mut app = Vec::new();
    codec::encode_application(
        &apps.applications[0],
        Format::Json,
        Accept::Compact,
        &mut app,
    );
    assert!(text(&app).starts_with(
        r#"{"application":{"name":"MYAPP","instance":[{"instanceId":"i-0abc","app":"MYAPP","#
    ));
    assert!(!text(&app).contains("leaseInfo"));
}

// W-71..W-75: the XML body of GET /apps/{app}/{id}, byte for byte from its decoded record.
#[test]
fn w71_xml_instance_fixture_bytes() {
    let raw = fixture_body("derived/DERIVED__xstream-xml__GET-apps-MYAPP-id__instance.xml");
    let i = codec::decode_instance(&raw, Format::Xml).unwrap();
    assert_eq!(i.id(), "host1:myapp:8080");
    assert_eq!(i.lease_info.last_renewal_timestamp, 1700000030000);
    assert_eq!(i.action_type, Some(ActionType::Added));
    assert!(i.metadata.is_empty());
    assert_eq!(text(&encode_inst(&i, Format::Xml)), text(&raw));

    // The same record as the JSON register body, once served (lease and action set).
    let reg = codec::decode_register(
        &fixture_body("derived/DERIVED__legacy-jackson__POST-apps-MYAPP__register-body.json"),
        Format::Json,
        "MYAPP",
    )
    .unwrap();
    let mut served = reg;
    served.lease_info.registration_timestamp = 1700000000000;
    served.lease_info.last_renewal_timestamp = 1700000030000;
    served.lease_info.service_up_timestamp = 1700000000000;
    served.action_type = Some(ActionType::Added);
    assert_eq!(served, i);
    assert_eq!(text(&encode_inst(&served, Format::Xml)), text(&raw));
}

// W-95, E-04: the 400 body for an undecodable `application/json` request.
#[test]
fn w95_cannot_parse_body_constant() {
    let raw = fixture_body(
        "derived/DERIVED__DiscoveryJerseyProvider__400-cannot-parse-request-body.json",
    );
    assert_eq!(codec::CANNOT_PARSE_JSON_BODY.as_bytes(), raw.as_slice());
    let v: serde_json::Value = serde_json::from_str(codec::CANNOT_PARSE_JSON_BODY).unwrap();
    assert_eq!(v["error"], "cannot parse request body");
}

/// Appendix A: no fixture is left untested. Each must be read by a test above through the
/// fixture loader with its literal path, `fixture("captured/…")` or `fixture_body("derived/…")`
/// (whitespace and a trailing comma allowed, as rustfmt lays calls out). A name in a comment,
/// a helper argument or a `format!` does not count.
#[test]
fn every_fixture_is_covered() {
    let loaded = loader_calls(include_str!("fixtures.rs"));
    for f in all_fixtures() {
        assert!(
            loaded.contains(&f),
            "fixture {f} is not loaded by a fixture(\"{f}\") or fixture_body(\"{f}\") call in tests/wire/fixtures.rs"
        );
    }
    // The scan finds paths, not fragments of them.
    for f in &loaded {
        assert!(
            all_fixtures().contains(f),
            "{f} is loaded but no fixture file"
        );
    }
}

/// The literal paths passed to `fixture(…)` / `fixture_body(…)` in `src`, outside `//`
/// comments. A line is cut at its first `//`, even inside a string: that can only hide a
/// call, never invent one.
fn loader_calls(src: &str) -> std::collections::BTreeSet<String> {
    let code: String = src
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .flat_map(str::chars)
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut out = std::collections::BTreeSet::new();
    for loader in ["fixture(\"", "fixture_body(\""] {
        for (at, _) in code.match_indices(loader) {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // another function whose name ends in `fixture`
            }
            let rest = &code[at + loader.len()..];
            let Some(end) = rest.find('"') else { continue };
            let after = &rest[end + 1..];
            if after.starts_with(')') || after.starts_with(",)") {
                out.insert(rest[..end].to_owned());
            }
        }
    }
    out
}
