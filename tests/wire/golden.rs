//! The canonical payload examples of the specification (section 2.13), byte for byte.

use crate::support::*;
use tower_eureka::codec::{self, Format};
use tower_eureka::model::{
    ActionType, Applications, DataCenterName, InstanceInfo, LeaseInfo, Status,
};

/// `orders-1` as its client registers it (EX-1).
fn orders_1_registered() -> InstanceInfo {
    let mut i = InstanceInfo::builder("orders")
        .host_name("orders-1.internal")
        .ip_addr("10.0.1.11")
        .port(8080)
        .metadata("zone", "zone-a")
        .metadata("management.port", "8081")
        .last_dirty_timestamp(1699999999000)
        .build();
    i.last_updated_timestamp = 1699999999000;
    i
}

/// `orders-1` as the server serves it after registration (EX-2, EX-4).
fn orders_1_served() -> InstanceInfo {
    let mut i = orders_1_registered();
    i.lease_info = LeaseInfo {
        renewal_interval_in_secs: 30,
        duration_in_secs: 90,
        registration_timestamp: 1700000000000,
        last_renewal_timestamp: 1700000360000,
        eviction_timestamp: 0,
        service_up_timestamp: 1700000000000,
    };
    i.last_updated_timestamp = 1700000000004;
    i.action_type = Some(ActionType::Added);
    i
}

// EX-1, W-14, W-15, W-18, C-03: the register body a Rust client sends.
#[test]
fn ex1_register_body_bytes() {
    let ex1 = minify(&spec_example("EX-1"));
    let out = encode_inst(&orders_1_registered(), Format::Json);
    assert_eq!(text(&out), ex1);
    // E-10: and the server accepts it as the same record.
    let back = codec::decode_register(ex1.as_bytes(), Format::Json, "ORDERS").unwrap();
    assert_eq!(back, orders_1_registered());
}

// EX-2, W-11..W-17, W-30, W-40, W-62: a full registry with an AWS instance and an override.
#[test]
fn ex2_full_registry_bytes() {
    let ex2 = minify(&spec_example("EX-2"));
    let apps = codec::decode_applications(ex2.as_bytes(), Format::Json).unwrap();
    assert_eq!(apps.compute_hashcode(), "OUT_OF_SERVICE_1_UP_2_");
    assert_eq!(
        apps.apps_hashcode.as_deref(),
        Some("OUT_OF_SERVICE_1_UP_2_")
    );
    assert_eq!(apps.applications[0].instances[0], orders_1_served());
    let pay = &apps.applications[1].instances[0];
    assert_eq!(pay.id(), "i-0a1b2c3d4e5f60718");
    assert_eq!(pay.overridden_status, Status::OutOfService);
    assert_eq!(pay.data_center_info.name, DataCenterName::Amazon);
    assert_eq!(pay.data_center_info.metadata.len(), 6);
    assert_eq!(pay.secure_vip_address, None);
    assert_eq!(pay.asg_name.as_deref(), Some("payments-v042"));
    assert_eq!(text(&encode_apps(&apps, Format::Json)), ex2);

    // The same bytes when the server encodes straight from borrowed parts.
    let mut out = Vec::new();
    codec::encode_applications_from(
        1,
        &apps.compute_hashcode(),
        apps.applications
            .iter()
            .map(|a| (a.name.as_str(), a.instances.iter())),
        Format::Json,
        codec::Accept::Full,
        &mut out,
    );
    assert_eq!(text(&out), ex2);
}

// EX-3, W-63, W-64: a delta with a counter, a MODIFIED and a DELETED entry.
#[test]
fn ex3_delta_bytes() {
    let ex3 = minify(&spec_example("EX-3"));
    let delta = codec::decode_applications(ex3.as_bytes(), Format::Json).unwrap();
    assert_eq!(delta.versions_delta, 42);
    // The delta's hash is the registry's, not the body's.
    assert_eq!(
        delta.apps_hashcode.as_deref(),
        Some("OUT_OF_SERVICE_1_UP_2_")
    );
    assert_eq!(delta.compute_hashcode(), "OUT_OF_SERVICE_1_UP_1_");
    let deleted = &delta.applications[1].instances[0];
    assert_eq!(deleted.action_type, Some(ActionType::Deleted));
    assert_eq!(deleted.lease_info.eviction_timestamp, 1700000250000);
    assert_eq!(text(&encode_apps(&delta, Format::Json)), ex3);
}

// EX-4, W-71..W-75: the XML of one instance, built from scratch.
#[test]
fn ex4_instance_xml_bytes() {
    let ex4 = spec_example("EX-4");
    let out = encode_inst(&orders_1_served(), Format::Xml);
    assert_eq!(text(&out), ex4);
    // And JSON and XML decode to the same record.
    let from_xml = codec::decode_instance(ex4.as_bytes(), Format::Xml).unwrap();
    assert_eq!(from_xml, orders_1_served());
    let ex2 = minify(&spec_example("EX-2"));
    let from_json = codec::decode_applications(ex2.as_bytes(), Format::Json).unwrap();
    assert_eq!(from_json.applications[0].instances[0], from_xml);

    // "The same instance with an empty metadata map would carry the EmptyMap marker."
    let mut empty = orders_1_served();
    empty.metadata = Default::default();
    let xml = encode_inst(&empty, Format::Xml);
    assert!(text(&xml)
        .contains("\n  <metadata class=\"java.util.Collections$EmptyMap\"/>\n  <homePageUrl>"));
}

// EX-5, W-20..W-22: the Jackson-shape register body with explicit nulls stores the same
// record as EX-1.
#[test]
fn ex5_jackson_register_body_equals_ex1() {
    let ex5 = spec_example("EX-5");
    let i = codec::decode_register(ex5.as_bytes(), Format::Json, "orders").unwrap();
    assert_eq!(i, orders_1_registered());
    assert_eq!(i.secure_health_check_url, None);
    assert_eq!(i.app_group_name, None);
    assert_eq!(i.asg_name, None);
    assert_eq!(i.action_type, None);
}

// W-12 (XML): the empty registry in XML keeps the open/close hash element (W-73).
#[test]
fn w73_empty_registry_xml() {
    let out = encode_apps(&Applications::default(), Format::Xml);
    assert_eq!(
        text(&out),
        "<applications>\n  <versions__delta>1</versions__delta>\n  <apps__hashcode></apps__hashcode>\n</applications>"
    );
    let back = codec::decode_applications(&out, Format::Xml).unwrap();
    assert_eq!(back, Applications::default());
}
