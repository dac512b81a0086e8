//! Hostile bodies through the service (issue 11): a billion-laughs document, a DOCTYPE with
//! an external entity, 10,000 nested XML elements, 10,000 nested JSON arrays and objects,
//! as register bodies and as replication batches. Each is a 400 whose reason names the
//! cause, and the registry does not change. No sockets: `oneshot` on the service.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tower::ServiceExt;
use tower_eureka::codec::MAX_DEPTH;
use tower_eureka::server::EurekaService;

/// POSTs `body` and returns the status and the `x-eureka-error` reason.
async fn post(svc: &EurekaService, path: &str, ct: &str, body: Vec<u8>) -> (u16, String) {
    let req = http::Request::post(path)
        .header("content-type", ct)
        .body(Full::new(Bytes::from(body)))
        .expect("request");
    let res = svc.clone().oneshot(req).await.expect("infallible");
    let status = res.status().as_u16();
    let reason = res
        .headers()
        .get("x-eureka-error")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    res.into_body().collect().await.expect("body");
    (status, reason)
}

fn billion_laughs() -> Vec<u8> {
    let mut dtd = String::from("<!ENTITY lol0 \"lol\">");
    for n in 1..10 {
        let prev = format!("&lol{};", n - 1);
        dtd.push_str(&format!("<!ENTITY lol{n} \"{}\">", prev.repeat(10)));
    }
    format!(
        "<?xml version=\"1.0\"?><!DOCTYPE instance [{dtd}]>\
         <instance><hostName>&lol9;</hostName><app>MYAPP</app></instance>"
    )
    .into_bytes()
}

fn xxe() -> Vec<u8> {
    br#"<?xml version="1.0"?>
<!DOCTYPE instance [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<instance><hostName>&xxe;</hostName><app>MYAPP</app><ipAddr>10.0.0.1</ipAddr></instance>"#
        .to_vec()
}

fn nested_xml(depth: usize) -> Vec<u8> {
    [
        &b"<instance><hostName>h</hostName>"[..],
        &b"<x>".repeat(depth),
        &b"</x>".repeat(depth),
        b"</instance>",
    ]
    .concat()
}

fn nested_json(open: &[u8], close: &[u8], depth: usize) -> Vec<u8> {
    [
        &b"{\"instance\":{\"hostName\":\"h\",\"x\":"[..],
        &open.repeat(depth),
        b"0",
        &close.repeat(depth),
        b"}}",
    ]
    .concat()
}

// E-10, W-95: hostile register bodies are 400 with the cause as the reason, and change
// nothing.
#[tokio::test]
async fn e10_hostile_register_bodies_are_400_with_the_cause() {
    let svc = EurekaService::default();
    let cases = [
        (
            "billion laughs",
            "application/xml",
            billion_laughs(),
            "DOCTYPE",
        ),
        ("external entity", "application/xml", xxe(), "DOCTYPE"),
        (
            "10k nested elements",
            "application/xml",
            nested_xml(10_000),
            "nested deeper than",
        ),
        (
            "10k nested arrays",
            "application/json",
            nested_json(b"[", b"]", 10_000),
            "recursion limit",
        ),
        (
            "10k nested objects",
            "application/json",
            nested_json(b"{\"a\":", b"}", 10_000),
            "recursion limit",
        ),
    ];
    for (what, ct, body, why) in cases {
        let (status, reason) = post(&svc, "/apps/MYAPP", ct, body).await;
        assert_eq!(status, 400, "{what}");
        assert!(
            reason.starts_with("cannot parse request body") && reason.contains(why),
            "{what}: reason {reason:?} should name {why:?}"
        );
    }
    assert_eq!(svc.registry().len(), 0);
}

// W-53: below the bound, unknown nested values are still skipped and the body registers.
#[tokio::test]
async fn w53_unknown_values_below_the_bound_still_register() {
    let svc = EurekaService::default();
    let ok = |body: &[u8]| {
        let body = String::from_utf8_lossy(body)
            .replace("<hostName>h</hostName>", "<hostName>h</hostName><app>MYAPP</app><ipAddr>10.0.0.1</ipAddr><dataCenterInfo><name>MyOwn</name></dataCenterInfo>")
            .replace("\"hostName\":\"h\"", "\"hostName\":\"h\",\"app\":\"MYAPP\",\"ipAddr\":\"10.0.0.1\",\"dataCenterInfo\":{\"name\":\"MyOwn\"}");
        body.into_bytes()
    };
    let (status, reason) = post(
        &svc,
        "/apps/MYAPP",
        "application/xml",
        ok(&nested_xml(MAX_DEPTH - 1)),
    )
    .await;
    assert_eq!(status, 204, "{reason}");
    let (status, reason) = post(
        &svc,
        "/apps/MYAPP",
        "application/json",
        ok(&nested_json(b"[", b"]", 100)),
    )
    .await;
    assert_eq!(status, 204, "{reason}");
}

// E-22, P-11: a replication batch nested 10,000 levels deep is a 400, nothing applied.
#[tokio::test]
async fn e22_deeply_nested_batch_is_400() {
    let svc = EurekaService::default();
    for (open, close) in [(&b"["[..], &b"]"[..]), (b"{\"a\":", b"}")] {
        let body = [
            &br#"{"replicationList":[{"action":"Cancel","appName":"A","id":"i","x":"#[..],
            &open.repeat(10_000),
            b"0",
            &close.repeat(10_000),
            b"}]}",
        ]
        .concat();
        let (status, reason) = post(&svc, "/peerreplication/batch", "application/json", body).await;
        assert_eq!(status, 400);
        assert!(reason.contains("recursion limit"), "{reason:?}");
    }
    assert_eq!(svc.registry().len(), 0);
}
