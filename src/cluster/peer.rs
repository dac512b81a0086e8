//! One peer: its queue, its sender task, its circuit breaker and its health (P-30..P-35,
//! P-45).
//!
//! The sender waits for a task, lets [`batch_delay`](super::ClusterConfig::batch_delay)
//! pass so that tasks arriving together share a batch, then sends batches of at most
//! [`max_batch`](super::ClusterConfig::max_batch) items with at most
//! [`max_in_flight`](super::ClusterConfig::max_in_flight) in flight. Outcomes (P-32):
//!
//! | outcome | what happens |
//! |---|---|
//! | 2xx with a `ReplicationListResponse` | per-item handling (P-33) |
//! | 503, any other 5xx, 408, 429, a timeout, an I/O error, a 2xx that is not a `ReplicationListResponse` | the peer's fault: the tasks go back to the front of the queue; the next attempt waits a full-jitter exponential back-off capped at [`max_backoff`](super::ClusterConfig::max_backoff); after [`failures_to_open`](super::ClusterConfig::failures_to_open) failures in a row the circuit opens |
//! | other 4xx | the batch is split in halves to isolate a bad item; an item rejected alone is dropped (counted) |
//!
//! While the circuit is open only one probe (a one-item batch, or `GET {peer}apps/delta`
//! when nothing is pending) is in flight, at most `max_backoff` apart; its success closes
//! the circuit and sending resumes at once. An idle healthy peer is checked with that GET
//! three times per [`healthy_window`](super::ClusterConfig::healthy_window), so `/status`
//! stays true without traffic.

use super::http::{CallError, PeerClient};
use super::queue::{Queue, TaskKey};
use super::wire;
use super::ClusterConfig;
use super::PeerUrl;
use crate::model::Status;
use crate::registry::{Origin, Registry};
use crate::server::WriteKind;
use bytes::Bytes;
use rand::Rng;
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
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

/// Counters and state of one peer, shared between its sender and `/status`.
#[derive(Debug)]
pub(crate) struct Peer {
    pub(crate) url: PeerUrl,
    batch_url: String,
    pub(crate) queue: Mutex<Queue>,
    notify: Notify,
    breaker: Mutex<Breaker>,
    in_flight: AtomicUsize,
    /// Epoch ms of the last successful exchange, 0 = never.
    pub(crate) last_success: AtomicU64,
    sent_items: AtomicU64,
    batches: AtomicU64,
    retries: AtomicU64,
    rejected: AtomicU64,
    last_error: Mutex<String>,
    /// Bumped on every closed circuit.
    pub(crate) recoveries: AtomicU64,
    /// Wakes the anti-entropy task after a loss: a circuit closed again, a task dropped.
    pub(crate) repair: Notify,
    /// Anti-entropy rounds done and Register tasks they queued.
    pub(crate) repairs: AtomicU64,
}

impl Peer {
    pub(crate) fn new(url: PeerUrl, config: &ClusterConfig) -> Peer {
        Peer {
            batch_url: url.join("peerreplication/batch/"),
            url,
            queue: Mutex::new(Queue::new(config.max_queue)),
            notify: Notify::new(),
            breaker: Mutex::new(Breaker::new(config.failures_to_open, config.max_backoff)),
            in_flight: AtomicUsize::new(0),
            last_success: AtomicU64::new(0),
            sent_items: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            last_error: Mutex::new(String::new()),
            recoveries: AtomicU64::new(0),
            repair: Notify::new(),
            repairs: AtomicU64::new(0),
        }
    }

    /// Enqueues one task: O(1), never blocks on the network.
    pub(crate) fn enqueue(&self, key: TaskKey) {
        let dropped = {
            let mut q = crate::sync::lock(&self.queue);
            let before = q.dropped;
            q.push(key);
            q.dropped != before
        };
        self.notify.notify_one();
        if dropped {
            self.repair.notify_one();
        }
    }

    pub(crate) fn is_open(&self) -> bool {
        crate::sync::lock(&self.breaker).is_open()
    }

    /// The `/status` entry (P-45).
    pub(crate) fn status(&self, now_ms: u64, healthy_window: Duration) -> Value {
        let last = self.last_success.load(Ordering::Relaxed);
        let open = self.is_open();
        let healthy = !open
            && last != 0
            && now_ms.saturating_sub(last)
                <= u64::try_from(healthy_window.as_millis()).unwrap_or(u64::MAX);
        let (queued, dropped) = {
            let q = crate::sync::lock(&self.queue);
            (q.len(), q.dropped)
        };
        json!({
            "url": self.url.base(),
            "healthy": healthy,
            "circuit": if open { "open" } else { "closed" },
            "lastSuccess": if last == 0 { Value::Null } else { json!(last) },
            "queued": queued,
            "inFlight": self.in_flight.load(Ordering::Relaxed),
            "sentItems": self.sent_items.load(Ordering::Relaxed),
            "batches": self.batches.load(Ordering::Relaxed),
            "retries": self.retries.load(Ordering::Relaxed),
            "dropped": dropped + self.rejected.load(Ordering::Relaxed),
            "lastError": crate::sync::lock(&self.last_error).clone(),
            "repairs": self.repairs.load(Ordering::Relaxed),
        })
    }

    fn record_success(&self, registry: &Registry) {
        self.last_success
            .store(registry.clock().epoch_ms(), Ordering::Relaxed);
        if crate::sync::lock(&self.breaker).success() == Change::Closed {
            self.recoveries.fetch_add(1, Ordering::Relaxed);
            self.repair.notify_one();
            tracing::info!(peer = %self.url, "peer is back: replication resumes");
        }
    }

    fn record_failure(&self, why: &str) {
        self.retries.fetch_add(1, Ordering::Relaxed);
        *crate::sync::lock(&self.last_error) = why.to_owned();
        let change = crate::sync::lock(&self.breaker).failure(&mut rand::rng());
        if change == Change::Opened {
            tracing::warn!(peer = %self.url, error = %why, "peer is down: circuit open, probing");
        } else {
            tracing::debug!(peer = %self.url, error = %why, "replication batch failed, will retry");
        }
    }
}

/// How one batch went.
enum Outcome {
    Done,
    /// The peer's fault: retry later.
    Retry,
    /// The peer refused the request as such (4xx).
    Rejected,
}

/// The sender loop of one peer. Returns when `stop` fires.
pub(crate) async fn run(
    peer: Arc<Peer>,
    registry: Registry,
    client: PeerClient,
    config: Arc<ClusterConfig>,
    mut stop: tokio::sync::watch::Receiver<()>,
) {
    let permits = Arc::new(Semaphore::new(config.max_in_flight.max(1)));
    let work = async {
        loop {
            let empty = crate::sync::lock(&peer.queue).is_empty();
            if empty {
                // Idle: a peer that failed is probed every `max_backoff`, a healthy one
                // checked a few times per `healthy_window`, with a small standard GET.
                let idle = if peer.is_open() {
                    config.max_backoff
                } else {
                    config.healthy_window / 3
                };
                tokio::select! {
                    () = peer.notify.notified() => {
                        tokio::time::sleep(config.batch_delay).await;
                    }
                    () = tokio::time::sleep(idle.max(Duration::from_millis(100))) => {
                        check(&peer, &registry, &client).await;
                    }
                }
                continue;
            }
            let retry_at = crate::sync::lock(&peer.breaker).retry_at();
            if let Some(at) = retry_at {
                tokio::time::sleep_until(at).await;
                continue;
            }
            if peer.is_open() {
                // One probe: the oldest task alone, awaited here.
                let keys = crate::sync::lock(&peer.queue).pop_batch(1);
                send(&peer, &registry, &client, keys).await;
                continue;
            }
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let keys = crate::sync::lock(&peer.queue).pop_batch(config.max_batch.max(1));
            let more = crate::sync::lock(&peer.queue).len() >= config.max_batch.max(1);
            let (p, r, c) = (peer.clone(), registry.clone(), client.clone());
            tokio::spawn(async move {
                send(&p, &r, &c, keys).await;
                drop(permit);
            });
            if !more {
                // Let the tasks that arrive meanwhile share the next batch.
                tokio::time::sleep(config.batch_delay).await;
            }
        }
    };
    tokio::select! {
        () = work => {}
        _ = stop.changed() => {}
    }
}

/// An idle check: `GET {peer}apps/delta`. Any answer below 500 (403 when the peer
/// disables deltas) shows the peer up.
async fn check(peer: &Peer, registry: &Registry, client: &PeerClient) {
    match client.get_json(&peer.url.join("apps/delta")).await {
        Ok(a) if a.status.as_u16() < 500 => peer.record_success(registry),
        Ok(a) => peer.record_failure(&format!("answered {}", a.status)),
        Err(e) => peer.record_failure(&e.to_string()),
    }
}

/// Sends `keys` and handles the outcome, splitting on rejection.
fn send<'a>(
    peer: &'a Arc<Peer>,
    registry: &'a Registry,
    client: &'a PeerClient,
    keys: Vec<TaskKey>,
) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
    Box::pin(async move {
        if keys.is_empty() {
            return;
        }
        let (body, sent) = wire::batch_body(registry, keys);
        if sent.is_empty() {
            return;
        }
        peer.in_flight.fetch_add(1, Ordering::Relaxed);
        let outcome = exchange(peer, registry, client, body, &sent).await;
        peer.in_flight.fetch_sub(1, Ordering::Relaxed);
        match outcome {
            Outcome::Done => {}
            Outcome::Retry => {
                crate::sync::lock(&peer.queue).requeue_front(sent);
                peer.notify.notify_one();
            }
            Outcome::Rejected if sent.len() == 1 => {
                peer.rejected.fetch_add(1, Ordering::Relaxed);
                peer.repair.notify_one();
                tracing::warn!(peer = %peer.url, app = %sent[0].app, id = %sent[0].id,
                    action = wire::action(sent[0].kind), "peer rejected the item: dropped");
            }
            Outcome::Rejected => {
                let mut left = sent;
                let right = left.split_off(left.len() / 2);
                send(peer, registry, client, left).await;
                send(peer, registry, client, right).await;
            }
        }
    })
}

async fn exchange(
    peer: &Peer,
    registry: &Registry,
    client: &PeerClient,
    body: Vec<u8>,
    sent: &[TaskKey],
) -> Outcome {
    peer.batches.fetch_add(1, Ordering::Relaxed);
    let answer = match client.post_json(&peer.batch_url, Bytes::from(body)).await {
        Ok(a) => a,
        Err(e) => {
            let why = match e {
                CallError::Timeout => "timed out".to_owned(),
                CallError::Io(e) => e,
            };
            peer.record_failure(&why);
            return Outcome::Retry;
        }
    };
    let code = answer.status.as_u16();
    if answer.status.is_success() {
        match wire::parse_response(&answer.body) {
            Ok(items) => {
                peer.record_success(registry);
                peer.sent_items
                    .fetch_add(sent.len() as u64, Ordering::Relaxed);
                if items.len() == sent.len() {
                    for (key, item) in sent.iter().zip(items) {
                        per_item(peer, registry, key, item);
                    }
                } else {
                    // Java skips per-item handling too.
                    tracing::warn!(peer = %peer.url, sent = sent.len(), answered = items.len(), "answer list of a different length");
                }
                Outcome::Done
            }
            Err(e) => {
                peer.record_failure(&format!("{code} with an unreadable body: {e}"));
                Outcome::Retry
            }
        }
    } else if answer.status.is_server_error() || code == 408 || code == 429 {
        peer.record_failure(&format!("answered {code}"));
        Outcome::Retry
    } else {
        // The peer is up and answered: it is this request it refuses.
        peer.record_success(registry);
        *crate::sync::lock(&peer.last_error) = format!("answered {code}");
        Outcome::Rejected
    }
}

/// P-33: per-item failure handling.
fn per_item(peer: &Peer, registry: &Registry, key: &TaskKey, item: wire::ItemResult) {
    if (200..300).contains(&item.status) {
        return;
    }
    match (key.kind, item.status, item.entity) {
        (WriteKind::Heartbeat, _, Some(theirs)) => {
            // The peer has a newer record: adopt it locally, as a replication (no onward
            // replication, P-04).
            let ov = theirs.overridden_status;
            let ldt = theirs.last_dirty_timestamp;
            tracing::debug!(peer = %peer.url, app = %key.app, id = %key.id, "peer holds a newer record: adopted");
            if registry.register(theirs, Origin::Peer).is_ok() && ov != Status::Unknown {
                registry.set_status_override(&key.app, &key.id, ov, Some(ldt), Origin::Peer);
            }
        }
        (WriteKind::Heartbeat, 404, None) => {
            peer.enqueue(TaskKey {
                kind: WriteKind::Register,
                app: key.app.clone(),
                id: key.id.clone(),
            });
        }
        (kind, code, _) => {
            tracing::debug!(peer = %peer.url, app = %key.app, id = %key.id, action = wire::action(kind), code, "peer refused a replicated item");
        }
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
