//! The replication batch reader through the service: `POST /peerreplication/batch` with
//! the input as the body, against a registry holding one instance
//! (`MYAPP`/`host1:myapp:8080`) (E-22, P-11..P-20).
//!
//! What must hold: never a 5xx; a refused batch changes nothing; an accepted one answers
//! one item per request item (P-15); and the registry it leaves is served in both formats
//! so that the crate's reader reads it back.
#![no_main]

use fuzz_support::{call, listing_decodes, post, service};
use http::StatusCode;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tower_eureka::model::InstanceInfo;
use tower_eureka::registry::Origin;

fuzz_target!(|data: &[u8]| {
    let svc = service();
    let inst = InstanceInfo::builder("myapp")
        .host_name("host1")
        .ip_addr("10.0.0.1")
        .build();
    if let Err(e) = svc.registry().register(inst, Origin::Client) {
        panic!("the fixed instance: {e}");
    }
    let before = svc.registry().snapshot().revision();
    let (status, body) = call(
        &svc,
        post("/peerreplication/batch", "application/json", data),
    );
    if status != StatusCode::OK {
        assert!(status.is_client_error(), "batch answered {status}");
        assert_eq!(
            svc.registry().snapshot().revision(),
            before,
            "a refused batch changed the registry"
        );
        return;
    }
    let answer: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => panic!("the batch answer is not JSON: {e}"),
    };
    let answered = answer
        .get("responseList")
        .and_then(Value::as_array)
        .map(Vec::len);
    // The request, read as any JSON reader reads it (the last of a repeated key wins).
    if let Ok(request) = serde_json::from_slice::<Value>(data) {
        let asked = request
            .get("replicationList")
            .and_then(Value::as_array)
            .map(Vec::len);
        assert_eq!(answered, asked, "one answer item per request item (P-15)");
    }
    listing_decodes(&svc);
});
