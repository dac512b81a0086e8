//! The client reads every captured `applications` document served by a server (C-30, W-03),
//! in legacy JSON, the Jackson shape, XML and gzip.

use crate::fixture;
use crate::support::*;
use std::sync::Arc;
use std::time::Duration;
use tower_eureka::client::{ClientSnapshot, EurekaClient, Target};
use tower_eureka::model::{DataCenterName, Status};

/// Serves `canned` as the full registry and returns the first snapshot the client publishes.
async fn fetched(canned: Canned) -> (Arc<ClientSnapshot>, FakeEureka) {
    let server = FakeEureka::start().await;
    server.set(Route::Full, canned);
    let client = EurekaClient::builder([server.url()]).start().unwrap();
    let mut rx = client.snapshots();
    let snap = tokio::time::timeout(Duration::from_secs(5), rx.wait_for(|s| s.is_fetched()))
        .await
        .expect("fetched within 5 s")
        .unwrap()
        .clone();
    (snap, server)
}

fn app(snap: &ClientSnapshot) -> Vec<Arc<tower_eureka::model::InstanceInfo>> {
    snap.instances(&Target::app("app")).to_vec()
}

// C-30, W-20, W-21, W-56, C-24: Jackson shape, native types, Amazon, no version/hash.
#[tokio::test(start_paused = true)]
async fn c30_iep_ec2_jackson_shape() {
    let (snap, _s) = fetched(Canned::json(read_fixture(fixture!(
        "captured/netflix-iep__iep-servergroups__eureka-ec2.json"
    ))))
    .await;
    let insts = app(&snap);
    assert_eq!(insts.len(), 1);
    let i = &insts[0];
    assert_eq!(i.id(), "i-1234567890");
    assert_eq!(i.data_center_info.name, DataCenterName::Amazon);
    assert_eq!(i.zone(), Some("us-east-1d"));
    assert_eq!(snap.versions_delta(), -1);
    assert_eq!(snap.instances(&Target::vip("app-main:7001")).len(), 1);
}

// W-60, C-26: one UP, one STARTING.
#[tokio::test(start_paused = true)]
async fn c26_iep_nimble_hash_and_up_filter() {
    let (snap, _s) = fetched(Canned::json(read_fixture(fixture!(
        "captured/netflix-iep__iep-servergroups__eureka-nimble.json"
    ))))
    .await;
    assert_eq!(snap.hashcode(), "STARTING_1_UP_1_");
    assert_eq!(app(&snap).len(), 2);
    let up: Vec<_> = snap.up_instances(&Target::app("APP")).collect();
    assert_eq!(up.len(), 1);
    assert_eq!(up[0].id(), "i-0001");
}

// W-52: an unknown status reads as UNKNOWN.
#[tokio::test(start_paused = true)]
async fn w52_iep_unknown_status() {
    let (snap, _s) = fetched(Canned::json(read_fixture(fixture!(
        "captured/netflix-iep__iep-servergroups__eureka-unknown-status.json"
    ))))
    .await;
    let insts = app(&snap);
    assert_eq!(insts.len(), 1);
    assert_eq!(insts[0].status, Status::Unknown);
    assert_eq!(snap.up_instances(&Target::app("app")).count(), 0);
}

// no instanceId: the Amazon instance-id.
#[tokio::test(start_paused = true)]
async fn r01_iep_no_id_uses_amazon_instance_id() {
    let (snap, _s) = fetched(Canned::json(read_fixture(fixture!(
        "captured/netflix-iep__iep-servergroups__eureka-no-id.json"
    ))))
    .await;
    assert_eq!(app(&snap)[0].id(), "i-1234567890");
}

// C-30, R-01: no ipAddr, no instanceId, no Amazon metadata: id is the host name.
#[tokio::test(start_paused = true)]
async fn c30_iep_invalid_still_reads() {
    let (snap, _s) = fetched(Canned::json(read_fixture(fixture!(
        "captured/netflix-iep__iep-servergroups__eureka-invalid.json"
    ))))
    .await;
    let insts = app(&snap);
    assert_eq!(insts.len(), 1);
    assert_eq!(insts[0].id(), "10.20.30.40");
    assert!(insts[0].ip_addr.is_empty());
}

// W-61: two apps sharing one id count twice.
#[tokio::test(start_paused = true)]
async fn w61_iep_dup_counts_twice() {
    let (snap, _s) = fetched(Canned::json(read_fixture(fixture!(
        "captured/netflix-iep__iep-servergroups__eureka-dup.json"
    ))))
    .await;
    assert_eq!(snap.hashcode(), "UP_2_");
    assert_eq!(snap.len(), 2);
    assert_eq!(snap.instances(&Target::app("app2")).len(), 1);
}

// W-31: unknown Amazon metadata keys are kept.
#[tokio::test(start_paused = true)]
async fn w31_iep_ip_keeps_ipv6() {
    let (snap, _s) = fetched(Canned::json(read_fixture(fixture!(
        "captured/netflix-iep__iep-servergroups__eureka-ip.json"
    ))))
    .await;
    let insts = app(&snap);
    assert_eq!(
        insts[0].data_center_info.metadata.get("ipv6"),
        Some("::ffff:a14:1e2a")
    );
}

// W-76, C-30: a server that answers XML despite `Accept: application/json`.
#[tokio::test(start_paused = true)]
async fn w76_prometheus_xml_served_as_application_xml() {
    let (snap, server) = fetched(Canned::xml(read_fixture(fixture!(
        "captured/prometheus__discovery-eureka-client_test__TestFetchApps__applications.xml"
    ))))
    .await;
    assert_eq!(
        server.of(Route::Full)[0].header("accept"),
        Some("application/json")
    );
    assert_eq!(snap.hashcode(), "UP_4_");
    assert_eq!(snap.len(), 4);
    assert_eq!(snap.instances(&Target::app("config-service")).len(), 2);
    let meta = snap.instances(&Target::app("META-SERVICE"));
    assert_eq!(meta.len(), 2);
    assert!(meta
        .iter()
        .any(|i| i.metadata.get("management.port") == Some("8090")));
}

// E-07: gzip-encoded responses, legacy JSON (W-10..W-17).
#[tokio::test(start_paused = true)]
async fn e07_gzip_steeltoe_full_registry() {
    let (snap, server) = fetched(
        Canned::json(read_fixture(fixture!(
            "captured/steeltoe__EurekaDiscoveryClientTest__FooAddedJson__full-registry.json"
        )))
        .gzip(),
    )
    .await;
    assert!(server.of(Route::Full)[0]
        .header("accept-encoding")
        .unwrap()
        .contains("gzip"));
    assert_eq!(snap.hashcode(), "UP_1_");
    assert_eq!(snap.versions_delta(), 1);
    let foo = snap.instances(&Target::app("foo"));
    assert_eq!(foo[0].id(), "localhost:foo");
    assert_eq!(foo[0].ip_addr, "192.168.56.1");
}

// E-07: gzip XML too.
#[tokio::test(start_paused = true)]
async fn e07_gzip_xml() {
    let (snap, _s) = fetched(
        Canned::xml(read_fixture(fixture!(
            "captured/prometheus__discovery-eureka-client_test__TestFetchApps__applications.xml"
        )))
        .gzip(),
    )
    .await;
    assert_eq!(snap.len(), 4);
}

// W-81: the historical Jettison JSON (single objects instead of arrays).
#[tokio::test(start_paused = true)]
async fn w81_jettison_single_object_lists() {
    let (snap, _s) = fetched(Canned::json(read_fixture(fixture!(
        "derived/DERIVED__xstream-jettison-1.2-json__GET-apps__single-app-single-instance.json"
    ))))
    .await;
    assert_eq!(snap.len(), 1);
    assert_eq!(snap.hashcode(), "UP_1_");
    let i = &snap.instances(&Target::app("myapp"))[0];
    assert_eq!(i.port.port, 8080);
    assert!(i.port.enabled);
}
