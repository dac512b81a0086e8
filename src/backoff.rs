//! The crate's one retry back-off: exponential with full jitter (C-13). The client's
//! registration, fetch and follow loops and the cluster's anti-entropy rounds (P-35) wait
//! with it after a failure, so that many clients or peers that failed together do not
//! retry in lockstep. Pure: randomness comes in as an argument.

use rand::Rng;
use std::time::Duration;

/// Exponential back-off with full jitter.
///
/// After `n` consecutive failures the ceiling is `base × 2^(n-1)`, capped at `cap`; the delay
/// is drawn uniformly between a tenth of `base` (so that a retry never spins) and the ceiling.
#[derive(Debug, Clone)]
pub(crate) struct RetryBackoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl RetryBackoff {
    pub(crate) fn new(base: Duration, cap: Duration) -> Self {
        RetryBackoff {
            base,
            cap: cap.max(base),
            failures: 0,
        }
    }

    /// Forgets past failures.
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }

    /// Consecutive failures recorded so far.
    #[cfg(test)]
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }

    /// The ceiling for the current number of failures.
    pub(crate) fn ceiling(&self) -> Duration {
        let exp = self.failures.saturating_sub(1).min(30);
        self.base
            .checked_mul(1u32 << exp)
            .unwrap_or(self.cap)
            .min(self.cap)
    }

    /// Records one more failure and returns how long to wait before the next attempt.
    pub(crate) fn fail<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let ceiling = self.ceiling();
        let floor = (self.base / 10).min(ceiling);
        if ceiling <= floor {
            return ceiling;
        }
        rng.random_range(floor..=ceiling)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn c13_backoff_grows_to_the_cap_with_full_jitter() {
        let mut rng = StdRng::seed_from_u64(3);
        let base = Duration::from_secs(30);
        let mut b = RetryBackoff::new(base, base * 10);
        let ceilings: Vec<_> = (0..8)
            .map(|_| {
                let d = b.fail(&mut rng);
                let c = b.ceiling();
                assert!(
                    d <= c && d >= base / 10,
                    "{d:?} outside [{:?}, {c:?}]",
                    base / 10
                );
                c.as_secs()
            })
            .collect();
        assert_eq!(ceilings, vec![30, 60, 120, 240, 300, 300, 300, 300]);
        b.reset();
        assert_eq!(b.failures(), 0);
        b.fail(&mut rng);
        assert_eq!(b.ceiling(), base);
    }

    #[test]
    fn c13_backoff_jitter_spreads() {
        let mut rng = StdRng::seed_from_u64(9);
        let mut b = RetryBackoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let draws: Vec<_> = (0..50)
            .map(|_| {
                let mut b2 = b.clone();
                b2.fail(&mut rng)
            })
            .collect();
        let distinct: std::collections::HashSet<_> = draws.iter().collect();
        assert!(distinct.len() > 10);
        for _ in 0..100 {
            assert!(b.fail(&mut rng) <= Duration::from_secs(30));
        }
    }
}
