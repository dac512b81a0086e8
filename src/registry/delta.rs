//! The versioned change log: every visible change of the registry, kept for the retention
//! window behind `GET /apps/delta` (R-80..R-84), and the revision it gives the registry.

use super::lease::Key;
use super::publish::{compact_if_due, newest_per_id, Change};
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
    /// For each app of `apps`, the sequence number of each record's entry (increasing):
    /// what the next view needs to drop what left the window.
    seqs: Vec<Arc<[u64]>>,
}

#[derive(Debug)]
struct Entry {
    at_ms: u64,
    seq: u64,
    key: Key,
}

#[derive(Debug)]
struct Latest {
    /// Sequence number of the newest entry for this key.
    seq: u64,
}

/// One app's share of the window: its entries (oldest first), for the order of apps and
/// for dropping, and the records pushed since the last view, which the next view appends
/// to this app's previous list (outside the registry lock, see `publish`).
#[derive(Debug, Default)]
struct AppDelta {
    /// The sequence numbers of its entries (the keys are in the log's own queue).
    entries: VecDeque<u64>,
    pending: Vec<Change<Arc<InstanceInfo>>>,
    /// When `pending` is compacted next.
    compact_at: usize,
    /// Keys of this app whose newest entry is in the window.
    distinct: usize,
    /// Some entry of `pending` replaced one still in the window (see `AppPending`).
    replacing: bool,
}

/// What changed in the delta since the last view, taken under the registry lock in O(apps)
/// and made into the next [`DeltaView`] outside it ([`build`](Self::build)).
#[derive(Debug)]
pub(crate) struct DeltaUpdate {
    /// The sequence number of the oldest entry still in the window: records of older
    /// entries left it.
    front: u64,
    /// Distinct records in the window.
    len: usize,
    /// Every app with entries in the window: the sequence of its first entry, its name and
    /// the records pushed since the last view, in order.
    apps: Vec<AppPending>,
}

/// One app's part of a [`DeltaUpdate`].
#[derive(Debug)]
struct AppPending {
    /// The sequence number of its first entry in the window (the order of apps, R-82).
    first: u64,
    name: Arc<str>,
    /// The records pushed since the last view, in order.
    pending: Vec<Change<Arc<InstanceInfo>>>,
    /// Whether an entry of `pending` replaced an entry still in the window. When none did
    /// (new ids only, as when instances arrive), every pending id is distinct and absent
    /// from the previous view, and the view appends them without looking for replaced
    /// records: a publication under such churn costs the new entries, not the window.
    replacing: bool,
}

/// One app of a view being built: `(first entry, name, records, their sequences)`.
type BuiltApp = (u64, Arc<str>, Records, Arc<[u64]>);

/// A time-ordered queue of `(time, app, id)` entries plus the newest entry per key.
#[derive(Debug)]
pub(crate) struct DeltaLog {
    entries: VecDeque<Entry>,
    /// Sharded: one entry per changed instance in the window (see `sharded`).
    latest: Sharded<Key, Latest>,
    by_app: Map<Arc<str>, AppDelta>,
    next_seq: u64,
    /// Nothing changed since the last [`take_update`](Self::take_update).
    view_valid: bool,
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
            view_valid: false,
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
        let new_key = self.latest.insert(key.clone(), Latest { seq }).is_none();
        let app = match self.by_app.get_mut(&key.0) {
            Some(app) => app,
            None => self.by_app.entry(key.0.clone()).or_default(),
        };
        app.distinct += usize::from(new_key);
        app.replacing |= !new_key;
        app.entries.push_back(seq);
        app.pending.push((seq, key.1.clone(), record));
        compact_if_due(&mut app.pending, &mut app.compact_at, app.distinct);
        self.entries.push_back(Entry { at_ms, seq, key });
        self.view_valid = false;
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
                let newest = self.latest.get(&e.key).is_some_and(|l| l.seq == e.seq);
                if newest {
                    self.latest.remove(&e.key);
                }
                // Entries leave in global sequence order, so this app's oldest entry is
                // the one leaving.
                if let Some(app) = self.by_app.get_mut(&e.key.0) {
                    app.distinct = app.distinct.saturating_sub(usize::from(newest));
                    app.entries.pop_front();
                    if app.entries.is_empty() {
                        self.by_app.remove(&e.key.0);
                    }
                }
                dropped = true;
            }
        }
        if dropped {
            self.view_valid = false;
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

    /// What changed since the last call, `None` when nothing did (the last view stands):
    /// O(apps), each app's pending records handed over whole.
    pub(crate) fn take_update(&mut self) -> Option<DeltaUpdate> {
        if std::mem::replace(&mut self.view_valid, true) {
            return None;
        }
        let apps = self
            .by_app
            .iter_mut()
            .filter_map(|(name, app)| {
                let &first = app.entries.front()?;
                app.compact_at = 0;
                Some(AppPending {
                    first,
                    name: name.clone(),
                    pending: std::mem::take(&mut app.pending),
                    replacing: std::mem::take(&mut app.replacing),
                })
            })
            .collect();
        Some(DeltaUpdate {
            front: self.entries.front().map_or(self.next_seq, |e| e.seq),
            len: self.latest.len(),
            apps,
        })
    }
}

impl DeltaUpdate {
    /// The view after this update, from `prev`, the view of the last update (`None` before
    /// the first): per app, the previous records whose entries are still in the window and
    /// that no newer entry replaced, then the newest pending record of each id. O(apps +
    /// size of the apps with new entries); apps that only lost entries cost a slice copy,
    /// apps with neither share their lists. Runs with no lock held.
    pub(crate) fn build(self, prev: Option<&DeltaView>) -> DeltaView {
        let prev_at: Map<&str, usize> = prev.map_or_else(Map::default, |p| {
            p.apps
                .iter()
                .enumerate()
                .map(|(i, (n, _))| (&**n, i))
                .collect()
        });
        let front = self.front;
        let mut order: Vec<BuiltApp> = Vec::with_capacity(self.apps.len());
        for app in self.apps {
            let AppPending {
                first,
                name,
                mut pending,
                replacing,
            } = app;
            let base = match (prev, prev_at.get(&*name)) {
                (Some(p), Some(&i)) => Some((&p.apps[i].1, &p.seqs[i])),
                _ => None,
            };
            let (records, seqs): (Records, Arc<[u64]>) = match base {
                Some((records, seqs)) if pending.is_empty() => {
                    // Sequences increase along the list: what left is a prefix.
                    match seqs.partition_point(|&s| s < front) {
                        0 => (records.clone(), seqs.clone()),
                        cut => (records[cut..].into(), seqs[cut..].into()),
                    }
                }
                base => {
                    pending.retain(|(s, _, _)| *s >= front);
                    // Without a replaced entry (new ids only) the pending ids are distinct
                    // and absent from the previous list, and already in sequence order (an
                    // id pushed twice would have replaced its own entry; one whose entry
                    // left is cut by `front`): nothing to search, nothing to sort.
                    if replacing {
                        newest_per_id(&mut pending);
                    }
                    let mut records = Vec::new();
                    let mut seqs = Vec::new();
                    if let Some((r, s)) = base {
                        let cut = s.partition_point(|&q| q < front);
                        records.reserve(r.len() - cut + pending.len());
                        seqs.reserve(r.len() - cut + pending.len());
                        if replacing {
                            let replaced = |r: &Arc<InstanceInfo>| {
                                pending
                                    .binary_search_by(|(_, id, _)| (**id).cmp(r.id()))
                                    .is_ok()
                            };
                            for (rec, seq) in r[cut..].iter().zip(&s[cut..]) {
                                if !replaced(rec) {
                                    records.push(rec.clone());
                                    seqs.push(*seq);
                                }
                            }
                        } else {
                            records.extend_from_slice(&r[cut..]);
                            seqs.extend_from_slice(&s[cut..]);
                        }
                    }
                    if replacing {
                        pending.sort_unstable_by_key(|c| c.0);
                    }
                    for (seq, _, rec) in pending {
                        records.push(rec);
                        seqs.push(seq);
                    }
                    (records.into(), seqs.into())
                }
            };
            if !records.is_empty() {
                order.push((first, name, records, seqs));
            }
        }
        order.sort_unstable_by_key(|(first, _, _, _)| *first);
        let mut view = DeltaView {
            apps: Vec::with_capacity(order.len()),
            len: self.len,
            seqs: Vec::with_capacity(order.len()),
        };
        for (_, name, records, seqs) in order {
            view.apps.push((name, records));
            view.seqs.push(seqs);
        }
        view
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ActionType;
    use rand::{Rng, SeedableRng};

    fn rec(app: &str, id: &str, action: ActionType) -> Arc<InstanceInfo> {
        let mut i = InstanceInfo::builder(app).instance_id(id).build();
        i.action_type = Some(action);
        Arc::new(i)
    }

    fn key(app: &str, id: &str) -> Key {
        (Arc::from(app), Arc::from(id))
    }

    /// The next view, built from the last one as a publication does.
    fn view(d: &mut DeltaLog, last: &mut Arc<DeltaView>) -> Arc<DeltaView> {
        if let Some(update) = d.take_update() {
            *last = Arc::new(update.build(Some(last)));
        }
        last.clone()
    }

    fn names(v: &DeltaView) -> Vec<&str> {
        v.apps.iter().map(|(n, _)| &**n).collect()
    }

    // one record per key, latest state; apps by first entry, instances by last entry.
    #[test]
    fn r82_latest_state_and_order() {
        let mut d = DeltaLog::new(180_000);
        let mut last = Arc::default();
        d.push(0, key("B", "b1"), rec("B", "b1", ActionType::Added));
        d.push(1, key("A", "a1"), rec("A", "a1", ActionType::Added));
        d.push(2, key("B", "b2"), rec("B", "b2", ActionType::Added));
        d.push(3, key("B", "b1"), rec("B", "b1", ActionType::Deleted));
        let v = view(&mut d, &mut last);
        assert_eq!(v.len, 3);
        assert_eq!(names(&v), vec!["B", "A"]);
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
        // Nothing changed: the same view.
        assert!(d.take_update().is_none());
    }

    // entries are kept for the whole retention window, then dropped.
    #[test]
    fn r81_retention() {
        let mut d = DeltaLog::new(100);
        let mut last = Arc::default();
        d.push(0, key("A", "a1"), rec("A", "a1", ActionType::Added));
        d.push(10, key("A", "a1"), rec("A", "a1", ActionType::Modified));
        assert_eq!(d.deadline(), 100);
        assert!(!d.sweep(100));
        assert!(d.sweep(101));
        // The newer entry still holds the key.
        assert_eq!(d.len(), 1);
        assert_eq!(view(&mut d, &mut last).len, 1);
        assert!(d.sweep(111));
        assert_eq!(d.len(), 0);
        assert!(view(&mut d, &mut last).apps.is_empty());
        assert_eq!(d.deadline(), u64::MAX);
    }

    // R-82 after a sweep: app order follows the first entry still in the window, and a
    // change to one app reuses the other apps' lists (publication stays O(changed app)).
    #[test]
    fn r82_order_after_sweep_and_shared_lists() {
        let mut d = DeltaLog::new(10);
        let mut last = Arc::default();
        d.push(0, key("B", "b1"), rec("B", "b1", ActionType::Added));
        d.push(10, key("A", "a1"), rec("A", "a1", ActionType::Added));
        d.push(20, key("B", "b2"), rec("B", "b2", ActionType::Added));
        let before = view(&mut d, &mut last);
        assert_eq!(names(&before), vec!["B", "A"]);
        // b1's entry leaves the window: B's first entry is now after A's.
        assert!(d.sweep(15));
        let v = view(&mut d, &mut last);
        assert_eq!(names(&v), vec!["A", "B"]);
        assert_eq!(v.len, 2);
        let a_list = v.apps[0].1.clone();
        // A change to B only: A's list is the very same allocation.
        d.push(30, key("B", "b3"), rec("B", "b3", ActionType::Added));
        let w = view(&mut d, &mut last);
        assert!(Arc::ptr_eq(&w.apps[0].1, &a_list));
        assert_eq!(w.apps[1].1.len(), 2);
        // Everything leaves: no apps at all.
        assert!(d.sweep(1_000));
        assert!(view(&mut d, &mut last).apps.is_empty());
        assert_eq!(d.len(), 0);
    }

    /// The view by its definition, from every push: the keys whose newest push
    /// is in the window, with that push's record; apps by their first push in the window,
    /// instances by their newest push.
    fn expected(
        pushes: &[(u64, u64, Key, Arc<InstanceInfo>)],
        now: u64,
        retention: u64,
    ) -> Vec<(String, Vec<(String, u64)>)> {
        let window: Vec<_> = pushes
            .iter()
            .filter(|(at, ..)| now.saturating_sub(*at) <= retention)
            .collect();
        type App = (u64, String, Vec<(u64, String, u64)>);
        let mut apps: Vec<App> = Vec::new();
        for (i, (_, seq, key, record)) in window.iter().enumerate() {
            let newest = window[i + 1..].iter().all(|(_, _, k, _)| k != key);
            let pos = match apps.iter().position(|(_, n, _)| *n == *key.0) {
                Some(p) => p,
                None => {
                    apps.push((*seq, key.0.to_string(), Vec::new()));
                    apps.len() - 1
                }
            };
            if newest {
                let stamp = record.last_dirty_timestamp;
                apps[pos].2.push((*seq, key.1.to_string(), stamp));
            }
        }
        apps.into_iter()
            .filter(|(_, _, l)| !l.is_empty())
            .map(|(_, n, l)| (n, l.into_iter().map(|(_, id, t)| (id, t)).collect()))
            .collect()
    }

    // The incremental views (built from the last one, as publications build them) always
    // equal the view by definition, through random pushes, sweeps, views and compactions.
    #[test]
    fn incremental_views_match_the_definition() {
        incremental_views_match(11, 0.0);
    }

    // The same with mostly new ids (instances arriving): batches without a replaced entry
    // take the append-only path, mixed with batches that replace, across sweeps.
    #[test]
    fn incremental_views_match_the_definition_with_new_ids() {
        incremental_views_match(12, 0.8);
        incremental_views_match(13, 1.0);
    }

    /// Random pushes, sweeps and views; `fresh`: the share of pushes with a never seen id.
    fn incremental_views_match(seed: u64, fresh: f64) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let retention = 1_000;
        let mut d = DeltaLog::new(retention);
        let mut last = Arc::default();
        let mut pushes = Vec::new();
        let mut now = 0;
        for step in 0..6_000u64 {
            now += rng.random_range(0..if step < 1_500 { 8 } else { 2 });
            let app = ["A", "B", "C", "D"][rng.random_range(0..4)];
            let id = if fresh > 0.0 && rng.random_bool(fresh) {
                format!("n-{step}")
            } else {
                format!("i-{}", rng.random_range(0..12))
            };
            let mut r = InstanceInfo::builder(app).instance_id(id.as_str()).build();
            r.last_dirty_timestamp = step;
            let r = Arc::new(r);
            pushes.push((now, d.next_seq, key(app, &id), r.clone()));
            d.record(now, key(app, &id), r);
            // Views often, then rarely (long runs of pending records get compacted).
            if rng.random_range(0..if step < 1_500 { 5 } else { 400 }) == 0 {
                now += rng.random_range(0..60);
                d.sweep(now);
                let v = view(&mut d, &mut last);
                let got: Vec<(String, Vec<(String, u64)>)> = v
                    .apps
                    .iter()
                    .map(|(n, l)| {
                        let l = l
                            .iter()
                            .map(|r| (r.id().to_owned(), r.last_dirty_timestamp))
                            .collect();
                        (n.to_string(), l)
                    })
                    .collect();
                assert_eq!(got, expected(&pushes, now, retention), "step {step}");
                assert_eq!(v.len, got.iter().map(|(_, l)| l.len()).sum::<usize>());
            }
        }
    }
}
