//! Registry configuration (spec 1.3.3 defaults).

use super::Clock;
use std::time::Duration;

/// How the registry protects leases when too few heartbeats arrive (R-100..R-104).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SelfPreservationMode {
    /// The improved gate of R-104 (default): `expected` is the sum over live leases of
    /// `60 / renewalIntervalInSecs`, renewals are measured over a sliding 60 s window, the
    /// gate tolerates one missing heartbeat (`renews < 0.85 × expected − 1` engages it), it
    /// never engages below
    /// [`self_preservation_min_leases`](RegistryConfig::self_preservation_min_leases), and
    /// leases expired for longer than
    /// [`self_preservation_max_protect`](RegistryConfig::self_preservation_max_protect) are
    /// evicted even while it is engaged.
    #[default]
    Improved,
    /// The exact Java arithmetic of R-100..R-102 (fixed minute buckets, the
    /// `expectedNumberOfClientsSendingRenews` counter, 15-minute threshold updates).
    Legacy,
    /// No self-preservation (`enableSelfPreservation=false`): lease expiry is always on.
    Disabled,
}

/// Configuration of a [`Registry`](super::Registry).
///
/// Defaults follow spec section 1.3.3 (the Java/Spring defaults) except where the spec
/// recommends better Rust behaviour (eviction tick, lease expiry, self-preservation mode,
/// publication latency).
///
/// ```
/// use std::time::Duration;
/// use tower_eureka::registry::{RegistryConfig, SelfPreservationMode};
///
/// let legacy = RegistryConfig {
///     self_preservation: SelfPreservationMode::Legacy,
///     legacy_lease_expiry: true,
///     publish_interval: Duration::from_secs(30),
///     ..RegistryConfig::default()
/// };
/// assert_eq!(legacy.renewal_percent_threshold, 0.85);
/// ```
#[derive(Clone, Debug)]
pub struct RegistryConfig {
    /// How often the maintenance loop ([`Registry::run`](super::Registry::run)) runs an
    /// eviction pass. Default 5 s (R-42: more often than Java's 60 s; the per-window
    /// eviction limit still applies per 60 s).
    pub eviction_interval: Duration,
    /// `renewalPercentThreshold`, default 0.85: the self-preservation threshold and the
    /// eviction limit (`size − floor(size × p)` per 60 s window, R-42).
    pub renewal_percent_threshold: f64,
    /// `expectedClientRenewalIntervalSeconds`, default 30 (0 means 30). Used by the legacy
    /// threshold arithmetic (R-100).
    pub expected_client_renewal_interval_secs: u32,
    /// Self-preservation mode; default [`SelfPreservationMode::Improved`].
    pub self_preservation: SelfPreservationMode,
    /// Improved mode: never engage with fewer leases than this. Default 5.
    pub self_preservation_min_leases: usize,
    /// Improved mode: leases expired for longer than this are evicted even while
    /// self-preservation is engaged. Default 15 min.
    pub self_preservation_max_protect: Duration,
    /// Legacy mode: `renewalThresholdUpdateIntervalMs`, default 15 min (R-101).
    pub renewal_threshold_update_interval: Duration,
    /// Legacy mode: `expectedNumberOfClientsSendingRenews` at start, and the value
    /// [`Registry::open_for_traffic`](super::Registry::open_for_traffic) uses when the
    /// bootstrap copied nothing. Default 1 (Spring's `expected-number-of-clients-sending-renews`
    /// and `default-open-for-traffic-count`); 0 reproduces a vanilla Netflix server (R-102).
    pub legacy_initial_expected_clients: u32,
    /// R-40: reproduce Java's lease expiry (2 × duration once renewed) and Java's
    /// `lastRenewalTimestamp` (R-41). Default false: expiry after exactly 1 × duration.
    pub legacy_lease_expiry: bool,
    /// R-64: reproduce Java's override deletion without `value` (status becomes `UNKNOWN`).
    /// Default false: the status the instance last reported is restored.
    pub legacy_override_delete: bool,
    /// R-81: how long a change stays in the delta. Default 180 s (never less is advisable:
    /// clients fetch every 30 s).
    pub delta_retention: Duration,
    /// Longest time a change may stay invisible in [`Registry::snapshot`](super::Registry::snapshot):
    /// bursts of changes within this interval are coalesced into one snapshot. Default
    /// 25 ms; `Duration::ZERO` publishes every change immediately; 30 s mimics Java's
    /// read-only response cache (R-90).
    pub publish_interval: Duration,
    /// `syncWhenTimestampDiffers`, default true: heartbeats compare `lastDirtyTimestamp`
    /// (R-50).
    pub sync_when_timestamp_differs: bool,
    /// The serving server's own instance id: its record shows
    /// `isCoordinatingDiscoveryServer = true` (R-111). Default none.
    pub server_instance_id: Option<String>,
    /// The time source; `None` (default) creates a [`Clock::new`] when the registry is
    /// built. Tests inject [`Clock::starting_at`] for deterministic wire timestamps.
    pub clock: Option<Clock>,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            eviction_interval: Duration::from_secs(5),
            renewal_percent_threshold: 0.85,
            expected_client_renewal_interval_secs: 30,
            self_preservation: SelfPreservationMode::Improved,
            self_preservation_min_leases: 5,
            self_preservation_max_protect: Duration::from_secs(15 * 60),
            renewal_threshold_update_interval: Duration::from_secs(15 * 60),
            legacy_initial_expected_clients: 1,
            legacy_lease_expiry: false,
            legacy_override_delete: false,
            delta_retention: Duration::from_secs(180),
            publish_interval: Duration::from_millis(25),
            sync_when_timestamp_differs: true,
            server_instance_id: None,
            clock: None,
        }
    }
}

impl RegistryConfig {
    /// The renewal percent threshold, clamped into `[0, 1]` (NaN becomes the default).
    pub(crate) fn percent(&self) -> f64 {
        let p = self.renewal_percent_threshold;
        if p.is_nan() {
            0.85
        } else {
            p.clamp(0.0, 1.0)
        }
    }

    /// `expectedClientRenewalIntervalSeconds` with 0 meaning 30.
    pub(crate) fn expected_interval_secs(&self) -> u32 {
        match self.expected_client_renewal_interval_secs {
            0 => 30,
            n => n,
        }
    }
}
