//! The client's counters against a real in-process server on 127.0.0.1, restarted once.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::task::JoinHandle;
use tower_eureka::client::{ClientMetricsSnapshot, EurekaClient, Target};
use tower_eureka::model::InstanceInfo;
use tower_eureka::server::{serve, EurekaService};

struct Server {
    svc: EurekaService,
    stop: tokio::sync::oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

/// Serves a fresh registry on `addr` (port 0: any), retrying the bind for at most 5 s
/// while the previous server's socket goes away.
async fn start(addr: SocketAddr) -> (Server, SocketAddr) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let listener = loop {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => break l,
            Err(e) => {
                assert!(tokio::time::Instant::now() < deadline, "bind {addr}: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let addr = listener.local_addr().expect("local addr");
    let svc = EurekaService::new(super::config());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(
        listener,
        svc.clone(),
        async move {
            let _ = stopped.await;
        },
        Duration::from_millis(200),
    ));
    (Server { svc, stop, task }, addr)
}

async fn wait_for(what: &str, client: &EurekaClient, ok: impl Fn(&ClientMetricsSnapshot) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let s = client.metrics().snapshot();
        if ok(&s) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} within 15 s: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// C-20, C-22, C-12: a change arrives by delta; after a restart the server does not know the
// instance (heartbeat 404 → re-registration) and the delta no longer reconciles (→ full).
#[tokio::test]
async fn c12_c22_counters_move_with_deltas_a_restart_and_its_reregistration() {
    let (s1, addr) = start("127.0.0.1:0".parse().expect("addr")).await;
    let me = InstanceInfo::builder("cli")
        .instance_id("cli-1")
        .host_name("127.0.0.1")
        .ip_addr("127.0.0.1")
        .lease(1, 90)
        .build();
    let client = EurekaClient::builder([format!("http://{addr}/eureka")])
        .instance(me)
        .fetch_interval(Duration::from_millis(100))
        .initial_registration_delay(Duration::ZERO)
        .start()
        .expect("client");
    // The first full fetch may find the registry empty (before our registration), and an
    // empty copy is always refreshed in full: wait for deltas.
    wait_for("registered, a heartbeat, deltas", &client, |s| {
        s.registrations == 1 && s.full_fetches >= 1 && s.heartbeats_ok >= 1 && s.delta_fetches >= 1
    })
    .await;

    // A change on the server arrives by delta, not by a full fetch.
    let before = client.metrics().snapshot();
    let other = InstanceInfo::builder("other").instance_id("o-1").build();
    s1.svc
        .registry()
        .register(other, tower_eureka::registry::Origin::Client)
        .expect("register");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while client.instances(&Target::app("OTHER")).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the change within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = client.metrics().snapshot();
    assert!(after.delta_fetches > before.delta_fetches, "{after:?}");
    assert_eq!(after.full_fetches, before.full_fetches, "{after:?}");
    assert_eq!(after.reconcile_mismatches, 0, "{after:?}");
    assert_eq!(after.reregistrations, 0, "{after:?}");

    // Restart: a new, empty registry on the same address. The new server starts only once
    // the client has seen the old one gone (a fetch failed): otherwise the client's at-once
    // full fetch after its watch was cut may already reach the new server, which is right
    // too but leaves no delta to mismatch.
    let _ = s1.stop.send(());
    let _ = s1.task.await;
    wait_for("a failed fetch while no server runs", &client, |s| {
        s.fetch_errors > after.fetch_errors
    })
    .await;
    let (s2, _) = start(addr).await;
    wait_for("a re-registration", &client, |s| s.reregistrations == 1).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while s2.svc.registry().instance("CLI", "cli-1").is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "registered again within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The copy still holds OTHER, which the new server never had: the next delta does not
    // reconcile and a full fetch follows.
    wait_for("a mismatch and a full fetch", &client, |s| {
        s.reconcile_mismatches >= 1 && s.full_fetches > after.full_fetches
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !client.instances(&Target::app("OTHER")).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "OTHER gone within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The server may hold the re-registration a moment before the client has read its
    // answer: wait for the client's count rather than assume it.
    wait_for("the re-registration counted", &client, |s| {
        s.registrations >= 2
    })
    .await;
    let s = client.metrics().snapshot();
    // C-25: the copy's age is exposed once a copy was adopted.
    assert!(s.registry_age.is_some(), "{s:?}");
    assert_eq!(s.reregistrations, 1, "{s:?}");
    let _ = s2.stop.send(());
}
