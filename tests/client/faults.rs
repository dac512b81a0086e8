//! The client against servers that misbehave on purpose (issue 11): a truncated gzip
//! body, a body slower than the read timeout, a black-holed server. In each case the
//! client keeps its last copy, reports the failure, and recovers by itself once the server
//! does (C-25, C-41).

use crate::support::*;
use std::time::Duration;
use tokio::time::Instant;
use tower_eureka::client::{EurekaClient, Target};

const EVERY: Duration = Duration::from_secs(10);

fn apps(n: usize) -> bytes::Bytes {
    let list: Vec<_> = (0..n)
        .map(|k| instance_json("orders", &format!("o{k}"), "UP", "ADDED"))
        .collect();
    apps_json("1", Some(&format!("UP_{n}_")), list)
}

fn fetcher(urls: Vec<String>) -> EurekaClient {
    EurekaClient::builder(urls)
        .fetch_interval(EVERY)
        .timeouts(Duration::from_secs(1), Duration::from_secs(2))
        .rng_seed(7)
        .start()
        .unwrap()
}

/// Waits (paused time, bounded) until the copy lists `n` ORDERS instances.
async fn lists(client: &EurekaClient, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while client.instances(&Target::app("ORDERS")).len() != n {
        assert!(Instant::now() < deadline, "{n} instances within 300 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Breaks the server's full fetch with `broken` (deltas fail too), checks that the copy
/// survives several cycles and that failures were seen, then repairs the server.
async fn survives(broken: Canned) {
    let server = FakeEureka::start().await;
    server.set(Route::Full, Canned::json(apps(2)));
    let client = fetcher(vec![server.url()]);
    lists(&client, 2).await;
    let errors = client.metrics().snapshot().fetch_errors;

    server.set(Route::Full, broken);
    server.set(Route::Delta, Canned::status(500));
    tokio::time::sleep(EVERY * 6).await;
    assert_eq!(
        client.instances(&Target::app("ORDERS")).len(),
        2,
        "the copy is kept"
    );
    assert!(client.snapshot().is_fetched());
    let s = client.metrics().snapshot();
    assert!(s.fetch_errors > errors, "the failures are counted: {s:?}");

    // The server recovers with a change: the client takes it by itself.
    server.set(Route::Full, Canned::json(apps(3)));
    lists(&client, 3).await;
}

// C-25: a gzip body cut in the middle is a failed fetch, not an empty registry.
#[tokio::test(start_paused = true)]
async fn c25_a_truncated_gzip_body_keeps_the_copy_and_recovers() {
    // The last 40 compressed bytes are missing: the end of the deflate stream and the
    // gzip trailer (CRC and length).
    survives(Canned::json(apps(50)).gzip().truncated_by(40)).await;
}

// C-25: a body slower than the read timeout is a failed fetch.
#[tokio::test(start_paused = true)]
async fn c25_a_body_slower_than_the_timeout_keeps_the_copy_and_recovers() {
    survives(Canned::json(apps(5)).delay(Duration::from_secs(30))).await;
}

// C-41: the first server accepts connections and never answers; the client fails over
// to the second within one read timeout and registers and fetches there.
#[tokio::test(start_paused = true)]
async fn c41_a_black_holed_server_fails_over_within_one_timeout() {
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hole_addr = hole.local_addr().expect("addr");
    // Accept and hold every connection, never reading or answering.
    let _holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = hole.accept().await {
            held.push(s);
        }
    });
    let good = FakeEureka::start().await;
    good.set(Route::Full, Canned::json(apps(1)));
    let start = Instant::now();
    let client = fetcher(vec![format!("http://{hole_addr}/eureka"), good.url()]);
    lists(&client, 1).await;
    let took = start.elapsed();
    assert!(
        took <= Duration::from_secs(2) + Duration::from_millis(500),
        "failover within one read timeout (2 s): {took:?}"
    );
    assert!(good.count(Route::Full) >= 1);
}
