//! The registry server over real HTTP (127.0.0.1, port 0): every endpoint and status code.
//! Each test names the spec requirements (E-, R-, W-) it checks.

mod auth;
mod fuzz_regressions;
mod hardening;
mod operator;
mod regions;
mod service;
mod shed;
mod slow_clients;
mod support;
mod target_watch;
mod text_safety;
mod watch;

use reqwest::Method;
use serde_json::{json, Value};
use support::{fixture, register_body, start, start_with};

#[tokio::test]
async fn e10_register_is_204_and_the_instance_is_served() {
    let s = start().await;
    let r = s.register("orders", "o1:orders:8080", "UP").await;
    assert_eq!(r.status().as_u16(), 204);
    assert!(r.bytes().await.expect("body").is_empty());

    // R-02: stored upper-case; E-19 single instance in JSON with the wrapper (W-06).
    let (code, v) = s.get_json("/apps/ORDERS/o1:orders:8080").await;
    assert_eq!(code, 200);
    let i = &v["instance"];
    assert_eq!(i["app"], "ORDERS");
    assert_eq!(i["status"], "UP");
    assert_eq!(i["actionType"], "ADDED"); // R-14
    assert_eq!(i["port"]["$"], 8080); // W-25
    assert_eq!(i["port"]["@enabled"], "true");
    assert_eq!(i["metadata"]["management.port"], "8081");
    assert_eq!(i["leaseInfo"]["durationInSecs"], 90);
    assert!(i["lastUpdatedTimestamp"].is_string()); // W-15
                                                    // E-03: percent-encoded ids address the same instance.
    let (code, _) = s.get_json("/apps/orders/o1%3Aorders%3A8080").await;
    assert_eq!(code, 200);
    // E-18 one app, E-16 all apps.
    let (code, v) = s.get_json("/apps/orders").await;
    assert_eq!(code, 200);
    assert_eq!(v["application"]["name"], "ORDERS");
    assert_eq!(
        v["application"]["instance"].as_array().map(Vec::len),
        Some(1)
    );
    let (hash, all) = s.apps().await;
    assert_eq!(hash, "UP_1_");
    assert_eq!(
        all,
        vec![("ORDERS".into(), "o1:orders:8080".into(), "UP".into())]
    );
}

#[tokio::test]
async fn w12_empty_registry_is_byte_exact() {
    let s = start().await;
    let r = s
        .http
        .get(s.url("/apps"))
        .header("accept", "application/json")
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/json",
        "E-06 content type without parameters"
    );
    let body = r.bytes().await.expect("body");
    let want = fixture("derived/DERIVED__legacy-jackson__GET-apps__empty-registry.json");
    assert_eq!(
        body.as_ref(),
        String::from_utf8_lossy(&want).trim_end().as_bytes()
    );
}

#[tokio::test]
async fn e10_validation_failures_are_400_with_the_reason_and_change_nothing() {
    let s = start().await;
    let good = register_body("ORDERS", "o1", "h1", 8080, "UP");
    let cases: Vec<(String, &str, &str)> = vec![
        (
            good.replace(r#""instanceId":"o1","hostName":"h1""#, r#""hostName":"""#),
            "ORDERS",
            "Missing instanceId",
        ),
        (good.replace(r#""hostName":"h1""#, r#""hostName":"""#), "ORDERS", "Missing hostname"),
        (good.replace(r#""ipAddr":"10.0.0.80""#, r#""ipAddr":"""#), "ORDERS", "Missing ip address"),
        (good.replace(r#""app":"ORDERS""#, r#""app":"""#), "ORDERS", "Missing appName"),
        (
            good.clone(),
            "PAYMENTS",
            "Mismatched appName, expecting PAYMENTS but was ORDERS",
        ),
        (
            good.replace(
                r#""dataCenterInfo":{"@class":"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo","name":"MyOwn"},"#,
                "",
            ),
            "ORDERS",
            "Missing dataCenterInfo",
        ),
        (
            good.replace(r#","name":"MyOwn""#, ""),
            "ORDERS",
            "Missing dataCenterInfo Name",
        ),
        (good.replace(r#""status":"UP""#, r#""status":"up""#), "ORDERS", "Unknown status up"),
    ];
    for (body, path_app, reason) in cases {
        if path_app == "ORDERS" {
            assert_ne!(body, good, "case {reason}: the test body was not changed");
        }
        let r = s.post_json(&format!("/apps/{path_app}"), body).await;
        assert_eq!(r.status().as_u16(), 400, "case {reason}");
        let text = r.text().await.expect("body");
        assert_eq!(text.trim_end(), reason);
    }
    assert_eq!(s.apps().await, (String::new(), vec![]));
}

#[tokio::test]
async fn e04_content_types_415_and_undecodable_bodies_w95() {
    let s = start().await;
    let body = register_body("ORDERS", "o1", "h1", 8080, "UP");
    for ct in [
        "text/plain",
        "application/json; charset=utf-16",
        "image/png",
    ] {
        let r = s
            .http
            .post(s.url("/apps/ORDERS"))
            .header("content-type", ct)
            .body(body.clone())
            .send()
            .await
            .expect("POST");
        assert_eq!(r.status().as_u16(), 415, "{ct}");
        assert!(r.headers().contains_key("x-eureka-error"));
    }
    let r = s
        .http
        .post(s.url("/apps/ORDERS"))
        .body(body.clone())
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 415, "missing content type");

    // Charset parameters are fine.
    let r = s
        .http
        .post(s.url("/apps/ORDERS"))
        .header("content-type", "application/json;charset=UTF-8")
        .body(body)
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 204);

    // W-95: exactly `application/json` gets Java's JSON body; a reason header says more.
    let r = s.post_json("/apps/ORDERS", "{\"instance\":".into()).await;
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.headers()["x-eureka-error"]
        .to_str()
        .expect("ascii")
        .starts_with("cannot parse request body"));
    let want =
        fixture("derived/DERIVED__DiscoveryJerseyProvider__400-cannot-parse-request-body.json");
    assert_eq!(
        r.bytes().await.expect("body").as_ref(),
        String::from_utf8_lossy(&want).trim_end().as_bytes()
    );
    let r = s
        .http
        .post(s.url("/apps/ORDERS"))
        .header("content-type", "application/json; charset=UTF-8")
        .body("[1,2")
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(
        r.text().await.expect("body"),
        "<error><message>cannot parse request body</message></error>"
    );
    // The registry is unchanged by the rejected requests (one good register above).
    assert_eq!(s.apps().await.1.len(), 1);
}

#[tokio::test]
async fn e10_xml_register_body_and_gzip_request_body_e08() {
    use std::io::Write as _;
    let s = start().await;
    let xml = String::from_utf8(fixture(
        "derived/DERIVED__xstream-xml__GET-apps-MYAPP-id__instance.xml",
    ))
    .expect("utf8");
    let r = s
        .http
        .post(s.url("/apps/myapp"))
        .header("content-type", "application/xml")
        .body(xml)
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 204);

    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(register_body("GZ", "g1", "gh", 9000, "UP").as_bytes())
        .expect("gzip");
    let r = s
        .http
        .post(s.url("/apps/GZ"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(enc.finish().expect("gzip"))
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 204);
    let (hash, all) = s.apps().await;
    assert_eq!(hash, "UP_2_");
    assert_eq!(all[0].1, "g1");
    assert_eq!(all[1].1, "host1:myapp:8080");
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let mut cfg = support::config();
    cfg.max_body_bytes = 512;
    let s = start_with(cfg).await;
    let r = s.register("ORDERS", "o1", "UP").await;
    assert_eq!(r.status().as_u16(), 413);
    assert!(r.text().await.expect("body").contains("512"));
    assert!(s.apps().await.1.is_empty());
}

#[tokio::test]
async fn e11_r50_heartbeat_outcomes() {
    let s = start().await;
    s.register("ORDERS", "o1", "UP").await;
    // Known: 200, empty body. Unknown: 404.
    assert_eq!(s.put("/apps/ORDERS/o1?status=UP").await, 200);
    assert_eq!(s.put("/apps/ORDERS/nope").await, 404);
    assert_eq!(s.put("/apps/NOAPP/o1").await, 404);
    // Stored lastDirtyTimestamp is 1700000000000.
    assert_eq!(
        s.put("/apps/ORDERS/o1?lastDirtyTimestamp=1700000000000")
            .await,
        200
    );
    assert_eq!(
        s.put("/apps/ORDERS/o1?lastDirtyTimestamp=1700000000001")
            .await,
        404
    );
    assert_eq!(
        s.put("/apps/ORDERS/o1?lastDirtyTimestamp=1600000000000")
            .await,
        200
    );
    // Replicated older: 409 with the stored record (E-05 format).
    let r = s
        .http
        .put(s.url("/apps/ORDERS/o1?lastDirtyTimestamp=1600000000000"))
        .header("x-netflix-discovery-replication", "true")
        .header("accept", "application/json")
        .send()
        .await
        .expect("PUT");
    assert_eq!(r.status().as_u16(), 409);
    let v: Value = serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
    assert_eq!(v["instance"]["instanceId"], "o1");
    // E-31: any other header value is not replication.
    let r = s
        .http
        .put(s.url("/apps/ORDERS/o1?lastDirtyTimestamp=1600000000000"))
        .header("x-netflix-discovery-replication", "TRUE")
        .send()
        .await
        .expect("PUT");
    assert_eq!(r.status().as_u16(), 200);
    // Bad timestamp: 400, and the status parameter never changes the status (R-21).
    assert_eq!(s.put("/apps/ORDERS/o1?lastDirtyTimestamp=soon").await, 400);
    assert_eq!(s.put("/apps/ORDERS/o1?status=DOWN").await, 200);
    assert_eq!(s.apps().await.0, "UP_1_");
}

#[tokio::test]
async fn e12_cancel() {
    let s = start().await;
    s.register("ORDERS", "o1", "UP").await;
    assert_eq!(s.delete("/apps/ORDERS/o1").await, 200);
    assert_eq!(s.delete("/apps/ORDERS/o1").await, 404);
    assert_eq!(s.get_json("/apps/ORDERS/o1").await.0, 404);
    assert_eq!(s.get_json("/apps/ORDERS").await.0, 404); // E-18: no instances, no app
    assert_eq!(s.apps().await, (String::new(), vec![]));
}

#[tokio::test]
async fn e13_r61_override_survives_heartbeats_and_reregistration() {
    let s = start().await;
    assert_eq!(
        s.register("ORDERS", "o1", "UP").await.status().as_u16(),
        204
    );
    assert_eq!(
        s.put("/apps/ORDERS/o1/status?value=OUT_OF_SERVICE").await,
        200
    );
    let (code, v) = s.get_json("/apps/ORDERS/o1").await;
    assert_eq!(code, 200);
    assert_eq!(v["instance"]["status"], "OUT_OF_SERVICE");
    assert_eq!(v["instance"]["overriddenStatus"], "OUT_OF_SERVICE");
    assert_eq!(v["instance"]["actionType"], "MODIFIED"); // R-62
                                                         // A heartbeat reporting UP does not lift it (R-21, R-61 rule 2).
    assert_eq!(s.put("/apps/ORDERS/o1?status=UP").await, 200);
    let (code, v) = s.get_json("/apps/ORDERS/o1").await;
    assert_eq!(code, 200);
    assert_eq!(v["instance"]["status"], "OUT_OF_SERVICE");
    assert_eq!(v["instance"]["overriddenStatus"], "OUT_OF_SERVICE");
    // The client restarts and registers UP, on another port: the new record is stored
    // (R-13), the override is kept and applied to it (R-10 step 5, R-61 rule 2).
    let r = s
        .post_json(
            "/apps/ORDERS",
            register_body("ORDERS", "o1", "o1.host", 9090, "UP"),
        )
        .await;
    assert_eq!(r.status().as_u16(), 204);
    assert!(r.bytes().await.expect("body").is_empty());
    let (code, v) = s.get_json("/apps/ORDERS/o1").await;
    assert_eq!(code, 200);
    let i = &v["instance"];
    assert_eq!(i["port"]["$"], 9090, "the re-registration was stored");
    assert_eq!(i["status"], "OUT_OF_SERVICE");
    assert_eq!(i["overriddenStatus"], "OUT_OF_SERVICE");
    assert_eq!(i["actionType"], "ADDED"); // R-14
    assert_eq!(
        s.apps().await,
        (
            "OUT_OF_SERVICE_1_".to_owned(),
            vec![("ORDERS".into(), "o1".into(), "OUT_OF_SERVICE".into())]
        )
    );
    assert_eq!(
        s.get_json("/serverinfo/statusoverrides").await,
        (200, json!({ "o1": "OUT_OF_SERVICE" }))
    );
    // The delta carries o1 once, in its latest state (R-82): the re-registration, with
    // the override.
    let (code, d) = s.get_json("/apps/delta").await;
    assert_eq!(code, 200);
    let (_, entries) = support::flatten(&d);
    assert_eq!(
        entries,
        vec![("ORDERS".into(), "o1".into(), "OUT_OF_SERVICE".into())]
    );
    let i = &d["applications"]["application"][0]["instance"][0];
    assert_eq!(i["overriddenStatus"], "OUT_OF_SERVICE");
    assert_eq!(i["actionType"], "ADDED");
    assert_eq!(i["port"]["$"], 9090);
    // Bad values are 400, unknown instances 404.
    assert_eq!(
        s.put("/apps/ORDERS/o1/status?value=out_of_service").await,
        400
    );
    assert_eq!(s.put("/apps/ORDERS/o1/status").await, 400);
    assert_eq!(s.put("/apps/ORDERS/nope/status?value=UP").await, 404);
}

#[tokio::test]
async fn e14_r64_delete_override_restores_status() {
    let s = start().await;
    s.register("ORDERS", "o1", "UP").await;
    s.register("ORDERS", "o2", "UP").await;
    assert_eq!(
        s.put("/apps/ORDERS/o1/status?value=OUT_OF_SERVICE").await,
        200
    );
    assert_eq!(
        s.put("/apps/ORDERS/o2/status?value=OUT_OF_SERVICE").await,
        200
    );
    assert_eq!(s.apps().await.0, "OUT_OF_SERVICE_2_");
    // With a value (what Java clients send).
    assert_eq!(s.delete("/apps/ORDERS/o1/status?value=UP").await, 200);
    // Without one (Spring): R-64 restores the reported status instead of UNKNOWN.
    assert_eq!(s.delete("/apps/ORDERS/o2/status").await, 200);
    let (hash, _) = s.apps().await;
    assert_eq!(hash, "UP_2_");
    let (_, v) = s.get_json("/apps/ORDERS/o2").await;
    assert_eq!(v["instance"]["overriddenStatus"], "UNKNOWN");
    // The heartbeat still works (no 404 loop, D8).
    assert_eq!(s.put("/apps/ORDERS/o2").await, 200);
    assert_eq!(s.delete("/apps/ORDERS/nope/status").await, 404);
    assert_eq!(s.delete("/apps/ORDERS/o1/status?value=bogus").await, 400);
}

#[tokio::test]
async fn e15_r70_metadata_update() {
    let s = start().await;
    s.register("ORDERS", "o1", "UP").await;
    assert_eq!(
        s.put("/apps/ORDERS/o1/metadata?zone=zone-b&version=2&version=3")
            .await,
        200
    );
    let (_, v) = s.get_json("/apps/ORDERS/o1").await;
    let md = &v["instance"]["metadata"];
    assert_eq!(md["zone"], "zone-b");
    assert_eq!(md["version"], "2"); // first value wins
    assert_eq!(md["management.port"], "8081"); // other keys kept
    assert_eq!(s.put("/apps/ORDERS/nope/metadata?a=b").await, 404);
    assert_eq!(s.put("/apps/ORDERS/o1/metadata?bad%20key=x").await, 400);
}

#[tokio::test]
async fn e05_e06_e07_negotiation_and_gzip() {
    let s = start().await;
    s.register("ORDERS", "o1", "UP").await;
    let get = |accept: Option<&'static str>, enc: Option<&'static str>| {
        let mut b = s.http.get(s.url("/apps"));
        if let Some(a) = accept {
            b = b.header("accept", a);
        }
        if let Some(e) = enc {
            b = b.header("accept-encoding", e);
        }
        b.send()
    };
    // XML unless Accept contains "json".
    for (accept, ct) in [
        (None, "application/xml"),
        (Some("*/*"), "application/xml"),
        (Some("application/xml"), "application/xml"),
        (
            Some("application/xml, application/json"),
            "application/json",
        ),
        (Some("application/json;q=0.1"), "application/json"),
    ] {
        let r = get(accept, None).await.expect("GET");
        assert_eq!(r.headers()["content-type"], ct, "{accept:?}");
        assert!(r.headers().get("content-encoding").is_none());
    }
    let xml = get(None, None)
        .await
        .expect("GET")
        .text()
        .await
        .expect("text");
    assert!(xml.starts_with("<applications>\n  <versions__delta>1</versions__delta>\n  <apps__hashcode>UP_1_</apps__hashcode>"), "{xml}");
    // gzip only when offered, and it decodes to the plain bytes.
    let plain = get(Some("application/json"), None)
        .await
        .expect("GET")
        .bytes()
        .await
        .expect("b");
    let r = get(Some("application/json"), Some("gzip, deflate"))
        .await
        .expect("GET");
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let gz = r.bytes().await.expect("b");
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut out)
        .expect("gunzip");
    assert_eq!(out, plain.as_ref());
}

#[tokio::test]
async fn e17_r82_r83_delta() {
    let s = start().await;
    s.register("ORDERS", "o1", "UP").await;
    s.register("ORDERS", "o2", "UP").await;
    s.register("PAYMENTS", "p1", "UP").await;
    assert_eq!(s.delete("/apps/ORDERS/o2").await, 200);
    assert_eq!(
        s.put("/apps/PAYMENTS/p1/status?value=OUT_OF_SERVICE").await,
        200
    );
    let (code, d) = s.get_json("/apps/delta").await;
    assert_eq!(code, 200);
    let (full_hash, _) = s.apps().await;
    assert_eq!(full_hash, "OUT_OF_SERVICE_1_UP_1_");
    // R-83: the delta's hash is the whole registry's.
    assert_eq!(d["applications"]["apps__hashcode"], full_hash.as_str());
    let version: i64 = d["applications"]["versions__delta"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("string version");
    assert!(version > 0);
    let mut seen = Vec::new();
    for app in d["applications"]["application"].as_array().expect("array") {
        for i in app["instance"].as_array().expect("array") {
            seen.push((
                i["instanceId"].as_str().unwrap_or_default().to_owned(),
                i["actionType"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("o1".into(), "ADDED".into()),
            ("o2".into(), "DELETED".into()),
            ("p1".into(), "MODIFIED".into())
        ]
    );
    // The version moves when the delta changes.
    s.register("ORDERS", "o3", "UP").await;
    let (_, d2) = s.get_json("/apps/delta").await;
    let v2: i64 = d2["applications"]["versions__delta"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("version");
    assert!(v2 > version);

    let mut cfg = support::config();
    cfg.disable_delta = true;
    let s = start_with(cfg).await;
    assert_eq!(s.get_json("/apps/delta").await.0, 403);
}

#[tokio::test]
async fn e20_e21_instances_and_vips() {
    let s = start().await;
    s.register("ORDERS", "o1", "UP").await;
    s.register("ORDERS", "o2", "UP").await;
    s.register("BILLING", "b1", "UP").await;
    assert_eq!(
        s.put("/apps/ORDERS/o2/status?value=OUT_OF_SERVICE").await,
        200
    );
    let (code, v) = s.get_json("/instances/b1").await;
    assert_eq!(code, 200);
    assert_eq!(v["instance"]["app"], "BILLING");
    assert_eq!(s.get_json("/instances/zz").await.0, 404);
    // VIP "orders" (case-sensitive, exact element).
    let (code, v) = s.get_json("/vips/orders").await;
    assert_eq!(code, 200);
    assert_eq!(v["applications"]["versions__delta"], "-1");
    assert_eq!(
        v["applications"]["apps__hashcode"],
        "OUT_OF_SERVICE_1_UP_1_"
    );
    assert_eq!(support::flatten(&v).1.len(), 2);
    let (code, v) = s.get_json("/svips/billing-secure").await;
    assert_eq!(code, 200);
    assert_eq!(
        support::flatten(&v).1,
        vec![("BILLING".into(), "b1".into(), "UP".into())]
    );
    assert_eq!(s.get_json("/vips/ORDERS").await.0, 404);
    assert_eq!(s.get_json("/vips/nothing").await.0, 404);
    assert_eq!(s.get_json("/svips/orders").await.0, 404);
}

#[tokio::test]
async fn e01_e02_e26_paths_versions_and_methods() {
    let s = start().await;
    s.register("ORDERS", "o1", "UP").await;
    for p in [
        "/apps",
        "/apps/",
        "/v2/apps",
        "/v2/apps/",
        "/v2/apps/ORDERS/o1/",
    ] {
        assert_eq!(s.get_json(p).await.0, 200, "{p}");
    }
    assert_eq!(s.get_json("/v3/apps").await.0, 404);
    assert_eq!(s.get_json("/nothing").await.0, 404);
    let r = s
        .http
        .get(format!("{}/../apps", s.base))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status().as_u16(), 404);
    let r = s.send(Method::POST, "/apps").await;
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(r.headers()["allow"], "GET");
    // E-23: no AWS, 400.
    assert_eq!(s.put("/asg/my-asg/status?value=ENABLED").await, 400);
    // E-09: bodies on PUT/DELETE are ignored.
    let r = s
        .http
        .put(s.url("/apps/ORDERS/o1"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("PUT");
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test]
async fn e30_w91_compact_json() {
    let s = start().await;
    s.register("ORDERS", "o1", "UP").await;
    let r = s
        .http
        .get(s.url("/apps"))
        .header("accept", "application/json")
        .header("x-eureka-accept", "COMPACT")
        .send()
        .await
        .expect("GET");
    let v: Value = serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
    let i = &v["applications"]["application"][0]["instance"][0];
    assert_eq!(i["instanceId"], "o1");
    assert!(i.get("metadata").is_none());
    assert!(i.get("leaseInfo").is_none());
    assert!(i["lastUpdatedTimestamp"].is_number());
}

#[tokio::test]
async fn e24_e25_status_endpoints() {
    let s = start().await;
    assert_eq!(
        s.register("ORDERS", "o1", "UP").await.status().as_u16(),
        204
    );
    assert_eq!(
        s.put("/apps/ORDERS/o1/status?value=OUT_OF_SERVICE").await,
        200
    );
    let (code, v) = s.get_json("/status").await;
    assert_eq!(code, 200);
    // E-24: the served document's own flag, a JSON boolean (not a string, not absent).
    assert_eq!(
        v.get("isHealthy").and_then(Value::as_bool),
        Some(true),
        "isHealthy in {v}"
    );
    // Its statistics are the registry's: one instance, the hash GET /apps serves.
    assert_eq!(v["applicationStats"], json!({ "ORDERS": 1 }));
    assert_eq!(v["generalStats"]["registered-instances"], 1);
    assert_eq!(v["generalStats"]["apps__hashcode"], "OUT_OF_SERVICE_1_");
    assert_eq!(s.apps().await.0, "OUT_OF_SERVICE_1_");
    assert!(v["selfPreservation"]["reason"]
        .as_str()
        .is_some_and(|r| !r.is_empty()));
    let (code, v) = s.get_json("/serverinfo/statusoverrides").await;
    assert_eq!(code, 200);
    assert_eq!(v, json!({ "o1": "OUT_OF_SERVICE" }));
}

const BATCH_REQUEST: &str =
    "derived/DERIVED__legacy-jackson__POST-peerreplication-batch__request.json";
const BATCH_RESPONSE: &str =
    "derived/DERIVED__legacy-jackson__POST-peerreplication-batch__response.json";

/// POSTs a replication batch as a Java peer does (P-10) and returns its `responseList`,
/// checking the batch-level code (P-17) and that the body has no other key (P-10a).
async fn post_batch(s: &support::TestServer, body: Vec<u8>) -> Vec<Value> {
    let r = s
        .http
        .post(s.url("/peerreplication/batch/"))
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .header("x-netflix-discovery-replication", "true")
        .body(body)
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 200, "P-17: a decoded batch is 200");
    let v: Value = serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
    let keys: Vec<&String> = v.as_object().expect("an object").keys().collect();
    assert_eq!(keys, ["responseList"], "P-10a: {v}");
    v["responseList"].as_array().expect("responseList").clone()
}

/// Per item: its `statusCode` and whether it carries a `responseEntity` (P-15, P-18),
/// failing on any other key (P-10a).
fn outcomes(list: &[Value]) -> Vec<(i64, bool)> {
    list.iter()
        .map(|item| {
            let o = item.as_object().expect("an item object");
            for k in o.keys() {
                assert!(
                    k == "statusCode" || k == "responseEntity",
                    "P-10a: key {k} in {item}"
                );
            }
            let code = item["statusCode"].as_i64().expect("a numeric statusCode");
            (code, o.contains_key("responseEntity"))
        })
        .collect()
}

/// An InstanceInfo object without the fields the server fills from its own clock
/// (`lastUpdatedTimestamp` and the lease timestamps other than eviction, R-41).
fn without_clock(v: &Value) -> Value {
    let mut v = v.clone();
    let o = v.as_object_mut().expect("an InstanceInfo object");
    assert!(
        o.remove("lastUpdatedTimestamp").is_some(),
        "lastUpdatedTimestamp"
    );
    let lease = o
        .get_mut("leaseInfo")
        .and_then(Value::as_object_mut)
        .expect("leaseInfo");
    for k in [
        "registrationTimestamp",
        "lastRenewalTimestamp",
        "serviceUpTimestamp",
    ] {
        assert!(lease.remove(k).is_some(), "leaseInfo.{k}");
    }
    v
}

/// The stored InstanceInfo of `MYAPP/{id}` (must exist).
async fn stored(s: &support::TestServer, id: &str) -> Value {
    let (code, v) = s.get_json(&format!("/apps/MYAPP/{id}")).await;
    assert_eq!(code, 200, "{id} is stored");
    v["instance"].clone()
}

#[tokio::test]
async fn e22_p16_replication_batch_receiver() {
    const H1: &str = "host1:myapp:8080";
    const H2: &str = "host2:myapp:8080";
    const H3: &str = "host3:myapp:8080";
    let s = start().await;
    let req: Value = serde_json::from_slice(&fixture(BATCH_REQUEST)).expect("request JSON");
    let want: Value = serde_json::from_slice(&fixture(BATCH_RESPONSE)).expect("response JSON");
    let want_list = want["responseList"].as_array().expect("responseList");
    let want_entity = &want_list[2]["responseEntity"];

    // The registry the fixture's answer was given by, so that each item has exactly one
    // outcome: host1 unknown (item 1 registers it); host2 stored as the fixture's 409
    // entity: operator override OUT_OF_SERVICE, lastDirtyTimestamp ...900, newer than the
    // ...500 of the host2 heartbeat (item 3); host3 never seen (item 6).
    let mut host2 = want_entity.clone();
    host2["status"] = "UP".into();
    host2["overriddenStatus"] = "UNKNOWN".into();
    let r = s
        .post_json("/apps/MYAPP", json!({ "instance": host2 }).to_string())
        .await;
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(
        s.put(&format!("/apps/MYAPP/{H2}/status?value=OUT_OF_SERVICE"))
            .await,
        200
    );
    assert_eq!(
        without_clock(&stored(&s, H2).await),
        without_clock(want_entity),
        "host2 is prepared as the fixture's stored record"
    );
    assert_eq!(s.get_json(&format!("/apps/MYAPP/{H1}")).await.0, 404);
    assert_eq!(s.get_json(&format!("/apps/MYAPP/{H3}")).await.0, 404);

    let list = post_batch(&s, fixture(BATCH_REQUEST)).await;
    // P-15: one item per request item, in order. P-16: Register 200 (always); heartbeat of
    // the host1 just registered, same lastDirtyTimestamp, 200; host2 heartbeat older than
    // stored, by replication, 409 (R-50); StatusUpdate 200; DeleteStatusOverride 200;
    // Cancel of the unknown host3 404. P-18: an entity on the 409 item only.
    let expected = [
        (200, false),
        (200, false),
        (409, true),
        (200, false),
        (200, false),
        (404, false),
    ];
    assert_eq!(outcomes(&list), expected);
    assert_eq!(outcomes(want_list), expected, "the fixture's answer");
    // The 409 entity is the stored record (E-05 legacy JSON, no wrapper), as in the fixture.
    let entity = &list[2]["responseEntity"];
    assert_eq!(without_clock(entity), without_clock(want_entity));
    assert_eq!(entity["instanceId"], H2);
    assert_eq!(entity["lastDirtyTimestamp"], "1700000000900");

    // The registry afterwards.
    let after = s.apps().await;
    assert_eq!(
        after,
        (
            "OUT_OF_SERVICE_1_UNKNOWN_1_".to_owned(),
            vec![
                ("MYAPP".into(), H1.into(), "UNKNOWN".into()),
                ("MYAPP".into(), H2.into(), "OUT_OF_SERVICE".into()),
            ]
        )
    );
    // host1 is the Register item's record (R-15: replicated, stored as sent), then item 4
    // set an override and item 5 deleted it with value UNKNOWN (E-14, R-63): status
    // UNKNOWN, no override, MODIFIED. (Had item 4 stored no override, item 5 would have
    // changed nothing and host1 would be UP.)
    let h1 = stored(&s, H1).await;
    let mut want_h1 = req["replicationList"][0]["instanceInfo"].clone();
    want_h1["status"] = "UNKNOWN".into();
    want_h1["overriddenStatus"] = "UNKNOWN".into();
    want_h1["actionType"] = "MODIFIED".into();
    assert_eq!(without_clock(&h1), without_clock(&want_h1));
    assert_eq!(h1["statusPageUrl"], "http://host1:8080/Status");
    assert_eq!(h1["lastDirtyTimestamp"], "1700000000000");
    // host2 is untouched by the older heartbeat: its override, status and timestamp stay.
    let h2 = stored(&s, H2).await;
    assert_eq!(without_clock(&h2), without_clock(want_entity));
    assert_eq!(h2["status"], "OUT_OF_SERVICE");
    assert_eq!(h2["overriddenStatus"], "OUT_OF_SERVICE");
    assert_eq!(h2["lastDirtyTimestamp"], "1700000000900");
    // The 404 Cancel created nothing; only host2's override is left.
    assert_eq!(s.get_json(&format!("/apps/MYAPP/{H3}")).await.0, 404);
    assert_eq!(
        s.get_json("/serverinfo/statusoverrides").await,
        (200, json!({ H2: "OUT_OF_SERVICE" }))
    );

    // The same batch retried (P-20: harmless) once host3 exists: the same outcomes, except
    // that the Cancel now finds host3 (200) and removes it (R-30: DELETED in the delta).
    assert_eq!(s.register("MYAPP", H3, "UP").await.status().as_u16(), 204);
    assert_eq!(s.get_json(&format!("/apps/MYAPP/{H3}")).await.0, 200);
    let list = post_batch(&s, fixture(BATCH_REQUEST)).await;
    assert_eq!(
        outcomes(&list),
        [
            (200, false),
            (200, false),
            (409, true),
            (200, false),
            (200, false),
            (200, false),
        ]
    );
    assert_eq!(
        without_clock(&list[2]["responseEntity"]),
        without_clock(want_entity)
    );
    assert_eq!(s.get_json(&format!("/apps/MYAPP/{H3}")).await.0, 404);
    assert_eq!(s.apps().await, after);
    assert_eq!(without_clock(&stored(&s, H1).await), without_clock(&h1));
    assert_eq!(without_clock(&stored(&s, H2).await), without_clock(&h2));
    let (_, d) = s.get_json("/apps/delta").await;
    let h3_delta: Vec<&Value> = d["applications"]["application"]
        .as_array()
        .expect("delta apps")
        .iter()
        .flat_map(|a| a["instance"].as_array().expect("instances"))
        .filter(|i| i["instanceId"] == H3)
        .collect();
    assert_eq!(h3_delta.len(), 1, "{d}");
    assert_eq!(h3_delta[0]["actionType"], "DELETED");

    // Unknown action: 400 for the batch and nothing applied (P-14), not even the valid
    // Cancel before the bad item.
    let bad = format!(
        r#"{{"replicationList":[{{"appName":"MYAPP","id":"{H2}","action":"Cancel"}},{{"appName":"X","id":"x","action":"Register2"}}]}}"#
    );
    let r = s.post_json("/peerreplication/batch", bad).await;
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(s.apps().await, after);
    assert_eq!(stored(&s, H2).await["status"], "OUT_OF_SERVICE");
}

/// Bad input of every kind: always a 4xx (or a 2xx for harmless requests), never a 5xx,
/// and nothing changes.
#[tokio::test]
async fn bad_input_never_5xx_and_changes_nothing() {
    use rand::{Rng, SeedableRng};
    let s = start().await;
    s.register("ORDERS", "o1", "UP").await;
    let before = s.apps().await;
    let good = register_body("ORDERS", "o2", "h2", 8080, "UP");
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for n in 0..200 {
        let mut body = good.clone().into_bytes();
        // Truncate or corrupt, never leaving the body valid.
        match n % 3 {
            0 => body.truncate(rng.random_range(0..body.len() - 1)),
            1 => {
                for _ in 0..4 {
                    let at = rng.random_range(0..body.len());
                    body[at] = rng.random();
                }
                body.truncate(body.len() - 2);
            }
            _ => {
                body = (0..rng.random_range(0..300))
                    .map(|_| rng.random())
                    .collect()
            }
        }
        let ct = ["application/json", "application/xml"][n % 2];
        let r = s
            .http
            .post(s.url("/apps/ORDERS"))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .expect("POST");
        let code = r.status().as_u16();
        assert!((400..500).contains(&code), "case {n}: {code}");
    }
    for path in [
        "/apps/%",
        "/apps/ORDERS/o1?lastDirtyTimestamp=-1",
        "/apps/ORDERS/o1/status?value=",
        "/apps/ORDERS/o1?overriddenstatus=X",
    ] {
        let code = s.put(path).await;
        assert!((400..500).contains(&code), "{path}: {code}");
    }
    assert_eq!(s.apps().await, before);
}
