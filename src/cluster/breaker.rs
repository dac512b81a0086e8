//! The circuit breaker and back-off of one peer (P-32): full-jitter exponential back-off
//! capped at `max_backoff`, a circuit that opens after `failures_to_open` failures in a
//! row and then lets one probe through every `max_backoff / 2 ..= max_backoff`.

use rand::Rng;
use std::time::Duration;
use tokio::time::Instant;

/// The circuit breaker and back-off of one peer, on tokio time.
#[derive(Debug)]
pub(crate) struct Breaker {
    failures: u32,
    open: bool,
    retry_at: Option<Instant>,
    failures_to_open: u32,
    max_backoff: Duration,
}

/// What a state change of the breaker means for the logs.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Change {
    None,
    Opened,
    Closed,
}

impl Breaker {
    pub(crate) fn new(failures_to_open: u32, max_backoff: Duration) -> Breaker {
        Breaker {
            failures: 0,
            open: false,
            retry_at: None,
            failures_to_open: failures_to_open.max(1),
            max_backoff,
        }
    }

    pub(crate) fn is_open(&self) -> bool {
        self.open
    }

    /// When the next attempt may start (`None`: now).
    pub(crate) fn retry_at(&self) -> Option<Instant> {
        self.retry_at.filter(|t| *t > Instant::now())
    }

    pub(crate) fn success(&mut self) -> Change {
        let was_open = self.open;
        self.failures = 0;
        self.open = false;
        self.retry_at = None;
        if was_open {
            Change::Closed
        } else {
            Change::None
        }
    }

    /// A failure: the next attempt waits a full-jitter exponential back-off (base 100 ms),
    /// never more than `max_backoff`; while open, probes are between half of and the whole
    /// `max_backoff` apart.
    pub(crate) fn failure(&mut self, rng: &mut impl Rng) -> Change {
        self.failures = self.failures.saturating_add(1);
        let cap = self.max_backoff.max(Duration::from_millis(1));
        let change = if !self.open && self.failures >= self.failures_to_open {
            self.open = true;
            Change::Opened
        } else {
            Change::None
        };
        let wait = if self.open {
            let half = cap / 2;
            half + half.mul_f64(rng.random::<f64>())
        } else {
            let exp = Duration::from_millis(100)
                .saturating_mul(1u32 << self.failures.min(16))
                .min(cap);
            exp.mul_f64(rng.random::<f64>())
        };
        self.retry_at = Some(Instant::now() + wait);
        change
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    // P-32: full jitter under the cap; the circuit opens after repeated failures, probes
    // stay within `max_backoff`, and one success closes it.
    #[tokio::test(start_paused = true)]
    async fn p32_backoff_is_capped_and_the_circuit_recovers() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let cap = Duration::from_secs(2);
        let mut b = Breaker::new(3, cap);
        assert_eq!(b.failure(&mut rng), Change::None);
        assert_eq!(b.failure(&mut rng), Change::None);
        assert!(!b.is_open());
        assert_eq!(b.failure(&mut rng), Change::Opened);
        for _ in 0..100 {
            let start = Instant::now();
            assert_eq!(b.failure(&mut rng), Change::None);
            let at = b.retry_at().unwrap_or(start);
            let wait = at - start;
            assert!(wait >= cap / 2 && wait <= cap, "{wait:?}");
            tokio::time::advance(wait).await;
            assert_eq!(b.retry_at(), None, "due once the wait passed");
        }
        assert_eq!(b.success(), Change::Closed);
        assert!(!b.is_open() && b.retry_at().is_none());
        assert_eq!(b.success(), Change::None);
    }
}
