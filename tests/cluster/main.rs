//! Peer replication between `eureka-server` processes on loopback ports (spec section 6,
//! issue 13): a three-node cluster given the same `--peer` list, a node restarted while
//! the others keep writing, readiness before the startup sync, and fault peers.

#[allow(unreachable_pub)]
#[path = "../java/harness.rs"]
mod java;
mod mixed;
mod partition;
mod reload;
mod support;

use reqwest::Method;
use std::time::Duration;
use support::*;

const WAIT: Duration = Duration::from_secs(20);

async fn instance_on(http: &Http, base: &str, app: &str, id: &str) -> Option<serde_json::Value> {
    http.json(&format!("{base}/apps/{app}/{id}")).await
}

async fn status_is(http: &Http, base: &str, app: &str, id: &str, want: &str) -> Option<()> {
    let v = instance_on(http, base, app, id).await?;
    (v["instance"]["status"] == want).then_some(())
}

// P-01, P-02, P-03, P-11, P-12, P-16, P-40: the same peer list for all three nodes; every
// kind of client write on A reaches B and C.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p02_three_nodes_replicate_every_write() {
    let http = Http::new();
    let ports = [free_port(), free_port(), free_port()];
    let nodes: Vec<Node> = ports.iter().map(|p| Node::start(*p, &ports, &[])).collect();
    for n in &nodes {
        wait_open(&http, &n.url()).await;
    }
    let (a, others) = (nodes[0].url(), [nodes[1].url(), nodes[2].url()]);

    assert_eq!(http.register(&a, "ORDERS", "o1").await, 204);
    for b in &others {
        eventually(WAIT, "register visible on the peer", || {
            status_is(&http, b, "ORDERS", "o1", "UP")
        })
        .await;
    }
    assert_eq!(
        http.send(Method::PUT, &format!("{a}/apps/ORDERS/o1"), None)
            .await,
        200
    );
    assert_eq!(
        http.send(
            Method::PUT,
            &format!("{a}/apps/ORDERS/o1/status?value=OUT_OF_SERVICE"),
            None
        )
        .await,
        200
    );
    for b in &others {
        eventually(WAIT, "override visible on the peer", || {
            status_is(&http, b, "ORDERS", "o1", "OUT_OF_SERVICE")
        })
        .await;
    }
    assert_eq!(
        http.send(
            Method::DELETE,
            &format!("{a}/apps/ORDERS/o1/status?value=UP"),
            None
        )
        .await,
        200
    );
    for b in &others {
        eventually(WAIT, "override deletion visible", || {
            status_is(&http, b, "ORDERS", "o1", "UP")
        })
        .await;
    }
    // A write on B travels to A and C too (every node is a sender).
    assert_eq!(http.register(&others[0], "ORDERS", "o2").await, 204);
    eventually(WAIT, "B's register on A", || {
        status_is(&http, &a, "ORDERS", "o2", "UP")
    })
    .await;
    eventually(WAIT, "B's register on C", || {
        status_is(&http, &others[1], "ORDERS", "o2", "UP")
    })
    .await;

    assert_eq!(
        http.send(Method::DELETE, &format!("{a}/apps/ORDERS/o1"), None)
            .await,
        200
    );
    for b in &others {
        eventually(WAIT, "cancel visible on the peer", || async {
            let (code, _) = http.get(&format!("{b}/apps/ORDERS/o1")).await;
            (code == 404).then_some(())
        })
        .await;
    }
    // P-45: A shows its two peers healthy with nothing queued or dropped.
    let s = eventually(WAIT, "peers healthy on A", || async {
        let s = http.status(&a).await?;
        let peers = s["peers"].as_array()?.clone();
        (peers.len() == 2
            && peers
                .iter()
                .all(|p| p["healthy"] == true && p["queued"] == 0 && p["inFlight"] == 0))
        .then_some(s)
    })
    .await;
    for p in s["peers"].as_array().cloned().unwrap_or_default() {
        assert_eq!(p["dropped"], 0, "{p}");
        assert_eq!(p["circuit"], "closed", "{p}");
    }
}

// P-35, P-40: C is killed, A keeps writing, C restarts on its port: it syncs and converges
// to exactly A's set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p40_restarted_node_converges_to_the_same_set() {
    let http = Http::new();
    let ports = [free_port(), free_port(), free_port()];
    let mut nodes: Vec<Node> = ports.iter().map(|p| Node::start(*p, &ports, &[])).collect();
    for n in &nodes {
        wait_open(&http, &n.url()).await;
    }
    let (a, b) = (nodes[0].url(), nodes[1].url());
    for i in 0..10 {
        assert_eq!(http.register(&a, "SHOP", &format!("s{i}")).await, 204);
    }
    nodes[2].kill();
    for i in 10..30 {
        assert_eq!(http.register(&a, "SHOP", &format!("s{i}")).await, 204);
    }
    for i in 0..5 {
        assert_eq!(
            http.send(Method::DELETE, &format!("{a}/apps/SHOP/s{i}"), None)
                .await,
            200
        );
    }
    assert_eq!(
        http.send(
            Method::PUT,
            &format!("{a}/apps/SHOP/s7/status?value=OUT_OF_SERVICE"),
            None
        )
        .await,
        200
    );
    // A reports C down while it is.
    eventually(WAIT, "A sees C's circuit open", || async {
        let s = http.status(&a).await?;
        let peers = s["peers"].as_array()?.clone();
        peers
            .iter()
            .any(|p| {
                p["url"]
                    .as_str()
                    .is_some_and(|u| u.contains(&ports[2].to_string()))
                    && p["circuit"] == "open"
            })
            .then_some(())
    })
    .await;
    nodes[2] = Node::start(ports[2], &ports, &[]);
    let c = nodes[2].url();
    let want = eventually(WAIT, "A's set", || http.instances(&a)).await;
    assert_eq!(want.len(), 25);
    assert!(want.contains(&("s7".into(), "OUT_OF_SERVICE".into())));
    eventually(WAIT, "C converges to A's set", || async {
        (http.instances(&c).await? == want).then_some(())
    })
    .await;
    eventually(WAIT, "B holds A's set", || async {
        (http.instances(&b).await? == want).then_some(())
    })
    .await;
}

// P-40, P-41: until the startup sync is over, registry reads answer 503 with Retry-After
// and writes are accepted; with no peer answering, the node opens after its budget and
// says so in /status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p40_reads_wait_for_the_sync_and_writes_do_not() {
    let http = Http::new();
    let hole_port = free_port();
    let hole = FaultPeer::start(hole_port, Fault::BlackHole).await;
    let port = free_port();
    let _n = Node::start(
        port,
        &[hole_port],
        &["--peer-sync-budget-ms=4000", "--peer-timeout-ms=500"],
    );
    let base = url(port);
    let s = eventually(WAIT, "node answers /status", || http.status(&base)).await;
    assert_eq!(s["openForTraffic"], false, "{s}");
    for path in ["apps", "apps/delta", "apps/X", "vips/x", "svips/x"] {
        let r = reqwest::get(format!("{base}/{path}")).await.expect("GET");
        assert_eq!(r.status(), 503, "{path}");
        assert!(r.headers().contains_key("retry-after"), "{path}");
    }
    assert_eq!(
        http.register(&base, "EARLY", "e1").await,
        204,
        "writes are accepted"
    );
    let s = eventually(WAIT, "opened after the budget", || async {
        let s = http.status(&base).await?;
        (s["openForTraffic"] == true).then_some(s)
    })
    .await;
    assert_eq!(s["startupSync"]["state"], "opened-without-peers", "{s}");
    let got = http.instances(&base).await.expect("apps after opening");
    assert_eq!(got, vec![("e1".to_owned(), "UP".to_owned())]);
    hole.stop().await;
}

// P-32, P-35: a peer that is down, answers 500, answers garbage, never answers, or answers
// too late: A keeps serving; once a real node takes the peer's port, it holds everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p32_fault_peers_lose_nothing_once_a_real_peer_is_back() {
    let http = Http::new();
    let faults = [
        None,
        Some(Fault::Error500),
        Some(Fault::Garbage),
        Some(Fault::BlackHole),
        Some(Fault::Slow(Duration::from_secs(3))),
    ];
    for (round, fault) in faults.into_iter().enumerate() {
        let (pa, pb) = (free_port(), free_port());
        let peers = [pa, pb];
        let fp = match fault {
            Some(f) => Some(FaultPeer::start(pb, f).await),
            None => None,
        };
        let _a = Node::start(
            pa,
            &peers,
            &["--peer-timeout-ms=500", "--peer-sync-budget-ms=1000"],
        );
        let a = url(pa);
        wait_open(&http, &a).await;
        for i in 0..50 {
            let id = format!("f{round}-{i}");
            assert_eq!(
                http.register(&a, "FAULTY", &id).await,
                204,
                "{fault:?}: A keeps taking writes"
            );
            assert_eq!(
                http.send(Method::PUT, &format!("{a}/apps/FAULTY/{id}"), None)
                    .await,
                200
            );
        }
        for i in 0..10 {
            let id = format!("f{round}-{i}");
            assert_eq!(
                http.send(Method::DELETE, &format!("{a}/apps/FAULTY/{id}"), None)
                    .await,
                200
            );
        }
        let s = eventually(WAIT, "A reports the peer failing", || async {
            let s = http.status(&a).await?;
            let p = s["peers"][0].clone();
            (p["retries"].as_u64()? > 0 && p["healthy"] == false).then_some(s)
        })
        .await;
        assert!(
            http.instances(&a).await.is_some(),
            "{fault:?}: A keeps serving reads: {s}"
        );
        if let Some(fp) = fp {
            fp.stop().await;
        }
        let _b = Node::start(pb, &peers, &[]);
        let want = eventually(WAIT, "A's set", || http.instances(&a)).await;
        assert_eq!(want.len(), 40, "{fault:?}");
        eventually(WAIT, "the returned peer holds A's set", || async {
            (http.instances(&url(pb)).await? == want).then_some(())
        })
        .await;
        let p = eventually(WAIT, "A drained its queue to the returned peer", || async {
            let s = http.status(&a).await?;
            let p = s["peers"][0].clone();
            (p["circuit"] == "closed"
                && p["queued"] == 0
                && p["inFlight"] == 0
                && p["healthy"] == true)
                .then_some(p)
        })
        .await;
        assert_eq!(p["dropped"], 0, "{fault:?}: {p}");
    }
}

// P-45: without any write, a peer that is down is seen down (circuit open) and a peer that
// comes back is seen healthy again, through small idle checks only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p45_idle_peers_are_checked() {
    let http = Http::new();
    let (pa, pb) = (free_port(), free_port());
    let flags = ["--peer-healthy-window-ms=600", "--peer-sync-budget-ms=500"];
    let _a = Node::start(pa, &[pa, pb], &flags);
    let a = url(pa);
    wait_open(&http, &a).await;
    let peer = |s: serde_json::Value| s["peers"][0].clone();
    let p = eventually(WAIT, "idle A sees B down", || async {
        let p = peer(http.status(&a).await?);
        (p["circuit"] == "open" && p["healthy"] == false).then_some(p)
    })
    .await;
    assert_eq!(p["queued"], 0, "{p}");
    let _b = Node::start(pb, &[pa, pb], &flags);
    eventually(WAIT, "idle A sees B back", || async {
        let p = peer(http.status(&a).await?);
        (p["circuit"] == "closed" && p["healthy"] == true).then_some(())
    })
    .await;
}

// P-35: a peer that lost an instance (here removed on it by a replicated cancel, which is
// never forwarded) gets it back from the node that holds the client's last write, through
// the standard GET /apps comparison.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p35_anti_entropy_repairs_a_peer_that_lost_an_instance() {
    let http = Http::new();
    let (pa, pb) = (free_port(), free_port());
    let _a = Node::start(pa, &[pa, pb], &["--peer-anti-entropy-interval-ms=500"]);
    let _b = Node::start(pb, &[pa, pb], &["--peer-anti-entropy-interval-ms=0"]);
    let (a, b) = (url(pa), url(pb));
    wait_open(&http, &a).await;
    wait_open(&http, &b).await;
    assert_eq!(http.register(&a, "REPAIR", "r1").await, 204);
    eventually(WAIT, "register on B", || {
        status_is(&http, &b, "REPAIR", "r1", "UP")
    })
    .await;
    let lost = reqwest::Client::new()
        .delete(format!("{b}/apps/REPAIR/r1"))
        .header("x-netflix-discovery-replication", "true")
        .send()
        .await
        .expect("DELETE on B");
    assert_eq!(lost.status(), 200);
    eventually(WAIT, "anti-entropy restores r1 on B", || {
        status_is(&http, &b, "REPAIR", "r1", "UP")
    })
    .await;
    let s = http.status(&a).await.expect("A's status");
    assert!(s["peers"][0]["repairs"].as_u64().unwrap_or(0) >= 1, "{s}");
    // A client cancel on A is not undone: A no longer claims the instance.
    assert_eq!(
        http.send(Method::DELETE, &format!("{a}/apps/REPAIR/r1"), None)
            .await,
        200
    );
    eventually(WAIT, "cancel on B", || async {
        let (code, _) = http.get(&format!("{b}/apps/REPAIR/r1")).await;
        (code == 404).then_some(())
    })
    .await;
}

/// Posts `record` (an instance's JSON as a server lists it) to `base` as a peer's
/// replicated register, with `lastDirtyTimestamp` set to `ldt`.
async fn inject_replicated(base: &str, mut record: serde_json::Value, ldt: u64) -> u16 {
    record["lastDirtyTimestamp"] = serde_json::json!(ldt.to_string());
    let app = record["app"].as_str().unwrap_or_default().to_owned();
    let body = serde_json::json!({ "instance": record }).to_string();
    match reqwest::Client::new()
        .post(format!("{base}/apps/{app}"))
        .header("x-netflix-discovery-replication", "true")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
    {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

async fn repair_rounds(http: &Http, base: &str) -> u64 {
    let s = http.status(base).await.unwrap_or_default();
    s["peers"][0]["repairRounds"].as_u64().unwrap_or(0)
}

// P-35: a peer that lost a client's cancel (here its copy is restored afterwards by a
// stale replicated register, as a delayed task from elsewhere would) is told to drop it by
// the node that took the cancel; a newer incarnation of the instance on the peer (a
// re-registration) is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p35_anti_entropy_cancels_what_a_client_cancelled() {
    let http = Http::new();
    let (pa, pb) = (free_port(), free_port());
    let _a = Node::start(pa, &[pa, pb], &["--peer-anti-entropy-interval-ms=300"]);
    let _b = Node::start(pb, &[pa, pb], &["--peer-anti-entropy-interval-ms=0"]);
    let (a, b) = (url(pa), url(pb));
    wait_open(&http, &a).await;
    wait_open(&http, &b).await;
    let mut records = Vec::new();
    for id in ["stale", "newer"] {
        assert_eq!(http.register(&a, "CANCELS", id).await, 204);
        eventually(WAIT, "register on B", || {
            status_is(&http, &b, "CANCELS", id, "UP")
        })
        .await;
        let v = instance_on(&http, &a, "CANCELS", id)
            .await
            .expect("the record on A");
        records.push(v["instance"].clone());
        assert_eq!(
            http.send(Method::DELETE, &format!("{a}/apps/CANCELS/{id}"), None)
                .await,
            200
        );
        eventually(WAIT, "cancel reaches B", || async {
            let (code, _) = http.get(&format!("{b}/apps/CANCELS/{id}")).await;
            (code == 404).then_some(())
        })
        .await;
    }
    let ldt = |r: &serde_json::Value| -> u64 {
        r["lastDirtyTimestamp"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("lastDirtyTimestamp")
    };
    // The cancelled incarnation comes back on B; a re-registration (newer) too.
    let (stale, newer) = (records[0].clone(), records[1].clone());
    assert_eq!(inject_replicated(&b, stale.clone(), ldt(&stale)).await, 204);
    assert_eq!(
        inject_replicated(&b, newer.clone(), ldt(&newer) + 1_000).await,
        204
    );
    assert!(instance_on(&http, &b, "CANCELS", "stale").await.is_some());
    eventually(WAIT, "anti-entropy cancels the stale copy on B", || async {
        let (code, _) = http.get(&format!("{b}/apps/CANCELS/stale")).await;
        (code == 404).then_some(())
    })
    .await;
    // Two more full rounds after that: the newer incarnation stays.
    let after = repair_rounds(&http, &a).await;
    eventually(WAIT, "two more anti-entropy rounds", || async {
        (repair_rounds(&http, &a).await >= after + 2).then_some(())
    })
    .await;
    assert!(
        status_is(&http, &b, "CANCELS", "newer", "UP")
            .await
            .is_some(),
        "a newer incarnation was cancelled"
    );
    let s = http.status(&a).await.expect("A's status");
    assert!(s["peers"][0]["repairs"].as_u64().unwrap_or(0) >= 1, "{s}");
}
