//! The versioned change log: every visible change of the registry, kept for the retention
//! window behind `GET /apps/delta` (R-80..R-84), and the revision it gives the registry.

use super::lease::Key;
use super::sharded::Sharded;
use super::Map;
use crate::model::InstanceInfo;
use std::collections::VecDeque;
use std::sync::Arc;

/// One app's delta records, shared between views until the app changes again.
pub(crate) type Records = Arc<[Arc<InstanceInfo>]>;

/// The materialised delta body: one record per changed `(app, id)`, latest state, apps in
/// order of their first entry in the window, instances in order of their last entry.
#[derive(Debug, Default)]
pub(crate) struct DeltaView {
    pub(crate) apps: Vec<(Arc<str>, Records)>,
    pub(crate) len: usize,
}

#[derive(Debug)]
struct Entry {
    at_ms: u64,
    seq: u64,
    key: Key,
}

#[derive(Debug)]
struct Latest {
    record: Arc<InstanceInfo>,
    /// Sequence number of the newest entry for this key.
    seq: u64,
}

/// One app's share of the window: its entries (oldest first) and its materialised list,
/// rebuilt only after the app itself changed, so that publishing after one change costs
/// O(apps + that app's entries) even while the window holds a mass re-registration.
#[derive(Debug, Default)]
struct AppDelta {
    entries: VecDeque<(u64, Key)>,
    list: Option<Records>,
}

/// A time-ordered queue of `(time, app, id)` entries plus the latest record per key.
#[derive(Debug)]
pub(crate) struct DeltaLog {
    entries: VecDeque<Entry>,
    /// Sharded: one entry per changed instance in the window (see `sharded`).
    latest: Sharded<Key, Latest>,
    by_app: Map<Arc<str>, AppDelta>,
    next_seq: u64,
    view: Option<Arc<DeltaView>>,
    /// How long an entry stays.
    retention_ms: u64,
    /// The registry revision and `versions__delta`: starts at 1 and moves on every
    /// visible change (a new entry, or entries leaving the window).
    version: u64,
}

impl DeltaLog {
    /// An empty log keeping entries for `retention_ms`.
    pub(crate) fn new(retention_ms: u64) -> DeltaLog {
        DeltaLog {
            entries: VecDeque::new(),
            latest: Sharded::default(),
            by_app: Map::default(),
            next_seq: 0,
            view: None,
            retention_ms,
            version: 1,
        }
    }

    /// The registry revision: it moves on every visible change.
    pub(crate) fn version(&self) -> u64 {
        self.version
    }

    /// Records a visible change of `key` whose new state is `record`: what left the
    /// window goes first, then the entry is appended. One revision step.
    pub(crate) fn record(&mut self, at_ms: u64, key: Key, record: Arc<InstanceInfo>) {
        self.drop_expired(at_ms);
        self.push(at_ms, key, record);
        self.version += 1;
    }

    /// Appends an entry (no revision step: see [`record`](Self::record)).
    fn push(&mut self, at_ms: u64, key: Key, record: Arc<InstanceInfo>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.latest.insert(key.clone(), Latest { record, seq });
        let app = self.by_app.entry(key.0.clone()).or_default();
        app.entries.push_back((seq, key.clone()));
        app.list = None;
        self.entries.push_back(Entry { at_ms, seq, key });
        self.view = None;
    }

    /// Drops entries past the retention window (kept while `now - at <= retention`); a
    /// drop is a visible change, one revision step. Returns whether anything was dropped.
    pub(crate) fn sweep(&mut self, now_ms: u64) -> bool {
        let dropped = self.drop_expired(now_ms);
        if dropped {
            self.version += 1;
        }
        dropped
    }

    fn drop_expired(&mut self, now_ms: u64) -> bool {
        let mut dropped = false;
        while let Some(front) = self.entries.front() {
            if now_ms.saturating_sub(front.at_ms) <= self.retention_ms {
                break;
            }
            if let Some(e) = self.entries.pop_front() {
                if self.latest.get(&e.key).is_some_and(|l| l.seq == e.seq) {
                    self.latest.remove(&e.key);
                }
                // Entries leave in global sequence order, so this app's oldest entry is
                // the one leaving.
                if let Some(app) = self.by_app.get_mut(&e.key.0) {
                    app.entries.pop_front();
                    app.list = None;
                    if app.entries.is_empty() {
                        self.by_app.remove(&e.key.0);
                    }
                }
                dropped = true;
            }
        }
        if dropped {
            self.view = None;
        }
        dropped
    }

    /// The first instant at which [`sweep`](Self::sweep) will drop something.
    pub(crate) fn deadline(&self) -> u64 {
        self.entries
            .front()
            .map_or(u64::MAX, |e| e.at_ms.saturating_add(self.retention_ms))
    }

    /// Number of distinct records in the window.
    pub(crate) fn len(&self) -> usize {
        self.latest.len()
    }

    /// The materialised view, rebuilt after a change: O(apps), plus the entries of the apps
    /// that changed since the last view.
    pub(crate) fn view(&mut self) -> Arc<DeltaView> {
        if let Some(v) = &self.view {
            return v.clone();
        }
        let latest = &self.latest;
        let mut order: Vec<(u64, Arc<str>, Records)> = Vec::with_capacity(self.by_app.len());
        for (name, app) in self.by_app.iter_mut() {
            let Some(&(first_seq, _)) = app.entries.front() else {
                continue;
            };
            let list = app
                .list
                .get_or_insert_with(|| {
                    // The last entry of each key, in entry order: instances in order of
                    // their last change.
                    app.entries
                        .iter()
                        .filter_map(|(seq, key)| {
                            latest
                                .get(key)
                                .filter(|l| l.seq == *seq)
                                .map(|l| l.record.clone())
                        })
                        .collect()
                })
                .clone();
            if !list.is_empty() {
                order.push((first_seq, name.clone(), list));
            }
        }
        order.sort_unstable_by_key(|(first, _, _)| *first);
        let view = Arc::new(DeltaView {
            apps: order.into_iter().map(|(_, n, l)| (n, l)).collect(),
            len: self.latest.len(),
        });
        self.view = Some(view.clone());
        view
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ActionType;

    fn rec(app: &str, id: &str, action: ActionType) -> Arc<InstanceInfo> {
        let mut i = InstanceInfo::builder(app).instance_id(id).build();
        i.action_type = Some(action);
        Arc::new(i)
    }

    fn key(app: &str, id: &str) -> Key {
        (Arc::from(app), Arc::from(id))
    }

    // one record per key, latest state; apps by first entry, instances by last entry.
    #[test]
    fn r82_latest_state_and_order() {
        let mut d = DeltaLog::new(180_000);
        d.push(0, key("B", "b1"), rec("B", "b1", ActionType::Added));
        d.push(1, key("A", "a1"), rec("A", "a1", ActionType::Added));
        d.push(2, key("B", "b2"), rec("B", "b2", ActionType::Added));
        d.push(3, key("B", "b1"), rec("B", "b1", ActionType::Deleted));
        let v = d.view();
        assert_eq!(v.len, 3);
        let names: Vec<&str> = v.apps.iter().map(|(n, _)| &**n).collect();
        assert_eq!(names, vec!["B", "A"]);
        let b: Vec<(&str, Option<ActionType>)> = v.apps[0]
            .1
            .iter()
            .map(|i| (i.id(), i.action_type))
            .collect();
        assert_eq!(
            b,
            vec![
                ("b2", Some(ActionType::Added)),
                ("b1", Some(ActionType::Deleted))
            ]
        );
    }

    // entries are kept for the whole retention window, then dropped.
    #[test]
    fn r81_retention() {
        let mut d = DeltaLog::new(100);
        d.push(0, key("A", "a1"), rec("A", "a1", ActionType::Added));
        d.push(10, key("A", "a1"), rec("A", "a1", ActionType::Modified));
        assert_eq!(d.deadline(), 100);
        assert!(!d.sweep(100));
        assert!(d.sweep(101));
        // The newer entry still holds the key.
        assert_eq!(d.len(), 1);
        assert!(d.sweep(111));
        assert_eq!(d.len(), 0);
        assert!(d.view().apps.is_empty());
        assert_eq!(d.deadline(), u64::MAX);
    }

    // R-82 after a sweep: app order follows the first entry still in the window, and a
    // change to one app reuses the other apps' lists (publication stays O(changed app)).
    #[test]
    fn r82_order_after_sweep_and_shared_lists() {
        let mut d = DeltaLog::new(10);
        d.push(0, key("B", "b1"), rec("B", "b1", ActionType::Added));
        d.push(10, key("A", "a1"), rec("A", "a1", ActionType::Added));
        d.push(20, key("B", "b2"), rec("B", "b2", ActionType::Added));
        let before = d.view();
        let names: Vec<&str> = before.apps.iter().map(|(n, _)| &**n).collect();
        assert_eq!(names, vec!["B", "A"]);
        // b1's entry leaves the window: B's first entry is now after A's.
        assert!(d.sweep(15));
        let v = d.view();
        let names: Vec<&str> = v.apps.iter().map(|(n, _)| &**n).collect();
        assert_eq!(names, vec!["A", "B"]);
        assert_eq!(v.len, 2);
        let a_list = v.apps[0].1.clone();
        // A change to B only: A's list is the very same allocation.
        d.push(30, key("B", "b3"), rec("B", "b3", ActionType::Added));
        let w = d.view();
        assert!(Arc::ptr_eq(&w.apps[0].1, &a_list));
        assert_eq!(w.apps[1].1.len(), 2);
        // Everything leaves: no apps at all.
        assert!(d.sweep(1_000));
        assert!(d.view().apps.is_empty());
        assert_eq!(d.len(), 0);
    }
}
