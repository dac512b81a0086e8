//! Self-preservation in a cluster (issue 13, R-23, R-101, P-41): three registries wired as
//! a full mesh (each client write is applied on its home node as `Client` and on every other
//! live node as `Peer`, as the cluster layer replicates it), on paused time.
//!
//! The scenario: 30 instances heartbeating every 30 s, spread over the interval, half of
//! them on node A and half on node C; node B has no client at all and lives on replicated
//! heartbeats only. Then C dies: the replication of the heartbeat in flight at that moment
//! is lost, and C's clients fail over to A with their next heartbeat (a Java client tries
//! the next server of its list at once). Later C comes back empty, copies the registry from
//! A (startup sync, `Sync` registers, P-40/P-41), and is fed replicated heartbeats only.
//! On the surviving nodes self-preservation never engages, nothing is evicted, and the
//! expected renewals stay what they were: instances moving between nodes are not
//! counted twice, and losing a peer does not look like losing clients.

use crate::support::*;
use std::time::Duration;
use tower_eureka::model::InstanceInfo;
use tower_eureka::registry::{
    Clock, Origin, Registry, RegistryConfig, Renew, RenewOutcome, SelfPreservationMode,
};

const N: usize = 30;

fn node(mode: SelfPreservationMode) -> Registry {
    Registry::new(RegistryConfig {
        self_preservation: mode,
        // Legacy: recompute the expected count every 5 minutes (Java: 15), so the runs
        // below cross several updates.
        renewal_threshold_update_interval: Duration::from_secs(300),
        clock: Some(Clock::starting_at(T0)),
        ..config()
    })
}

fn instance(k: usize) -> InstanceInfo {
    inst("ORDERS", &format!("i-{k}"), 1)
}

/// Which node an instance heartbeats: 0 = A, 2 = C (nobody uses B).
fn home(k: usize) -> usize {
    if k % 2 == 0 {
        0
    } else {
        2
    }
}

struct Mesh {
    nodes: [Option<Registry>; 3],
    mode: SelfPreservationMode,
}

impl Mesh {
    fn new(mode: SelfPreservationMode) -> Mesh {
        Mesh {
            nodes: [Some(node(mode)), Some(node(mode)), Some(node(mode))],
            mode,
        }
    }

    fn live(&self) -> impl Iterator<Item = (usize, &Registry)> {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_ref().map(|r| (i, r)))
    }

    fn register_all(&self) {
        for k in 0..N {
            for (i, r) in self.live() {
                let origin = if i == home(k) {
                    Origin::Client
                } else {
                    Origin::Peer
                };
                assert!(r.register(instance(k), origin).is_ok());
            }
        }
    }

    /// Instance `k` heartbeats its home node `at`; the home replicates the renewal to the
    /// other live nodes unless `lost`.
    fn heartbeat(&self, k: usize, at: usize, lost: bool) {
        let id = format!("i-{k}");
        let Some(home) = &self.nodes[at] else {
            panic!("heartbeat to a dead node");
        };
        assert_eq!(
            home.renew("ORDERS", &id, Renew::new(), Origin::Client),
            RenewOutcome::Renewed,
            "{id} on node {at}"
        );
        if lost {
            return;
        }
        for (i, r) in self.live() {
            if i != at {
                assert_eq!(
                    r.renew("ORDERS", &id, Renew::new(), Origin::Peer),
                    RenewOutcome::Renewed,
                    "replicated {id} on node {i}"
                );
            }
        }
    }

    /// Runs one second: the instances due this second heartbeat (instance `k` at seconds
    /// `k mod 30`), `at(k)` picks the node; then one eviction pass per live node. Returns
    /// the evictions.
    async fn second(&self, t: u64, at: impl Fn(usize) -> usize, lost: Option<usize>) -> usize {
        secs(1).await;
        for k in 0..N {
            if t % 30 == k as u64 {
                self.heartbeat(k, at(k), lost == Some(k));
            }
        }
        self.live().map(|(_, r)| r.evict()).sum()
    }

    fn check(&self, t: u64, expected: &[Option<f64>; 3], from: [u64; 3]) {
        for (i, r) in self.live() {
            let sp = r.self_preservation();
            assert_eq!(r.len(), N, "node {i} at {t} s");
            if t >= from[i] {
                assert!(
                    !sp.active,
                    "{:?}: self-preservation engaged on node {i} at {t} s: {}",
                    self.mode, sp.reason
                );
            }
            if let Some(e) = expected[i] {
                assert_eq!(
                    sp.expected_renews_per_min, e,
                    "{:?}: node {i} at {t} s",
                    self.mode
                );
            }
        }
    }
}

async fn losing_and_regaining_a_peer(mode: SelfPreservationMode) {
    let mut mesh = Mesh::new(mode);
    mesh.register_all();
    for (_, r) in mesh.live() {
        r.open_for_traffic(0);
    }
    let per_min = (N * 2) as f64;
    let all = [Some(per_min); 3];
    let mut t = 0;
    let mut evicted = 0;
    // 10 minutes of normal operation.
    while t < 600 {
        t += 1;
        evicted += mesh.second(t, home, None).await;
        // Legacy mode starts from one expected client until its first update: the
        // check of the gate starts once the first update has run.
        let from = if mode == SelfPreservationMode::Legacy {
            301
        } else {
            0
        };
        mesh.check(t, &[None; 3], [from; 3]);
    }
    mesh.check(t, &all, [0; 3]);
    // C dies with the replication of one heartbeat in flight; its clients move to A.
    let victim = (0..N).find(|k| home(*k) == 2 && (t + 1) % 30 == *k as u64);
    t += 1;
    evicted += mesh.second(t, home, victim).await;
    mesh.nodes[2] = None;
    let moved = |k: usize| if home(k) == 2 { 0 } else { home(k) };
    while t < 1_200 {
        t += 1;
        evicted += mesh.second(t, moved, None).await;
        mesh.check(t, &[Some(per_min), Some(per_min), None], [0; 3]);
    }
    // C comes back empty and copies A's registry before it opens (P-40, P-41).
    let c = node(mode);
    let snap = mesh.nodes[0].as_ref().map(|a| a.snapshot());
    let Some(snap) = snap else {
        panic!("A is alive");
    };
    let mut copied = 0;
    for (_, list) in snap.apps() {
        for i in list {
            assert!(c.register((**i).clone(), Origin::Sync).is_ok());
            copied += 1;
        }
    }
    assert_eq!(copied, N);
    c.open_for_traffic(copied);
    mesh.nodes[2] = Some(c);
    // Legacy mode is Java's arithmetic: a node that just opened compares against the
    // previous complete minute, which it did not see, so it keeps expiry off for up to two
    // minutes. The improved mode scales its threshold with the node's age instead.
    let warm_up = if mode == SelfPreservationMode::Legacy {
        t + 120
    } else {
        0
    };
    while t < 1_800 {
        t += 1;
        evicted += mesh.second(t, moved, None).await;
        mesh.check(t, &all, [0, 0, warm_up]);
    }
    assert_eq!(evicted, 0, "{mode:?}: leases were evicted");
}

#[tokio::test(start_paused = true)]
async fn losing_a_peer_does_not_trip_self_preservation_improved() {
    losing_and_regaining_a_peer(SelfPreservationMode::Improved).await;
}

#[tokio::test(start_paused = true)]
async fn losing_a_peer_does_not_trip_self_preservation_legacy() {
    losing_and_regaining_a_peer(SelfPreservationMode::Legacy).await;
}

// The other side of the same arithmetic: B, which has no clients of its own, does engage
// self-preservation when the replicated heartbeats stop reaching it (a partition between
// B and its peers), and expires nothing meanwhile.
#[tokio::test(start_paused = true)]
async fn a_node_cut_off_from_its_peers_engages_self_preservation() {
    let mesh = Mesh::new(SelfPreservationMode::Improved);
    mesh.register_all();
    for (_, r) in mesh.live() {
        r.open_for_traffic(0);
    }
    let Some(b) = mesh.nodes[1].as_ref() else {
        panic!("B is alive");
    };
    for t in 1..=300 {
        mesh.second(t, home, None).await;
    }
    assert!(!b.self_preservation().active);
    // From now on B hears nothing: its peers' renewals stop arriving.
    for _ in 0..120 {
        secs(1).await;
        assert_eq!(b.evict(), 0);
    }
    let sp = b.self_preservation();
    assert!(sp.active, "{}", sp.reason);
    assert_eq!(b.len(), N);
}

// P-35: the registry records whether it holds the client's last write (register or renew
// from a client, not a peer or the startup sync), and remembers client cancels with the
// cancelled record's lastDirtyTimestamp until a register of the same instance.
#[tokio::test(start_paused = true)]
async fn p35_the_registry_knows_who_wrote_last() {
    let r = registry();
    assert!(r.register(inst("A", "a", 7), Origin::Peer).is_ok());
    assert!(!r.holds_client_write("A", "a"));
    r.renew("A", "a", Renew::new(), Origin::Client);
    assert!(r.holds_client_write("A", "a"));
    r.renew("A", "a", Renew::new(), Origin::Peer);
    assert!(!r.holds_client_write("A", "a"));
    assert!(r.register(inst("A", "a", 8), Origin::Client).is_ok());
    assert!(r.holds_client_write("A", "a"));
    assert!(r.register(inst("A", "b", 9), Origin::Sync).is_ok());
    assert!(!r.holds_client_write("A", "b"));
    assert!(!r.holds_client_write("A", "nobody"));

    // A peer's cancel leaves nothing; a client's leaves its record's timestamp.
    assert!(r.cancel("A", "b", Origin::Peer));
    assert!(r.client_cancels().is_empty());
    assert!(r.cancel("A", "a", Origin::Client));
    let cancels: Vec<(String, String, u64)> = r
        .client_cancels()
        .into_iter()
        .map(|(a, i, t)| (a.to_string(), i.to_string(), t))
        .collect();
    assert_eq!(cancels, [("A".to_owned(), "a".to_owned(), 8)]);
    assert!(!r.holds_client_write("A", "a"));
    // A register of the same instance, from anywhere, forgets the cancel.
    assert!(r.register(inst("A", "a", 9), Origin::Peer).is_ok());
    assert!(r.client_cancels().is_empty());
    // And a cancel is forgotten after 30 minutes.
    assert!(r.cancel("A", "a", Origin::Client));
    secs(30 * 60).await;
    assert_eq!(r.client_cancels().len(), 1);
    secs(1).await;
    assert!(r.client_cancels().is_empty());
}
