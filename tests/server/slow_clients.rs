//! Slow and idle clients (issue 11): connections that never finish their request head are
//! closed after `header_read_timeout`; a body slower than `body_read_timeout` is answered
//! 408 and changes nothing; at `max_connections` new connections wait instead of being
//! served beside an unbounded number; through all of it a normal client is served.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower_eureka::server::{serve, EurekaService, ServerConfig};

const SLOW: usize = 150;

async fn start() -> (std::net::SocketAddr, EurekaService) {
    let svc = EurekaService::new(ServerConfig {
        prefix: "/eureka".into(),
        header_read_timeout: Duration::from_millis(300),
        body_read_timeout: Duration::from_millis(300),
        max_connections: 64,
        ..ServerConfig::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve(
        listener,
        svc.clone(),
        std::future::pending(),
        Duration::ZERO,
    ));
    (addr, svc)
}

/// Reads until the server closes the connection (bounded); returns what it sent.
async fn until_closed(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), s.read_to_end(&mut out)).await;
    match read {
        Ok(Ok(_)) => Some(out),
        Ok(Err(_)) => Some(out), // reset: closed too
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_closed_and_a_normal_client_is_served() {
    let (addr, _svc) = start().await;
    // More half-open requests than the connection limit.
    let mut slow = Vec::new();
    for _ in 0..SLOW {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"GET /eureka/apps HTTP/1.1\r\nHost: x\r\nAccept: appl")
            .await
            .expect("partial head");
        slow.push(s);
    }
    // A normal client gets its answer (the slow ones time out and make room).
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let res = http
        .get(format!("http://{addr}/eureka/apps"))
        .header("accept", "application/json")
        .send()
        .await
        .expect("a normal request is served");
    assert_eq!(res.status(), 200);
    // Every slow connection is closed by the server, without a response to its request.
    for (i, s) in slow.iter_mut().enumerate() {
        let Some(got) = until_closed(s).await else {
            panic!("slow connection {i} still open after 15 s");
        };
        let text = String::from_utf8_lossy(&got);
        assert!(!text.contains("200 OK"), "{i}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_slower_than_its_timeout_is_408_and_changes_nothing() {
    let (addr, svc) = start().await;
    let body = r#"{"instance":{"instanceId":"slow-1","hostName":"h","app":"SLOW","ipAddr":"127.0.0.1","status":"UP","dataCenterInfo":{"@class":"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo","name":"MyOwn"}}}"#;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /eureka/apps/SLOW HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("head");
    s.write_all(&body.as_bytes()[..20])
        .await
        .expect("part of the body");
    let Some(got) = until_closed(&mut s).await else {
        // The 408 keeps the connection open for the rest of a body that never comes:
        // reading with a bound is enough to see the answer.
        panic!("no answer within 15 s");
    };
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("did not arrive in time"), "{text}");
    assert!(svc.registry().instance("SLOW", "slow-1").is_none());
}
