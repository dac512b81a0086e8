//! The recording side of `/metrics`: per-route request counters and latency histograms,
//! made of plain atomics resolved once, so that recording a request costs three atomic
//! adds and no lookup.
//!
//! A request is counted under its [`RouteName`] (a small fixed set: the Eureka route, never
//! the raw path, so label cardinality stays bounded) and its status (the codes this server
//! answers, or a class such as `5xx` for any other). [`Histogram`] is a fixed-bucket
//! histogram of atomics; the payload cache uses it for encode times too. The exposition of
//! these values (and of the registry's own counters, read at scrape time) is
//! `exposition.rs`.

use super::route::Route;
use http::{Method, StatusCode};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

// === RouteName ===

/// The name of a route as it appears in the `route` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RouteName {
    Apps,
    Delta,
    App,
    Register,
    Instance,
    Heartbeat,
    Cancel,
    StatusUpdate,
    StatusDelete,
    Metadata,
    InstanceById,
    Vip,
    SecureVip,
    ReplicationBatch,
    AsgStatus,
    Status,
    StatusOverrides,
    Metrics,
    /// `/health`.
    Health,
    /// `/ready`.
    Ready,
    /// The dashboard and its JSON twin.
    Dashboard,
    /// Refused for want of credentials (401), before routing.
    Unauthorized,
    /// No route: 404, 405 or a badly encoded path.
    Unmatched,
}

impl RouteName {
    /// Every route name, in label order.
    pub(super) const ALL: [RouteName; 23] = [
        RouteName::Apps,
        RouteName::Delta,
        RouteName::App,
        RouteName::Register,
        RouteName::Instance,
        RouteName::Heartbeat,
        RouteName::Cancel,
        RouteName::StatusUpdate,
        RouteName::StatusDelete,
        RouteName::Metadata,
        RouteName::InstanceById,
        RouteName::Vip,
        RouteName::SecureVip,
        RouteName::ReplicationBatch,
        RouteName::AsgStatus,
        RouteName::Status,
        RouteName::StatusOverrides,
        RouteName::Metrics,
        RouteName::Health,
        RouteName::Ready,
        RouteName::Dashboard,
        RouteName::Unauthorized,
        RouteName::Unmatched,
    ];

    /// The name of `route` requested with `method` (which the route table accepted).
    pub(super) fn of(route: &Route, method: &Method) -> RouteName {
        match route {
            Route::Apps => RouteName::Apps,
            Route::Delta => RouteName::Delta,
            Route::App(_) if method == Method::POST => RouteName::Register,
            Route::App(_) => RouteName::App,
            Route::Instance(..) => match *method {
                Method::PUT => RouteName::Heartbeat,
                Method::DELETE => RouteName::Cancel,
                _ => RouteName::Instance,
            },
            Route::InstanceStatus(..) if method == Method::DELETE => RouteName::StatusDelete,
            Route::InstanceStatus(..) => RouteName::StatusUpdate,
            Route::InstanceMetadata(..) => RouteName::Metadata,
            Route::InstanceById(_) => RouteName::InstanceById,
            Route::Vip(_) => RouteName::Vip,
            Route::SecureVip(_) => RouteName::SecureVip,
            Route::ReplicationBatch => RouteName::ReplicationBatch,
            Route::AsgStatus => RouteName::AsgStatus,
            Route::Status => RouteName::Status,
            Route::StatusOverrides => RouteName::StatusOverrides,
        }
    }

    /// The label value.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            RouteName::Apps => "apps",
            RouteName::Delta => "delta",
            RouteName::App => "app",
            RouteName::Register => "register",
            RouteName::Instance => "instance",
            RouteName::Heartbeat => "heartbeat",
            RouteName::Cancel => "cancel",
            RouteName::StatusUpdate => "status_update",
            RouteName::StatusDelete => "status_delete",
            RouteName::Metadata => "metadata",
            RouteName::InstanceById => "instance_by_id",
            RouteName::Vip => "vip",
            RouteName::SecureVip => "svip",
            RouteName::ReplicationBatch => "replication_batch",
            RouteName::AsgStatus => "asg_status",
            RouteName::Status => "status",
            RouteName::StatusOverrides => "status_overrides",
            RouteName::Metrics => "metrics",
            RouteName::Health => "health",
            RouteName::Ready => "ready",
            RouteName::Dashboard => "dashboard",
            RouteName::Unauthorized => "unauthorized",
            RouteName::Unmatched => "unmatched",
        }
    }
}

// === status slots ===

/// The status codes this server answers, each with its own counter.
const CODES: [u16; 12] = [200, 204, 400, 401, 403, 404, 405, 409, 413, 415, 500, 503];
/// Labels of the class slots that take any other code (`1xx` .. `5xx`).
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
const SLOTS: usize = CODES.len() + CLASSES.len();

fn slot(status: StatusCode) -> usize {
    let code = status.as_u16();
    match CODES.iter().position(|c| *c == code) {
        Some(i) => i,
        // `StatusCode` is 100..=999: 6xx and up share the 5xx slot.
        None => CODES.len() + usize::from((code / 100).clamp(1, 5) - 1),
    }
}

fn slot_label(i: usize) -> std::borrow::Cow<'static, str> {
    match CODES.get(i) {
        Some(c) => c.to_string().into(),
        None => CLASSES[i - CODES.len()].into(),
    }
}

// === Histogram ===

/// A fixed-bucket histogram of atomics: `observe` is a bucket search over a dozen bounds
/// and two atomic adds.
#[derive(Debug)]
pub(super) struct Histogram {
    /// Upper bounds in nanoseconds, ascending; the last bucket (`+Inf`) is implicit.
    bounds: &'static [u64],
    /// Per-bucket (not cumulative) counts, `bounds.len() + 1` of them.
    counts: Box<[AtomicU64]>,
    sum_nanos: AtomicU64,
}

/// Request latency bounds: 10 µs .. 2.5 s.
pub(super) const LATENCY_BOUNDS: &[u64] = &[
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
];

/// Payload encode-time bounds: 10 µs .. 10 s.
pub(super) const ENCODE_BOUNDS: &[u64] = &[
    10_000,
    100_000,
    1_000_000,
    5_000_000,
    10_000_000,
    50_000_000,
    100_000_000,
    500_000_000,
    1_000_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// A histogram read at scrape time, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct HistogramValue {
    pub(super) sum_seconds: f64,
    pub(super) count: u64,
    /// `(upper bound in seconds, count in this bucket)`, ending with `+Inf`; not
    /// cumulative (the encoder sums them up).
    pub(super) buckets: Vec<(f64, u64)>,
}

impl Histogram {
    pub(super) fn new(bounds: &'static [u64]) -> Histogram {
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
        }
    }

    pub(super) fn observe(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let i = self.bounds.partition_point(|b| *b < nanos);
        if let Some(c) = self.counts.get(i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Observations so far.
    pub(super) fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    pub(super) fn value(&self) -> HistogramValue {
        let mut count = 0;
        let mut buckets = Vec::with_capacity(self.counts.len());
        for (i, c) in self.counts.iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            count += n;
            let le = self
                .bounds
                .get(i)
                .map_or(f64::INFINITY, |b| *b as f64 / 1e9);
            buckets.push((le, n));
        }
        HistogramValue {
            sum_seconds: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            count,
            buckets,
        }
    }
}

// === HttpMetrics ===

/// Requests by route and status, latency by route: every handle resolved at construction.
#[derive(Debug)]
pub(super) struct HttpMetrics {
    requests: Box<[[AtomicU64; SLOTS]]>,
    latency: Box<[Histogram]>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics {
            requests: RouteName::ALL
                .iter()
                .map(|_| std::array::from_fn(|_| AtomicU64::new(0)))
                .collect(),
            latency: RouteName::ALL
                .iter()
                .map(|_| Histogram::new(LATENCY_BOUNDS))
                .collect(),
        }
    }
}

impl HttpMetrics {
    /// Counts one answered request: three atomic adds.
    pub(super) fn record(&self, route: RouteName, status: StatusCode, took: Duration) {
        let r = route as usize;
        if let (Some(row), Some(h)) = (self.requests.get(r), self.latency.get(r)) {
            row[slot(status)].fetch_add(1, Ordering::Relaxed);
            h.observe(took);
        }
    }

    /// `(route, status label, count)` of every non-zero counter, in route order.
    pub(super) fn requests(
        &self,
    ) -> impl Iterator<Item = (RouteName, std::borrow::Cow<'static, str>, u64)> + '_ {
        RouteName::ALL
            .iter()
            .zip(self.requests.iter())
            .flat_map(|(r, row)| {
                row.iter().enumerate().filter_map(move |(i, c)| {
                    let n = c.load(Ordering::Relaxed);
                    (n > 0).then(|| (*r, slot_label(i), n))
                })
            })
    }

    /// The latency histogram of every route that was requested.
    pub(super) fn latencies(&self) -> impl Iterator<Item = (RouteName, HistogramValue)> + '_ {
        RouteName::ALL
            .iter()
            .zip(self.latency.iter())
            .filter(|(_, h)| h.count() > 0)
            .map(|(r, h)| (*r, h.value()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_name_indexes_its_own_row() {
        for (i, r) in RouteName::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i, "{r:?}");
        }
        let names: std::collections::HashSet<_> =
            RouteName::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), RouteName::ALL.len());
    }

    #[test]
    fn statuses_have_a_slot_each_or_their_class() {
        let m = HttpMetrics::default();
        let d = Duration::from_micros(30);
        m.record(RouteName::Heartbeat, StatusCode::OK, d);
        m.record(RouteName::Heartbeat, StatusCode::OK, d);
        m.record(RouteName::Heartbeat, StatusCode::NOT_FOUND, d);
        m.record(RouteName::Apps, StatusCode::IM_A_TEAPOT, d);
        m.record(RouteName::Apps, StatusCode::BAD_GATEWAY, d);
        let got: Vec<_> = m
            .requests()
            .map(|(r, s, n)| (r.as_str(), s.into_owned(), n))
            .collect();
        assert_eq!(
            got,
            [
                ("apps", "4xx".to_owned(), 1),
                ("apps", "5xx".to_owned(), 1),
                ("heartbeat", "200".to_owned(), 2),
                ("heartbeat", "404".to_owned(), 1),
            ]
        );
    }

    #[test]
    fn histogram_buckets_have_inclusive_bounds() {
        let h = Histogram::new(&[1_000, 10_000]);
        h.observe(Duration::from_nanos(1_000)); // le 1 µs (bounds are inclusive)
        h.observe(Duration::from_nanos(5_000));
        h.observe(Duration::from_secs(1));
        let v = h.value();
        assert_eq!(v.count, 3);
        assert_eq!(v.buckets, [(1e-6, 1), (1e-5, 1), (f64::INFINITY, 1)]);
        assert!((v.sum_seconds - 1.000_006).abs() < 1e-12);
    }
}
