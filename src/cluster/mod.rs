//! Peer replication: a Eureka cluster of Rust and Java servers (spec section 6).
//!
//! [`Cluster`] is the [`Replicator`] the server reports its client writes to (P-02; a
//! peer's writes are never forwarded, P-03). Each peer has a coalescing queue keyed
//! `{kind}#{APP}/{id}` and a sender task that posts batches of at most 250 items to
//! `{peer}peerreplication/batch/` exactly as a Java server does (P-10..P-14), with
//! jittered back-off and a circuit breaker instead of Java's fixed retries (P-32), and the
//! per-item handling of P-33. At start the cluster copies its peers' registries (P-40)
//! and the server answers registry reads with 503 until then. `/status` shows each peer's
//! health (P-45).
//!
//! ```no_run
//! use tower_eureka::cluster::{Cluster, ClusterConfig, PeerUrl};
//! use tower_eureka::server::{EurekaService, ServerConfig};
//! # async fn f() -> Result<(), tower_eureka::cluster::BadPeerUrl> {
//! let peers = vec![PeerUrl::parse("http://10.0.0.2:8761/eureka/")?];
//! let me = PeerUrl::parse("http://10.0.0.1:8761/eureka/")?;
//! let cluster_config = ClusterConfig::new(peers, Some(me));
//! let svc = EurekaService::with_replicator(ServerConfig::default(), |registry| {
//!     Cluster::start(cluster_config, registry)
//! });
//! # let _ = svc; Ok(()) }
//! ```
//!
//! | module | what it holds |
//! |---|---|
//! | `config` | [`ClusterConfig`], [`PeerUrl`] (P-01) |
//! | `queue` | the coalescing per-peer queue (P-30, P-34) |
//! | `wire` | batch items and answers (P-11..P-15) |
//! | `http` | the peer HTTP client (http, https with `tls`, Basic credentials from the URL) |
//! | `breaker` | one peer's back-off and circuit breaker (P-32) |
//! | `peer` | one peer's sender and counters (P-32, P-33, P-45) |
//! | `sync` | the startup sync (P-40) |
//! | `repair` | anti-entropy through `GET /apps` (P-35) |
//! | `remote` | the remote-region fetchers (R-130): [`spawn_remote_regions`] |

mod breaker;
mod config;
mod http;
mod peer;
mod queue;
mod remote;
mod repair;
mod sync;
mod wire;

pub use self::config::{BadPeerUrl, ClusterConfig, PeerUrl};
pub use self::remote::{spawn_remote_regions, RemoteRegionFetchers, RemoteRegionSettings};

use self::peer::Peer;
use self::queue::TaskKey;
use self::sync::SyncReport;
use crate::registry::Registry;
use crate::server::{PeerMetrics, Replicator, WriteKind};
use arc_swap::ArcSwap;
use serde_json::{json, Value};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The running cluster layer of one server. See the [module docs](self).
pub struct Cluster {
    /// The peers now; replaced as a whole when the list changes (P-43), read on every
    /// client write.
    peers: ArcSwap<Vec<Arc<Slot>>>,
    /// Serialises [`set_peers`](Cluster::set_peers).
    changing: Mutex<()>,
    client: http::PeerClient,
    ready: AtomicBool,
    sync: Mutex<SyncReport>,
    registry: Registry,
    config: Arc<ClusterConfig>,
    _stop: tokio::sync::watch::Sender<()>,
}

/// One peer and the stop signal of its tasks (sender and anti-entropy): dropping the slot
/// stops them.
struct Slot {
    peer: Arc<Peer>,
    _stop: tokio::sync::watch::Sender<()>,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("peers", &self.peers())
            .field("ready", &self.ready.load(Ordering::Relaxed))
            .finish()
    }
}

impl Cluster {
    /// Starts the senders and the startup sync on the current tokio runtime. Without
    /// peers the cluster is ready at once. The tasks stop when the cluster is dropped.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn start(config: ClusterConfig, registry: &Registry) -> Arc<Cluster> {
        let config = Arc::new(config);
        #[cfg(feature = "tls")]
        let client = {
            let tls = match &config.peer_tls {
                Some(c) => (**c).clone(),
                None => match crate::tls::client_config(&[]) {
                    Ok(c) => c,
                    // The ring provider's defaults are always consistent.
                    Err(e) => panic!("default TLS client configuration: {e}"),
                },
            };
            http::PeerClient::new(config.timeout, &config.peers, tls)
        };
        #[cfg(not(feature = "tls"))]
        let client = http::PeerClient::new(config.timeout, &config.peers);
        let slots: Vec<Arc<Slot>> = config
            .peers
            .iter()
            .map(|u| spawn_peer(u.clone(), registry, &client, &config))
            .collect();
        let first: Vec<Arc<Peer>> = slots.iter().map(|s| s.peer.clone()).collect();
        let (stop, stopped) = tokio::sync::watch::channel(());
        let cluster = Arc::new(Cluster {
            ready: AtomicBool::new(first.is_empty()),
            sync: Mutex::new(SyncReport {
                done: first.is_empty(),
                ..SyncReport::default()
            }),
            peers: ArcSwap::from_pointee(slots),
            changing: Mutex::new(()),
            client: client.clone(),
            registry: registry.clone(),
            config: config.clone(),
            _stop: stop,
        });
        if first.is_empty() {
            registry.open_for_traffic(0);
        } else {
            let weak = Arc::downgrade(&cluster);
            let registry = registry.clone();
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let work = sync::startup_sync(
                    &first,
                    &registry,
                    &client,
                    config.sync_budget,
                    config.sync_retry_wait,
                );
                let report = tokio::select! {
                    r = work => r,
                    _ = stopped.changed() => return,
                };
                registry.open_for_traffic(report.copied);
                if let Some(c) = weak.upgrade() {
                    *crate::sync::lock(&c.sync) = report;
                    c.ready.store(true, Ordering::Release);
                    tracing::info!("open for traffic");
                }
            });
        }
        cluster
    }

    /// Whether the startup sync is over (registry reads are served).
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// The peers now (without this server).
    pub fn peers(&self) -> Vec<PeerUrl> {
        self.peers
            .load()
            .iter()
            .map(|s| s.peer.url.clone())
            .collect()
    }

    /// Replaces the peer list (P-43: Java re-reads it every 10 minutes; the binary does on
    /// `SIGHUP` and on the same schedule). This server's own URL and duplicates are
    /// skipped as in [`ClusterConfig::new`]. Peers that stay keep their queues and
    /// counters; a removed peer's tasks stop and its pending tasks are dropped; a new peer
    /// gets an anti-entropy round at once, so it receives what this node holds without
    /// waiting for heartbeats. An empty list is ignored, as Java does (a configuration
    /// mistake must not cut a node off). Returns whether the list changed.
    pub fn set_peers(&self, peers: Vec<PeerUrl>) -> bool {
        let wanted = ClusterConfig::new(peers, self.config.my_url.clone()).peers;
        if wanted.is_empty() {
            tracing::warn!("the new peer list is empty: ignored, keeping the current peers");
            return false;
        }
        let _one_at_a_time = crate::sync::lock(&self.changing);
        // Credentials may change with the same URLs.
        self.client.set_peers(&wanted);
        let current = self.peers.load_full();
        if current.len() == wanted.len()
            && current.iter().zip(&wanted).all(|(s, u)| s.peer.url == *u)
        {
            return false;
        }
        let mut next = Vec::with_capacity(wanted.len());
        for url in &wanted {
            match current.iter().find(|s| s.peer.url == *url) {
                Some(kept) => next.push(kept.clone()),
                None => {
                    let slot = spawn_peer(url.clone(), &self.registry, &self.client, &self.config);
                    slot.peer.repair.notify_one();
                    tracing::info!(peer = %url, "peer added");
                    next.push(slot);
                }
            }
        }
        for gone in current.iter().filter(|s| !wanted.contains(&s.peer.url)) {
            tracing::info!(peer = %gone.peer.url, "peer removed");
        }
        self.peers.store(Arc::new(next));
        true
    }
}

/// A peer with its sender and anti-entropy tasks running until its slot is dropped.
fn spawn_peer(
    url: PeerUrl,
    registry: &Registry,
    client: &http::PeerClient,
    config: &Arc<ClusterConfig>,
) -> Arc<Slot> {
    let peer = Arc::new(Peer::new(url, config));
    let (stop, stopped) = tokio::sync::watch::channel(());
    tokio::spawn(peer::run(
        peer.clone(),
        registry.clone(),
        client.clone(),
        config.clone(),
        stopped.clone(),
    ));
    tokio::spawn(repair::run(
        peer.clone(),
        registry.clone(),
        client.clone(),
        config.clone(),
        stopped,
    ));
    Arc::new(Slot { peer, _stop: stop })
}

impl Replicator for Cluster {
    fn replicate(&self, kind: WriteKind, app: &str, id: &str) {
        let peers = self.peers.load();
        if peers.is_empty() {
            return;
        }
        let key = TaskKey::new(kind, app, id);
        for s in peers.iter() {
            s.peer.enqueue(key.clone());
        }
    }

    fn ready(&self) -> bool {
        self.is_ready()
    }

    fn status(&self) -> Option<Value> {
        let now = self.registry.clock().epoch_ms();
        let peers: Vec<Value> = self
            .peers
            .load()
            .iter()
            .map(|s| s.peer.status(now, self.config.healthy_window))
            .collect();
        let sync = crate::sync::lock(&self.sync).to_json();
        Some(json!({
            "peers": peers,
            "startupSync": sync,
            "openForTraffic": self.is_ready(),
        }))
    }

    fn peer_metrics(&self) -> Vec<PeerMetrics> {
        self.peers.load().iter().map(|s| s.peer.metrics()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::RegistryConfig;

    fn url(port: u16) -> PeerUrl {
        match PeerUrl::parse(&format!("http://127.0.0.1:{port}/eureka/")) {
            Ok(u) => u,
            Err(e) => panic!("{e}"),
        }
    }

    // P-43: peers are added and removed, this server's own URL is skipped, and a list that
    // is empty (once it is) is ignored.
    #[tokio::test(start_paused = true)]
    async fn p43_set_peers_adds_removes_and_ignores_an_empty_list() {
        let registry = Registry::new(RegistryConfig::default());
        let config = ClusterConfig::new(vec![url(1)], Some(url(9)));
        let cluster = Cluster::start(config, &registry);
        assert_eq!(cluster.peers(), [url(1)]);
        assert!(!cluster.set_peers(vec![url(9)]), "only self: ignored");
        assert!(!cluster.set_peers(Vec::new()), "empty: ignored");
        assert_eq!(cluster.peers(), [url(1)]);
        assert!(!cluster.set_peers(vec![url(1), url(9)]), "unchanged");
        let kept = cluster.peers.load()[0].peer.clone();
        assert!(cluster.set_peers(vec![url(1), url(2)]));
        assert_eq!(cluster.peers(), [url(1), url(2)]);
        assert!(
            Arc::ptr_eq(&kept, &cluster.peers.load()[0].peer),
            "a peer that stays keeps its queue and counters"
        );
        assert!(cluster.set_peers(vec![url(2)]));
        assert_eq!(cluster.peers(), [url(2)]);
        // Writes go to the peers of now.
        cluster.replicate(WriteKind::Cancel, "APP", "i-1");
        let st = cluster.status().unwrap_or_default();
        assert_eq!(st["peers"].as_array().map(Vec::len), Some(1));
        assert_eq!(st["peers"][0]["queued"], 1);
    }
}
