//! The background Eureka client.
//!
//! [`EurekaClient`] registers an instance, heartbeats it and keeps a local copy of the
//! registry, the way a Netflix or Spring Cloud client does, with the fixes of spec section 5:
//!
//! * **Registration** at start (C-05), only 204 counts (C-06), monotonic
//!   `lastDirtyTimestamp` with compare-and-clear (C-07), prompt and rate-limited
//!   re-registration after local changes (C-08), back-off with full jitter (C-13).
//! * **Heartbeats** at a fixed rate with per-beat jitter (C-11); a 404 re-registers (C-12).
//! * **Fetching**: full at start (concurrently with registration), then deltas merged
//!   copy-on-write and checked against the server's reconcile hash, with a full fetch on any
//!   doubt (C-20..C-24). Through outages the last copy stays (C-25).
//! * **Health checks** (optional): a user callback polled on tokio time, combined with the
//!   application's status as Java does and re-registered within the rate limit (C-08,
//!   [`EurekaClientBuilder::health_check`], [`Health`]).
//! * **Failover** between servers, own zone first (C-40, C-70,
//!   [`EurekaClientBuilder::service_urls`]) and random within a zone, sticky, with
//!   quarantine (C-40..C-43).
//! * **Compact fetches** (optional, E-30): [`EurekaClientBuilder::compact`] asks for the
//!   reduced form, which has no metadata.
//! * **Shutdown**: optional `DOWN` + drain, then cancel (C-50, C-51).
//! * **Counters** of fetches, heartbeats and registrations for an application's metrics
//!   ([`EurekaClient::metrics`], [`ClientMetrics`]).
//!
//! Every reconciled copy that changed is published once, as an immutable, copy-on-write
//! [`ClientSnapshot`], in a `tokio::sync::watch` channel: [`EurekaClient::snapshots`] hands
//! out receivers (what the `discover` module consumes) and [`EurekaClient::snapshot`] reads
//! the channel's current value. A delta is merged into the last snapshot sharing every
//! application it does not change, so adopting one costs in proportion to its changes.
//!
//! # Example
//!
//! ```no_run
//! use tower_eureka::client::{local_instance, EurekaClient, Target};
//!
//! # async fn run() -> Result<(), tower_eureka::client::Error> {
//! let me = local_instance("orders").port(8080).build();
//! let client = EurekaClient::builder(["http://eureka1:8761/eureka", "http://eureka2:8761/eureka"])
//!     .instance(me)
//!     .start()?;
//!
//! // Wait for the first registry copy, then look something up.
//! let mut updates = client.snapshots();
//! let _ = updates.wait_for(|s| s.is_fetched()).await;
//! for billing in client.up_instances(&Target::app("billing")) {
//!     println!("{}:{}", billing.ip_addr, billing.port.port);
//! }
//!
//! // Unregister before exiting.
//! client.shutdown().await?;
//! # Ok(())
//! # }
//! ```
//!
//! With a health check, zones and compact fetches:
//!
//! ```no_run
//! use std::time::Duration;
//! use tower_eureka::client::{local_instance, EurekaClient, Health};
//!
//! # async fn run() -> Result<(), tower_eureka::client::Error> {
//! let me = local_instance("orders").port(8080).metadata("zone", "zone-b").build();
//! let client = EurekaClient::builder(Vec::<String>::new())
//!     .availability_zones("us-east-1", ["zone-a", "zone-b"])
//!     .service_urls("zone-a", ["http://eureka-a:8761/eureka"])
//!     .service_urls("zone-b", ["http://eureka-b:8761/eureka"]) // tried first
//!     .instance(me)
//!     .health_check(|| async { Health::Up }) // e.g. a database ping
//!     .health_check_interval(Duration::from_secs(5))
//!     .compact(true)
//!     .start()?;
//! # drop(client); Ok(()) }
//! ```
//!
//! The client needs a tokio runtime with the time driver. Every timer is tokio's, so tests
//! can run it with paused time.

mod apps;
mod builder;
mod config;
mod error;
mod fetcher;
mod follow;
mod health;
mod lifecycle;
mod local;
mod merge;
mod metrics;
mod regions;
mod schedule;
mod selector;
mod snapshot;
mod transport;
mod vips;
mod zones;

pub use self::builder::EurekaClientBuilder;
pub use self::error::Error;
pub use self::health::Health;
pub use self::local::{detect_host_name, detect_ip_addr, local_instance};
pub use self::merge::apply_delta;
pub use self::metrics::{ClientMetrics, ClientMetricsSnapshot};
pub use self::snapshot::{ClientSnapshot, Target};

use self::config::Config;
use self::lifecycle::{InstancePaths, LocalRecord};
use self::transport::Transport;
use crate::model::{InstanceInfo, Status};
use crate::sync::lock;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

// === shared state ===

/// What the background tasks and the handles share.
pub(crate) struct ClientState {
    config: Config,
    transport: Transport,
    /// The record to register; `None` when the client only fetches.
    record: Option<Mutex<LocalRecord>>,
    paths: Option<InstancePaths>,
    /// `(APP, id)` of our own instance, for C-28.
    own_key: Option<(String, String)>,
    record_changed: Notify,
    registered: AtomicBool,
    /// The published copy: the one place it lives. `watch` both stores the current value
    /// (read with `borrow`) and wakes receivers on publication.
    snapshot_tx: watch::Sender<Arc<ClientSnapshot>>,
    own_status_tx: watch::Sender<Option<Status>>,
    /// The counters, and the time of the last adopted fetch (C-25).
    metrics: ClientMetrics,
}

impl ClientState {
    fn lock_record<'a>(&self, record: &'a Mutex<LocalRecord>) -> MutexGuard<'a, LocalRecord> {
        lock(record)
    }

    fn publish(&self, snap: Arc<ClientSnapshot>) {
        // Works without receivers: the sender keeps the value for `snapshot()`.
        self.snapshot_tx.send_replace(snap);
    }

    fn snapshot(&self) -> Arc<ClientSnapshot> {
        // The read lock is held for one `Arc` clone.
        self.snapshot_tx.borrow().clone()
    }

    fn fetched_now(&self, now: Instant) {
        self.metrics.fetched_at(now);
    }

    fn registry_age(&self) -> Option<Duration> {
        self.metrics.registry_age()
    }

    /// C-28: the server-side status of our own instance, after each fetch.
    fn observe_own_status(&self, copy: &ClientSnapshot) {
        let Some((app, id)) = &self.own_key else {
            return;
        };
        let own = copy.instance(app, id);
        // C-07, R-11: a record with a newer lastDirtyTimestamp than ours (left by a previous
        // run whose wall clock was ahead) would win over every registration of ours.
        if let (Some(record), Some(theirs)) = (self.record.as_ref(), own.as_ref()) {
            if self
                .lock_record(record)
                .overtake(theirs.last_dirty_timestamp)
            {
                tracing::info!(
                    server = theirs.last_dirty_timestamp,
                    "eureka server holds this instance with a newer lastDirtyTimestamp; re-registering past it"
                );
                self.record_changed.notify_one();
            }
        }
        let status = own.map(|i| i.status);
        self.own_status_tx.send_if_modified(|cur| {
            if *cur == status {
                false
            } else {
                *cur = status;
                true
            }
        });
    }
}

// === the handle ===

/// A running Eureka client: a cheap, cloneable handle on the background tasks.
///
/// Dropping the last handle stops the background tasks without unregistering (the server
/// evicts the instance when its lease runs out). Call [`EurekaClient::shutdown`] to
/// unregister cleanly.
#[derive(Clone)]
pub struct EurekaClient {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<ClientState>,
    fetch_task: Mutex<Option<JoinHandle<()>>>,
    lifecycle_task: Mutex<Option<JoinHandle<()>>>,
    shut_down: AtomicBool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in [&self.fetch_task, &self.lifecycle_task] {
            let task = lock(task).take();
            if let Some(t) = task {
                t.abort();
            }
        }
    }
}

impl fmt::Debug for EurekaClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.inner.shared;
        f.debug_struct("EurekaClient")
            .field("servers", &s.transport.servers())
            .field("instance", &s.own_key)
            .field("registered", &s.registered.load(Ordering::Relaxed))
            .field("generation", &s.snapshot().generation())
            .finish()
    }
}

impl EurekaClient {
    /// Starts configuring a client of the servers at `service_urls` (C-01): base URLs such
    /// as `http://eureka1:8761/eureka` (Spring) or `http://eureka1:8080/eureka/v2`
    /// (Netflix); user info in a URL becomes Basic authorisation.
    pub fn builder<I, S>(service_urls: I) -> EurekaClientBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        EurekaClientBuilder::new(service_urls.into_iter().map(Into::into).collect())
    }

    fn shared(&self) -> &ClientState {
        &self.inner.shared
    }

    /// The latest published registry copy: the current value of
    /// [`snapshots`](Self::snapshots), cloned out (one `Arc`).
    pub fn snapshot(&self) -> Arc<ClientSnapshot> {
        self.shared().snapshot()
    }

    /// A receiver of every published registry copy. The first value is the current one;
    /// it is [`ClientSnapshot::empty`] (not fetched) until the first fetch succeeds.
    pub fn snapshots(&self) -> watch::Receiver<Arc<ClientSnapshot>> {
        self.shared().snapshot_tx.subscribe()
    }

    /// This client's counters (fetches, heartbeats, registrations), to export as metrics.
    /// The handle is shared: read [`ClientMetrics::snapshot`] whenever needed.
    pub fn metrics(&self) -> ClientMetrics {
        self.shared().metrics.clone()
    }

    /// Every instance of `target`, whatever its status.
    pub fn instances(&self, target: &Target) -> Vec<Arc<InstanceInfo>> {
        self.snapshot().instances(target).to_vec()
    }

    /// The `UP` instances of `target` (C-26).
    pub fn up_instances(&self, target: &Target) -> Vec<Arc<InstanceInfo>> {
        self.snapshot().up_instances(target).cloned().collect()
    }

    /// How old the registry copy is: the time since the last successful fetch, `None`
    /// before the first one (C-25). A copy that keeps ageing means no server answers.
    pub fn registry_age(&self) -> Option<Duration> {
        self.shared().registry_age()
    }

    /// Whether the last registration succeeded (and was not cancelled since).
    pub fn is_registered(&self) -> bool {
        self.shared().registered.load(Ordering::Acquire)
    }

    /// The record this client registers, as it currently stands locally.
    pub fn instance(&self) -> Option<InstanceInfo> {
        let shared = self.shared();
        shared
            .record
            .as_ref()
            .map(|r| shared.lock_record(r).info().clone())
    }

    /// The status of our own instance as the registry shows it after each fetch (C-28):
    /// `None` while it is absent from the copy. Changes here (for example an operator's
    /// `OUT_OF_SERVICE` override) never trigger a re-registration.
    pub fn own_status(&self) -> watch::Receiver<Option<Status>> {
        self.shared().own_status_tx.subscribe()
    }

    /// Changes the status this instance reports; re-registers promptly (C-08).
    pub fn set_status(&self, status: Status) {
        self.update_instance(|i| i.status = status);
    }

    /// Sets one metadata entry; re-registers promptly (C-08).
    pub fn set_metadata(&self, key: impl Into<String>, value: impl Into<String>) {
        let (key, value) = (key.into(), value.into());
        self.update_instance(move |i| {
            i.metadata.insert(key, value);
        });
    }

    /// Changes the local record. If anything changed, the record gets a new
    /// `lastDirtyTimestamp` (C-07) and is re-registered within about a second, coalesced with
    /// other changes and rate-limited (burst 2, 4 a minute by default, C-08). The
    /// application name and instance id cannot change; such edits are ignored. Returns
    /// whether the record changed; always `false` for a fetch-only client.
    ///
    /// `change` runs under the record's lock: it must not call back into the client.
    pub fn update_instance(&self, change: impl FnOnce(&mut InstanceInfo)) -> bool {
        let shared = self.shared();
        let Some(record) = shared.record.as_ref() else {
            return false;
        };
        let changed = shared.lock_record(record).update(change);
        if changed {
            shared.record_changed.notify_one();
        }
        changed
    }

    /// Stops the client (C-50, C-51): stops fetching; if a drain is configured and the
    /// instance is registered, re-registers it as `DOWN` and keeps heart-beating for the
    /// drain time; stops heart-beating; then cancels the registration (unless
    /// `unregister_on_shutdown` is off). Any HTTP answer ends the cancel; the error is the
    /// transport error when no server could be reached.
    ///
    /// Other clones of the handle keep answering queries from the last copy. Calling it
    /// again (from a clone) does nothing.
    pub async fn shutdown(self) -> Result<(), Error> {
        let inner = &self.inner;
        if inner.shut_down.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let shared = &inner.shared;
        let fetch_task = lock(&inner.fetch_task).take();
        if let Some(t) = fetch_task {
            t.abort();
            let _ = t.await;
        }
        let registering = shared.record.is_some();
        let drain = shared.config.shutdown_drain;
        let drained = registering && !drain.is_zero() && shared.registered.load(Ordering::Acquire);
        if drained {
            // C-51: DOWN first, heartbeats go on while consumers catch up.
            if let Err(e) = lifecycle::register_down(shared).await {
                tracing::warn!(error = %error::Chain(&e), "could not register DOWN before draining");
            }
            tokio::time::sleep(drain).await;
        }
        let lifecycle_task = lock(&inner.lifecycle_task).take();
        if let Some(t) = lifecycle_task {
            t.abort();
            let _ = t.await;
        }
        if let (false, Some(r)) = (drained, shared.record.as_ref()) {
            // C-50 step 2: DOWN locally, not registered.
            shared.lock_record(r).update(|i| i.status = Status::Down);
        }
        if registering && shared.config.unregister_on_shutdown {
            lifecycle::cancel_once(shared).await?;
        }
        Ok(())
    }
}
