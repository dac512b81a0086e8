//! Encoded payloads, built lazily once per registry snapshot and served as shared bytes.
//!
//! Every `GET` of a registry entity (`/apps`, `/apps/delta`, `/apps/{app}`, `/vips/..`,
//! `/svips/..`) is answered from here. A generation holds the payloads of one snapshot
//! (keyed by its revision and delta version); the first request for a variant encodes it,
//! every later request clones the `Bytes`. A newer snapshot starts a new generation, so a
//! payload is encoded at most once per change and variant.
//!
//! Hits, misses (each miss is one encode) and encode times are counted for `/metrics`.

use super::metrics::{Histogram, ENCODE_BOUNDS};
use super::regions::Selection;
use crate::codec::{self, Accept, Format};
use crate::model::{InstanceInfo, StatusCounts};
use crate::registry::RegistrySnapshot;
use crate::sync::lock;
use arc_swap::ArcSwap;
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// Which registry entity a payload encodes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Entity {
    Apps,
    Delta,
    App(String),
    Vip(String),
    SecureVip(String),
}

/// One cached variant: entity, format, full/compact, gzip and the remote regions merged in
/// (R-91; regions only for `Apps` and `Delta`, empty for every other entity).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Key {
    pub(super) entity: Entity,
    pub(super) format: Format,
    pub(super) compact: bool,
    pub(super) gzip: bool,
    /// The remote copies merged in, at their versions.
    pub(super) regions: Selection,
}

type Slot = Arc<OnceLock<Option<Bytes>>>;

#[derive(Debug)]
struct Generation {
    revision: u64,
    delta_version: u64,
    slots: Mutex<HashMap<Key, Slot>>,
}

impl Generation {
    fn new(snap: &RegistrySnapshot) -> Self {
        Generation {
            revision: snap.revision(),
            delta_version: snap.delta_version(),
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn matches(&self, snap: &RegistrySnapshot) -> bool {
        self.revision == snap.revision() && self.delta_version == snap.delta_version()
    }

    /// The payload for `key` if it was built already.
    fn peek(&self, key: &Key) -> Option<Option<Bytes>> {
        let slots = lock(&self.slots);
        slots.get(key).and_then(|slot| slot.get().cloned())
    }

    fn slot(&self, key: &Key) -> Slot {
        let mut slots = lock(&self.slots);
        if !key.regions.is_empty() && !slots.contains_key(key) {
            // A remote copy changed: the payloads merging its older version are dead.
            slots.retain(|k, _| !k.regions.same_regions(&key.regions) || k.regions == key.regions);
        }
        slots.entry(key.clone()).or_default().clone()
    }
}

/// The payload cache of one server.
#[derive(Debug)]
pub(super) struct PayloadCache {
    current: ArcSwap<Generation>,
    hits: AtomicU64,
    misses: AtomicU64,
    encode: Histogram,
}

impl PayloadCache {
    /// An empty cache, its first generation for `snap`.
    pub(super) fn new(snap: &RegistrySnapshot) -> Self {
        PayloadCache {
            current: ArcSwap::from_pointee(Generation::new(snap)),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            encode: Histogram::new(ENCODE_BOUNDS),
        }
    }

    fn generation(&self, snap: &RegistrySnapshot) -> Option<Arc<Generation>> {
        let cur = self.current.load_full();
        if cur.matches(snap) {
            return Some(cur);
        }
        if (cur.revision, cur.delta_version) > (snap.revision(), snap.delta_version()) {
            // The caller holds an older snapshot than the cache: serve it uncached.
            return None;
        }
        let fresh = Arc::new(Generation::new(snap));
        let prev = self.current.compare_and_swap(&cur, fresh.clone());
        if Arc::ptr_eq(&prev, &cur) {
            Some(fresh)
        } else if prev.matches(snap) {
            Some(Arc::clone(&prev))
        } else {
            None
        }
    }

    /// The payload for `key` in `snap`; `None` when the entity does not exist (404).
    pub(super) fn get(&self, snap: &RegistrySnapshot, key: &Key) -> Option<Bytes> {
        match self.generation(snap) {
            Some(gen) => {
                let mut built = false;
                let bytes = gen
                    .slot(key)
                    .get_or_init(|| {
                        built = true;
                        self.build_timed(snap, key, Some(&gen))
                    })
                    .clone();
                if !built {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                }
                bytes
            }
            None => self.build_timed(snap, key, None),
        }
    }

    /// Requests answered from an encoded payload, and requests that encoded one.
    pub(super) fn hits_and_misses(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// The time each miss took to encode (and compress).
    pub(super) fn encode_times(&self) -> &Histogram {
        &self.encode
    }

    fn build_timed(
        &self,
        snap: &RegistrySnapshot,
        key: &Key,
        gen: Option<&Generation>,
    ) -> Option<Bytes> {
        let start = Instant::now();
        let bytes = self.build(snap, key, gen);
        self.encode.observe(start.elapsed());
        self.misses.fetch_add(1, Ordering::Relaxed);
        bytes
    }

    fn build(&self, snap: &RegistrySnapshot, key: &Key, gen: Option<&Generation>) -> Option<Bytes> {
        if key.gzip {
            let plain_key = Key {
                gzip: false,
                ..key.clone()
            };
            // Reuse the plain bytes when someone asked for them already; otherwise encode
            // into a temporary and keep only the compressed bytes (Java and Spring clients
            // always ask for gzip: a typical registry holds ~1/15 of the plain size).
            let cached_plain = gen.and_then(|g| g.peek(&plain_key));
            let plain = match cached_plain {
                Some(p) => p,
                None => encode(snap, &plain_key),
            }?;
            return Some(gzip(&plain));
        }
        encode(snap, key)
    }
}

fn accept(compact: bool) -> Accept {
    if compact {
        Accept::Compact
    } else {
        Accept::Full
    }
}

/// Encodes one plain (uncompressed) variant from the snapshot.
fn encode(snap: &RegistrySnapshot, key: &Key) -> Option<Bytes> {
    let mut out = Vec::new();
    let acc = accept(key.compact);
    if !key.regions.is_empty() {
        if let Entity::App(name) = &key.entity {
            let list = key.regions.app(name)?;
            codec::encode_application_from(name, list, key.format, acc, &mut out);
            return Some(Bytes::from(out));
        }
        return Some(encode_merged(snap, key, acc, out));
    }
    match &key.entity {
        Entity::Apps => {
            out.reserve(snap.len() * 1100 + 128);
            codec::encode_applications_from(
                1,
                snap.hashcode(),
                snap.apps().map(|(n, l)| (n, l.iter().map(|i| &**i))),
                key.format,
                acc,
                &mut out,
            );
        }
        Entity::Delta => {
            codec::encode_applications_from(
                i64::try_from(snap.delta_version()).unwrap_or(i64::MAX),
                snap.hashcode(),
                snap.delta().map(|(n, l)| (n, l.iter().map(|i| &**i))),
                key.format,
                acc,
                &mut out,
            );
        }
        Entity::App(name) => {
            let list = snap.app(name)?;
            if list.is_empty() {
                return None;
            }
            codec::encode_application_from(
                name,
                list.iter().map(|i| &**i),
                key.format,
                acc,
                &mut out,
            );
        }
        Entity::Vip(v) | Entity::SecureVip(v) => {
            let list = if matches!(key.entity, Entity::Vip(_)) {
                snap.vip(v)
            } else {
                snap.svip(v)
            };
            if list.is_empty() {
                return None; // E-21: unknown VIP answers 404 (documented contract).
            }
            let mut by_app: BTreeMap<&str, Vec<&InstanceInfo>> = BTreeMap::new();
            let mut counts = StatusCounts::new();
            for i in &list {
                counts.add(i.status);
                by_app.entry(i.app.as_str()).or_default().push(i);
            }
            codec::encode_applications_from(
                -1,
                &counts.hashcode(),
                by_app,
                key.format,
                acc,
                &mut out,
            );
        }
    }
    Some(Bytes::from(out))
}

/// Encodes `/apps` or `/apps/delta` with the selected remote regions merged in:
/// instances of an application present in several regions are one application, and
/// `apps__hashcode` counts the merged full registry (W-63, R-83). Runs once per change of
/// any input (the local snapshot or a selected copy), on a cache miss.
fn encode_merged(snap: &RegistrySnapshot, key: &Key, acc: Accept, mut out: Vec<u8>) -> Bytes {
    let mut full: BTreeMap<&str, Vec<&InstanceInfo>> = BTreeMap::new();
    for (name, list) in snap.apps() {
        full.entry(name)
            .or_default()
            .extend(list.iter().map(|i| &**i));
    }
    for (name, list) in key.regions.apps() {
        full.entry(name).or_default().extend(list);
    }
    let counts: StatusCounts = full.values().flatten().map(|i| i.status).collect();
    let hash = counts.hashcode();
    if matches!(key.entity, Entity::Delta) {
        let mut delta: BTreeMap<&str, Vec<&InstanceInfo>> = BTreeMap::new();
        for (name, list) in snap.delta() {
            delta
                .entry(name)
                .or_default()
                .extend(list.iter().map(|i| &**i));
        }
        for i in key.regions.delta() {
            delta.entry(i.app.as_str()).or_default().push(i);
        }
        let version = snap
            .delta_version()
            .saturating_add(key.regions.version_sum());
        codec::encode_applications_from(
            i64::try_from(version).unwrap_or(i64::MAX),
            &hash,
            delta,
            key.format,
            acc,
            &mut out,
        );
    } else {
        out.reserve(full.values().map(Vec::len).sum::<usize>() * 1100 + 128);
        codec::encode_applications_from(1, &hash, full, key.format, acc, &mut out);
    }
    Bytes::from(out)
}

/// Gzip with the fast level: these payloads are compressed once per change, but a busy
/// registry changes often and the level-6 gain is a few percent.
fn gzip(plain: &[u8]) -> Bytes {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(plain.len() / 8 + 64),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(plain);
    Bytes::from(enc.finish().unwrap_or_default())
}
