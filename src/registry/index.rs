//! Where the leases live: apps → (id → lease), the sorted app names, the id → apps index
//! (E-20), the per-status counts behind the hash (W-60), and each app's changes since the
//! last publication, from which the publication patches the app's copy-on-write instance
//! list outside the lock (R-03, R-92; see `publish`).

use super::lease::{Key, Lease};
use super::publish::{compact_if_due, AppUpdate, Change};
use super::sharded::Sharded;
use super::Map;
use crate::model::{InstanceInfo, StatusCounts};
use std::collections::hash_map::Entry;
use std::sync::Arc;

/// The apps holding one id, sorted (E-20). Nearly every id lives in one app: that case
/// keeps the name inline instead of in a vector of its own (one allocation less per
/// instance, 80 bytes of heap).
#[derive(Debug)]
enum AppsOf {
    One(Arc<str>),
    /// Two or more, sorted.
    Many(Vec<Arc<str>>),
}

impl AppsOf {
    fn as_slice(&self) -> &[Arc<str>] {
        match self {
            AppsOf::One(a) => std::slice::from_ref(a),
            AppsOf::Many(v) => v,
        }
    }

    /// Adds `app`, keeping the order (no-op if present).
    fn add(&mut self, app: Arc<str>) {
        match self {
            AppsOf::One(a) if *a == app => {}
            AppsOf::One(a) => {
                let mut v = vec![a.clone(), app];
                v.sort_unstable();
                *self = AppsOf::Many(v);
            }
            AppsOf::Many(v) => {
                if let Err(pos) = v.binary_search(&app) {
                    v.insert(pos, app);
                }
            }
        }
    }

    /// Removes `app`; true when none is left.
    fn remove(&mut self, app: &Arc<str>) -> bool {
        match self {
            AppsOf::One(a) => a == app,
            AppsOf::Many(v) => {
                v.retain(|a| a != app);
                match v.len() {
                    0 => true,
                    1 => {
                        let last = v.remove(0);
                        *self = AppsOf::One(last);
                        false
                    }
                    _ => false,
                }
            }
        }
    }
}

/// One application's leases and what changed in them since the last publication.
#[derive(Debug)]
struct AppLeases {
    leases: Map<Arc<str>, Lease>,
    /// Changes since the last publication, in order: each id's record as it was right after
    /// the change (`None`: removed). The publication patches the published list with them.
    changes: Vec<Change<Option<Arc<InstanceInfo>>>>,
    /// When `changes` is compacted next (see `publish::compact_if_due`).
    compact_at: usize,
    /// Created since the last publication: its list starts empty, whatever the published
    /// snapshot holds under its name (an app removed and registered again).
    fresh: bool,
    /// The content revision of the app's last change: what a watch of this one app
    /// compares (issue 15); the counts beside it are taken from the built list.
    version: u64,
}

impl Default for AppLeases {
    fn default() -> Self {
        AppLeases {
            leases: Map::default(),
            changes: Vec::new(),
            compact_at: 0,
            fresh: true,
            version: 0,
        }
    }
}

impl AppLeases {
    fn changed(&mut self, seq: u64, id: &Arc<str>) {
        let record = self.leases.get(id).map(|l| l.record.clone());
        self.changes.push((seq, id.clone(), record));
        compact_if_due(&mut self.changes, &mut self.compact_at, self.leases.len());
    }

    /// Hands over the changes since the last publication (O(1)).
    fn take(&mut self) -> AppUpdate {
        if self.changes.is_empty() && !self.fresh {
            return AppUpdate::Same;
        }
        self.compact_at = 0;
        AppUpdate::Changed {
            fresh: std::mem::replace(&mut self.fresh, false),
            changes: std::mem::take(&mut self.changes),
        }
    }
}

/// Every lease, indexed by app and by id, with the counts kept as leases come and go.
#[derive(Debug, Default)]
pub(crate) struct Index {
    apps: Map<Arc<str>, AppLeases>,
    /// App names, sorted (only changes when an app appears or disappears).
    names: Vec<Arc<str>>,
    /// id → apps holding it, sorted (E-20).
    /// Sharded: one entry per instance of the registry (see `sharded`).
    ids: Sharded<Arc<str>, AppsOf>,
    len: usize,
    counts: StatusCounts,
    next_uid: u64,
}

impl Index {
    pub(crate) fn get(&self, app: &str, id: &str) -> Option<&Lease> {
        self.apps.get(app)?.leases.get(id)
    }

    pub(crate) fn get_mut(&mut self, app: &str, id: &str) -> Option<&mut Lease> {
        self.apps.get_mut(app)?.leases.get_mut(id)
    }

    /// Number of leases.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Number of apps with at least one lease.
    pub(crate) fn app_count(&self) -> usize {
        self.names.len()
    }

    /// Leases per status of their current record.
    pub(crate) fn counts(&self) -> StatusCounts {
        self.counts
    }

    /// The apps holding a lease with id `id`, sorted (E-20).
    pub(crate) fn apps_of(&self, id: &str) -> &[Arc<str>] {
        self.ids.get(id).map_or(&[], AppsOf::as_slice)
    }

    /// A fresh lease uid: a re-registration creates a new lease object.
    pub(crate) fn next_uid(&mut self) -> u64 {
        let uid = self.next_uid;
        self.next_uid += 1;
        uid
    }

    /// Returns the interned `(app, id)` key, creating the app (and its sorted name entry)
    /// if needed. The app stays empty until [`insert`](Self::insert).
    pub(crate) fn intern(&mut self, app: &str, id: &str) -> Key {
        let (app_key, in_app) = match self.apps.get_key_value(app) {
            Some((k, a)) => (
                k.clone(),
                a.leases.get_key_value(id).map(|(i, _)| i.clone()),
            ),
            None => {
                let k: Arc<str> = Arc::from(app);
                self.apps.insert(k.clone(), AppLeases::default());
                if let Err(pos) = self.names.binary_search(&k) {
                    self.names.insert(pos, k.clone());
                }
                (k, None)
            }
        };
        let id_key = match in_app {
            Some(k) => k,
            None => match self.ids.get_key_value(id) {
                Some((k, _)) => k.clone(),
                None => Arc::from(id),
            },
        };
        (app_key, id_key)
    }

    /// Stores `lease` under its key and returns the lease it replaces, keeping the counts
    /// and the id index.
    pub(crate) fn insert(&mut self, lease: Lease) -> Option<Lease> {
        let key = lease.key.clone();
        let status = lease.record.status;
        // The app exists after `intern`: look it up without cloning its name.
        let app = match self.apps.get_mut(&key.0) {
            Some(app) => app,
            None => self.apps.entry(key.0.clone()).or_default(),
        };
        let previous = app.leases.insert(key.1.clone(), lease);
        if let Some(p) = &previous {
            self.counts.remove(p.record.status);
        }
        self.counts.add(status);
        if previous.is_none() {
            self.len += 1;
            match self.ids.entry(key.1) {
                Entry::Occupied(mut o) => o.get_mut().add(key.0),
                Entry::Vacant(v) => {
                    v.insert(AppsOf::One(key.0));
                }
            }
        }
        previous
    }

    /// Removes the lease at `key`, keeping the counts and the id index, and drops its app
    /// if that was the app's last lease (W-13).
    pub(crate) fn remove(&mut self, key: &Key) -> Option<Lease> {
        let app = self.apps.get_mut(&key.0)?;
        let lease = app.leases.remove(&key.1)?;
        if app.leases.is_empty() {
            self.apps.remove(&key.0);
            if let Ok(pos) = self.names.binary_search(&key.0) {
                self.names.remove(pos);
            }
        }
        self.len = self.len.saturating_sub(1);
        self.counts.remove(lease.record.status);
        if let Some(apps) = self.ids.get_mut(&key.1) {
            if apps.remove(&key.0) {
                self.ids.remove(&key.1);
            }
        }
        Some(lease)
    }

    /// Replaces the record of the lease at `key` (a visible change; the caller records
    /// it). Returns whether the lease exists.
    pub(crate) fn replace_record(&mut self, key: &Key, record: Arc<InstanceInfo>) -> bool {
        let Some(lease) = self.get_mut(&key.0, &key.1) else {
            return false;
        };
        let old = std::mem::replace(&mut lease.record, record);
        let new = lease.record.status;
        self.counts.remove(old.status);
        self.counts.add(new);
        true
    }

    /// Notes that `key`'s record changed (the `seq`-th change of the registry, its content
    /// revision): its app's list is patched at the next publication.
    pub(crate) fn mark_dirty(&mut self, key: &Key, seq: u64) {
        if let Some(a) = self.apps.get_mut(&key.0) {
            a.changed(seq, &key.1);
            a.version = seq;
        }
    }

    /// Every app holding a lease, in name order, with what changed in it since the last
    /// call and the content revision of its last change: O(apps), the changes handed
    /// over whole.
    pub(crate) fn take_updates(&mut self) -> Vec<(Arc<str>, AppUpdate, u64)> {
        let mut apps = Vec::with_capacity(self.names.len());
        for name in &self.names {
            if let Some(a) = self.apps.get_mut(name) {
                apps.push((name.clone(), a.take(), a.version));
            }
        }
        apps
    }

    /// Every app with its leases, in no particular order (tests: the full rebuild).
    #[cfg(test)]
    pub(crate) fn apps(&self) -> impl Iterator<Item = (&Arc<str>, impl Iterator<Item = &Lease>)> {
        self.apps.iter().map(|(name, a)| (name, a.leases.values()))
    }
}

#[cfg(test)]
mod tests {
    use super::AppsOf;
    use std::sync::Arc;

    fn names(a: &AppsOf) -> Vec<&str> {
        a.as_slice().iter().map(|s| &**s).collect()
    }

    /// E-20: the apps of one id stay sorted and unique as they come and go, whether the
    /// id is in one app (kept inline) or in several.
    #[test]
    fn e20_apps_of_an_id_stay_sorted_through_add_and_remove() {
        let (a, b, c): (Arc<str>, Arc<str>, Arc<str>) = ("A".into(), "B".into(), "C".into());
        let mut apps = AppsOf::One(c.clone());
        apps.add(c.clone());
        assert_eq!(names(&apps), ["C"]);
        apps.add(a.clone());
        apps.add(b.clone());
        apps.add(a.clone());
        assert_eq!(names(&apps), ["A", "B", "C"]);
        assert!(!apps.remove(&b));
        assert_eq!(names(&apps), ["A", "C"]);
        assert!(!apps.remove(&a));
        assert!(matches!(apps, AppsOf::One(_)));
        assert_eq!(names(&apps), ["C"]);
        // Removing an app the id is not in leaves it.
        assert!(!apps.remove(&a));
        assert!(apps.remove(&c));
    }
}
