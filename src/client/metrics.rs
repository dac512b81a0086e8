//! [`ClientMetrics`]: what the client's background tasks have done, as counters an
//! application can export.
//!
//! The fetch task counts full and delta fetches that were adopted, reconcile mismatches
//! (the merged copy's `apps__hashcode` differs from the server's, so a full fetch follows,
//! C-22) and fetch rounds that failed; the lifecycle task counts heartbeats by outcome,
//! registrations and re-registrations (a heartbeat answered 404, C-12). Each counter is a
//! relaxed atomic bumped once per network call. The age of the registry copy (C-25) is
//! here too: the time since the last fetch that was adopted.

use crate::sync::lock;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// A handle on one client's counters ([`EurekaClient::metrics`](super::EurekaClient::metrics));
/// clones share them.
///
/// Export them in any format: read a [`ClientMetricsSnapshot`] at scrape time.
///
/// ```
/// use std::fmt::Write as _;
/// use tower_eureka::client::{ClientMetricsSnapshot, EurekaClient};
///
/// /// The counters in the Prometheus text format, for an application's `/metrics`.
/// fn export(s: &ClientMetricsSnapshot) -> String {
///     let mut out = String::new();
///     let mut counter = |name: &str, rows: &[(&str, u64)]| {
///         let _ = writeln!(out, "# TYPE eureka_client_{name}_total counter");
///         for (labels, v) in rows {
///             let _ = writeln!(out, "eureka_client_{name}_total{labels} {v}");
///         }
///     };
///     counter("fetches", &[(r#"{kind="full"}"#, s.full_fetches), (r#"{kind="delta"}"#, s.delta_fetches)]);
///     counter("reconcile_mismatches", &[("", s.reconcile_mismatches)]);
///     counter("fetch_errors", &[("", s.fetch_errors)]);
///     counter("heartbeats", &[(r#"{result="ok"}"#, s.heartbeats_ok), (r#"{result="failed"}"#, s.heartbeats_failed)]);
///     counter("registrations", &[("", s.registrations)]);
///     counter("reregistrations", &[("", s.reregistrations)]);
///     out
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tower_eureka::client::Error> {
/// let client = EurekaClient::builder(["http://127.0.0.1:1/eureka"]).fetch_only().start()?;
/// let metrics = client.metrics(); // keep it where the /metrics handler can reach it
/// let text = export(&metrics.snapshot());
/// assert!(text.contains("eureka_client_fetches_total{kind=\"full\"} 0\n"));
/// # Ok(())
/// # }
/// ```
///
/// The counters start at zero and only count up:
///
/// ```
/// use tower_eureka::client::ClientMetrics;
/// let m = ClientMetrics::default();
/// let s = m.snapshot();
/// assert_eq!((s.full_fetches, s.delta_fetches, s.reregistrations), (0, 0, 0));
/// assert_eq!(s.registry_age, None); // no copy adopted yet
/// ```
#[derive(Clone, Default)]
pub struct ClientMetrics {
    inner: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    full_fetches: AtomicU64,
    delta_fetches: AtomicU64,
    reconcile_mismatches: AtomicU64,
    fetch_errors: AtomicU64,
    heartbeats_ok: AtomicU64,
    heartbeats_failed: AtomicU64,
    registrations: AtomicU64,
    registration_errors: AtomicU64,
    reregistrations: AtomicU64,
    /// When a fetched copy was last adopted (tokio time).
    last_fetch: Mutex<Option<Instant>>,
}

/// The counters at one moment, as plain numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientMetricsSnapshot {
    /// Full fetches (`GET apps/`) whose copy was adopted.
    pub full_fetches: u64,
    /// Delta fetches (`GET apps/delta`) whose merged copy reconciled and was adopted.
    pub delta_fetches: u64,
    /// Deltas whose merged copy's hash differed from the server's: a full fetch followed
    /// (C-22).
    pub reconcile_mismatches: u64,
    /// Fetch rounds that adopted nothing (no server answered usably); the last copy is kept.
    pub fetch_errors: u64,
    /// Heartbeats the server accepted (2xx; a 409 counts as renewed, as the client treats it).
    pub heartbeats_ok: u64,
    /// Heartbeats that failed (I/O, timeout, an unexpected status), 404s excepted.
    pub heartbeats_failed: u64,
    /// Registrations the server accepted (the first one, re-registrations and updates).
    pub registrations: u64,
    /// Registrations that failed and will be retried.
    pub registration_errors: u64,
    /// Heartbeats answered 404 (the server does not know the instance), each followed by
    /// a registration (C-12).
    pub reregistrations: u64,
    /// Time since a fetched copy was last adopted, `None` before the first (C-25); the
    /// same as [`EurekaClient::registry_age`](super::EurekaClient::registry_age).
    pub registry_age: Option<Duration>,
}

/// What the client's tasks count.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Event {
    FullFetch,
    DeltaFetch,
    ReconcileMismatch,
    FetchError,
    HeartbeatOk,
    HeartbeatFailed,
    Registration,
    RegistrationError,
    Reregistration,
}

impl ClientMetrics {
    /// The counters now.
    pub fn snapshot(&self) -> ClientMetricsSnapshot {
        let c = &*self.inner;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ClientMetricsSnapshot {
            full_fetches: get(&c.full_fetches),
            delta_fetches: get(&c.delta_fetches),
            reconcile_mismatches: get(&c.reconcile_mismatches),
            fetch_errors: get(&c.fetch_errors),
            heartbeats_ok: get(&c.heartbeats_ok),
            heartbeats_failed: get(&c.heartbeats_failed),
            registrations: get(&c.registrations),
            registration_errors: get(&c.registration_errors),
            reregistrations: get(&c.reregistrations),
            registry_age: self.registry_age(),
        }
    }

    /// Time since a fetched copy was last adopted (C-25).
    pub(crate) fn registry_age(&self) -> Option<Duration> {
        lock(&self.inner.last_fetch).map(|t| t.elapsed())
    }

    /// A fetched copy was adopted at `now`.
    pub(crate) fn fetched_at(&self, now: Instant) {
        *lock(&self.inner.last_fetch) = Some(now);
    }

    pub(crate) fn count(&self, event: Event) {
        let c = &*self.inner;
        let a = match event {
            Event::FullFetch => &c.full_fetches,
            Event::DeltaFetch => &c.delta_fetches,
            Event::ReconcileMismatch => &c.reconcile_mismatches,
            Event::FetchError => &c.fetch_errors,
            Event::HeartbeatOk => &c.heartbeats_ok,
            Event::HeartbeatFailed => &c.heartbeats_failed,
            Event::Registration => &c.registrations,
            Event::RegistrationError => &c.registration_errors,
            Event::Reregistration => &c.reregistrations,
        };
        a.fetch_add(1, Ordering::Relaxed);
    }
}

impl fmt::Debug for ClientMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.snapshot(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_moves_its_own_counter() {
        let m = ClientMetrics::default();
        let clone = m.clone();
        for e in [
            Event::FullFetch,
            Event::DeltaFetch,
            Event::DeltaFetch,
            Event::ReconcileMismatch,
            Event::FetchError,
            Event::HeartbeatOk,
            Event::HeartbeatFailed,
            Event::Registration,
            Event::RegistrationError,
            Event::Reregistration,
        ] {
            clone.count(e);
        }
        let s = m.snapshot();
        assert_eq!(
            s,
            ClientMetricsSnapshot {
                full_fetches: 1,
                delta_fetches: 2,
                reconcile_mismatches: 1,
                fetch_errors: 1,
                heartbeats_ok: 1,
                heartbeats_failed: 1,
                registrations: 1,
                registration_errors: 1,
                reregistrations: 1,
                registry_age: None,
            }
        );
    }
}
