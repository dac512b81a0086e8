//! A heartbeat: what it carries, how its `lastDirtyTimestamp` is judged (R-50), and its
//! answer (E-11).

use super::Origin;
use crate::model::{InstanceInfo, Status};
use std::sync::Arc;

/// What a heartbeat carries besides `(app, id)`: the optional query parameters of E-11.
///
/// The heartbeat's `status` parameter has no place here: the server ignores it (R-21).
///
/// ```
/// use tower_eureka::model::{InstanceInfo, Status};
/// use tower_eureka::registry::{Origin, Registry, RegistryConfig, Renew, RenewOutcome};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), tower_eureka::model::InvalidText> {
/// let registry = Registry::new(RegistryConfig::default());
/// let orders = InstanceInfo::builder("orders")
///     .instance_id("o-1")
///     .last_dirty_timestamp(1_000)
///     .build();
/// registry.register(orders, Origin::Client)?;
///
/// // A plain heartbeat.
/// assert_eq!(registry.renew("ORDERS", "o-1", Renew::new(), Origin::Client), RenewOutcome::Renewed);
///
/// // A peer relays a heartbeat from a client that holds newer data, with its override:
/// // the override is stored (R-51) and the answer asks for a registration (R-50).
/// let relayed = Renew::new()
///     .last_dirty_timestamp(Some(2_000))
///     .overridden_status(Some(Status::OutOfService));
/// assert_eq!(registry.renew("ORDERS", "o-1", relayed, Origin::Peer), RenewOutcome::NotFound);
/// assert_eq!(registry.overrides().len(), 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Renew {
    pub(crate) last_dirty_timestamp: Option<u64>,
    pub(crate) overridden_status: Option<Status>,
}

impl Renew {
    /// A heartbeat without `lastDirtyTimestamp` and without `overriddenstatus`.
    pub fn new() -> Renew {
        Renew::default()
    }

    /// The caller's `lastDirtyTimestamp` (epoch ms), compared with the stored record's
    /// (R-50) when [`sync_when_timestamp_differs`](super::RegistryConfig::sync_when_timestamp_differs)
    /// is on. `None` skips the comparison.
    pub fn last_dirty_timestamp(mut self, timestamp: Option<u64>) -> Renew {
        self.last_dirty_timestamp = timestamp;
        self
    }

    /// The `overriddenstatus` a peer sends along (P-16, P-42). Only a replicated heartbeat
    /// whose caller holds newer data stores it, and never `UNKNOWN` (R-51).
    pub fn overridden_status(mut self, status: Option<Status>) -> Renew {
        self.overridden_status = status;
        self
    }
}

/// The answer to a heartbeat (E-11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RenewOutcome {
    /// 200: the lease was renewed.
    Renewed,
    /// 404: unknown instance, its status resolves to `UNKNOWN`, or the caller holds newer
    /// data (R-50); the client must register again.
    NotFound,
    /// 409 with the stored record as body: a replicating peer holds older data (R-50).
    Conflict(Arc<InstanceInfo>),
}

/// The dirty-timestamp verdict of a renew (R-50); the lease is renewed whatever it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// 200.
    Renewed,
    /// The caller holds newer data: 404 (after R-51's override recovery).
    Newer,
    /// A replicating peer holds older data: 409.
    Conflict,
}

impl Verdict {
    /// Compares the caller's `lastDirtyTimestamp` with the stored one; `compare` is
    /// `syncWhenTimestampDiffers`.
    pub(crate) fn of(renew: &Renew, stored: u64, compare: bool, origin: Origin) -> Verdict {
        match renew.last_dirty_timestamp.filter(|_| compare) {
            Some(p) if p > stored => Verdict::Newer,
            Some(p) if p < stored && origin.is_replication() => Verdict::Conflict,
            _ => Verdict::Renewed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // R-50 / E-11 cases 3..7.
    #[test]
    fn r50_dirty_timestamp_verdicts() {
        let at = |ts| Renew::new().last_dirty_timestamp(ts);
        let v = |ts, compare, origin| Verdict::of(&at(ts), 100, compare, origin);
        assert_eq!(v(None, true, Origin::Peer), Verdict::Renewed);
        assert_eq!(v(Some(200), false, Origin::Peer), Verdict::Renewed);
        assert_eq!(v(Some(200), true, Origin::Client), Verdict::Newer);
        assert_eq!(v(Some(50), true, Origin::Peer), Verdict::Conflict);
        assert_eq!(v(Some(50), true, Origin::Sync), Verdict::Conflict);
        assert_eq!(v(Some(50), true, Origin::Client), Verdict::Renewed);
        assert_eq!(v(Some(100), true, Origin::Peer), Verdict::Renewed);
    }
}
