//! `BalancedClient` over a recording stand-in client: spread, failfast, retries, idle driving.

use crate::support::{get, inst, snapshot, Recorder};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tower::ServiceExt;
use tower_eureka::client::{ClientSnapshot, Target};
use tower_eureka::discover::{BalancedClient, Unavailable};
use tower_eureka::BoxError;

type Client = BalancedClient<String, String>;

fn three() -> Arc<ClientSnapshot> {
    snapshot(
        [
            inst("orders", "o1", "10.0.0.1", 80),
            inst("orders", "o2", "10.0.0.2", 80),
            inst("orders", "o3", "10.0.0.3", 80),
        ],
        1,
    )
}

/// The addresses of [`three`]'s endpoints, as the recorder answers them.
const THREE: [&str; 3] = ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"];

fn client(rx: watch::Receiver<Arc<ClientSnapshot>>, rec: &Recorder) -> Client {
    BalancedClient::builder()
        .failfast_timeout(Duration::from_secs(1))
        .per_try_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .build(rx, Target::app("orders"), rec.clone())
}

async fn call(c: &Client, req: http::Request<String>) -> Result<String, BoxError> {
    Ok(c.clone().oneshot(req).await?.into_body())
}

fn unavailable(e: &BoxError) -> &Unavailable {
    e.downcast_ref::<Unavailable>()
        .unwrap_or_else(|| panic!("expected Unavailable, got {e}"))
}

#[tokio::test(start_paused = true)]
async fn spreads_calls_over_three_endpoints() {
    let rec = Recorder::default();
    let (_tx, rx) = watch::channel(three());
    let c = client(rx, &rec);
    let mut by_endpoint: HashMap<String, usize> = HashMap::new();
    for _ in 0..300 {
        let answered_by = call(&c, get("http://orders/x"))
            .await
            .expect("call succeeds");
        *by_endpoint.entry(answered_by).or_default() += 1;
    }
    assert_eq!(by_endpoint.len(), 3, "{by_endpoint:?}");
    for ep in ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"] {
        assert!(by_endpoint[ep] > 0, "{ep} never called: {by_endpoint:?}");
    }
    // The request URI was rewritten to the endpoint's address.
    assert_eq!(rec.calls().len(), 300);
}

#[tokio::test(start_paused = true)]
async fn the_client_is_clone_send_sync() {
    fn assert_all<T: Clone + Send + Sync + 'static>(_: &T) {}
    let rec = Recorder::default();
    let (_tx, rx) = watch::channel(three());
    let c = client(rx, &rec);
    assert_all(&c);
    assert_eq!(c.target(), "app ORDERS");
    // Clones share one balancer and can be used from other tasks.
    let c2 = c.clone();
    let h = tokio::spawn(async move { call(&c2, get("/")).await.map_err(|e| e.to_string()) });
    let answered_by = h
        .await
        .expect("task ran")
        .expect("the clone's call succeeds");
    assert!(THREE.contains(&answered_by.as_str()), "{answered_by}");
    assert_eq!(rec.calls(), [answered_by]);
}

// With an empty set the call fails with a clear error within the failfast timeout;
// C-25: before the first fetch too.
#[tokio::test(start_paused = true)]
async fn c25_failfast_with_an_empty_set() {
    let rec = Recorder::default();
    let (tx, rx) = watch::channel(Arc::new(ClientSnapshot::empty()));
    let c = client(rx, &rec);

    // Not fetched yet.
    let started = tokio::time::Instant::now();
    let err = call(&c, get("/")).await.expect_err("no endpoints");
    let e = unavailable(&err);
    assert!(e.is_no_endpoints());
    assert_eq!(e.target(), "app ORDERS");
    assert!(err.to_string().contains("app ORDERS"), "{err}");
    // It was failfast (1 s), not the per-try timeout (5 s) nor the total one.
    assert!(started.elapsed() < Duration::from_secs(5));

    // Fetched, the app absent: same error; while failing fast it comes at once.
    tx.send_replace(snapshot([inst("billing", "b1", "10.0.1.1", 80)], 1));
    let started = tokio::time::Instant::now();
    let err = call(&c, get("/")).await.expect_err("no endpoints");
    assert!(unavailable(&err).is_no_endpoints());
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert!(rec.calls().is_empty());

    // Endpoints arrive: calls succeed again, and this is the first to reach an endpoint.
    tx.send_replace(three());
    let answered_by = call(&c, get("/")).await.expect("endpoints are back");
    assert!(THREE.contains(&answered_by.as_str()), "{answered_by}");
    assert_eq!(rec.calls(), [answered_by]);
}

#[tokio::test(start_paused = true)]
async fn a_target_emptied_later_fails_fast_too() {
    let rec = Recorder::default();
    let (tx, rx) = watch::channel(three());
    let c = client(rx, &rec);
    let answered_by = call(&c, get("/")).await.expect("three endpoints");
    assert!(THREE.contains(&answered_by.as_str()), "{answered_by}");
    tx.send_replace(snapshot([], 2));
    let err = call(&c, get("/")).await.expect_err("app gone");
    assert!(unavailable(&err).is_no_endpoints());
    // The failed call reached no endpoint.
    assert_eq!(rec.calls(), [answered_by]);
}

#[tokio::test(start_paused = true)]
async fn retries_move_a_failed_idempotent_call_to_another_endpoint() {
    let rec = Recorder::default();
    let (_tx, rx) = watch::channel(three());
    let c = client(rx, &rec);
    for method in [http::Method::GET, http::Method::PUT, http::Method::DELETE] {
        // Let earlier failures' rests end, so that one failure per round is the only one.
        tokio::time::sleep(Duration::from_secs(30)).await;
        let before = rec.calls().len();
        rec.fail_next(1);
        let req = http::Request::builder()
            .method(method.clone())
            .uri("http://orders/x")
            .body("payload".to_owned())
            .expect("valid request");
        let body = call(&c, req).await.expect("the retry succeeds");
        let calls = rec.calls()[before..].to_vec();
        assert_eq!(calls.len(), 2, "{method}: {calls:?}");
        assert_ne!(
            calls[0], calls[1],
            "{method}: retried on the failed endpoint"
        );
        assert_eq!(body, calls[1]);
    }
}

#[tokio::test(start_paused = true)]
async fn a_post_is_not_retried() {
    let rec = Recorder::default();
    let (_tx, rx) = watch::channel(three());
    let c = client(rx, &rec);
    rec.fail_next(1);
    let req = http::Request::post("http://orders/x")
        .body("once".to_owned())
        .expect("valid request");
    let err = call(&c, req).await.expect_err("POST is not retried");
    assert!(err.to_string().contains("connection refused"), "{err}");
    assert_eq!(rec.calls().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn max_retries_zero_turns_retries_off() {
    let rec = Recorder::default();
    let (_tx, rx) = watch::channel(three());
    let c = BalancedClient::builder()
        .max_retries(0)
        .build(rx, Target::app("orders"), rec.clone());
    rec.fail_next(1);
    assert!(call(&c, get("/")).await.is_err());
    assert_eq!(rec.calls().len(), 1);
}

// A failed endpoint rests (reports Pending) rather than being evicted: with a single
// endpoint, the next call waits out the rest and reaches it again.
#[tokio::test(start_paused = true)]
async fn a_failed_endpoint_rests_and_comes_back() {
    let rec = Recorder::default();
    let (_tx, rx) = watch::channel(snapshot([inst("orders", "o1", "10.0.0.1", 80)], 1));
    let c = BalancedClient::builder()
        .max_retries(0)
        .build(rx, Target::app("orders"), rec.clone());
    rec.fail_next(1);
    assert!(call(&c, get("/")).await.is_err());
    assert_eq!(call(&c, get("/")).await.expect("back"), "10.0.0.1:80");
    assert_eq!(rec.calls(), ["10.0.0.1:80", "10.0.0.1:80"]);
}

// When every endpoint keeps failing, the balancer fails fast naming the known endpoints.
#[tokio::test(start_paused = true)]
async fn all_endpoints_failing_ends_in_unavailable() {
    let rec = Recorder::default();
    for a in ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"] {
        rec.fail_at(a);
    }
    let (_tx, rx) = watch::channel(three());
    let c = client(rx, &rec);
    let mut saw_unavailable = false;
    for _ in 0..10 {
        if let Err(e) = call(&c, get("/")).await {
            if let Some(u) = e.downcast_ref::<Unavailable>() {
                assert_eq!(u.known_endpoints(), 3);
                assert!(!u.is_no_endpoints());
                saw_unavailable = true;
                break;
            }
        }
    }
    assert!(saw_unavailable);
}

// The per-try timeout bounds an attempt; the retry goes elsewhere.
#[tokio::test(start_paused = true)]
async fn a_hung_attempt_times_out_and_is_retried() {
    let rec = Recorder::default();
    let (_tx, rx) = watch::channel(snapshot(
        [
            inst("orders", "o1", "10.0.0.1", 80),
            inst("orders", "o2", "10.0.0.2", 80),
        ],
        1,
    ));
    rec.hang_at("10.0.0.1:80");
    let c = BalancedClient::builder()
        .per_try_timeout(Duration::from_secs(2))
        .max_retries(3)
        .build(rx, Target::app("orders"), rec.clone());
    for _ in 0..5 {
        assert_eq!(call(&c, get("/")).await.expect("retried"), "10.0.0.2:80");
    }
}

// linkerd's habit: one task drives discovery and the endpoints even with no request.
#[tokio::test(start_paused = true)]
async fn the_pool_is_driven_while_idle() {
    let rec = Recorder::default();
    let (tx, rx) = watch::channel(Arc::new(ClientSnapshot::empty()));
    let _c = client(rx, &rec);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(rec.polls(), 0);
    tx.send_replace(three());
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(
        rec.polls() >= 3,
        "endpoints were not driven: {}",
        rec.polls()
    );
    assert!(rec.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_removed_endpoint_gets_no_more_calls() {
    let rec = Recorder::default();
    let (tx, rx) = watch::channel(three());
    let c = client(rx, &rec);
    for _ in 0..30 {
        call(&c, get("/")).await.expect("ok");
    }
    tx.send_replace(snapshot(
        [
            inst("orders", "o1", "10.0.0.1", 80),
            inst("orders", "o2", "10.0.0.9", 80),
        ],
        2,
    ));
    let before = rec.calls().len();
    for _ in 0..60 {
        call(&c, get("/")).await.expect("ok");
    }
    let after: Vec<_> = rec.calls()[before..].to_vec();
    assert!(!after.iter().any(|a| a == "10.0.0.3:80"), "o3 was removed");
    assert!(!after.iter().any(|a| a == "10.0.0.2:80"), "o2 moved");
    assert!(after.iter().any(|a| a == "10.0.0.9:80"));
}

#[tokio::test(start_paused = true)]
async fn responses_name_the_endpoint_that_served_them() {
    use tower_eureka::discover::ServedBy;
    let rec = Recorder::default();
    let (_tx, rx) = watch::channel(three());
    let c = client(rx, &rec);
    for _ in 0..10 {
        let rsp = c.clone().oneshot(get("/")).await.expect("ok");
        let by = rsp
            .extensions()
            .get::<ServedBy>()
            .expect("ServedBy set")
            .clone();
        assert_eq!(by.authority().as_str(), rsp.body());
        assert_eq!(by.scheme(), &http::uri::Scheme::HTTP);
        let id = by.instance_id().expect("instance id");
        assert_eq!(
            format!("10.0.0.{}:80", &id[1..]),
            rsp.body().as_str(),
            "id {id} does not match {}",
            rsp.body()
        );
    }
}

/// Fails its first `poll_ready`, then behaves like `Recorder`.
#[derive(Clone)]
struct FlakyReady {
    failed: Arc<std::sync::atomic::AtomicBool>,
    rec: Recorder,
}

impl tower::Service<http::Request<String>> for FlakyReady {
    type Response = http::Response<String>;
    type Error = BoxError;
    type Future = <Recorder as tower::Service<http::Request<String>>>::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), BoxError>> {
        if !self.failed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return std::task::Poll::Ready(Err("not connected yet".into()));
        }
        self.rec.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<String>) -> Self::Future {
        self.rec.call(req)
    }
}

// GUIDE trap: an endpoint whose poll_ready errors would be evicted until rediscovery;
// it rests (reports Pending) instead and serves afterwards.
#[tokio::test(start_paused = true)]
async fn an_endpoint_failing_readiness_rests_instead_of_being_evicted() {
    let rec = Recorder::default();
    let flaky = FlakyReady {
        failed: Arc::default(),
        rec: rec.clone(),
    };
    let (_tx, rx) = watch::channel(snapshot([inst("orders", "o1", "10.0.0.1", 80)], 1));
    let c: Client = BalancedClient::builder().build(rx, Target::app("orders"), flaky);
    let body = call(&c, get("/")).await.expect("served after the rest");
    assert_eq!(body, "10.0.0.1:80");
    assert_eq!(rec.calls().len(), 1);
}
