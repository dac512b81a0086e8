//! [`Replicator`]: what the server tells the cluster layer, and what it asks it.
//!
//! The server does not know about peers. When one is installed
//! ([`EurekaService::with_replicator`](super::EurekaService::with_replicator)), the
//! service reports every client write that succeeded (P-02; never a peer's, P-03), asks
//! whether registry reads may be served yet (P-40), adds the replicator's section to
//! `/status` (P-45) and its per-peer figures to `/metrics` ([`PeerMetrics`], read at
//! scrape time). Each call must return at once: it runs on the request path.

use serde_json::Value;

/// The kind of a client write that succeeded, as it is replicated (P-02).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WriteKind {
    /// A register or a metadata update: replicated as `Register`.
    Register,
    /// A heartbeat that renewed a lease.
    Heartbeat,
    /// A cancel that removed a lease.
    Cancel,
    /// A status override set.
    StatusUpdate,
    /// A status override deleted.
    DeleteStatusOverride,
}

/// The cluster layer as the server sees it.
///
/// Installed with [`EurekaService::with_replicator`](super::EurekaService::with_replicator),
/// it hears of every client write that succeeded (P-02; never a peer's, P-03), says
/// whether registry reads may be served yet (P-40), and adds its section to `/status`
/// (P-45) and its per-peer figures to `/metrics` ([`PeerMetrics`]). Each call must return
/// at once: it runs on the request path (the metrics one at scrape time).
pub trait Replicator: Send + Sync + 'static {
    /// A client's write of `kind` on `(app, id)` succeeded (`app` upper-case). Must not
    /// block: enqueue and return.
    fn replicate(&self, kind: WriteKind, app: &str, id: &str);

    /// Whether registry reads may be served; `false` answers them 503 with `Retry-After`
    /// (P-40). Writes are always accepted.
    fn ready(&self) -> bool;

    /// A section for `/status` (key `peers` and whatever else), or `None`.
    fn status(&self) -> Option<Value>;

    /// The figures of each peer for `/metrics`, read at scrape time (default: none).
    fn peer_metrics(&self) -> Vec<PeerMetrics> {
        Vec::new()
    }
}

/// What `/metrics` shows of one peer (the `peer` label is [`url`](Self::url)).
///
/// ```
/// use tower_eureka::server::PeerMetrics;
/// let mut m = PeerMetrics::new("http://peer-b:8761/eureka/");
/// m.queued = 3;
/// assert_eq!(m.batches, 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerMetrics {
    /// The peer's base URL.
    pub url: String,
    /// Tasks waiting in its queue.
    pub queued: u64,
    /// Batches being sent now.
    pub in_flight: u64,
    /// Items delivered since start.
    pub sent_items: u64,
    /// Batches sent since start (each attempt).
    pub batches: u64,
    /// Failed attempts that will be retried, since start.
    pub retries: u64,
    /// Tasks dropped (queue overflow or rejected by the peer) since start.
    pub dropped: u64,
    /// Whether its circuit breaker is open.
    pub circuit_open: bool,
    /// Epoch milliseconds of the last successful exchange; `None` = never. Replication lag
    /// is bounded by the time since then while tasks are queued.
    pub last_success_epoch_ms: Option<u64>,
}

impl PeerMetrics {
    /// All zero for the peer at `url`.
    pub fn new(url: impl Into<String>) -> PeerMetrics {
        PeerMetrics {
            url: url.into(),
            ..PeerMetrics::default()
        }
    }
}
