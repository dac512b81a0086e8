//! Leases and the status rule chain.

use crate::model::{InstanceInfo, Status};
use std::sync::Arc;

/// `(app, id)`: the identity of an instance inside the registry.
pub(crate) type Key = (Arc<str>, Arc<str>);

/// Where a lease's expiry is currently tracked (see `wheel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tracked {
    /// Not tracked yet.
    Nowhere,
    /// In the expiry wheel, in the bucket of this second.
    Wheel(u64),
    /// Expired and waiting in the eviction pool.
    Pool,
}

/// The server-side liveness record of one instance.
///
/// Times are milliseconds on the registry's monotonic time line (`Clock::elapsed_ms`);
/// `service_up_epoch` is a wire timestamp (epoch ms).
#[derive(Debug)]
pub(crate) struct Lease {
    /// The interned `(app, id)` of this lease.
    pub(crate) key: Key,
    /// Unique per lease object: a re-registration creates a new lease with a new uid.
    pub(crate) uid: u64,
    /// The record as of its last visible change, fully materialised for the wire.
    pub(crate) record: Arc<InstanceInfo>,
    /// The status the instance itself last reported in a register.
    pub(crate) reported: Status,
    /// The operator override for this `(app, id)` (R-60, keyed per app: D13).
    pub(crate) override_status: Option<Status>,
    pub(crate) registered_ms: u64,
    pub(crate) last_renewal_ms: u64,
    /// Renewed at least once since registration (Java's 2x expiry applies then, R-40).
    pub(crate) renewed: bool,
    pub(crate) duration_ms: u64,
    pub(crate) service_up_epoch: u64,
    /// This lease's contribution to the improved mode's expected renewals per minute,
    /// in thousandths (`60_000 / renewalIntervalInSecs`).
    pub(crate) expected_milli: u64,
    pub(crate) tracked: Tracked,
}

impl Lease {
    /// When the lease expires: it is expired once `now > expires_at`.
    pub(crate) fn expires_at(&self, legacy: bool) -> u64 {
        let factor = if legacy && self.renewed { 2 } else { 1 };
        self.last_renewal_ms
            .saturating_add(self.duration_ms.saturating_mul(factor))
    }

    pub(crate) fn is_expired(&self, now: u64, legacy: bool) -> bool {
        now > self.expires_at(legacy)
    }

    /// Renews the lease at `now` (the expiry index is updated by the caller).
    pub(crate) fn touch(&mut self, now: u64) {
        self.last_renewal_ms = now;
        self.renewed = true;
    }

    /// `leaseInfo.lastRenewalTimestamp` on the monotonic line: the real last renewal, or
    /// in legacy mode Java's `lastUpdateTimestamp`.
    pub(crate) fn wire_last_renewal_ms(&self, legacy: bool) -> u64 {
        if legacy && self.renewed {
            self.last_renewal_ms.saturating_add(self.duration_ms)
        } else {
            self.last_renewal_ms
        }
    }
}

/// `60 / renewalIntervalInSecs` per minute, in thousandths (interval 0 means 30).
pub(crate) fn expected_milli(renewal_interval_in_secs: u32) -> u64 {
    let interval = match renewal_interval_in_secs {
        0 => 30,
        n => u64::from(n),
    };
    60_000 / interval
}

/// The status rule chain of R-61, without the AWS ASG rule (rule 3).
///
/// `reported` is the status in the register body (register) or the stored status
/// (renew); `previous` is the stored status of the previous lease, if any.
pub(crate) fn effective_status(
    reported: Status,
    override_status: Option<Status>,
    previous: Option<Status>,
    replication: bool,
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
    if !replication {
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

    // the worked-examples table, row by row, on the pure rule chain.
    #[test]
    fn r61_worked_examples() {
        // First registration.
        assert_eq!(effective_status(Starting, None, None, false), Starting);
        // App becomes ready (rule 5).
        assert_eq!(effective_status(Up, None, Some(Starting), false), Up);
        // Operator takes it out (rule 2).
        assert_eq!(
            effective_status(Up, Some(OutOfService), Some(Up), false),
            OutOfService
        );
        // App reports DOWN while overridden (rule 1 beats the override).
        assert_eq!(
            effective_status(Down, Some(OutOfService), Some(OutOfService), false),
            Down
        );
        // Re-register UP after a server-side OUT_OF_SERVICE without override (rule 4).
        assert_eq!(
            effective_status(Up, None, Some(OutOfService), false),
            OutOfService
        );
        // Same, by replication.
        assert_eq!(effective_status(Up, None, Some(OutOfService), true), Up);
        // Client re-registers OUT_OF_SERVICE while stored UP (rule 4).
        assert_eq!(effective_status(OutOfService, None, Some(Up), false), Up);
        // Override deleted with no value: UNKNOWN stored resolves to UNKNOWN.
        assert_eq!(
            effective_status(Unknown, None, Some(Unknown), false),
            Unknown
        );
    }

    #[test]
    fn r40_expiry_factor() {
        let mut l = Lease {
            key: (Arc::from("A"), Arc::from("a")),
            uid: 0,
            record: Arc::new(InstanceInfo::builder("a").build()),
            reported: Up,
            override_status: None,
            registered_ms: 1_000,
            last_renewal_ms: 1_000,
            renewed: false,
            duration_ms: 90_000,
            service_up_epoch: 0,
            expected_milli: 2_000,
            tracked: Tracked::Nowhere,
        };
        assert_eq!(l.expires_at(true), 91_000);
        assert!(!l.is_expired(91_000, false));
        assert!(l.is_expired(91_001, false));
        l.touch(10_000);
        assert_eq!(l.expires_at(false), 100_000);
        assert_eq!(l.expires_at(true), 190_000);
        assert_eq!(l.wire_last_renewal_ms(true), 100_000);
        assert_eq!(l.wire_last_renewal_ms(false), 10_000);
    }

    #[test]
    fn expected_rate_per_interval() {
        assert_eq!(expected_milli(30), 2_000);
        assert_eq!(expected_milli(0), 2_000);
        assert_eq!(expected_milli(10), 6_000);
    }
}
