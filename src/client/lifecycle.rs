//! The instance's side of the protocol: register (C-03..C-08), renew (C-10..C-13) and
//! cancel (C-50, C-51).
//!
//! The local record owns its `lastDirtyTimestamp` (C-07): every local change bumps it
//! monotonically and marks the record dirty; a successful registration clears the dirty
//! flag only if nothing changed since the body was taken (compare-and-clear).

use super::error::{Chain, Error};
use super::health::{self, combine, AbortOnDrop, Health};
use super::metrics::Event;
use super::schedule::{FixedRate, TokenBucket};
use super::transport::{encode_segment, CallKind};
use super::ClientState;
use crate::backoff::RetryBackoff;
use crate::codec::{self, Format};
use crate::model::{InstanceInfo, Status};
use bytes::Bytes;
use http::{Method, StatusCode};
use rand::rngs::StdRng;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::{sleep_until, Instant};

// === the local record (C-07) ===

/// The instance as this process last decided it, with its dirty flag.
#[derive(Debug)]
pub(crate) struct LocalRecord {
    /// What is registered: `info.status` is the application's status combined with the
    /// last health result (`health::combine`).
    info: InstanceInfo,
    dirty: bool,
    /// The status the application set (`set_status`, `update_instance`).
    app_status: Status,
    /// The last health-check result; `None` without a check or before its first answer.
    health: Option<Health>,
    clock: WallClock,
}

/// Where the record's timestamps come from: the system's wall clock, or one a test steps
/// (`EurekaClientBuilder::wall_clock`). The only wall-clock reading of the client; every
/// timer runs on tokio's clock.
#[derive(Clone, Default)]
pub(crate) struct WallClock(Option<Arc<dyn Fn() -> SystemTime + Send + Sync>>);

impl WallClock {
    pub(crate) fn new(now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        WallClock(Some(Arc::new(now)))
    }

    /// Milliseconds since the epoch; 0 for a clock before 1970.
    fn now_ms(&self) -> u64 {
        let now = self.0.as_ref().map_or_else(SystemTime::now, |f| f());
        now.duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }
}

impl std::fmt::Debug for WallClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "WallClock(injected)"
        } else {
            "WallClock(system)"
        })
    }
}

impl LocalRecord {
    /// A new record, dirty, with a fresh `lastDirtyTimestamp` read from `clock`.
    pub(crate) fn new(info: InstanceInfo, clock: WallClock) -> Self {
        let mut r = LocalRecord {
            app_status: info.status,
            info,
            dirty: false,
            health: None,
            clock,
        };
        r.touch();
        r
    }

    /// Marks the record changed: `lastDirtyTimestamp = max(now, last + 1)` (C-07), so that
    /// a wall clock stepped back never makes the record look older to the server.
    pub(crate) fn touch(&mut self) -> u64 {
        let ts = self
            .clock
            .now_ms()
            .max(self.info.last_dirty_timestamp.saturating_add(1));
        self.info.last_dirty_timestamp = ts;
        self.info.last_updated_timestamp = ts;
        self.dirty = true;
        ts
    }

    /// The server holds this instance with `lastDirtyTimestamp = theirs`. When that is newer
    /// than ours (a record a previous run of this instance left there with a wall clock
    /// ahead of ours now), the server keeps it over every registration of ours and
    /// renews it (R-50: 200 to an older timestamp), so our record would never take effect:
    /// move past it (`theirs + 1`) and mark the record dirty. Returns whether it did.
    pub(crate) fn overtake(&mut self, theirs: u64) -> bool {
        if theirs <= self.info.last_dirty_timestamp {
            return false;
        }
        let ts = theirs.saturating_add(1);
        self.info.last_dirty_timestamp = ts;
        self.info.last_updated_timestamp = ts;
        self.dirty = true;
        true
    }

    pub(crate) fn info(&self) -> &InstanceInfo {
        &self.info
    }

    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Applies `change`; touches the record if anything but the timestamps changed. The
    /// application name and instance id are fixed for the life of the client: changes to
    /// them are undone. `change` sees (and sets) the application's own status; what is
    /// registered is that combined with the health result. Returns whether the record
    /// changed.
    pub(crate) fn update(&mut self, change: impl FnOnce(&mut InstanceInfo)) -> bool {
        let before = self.info.clone();
        self.info.status = self.app_status;
        change(&mut self.info);
        let app_status = self.info.status;
        self.info.status = combine(app_status, self.health);
        self.info.app.clone_from(&before.app);
        self.info.instance_id.clone_from(&before.instance_id);
        self.info.last_dirty_timestamp = before.last_dirty_timestamp;
        self.info.last_updated_timestamp = before.last_updated_timestamp;
        if self.info.id() != before.id() {
            // The id can also derive from the host name or Amazon data.
            self.info = before;
            return false;
        }
        self.app_status = app_status;
        if self.info == before {
            return false;
        }
        self.touch();
        true
    }

    /// Records a health result; touches the record when the status to register changed.
    /// Returns whether it did.
    pub(crate) fn set_health(&mut self, health: Health) -> bool {
        self.health = Some(health);
        let status = combine(self.app_status, self.health);
        if status == self.info.status {
            return false;
        }
        self.info.status = status;
        self.touch();
        true
    }

    /// Clears the dirty flag if the record still carries `sent` (compare-and-clear).
    fn clear_if(&mut self, sent: u64) -> bool {
        if self.info.last_dirty_timestamp == sent {
            self.dirty = false;
        }
        !self.dirty
    }
}

/// Paths of the registered instance, encoded once (C-01).
#[derive(Debug, Clone)]
pub(crate) struct InstancePaths {
    /// `apps/{APP}`
    register: String,
    /// `apps/{APP}/{id}`
    instance: String,
}

impl InstancePaths {
    pub(crate) fn new(info: &InstanceInfo) -> Self {
        let app = encode_segment(&info.app);
        let register = format!("apps/{app}");
        let instance = format!("{register}/{}", encode_segment(info.id()));
        InstancePaths { register, instance }
    }
}

// === one-shot calls, shared by the task and shutdown ===

/// Sends the current record (C-03). `Ok(())` only when the server answered 204 (C-06): the
/// record is then marked registered, and clean unless it changed while the call was in
/// flight (C-07); any other answer is an [`Error`] and the record stays dirty. A client
/// without a record has nothing to send and gets `Ok(())`.
pub(crate) async fn register_once(shared: &ClientState) -> Result<(), Error> {
    let (Some(record), Some(paths)) = (shared.record.as_ref(), shared.paths.as_ref()) else {
        return Ok(());
    };
    let (info, sent) = {
        let r = shared.lock_record(record);
        (r.info.clone(), r.info.last_dirty_timestamp)
    };
    let mut body = Vec::with_capacity(1024);
    codec::encode_instance(&info, Format::Json, &mut body);
    let reply = shared
        .transport
        .call(
            CallKind::Register,
            Method::POST,
            &paths.register,
            Some(Bytes::from(body)),
        )
        .await?;
    if reply.status != StatusCode::NO_CONTENT {
        return Err(Error::status(reply.status.as_u16()));
    }
    shared.lock_record(record).clear_if(sent);
    shared.registered.store(true, Ordering::Release);
    Ok(())
}

/// Cancels the registration (C-50): any HTTP status ends it; transport errors fail over.
pub(crate) async fn cancel_once(shared: &ClientState) -> Result<(), Error> {
    let Some(paths) = shared.paths.as_ref() else {
        return Ok(());
    };
    let reply = shared
        .transport
        .call(CallKind::Cancel, Method::DELETE, &paths.instance, None)
        .await?;
    tracing::info!(status = %reply.status, "eureka registration cancelled");
    shared.registered.store(false, Ordering::Release);
    Ok(())
}

/// What a heartbeat found out.
#[derive(Debug, PartialEq, Eq)]
enum Beat {
    Renewed,
    /// 404: the server does not know this record (or ours is newer): register now.
    Unknown,
    Failed,
}

async fn renew_once(shared: &ClientState) -> Beat {
    let (Some(record), Some(paths)) = (shared.record.as_ref(), shared.paths.as_ref()) else {
        return Beat::Failed;
    };
    let (status, ts) = {
        let r = shared.lock_record(record);
        (r.info.status, r.info.last_dirty_timestamp)
    };
    // C-10: status and lastDirtyTimestamp, never overriddenstatus.
    let path = format!(
        "{}?status={}&lastDirtyTimestamp={ts}",
        paths.instance,
        status.as_str()
    );
    match shared
        .transport
        .call(CallKind::Heartbeat, Method::PUT, &path, None)
        .await
    {
        Ok(r) if r.status == StatusCode::NOT_FOUND => Beat::Unknown,
        Ok(r) if r.status == StatusCode::CONFLICT => {
            tracing::warn!(
                "eureka server answered 409 to a heartbeat; treating the lease as renewed"
            );
            Beat::Renewed
        }
        Ok(r) if r.status.is_success() => Beat::Renewed,
        Ok(r) => {
            tracing::warn!(status = %r.status, "eureka heartbeat not accepted");
            Beat::Failed
        }
        Err(e) => {
            tracing::warn!(error = %Chain(&e), "eureka heartbeat failed");
            Beat::Failed
        }
    }
}

// === the task ===

/// Registers, heartbeats at a fixed rate, and re-registers when the record is dirty.
pub(crate) struct Lifecycle {
    shared: Arc<ClientState>,
    rng: StdRng,
    heartbeat: FixedRate,
    backoff: RetryBackoff,
    bucket: TokenBucket,
    /// When to register next; `Some` while the record is dirty.
    next_register: Option<Instant>,
    /// Whether the pending registration was triggered on demand (and takes a token).
    on_demand: bool,
    /// No registration (and so no heartbeat standing in for one) before this.
    first_register: Instant,
    failing: bool,
}

impl Lifecycle {
    pub(crate) fn new(
        shared: Arc<ClientState>,
        rng: StdRng,
        start: Instant,
        period: Duration,
    ) -> Self {
        let config = &shared.config;
        let backoff = RetryBackoff::new(
            config.registration_retry_base,
            config.instance_info_replication_interval,
        );
        let bucket = TokenBucket::new(config.on_demand_burst, config.on_demand_per_minute, start);
        let first_register = start + config.initial_registration_delay;
        Lifecycle {
            first_register,
            next_register: Some(first_register),
            heartbeat: FixedRate::new(start, period),
            backoff,
            bucket,
            on_demand: false,
            failing: false,
            shared,
            rng,
        }
    }

    pub(crate) async fn run(mut self) {
        // The health check (if any) lives as long as this task. Its first answer comes
        // before the first registration, as Java's replicator checks health before it
        // registers; the wait is bounded by the check's timeout.
        let _health = match self.shared.config.health_check.clone() {
            Some(check) => {
                let config = &self.shared.config;
                let timeout = config.health_check_timeout;
                let every = config
                    .health_check_interval
                    .unwrap_or(config.instance_info_replication_interval);
                health::apply(&self.shared, check.poll(timeout).await);
                Some(AbortOnDrop(tokio::spawn(health::run(
                    self.shared.clone(),
                    check,
                    every,
                    timeout,
                ))))
            }
            None => None,
        };
        let far = Duration::from_secs(86_400 * 365);
        let mut next_beat = self.heartbeat.next(Instant::now(), &mut self.rng);
        loop {
            let register_at = self.next_register;
            tokio::select! {
                biased;
                () = sleep_until(next_beat) => {
                    self.beat().await;
                    next_beat = self.heartbeat.next(Instant::now(), &mut self.rng);
                }
                () = sleep_until(register_at.unwrap_or_else(|| Instant::now() + far)), if register_at.is_some() => {
                    self.register().await;
                }
                () = self.shared.record_changed.notified() => self.on_local_change(Instant::now()),
            }
        }
    }

    fn is_dirty(&self) -> bool {
        self.shared
            .record
            .as_ref()
            .is_some_and(|r| self.shared.lock_record(r).is_dirty())
    }

    /// A local change (C-08): register within the rate limit, or at the next periodic check
    /// when on-demand updates are off.
    fn on_local_change(&mut self, now: Instant) {
        if !self.is_dirty() {
            return;
        }
        let at = if self.shared.config.on_demand_update_status_change {
            self.on_demand = true;
            self.bucket.ready_at(now)
        } else {
            now + self.shared.config.instance_info_replication_interval
        };
        self.next_register = Some(self.next_register.map_or(at, |t| t.min(at)));
    }

    async fn beat(&mut self) {
        if !self.shared.registered.load(Ordering::Acquire) {
            // C-12: not registered (yet, or any more): the registration is the heartbeat.
            if Instant::now() >= self.first_register {
                self.register().await;
            }
            return;
        }
        match renew_once(&self.shared).await {
            Beat::Renewed => self.shared.metrics.count(Event::HeartbeatOk),
            Beat::Failed => self.shared.metrics.count(Event::HeartbeatFailed),
            Beat::Unknown => {
                self.shared.metrics.count(Event::Reregistration);
                // C-12: a 404 (whatever its body) means "register again", with a fresh
                // timestamp so that the server takes our record.
                self.shared.registered.store(false, Ordering::Release);
                if let Some(r) = self.shared.record.as_ref() {
                    self.shared.lock_record(r).touch();
                }
                tracing::info!("eureka server does not know this instance; re-registering");
                // C-12: at once, without waiting for an on-demand token.
                self.on_demand = false;
                self.register().await;
            }
        }
    }

    async fn register(&mut self) {
        let now = Instant::now();
        if std::mem::take(&mut self.on_demand) && !self.bucket.try_take(now) {
            // C-08: no token (yet): wait for one; later changes coalesce into this.
            self.on_demand = true;
            self.next_register = Some(self.bucket.ready_at(now));
            return;
        }
        match register_once(&self.shared).await {
            Ok(()) => {
                self.shared.metrics.count(Event::Registration);
                self.backoff.reset();
                self.next_register = None;
                self.failing = false;
                tracing::info!("eureka registration succeeded");
                // Changed while the registration was in flight: go again (coalesced).
                self.on_local_change(Instant::now());
            }
            Err(e) => {
                self.shared.metrics.count(Event::RegistrationError);
                let delay = self.backoff.fail(&mut self.rng);
                self.next_register = Some(Instant::now() + delay);
                if !self.failing {
                    self.failing = true;
                    tracing::warn!(error = %Chain(&e), retry_in = ?delay, "eureka registration failed");
                } else {
                    tracing::debug!(error = %Chain(&e), retry_in = ?delay, "eureka registration failed again");
                }
            }
        }
    }
}

/// Sets the local status to `DOWN` and registers it (the drain step of C-51).
pub(crate) async fn register_down(shared: &ClientState) -> Result<(), Error> {
    if let Some(r) = shared.record.as_ref() {
        shared.lock_record(r).update(|i| i.status = Status::Down);
    }
    register_once(shared).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c07_timestamps_are_monotonic_and_compare_and_clear() {
        let mut r = LocalRecord::new(InstanceInfo::builder("a").build(), WallClock::default());
        assert!(r.is_dirty());
        let t1 = r.info().last_dirty_timestamp;
        assert!(t1 > 1_600_000_000_000);
        let t2 = r.touch();
        assert!(t2 > t1);
        // A register that carried t1 does not clear a record now at t2.
        assert!(!r.clear_if(t1));
        assert!(r.is_dirty());
        assert!(r.clear_if(t2));
        assert!(!r.is_dirty());
        // A clock far in the future is never stepped back from.
        r.info.last_dirty_timestamp = u64::MAX - 10;
        assert_eq!(r.touch(), u64::MAX - 9);
    }

    #[test]
    fn c07_updates_touch_only_on_real_changes() {
        let mut r = LocalRecord::new(
            InstanceInfo::builder("a").host_name("h").build(),
            WallClock::default(),
        );
        let t = r.info().last_dirty_timestamp;
        r.clear_if(t);
        assert!(!r.update(|i| i.status = Status::Up));
        assert!(!r.is_dirty());
        assert!(!r.update(|i| i.app = "OTHER".into()));
        assert_eq!(r.info().app, "A");
        assert!(r.update(|i| {
            i.metadata.insert("k", "v");
        }));
        assert!(r.is_dirty());
        assert!(r.info().last_dirty_timestamp > t);
    }

    #[test]
    fn c08_health_changes_the_registered_status_not_the_applications() {
        let mut r = LocalRecord::new(
            InstanceInfo::builder("a").host_name("h").build(),
            WallClock::default(),
        );
        let t = r.info().last_dirty_timestamp;
        r.clear_if(t);
        assert!(!r.set_health(Health::Up));
        assert!(!r.is_dirty());
        assert!(r.set_health(Health::Down));
        assert!(r.is_dirty());
        assert_eq!(r.info().status, Status::Down);
        // The application says UP again: health DOWN still wins, nothing to send.
        assert!(!r.update(|i| i.status = Status::Up));
        // The application takes it out of service: that stays, whatever the health.
        assert!(r.update(|i| {
            assert_eq!(
                i.status,
                Status::Up,
                "the change sees the application's status"
            );
            i.status = Status::OutOfService;
        }));
        assert_eq!(r.info().status, Status::OutOfService);
        assert!(!r.set_health(Health::Up));
        assert_eq!(r.info().status, Status::OutOfService);
        assert!(r.update(|i| i.status = Status::Up));
        assert_eq!(r.info().status, Status::Up);
        // A metadata change keeps the combined status.
        assert!(r.set_health(Health::Down));
        assert!(r.update(|i| {
            i.metadata.insert("k", "v");
        }));
        assert_eq!(r.info().status, Status::Down);
    }

    #[test]
    fn c01_instance_paths_are_encoded() {
        let i = InstanceInfo::builder("orders")
            .instance_id("h 1:orders:80")
            .build();
        let p = InstancePaths::new(&i);
        assert_eq!(p.register, "apps/ORDERS");
        assert_eq!(p.instance, "apps/ORDERS/h%201:orders:80");
    }
}
