//! Counters for `GET /status` (E-24) and metrics.

use crate::model::StatusCounts;

/// Counters for `GET /status` (E-24) and metrics.
///
/// ```
/// use tower_eureka::model::InstanceInfo;
/// use tower_eureka::registry::{Origin, Registry, RegistryConfig};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), tower_eureka::model::InvalidText> {
/// let registry = Registry::new(RegistryConfig::default());
/// registry.register(InstanceInfo::builder("orders").instance_id("o-1").build(), Origin::Client)?;
/// let stats = registry.stats();
/// assert_eq!((stats.applications, stats.instances, stats.registrations), (1, 1, 1));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RegistryStats {
    /// Applications with at least one instance.
    pub applications: usize,
    /// Registered instances (leases), including expired ones not evicted yet.
    pub instances: usize,
    /// Instances per status.
    pub status_counts: StatusCounts,
    /// Status overrides in force.
    pub overrides: usize,
    /// Records currently in the delta window.
    pub delta_records: usize,
    /// The live registry revision.
    pub revision: u64,
    /// Registrations processed since start (including re-registrations and metadata updates).
    pub registrations: u64,
    /// Successful renewals since start.
    pub renewals: u64,
    /// Heartbeats for a lease this registry does not know (answered 404) since start.
    pub renewals_not_found: u64,
    /// Cancels of known instances since start.
    pub cancellations: u64,
    /// Evictions since start.
    pub evictions: u64,
    /// Expired leases found by the last eviction pass and not evicted (self-preservation or
    /// the per-window limit).
    pub expired_pending: usize,
    /// Entries in the expiry index (including stale ones awaiting their bucket).
    pub expiry_index_len: usize,
    /// Whether self-preservation is engaged right now.
    pub self_preservation_active: bool,
}

/// Operations counted since start.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) registrations: u64,
    pub(crate) renewals: u64,
    pub(crate) renewals_not_found: u64,
    pub(crate) cancellations: u64,
    pub(crate) evictions: u64,
}
