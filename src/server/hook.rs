//! [`Replicator`]: what the server tells the cluster layer, and what it asks it.
//!
//! The server does not know about peers. When one is installed
//! ([`EurekaService::with_replicator`](super::EurekaService::with_replicator)), the
//! service reports every client write that succeeded (P-02; never a peer's, P-03), asks
//! whether registry reads may be served yet (P-40), and adds the replicator's section to
//! `/status` (P-45). Each call must return at once: it runs on the request path.

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

/// The cluster layer as the server sees it. See the [module docs](self).
pub trait Replicator: Send + Sync + 'static {
    /// A client's write of `kind` on `(app, id)` succeeded (`app` upper-case). Must not
    /// block: enqueue and return.
    fn replicate(&self, kind: WriteKind, app: &str, id: &str);

    /// Whether registry reads may be served; `false` answers them 503 with `Retry-After`
    /// (P-40). Writes are always accepted.
    fn ready(&self) -> bool;

    /// A section for `/status` (key `peers` and whatever else), or `None`.
    fn status(&self) -> Option<Value>;
}
