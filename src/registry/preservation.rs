//! Self-preservation (R-100..R-104): the gate that suspends lease expiry when too few
//! heartbeats arrive, its inputs (the improved sliding window and expected rate, the exact
//! legacy counters) and the legacy threshold maintenance.

use super::clock::duration_ms;
use super::lease::Lease;
use super::{RegistryConfig, SelfPreservationMode};
use std::time::Duration;

const WINDOW_BUCKET_MS: u64 = 10_000;
const WINDOW_BUCKETS: u64 = 7;

/// Renewals over a sliding 60 s window: six 10 s buckets plus the current partial one; the
/// oldest bucket is weighted by how much of it still lies inside the window.
#[derive(Debug, Default)]
pub(crate) struct RenewWindow {
    buckets: [u64; WINDOW_BUCKETS as usize],
    head: u64,
}

impl RenewWindow {
    fn slot(idx: u64) -> usize {
        // Always < WINDOW_BUCKETS, so the conversion and the indexing cannot fail.
        usize::try_from(idx % WINDOW_BUCKETS).unwrap_or(0)
    }

    fn advance(&mut self, now_ms: u64) {
        let idx = now_ms / WINDOW_BUCKET_MS;
        if idx > self.head {
            let steps = (idx - self.head).min(WINDOW_BUCKETS);
            for i in 1..=steps {
                if let Some(b) = self.buckets.get_mut(Self::slot(self.head + i)) {
                    *b = 0;
                }
            }
            self.head = idx;
        }
    }

    pub(crate) fn record(&mut self, now_ms: u64) {
        self.advance(now_ms);
        if let Some(b) = self.buckets.get_mut(Self::slot(self.head)) {
            *b += 1;
        }
    }

    /// Renewals in the last 60 s (estimated to within one bucket's share).
    pub(crate) fn per_minute(&mut self, now_ms: u64) -> f64 {
        self.advance(now_ms);
        let frac = (now_ms % WINDOW_BUCKET_MS) as f64 / WINDOW_BUCKET_MS as f64;
        let mut sum = 0.0;
        for back in 0..WINDOW_BUCKETS {
            if back > self.head {
                break;
            }
            let n = self
                .buckets
                .get(Self::slot(self.head - back))
                .copied()
                .unwrap_or(0) as f64;
            sum += if back == WINDOW_BUCKETS - 1 {
                n * (1.0 - frac)
            } else {
                n
            };
        }
        sum
    }
}

/// Java's `expectedNumberOfClientsSendingRenews` and `renewsLastMin`.
#[derive(Debug)]
pub(crate) struct LegacyCounter {
    pub(crate) expected: u64,
    bucket: u64,
    current: u64,
    last: u64,
    next_update_ms: u64,
}

impl LegacyCounter {
    pub(crate) fn new(expected: u64, update_interval_ms: u64) -> Self {
        LegacyCounter {
            expected,
            bucket: 0,
            current: 0,
            last: 0,
            next_update_ms: update_interval_ms,
        }
    }

    fn advance(&mut self, now_ms: u64) {
        let idx = now_ms / 60_000;
        if idx > self.bucket {
            self.last = if idx == self.bucket + 1 {
                self.current
            } else {
                0
            };
            self.current = 0;
            self.bucket = idx;
        }
    }

    pub(crate) fn record(&mut self, now_ms: u64) {
        self.advance(now_ms);
        self.current += 1;
    }

    /// Renewals counted in the previous complete minute bucket.
    pub(crate) fn renews_last_min(&mut self, now_ms: u64) -> u64 {
        self.advance(now_ms);
        self.last
    }

    /// `trunc(expected × (60.0 / interval) × percent)`, in this order, in f64.
    pub(crate) fn threshold(&self, interval_secs: u32, percent: f64) -> u64 {
        // `as` truncates toward zero (and saturates), which is Java's `(int)` cast here.
        (self.expected as f64 * (60.0 / f64::from(interval_secs)) * percent) as u64
    }

    /// The periodic update of R-101 (last row), if due: `n` is the number of instances the
    /// server sees. Returns whether `expected` changed.
    pub(crate) fn maybe_update(
        &mut self,
        now_ms: u64,
        interval_ms: u64,
        n: u64,
        percent: f64,
        preservation_enabled: bool,
    ) -> bool {
        if interval_ms == 0 || now_ms < self.next_update_ms {
            return false;
        }
        let behind = now_ms - self.next_update_ms;
        self.next_update_ms = now_ms - behind % interval_ms + interval_ms;
        if n as f64 > percent * self.expected as f64 || !preservation_enabled {
            let changed = self.expected != n;
            self.expected = n;
            return changed;
        }
        false
    }

    pub(crate) fn increment(&mut self) {
        if self.expected > 0 {
            self.expected += 1;
        }
    }

    pub(crate) fn decrement(&mut self) {
        if self.expected > 0 {
            self.expected -= 1;
        }
    }
}

/// The gate's inputs and verdict at one instant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gate {
    /// Self-preservation engaged: lease expiry is disabled, except (improved mode) for
    /// leases expired for longer than `max_protect_ms`.
    pub(crate) active: bool,
    expected_per_min: f64,
    renews: f64,
    threshold: f64,
    /// Improved mode: how long an expired lease stays protected.
    max_protect_ms: Option<u64>,
    /// Registered leases when the gate was read.
    leases: usize,
}

impl Gate {
    /// Whether a lease expired for `expired_for_ms` is kept: not evicted, and still
    /// visible to lookups and writes.
    pub(crate) fn protects(&self, expired_for_ms: u64) -> bool {
        self.active && !self.max_protect_ms.is_some_and(|max| expired_for_ms > max)
    }
}

/// The self-preservation gate with everything it reads.
#[derive(Debug)]
pub(crate) struct Preservation {
    mode: SelfPreservationMode,
    percent: f64,
    min_leases: usize,
    max_protect: Duration,
    expected_interval_secs: u32,
    update_interval_ms: u64,
    initial_expected_clients: u32,
    /// Improved mode: renewals over the last 60 s.
    window: RenewWindow,
    /// Legacy mode: Java's counters.
    legacy: LegacyCounter,
    /// Improved mode: the sum over live leases of their expected renewals per minute, in
    /// thousandths.
    expected_milli: u64,
    /// Whether the last eviction pass found the gate engaged (to log transitions).
    engaged: bool,
}

impl Preservation {
    pub(crate) fn new(cfg: &RegistryConfig) -> Preservation {
        let update_interval_ms = duration_ms(cfg.renewal_threshold_update_interval);
        Preservation {
            mode: cfg.self_preservation,
            percent: cfg.percent(),
            min_leases: cfg.self_preservation_min_leases,
            max_protect: cfg.self_preservation_max_protect,
            expected_interval_secs: cfg.expected_interval_secs(),
            update_interval_ms,
            initial_expected_clients: cfg.legacy_initial_expected_clients,
            window: RenewWindow::default(),
            legacy: LegacyCounter::new(
                u64::from(cfg.legacy_initial_expected_clients),
                update_interval_ms,
            ),
            expected_milli: 0,
            engaged: false,
        }
    }

    /// A successful renew, whatever its origin.
    pub(crate) fn renewed(&mut self, now: u64) {
        self.window.record(now);
        self.legacy.record(now);
    }

    /// A register created `lease`, replacing `replaced` if there was one. A new
    /// `(app, id)` is one more expected client; a register restarts the lease and
    /// counts as a renewal in the improved window (not in Java's legacy counter).
    pub(crate) fn registered(&mut self, replaced: Option<&Lease>, expected_milli: u64, now: u64) {
        match replaced {
            Some(p) => self.expected_milli = self.expected_milli.saturating_sub(p.expected_milli),
            None => self.legacy.increment(),
        }
        self.expected_milli += expected_milli;
        self.window.record(now);
    }

    /// `lease` was cancelled or evicted: one expected client less.
    pub(crate) fn removed(&mut self, lease: &Lease) {
        self.expected_milli = self.expected_milli.saturating_sub(lease.expected_milli);
        self.legacy.decrement();
    }

    /// Legacy mode, R-101 first row: `expected` after the startup sync.
    pub(crate) fn open_for_traffic(&mut self, copied: usize) {
        self.legacy.expected = match copied {
            0 => u64::from(self.initial_expected_clients),
            n => n as u64,
        };
    }

    /// The periodic work of the maintenance loop: legacy threshold updates, when due.
    pub(crate) fn maintain(&mut self, now: u64, leases: usize) {
        if self.mode == SelfPreservationMode::Legacy {
            self.legacy_maintain(now, leases);
        }
    }

    fn legacy_maintain(&mut self, now: u64, leases: usize) {
        let before = self.legacy.expected;
        if self.legacy.maybe_update(
            now,
            self.update_interval_ms,
            leases as u64,
            self.percent,
            true,
        ) {
            tracing::info!(
                before,
                after = self.legacy.expected,
                "self-preservation: expected clients updated from the registry size"
            );
        }
    }

    /// The gate at `now` with `leases` registered (legacy mode: updates the threshold
    /// first when due).
    pub(crate) fn gate(&mut self, now: u64, leases: usize) -> Gate {
        let percent = self.percent;
        match self.mode {
            SelfPreservationMode::Disabled => Gate {
                active: false,
                expected_per_min: self.expected_milli as f64 / 1000.0,
                renews: self.window.per_minute(now),
                threshold: 0.0,
                max_protect_ms: None,
                leases,
            },
            SelfPreservationMode::Improved => {
                let expected = self.expected_milli as f64 / 1000.0;
                // While the registry is younger than the window, expect proportionally less.
                let span = now.min(60_000) as f64 / 60_000.0;
                let threshold = percent * expected * span - 1.0;
                let renews = self.window.per_minute(now);
                Gate {
                    active: leases >= self.min_leases && renews < threshold,
                    expected_per_min: expected,
                    renews,
                    threshold,
                    max_protect_ms: Some(duration_ms(self.max_protect)),
                    leases,
                }
            }
            SelfPreservationMode::Legacy => {
                self.legacy_maintain(now, leases);
                let interval = self.expected_interval_secs;
                let threshold = self.legacy.threshold(interval, percent);
                let renews = self.legacy.renews_last_min(now);
                Gate {
                    active: !(threshold > 0 && renews > threshold),
                    expected_per_min: self.legacy.expected as f64 * 60.0 / f64::from(interval),
                    renews: renews as f64,
                    threshold: threshold as f64,
                    max_protect_ms: None,
                    leases,
                }
            }
        }
    }

    /// Logs when an eviction pass finds the gate engaged or released.
    pub(crate) fn observe(&mut self, gate: &Gate) {
        if gate.active == self.engaged {
            return;
        }
        self.engaged = gate.active;
        let reason = self.reason(gate);
        if gate.active {
            tracing::warn!(%reason, "self-preservation engaged: lease expiry suspended");
        } else {
            tracing::info!(%reason, "self-preservation released: lease expiry enabled");
        }
    }

    /// The state for `/status` and admin endpoints; `protected` is how many
    /// expired leases the last eviction pass held back.
    pub(crate) fn status(
        &mut self,
        now: u64,
        leases: usize,
        protected: usize,
    ) -> SelfPreservationStatus {
        let gate = self.gate(now, leases);
        SelfPreservationStatus {
            mode: self.mode,
            active: gate.active,
            reason: self.reason(&gate),
            expected_renews_per_min: gate.expected_per_min,
            renews_last_min: gate.renews.round() as u64,
            threshold: gate.threshold,
            expected_clients: (self.mode == SelfPreservationMode::Legacy)
                .then_some(self.legacy.expected),
            lease_count: leases,
            protected_count: if gate.active { protected } else { 0 },
        }
    }

    fn reason(&self, gate: &Gate) -> String {
        match self.mode {
            SelfPreservationMode::Disabled => "self-preservation is disabled".to_owned(),
            SelfPreservationMode::Improved => {
                if gate.leases < self.min_leases {
                    format!(
                        "off: {} leases, below the minimum of {}",
                        gate.leases, self.min_leases
                    )
                } else if gate.active {
                    format!(
                        "on: {:.1} renewals in the last minute, below the threshold {:.1} \
                         (85% of {:.1} expected, minus 1); expired leases are kept unless \
                         expired for more than {:?}",
                        gate.renews, gate.threshold, gate.expected_per_min, self.max_protect
                    )
                } else {
                    format!(
                        "off: {:.1} renewals in the last minute reach the threshold {:.1} \
                         ({:.1} expected)",
                        gate.renews, gate.threshold, gate.expected_per_min
                    )
                }
            }
            SelfPreservationMode::Legacy => {
                if gate.threshold <= 0.0 {
                    format!(
                        "on: threshold is 0 (expected clients {}), lease expiry disabled",
                        self.legacy.expected
                    )
                } else if gate.active {
                    format!(
                        "on: {} renewals in the previous minute do not exceed the threshold {} \
                         (expected clients {})",
                        gate.renews, gate.threshold, self.legacy.expected
                    )
                } else {
                    format!(
                        "off: {} renewals in the previous minute exceed the threshold {}",
                        gate.renews, gate.threshold
                    )
                }
            }
        }
    }
}

/// The self-preservation state and its inputs (for `/status`, admin endpoints and logs).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SelfPreservationStatus {
    /// The configured mode.
    pub mode: SelfPreservationMode,
    /// Whether self-preservation is engaged, i.e. lease expiry is (mostly) disabled.
    pub active: bool,
    /// Why it is on or off, in words.
    pub reason: String,
    /// Expected renewals per minute: improved mode, the sum over live leases of
    /// `60 / renewalIntervalInSecs`; legacy mode, `expected × 60 / expectedClientRenewalIntervalSeconds`.
    pub expected_renews_per_min: f64,
    /// Renewals in the last minute: improved mode, the sliding 60 s window; legacy mode, the
    /// previous complete minute bucket.
    pub renews_last_min: u64,
    /// The line `renews_last_min` must reach to keep expiry enabled: improved mode
    /// `0.85 × expected − 1` (reaching it is enough), legacy mode Java's truncated
    /// threshold (`renews_last_min` must exceed it).
    pub threshold: f64,
    /// Legacy mode: `expectedNumberOfClientsSendingRenews`; improved mode: `None`.
    pub expected_clients: Option<u64>,
    /// Registered leases.
    pub lease_count: usize,
    /// Expired leases held back by self-preservation as of the last eviction pass.
    pub protected_count: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_slides() {
        let mut w = RenewWindow::default();
        for t in [0, 5_000, 30_000, 59_000] {
            w.record(t);
        }
        assert_eq!(w.per_minute(59_999), 4.0);
        // At 65 s the bucket [0, 10 s) is half outside the window.
        assert_eq!(w.per_minute(65_000), 3.0);
        // At 70 s it is gone entirely.
        assert_eq!(w.per_minute(70_000), 2.0);
        assert_eq!(w.per_minute(10 * 60_000), 0.0);
        w.record(10 * 60_000);
        assert_eq!(w.per_minute(10 * 60_000 + 1), 1.0);
    }

    // renewsLastMin is the previous complete minute bucket.
    #[test]
    fn r100_legacy_minute_buckets() {
        let mut c = LegacyCounter::new(1, 900_000);
        c.record(1_000);
        c.record(59_999);
        assert_eq!(c.renews_last_min(59_999), 0);
        assert_eq!(c.renews_last_min(60_000), 2);
        c.record(61_000);
        assert_eq!(c.renews_last_min(119_999), 2);
        assert_eq!(c.renews_last_min(120_000), 1);
        // A skipped minute empties the previous bucket.
        assert_eq!(c.renews_last_min(240_000), 0);
    }

    // the threshold formula; with the defaults it equals floor(170 × expected / 100).
    #[test]
    fn r100_threshold_formula() {
        for expected in (0..=200_000u64).step_by(7).chain([1, 3, 10, 100, 199_999]) {
            let c = LegacyCounter {
                expected,
                ..LegacyCounter::new(0, 1)
            };
            assert_eq!(
                c.threshold(30, 0.85),
                170 * expected / 100,
                "expected={expected}"
            );
        }
    }

    // the 15-minute update takes n only when n > 85 % of expected.
    #[test]
    fn r101_periodic_update() {
        let mut c = LegacyCounter::new(100, 900_000);
        assert!(!c.maybe_update(899_999, 900_000, 50, 0.85, true));
        // Due at 15 min: 85 is not > 85.0, unchanged.
        assert!(!c.maybe_update(900_000, 900_000, 85, 0.85, true));
        assert_eq!(c.expected, 100);
        // Next due at 30 min.
        assert!(!c.maybe_update(1_000_000, 900_000, 86, 0.85, true));
        assert!(c.maybe_update(1_800_000, 900_000, 86, 0.85, true));
        assert_eq!(c.expected, 86);
        // Self-preservation disabled: always take n.
        assert!(c.maybe_update(2_700_000, 900_000, 3, 0.85, false));
        assert_eq!(c.expected, 3);
    }
}
