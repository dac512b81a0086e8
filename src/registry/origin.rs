//! Where a write comes from.

/// Where a write to the [`Registry`](super::Registry) comes from. The public API still
/// takes the replication flag; this is what it means inside the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Origin {
    /// A client's own request (no replication header, E-31).
    Client,
    /// A peer's replication: the replication header, or an item of a batch (section 6).
    Peer,
}

impl Origin {
    /// The origin of a request to the server: [`Peer`](Origin::Peer) if it carries the
    /// replication header (E-31), otherwise [`Client`](Origin::Client).
    pub(crate) fn from_replication_header(present: bool) -> Origin {
        if present {
            Origin::Peer
        } else {
            Origin::Client
        }
    }

    /// Whether the registry applies replication semantics.
    pub(crate) fn is_replication(self) -> bool {
        !matches!(self, Origin::Client)
    }
}
