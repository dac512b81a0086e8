//! Operator status overrides (R-60..R-64) and the status rule chain they feed.
//!
//! An override lives on its lease (`Lease::override_status`, keyed per app: D13); this part
//! keeps the sorted set of leases that hold one (E-25) and decides what setting, deleting
//! or recovering an override does to a lease.

use super::index::Index;
use super::lease::{Key, Lease};
use super::Origin;
use crate::model::Status;
use std::collections::BTreeSet;

/// The leases holding an override, sorted by `(app, id)`.
#[derive(Debug)]
pub(crate) struct Overrides {
    keys: BTreeSet<Key>,
    /// Java's deletion without `value` (the status becomes `UNKNOWN`).
    legacy_delete: bool,
}

impl Overrides {
    pub(crate) fn new(legacy_delete: bool) -> Overrides {
        Overrides {
            keys: BTreeSet::new(),
            legacy_delete,
        }
    }

    /// Number of overrides in force.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Follows a new lease's override (R-60: a register keeps or transfers it).
    pub(crate) fn track(&mut self, key: &Key, override_status: Option<Status>) {
        if override_status.is_some() {
            self.keys.insert(key.clone());
        } else {
            self.keys.remove(key);
        }
    }

    /// Forgets `key`'s override: its lease was cancelled or evicted.
    pub(crate) fn forget(&mut self, key: &Key) {
        self.keys.remove(key);
    }

    /// R-62, R-62a: stores `status` as `lease`'s override, even when nothing visible
    /// changes, and starts its `serviceUpTimestamp` if `status` is `UP`. Returns whether
    /// the record must change (its status or `overriddenStatus` differs from `status`).
    pub(crate) fn set(&mut self, lease: &mut Lease, status: Status, now_epoch: u64) -> bool {
        lease.override_status = Some(status);
        if status == Status::Up && lease.service_up_epoch == 0 {
            lease.service_up_epoch = now_epoch;
        }
        self.keys.insert(lease.key.clone());
        lease.record.status != status || lease.record.overridden_status != status
    }

    /// removes `lease`'s override. Returns the status the record takes, or
    /// `None` if there was no override (then nothing changes): `value` if given, else the
    /// status the instance itself last reported (`UNKNOWN` with `legacy_delete`).
    pub(crate) fn delete(&mut self, lease: &mut Lease, value: Option<Status>) -> Option<Status> {
        lease.override_status.take()?;
        self.keys.remove(&lease.key);
        Some(match value {
            Some(v) => v,
            None if self.legacy_delete => Status::Unknown,
            // the rule chain on the instance's own last report, without override
            // and without LeaseExists (the stored status is the override's effect).
            None => effective_status(lease.reported, None, None, Origin::Client),
        })
    }

    /// R-51 (`storeOverriddenStatusIfRequired`): a replicated heartbeat's override.
    /// Returns whether `lease`'s override changed.
    pub(crate) fn recover(&mut self, lease: &mut Lease, status: Status) -> bool {
        if lease.override_status == Some(status) {
            return false;
        }
        lease.override_status = Some(status);
        self.keys.insert(lease.key.clone());
        true
    }

    /// The overrides in force, as `(app, id, status)`, sorted (E-25).
    pub(crate) fn list(&self, index: &Index) -> Vec<(String, String, Status)> {
        self.keys
            .iter()
            .filter_map(|(app, id)| {
                let o = index.get(app, id)?.override_status?;
                Some((app.to_string(), id.to_string(), o))
            })
            .collect()
    }
}

/// The status rule chain of R-61, without the AWS ASG rule (rule 3).
///
/// `reported` is the status in the register body (register) or the stored status
/// (renew); `previous` is the stored status of the previous lease, if any. A replicated
/// write ([`Origin::is_replication`]) skips the `LeaseExists` rule.
pub(crate) fn effective_status(
    reported: Status,
    override_status: Option<Status>,
    previous: Option<Status>,
    origin: Origin,
) -> Status {
    // Rule 1: DownOrStarting (anything but UP and OUT_OF_SERVICE).
    if !matches!(reported, Status::Up | Status::OutOfService) {
        return reported;
    }
    // Rule 2: OverrideExists.
    if let Some(o) = override_status {
        return o;
    }
    // Rule 4: LeaseExists (skipped for replication).
    if !origin.is_replication() {
        if let Some(x @ (Status::Up | Status::OutOfService)) = previous {
            return x;
        }
    }
    // Rule 5: default.
    reported
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    const CLIENT: Origin = Origin::Client;
    const PEER: Origin = Origin::Peer;

    // the worked-examples table, row by row, on the pure rule chain.
    #[test]
    fn r61_worked_examples() {
        // First registration.
        assert_eq!(effective_status(Starting, None, None, CLIENT), Starting);
        // App becomes ready (rule 5).
        assert_eq!(effective_status(Up, None, Some(Starting), CLIENT), Up);
        // Operator takes it out (rule 2).
        assert_eq!(
            effective_status(Up, Some(OutOfService), Some(Up), CLIENT),
            OutOfService
        );
        // App reports DOWN while overridden (rule 1 beats the override).
        assert_eq!(
            effective_status(Down, Some(OutOfService), Some(OutOfService), CLIENT),
            Down
        );
        // Re-register UP after a server-side OUT_OF_SERVICE without override (rule 4).
        assert_eq!(
            effective_status(Up, None, Some(OutOfService), CLIENT),
            OutOfService
        );
        // Same, by replication.
        assert_eq!(effective_status(Up, None, Some(OutOfService), PEER), Up);
        // Client re-registers OUT_OF_SERVICE while stored UP (rule 4).
        assert_eq!(effective_status(OutOfService, None, Some(Up), CLIENT), Up);
        // Override deleted with no value: UNKNOWN stored resolves to UNKNOWN.
        assert_eq!(
            effective_status(Unknown, None, Some(Unknown), CLIENT),
            Unknown
        );
    }

    // a startup copy follows the replication rule chain, like a peer's write.
    #[test]
    fn r15_sync_skips_lease_exists_like_peer() {
        for (reported, previous) in [(Up, OutOfService), (OutOfService, Up)] {
            assert_eq!(
                effective_status(reported, None, Some(previous), Origin::Sync),
                effective_status(reported, None, Some(previous), PEER),
            );
        }
    }
}
