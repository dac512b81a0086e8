//! [`EurekaMetrics`]: the Prometheus exposition of a server, read at scrape time.
//!
//! Nothing here runs on the request path. A scrape reads the registry's own counters
//! ([`Registry::stats`], [`Registry::self_preservation`]), counts instances by app and
//! status over the published snapshot, and adds the payload cache's and the HTTP layer's
//! atomics and the cluster layer's [`PeerMetrics`]. The text is
//! [`prometheus-client`](prometheus_client)'s Prometheus text format (0.0.4); the metric
//! list is in the README ("Metrics").

use super::cache::PayloadCache;
use super::hook::{PeerMetrics, Replicator};
use super::metrics::{HistogramValue, HttpMetrics};
use crate::model::Status;
use crate::registry::Registry;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use std::fmt;
use std::sync::Arc;

/// The `Content-Type` of `/metrics`: the Prometheus text format, version 0.0.4.
pub(super) const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The metrics of one [`EurekaService`](super::EurekaService), as a `prometheus-client`
/// [`Collector`]: register it in an application's own registry to export the server's
/// metrics beside the application's, or [`render`](Self::render) the text.
///
/// ```
/// use tower_eureka::server::EurekaService;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let svc = EurekaService::default();
/// let mut registry = prometheus_client::registry::Registry::default();
/// registry.register_collector(Box::new(svc.metrics()));
/// let mut text = String::new();
/// prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
/// assert!(text.contains("# TYPE eureka_registrations counter"));
/// assert!(svc.metrics().render().contains("eureka_registrations_total 0\n"));
/// # }
/// ```
#[derive(Clone)]
pub struct EurekaMetrics {
    pub(super) registry: Registry,
    pub(super) cache: Arc<PayloadCache>,
    pub(super) http: Option<Arc<HttpMetrics>>,
    pub(super) replicator: Option<Arc<dyn Replicator>>,
    pub(super) shed: Arc<super::shed::ShedStats>,
}

impl fmt::Debug for EurekaMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EurekaMetrics")
            .field("http", &self.http.is_some())
            .field("replicator", &self.replicator.is_some())
            .finish_non_exhaustive()
    }
}

impl EurekaMetrics {
    /// The metrics now, in the Prometheus text format (what `GET /metrics` answers).
    pub fn render(&self) -> String {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(self.clone()));
        let mut out = String::with_capacity(8 * 1024);
        // Writing into a String cannot fail; an encoder error would leave a partial text.
        if prometheus_client::encoding::prometheus_text::encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }
}

/// A value of one sample, as the encoder wants it.
enum Sample {
    Counter(u64),
    Gauge(f64),
    Histogram(HistogramValue),
}

impl Sample {
    fn encode(&self, mut enc: MetricEncoder<'_>) -> fmt::Result {
        match self {
            Sample::Counter(v) => enc.encode_counter::<NoLabelSet, _, u64>(v, None),
            Sample::Gauge(v) => enc.encode_gauge(v),
            Sample::Histogram(h) => {
                enc.encode_histogram::<NoLabelSet>(h.sum_seconds, h.count, &h.buckets, None)
            }
        }
    }

    fn metric_type(&self) -> MetricType {
        match self {
            Sample::Counter(_) => MetricType::Counter,
            Sample::Gauge(_) => MetricType::Gauge,
            Sample::Histogram(_) => MetricType::Histogram,
        }
    }
}

/// One metric without labels.
fn single(enc: &mut DescriptorEncoder<'_>, name: &str, help: &str, v: Sample) -> fmt::Result {
    let m = enc.encode_descriptor(name, help, None, v.metric_type())?;
    v.encode(m)
}

/// One metric family: `rows` of `(label values, sample)` under `keys`. Nothing is written
/// when there are no rows.
fn family<const N: usize>(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    metric_type: MetricType,
    keys: [&str; N],
    rows: Vec<([String; N], Sample)>,
) -> fmt::Result {
    if rows.is_empty() {
        return Ok(());
    }
    let mut m = enc.encode_descriptor(name, help, None, metric_type)?;
    for (values, sample) in rows {
        let labels: [(&str, &str); N] = std::array::from_fn(|i| (keys[i], values[i].as_str()));
        sample.encode(m.encode_family(&labels)?)?;
    }
    Ok(())
}

fn flag(b: bool) -> Sample {
    Sample::Gauge(if b { 1.0 } else { 0.0 })
}

/// Instances of each app by status, from the published snapshot, sorted by app then status.
fn instances(registry: &Registry) -> Vec<([String; 2], Sample)> {
    let snap = registry.snapshot();
    let mut rows = Vec::new();
    for (app, list) in snap.apps() {
        let mut counts: Vec<(Status, u64)> = Vec::new();
        for i in list {
            match counts.iter_mut().find(|(s, _)| *s == i.status) {
                Some((_, n)) => *n += 1,
                None => counts.push((i.status, 1)),
            }
        }
        counts.sort_by_key(|(s, _)| s.as_str());
        for (s, n) in counts {
            rows.push((
                [app.to_owned(), s.as_str().to_owned()],
                Sample::Gauge(n as f64),
            ));
        }
    }
    rows
}

fn peer_rows(
    peers: &[PeerMetrics],
    f: impl Fn(&PeerMetrics) -> Option<Sample>,
) -> Vec<([String; 1], Sample)> {
    peers
        .iter()
        .filter_map(|p| f(p).map(|s| ([p.url.clone()], s)))
        .collect()
}

impl Collector for EurekaMetrics {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> fmt::Result {
        let e = &mut enc;
        let stats = self.registry.stats();
        let sp = self.registry.self_preservation();
        family(
            e,
            "eureka_instances",
            "Registered instances by app and status (published snapshot).",
            MetricType::Gauge,
            ["app", "status"],
            instances(&self.registry),
        )?;
        single(
            e,
            "eureka_registrations",
            "Registrations processed (including re-registrations and metadata updates).",
            Sample::Counter(stats.registrations),
        )?;
        let mut m = e.encode_descriptor(
            "eureka_renews",
            "Heartbeats by result: ok renewed a lease, not_found was answered 404.",
            None,
            MetricType::Counter,
        )?;
        for (result, n) in [
            ("ok", stats.renewals),
            ("not_found", stats.renewals_not_found),
        ] {
            Sample::Counter(n).encode(m.encode_family(&[("result", result)])?)?;
        }
        single(
            e,
            "eureka_cancels",
            "Cancels of known instances.",
            Sample::Counter(stats.cancellations),
        )?;
        single(
            e,
            "eureka_evictions",
            "Expired leases evicted.",
            Sample::Counter(stats.evictions),
        )?;
        single(
            e,
            "eureka_expired_leases",
            "Expired leases found by the last eviction pass and not evicted.",
            Sample::Gauge(stats.expired_pending as f64),
        )?;
        single(
            e,
            "eureka_protected_leases",
            "Expired leases self-preservation held back from eviction in the last pass.",
            Sample::Gauge(sp.protected_count as f64),
        )?;
        single(
            e,
            "eureka_renews_last_minute",
            "Renewals in the last minute, as the self-preservation gate counts them.",
            Sample::Gauge(sp.renews_last_min as f64),
        )?;
        single(
            e,
            "eureka_renew_threshold",
            "Renewals per minute needed to keep lease expiry enabled.",
            Sample::Gauge(sp.threshold),
        )?;
        single(
            e,
            "eureka_expected_renews_per_minute",
            "Renewals per minute expected from the registered leases.",
            Sample::Gauge(sp.expected_renews_per_min),
        )?;
        single(
            e,
            "eureka_self_preservation_active",
            "1 while self-preservation holds back lease expiry.",
            flag(sp.active),
        )?;
        let (hits, misses) = self.cache.hits_and_misses();
        single(
            e,
            "eureka_payload_cache_hits",
            "Registry reads answered from an already encoded payload.",
            Sample::Counter(hits),
        )?;
        single(
            e,
            "eureka_payload_cache_misses",
            "Registry reads that encoded their payload.",
            Sample::Counter(misses),
        )?;
        single(
            e,
            "eureka_payload_encode_seconds",
            "Time to encode (and compress) one payload, per cache miss.",
            Sample::Histogram(self.cache.encode_times().value()),
        )?;
        if let Some(http) = &self.http {
            family(
                e,
                "eureka_http_requests",
                "Requests answered, by Eureka route and status.",
                MetricType::Counter,
                ["route", "status"],
                http.requests()
                    .map(|(r, s, n)| ([r.as_str().to_owned(), s.into_owned()], Sample::Counter(n)))
                    .collect(),
            )?;
            family(
                e,
                "eureka_http_request_duration_seconds",
                "Time from the request head to the response, by Eureka route.",
                MetricType::Histogram,
                ["route"],
                http.latencies()
                    .map(|(r, h)| ([r.as_str().to_owned()], Sample::Histogram(h)))
                    .collect(),
            )?;
        }
        family(
            e,
            "eureka_http_shed",
            "Requests answered 503 by load shedding (tower-eureka.max-concurrent-requests), by class.",
            MetricType::Counter,
            ["class"],
            self.shed
                .shed_by_class()
                .into_iter()
                .map(|(c, n)| ([c.to_owned()], Sample::Counter(n)))
                .collect(),
        )?;
        let (general, priority) = self.shed.in_progress();
        single(
            e,
            "eureka_http_in_progress",
            "Requests in progress as load shedding counts them (long polls excluded).",
            Sample::Gauge((general + priority) as f64),
        )?;
        let peers = self
            .replicator
            .as_ref()
            .map(|r| r.peer_metrics())
            .unwrap_or_default();
        type PeerFamily = (
            &'static str,
            &'static str,
            MetricType,
            fn(&PeerMetrics) -> Option<Sample>,
        );
        let families: [PeerFamily; 8] = [
            (
                "eureka_peer_queue_length",
                "Replication tasks waiting for the peer.",
                MetricType::Gauge,
                |p| Some(Sample::Gauge(p.queued as f64)),
            ),
            (
                "eureka_peer_in_flight_batches",
                "Replication batches being sent to the peer.",
                MetricType::Gauge,
                |p| Some(Sample::Gauge(p.in_flight as f64)),
            ),
            (
                "eureka_peer_batches",
                "Replication batches sent to the peer (each attempt).",
                MetricType::Counter,
                |p| Some(Sample::Counter(p.batches)),
            ),
            (
                "eureka_peer_sent_items",
                "Replication items delivered to the peer.",
                MetricType::Counter,
                |p| Some(Sample::Counter(p.sent_items)),
            ),
            (
                "eureka_peer_retries",
                "Failed replication attempts to the peer that will be retried.",
                MetricType::Counter,
                |p| Some(Sample::Counter(p.retries)),
            ),
            (
                "eureka_peer_dropped",
                "Replication tasks dropped (queue overflow or rejected by the peer).",
                MetricType::Counter,
                |p| Some(Sample::Counter(p.dropped)),
            ),
            (
                "eureka_peer_circuit_open",
                "1 while the peer's circuit breaker is open.",
                MetricType::Gauge,
                |p| Some(flag(p.circuit_open)),
            ),
            (
                "eureka_peer_last_success_timestamp_seconds",
                "Unix time of the last successful exchange with the peer (absent: never).",
                MetricType::Gauge,
                |p| {
                    p.last_success_epoch_ms
                        .map(|ms| Sample::Gauge(ms as f64 / 1000.0))
                },
            ),
        ];
        for (name, help, t, f) in families {
            family(e, name, help, t, ["peer"], peer_rows(&peers, f))?;
        }
        Ok(())
    }
}
