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

use super::breaker::{Breaker, Change};
use super::http::{CallError, Transport};
use super::queue::{Queue, TaskKey};
use super::wire;
use super::ClusterConfig;
use super::PeerUrl;
use crate::model::Status;
use crate::registry::{Origin, Registry};
use crate::server::{PeerMetrics, WriteKind};
use bytes::Bytes;
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

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
    /// Tasks (Register or Cancel) that anti-entropy queued.
    pub(crate) repairs: AtomicU64,
    /// Anti-entropy comparisons that got the peer's registry.
    pub(crate) repair_rounds: AtomicU64,
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
            repair_rounds: AtomicU64::new(0),
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
            "repairRounds": self.repair_rounds.load(Ordering::Relaxed),
        })
    }

    /// The `/metrics` figures, read at scrape time.
    pub(crate) fn metrics(&self) -> PeerMetrics {
        let (queued, dropped) = {
            let q = crate::sync::lock(&self.queue);
            (q.len(), q.dropped)
        };
        let last = self.last_success.load(Ordering::Relaxed);
        let mut m = PeerMetrics::new(self.url.base());
        m.queued = queued as u64;
        m.in_flight = self.in_flight.load(Ordering::Relaxed) as u64;
        m.sent_items = self.sent_items.load(Ordering::Relaxed);
        m.batches = self.batches.load(Ordering::Relaxed);
        m.retries = self.retries.load(Ordering::Relaxed);
        m.dropped = dropped + self.rejected.load(Ordering::Relaxed);
        m.circuit_open = self.is_open();
        m.last_success_epoch_ms = (last != 0).then_some(last);
        m
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
pub(crate) async fn run<T: Transport>(
    peer: Arc<Peer>,
    registry: Registry,
    client: T,
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
async fn check<T: Transport>(peer: &Peer, registry: &Registry, client: &T) {
    match client.get_json(&peer.url.join("apps/delta")).await {
        Ok(a) if a.status.as_u16() < 500 => peer.record_success(registry),
        Ok(a) => peer.record_failure(&format!("answered {}", a.status)),
        Err(e) => peer.record_failure(&e.to_string()),
    }
}

/// Sends `keys` and handles the outcome, splitting on rejection.
fn send<'a, T: Transport>(
    peer: &'a Arc<Peer>,
    registry: &'a Registry,
    client: &'a T,
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

async fn exchange<T: Transport>(
    peer: &Peer,
    registry: &Registry,
    client: &T,
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
    use crate::cluster::http::Answer;
    use crate::registry::RegistryConfig;
    use http::StatusCode;
    use tokio::time::Instant;

    /// One request the fake peer saw: when (since the test start), what, how many items.
    #[derive(Debug, Clone)]
    struct Seen {
        at: Duration,
        get: bool,
        items: usize,
    }

    /// A peer answered in-process on paused time: up (every item 200) or down (an I/O
    /// error, as a refused connection), with a short service time.
    #[derive(Clone)]
    struct FakePeer {
        start: Instant,
        up: Arc<std::sync::atomic::AtomicBool>,
        seen: Arc<Mutex<Vec<Seen>>>,
        in_flight: Arc<AtomicUsize>,
        max_in_flight: Arc<AtomicUsize>,
        /// `GET apps/` calls (the anti-entropy's), beside the idle check's `apps/delta`.
        list_gets: Arc<AtomicUsize>,
    }

    impl FakePeer {
        fn new(up: bool) -> FakePeer {
            FakePeer {
                start: Instant::now(),
                up: Arc::new(std::sync::atomic::AtomicBool::new(up)),
                seen: Arc::default(),
                in_flight: Arc::default(),
                max_in_flight: Arc::default(),
                list_gets: Arc::default(),
            }
        }

        fn set_up(&self, up: bool) {
            self.up.store(up, Ordering::SeqCst);
        }

        fn seen(&self) -> Vec<Seen> {
            crate::sync::lock(&self.seen).clone()
        }

        async fn answer(&self, get: bool, items: usize) -> Result<Answer, CallError> {
            crate::sync::lock(&self.seen).push(Seen {
                at: self.start.elapsed(),
                get,
                items,
            });
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            if !self.up.load(Ordering::SeqCst) {
                return Err(CallError::Io("connection refused".into()));
            }
            let body = if get {
                // An empty registry, as `GET apps/` answers it.
                r#"{"applications":{"versions__delta":"1","apps__hashcode":"","application":[]}}"#
                    .to_owned()
            } else {
                let list = vec![r#"{"statusCode":200}"#; items].join(",");
                format!(r#"{{"responseList":[{list}]}}"#)
            };
            Ok(Answer {
                status: StatusCode::OK,
                syncing: false,
                body: Bytes::from(body),
            })
        }
    }

    impl Transport for FakePeer {
        fn post_json(
            &self,
            _url: &str,
            body: Bytes,
        ) -> impl Future<Output = Result<Answer, CallError>> + Send {
            let items = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["replicationList"].as_array().map(Vec::len))
                .unwrap_or(0);
            let me = self.clone();
            async move { me.answer(false, items).await }
        }

        fn get_json(&self, url: &str) -> impl Future<Output = Result<Answer, CallError>> + Send {
            if url.ends_with("/apps/") {
                self.list_gets.fetch_add(1, Ordering::SeqCst);
            }
            let me = self.clone();
            async move { me.answer(true, 0).await }
        }
    }

    struct Rig {
        peer: Arc<Peer>,
        fake: FakePeer,
        config: ClusterConfig,
        _stop: tokio::sync::watch::Sender<()>,
    }

    /// A registry with `n` instances, a peer over `fake`, its sender running.
    fn rig(n: usize, fake: FakePeer) -> (Rig, Registry) {
        let registry = Registry::new(RegistryConfig::default());
        for k in 0..n {
            let i = crate::model::InstanceInfo::builder("APP")
                .instance_id(format!("i-{k}"))
                .build();
            assert!(registry.register(i, Origin::Client).is_ok());
        }
        let config = ClusterConfig::default();
        let url = match PeerUrl::parse("http://peer.test:8761/eureka/") {
            Ok(u) => u,
            Err(e) => panic!("{e}"),
        };
        let peer = Arc::new(Peer::new(url, &config));
        let (stop, stopped) = tokio::sync::watch::channel(());
        tokio::spawn(run(
            peer.clone(),
            registry.clone(),
            fake.clone(),
            Arc::new(config.clone()),
            stopped,
        ));
        (
            Rig {
                peer,
                fake,
                config,
                _stop: stop,
            },
            registry,
        )
    }

    fn heartbeats(peer: &Peer, range: std::ops::Range<usize>) {
        for k in range {
            peer.enqueue(TaskKey::new(WriteKind::Heartbeat, "APP", &format!("i-{k}")));
        }
    }

    fn queued(peer: &Peer) -> usize {
        crate::sync::lock(&peer.queue).len()
    }

    // P-35 / P-43: a round that cannot read the peer's list (a new peer not answering yet)
    // is tried again after a jittered wait of at most 1 s, 2 s, 4 s... instead of after the
    // whole 120 s interval, and a round that could read it goes back to the interval.
    #[tokio::test(start_paused = true)]
    async fn p35_a_failed_repair_round_is_retried_soon_then_the_interval_resumes() {
        let fake = FakePeer::new(false);
        let (rig, registry) = rig(3, fake.clone());
        let (_stop, stopped) = tokio::sync::watch::channel(());
        let config = Arc::new(rig.config.clone());
        assert_eq!(config.anti_entropy_interval, Duration::from_secs(120));
        tokio::spawn(crate::cluster::repair::run(
            rig.peer.clone(),
            registry,
            fake.clone(),
            config,
            stopped,
        ));
        rig.peer.repair.notify_one();
        let gets = |f: &FakePeer| f.list_gets.load(Ordering::SeqCst);
        // While the peer refuses, the retries wait at most 1, 2 and 4 s (jittered, at
        // least 0.1 s): four rounds or more in 10 s, where the interval would give one.
        tokio::time::sleep(Duration::from_secs(10)).await;
        let failed = gets(&fake);
        assert!((4..=100).contains(&failed), "{failed}: {:?}", fake.seen());
        assert_eq!(rig.peer.repair_rounds.load(Ordering::Relaxed), 0);
        // Up again: a retry within the current bound (at most the interval) reads the
        // list; then nothing until the interval has passed.
        fake.set_up(true);
        for _ in 0..130 {
            if rig.peer.repair_rounds.load(Ordering::Relaxed) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        assert_eq!(rig.peer.repair_rounds.load(Ordering::Relaxed), 1);
        let after_success = gets(&fake);
        assert_eq!(after_success, failed + 1, "{:?}", fake.seen());
        tokio::time::sleep(Duration::from_secs(100)).await;
        assert_eq!(gets(&fake), after_success, "no round before the interval");
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(gets(&fake), after_success + 1, "the interval's round");
    }

    // P-30: tasks that arrive together share batches of at most 250, at most
    // `max_in_flight` in flight, all delivered within a few batching delays.
    #[tokio::test(start_paused = true)]
    async fn p30_batches_of_at_most_250_and_bounded_concurrency() {
        let (rig, _registry) = rig(1_000, FakePeer::new(true));
        heartbeats(&rig.peer, 0..1_000);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let posts: Vec<Seen> = rig.fake.seen().into_iter().filter(|s| !s.get).collect();
        let items: usize = posts.iter().map(|s| s.items).sum();
        assert_eq!(items, 1_000);
        assert_eq!(posts.len(), 4, "{posts:?}");
        assert!(posts.iter().all(|s| s.items <= 250));
        let max = rig.fake.max_in_flight.load(Ordering::SeqCst);
        assert!(max >= 2 && max <= rig.config.max_in_flight, "{max}");
        assert_eq!(queued(&rig.peer), 0);
        // Tasks coalesce: the same heartbeat twice in one batching delay is one item.
        heartbeats(&rig.peer, 0..1);
        heartbeats(&rig.peer, 0..1);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let last = rig.fake.seen().into_iter().rfind(|s| !s.get);
        assert_eq!(last.map(|s| s.items), Some(1));
    }

    // P-32: a peer that is down gets back-off, then (circuit open) one one-item probe
    // every 1-2 s however much is queued; nothing is lost; once it is back, sending resumes
    // within 2 s and the queue drains.
    #[tokio::test(start_paused = true)]
    async fn p32_a_down_peer_is_probed_with_one_item_and_fed_at_once_when_back() {
        let (rig, _registry) = rig(600, FakePeer::new(false));
        heartbeats(&rig.peer, 0..600);
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(rig.peer.is_open(), "the circuit opened");
        let seen = rig.fake.seen();
        let posts: Vec<&Seen> = seen.iter().filter(|s| !s.get).collect();
        // Full batches until three failures open the circuit (the batches already in
        // flight fail too), then only one-item probes.
        assert!(posts.len() > 10, "{posts:?}");
        let Some(first_probe) = posts.iter().position(|s| s.items == 1) else {
            panic!("no probe: {posts:?}");
        };
        let bound = rig.config.failures_to_open as usize + rig.config.max_in_flight;
        assert!(first_probe <= bound, "{posts:?}");
        assert!(
            posts[first_probe..].iter().all(|s| s.items == 1),
            "{posts:?}"
        );
        let max_backoff = rig.config.max_backoff;
        for w in posts[first_probe..].windows(2) {
            let gap = w[1].at - w[0].at;
            assert!(
                gap >= max_backoff / 2 && gap <= max_backoff + Duration::from_millis(50),
                "probe gap {gap:?}"
            );
        }
        assert_eq!(queued(&rig.peer), 600, "nothing dropped while down");
        // Back: the next probe succeeds within max_backoff, the rest follows at once.
        let back = rig.fake.start.elapsed();
        rig.fake.set_up(true);
        let deadline = back + max_backoff + Duration::from_millis(200);
        while queued(&rig.peer) > 0 && rig.fake.start.elapsed() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            queued(&rig.peer),
            0,
            "the queue drains within 2 s of the return"
        );
        assert!(!rig.peer.is_open());
        let delivered: usize = rig
            .fake
            .seen()
            .iter()
            .filter(|s| !s.get && s.at >= back)
            .map(|s| s.items)
            .sum();
        assert!(delivered >= 600, "{delivered}");
    }

    // P-45: an idle peer is checked with a GET three times per healthy window, and a
    // failed check opens nothing by itself but is counted as a failure.
    #[tokio::test(start_paused = true)]
    async fn p45_an_idle_peer_is_checked_three_times_per_window() {
        let (rig, _registry) = rig(0, FakePeer::new(true));
        let window = rig.config.healthy_window;
        tokio::time::sleep(window * 2 + Duration::from_millis(100)).await;
        let gets: Vec<Seen> = rig.fake.seen().into_iter().filter(|s| s.get).collect();
        assert_eq!(gets.len(), 6, "{gets:?}");
        assert!(rig.peer.last_success.load(Ordering::Relaxed) > 0);
    }
}
