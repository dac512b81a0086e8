//! A lazy expiry wheel: leases bucketed by the second in which they expire.
//!
//! A lease holds one entry, in the bucket of the expiry it had when the entry was pushed.
//! A renewal only moves the lease's expiry later and leaves the wheel alone
//! ([`renewed`](ExpiryWheel::renewed)): when that bucket is drained, a lease that is not
//! expired by then is pushed again into the bucket of its current expiry. A heartbeat
//! therefore costs the wheel nothing, and a lease renewed every 30 s with a 90 s duration
//! is pushed once per 90 s instead of at every heartbeat (each push cloned the key: two
//! reference counts on cold cache lines at 100k instances). Entries of removed or
//! re-registered leases are recognised as stale when drained (the lease's uid or
//! `tracked` slot no longer matches). An eviction pass costs what expires or was due to,
//! not what is registered.

use super::lease::{Key, Lease, Tracked};
use std::collections::BTreeMap;

/// One pending expiry check.
#[derive(Debug)]
pub(crate) struct WheelEntry {
    pub(crate) key: Key,
    /// The lease object this entry was pushed for.
    pub(crate) uid: u64,
}

/// Buckets of expiry checks keyed by expiry second.
#[derive(Debug, Default)]
pub(crate) struct ExpiryWheel {
    slots: BTreeMap<u64, Vec<WheelEntry>>,
    len: usize,
}

impl ExpiryWheel {
    /// The bucket of an expiry time (ms).
    pub(crate) fn slot_of(expires_at_ms: u64) -> u64 {
        expires_at_ms / 1000
    }

    pub(crate) fn push(&mut self, slot: u64, entry: WheelEntry) {
        self.slots.entry(slot).or_default().push(entry);
        self.len += 1;
    }

    /// Puts `lease`'s expiry into the wheel unless it is already in that second's bucket:
    /// a lease renewed twice within one second pushes one entry.
    pub(crate) fn schedule(&mut self, lease: &mut Lease, legacy_expiry: bool) {
        let slot = Self::slot_of(lease.expires_at(legacy_expiry));
        if lease.tracked != Tracked::Wheel(slot) {
            lease.tracked = Tracked::Wheel(slot);
            self.push(
                slot,
                WheelEntry {
                    key: lease.key.clone(),
                    uid: lease.uid,
                },
            );
        }
    }

    /// After a renewal of `lease`: nothing when it already has an entry (its expiry only
    /// moved later; the drain pushes it again), else [`schedule`](Self::schedule).
    pub(crate) fn renewed(&mut self, lease: &mut Lease, legacy_expiry: bool) {
        if !matches!(lease.tracked, Tracked::Wheel(_)) {
            self.schedule(lease, legacy_expiry);
        }
    }

    /// Removes and returns every bucket up to and including `slot`.
    pub(crate) fn drain_through(&mut self, slot: u64) -> Vec<(u64, Vec<WheelEntry>)> {
        let rest = match slot.checked_add(1) {
            Some(next) => self.slots.split_off(&next),
            None => BTreeMap::new(),
        };
        let drained = std::mem::replace(&mut self.slots, rest);
        let out: Vec<_> = drained.into_iter().collect();
        self.len -= out.iter().map(|(_, v)| v.len()).sum::<usize>();
        out
    }

    /// Entries held (including stale ones).
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn e(id: &str) -> WheelEntry {
        WheelEntry {
            key: (Arc::from("A"), Arc::from(id)),
            uid: 1,
        }
    }

    #[test]
    fn drains_in_order_up_to_slot() {
        let mut w = ExpiryWheel::default();
        w.push(ExpiryWheel::slot_of(5_500), e("a"));
        w.push(ExpiryWheel::slot_of(3_000), e("b"));
        w.push(ExpiryWheel::slot_of(9_999), e("c"));
        assert_eq!(w.len(), 3);
        let d = w.drain_through(5);
        let slots: Vec<u64> = d.iter().map(|(s, _)| *s).collect();
        assert_eq!(slots, vec![3, 5]);
        assert_eq!(w.len(), 1);
        assert!(w.drain_through(8).is_empty());
        assert_eq!(w.drain_through(u64::MAX).len(), 1);
        assert_eq!(w.len(), 0);
    }
}
