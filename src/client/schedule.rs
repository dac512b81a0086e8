//! Timing helpers of the background tasks: the fixed-rate heartbeat schedule with per-beat
//! jitter (C-11) and the token bucket of on-demand registrations (C-08); the back-off of
//! failed calls (C-13) is the crate's one `backoff::RetryBackoff`. Pure: time and
//! randomness come in as arguments.

use rand::Rng;
use std::time::Duration;
use tokio::time::Instant;

/// Fixed-rate schedule: beat `k` is due at `start + k × period + jitter_k`, with
/// `|jitter_k| <= period / 20`, drawn per beat so that it never accumulates (C-11). Beats
/// missed while a call was slow are skipped, not sent in a burst.
#[derive(Debug, Clone)]
pub(crate) struct FixedRate {
    start: Instant,
    period: Duration,
    beat: u64,
}

impl FixedRate {
    /// The largest jitter, as a fraction of the period.
    pub(crate) const JITTER: f64 = 0.05;

    pub(crate) fn new(start: Instant, period: Duration) -> Self {
        FixedRate {
            start,
            period: period.max(Duration::from_millis(1)),
            beat: 0,
        }
    }

    fn base(&self, beat: u64) -> Instant {
        let k = u32::try_from(beat).unwrap_or(u32::MAX);
        self.start + self.period.saturating_mul(k)
    }

    /// The deadline of the next beat that is still ahead of `now` (minus the jitter bound),
    /// skipping beats that were missed.
    pub(crate) fn next<R: Rng + ?Sized>(&mut self, now: Instant, rng: &mut R) -> Instant {
        let max_jitter = self.period.mul_f64(Self::JITTER);
        self.beat += 1;
        while self.base(self.beat) + max_jitter <= now {
            self.beat += 1;
        }
        let jitter = rng.random_range(-Self::JITTER..=Self::JITTER);
        let offset = self.period.mul_f64(jitter.abs());
        let base = self.base(self.beat);
        let due = if jitter < 0.0 {
            base - offset
        } else {
            base + offset
        };
        due.max(now)
    }
}

/// Token bucket: `burst` tokens, refilled at `per_minute` tokens a minute (C-08).
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    burst: f64,
    tokens: f64,
    refill_every: Duration,
    updated: Instant,
}

impl TokenBucket {
    pub(crate) fn new(burst: u32, per_minute: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            burst,
            tokens: burst,
            refill_every: Duration::from_secs(60) / per_minute.max(1),
            updated: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated);
        self.tokens =
            (self.tokens + elapsed.as_secs_f64() / self.refill_every.as_secs_f64()).min(self.burst);
        self.updated = now;
    }

    /// A token is there, up to rounding: `ready_at` and `try_take` agree at the instant
    /// `ready_at` named, so a registration scheduled for a token gets it.
    fn has_token(&self) -> bool {
        self.tokens >= 1.0 - 1e-9
    }

    /// Takes a token if one is available.
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.has_token() {
            self.tokens = (self.tokens - 1.0).max(0.0);
            true
        } else {
            false
        }
    }

    /// When the next token will be available.
    pub(crate) fn ready_at(&mut self, now: Instant) -> Instant {
        self.refill(now);
        if self.has_token() {
            now
        } else {
            now + self.refill_every.mul_f64(1.0 - self.tokens)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn c11_fixed_rate_does_not_drift_and_skips_missed_beats() {
        let mut rng = StdRng::seed_from_u64(5);
        let start = Instant::now();
        let p = Duration::from_secs(30);
        let mut s = FixedRate::new(start, p);
        let mut now = start;
        for k in 1..=100u32 {
            let due = s.next(now, &mut rng);
            let base = start + p * k;
            let lo = base - p.mul_f64(FixedRate::JITTER);
            let hi = base + p.mul_f64(FixedRate::JITTER);
            assert!(due >= lo && due <= hi, "beat {k} off schedule");
            // the call takes a while, but less than a period
            now = due + Duration::from_secs(7);
        }
        // A call that took 95 s: the beats it covered are skipped, the next one is on grid.
        let due = s.next(now + Duration::from_secs(95), &mut rng);
        let k = ((due - start).as_secs_f64() / p.as_secs_f64()).round();
        let off = (due - start).as_secs_f64() - k * p.as_secs_f64();
        assert!(off.abs() <= p.as_secs_f64() * FixedRate::JITTER + 1e-6);
        assert!(due > now + Duration::from_secs(95) - p.mul_f64(FixedRate::JITTER));
    }

    #[test]
    fn c08_token_bucket_burst_2_then_4_per_minute() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(2, 4, t0);
        assert!(b.try_take(t0));
        assert!(b.try_take(t0));
        assert!(!b.try_take(t0));
        assert_eq!(b.ready_at(t0), t0 + Duration::from_secs(15));
        assert!(!b.try_take(t0 + Duration::from_secs(14)));
        assert!(b.try_take(t0 + Duration::from_secs(15)));
        // A long pause refills only up to the burst.
        let later = t0 + Duration::from_secs(600);
        assert!(b.try_take(later));
        assert!(b.try_take(later));
        assert!(!b.try_take(later));
    }

    // A registration scheduled at `ready_at` gets its token, whatever the rounding of
    // odd refill fractions (the lifecycle now waits again when it does not).
    #[test]
    fn c08_ready_at_and_try_take_agree() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(2, 7, t0);
        let mut now = t0;
        for k in 0..50u64 {
            now += Duration::from_millis(1 + 97 * k % 1000);
            let at = b.ready_at(now);
            assert!(b.try_take(at), "step {k}");
            now = at;
        }
    }
}
