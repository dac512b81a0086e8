//! Shared helpers for the registry scenario tests.

use std::sync::Arc;
use std::time::Duration;
use tower_eureka::model::{ActionType, InstanceInfo, Status};
use tower_eureka::registry::{Clock, Origin, Registry, RegistryConfig, SelfPreservationMode};

/// Epoch ms at which every test clock starts.
pub(crate) const T0: u64 = 1_700_000_000_000;

/// A config with immediate publication and a deterministic clock.
pub(crate) fn config() -> RegistryConfig {
    RegistryConfig {
        publish_interval: Duration::ZERO,
        clock: Some(Clock::starting_at(T0)),
        ..RegistryConfig::default()
    }
}

/// A registry with [`config`].
pub(crate) fn registry() -> Registry {
    Registry::new(config())
}

/// A registry with self-preservation disabled (expiry always on).
pub(crate) fn registry_no_sp() -> Registry {
    Registry::new(RegistryConfig {
        self_preservation: SelfPreservationMode::Disabled,
        ..config()
    })
}

/// An `UP` instance of `app` with explicit id and `lastDirtyTimestamp`.
pub(crate) fn inst(app: &str, id: &str, ldt: u64) -> InstanceInfo {
    InstanceInfo::builder(app)
        .instance_id(id)
        .host_name(format!("{id}.internal"))
        .last_dirty_timestamp(ldt)
        .build()
}

/// Same with a status.
pub(crate) fn inst_status(app: &str, id: &str, ldt: u64, status: Status) -> InstanceInfo {
    let mut i = inst(app, id, ldt);
    i.status = status;
    i
}

/// Advances paused time.
pub(crate) async fn advance(d: Duration) {
    tokio::time::advance(d).await;
}

/// Advances paused time by whole seconds.
pub(crate) async fn secs(n: u64) {
    advance(Duration::from_secs(n)).await;
}

/// The delta record of `(app, id)`.
pub(crate) fn delta_rec(reg: &Registry, app: &str, id: &str) -> Option<Arc<InstanceInfo>> {
    let snap = reg.snapshot();
    let found = snap
        .delta()
        .filter(|(name, _)| *name == app)
        .flat_map(|(_, list)| list.iter())
        .find(|i| i.id() == id)
        .cloned();
    found
}

/// The action type of the delta record of `(app, id)`.
pub(crate) fn delta_action(reg: &Registry, app: &str, id: &str) -> Option<ActionType> {
    delta_rec(reg, app, id).and_then(|i| i.action_type)
}

/// Registers `n` instances `APP/i-{k}` (`lease(30, 90)`).
pub(crate) fn register_n(reg: &Registry, app: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|k| {
            let id = format!("i-{k}");
            reg.register(inst(app, &id, 1), Origin::Client).unwrap();
            id
        })
        .collect()
}
