//! Own-zone-first server URLs in failover (C-40, C-41, C-70), against the crate's own
//! server.

use crate::inproc::Registry;
use crate::support::{dead_url, wait_until};
use std::time::Duration;
use tower_eureka::client::{EurekaClient, Target};
use tower_eureka::model::InstanceInfo;

fn me(zone: &str) -> InstanceInfo {
    InstanceInfo::builder("orders")
        .host_name("orders-1")
        .ip_addr("127.0.0.1")
        .port(8080)
        .metadata("zone", zone)
        .build()
}

// C-40, C-70: with the own zone's server up, every call goes there and none to the other
// zone's, whatever the seed (the zones are not shuffled together).
#[tokio::test(start_paused = true)]
async fn c40_c70_calls_go_to_the_own_zone_first() {
    for seed in 0..4 {
        let a = Registry::start().await;
        let b = Registry::start().await;
        let client = EurekaClient::builder(Vec::<String>::new())
            .availability_zones("us-east-1", ["zone-a", "zone-b"])
            .service_urls("zone-a", [a.url.clone()])
            .service_urls("zone-b", [b.url.clone()])
            .instance(me("zone-b"))
            .rng_seed(seed)
            .start()
            .unwrap();
        wait_until(Duration::from_secs(10), || {
            client.is_registered() && client.snapshot().is_fetched()
        })
        .await;
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert!(b.registrations().len() == 1 && !b.fetches().is_empty());
        assert!(a.seen().is_empty(), "seed {seed}: {:?}", a.seen());
    }
}

// C-41, C-70: both servers of the own zone are down: registration, heartbeats and fetches
// fail over to the next zone's server, and the registry copy is served from there.
#[tokio::test(start_paused = true)]
async fn c41_c70_failover_reaches_the_next_zone_when_the_own_zone_is_down() {
    let other = Registry::start().await;
    let consumer = EurekaClient::builder([other.url.clone()])
        .fetch_only()
        .start()
        .unwrap();
    let client = EurekaClient::builder(Vec::<String>::new())
        .region("eu-west-1")
        .availability_zones("eu-west-1", ["zone-a", "zone-b", "zone-c"])
        .service_urls("zone-a", [dead_url().await])
        .service_urls("zone-b", [dead_url().await, dead_url().await])
        .service_urls("zone-c", [other.url.clone()])
        .instance(me("zone-b"))
        // Two own-zone servers, then zone-c's (zone-a's would be next).
        .retries_per_call(3)
        .start()
        .unwrap();
    wait_until(Duration::from_secs(30), || client.is_registered()).await;
    wait_until(Duration::from_secs(30), || {
        consumer.up_instances(&Target::app("orders")).len() == 1
    })
    .await;
    wait_until(Duration::from_secs(30), || client.snapshot().is_fetched()).await;
    assert_eq!(client.up_instances(&Target::app("orders")).len(), 1);
    assert_eq!(other.registrations().len(), 1);
    // The first registration succeeded within its one call: b1, b2, then zone-c (had
    // zone-a come third, that call would have failed).
    assert_eq!(client.metrics().snapshot().registration_errors, 0);
    // Heartbeats go there too. Waited for, not slept for: on paused time the clock runs
    // ahead while the answer travels over the real socket, so a fixed sleep could end
    // before the first heartbeat's answer arrives (seen when tests share the 2 cores).
    wait_until(Duration::from_secs(600), || {
        client.metrics().snapshot().heartbeats_ok > 0
    })
    .await;
    // The server of zone-c saw the heartbeat (a PUT answered 200).
    assert!(other
        .seen()
        .iter()
        .any(|r| r.method == http::Method::PUT && r.status == 200));
}
