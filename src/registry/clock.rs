//! The registry's single time source.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Wall-clock and monotonic time, both derived from tokio's clock.
///
/// A `Clock` captures the wall-clock time (epoch milliseconds) once, at creation, together
/// with a tokio [`Instant`]. Afterwards every reading is "epoch at creation + tokio time
/// elapsed since creation". Leases, eviction and the delta window run on the monotonic part;
/// the timestamps that go on the wire (`lastUpdatedTimestamp`, `leaseInfo.*Timestamp`) use
/// the epoch part. Because both come from tokio's clock, tests with
/// `#[tokio::test(start_paused = true)]` control them completely, and a wall-clock jump
/// never expires leases.
///
/// ```
/// use tower_eureka::registry::Clock;
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let clock = Clock::starting_at(1_700_000_000_000);
/// tokio::time::sleep(std::time::Duration::from_secs(2)).await;
/// assert_eq!(clock.epoch_ms(), 1_700_000_002_000);
/// # }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    base: Instant,
    epoch_at_base_ms: u64,
}

impl Clock {
    /// A clock whose epoch reading starts at the system's current wall-clock time.
    pub fn new() -> Clock {
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Clock::starting_at(epoch)
    }

    /// A clock whose epoch reading is `epoch_ms` right now (deterministic tests).
    pub fn starting_at(epoch_ms: u64) -> Clock {
        Clock {
            base: Instant::now(),
            epoch_at_base_ms: epoch_ms,
        }
    }

    /// tokio's current instant.
    pub fn now(&self) -> Instant {
        Instant::now()
    }

    /// Wall-clock time now, epoch milliseconds.
    pub fn epoch_ms(&self) -> u64 {
        self.epoch_at(self.elapsed_ms())
    }

    /// Wall-clock time of `instant`, epoch milliseconds (instants before the clock's
    /// creation map to its creation time).
    pub fn epoch_ms_at(&self, instant: Instant) -> u64 {
        self.epoch_at(duration_ms(instant.saturating_duration_since(self.base)))
    }

    /// Milliseconds of tokio time since this clock was created (the registry's
    /// monotonic time line).
    pub(crate) fn elapsed_ms(&self) -> u64 {
        duration_ms(Instant::now().saturating_duration_since(self.base))
    }

    /// The epoch time of a point on the monotonic time line.
    pub(crate) fn epoch_at(&self, elapsed_ms: u64) -> u64 {
        self.epoch_at_base_ms.saturating_add(elapsed_ms)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn epoch_follows_tokio_time() {
        let c = Clock::starting_at(1_000);
        assert_eq!(c.epoch_ms(), 1_000);
        tokio::time::advance(Duration::from_millis(2_500)).await;
        assert_eq!(c.epoch_ms(), 3_500);
        assert_eq!(c.elapsed_ms(), 2_500);
        assert_eq!(c.epoch_ms_at(c.now()), 3_500);
    }

    #[test]
    fn system_clock_is_plausible() {
        // After 2020-01-01.
        assert!(Clock::new().epoch_ms() > 1_577_836_800_000);
    }
}
