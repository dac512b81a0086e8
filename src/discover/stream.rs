//! `EurekaDiscover`: a target's `UP` instances as a stream of `Change`s.

use super::MakeEndpoint;
use crate::client::{ClientSnapshot, Target};
use crate::model::InstanceInfo;
use futures_core::Stream;
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::watch;
use tower::discover::Change;

type Snapshots = watch::Receiver<Arc<ClientSnapshot>>;
/// Resolves when a snapshot newer than the last diffed one is published, or the publisher
/// is gone.
type Changed = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A tower `Discover` over the `UP` instances of one [`Target`], fed by the client's
/// published registry snapshots.
///
/// It is a `Stream<Item = Result<Change<Arc<str>, M::Endpoint>, Infallible>>` (tower's
/// `Discover` is implemented for every such stream), keyed by instance id (never by
/// `host:port`). Each time the client publishes a snapshot, the stream diffs the
/// target's `UP` instances (C-26; lookups are case-insensitive, C-27) against what it
/// has emitted so far and yields:
///
/// * `Insert(id, endpoint)` for a new instance (the endpoint comes from the
///   [`MakeEndpoint`] factory; an instance the factory skips is left out);
/// * `Remove(id)` for an instance that is gone or no longer `UP`;
/// * `Remove(id)` then `Insert(id, endpoint)` for an instance whose address changed
///   (`ipAddr`, `hostName`, port or secure port). tower's balancer keeps calling the old
///   service on an `Insert` over an existing key until the new one is ready; the `Remove`
///   stops traffic to the stale address at once.
///
/// Behaviour that keeps a balancer healthy:
///
/// * it **never errors** (so a `Buffer` in front of the balancer is never poisoned) and
///   **never ends**: if the client goes away it keeps the last set and pends forever;
/// * a snapshot that is not [`is_fetched`](ClientSnapshot::is_fetched) removes nothing; a
///   fetched snapshot in which the target has no `UP` instance empties the set — that
///   absence is authoritative. Fetch failures do not publish, so the last set stays
///   (C-25);
/// * it **coalesces**: it always diffs against the latest snapshot (watch semantics), so a
///   burst of publications while nobody polls costs one diff, and nothing queues up.
///
/// ```
/// use std::sync::Arc;
/// use tokio::sync::watch;
/// use tower_eureka::client::{ClientSnapshot, Target};
/// use tower_eureka::discover::EurekaDiscover;
/// use tower_eureka::model::{Applications, InstanceInfo};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let apps = Applications::from_instances([
///     InstanceInfo::builder("orders").host_name("o1").build(),
/// ]);
/// let (_tx, rx) = watch::channel(Arc::new(ClientSnapshot::from_applications(&apps, 1)));
///
/// // The endpoint is whatever the factory makes; here, the instance's host name.
/// let discover = EurekaDiscover::new(rx, Target::app("orders"), |i: &InstanceInfo| {
///     i.host_name.clone()
/// });
/// // `Balance::new(PeakEwmaDiscover::new(discover, ...))` consumes it.
/// # drop(discover);
/// # }
/// ```
pub struct EurekaDiscover<M: MakeEndpoint> {
    target: Target,
    zones: ZoneAffinity,
    /// Remote regions whose instances are used besides the local ones (C-71).
    regions: Vec<String>,
    make: M,
    snapshots: Snapshots,
    watch: Watch,
    /// What the consumer has been told: id -> the instance the endpoint was made from.
    emitted: HashMap<Arc<str>, Arc<InstanceInfo>>,
    /// The diff between `emitted` and the latest snapshot, not yet yielded.
    todo: VecDeque<Step>,
}

/// Which zone's endpoints a [`EurekaDiscover`] (and a
/// [`BalancedClient`](super::BalancedClient)) sends calls to (C-40). An instance's zone is
/// its Amazon `availability-zone`, else its metadata `zone` (C-29, what Spring writes);
/// the caller's own zone is what it configures (Spring's
/// `eureka.instance.metadata-map.zone`).
///
/// ```
/// use tower_eureka::discover::ZoneAffinity;
/// use tower_eureka::model::InstanceInfo;
/// use std::sync::Arc;
///
/// let a = Arc::new(InstanceInfo::builder("orders").instance_id("a").metadata("zone", "z1").build());
/// let b = Arc::new(InstanceInfo::builder("orders").instance_id("b").metadata("zone", "z2").build());
/// let all = [a.clone(), b.clone()];
/// let ids = |z: &ZoneAffinity| -> Vec<String> {
///     z.select(all.iter()).map(|i| i.id().to_owned()).collect()
/// };
/// assert_eq!(ids(&ZoneAffinity::Prefer("z1".into())), ["a"]);
/// // No instance in z3: Prefer spills over to the others, Strict sends nowhere.
/// assert_eq!(ids(&ZoneAffinity::Prefer("z3".into())), ["a", "b"]);
/// assert!(ids(&ZoneAffinity::Strict("z3".into())).is_empty());
/// assert_eq!(ids(&ZoneAffinity::Off), ["a", "b"]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ZoneAffinity {
    /// Every `UP` instance, whatever its zone (default).
    #[default]
    Off,
    /// The `UP` instances of this zone while it has any, otherwise all of them.
    Prefer(String),
    /// Only the `UP` instances of this zone, none when it has none.
    Strict(String),
}

impl ZoneAffinity {
    /// The instances of `candidates` (already the target's `UP` ones) to use.
    pub fn select<'a, I>(&self, candidates: I) -> impl Iterator<Item = &'a Arc<InstanceInfo>> + 'a
    where
        I: Iterator<Item = &'a Arc<InstanceInfo>> + 'a,
    {
        let (zone, strict) = match self {
            ZoneAffinity::Off => (None, false),
            ZoneAffinity::Prefer(z) => (Some(z.clone()), false),
            ZoneAffinity::Strict(z) => (Some(z.clone()), true),
        };
        let all: Vec<&'a Arc<InstanceInfo>> = candidates.collect();
        let chosen: Vec<&'a Arc<InstanceInfo>> = match zone {
            None => all,
            Some(z) => {
                let own: Vec<_> = all
                    .iter()
                    .copied()
                    .filter(|i| i.zone().is_some_and(|iz| iz.eq_ignore_ascii_case(&z)))
                    .collect();
                if own.is_empty() && !strict {
                    all
                } else {
                    own
                }
            }
        };
        chosen.into_iter()
    }
}

enum Watch {
    /// The receiver's current value has not been diffed yet.
    Fresh,
    /// Waiting for the next publication.
    Waiting { changed: Changed },
    /// The client is gone: keep the set, pend forever.
    Closed,
}

enum Step {
    Remove(Arc<str>),
    Insert(Arc<str>, Arc<InstanceInfo>),
}

// No field is ever pinned: the only self-referential part (the `changed` future) is boxed.
impl<M: MakeEndpoint> Unpin for EurekaDiscover<M> {}

impl<M: MakeEndpoint> EurekaDiscover<M> {
    /// Discovers the `UP` instances of `target` in the snapshots `snapshots` receives,
    /// building an endpoint for each with `make`.
    ///
    /// The receiver's current snapshot is diffed on the first poll.
    pub fn new(snapshots: watch::Receiver<Arc<ClientSnapshot>>, target: Target, make: M) -> Self {
        EurekaDiscover {
            target,
            zones: ZoneAffinity::Off,
            regions: Vec::new(),
            make,
            snapshots,
            watch: Watch::Fresh,
            emitted: HashMap::new(),
            todo: VecDeque::new(),
        }
    }

    /// Which zone's instances to prefer (default [`ZoneAffinity::Off`]: every `UP`
    /// instance of the target). See [`ZoneAffinity`].
    pub fn zone_affinity(mut self, zones: ZoneAffinity) -> Self {
        self.zones = zones;
        self
    }

    /// Also use the instances of these remote regions (default none: local instances only).
    /// Remote instances are there only when the client fetches those regions
    /// ([`fetch_remote_regions_registry`](crate::client::EurekaClientBuilder::fetch_remote_regions_registry))
    /// and knows their zones; see [`ClientSnapshot::region_of`].
    ///
    /// Local by default because a remote region is another failure domain, further away:
    /// Java keeps remote instances apart too (`getApplicationsForARegion`), and a caller
    /// who fetched regions for failover or inventory should not start sending traffic
    /// across regions by surprise.
    pub fn include_regions<I, S>(mut self, regions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.regions = regions
            .into_iter()
            .map(|r| r.as_ref().trim().to_ascii_lowercase())
            .collect();
        self
    }

    /// The target this stream discovers.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The ids of the instances currently inserted (as of the changes yielded so far).
    pub fn endpoint_ids(&self) -> impl Iterator<Item = &str> {
        self.emitted.keys().map(|k| &**k)
    }

    /// Replaces the pending diff with the diff between what was emitted and `snap`.
    fn diff(&mut self, snap: &ClientSnapshot) {
        self.todo.clear();
        let mut desired: HashMap<&str, &Arc<InstanceInfo>> = HashMap::new();
        let wanted = |i: &&Arc<InstanceInfo>| {
            snap.region_of(i)
                .map_or(true, |r| self.regions.iter().any(|w| w == r))
        };
        for inst in self
            .zones
            .select(snap.up_instances(&self.target).filter(wanted))
        {
            desired.insert(inst.id(), inst);
        }
        let mut inserts = Vec::new();
        for (id, old) in &self.emitted {
            match desired.remove(&**id) {
                Some(new) if same_address(old, new) => {}
                Some(new) => {
                    self.todo.push_back(Step::Remove(id.clone()));
                    inserts.push(Step::Insert(id.clone(), new.clone()));
                }
                None if snap.is_fetched() => self.todo.push_back(Step::Remove(id.clone())),
                None => {}
            }
        }
        for (id, new) in desired {
            inserts.push(Step::Insert(Arc::from(id), new.clone()));
        }
        self.todo.extend(inserts);
        tracing::trace!(
            target = ?self.target,
            generation = snap.generation(),
            changes = self.todo.len(),
            "diffed snapshot"
        );
    }

    /// Learns of new snapshots; makes sure the task is woken by the next one.
    ///
    /// Taken on every balancer `poll_ready`: an atomic version check, then a poll of the
    /// `changed` future (which re-registers the task's waker). That poll is not skipped
    /// when the waker looks the same as last time: a `Pending` from `changed()` does not
    /// always mean "registered" (tokio's cooperative budget answers `Pending` without
    /// registering), and the skip lost wake-ups: with 1000 watchers, a change reached the
    /// stream only when something else woke its task, up to 30 s later.
    fn poll_watch(&mut self, cx: &mut Context<'_>) {
        loop {
            match &mut self.watch {
                Watch::Closed => return,
                Watch::Fresh => {
                    let snap = self.snapshots.borrow_and_update().clone();
                    self.diff(&snap);
                    // A clone has seen what the original has seen.
                    let mut rx = self.snapshots.clone();
                    self.watch = Watch::Waiting {
                        changed: Box::pin(async move {
                            let _ = rx.changed().await;
                        }),
                    };
                }
                Watch::Waiting { changed } => {
                    match self.snapshots.has_changed() {
                        Ok(true) => {
                            self.watch = Watch::Fresh;
                            continue;
                        }
                        Ok(false) => {}
                        Err(_) => {
                            // The publisher is gone (its last value may be unseen: a
                            // repeated diff of the same snapshot is harmless). Keep the
                            // set and pend forever.
                            tracing::debug!(target = ?self.target, "snapshot publisher gone; keeping the last endpoint set");
                            let snap = self.snapshots.borrow_and_update().clone();
                            self.diff(&snap);
                            self.watch = Watch::Closed;
                            return;
                        }
                    }
                    match changed.as_mut().poll(cx) {
                        Poll::Ready(()) => self.watch = Watch::Fresh,
                        Poll::Pending => return,
                    }
                }
            }
        }
    }
}

/// Whether two records of one instance would be called at the same address.
fn same_address(a: &InstanceInfo, b: &InstanceInfo) -> bool {
    a.ip_addr == b.ip_addr
        && a.host_name == b.host_name
        && a.port == b.port
        && a.secure_port == b.secure_port
}

impl<M: MakeEndpoint> Stream for EurekaDiscover<M> {
    type Item = Result<Change<Arc<str>, M::Endpoint>, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.poll_watch(cx);
        while let Some(step) = this.todo.pop_front() {
            match step {
                Step::Remove(id) => {
                    this.emitted.remove(&id);
                    return Poll::Ready(Some(Ok(Change::Remove(id))));
                }
                Step::Insert(id, inst) => match this.make.make_endpoint(&inst) {
                    Some(endpoint) => {
                        this.emitted.insert(id.clone(), inst);
                        return Poll::Ready(Some(Ok(Change::Insert(id, endpoint))));
                    }
                    None => continue,
                },
            }
        }
        // Never `Ready(None)`: a balancer polls its discover again after it ends.
        Poll::Pending
    }
}

impl<M: MakeEndpoint> fmt::Debug for EurekaDiscover<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EurekaDiscover")
            .field("target", &self.target)
            .field("endpoints", &self.emitted.len())
            .field("pending_changes", &self.todo.len())
            .field("closed", &matches!(self.watch, Watch::Closed))
            .finish()
    }
}
