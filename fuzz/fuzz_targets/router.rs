//! The router and query parsing through the service: any method, path and query, with any
//! `Accept` and `X-Eureka-Accept`, against a registry holding one instance
//! (`MYAPP`/`host1:myapp:8080`, VIP `myapp`) (E-01..E-03, E-05, E-11..E-26, E-30).
//!
//! Input: `METHOD\nTARGET\nACCEPT\nX-EUREKA-ACCEPT\nBODY` (missing lines are empty; a
//! method or target `http` refuses is skipped, as hyper refuses it before any service; a
//! body is sent as XML or JSON by its first byte).
//!
//! What must hold: never a 5xx; a 4xx changes nothing (the registry's revision stays); the
//! registry, whatever the request did, is served in both formats so that the crate's reader
//! reads it back.
#![no_main]

use bytes::Bytes;
use fuzz_support::{call, listing_decodes, service, sniff};
use http::{Method, Request};
use http_body_util::Full;
use libfuzzer_sys::fuzz_target;
use tower_eureka::model::InstanceInfo;
use tower_eureka::registry::Origin;

fuzz_target!(|data: &[u8]| {
    let mut lines = data.splitn(5, |&b| b == b'\n');
    let method = lines.next().unwrap_or_default();
    let target = lines.next().unwrap_or_default();
    let accept = lines.next().unwrap_or_default();
    let compact = lines.next().unwrap_or_default();
    let body = lines.next().unwrap_or_default();
    let Ok(method) = Method::from_bytes(method) else {
        return;
    };
    let mut req = Request::builder().method(method).uri(target);
    if !accept.is_empty() {
        req = req.header("accept", accept);
    }
    if !compact.is_empty() {
        req = req.header("x-eureka-accept", compact);
    }
    if !body.is_empty() {
        req = req.header("content-type", sniff(body).content_type());
    }
    let Ok(req) = req.body(Full::new(Bytes::copy_from_slice(body))) else {
        return;
    };

    let svc = service();
    let inst = InstanceInfo::builder("myapp")
        .host_name("host1")
        .ip_addr("10.0.0.1")
        .vip_address("myapp")
        .build();
    if let Err(e) = svc.registry().register(inst, Origin::Client) {
        panic!("the fixed instance: {e}");
    }
    let before = svc.registry().snapshot().revision();
    let (status, _) = call(&svc, req);
    if status.is_client_error() {
        assert_eq!(
            svc.registry().snapshot().revision(),
            before,
            "a {status} changed the registry"
        );
    }
    listing_decodes(&svc);
});
