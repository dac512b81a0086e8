//! Eviction: which expired leases go, and how many per window.
//!
//! A pass drains the expiry wheel up to `now − lateness compensation` into a pool of
//! expired leases, asks the self-preservation [`Gate`] which of them it protects, and picks
//! a uniformly random choice of the rest, at most `size − floor(size × 0.85)` per 60 s
//! window. Its cost is what expires, not what is registered. Removing the victims (like a
//! local cancel) is the caller's job.

use super::clock::duration_ms;
use super::index::Index;
use super::lease::{Key, Tracked};
use super::preservation::Gate;
use super::wheel::ExpiryWheel;
use super::RegistryConfig;
use rand::seq::SliceRandom;

/// The per-window eviction limit applies per 60 s.
const EVICTION_WINDOW_MS: u64 = 60_000;

/// The eviction pool and the per-window accounting.
#[derive(Debug)]
pub(crate) struct Eviction {
    interval_ms: u64,
    percent: f64,
    legacy_expiry: bool,
    /// Expired leases not evicted yet: `(key, lease uid)`.
    pool: Vec<(Key, u64)>,
    last_pass_ms: Option<u64>,
    window_start_ms: Option<u64>,
    evicted_in_window: usize,
    /// Expired leases the gate protected in the last pass.
    protected: usize,
}

impl Eviction {
    pub(crate) fn new(cfg: &RegistryConfig) -> Eviction {
        Eviction {
            interval_ms: duration_ms(cfg.eviction_interval).max(10),
            percent: cfg.percent(),
            legacy_expiry: cfg.legacy_lease_expiry,
            pool: Vec::new(),
            last_pass_ms: None,
            window_start_ms: None,
            evicted_in_window: 0,
            protected: 0,
        }
    }

    /// Expired leases found by the last pass and not evicted.
    pub(crate) fn pending(&self) -> usize {
        self.pool.len()
    }

    /// Expired leases the gate held back in the last pass (while it was active).
    pub(crate) fn protected_count(&self) -> usize {
        self.protected
    }

    /// Starts a pass at `now` and returns its cutoff: a lease counts as expired if it
    /// expired before `now − compensation`, where the compensation is the pass's lateness
    /// (a stalled task does not mass-expire leases).
    pub(crate) fn start_pass(&mut self, now: u64) -> u64 {
        let compensation = self.last_pass_ms.map_or(0, |last| {
            now.saturating_sub(last).saturating_sub(self.interval_ms)
        });
        self.last_pass_ms = Some(now);
        now.saturating_sub(compensation)
    }

    /// Brings the pool up to date at `cutoff`: leases revived since the last pass go back
    /// to the wheel, and the wheel's buckets up to the cutoff second are drained into the
    /// pool (stale entries skipped).
    pub(crate) fn collect(&mut self, cutoff: u64, index: &mut Index, wheel: &mut ExpiryWheel) {
        let legacy = self.legacy_expiry;
        // 1. Re-check the pool first (so that a lease revived and expired again is never
        //    pooled twice): keep what is still expired, send the rest back to the wheel.
        for (key, uid) in std::mem::take(&mut self.pool) {
            let Some(lease) = index.get_mut(&key.0, &key.1) else {
                continue;
            };
            if lease.uid != uid || lease.tracked != Tracked::Pool {
                continue;
            }
            if lease.is_expired(cutoff, legacy) {
                self.pool.push((key, uid));
            } else {
                lease.tracked = Tracked::Nowhere;
                wheel.schedule(lease, legacy);
            }
        }

        // 2. Drain the wheel up to the cutoff second.
        for (slot, entries) in wheel.drain_through(ExpiryWheel::slot_of(cutoff)) {
            for entry in entries {
                let Some(lease) = index.get_mut(&entry.key.0, &entry.key.1) else {
                    continue;
                };
                if lease.uid != entry.uid || lease.tracked != Tracked::Wheel(slot) {
                    continue; // stale: re-registered, removed or re-pooled since
                }
                if lease.is_expired(cutoff, legacy) {
                    lease.tracked = Tracked::Pool;
                    self.pool.push((entry.key, entry.uid));
                } else {
                    // Renewed since it was pushed (renewals leave the wheel alone): into
                    // the bucket of its current expiry.
                    let due = ExpiryWheel::slot_of(lease.expires_at(legacy));
                    lease.tracked = Tracked::Wheel(due);
                    wheel.push(due, entry);
                }
            }
        }
    }

    /// Takes this pass's victims out of the pool: the leases `gate` does not protect, at
    /// most what is left of the window's limit, chosen uniformly at random across all
    /// apps.
    pub(crate) fn select(&mut self, now: u64, cutoff: u64, gate: &Gate, index: &Index) -> Vec<Key> {
        let legacy = self.legacy_expiry;
        // 3. What the self-preservation gate lets go.
        let candidates: Vec<usize> = self
            .pool
            .iter()
            .enumerate()
            .filter(|(_, (key, _))| {
                index.get(&key.0, &key.1).map_or(!gate.active, |l| {
                    !gate.protects(cutoff.saturating_sub(l.expires_at(legacy)))
                })
            })
            .map(|(i, _)| i)
            .collect();
        self.protected = if gate.active {
            self.pool.len() - candidates.len()
        } else {
            0
        };

        // 4. The per-window limit: size − floor(size × percent) per 60 s.
        if self.window_start_ms.map_or(true, |start| {
            now.saturating_sub(start) >= EVICTION_WINDOW_MS
        }) {
            self.window_start_ms = Some(now);
            self.evicted_in_window = 0;
        }
        let limit = eviction_limit(index.len(), self.percent);
        let budget = limit.saturating_sub(self.evicted_in_window);
        let n = budget.min(candidates.len());
        if n == 0 {
            return Vec::new();
        }
        if n < candidates.len() {
            tracing::debug!(
                expired = candidates.len(),
                evicting = n,
                "eviction limited by the per-window limit"
            );
        }

        // 5. A uniformly random choice across all apps.
        let mut candidates = candidates;
        let (chosen, _) = candidates.partial_shuffle(&mut rand::rng(), n);
        let mut chosen: Vec<usize> = chosen.to_vec();
        chosen.sort_unstable();
        let mut victims = Vec::with_capacity(n);
        for &i in chosen.iter().rev() {
            if i < self.pool.len() {
                victims.push(self.pool.swap_remove(i).0);
            }
        }
        self.evicted_in_window += victims.len();
        victims
    }

    /// Expired leases `gate` protects right now, as `(app, id)`, as of the last pass,
    /// sorted (R-104: expose the list). Empty while the gate is off.
    pub(crate) fn protected(&self, now: u64, gate: &Gate, index: &Index) -> Vec<(String, String)> {
        if !gate.active {
            return Vec::new();
        }
        let legacy = self.legacy_expiry;
        let mut out: Vec<(String, String)> = self
            .pool
            .iter()
            .filter_map(|((app, id), uid)| {
                let lease = index.get(app, id)?;
                let current = lease.uid == *uid && lease.tracked == Tracked::Pool;
                let expired_for = now.checked_sub(lease.expires_at(legacy))?;
                (current && expired_for > 0 && gate.protects(expired_for))
                    .then(|| (app.to_string(), id.to_string()))
            })
            .collect();
        out.sort();
        out
    }
}

/// `size − floor(size × percent)`.
pub(crate) fn eviction_limit(size: usize, percent: f64) -> usize {
    let keep = (size as f64 * percent) as usize;
    size.saturating_sub(keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    // the limit table.
    #[test]
    fn r42_eviction_limit_table() {
        for size in 1..=6 {
            assert_eq!(eviction_limit(size, 0.85), 1, "size {size}");
        }
        for size in 7..=13 {
            assert_eq!(eviction_limit(size, 0.85), 2, "size {size}");
        }
        assert_eq!(eviction_limit(20, 0.85), 3);
        assert_eq!(eviction_limit(100, 0.85), 15);
        assert_eq!(eviction_limit(1000, 0.85), 150);
        assert_eq!(eviction_limit(0, 0.85), 0);
    }
}
