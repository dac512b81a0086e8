//! Remote regions (R-130): the copies of other regions' registries this server merges into
//! `GET /apps?regions=..` and `GET /apps/delta?regions=..`.
//!
//! [`RemoteRegions`] holds, per configured region, the last good copy of that region's
//! registry and the delta of its last delta fetch, each published whole through an
//! `arc-swap` (readers never see a half-applied delta). The fetcher that fills it lives in
//! the cluster layer ([`crate::cluster::spawn_remote_regions`]); this side only stores and
//! reads. Remote data is never registered locally and never replicated to peers.
//!
//! A request's `regions` value is lower-cased, split on `,`, trimmed and sorted; names that
//! are not configured are ignored, as Java does, so `?regions=nowhere` is answered like a
//! request without regions, byte for byte. While any configured region has not completed
//! its first fetch, requests with a non-empty `regions` answer 403 (E-16, Java's
//! `shouldAllowAccess(true)`).
//!
//! ```
//! use tower_eureka::server::{RemoteRegions, ServerConfig};
//!
//! let regions = RemoteRegions::new([("us-west", "http://10.0.0.5:8761/eureka")]);
//! let config = ServerConfig { remote_regions: regions.clone(), ..ServerConfig::default() };
//! assert_eq!(regions.names().collect::<Vec<_>>(), ["us-west"]);
//! assert!(!regions.status()[0].ready); // no fetch yet
//! # let _ = config;
//! ```

use crate::model::{
    normalize_app_name, same_record, walk_delta, Applications, DeltaTarget, InstanceInfo,
    StatusCounts,
};
use arc_swap::ArcSwap;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Application name -> instance id -> record.
type Apps = BTreeMap<String, BTreeMap<String, Arc<InstanceInfo>>>;

/// The remote regions a server is configured with, and its copy of each (R-130).
///
/// Cheap to clone (clones share the copies). The default has no regions: every `regions`
/// parameter is then ignored (R-131).
#[derive(Clone)]
pub struct RemoteRegions {
    regions: Arc<[Region]>,
    /// `GET /apps/{app}` of an app absent locally answers from the first region holding it.
    fallback: bool,
}

impl Default for RemoteRegions {
    fn default() -> Self {
        RemoteRegions {
            regions: Arc::from(Vec::new()),
            fallback: true,
        }
    }
}

struct Region {
    /// Lower-cased.
    name: String,
    /// The region's Eureka base URL, e.g. `http://host:8761/eureka` (no trailing slash).
    url: String,
    /// Upper-cased application names requests take from this region; `None`: all.
    own_allow: Option<Arc<BTreeSet<String>>>,
    /// The list for regions without their own.
    global_allow: Option<Arc<BTreeSet<String>>>,
    copy: ArcSwap<RegionCopy>,
    failures: AtomicU64,
    /// Full fetches installed, deltas applied.
    fulls: AtomicU64,
    deltas: AtomicU64,
}

/// One region's copy as of one fetch: what requests merge.
#[derive(Debug, Default)]
pub(crate) struct RegionCopy {
    /// Bumped whenever the copy or its delta records change; 0 until the first fetch
    /// succeeded.
    pub(crate) version: u64,
    /// Bumped whenever the copy's applications change (what `/apps` merges).
    pub(crate) apps_version: u64,
    pub(crate) apps: Apps,
    /// The records of the region's last delta answer (empty after a full fetch).
    pub(crate) delta: Vec<Arc<InstanceInfo>>,
    /// When the copy was last confirmed by a fetch (epoch ms).
    pub(crate) fetched_at_ms: u64,
    pub(crate) instances: usize,
}

/// What `/status` and operators see of one remote region.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegionStatus {
    /// The region's name (lower-case).
    pub name: String,
    /// Its Eureka base URL.
    pub url: String,
    /// Whether its first fetch succeeded (requests with `regions` get 403 until all are).
    pub ready: bool,
    /// Instances in the copy.
    pub instances: usize,
    /// When a fetch last succeeded (epoch ms), 0 for never.
    pub last_fetch_ms: u64,
    /// Fetches that failed since the last one that succeeded.
    pub failures: u64,
    /// Full fetches installed so far (the first, and each fallback after a delta that did
    /// not reconcile).
    pub full_fetches: u64,
    /// Deltas applied so far.
    pub delta_fetches: u64,
}

impl fmt::Debug for RemoteRegions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.status()).finish()
    }
}

impl RemoteRegions {
    /// Regions by `(name, base URL)`; names are lower-cased, a trailing `/` of a URL is
    /// dropped, a repeated name keeps its first URL.
    pub fn new<N, U>(regions: impl IntoIterator<Item = (N, U)>) -> Self
    where
        N: AsRef<str>,
        U: AsRef<str>,
    {
        let mut out: Vec<Region> = Vec::new();
        for (name, url) in regions {
            let name = name.as_ref().trim().to_ascii_lowercase();
            if name.is_empty() || out.iter().any(|r| r.name == name) {
                continue;
            }
            out.push(Region {
                name,
                url: url.as_ref().trim().trim_end_matches('/').to_owned(),
                own_allow: None,
                global_allow: None,
                copy: ArcSwap::from_pointee(RegionCopy::default()),
                failures: AtomicU64::new(0),
                fulls: AtomicU64::new(0),
                deltas: AtomicU64::new(0),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        RemoteRegions {
            regions: out.into(),
            fallback: true,
        }
    }

    /// Limits which applications are taken from remote region `region`, or with `None`
    /// from every region without a list of its own
    /// (`eureka.server.remote-region-app-whitelist`, Java's `remoteRegionAppWhitelist`).
    /// Names compare case-insensitively. Copies are stored whole (their reconcile hash is
    /// the remote server's); the list filters what requests merge.
    pub fn with_app_allow_list<A: AsRef<str>>(
        self,
        region: Option<&str>,
        apps: impl IntoIterator<Item = A>,
    ) -> Self {
        let set: Arc<BTreeSet<String>> = Arc::new(
            apps.into_iter()
                .map(|a| normalize_app_name(a.as_ref()))
                .collect(),
        );
        let region = region.map(|r| r.trim().to_ascii_lowercase());
        let regions = self
            .regions
            .iter()
            .map(|r| {
                let (mut own, mut global) = (r.own_allow.clone(), r.global_allow.clone());
                match &region {
                    Some(n) if *n == r.name => own = Some(set.clone()),
                    Some(_) => {}
                    None => global = Some(set.clone()),
                }
                Region {
                    name: r.name.clone(),
                    url: r.url.clone(),
                    own_allow: own,
                    global_allow: global,
                    copy: ArcSwap::new(r.copy.load_full()),
                    failures: AtomicU64::new(r.failures.load(Ordering::Relaxed)),
                    fulls: AtomicU64::new(r.fulls.load(Ordering::Relaxed)),
                    deltas: AtomicU64::new(r.deltas.load(Ordering::Relaxed)),
                }
            })
            .collect::<Vec<_>>();
        RemoteRegions {
            regions: regions.into(),
            fallback: self.fallback,
        }
    }

    /// Whether `GET /apps/{app}` of an application this server does not hold answers
    /// with the first remote region (by name) that holds it, as Java does unless
    /// `eureka.server.disable-transparent-fallback-to-other-region` is set (default true).
    pub fn with_transparent_fallback(mut self, on: bool) -> Self {
        self.fallback = on;
        self
    }

    /// Whether [`with_transparent_fallback`](Self::with_transparent_fallback) is on.
    pub fn transparent_fallback(&self) -> bool {
        self.fallback
    }

    /// Whether no region is configured.
    pub fn is_empty(&self) -> bool {
        self.regions.is_empty()
    }

    /// The configured region names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.regions.iter().map(|r| r.name.as_str())
    }

    /// `(name, base URL)` of every region, sorted by name.
    pub fn urls(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.regions
            .iter()
            .map(|r| (r.name.as_str(), r.url.as_str()))
    }

    /// Each region's state: ready, instance count, last fetch, failures.
    pub fn status(&self) -> Vec<RegionStatus> {
        self.regions
            .iter()
            .map(|r| {
                let c = r.copy.load();
                RegionStatus {
                    name: r.name.clone(),
                    url: r.url.clone(),
                    ready: c.version > 0,
                    instances: c.instances,
                    last_fetch_ms: c.fetched_at_ms,
                    failures: r.failures.load(Ordering::Relaxed),
                    full_fetches: r.fulls.load(Ordering::Relaxed),
                    delta_fetches: r.deltas.load(Ordering::Relaxed),
                }
            })
            .collect()
    }

    /// Whether every configured region has completed its first fetch.
    pub fn ready(&self) -> bool {
        self.regions.iter().all(|r| r.copy.load().version > 0)
    }

    fn region(&self, name: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.name == name)
    }

    // --- the fetcher's side ---

    /// Replaces region `name`'s copy with a full fetch's answer.
    pub(crate) fn install_full(&self, name: &str, apps: &Applications, now_ms: u64) {
        let Some(r) = self.region(name) else { return };
        let mut copy = Apps::new();
        for app in &apps.applications {
            for inst in &app.instances {
                let key = normalize_app_name(if inst.app.is_empty() {
                    &app.name
                } else {
                    &inst.app
                });
                copy.entry(key)
                    .or_default()
                    .insert(inst.id().to_owned(), Arc::new(inst.clone()));
            }
        }
        r.store(copy, Vec::new(), now_ms);
        r.fulls.fetch_add(1, Ordering::Relaxed);
    }

    /// Applies a delta answer to region `name`'s copy (C-21) and returns the reconcile hash
    /// of the result (C-22), which the caller compares with the delta's `apps__hashcode`.
    /// `None`: the region has no copy yet (fetch in full first).
    pub(crate) fn apply_delta(
        &self,
        name: &str,
        delta: &Applications,
        now_ms: u64,
    ) -> Option<String> {
        let r = self.region(name)?;
        let cur = r.copy.load_full();
        if cur.version == 0 {
            return None;
        }
        let mut next = Merge {
            apps: cur.apps.clone(),
        };
        walk_delta(delta, &mut next);
        next.apps.retain(|_, l| !l.is_empty());
        let records = delta
            .applications
            .iter()
            .flat_map(|a| a.instances.iter())
            .filter(|i| i.action_type.is_some())
            .map(|i| Arc::new(i.clone()))
            .collect();
        let hash = hash_of(&next.apps);
        r.store(next.apps, records, now_ms);
        r.deltas.fetch_add(1, Ordering::Relaxed);
        Some(hash)
    }

    /// Counts a failed fetch of region `name`; its copy stays as it was.
    pub(crate) fn record_failure(&self, name: &str) {
        if let Some(r) = self.region(name) {
            r.failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    // --- the request side ---

    /// The regions a request's `regions` value selects, with their current copies: its
    /// names lower-cased, trimmed, sorted, unknown ones dropped. Empty for none. `delta`:
    /// for a delta payload, which also changes with the regions' delta records.
    pub(super) fn select(&self, value: Option<&str>, delta: bool) -> Selection {
        let mut picked: Vec<usize> = value
            .unwrap_or("")
            .split(',')
            .filter_map(|n| {
                let n = n.trim().to_ascii_lowercase();
                self.regions.iter().position(|r| r.name == n)
            })
            .collect();
        picked.sort_unstable();
        picked.dedup();
        self.picked(picked, delta)
    }

    /// Every configured region (the transparent fallback looks in all of them).
    pub(super) fn select_all(&self, delta: bool) -> Selection {
        self.picked((0..self.regions.len()).collect(), delta)
    }

    /// The regions at `picked` (sorted, distinct), with their current copies.
    fn picked(&self, picked: Vec<usize>, delta: bool) -> Selection {
        Selection(
            picked
                .into_iter()
                .filter_map(|i| Some((i, self.regions.get(i)?.copy.load_full())))
                .map(|(i, copy)| Picked {
                    index: i,
                    stamp: if delta {
                        copy.version
                    } else {
                        copy.apps_version
                    },
                    allow: self
                        .regions
                        .get(i)
                        .and_then(|r| r.own_allow.clone().or_else(|| r.global_allow.clone())),
                    copy,
                })
                .collect(),
        )
    }
}

impl Region {
    /// Publishes a new copy. Its version moves only when its content does (renewal
    /// timestamps aside), so that a quiet region does not make the merged payloads be
    /// encoded again after every fetch.
    fn store(&self, apps: Apps, delta: Vec<Arc<InstanceInfo>>, now_ms: u64) {
        let prev = self.copy.load();
        let first = prev.version == 0;
        let apps_same = !first && same_apps(&prev.apps, &apps);
        let delta_same = !first && same_list(&prev.delta, &delta);
        // What did not change is kept as it was served (renewal timestamps included).
        let (apps, instances) = if apps_same {
            (prev.apps.clone(), prev.instances)
        } else {
            let n = apps.values().map(BTreeMap::len).sum();
            (apps, n)
        };
        let next = RegionCopy {
            version: prev.version + u64::from(!(apps_same && delta_same)),
            apps_version: prev.apps_version + u64::from(!apps_same),
            apps,
            delta: if delta_same {
                prev.delta.clone()
            } else {
                delta
            },
            fetched_at_ms: now_ms,
            instances,
        };
        self.copy.store(Arc::new(next));
        self.failures.store(0, Ordering::Relaxed);
    }
}

struct Merge {
    apps: Apps,
}

impl DeltaTarget for Merge {
    fn upsert(&mut self, app: String, instance: &InstanceInfo) {
        // Kept as delivered, action type included, as Java's copy keeps it.
        self.apps
            .entry(app)
            .or_default()
            .insert(instance.id().to_owned(), Arc::new(instance.clone()));
    }

    fn delete(&mut self, app: &str, id: &str) {
        if let Some(list) = self.apps.get_mut(app) {
            list.remove(id);
        }
    }
}

fn same_list(a: &[Arc<InstanceInfo>], b: &[Arc<InstanceInfo>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_record(x, y))
}

fn same_apps(a: &Apps, b: &Apps) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|((na, la), (nb, lb))| {
            na == nb
                && la.len() == lb.len()
                && la
                    .iter()
                    .zip(lb)
                    .all(|((ia, ra), (ib, rb))| ia == ib && same_record(ra, rb))
        })
}

fn hash_of(apps: &Apps) -> String {
    let mut counts = StatusCounts::new();
    for i in apps.values().flat_map(BTreeMap::values) {
        counts.add(i.status);
    }
    counts.hashcode()
}

// === Selection ===

/// The remote copies one request merges, as loaded when it arrived. Part of the payload
/// cache key: two selections are equal when they name the same regions at the same copy
/// versions, so a merged payload is encoded once per change of any of its inputs.
#[derive(Clone, Default)]
pub(super) struct Selection(Vec<Picked>);

#[derive(Clone)]
struct Picked {
    index: usize,
    /// The copy's version that the payload depends on (the cache key).
    stamp: u64,
    /// The region's application allow-list, applied as the copy is read.
    allow: Option<Arc<BTreeSet<String>>>,
    copy: Arc<RegionCopy>,
}

impl Selection {
    /// No remote region: the plain payload.
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether this selects the same regions as `other` (at any versions).
    pub(super) fn same_regions(&self, other: &Selection) -> bool {
        self.0.len() == other.0.len()
            && self.0.iter().zip(&other.0).all(|(a, b)| a.index == b.index)
    }

    /// Sum of the selected copies' versions: added to `versions__delta` so that it grows
    /// whenever a remote copy changes (R-84).
    pub(super) fn version_sum(&self) -> u64 {
        self.0.iter().map(|p| p.copy.version).sum()
    }

    /// Every selected region's applications (app name, its records), region by region.
    pub(super) fn apps(&self) -> impl Iterator<Item = (&str, impl Iterator<Item = &InstanceInfo>)> {
        self.0.iter().flat_map(|p| {
            p.copy
                .apps
                .iter()
                .filter(|(n, _)| allowed(p.allow.as_deref(), n))
                .map(|(n, l)| (n.as_str(), l.values().map(|i| &**i)))
        })
    }

    /// The first selected region's instances of application `name`, if one holds any
    /// (the transparent fallback of `GET /apps/{app}`).
    pub(super) fn app(&self, name: &str) -> Option<Vec<&InstanceInfo>> {
        self.0.iter().find_map(|p| {
            let list = p
                .copy
                .apps
                .get(name)
                .filter(|_| allowed(p.allow.as_deref(), name))?;
            (!list.is_empty()).then(|| list.values().map(|i| &**i).collect())
        })
    }

    /// Every selected region's last delta records.
    pub(super) fn delta(&self) -> impl Iterator<Item = &InstanceInfo> {
        self.0.iter().flat_map(|p| {
            p.copy
                .delta
                .iter()
                .filter(|i| allowed(p.allow.as_deref(), &normalize_app_name(&i.app)))
                .map(|i| &**i)
        })
    }
}

fn allowed(allow: Option<&BTreeSet<String>>, app: &str) -> bool {
    allow.map_or(true, |a| a.contains(app))
}

impl fmt::Debug for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|p| (p.index, p.stamp, p.allow.is_some())))
            .finish()
    }
}

impl PartialEq for Selection {
    fn eq(&self, other: &Self) -> bool {
        self.same_regions(other) && self.0.iter().zip(&other.0).all(|(a, b)| a.stamp == b.stamp)
    }
}

impl Eq for Selection {}

impl Hash for Selection {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for p in &self.0 {
            p.index.hash(state);
            p.stamp.hash(state);
        }
    }
}
