//! Leases: the server-side liveness record of one instance, its expiry rule and
//! its wire form.

use super::{Clock, RegistryConfig};
use crate::model::{ActionType, InstanceInfo, LeaseInfo, Status};
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
    /// The last register or renew of this lease came from a client of this server, not
    /// from a peer or the startup sync: this server holds the client's last write and may
    /// repair a peer that lacks the instance (P-35).
    pub(crate) client_write: bool,
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

/// What turns a lease's record into its wire form: the registry's clock, the expiry mode
/// and the serving server's own instance id.
#[derive(Debug)]
pub(crate) struct Stamp {
    clock: Clock,
    legacy_expiry: bool,
    server_instance_id: Option<String>,
}

impl Stamp {
    pub(crate) fn new(cfg: &RegistryConfig, clock: Clock) -> Stamp {
        Stamp {
            clock,
            legacy_expiry: cfg.legacy_lease_expiry,
            server_instance_id: cfg.server_instance_id.clone(),
        }
    }

    /// The wire record of `r` for `lease` at `now`: the lease's override, `action`,
    /// `lastUpdatedTimestamp = now` and the lease times.
    pub(crate) fn record(
        &self,
        mut r: InstanceInfo,
        lease: &Lease,
        action: ActionType,
        now: u64,
    ) -> InstanceInfo {
        self.stamp(&mut r, lease, action, now);
        r
    }

    /// [`record`](Self::record) in place.
    pub(crate) fn stamp(&self, r: &mut InstanceInfo, lease: &Lease, action: ActionType, now: u64) {
        r.overridden_status = lease.override_status.unwrap_or(Status::Unknown);
        r.action_type = Some(action);
        r.last_updated_timestamp = self.clock.epoch_at(now);
        r.lease_info = LeaseInfo {
            renewal_interval_in_secs: match r.lease_info.renewal_interval_in_secs {
                0 => LeaseInfo::DEFAULT_RENEWAL_INTERVAL_SECS,
                n => n,
            },
            duration_in_secs: u32::try_from(lease.duration_ms / 1000).unwrap_or(u32::MAX),
            registration_timestamp: self.clock.epoch_at(lease.registered_ms),
            last_renewal_timestamp: self
                .clock
                .epoch_at(lease.wire_last_renewal_ms(self.legacy_expiry)),
            eviction_timestamp: 0,
            service_up_timestamp: lease.service_up_epoch,
        };
        r.is_coordinating_discovery_server = self
            .server_instance_id
            .as_deref()
            .is_some_and(|me| me == r.id());
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

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

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
            client_write: true,
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
