//! Health checks of the registering instance (issue 15, C-08): Java's `HealthCheckHandler`
//! polled by its `InstanceInfoReplicator`.
//!
//! A user callback reports the instance's [`Health`]; the client polls it at start (before
//! the first registration) and then every health-check interval on tokio time. The status
//! it registers combines the application's own status (what
//! [`EurekaClient::set_status`](super::EurekaClient::set_status) set) with the last health
//! result, as Java's `HealthCheckCallbackToHandlerBridge` does ([`combine`]). A change of
//! the combined status marks the record dirty and is re-registered at once, within the
//! on-demand rate limit (C-08), as a registration with the new status, not a status
//! override. A check that panics or runs past its timeout counts as [`Health::Down`] and is
//! logged; it never stops the client.

use super::ClientState;
use crate::model::Status;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::MissedTickBehavior;

/// What a health check reports about the instance that the client registers.
///
/// `true` is [`Health::Up`] and `false` is [`Health::Down`], so a check can return a
/// `bool`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Health {
    /// Healthy: the application's own status is registered (`UP` unless it set another).
    Up,
    /// Unhealthy: registered as `DOWN`, so consumers stop calling it (C-26).
    Down,
    /// Healthy but not taking traffic: registered as `OUT_OF_SERVICE`. Servers (Java's
    /// and this crate's, R-61 rule 4) keep a stored `UP` when a client re-registers
    /// `OUT_OF_SERVICE`, and a stored `OUT_OF_SERVICE` when it re-registers `UP`: it takes
    /// effect from `DOWN` or `STARTING` only. Use [`Health::Down`] to take an instance out.
    OutOfService,
}

impl From<bool> for Health {
    fn from(healthy: bool) -> Self {
        if healthy {
            Health::Up
        } else {
            Health::Down
        }
    }
}

/// The status to register for the application's own `app` status and the last health
/// result (Java's `HealthCheckCallbackToHandlerBridge`, with the application's explicit
/// `DOWN` kept):
///
/// | application | health `Up` | health `Down` | health `OutOfService` |
/// |---|---|---|---|
/// | `UP` (or `UNKNOWN`) | as set | `DOWN` | `OUT_OF_SERVICE` |
/// | `STARTING` | `STARTING` | `STARTING` | `STARTING` |
/// | `OUT_OF_SERVICE` | `OUT_OF_SERVICE` | `OUT_OF_SERVICE` | `OUT_OF_SERVICE` |
/// | `DOWN` | `DOWN` | `DOWN` | `DOWN` |
///
/// Without a result yet (`None`) the application's status stands.
pub(crate) fn combine(app: Status, health: Option<Health>) -> Status {
    match (app, health) {
        (Status::Starting | Status::OutOfService | Status::Down, _)
        | (_, None | Some(Health::Up)) => app,
        (_, Some(Health::Down)) => Status::Down,
        (_, Some(Health::OutOfService)) => Status::OutOfService,
    }
}

/// The boxed future of one health check.
pub(crate) type CheckFuture = Pin<Box<dyn Future<Output = Health> + Send>>;

/// The user's health check, boxed (its timing is in the client's settings).
#[derive(Clone)]
pub(crate) struct HealthCheck {
    check: Arc<dyn Fn() -> CheckFuture + Send + Sync>,
}

impl fmt::Debug for HealthCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HealthCheck").finish_non_exhaustive()
    }
}

impl HealthCheck {
    pub(crate) fn new<F, Fut, H>(check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = H> + Send + 'static,
        H: Into<Health>,
    {
        HealthCheck {
            check: Arc::new(move || {
                let fut = check();
                Box::pin(async move { fut.await.into() }) as CheckFuture
            }),
        }
    }

    /// Runs the check once, in a task of its own so that a panic (even in the synchronous
    /// part of the callback) is caught; past the timeout the task is aborted. Both count as
    /// `DOWN`.
    pub(crate) async fn poll(&self, timeout: Duration) -> Health {
        let check = self.check.clone();
        let mut task = tokio::spawn(async move { check().await });
        match tokio::time::timeout(timeout, &mut task).await {
            Ok(Ok(health)) => health,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "eureka health check failed; counting the instance as DOWN");
                Health::Down
            }
            Err(_) => {
                task.abort();
                tracing::warn!(
                    ?timeout,
                    "eureka health check did not answer in time; counting the instance as DOWN"
                );
                Health::Down
            }
        }
    }
}

/// Applies one health result to the record; wakes the lifecycle when the status to
/// register changed (it then re-registers within the rate limit, C-08).
pub(crate) fn apply(shared: &ClientState, health: Health) {
    let Some(record) = shared.record.as_ref() else {
        return;
    };
    let (changed, status) = {
        let mut r = shared.lock_record(record);
        let changed = r.set_health(health);
        (changed, r.info().status)
    };
    if changed {
        tracing::info!(
            ?health,
            status = status.as_str(),
            "eureka health changed; re-registering"
        );
        shared.record_changed.notify_one();
    }
}

/// Polls the check every interval after the first (which the lifecycle ran before the
/// first registration). Runs until aborted.
pub(crate) async fn run(
    shared: Arc<ClientState>,
    check: HealthCheck,
    interval: Duration,
    timeout: Duration,
) {
    let interval = interval.max(Duration::from_millis(1));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    // A slow check delays the next one instead of causing a burst.
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let health = check.poll(timeout).await;
        apply(&shared, health);
    }
}

/// Aborts a task when dropped: the health task lives as long as the lifecycle task.
#[derive(Debug)]
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c08_health_and_the_application_status_combine_as_in_java() {
        use Health as H;
        use Status as S;
        for (app, health, want) in [
            (S::Up, None, S::Up),
            (S::Up, Some(H::Up), S::Up),
            (S::Up, Some(H::Down), S::Down),
            (S::Up, Some(H::OutOfService), S::OutOfService),
            (S::Unknown, Some(H::Down), S::Down),
            (S::Unknown, Some(H::Up), S::Unknown),
            // STARTING and OUT_OF_SERVICE are the application's to end (Java's bridge).
            (S::Starting, Some(H::Down), S::Starting),
            (S::Starting, Some(H::Up), S::Starting),
            (S::OutOfService, Some(H::Up), S::OutOfService),
            (S::OutOfService, Some(H::Down), S::OutOfService),
            // An explicit DOWN stays DOWN, however healthy.
            (S::Down, Some(H::Up), S::Down),
        ] {
            assert_eq!(combine(app, health), want, "{app:?} + {health:?}");
        }
        assert_eq!(Health::from(true), Health::Up);
        assert_eq!(Health::from(false), Health::Down);
    }

    const T: Duration = Duration::from_secs(5);

    #[tokio::test(start_paused = true)]
    async fn c08_a_panicking_or_hanging_check_counts_as_down() {
        let check = HealthCheck::new(|| async { panic!("boom") as bool });
        assert_eq!(check.poll(T).await, Health::Down);
        // Panics before the future exists are caught too.
        let check = HealthCheck::new(|| -> std::future::Ready<bool> { panic!("sync boom") });
        assert_eq!(check.poll(T).await, Health::Down);
        let started = tokio::time::Instant::now();
        let check = HealthCheck::new(std::future::pending::<Health>);
        assert_eq!(check.poll(T).await, Health::Down);
        assert_eq!(started.elapsed(), T);
        let check = HealthCheck::new(|| async { Health::OutOfService });
        assert_eq!(check.poll(T).await, Health::OutOfService);
    }
}
