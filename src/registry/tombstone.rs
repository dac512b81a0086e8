//! Client cancels this server remembers (P-35): the part of "who holds the client's last
//! write" that outlives the lease.
//!
//! A cancel removes the lease, and with it the record that said this server held the
//! client's last write. Anti-entropy needs that fact afterwards: a peer that lost the
//! replicated `Cancel` (a dropped task, a peer that restored an old copy) still lists the
//! instance, and only the server that took the client's cancel may tell it to drop it. So a
//! client's cancel leaves a tombstone: the instance's `lastDirtyTimestamp` at the cancel.
//! A peer's copy with the same or an older `lastDirtyTimestamp` is the cancelled
//! incarnation; a newer one is a re-registration and is left alone. The comparison uses
//! the client's own timestamp, carried unchanged by every server, so clock skew between
//! servers does not enter it.
//!
//! A register of the same `(app, id)` (from any origin) forgets the tombstone. Tombstones
//! are bounded in number ([`MAX`]) and age ([`TTL_MS`]): past that, a peer's stale copy is
//! left to its own lease expiry, as in Java.

use super::lease::Key;
use super::Map;
use std::collections::VecDeque;

/// How long a client cancel is remembered, in ms (30 minutes: many anti-entropy rounds).
pub(crate) const TTL_MS: u64 = 30 * 60 * 1000;

/// At most this many tombstones are kept; the oldest go first.
pub(crate) const MAX: usize = 100_000;

/// One remembered client cancel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tombstone {
    last_dirty_timestamp: u64,
    at_ms: u64,
}

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Tombstones {
    by_key: Map<Key, Tombstone>,
    /// Insertion order for expiry; an entry whose `at_ms` no longer matches `by_key` is
    /// stale (the key was forgotten or cancelled again) and is skipped.
    order: VecDeque<(Key, u64)>,
}

impl Tombstones {
    /// A client cancelled `key`, whose record had `last_dirty_timestamp`, at `now`.
    pub(crate) fn cancelled(&mut self, key: Key, last_dirty_timestamp: u64, now: u64) {
        self.expire(now);
        let t = Tombstone {
            last_dirty_timestamp,
            at_ms: now,
        };
        self.by_key.insert(key.clone(), t);
        self.order.push_back((key, now));
        while self.by_key.len() > MAX {
            if !self.pop_oldest() {
                break;
            }
        }
        // Stale order entries can pile up when the same keys are cancelled over and over.
        if self.order.len() > 2 * self.by_key.len() + 64 {
            let by_key = &self.by_key;
            self.order
                .retain(|(k, at)| by_key.get(k).is_some_and(|t| t.at_ms == *at));
        }
    }

    /// `key` was registered again: its tombstone no longer applies.
    pub(crate) fn forget(&mut self, key: &Key) {
        if !self.by_key.is_empty() {
            self.by_key.remove(key);
        }
    }

    /// Drops tombstones older than [`TTL_MS`] at `now`.
    pub(crate) fn expire(&mut self, now: u64) {
        while let Some((_, at)) = self.order.front() {
            if now.saturating_sub(*at) <= TTL_MS {
                break;
            }
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) -> bool {
        let Some((key, at)) = self.order.pop_front() else {
            return false;
        };
        if self.by_key.get(&key).is_some_and(|t| t.at_ms == at) {
            self.by_key.remove(&key);
        }
        true
    }

    /// Every live tombstone as `(app, id, lastDirtyTimestamp)`.
    pub(crate) fn list(&self) -> Vec<(Key, u64)> {
        self.by_key
            .iter()
            .map(|(k, t)| (k.clone(), t.last_dirty_timestamp))
            .collect()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_key.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn key(id: &str) -> Key {
        (Arc::from("APP"), Arc::from(id))
    }

    // P-35: a tombstone lives until a register forgets it or it ages out.
    #[test]
    fn p35_forgotten_by_a_register_and_aged_out() {
        let mut t = Tombstones::default();
        t.cancelled(key("a"), 10, 0);
        t.cancelled(key("b"), 20, 1_000);
        assert_eq!(t.len(), 2);
        t.forget(&key("a"));
        assert_eq!(t.list(), vec![(key("b"), 20)]);
        t.expire(1_000 + TTL_MS);
        assert_eq!(t.len(), 1, "exactly TTL old is kept");
        t.expire(1_001 + TTL_MS);
        assert_eq!(t.len(), 0);
    }

    // A key cancelled again keeps its newest tombstone; the stale order entry of the first
    // cancel does not expire the second.
    #[test]
    fn p35_a_recancel_keeps_the_newest() {
        let mut t = Tombstones::default();
        t.cancelled(key("a"), 10, 0);
        t.cancelled(key("a"), 30, TTL_MS);
        t.expire(TTL_MS + 1);
        assert_eq!(t.list(), vec![(key("a"), 30)]);
    }

    #[test]
    fn bounded_in_number_and_in_order_entries() {
        let mut t = Tombstones::default();
        for i in 0..(MAX + 10) {
            t.cancelled(key(&i.to_string()), 1, 0);
        }
        assert_eq!(t.len(), MAX);
        assert!(
            t.list().iter().all(|(k, _)| &*k.1 != "0"),
            "the oldest went"
        );
        for _ in 0..1_000 {
            t.cancelled(key("again"), 1, 0);
        }
        assert!(t.order.len() <= 2 * t.len() + 64 + 1);
    }
}
