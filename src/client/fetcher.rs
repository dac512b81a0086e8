//! Registry fetching: full and delta fetches (C-20), the delta merge (C-21, C-21a), the
//! reconcile check (C-22), version handling (C-24), copy-on-write publication (C-23) and
//! keeping the last copy through outages (C-25).
//!
//! The merge is a pure function over the model, [`apply_delta`]; the task around it only
//! decides what to fetch, checks the hash and publishes.

use super::error::{Chain, Error};
use super::schedule::Backoff;
use super::snapshot::ClientSnapshot;
use super::transport::CallKind;
use super::Shared;
use crate::codec;
use crate::model::{normalize_app_name, ActionType, Application, Applications, InstanceInfo};
use http::{Method, StatusCode};
use rand::rngs::StdRng;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::time::Instant;

// === the pure merge (C-21, C-21a) ===

/// Applies a delta to a registry copy and returns the next copy (C-21). `copy` is not
/// touched, so readers of the current copy never see a half-applied delta (C-23).
///
/// For each instance of the delta, in document order:
/// * `ADDED`, `MODIFIED`: upsert by `(app, id)`, replacing the whole record. A missing
///   application is created empty and receives only this instance (C-21a: the delta's other
///   entries for that application, `DELETED` ones included, are not copied along).
/// * `DELETED`: remove the instance if present; an application left empty is removed.
/// * no or unknown action type: ignored.
///
/// The result carries the delta's `versions__delta` and `apps__hashcode`. Check it with
/// [`Applications::compute_hashcode`] against the delta's hash (C-22). Applying the same
/// delta twice gives the same result.
///
/// ```
/// use tower_eureka::client::apply_delta;
/// use tower_eureka::model::{ActionType, Applications, InstanceInfo};
///
/// let a = InstanceInfo::builder("orders").host_name("a").build();
/// let copy = Applications::from_instances([a.clone()]);
///
/// let mut b = InstanceInfo::builder("orders").host_name("b").build();
/// b.action_type = Some(ActionType::Added);
/// let mut gone = a;
/// gone.action_type = Some(ActionType::Deleted);
/// let mut delta = Applications::from_instances([b, gone]);
/// delta.versions_delta = 7;
/// delta.apps_hashcode = Some("UP_1_".into());
///
/// let next = apply_delta(&copy, &delta);
/// assert_eq!(next.instances().map(|i| i.host_name.as_str()).collect::<Vec<_>>(), ["b"]);
/// assert_eq!(next.compute_hashcode(), "UP_1_");
/// assert_eq!(next.versions_delta, 7);
/// ```
pub fn apply_delta(copy: &Applications, delta: &Applications) -> Applications {
    let mut apps: Vec<Application> = copy.applications.clone();
    let mut index: HashMap<String, usize> = apps
        .iter()
        .enumerate()
        .map(|(i, a)| (normalize_app_name(&a.name), i))
        .collect();
    for app in &delta.applications {
        for inst in &app.instances {
            let name = normalize_app_name(if inst.app.is_empty() {
                &app.name
            } else {
                &inst.app
            });
            match inst.action_type {
                Some(ActionType::Added | ActionType::Modified) => {
                    let i = *index.entry(name).or_insert_with_key(|name| {
                        apps.push(Application::new(name));
                        apps.len() - 1
                    });
                    if let Some(target) = apps.get_mut(i) {
                        upsert(target, inst);
                    }
                }
                Some(ActionType::Deleted) => {
                    if let Some(target) = index.get(&name).and_then(|&i| apps.get_mut(i)) {
                        let id = inst.id();
                        target.instances.retain(|x| x.id() != id);
                    }
                }
                None => {}
            }
        }
    }
    apps.retain(|a| !a.instances.is_empty());
    Applications {
        versions_delta: delta.versions_delta,
        apps_hashcode: delta.apps_hashcode.clone(),
        applications: apps,
    }
}

fn upsert(app: &mut Application, inst: &InstanceInfo) {
    let id = inst.id();
    match app.instances.iter_mut().find(|x| x.id() == id) {
        Some(slot) => *slot = inst.clone(),
        None => app.instances.push(inst.clone()),
    }
}

/// Whether two copies hold the same instances with the same records, in any order, ignoring
/// `leaseInfo.lastRenewalTimestamp` (which changes with every heartbeat and would otherwise
/// make every full fetch look like a change).
pub(crate) fn same_content(a: &Applications, b: &Applications) -> bool {
    let count_a = a.instances().count();
    if count_a != b.instances().count() {
        return false;
    }
    let mut by_key: HashMap<(String, &str), &InstanceInfo> = HashMap::with_capacity(count_a);
    for app in &a.applications {
        for inst in &app.instances {
            by_key.insert((normalize_app_name(&app.name), inst.id()), inst);
        }
    }
    if by_key.len() != count_a {
        // Duplicate ids within one application: fall back to a strict comparison.
        return a.applications == b.applications;
    }
    b.applications.iter().all(|app| {
        let name = normalize_app_name(&app.name);
        app.instances.iter().all(|inst| {
            by_key
                .get(&(name.clone(), inst.id()))
                .is_some_and(|old| same_record(old, inst))
        })
    })
}

fn same_record(old: &InstanceInfo, new: &InstanceInfo) -> bool {
    if old == new {
        return true;
    }
    if old.lease_info.last_renewal_timestamp == new.lease_info.last_renewal_timestamp {
        return false;
    }
    let mut new = new.clone();
    new.lease_info.last_renewal_timestamp = old.lease_info.last_renewal_timestamp;
    *old == new
}

// === the fetch task ===

/// Why a delta was not applied and a full fetch follows (C-20, C-22).
#[derive(Debug)]
enum NeedFull {
    Status(StatusCode),
    Failed(Error),
    NoHash,
    Mismatch { local: String, server: String },
}

impl std::fmt::Display for NeedFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NeedFull::Status(s) => write!(f, "delta answered {s}"),
            NeedFull::Failed(e) => write!(f, "delta failed: {}", Chain(e)),
            NeedFull::NoHash => f.write_str("delta carries no apps__hashcode"),
            NeedFull::Mismatch { local, server } => {
                write!(
                    f,
                    "reconcile hash mismatch: local {local:?}, server {server:?}"
                )
            }
        }
    }
}

/// The fetch loop: full at start, then deltas every fetch interval.
pub(crate) struct Fetcher {
    shared: Arc<Shared>,
    rng: StdRng,
    backoff: Backoff,
    current: Option<Applications>,
    generation: u64,
    failing: bool,
}

impl Fetcher {
    pub(crate) fn new(shared: Arc<Shared>, rng: StdRng) -> Self {
        let interval = shared.config.registry_fetch_interval;
        let cap = interval.saturating_mul(shared.config.cache_refresh_backoff_bound.max(1));
        Fetcher {
            shared,
            rng,
            backoff: Backoff::new(interval, cap),
            current: None,
            generation: 0,
            failing: false,
        }
    }

    pub(crate) async fn run(mut self) {
        loop {
            let delay = match self.fetch_once().await {
                Ok(()) => {
                    self.backoff.reset();
                    self.shared.config.registry_fetch_interval
                }
                Err(e) => {
                    let delay = self.backoff.fail(&mut self.rng);
                    self.on_failure(&e, delay);
                    delay
                }
            };
            tokio::time::sleep(delay).await;
        }
    }

    fn on_failure(&mut self, e: &Error, retry_in: std::time::Duration) {
        let age = self.shared.registry_age();
        if !self.failing {
            self.failing = true;
            tracing::warn!(
                error = %Chain(e),
                copy_age = ?age,
                retry_in = ?retry_in,
                "eureka registry fetch failed; keeping the last registry copy until a server answers"
            );
        } else {
            tracing::debug!(error = %Chain(e), copy_age = ?age, retry_in = ?retry_in, "eureka registry fetch failed again");
        }
    }

    fn wants_full(&self) -> bool {
        match &self.current {
            None => true,
            Some(cur) => {
                self.shared.config.disable_delta
                    || cur.applications.is_empty()
                    || cur.versions_delta == -1
            }
        }
    }

    async fn fetch_once(&mut self) -> Result<(), Error> {
        if !self.wants_full() {
            match self.fetch_delta().await {
                Ok(next) => {
                    self.install(next);
                    return Ok(());
                }
                Err(why) => {
                    tracing::debug!(reason = %why, "delta not applied, fetching the full registry")
                }
            }
        }
        let full = self.fetch_full().await?;
        self.install(full);
        Ok(())
    }

    async fn fetch_full(&self) -> Result<Applications, Error> {
        let reply = self
            .shared
            .transport
            .call(CallKind::FullFetch, Method::GET, "apps/", None)
            .await?;
        if reply.status != StatusCode::OK {
            return Err(Error::status(reply.status.as_u16()));
        }
        codec::decode_applications(&reply.body, reply.format()).map_err(Error::decode)
    }

    async fn fetch_delta(&self) -> Result<Applications, NeedFull> {
        let Some(current) = &self.current else {
            return Err(NeedFull::NoHash);
        };
        let reply = self
            .shared
            .transport
            .call(CallKind::DeltaFetch, Method::GET, "apps/delta", None)
            .await
            .map_err(NeedFull::Failed)?;
        if reply.status != StatusCode::OK {
            return Err(NeedFull::Status(reply.status));
        }
        let delta = codec::decode_applications(&reply.body, reply.format())
            .map_err(|e| NeedFull::Failed(Error::decode(e)))?;
        let merged = apply_delta(current, &delta);
        let Some(server) = delta.apps_hashcode else {
            return Err(NeedFull::NoHash);
        };
        let local = merged.compute_hashcode();
        if local != server {
            return Err(NeedFull::Mismatch { local, server });
        }
        Ok(merged)
    }

    /// Adopts a reconciled copy; publishes it when its content changed (or the first time).
    fn install(&mut self, next: Applications) {
        let changed = match &self.current {
            None => true,
            Some(cur) => !same_content(cur, &next),
        };
        self.shared.fetched_now(Instant::now());
        if self.failing {
            self.failing = false;
            tracing::info!("eureka registry fetch recovered");
        }
        if changed {
            self.generation += 1;
            let snap = ClientSnapshot::from_applications(&next, self.generation);
            self.shared.publish(Arc::new(snap));
        }
        self.shared.observe_own_status(&next);
        self.current = Some(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    fn inst(app: &str, host: &str, status: Status, action: Option<ActionType>) -> InstanceInfo {
        let mut i = InstanceInfo::builder(app).host_name(host).build();
        i.status = status;
        i.action_type = action;
        i
    }

    #[test]
    fn c21_upsert_replaces_whole_records() {
        let copy = Applications::from_instances([inst("a", "h1", Status::Up, None)]);
        let mut m = inst("a", "h1", Status::Down, Some(ActionType::Modified));
        m.metadata.insert("k", "v");
        let next = apply_delta(&copy, &Applications::from_instances([m.clone()]));
        assert_eq!(next.instances().collect::<Vec<_>>(), vec![&m]);
        // the input copy is untouched (C-23)
        assert_eq!(copy.instances().next().map(|i| i.status), Some(Status::Up));
    }

    #[test]
    fn c21_delete_removes_empty_apps_and_ignores_unknown() {
        let copy = Applications::from_instances([
            inst("a", "h1", Status::Up, None),
            inst("b", "h2", Status::Up, None),
        ]);
        let delta = Applications::from_instances([
            inst("a", "h1", Status::Up, Some(ActionType::Deleted)),
            inst("c", "h3", Status::Up, Some(ActionType::Deleted)),
            inst("b", "h9", Status::Up, None),
        ]);
        let next = apply_delta(&copy, &delta);
        assert!(next.application("A").is_none());
        assert!(next.application("C").is_none());
        assert_eq!(next.instances().count(), 1);
        assert_eq!(next.compute_hashcode(), "UP_1_");
    }

    #[test]
    fn c21a_missing_app_gets_only_the_added_instance() {
        let copy = Applications::from_instances([inst("other", "o", Status::Up, None)]);
        let delta = Applications::from_instances([
            inst("new", "n1", Status::Up, Some(ActionType::Added)),
            inst("new", "n2", Status::Up, Some(ActionType::Deleted)),
        ]);
        let next = apply_delta(&copy, &delta);
        let app = next.application("NEW").unwrap();
        assert_eq!(app.instances.len(), 1);
        assert_eq!(app.instances[0].host_name, "n1");
        assert_eq!(next.compute_hashcode(), "UP_2_");
    }

    #[test]
    fn c22_applying_twice_is_harmless() {
        let copy = Applications::from_instances([inst("a", "h1", Status::Up, None)]);
        let delta = Applications::from_instances([
            inst("a", "h2", Status::Starting, Some(ActionType::Added)),
            inst("a", "h1", Status::Up, Some(ActionType::Deleted)),
        ]);
        let once = apply_delta(&copy, &delta);
        let twice = apply_delta(&once, &delta);
        assert_eq!(once, twice);
    }

    #[test]
    fn c23_same_content_ignores_order_and_renewals() {
        let a = inst("a", "h1", Status::Up, None);
        let b = inst("b", "h2", Status::Up, None);
        let x = Applications::from_instances([a.clone(), b.clone()]);
        let mut a2 = a.clone();
        a2.lease_info.last_renewal_timestamp += 30_000;
        let mut y = Applications::from_instances([b.clone(), a2]);
        y.applications.reverse();
        y.versions_delta = 9;
        assert!(same_content(&x, &y));
        let mut a3 = a;
        a3.status = Status::Down;
        let z = Applications::from_instances([a3, b.clone()]);
        assert!(!same_content(&x, &z));
        assert!(!same_content(&x, &Applications::from_instances([b])));
    }
}
