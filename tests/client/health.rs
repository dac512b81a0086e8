//! Health checks of the registering instance against the crate's own server (C-08,
//! issue 15): a sick instance leaves a watching consumer's Discover without a lease
//! expiry, flapping is rate-limited, a hanging or panicking check counts as DOWN.

use crate::inproc::{LiveIds, Registry};
use crate::support::wait_until;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tower_eureka::client::{EurekaClient, Health, Target};
use tower_eureka::model::{InstanceInfo, Status};

const ID: &str = "orders-1:orders:8080";
const UP: u8 = 0;
const DOWN: u8 = 1;
const HANG: u8 = 2;
const PANIC: u8 = 3;

fn me() -> InstanceInfo {
    InstanceInfo::builder("orders")
        .host_name("orders-1")
        .ip_addr("127.0.0.1")
        .port(8080)
        .build()
}

/// A health check driven by `state`.
fn check(
    state: &Arc<AtomicU8>,
) -> impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Health> + Send>>
       + Send
       + Sync
       + 'static {
    let state = state.clone();
    move || {
        let state = state.clone();
        Box::pin(async move {
            match state.load(Ordering::SeqCst) {
                UP => Health::Up,
                DOWN => Health::Down,
                HANG => std::future::pending().await,
                _ => panic!("health check blew up"),
            }
        })
    }
}

fn producer(reg: &Registry, state: &Arc<AtomicU8>) -> EurekaClient {
    EurekaClient::builder([reg.url.clone()])
        .instance(me())
        .register_only()
        .health_check(check(state))
        .health_check_interval(Duration::from_secs(1))
        .health_check_timeout(Duration::from_secs(3))
        .rng_seed(1)
        .start()
        .unwrap()
}

fn consumer(reg: &Registry) -> EurekaClient {
    EurekaClient::builder([reg.url.clone()])
        .fetch_only()
        .rng_seed(2)
        .start()
        .unwrap()
}

fn server_status(consumer: &EurekaClient) -> Option<Status> {
    consumer
        .instances(&Target::app("orders"))
        .first()
        .map(|i| i.status)
}

// C-08, C-26: health DOWN -> re-registered DOWN -> the watching consumer's Discover drops
// the endpoint while the lease (90 s) is still good.
#[tokio::test(start_paused = true)]
async fn c08_health_down_leaves_a_watching_discover_without_a_lease_expiry() {
    let reg = Registry::start().await;
    let state = Arc::new(AtomicU8::new(UP));
    let producer = producer(&reg, &state);
    let consumer = consumer(&reg);
    let live = LiveIds::follow(consumer.snapshots(), Target::app("orders"));
    wait_until(Duration::from_secs(60), || live.contains(ID)).await;
    assert_eq!(reg.registrations().len(), 1);

    state.store(DOWN, Ordering::SeqCst);
    let flipped = Instant::now();
    wait_until(Duration::from_secs(60), || !live.contains(ID)).await;
    let gone_after = flipped.elapsed();

    // Still registered, as DOWN: the status removed it, not an eviction.
    assert_eq!(server_status(&consumer), Some(Status::Down));
    assert!(producer.is_registered());
    let lease = Duration::from_secs(u64::from(me().lease_info.duration_in_secs));
    assert!(
        gone_after < lease,
        "removed after {gone_after:?}, lease {lease:?}"
    );
    // A registration carrying DOWN, not a status override.
    let regs = reg.registrations();
    assert_eq!(regs.len(), 2, "{regs:?}");
    assert_eq!(regs[1].registered_status.as_deref(), Some("DOWN"));
    assert!(!reg.seen().iter().any(|s| s.path.ends_with("/status")));
    // The consumer learnt it by watching (a waiting delta), not by a periodic poll.
    assert!(reg.fetches().iter().any(|f| f.query.contains("watch=")));
    eprintln!("health DOWN -> endpoint removed after {gone_after:?} (paused tokio time)");

    // Healthy again: back in.
    state.store(UP, Ordering::SeqCst);
    wait_until(Duration::from_secs(60), || live.contains(ID)).await;
    assert_eq!(server_status(&consumer), Some(Status::Up));
}

// C-08: flapping every second for a minute sends at most the burst plus 4 a minute, and the
// registry ends at the final state.
#[tokio::test(start_paused = true)]
async fn c08_flapping_health_is_rate_limited_and_ends_at_the_final_state() {
    let reg = Registry::start().await;
    let state = Arc::new(AtomicU8::new(UP));
    let start = Instant::now();
    let _producer = producer(&reg, &state);
    let consumer = consumer(&reg);
    wait_until(Duration::from_secs(10), || reg.registrations().len() == 1).await;
    let flips = 60;
    for k in 0..flips {
        let s = if k % 2 == 0 { DOWN } else { UP };
        state.store(s, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    // The last flip (k = 59) set UP; end on DOWN.
    state.store(DOWN, Ordering::SeqCst);
    // The pending change goes out when the bucket has a token (at most 15 s).
    tokio::time::sleep(Duration::from_secs(40)).await;
    let elapsed = start.elapsed();

    // The instance's requests in order; a heartbeat answered 404 (the server holds an
    // older record while a change waits for its token) re-registers at once (C-12), on
    // top of the on-demand updates.
    let mine: Vec<_> = reg
        .seen()
        .into_iter()
        .filter(|s| s.path.contains("/apps/ORDERS"))
        .collect();
    let times: Vec<_> = mine
        .iter()
        .map(|s| {
            (
                s.method.to_string(),
                s.status,
                s.at - start,
                s.registered_status.clone(),
            )
        })
        .collect();
    let regs = reg.registrations();
    let on_demand: Vec<_> = mine
        .windows(2)
        .filter(|w| w[1].method == http::Method::POST)
        .filter(|w| !(w[0].method == http::Method::PUT && w[0].status == 404))
        .map(|w| w[1].at)
        .collect();
    let heartbeat_reregistrations = regs.len() - 1 - on_demand.len();
    // Burst 2, then 4 a minute (one each 15 s).
    let allowed = 2 + (elapsed.as_secs() / 15) as usize;
    assert!(
        on_demand.len() <= allowed,
        "{} updates in {elapsed:?}, allowed {allowed}: {times:?}",
        on_demand.len()
    );
    assert!(on_demand.len() >= 4, "changes were sent: {times:?}");
    // At most one heartbeat per 30 s period.
    assert!(
        heartbeat_reregistrations <= (elapsed.as_secs() / 29) as usize,
        "{times:?}"
    );
    // Once the burst is spent, never two on-demand updates closer than the refill.
    for w in on_demand.windows(3) {
        assert!(w[2] - w[0] >= Duration::from_secs(15), "{times:?}");
    }
    assert_eq!(
        regs.last().and_then(|r| r.registered_status.as_deref()),
        Some("DOWN")
    );
    wait_until(Duration::from_secs(60), || {
        server_status(&consumer) == Some(Status::Down)
    })
    .await;
    eprintln!(
        "{flips} health flips in 60 s -> {} on-demand registrations, {heartbeat_reregistrations} after a heartbeat's 404: {times:?}",
        on_demand.len()
    );
}

// C-08: a check that hangs counts as DOWN once its timeout passed (not before); a check
// that panics counts as DOWN and the client keeps going.
#[tokio::test(start_paused = true)]
async fn c08_hanging_or_panicking_checks_count_as_down() {
    let reg = Registry::start().await;
    let state = Arc::new(AtomicU8::new(UP));
    let producer = producer(&reg, &state);
    let consumer = consumer(&reg);
    wait_until(Duration::from_secs(10), || {
        server_status(&consumer) == Some(Status::Up)
    })
    .await;

    state.store(HANG, Ordering::SeqCst);
    let hung = Instant::now();
    wait_until(Duration::from_secs(30), || reg.registrations().len() == 2).await;
    let down = &reg.registrations()[1];
    assert_eq!(down.registered_status.as_deref(), Some("DOWN"));
    // Next poll within the 1 s interval, then the 3 s timeout.
    assert!(
        down.at - hung >= Duration::from_secs(3),
        "{:?}",
        down.at - hung
    );

    state.store(UP, Ordering::SeqCst);
    wait_until(Duration::from_secs(30), || reg.registrations().len() == 3).await;
    assert_eq!(
        reg.registrations()[2].registered_status.as_deref(),
        Some("UP")
    );

    state.store(PANIC, Ordering::SeqCst);
    wait_until(Duration::from_secs(30), || reg.registrations().len() == 4).await;
    assert_eq!(
        reg.registrations()[3].registered_status.as_deref(),
        Some("DOWN")
    );
    // The client survived the panic: healthy again, registered UP again (token bucket
    // permitting), and heart-beating.
    state.store(UP, Ordering::SeqCst);
    wait_until(Duration::from_secs(60), || {
        server_status(&consumer) == Some(Status::Up)
    })
    .await;
    assert!(producer.is_registered());
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert!(producer.metrics().snapshot().heartbeats_ok > 0);
}

// C-08: the application's OUT_OF_SERVICE stays whatever the health says; its UP does not
// beat health DOWN. What the client sends is checked in the register bodies: the server
// keeps a stored UP when a client re-registers OUT_OF_SERVICE (R-61 rule 4, as Java does).
#[tokio::test(start_paused = true)]
async fn c08_the_applications_status_and_health_combine_as_in_java() {
    let reg = Registry::start().await;
    let state = Arc::new(AtomicU8::new(UP));
    let producer = producer(&reg, &state);
    let consumer = consumer(&reg);
    let sent = || -> Vec<String> {
        reg.registrations()
            .into_iter()
            .filter_map(|r| r.registered_status)
            .collect()
    };
    wait_until(Duration::from_secs(10), || {
        server_status(&consumer) == Some(Status::Up)
    })
    .await;
    producer.set_status(Status::OutOfService);
    wait_until(Duration::from_secs(30), || sent().len() == 2).await;
    // Health DOWN while the application holds OUT_OF_SERVICE: nothing changes, nothing sent.
    state.store(DOWN, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(sent(), ["UP", "OUT_OF_SERVICE"]);
    assert_eq!(
        producer.instance().map(|i| i.status),
        Some(Status::OutOfService)
    );
    // The application says UP again: the health (DOWN) wins, and the server takes it
    // (R-61 rule 1).
    producer.set_status(Status::Up);
    wait_until(Duration::from_secs(30), || {
        server_status(&consumer) == Some(Status::Down)
    })
    .await;
    assert_eq!(sent(), ["UP", "OUT_OF_SERVICE", "DOWN"]);
    assert_eq!(producer.instance().map(|i| i.status), Some(Status::Down));
    // Healthy again: the application's UP is registered.
    state.store(UP, Ordering::SeqCst);
    wait_until(Duration::from_secs(30), || {
        server_status(&consumer) == Some(Status::Up)
    })
    .await;
    assert_eq!(sent(), ["UP", "OUT_OF_SERVICE", "DOWN", "UP"]);
}
