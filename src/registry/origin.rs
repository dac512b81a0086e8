//! Where a write comes from, and what that changes.

/// Where a write to the [`Registry`](super::Registry) comes from.
///
/// Every write operation takes one. The registry applies a write the same way whatever its
/// origin, except for the replication semantics in the table below. Forwarding to peers is
/// not the registry's job: the cluster layer forwards exactly the writes whose origin
/// [`replicates_onward`](Origin::replicates_onward).
///
/// | | [`Client`](Origin::Client) | [`Peer`](Origin::Peer) | [`Sync`](Origin::Sync) |
/// |---|---|---|---|
/// | what it is | a client's own request (no replication header, E-31) | a peer's replication: the replication header, or an item of a batch (section 6) | a record copied from a peer while this server starts (P-40) |
/// | forwarded to peers | yes, if it succeeded (P-02) | never (P-03) | never (P-04) |
/// | register: the status rule chain (R-15, R-61) | every rule | `LeaseExists` skipped: the peer's status wins over the stored one | as `Peer` |
/// | renew, caller's `lastDirtyTimestamp` older than the stored one (R-50) | 200 | 409 with the stored record | as `Peer` |
/// | renew, caller's `lastDirtyTimestamp` newer, with `overriddenstatus` (R-51) | 404 | the override is stored, then 404 | as `Peer` |
/// | cancel, status override set and delete | same processing | same processing | same processing |
/// | self-preservation | counts | counts | counts |
///
/// Self-preservation counts every origin alike: a successful renew counts as a renewal
/// whoever sent it (R-23: in a cluster each server sees each heartbeat once, directly or
/// through a peer); a register restarts its lease and counts as a renewal in the improved
/// window (R-104), and a register creating a new lease adds an expected client in legacy
/// mode (R-101). After a startup sync, the number of `Sync` registrations is what
/// [`Registry::open_for_traffic`](super::Registry::open_for_traffic) takes (P-41).
///
/// ```
/// use tower_eureka::registry::Origin;
///
/// // The server maps the replication header (E-31) onto an origin.
/// assert_eq!(Origin::from_replication_header(false), Origin::Client);
/// assert_eq!(Origin::from_replication_header(true), Origin::Peer);
///
/// // Only a client's own writes travel on to the peers.
/// assert!(Origin::Client.replicates_onward());
/// assert!(!Origin::Peer.replicates_onward());
/// assert!(!Origin::Sync.replicates_onward());
///
/// // Peers and the startup copy get the replication semantics.
/// assert!(!Origin::Client.is_replication());
/// assert!(Origin::Peer.is_replication() && Origin::Sync.is_replication());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A client's own request: a register, heartbeat, cancel or status change an instance
    /// (or an operator) sent to this server. Forwarded to every peer once it succeeded.
    Client,
    /// A peer's replication of a write it received from a client: a request with the
    /// replication header or an item of a replication batch. Never forwarded again, since
    /// the sender reaches every peer itself (full mesh, P-03).
    Peer,
    /// A record copied from a peer while this server starts (P-40), before it opens for
    /// traffic. Processed as a [`Peer`](Origin::Peer) write and never forwarded (P-04).
    Sync,
}

impl Origin {
    /// The origin of a request to the server: [`Peer`](Origin::Peer) if it carries the
    /// replication header (E-31), otherwise [`Client`](Origin::Client).
    pub fn from_replication_header(present: bool) -> Origin {
        if present {
            Origin::Peer
        } else {
            Origin::Client
        }
    }

    /// Whether the registry applies replication semantics (R-15, R-50, R-51, R-61): true
    /// for [`Peer`](Origin::Peer) and [`Sync`](Origin::Sync).
    pub fn is_replication(self) -> bool {
        !matches!(self, Origin::Client)
    }

    /// Whether a write of this origin that succeeded is forwarded to the peers (P-02..P-04):
    /// only a [`Client`](Origin::Client)'s.
    pub fn replicates_onward(self) -> bool {
        matches!(self, Origin::Client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // P-02, P-03, P-04, R-15: the two predicates partition the origins.
    #[test]
    fn replication_and_forwarding() {
        for o in [Origin::Client, Origin::Peer, Origin::Sync] {
            assert_eq!(o.is_replication(), !o.replicates_onward(), "{o:?}");
        }
        assert!(Origin::Client.replicates_onward());
        assert_eq!(Origin::from_replication_header(true), Origin::Peer);
        assert_eq!(Origin::from_replication_header(false), Origin::Client);
    }
}
