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
//! | `peer` | one peer's sender, breaker and counters (P-32, P-33, P-45) |
//! | `sync` | the startup sync (P-40) |
//! | `repair` | anti-entropy through `GET /apps` (P-35) |

mod config;
mod http;
mod peer;
mod queue;
mod repair;
mod sync;
mod wire;

pub use self::config::{BadPeerUrl, ClusterConfig, PeerUrl};

use self::peer::Peer;
use self::queue::TaskKey;
use self::sync::SyncReport;
use crate::registry::Registry;
use crate::server::{PeerMetrics, Replicator, WriteKind};
use serde_json::{json, Value};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The running cluster layer of one server. See the [module docs](self).
pub struct Cluster {
    peers: Vec<Arc<Peer>>,
    ready: AtomicBool,
    sync: Mutex<SyncReport>,
    registry: Registry,
    config: Arc<ClusterConfig>,
    _stop: tokio::sync::watch::Sender<()>,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("peers", &self.config.peers)
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
        let peers: Vec<Arc<Peer>> = config
            .peers
            .iter()
            .map(|u| Arc::new(Peer::new(u.clone(), &config)))
            .collect();
        let (stop, stopped) = tokio::sync::watch::channel(());
        let cluster = Arc::new(Cluster {
            ready: AtomicBool::new(peers.is_empty()),
            sync: Mutex::new(SyncReport {
                done: peers.is_empty(),
                ..SyncReport::default()
            }),
            peers,
            registry: registry.clone(),
            config: config.clone(),
            _stop: stop,
        });
        for p in &cluster.peers {
            tokio::spawn(peer::run(
                p.clone(),
                registry.clone(),
                client.clone(),
                config.clone(),
                stopped.clone(),
            ));
            tokio::spawn(repair::run(
                p.clone(),
                registry.clone(),
                client.clone(),
                config.clone(),
                stopped.clone(),
            ));
        }
        if cluster.peers.is_empty() {
            registry.open_for_traffic(0);
        } else {
            let weak = Arc::downgrade(&cluster);
            let peers = cluster.peers.clone();
            let registry = registry.clone();
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let work = sync::startup_sync(
                    &peers,
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

    /// The peers, as configured (without this server).
    pub fn peers(&self) -> &[PeerUrl] {
        &self.config.peers
    }
}

impl Replicator for Cluster {
    fn replicate(&self, kind: WriteKind, app: &str, id: &str) {
        let key = TaskKey::new(kind, app, id);
        for p in &self.peers {
            p.enqueue(key.clone());
        }
    }

    fn ready(&self) -> bool {
        self.is_ready()
    }

    fn status(&self) -> Option<Value> {
        let now = self.registry.clock().epoch_ms();
        let peers: Vec<Value> = self
            .peers
            .iter()
            .map(|p| p.status(now, self.config.healthy_window))
            .collect();
        let sync = crate::sync::lock(&self.sync).to_json();
        Some(json!({
            "peers": peers,
            "startupSync": sync,
            "openForTraffic": self.is_ready(),
        }))
    }

    fn peer_metrics(&self) -> Vec<PeerMetrics> {
        self.peers.iter().map(|p| p.metrics()).collect()
    }
}
