//! Publication with the registry lock held only to take what changed (R-92, issue 8).
//!
//! A snapshot's app lists and delta lists are built copy-on-write from the previous
//! snapshot: an unchanged app shares its list, a changed app's list is the previous one
//! patched with its changes. Patching is O(size of the changed apps), and after a mass
//! change (a registration storm, an eviction sweep) every app has changed: at 250k
//! instances that took 73 ms, all of it under the registry lock, and every heartbeat and
//! registration waited for it.
//!
//! Now a publication takes, under the lock, only what changed since the previous
//! publication, which every part keeps as it goes ([`Publication`]: O(apps), each changed
//! app hands over its list of changes whole). The lists are then patched with no lock held,
//! from the previous published snapshot, while heartbeats and registrations go on.
//! Publications run one at a time (the registry's publication mutex), so that each builds
//! on the one published before it, and what a publication shows was all taken at one
//! instant under the lock: one consistent view.

use super::delta::DeltaUpdate;
use super::snapshot::{InstanceList, RegistrySnapshot, TargetState};
use crate::model::{InstanceInfo, StatusCounts};
use std::sync::Arc;

/// One change of an instance since the last publication: `(sequence, id, value)`, the
/// sequence increasing with every change of the registry.
pub(crate) type Change<T> = (u64, Arc<str>, T);

/// The changes of one app's instance list since the last publication.
#[derive(Debug)]
pub(crate) enum AppUpdate {
    /// Nothing changed: the previous list stands.
    Same,
    /// `changes` (the current record, `None` once removed) apply to the previous list, or
    /// to an empty one when the app was created since (`fresh`: an app removed and
    /// registered again must not inherit its old list).
    Changed {
        fresh: bool,
        changes: Vec<Change<Option<Arc<InstanceInfo>>>>,
    },
}

/// Everything a publication takes under the registry lock.
#[derive(Debug)]
pub(crate) struct Publication {
    pub(crate) revision: u64,
    pub(crate) content_revision: u64,
    pub(crate) counts: StatusCounts,
    pub(crate) len: usize,
    /// Every app holding a lease, in name order, with the content revision of its last
    /// change (its watch version, issue 15).
    pub(crate) apps: Vec<(Arc<str>, AppUpdate, u64)>,
    /// `None`: the delta did not change.
    pub(crate) delta: Option<DeltaUpdate>,
}

impl Publication {
    /// The snapshot this publication shows, patched from `prev`, the snapshot published
    /// last (`None` for the first one). Runs with no lock held.
    pub(crate) fn build(self, prev: Option<&RegistrySnapshot>) -> RegistrySnapshot {
        let (apps, states) = build_lists(self.apps, prev);
        let delta = match (self.delta, prev) {
            (Some(update), prev) => Arc::new(update.build(prev.map(|p| &*p.delta))),
            (None, Some(prev)) => prev.delta.clone(),
            (None, None) => Arc::default(),
        };
        RegistrySnapshot::new(
            self.revision,
            self.content_revision,
            self.counts,
            apps,
            self.len,
            delta,
        )
        .with_app_states(states)
    }
}

/// Keeps the newest change of each id (the highest sequence) and sorts them by id.
pub(crate) fn newest_per_id<T>(changes: &mut Vec<Change<T>>) {
    changes.sort_unstable_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)));
    // `dedup_by` keeps the first of each run: the newest.
    changes.dedup_by(|later, kept| later.1 == kept.1);
}

/// Bounds a list of changes that nobody published for a while. `live` is how many
/// distinct ids the list can hold without waste (an app's leases, the keys of an app's
/// delta window): while the list stays under twice that (plus a little), nothing is done,
/// so registrations of new ids never pay for it. Past that and past its `mark`, only the
/// newest change per id is kept (superseded records are let go) and the mark moves to
/// twice what is left, so that compaction costs O(log n) per change even when most of what
/// is left is removals.
pub(crate) fn compact_if_due<T>(changes: &mut Vec<Change<T>>, mark: &mut usize, live: usize) {
    if changes.len() > (*mark).max(2 * live + COMPACT_MIN) {
        newest_per_id(changes);
        changes.sort_unstable_by_key(|c| c.0);
        *mark = 2 * changes.len();
    }
}

/// The slack of [`compact_if_due`].
pub(crate) const COMPACT_MIN: usize = 64;

/// Every app's list: the previous one where nothing changed (the same allocation), patched
/// where something did. `update` and `prev` are both in name order.
///
/// Beside each list (same order) its app's watch state: the version handed over and the
/// status counts, counted only for a patched list (an unchanged one keeps its previous
/// state's counts).
fn build_lists(
    update: Vec<(Arc<str>, AppUpdate, u64)>,
    prev: Option<&RegistrySnapshot>,
) -> (Vec<(Arc<str>, InstanceList)>, Vec<TargetState>) {
    let prev_apps = prev.map_or(&[][..], |p| &p.apps[..]);
    let mut prev_iter = prev_apps.iter().enumerate().peekable();
    let mut out = Vec::with_capacity(update.len());
    let mut states = Vec::with_capacity(update.len());
    for (name, app, version) in update {
        while prev_iter.next_if(|(_, (n, _))| **n < *name).is_some() {}
        let found = prev_iter.next_if(|(_, (n, _))| **n == *name);
        let base = found.map(|(_, (_, l))| l);
        let prev_counts = match (found, &app) {
            (Some((i, _)), AppUpdate::Same) => {
                prev.and_then(|p| p.app_state_at(i)).map(|s| s.counts)
            }
            _ => None,
        };
        let list = match (app, base) {
            (AppUpdate::Same, Some(list)) => list.clone(),
            // Not in the previous snapshot and unchanged since: empty.
            (AppUpdate::Same, None) => continue,
            (AppUpdate::Changed { fresh, mut changes }, base) => {
                let base = match base {
                    Some(list) if !fresh => &list[..],
                    _ => &[],
                };
                newest_per_id(&mut changes);
                patch(base, &changes)
            }
        };
        if !list.is_empty() {
            let counts = prev_counts.unwrap_or_else(|| list.iter().map(|i| i.status).collect());
            states.push(TargetState { version, counts });
            out.push((name, list));
        }
    }
    (out, states)
}

/// `base` (sorted by id) with `changes` (one per id, sorted by id) applied: one merge pass,
/// no sort of the whole list.
fn patch(
    base: &[Arc<InstanceInfo>],
    changes: &[Change<Option<Arc<InstanceInfo>>>],
) -> InstanceList {
    let mut out: Vec<Arc<InstanceInfo>> = Vec::with_capacity(base.len() + changes.len());
    let mut rest = base.iter().peekable();
    for (_, id, record) in changes {
        while let Some(r) = rest.next_if(|r| r.id() < &**id) {
            out.push(r.clone());
        }
        // Skip the previous version of this id, if any.
        let _ = rest.next_if(|r| r.id() == &**id);
        if let Some(record) = record {
            out.push(record.clone());
        }
    }
    out.extend(rest.cloned());
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str) -> Arc<InstanceInfo> {
        Arc::new(InstanceInfo::builder("A").instance_id(id).build())
    }

    fn ids(list: &[Arc<InstanceInfo>]) -> Vec<&str> {
        list.iter().map(|r| r.id()).collect()
    }

    #[test]
    fn newest_change_per_id_wins() {
        let mut c: Vec<Change<u32>> = vec![
            (1, "b".into(), 1),
            (2, "a".into(), 2),
            (3, "b".into(), 3),
            (4, "c".into(), 4),
            (5, "a".into(), 5),
        ];
        newest_per_id(&mut c);
        let got: Vec<(u64, &str, u32)> = c.iter().map(|(s, i, v)| (*s, &**i, *v)).collect();
        assert_eq!(got, vec![(5, "a", 5), (3, "b", 3), (4, "c", 4)]);
    }

    #[test]
    fn compaction_keeps_the_newest_in_order_and_moves_its_mark() {
        let mut mark = 0;
        let mut c: Vec<Change<u32>> = (0..65).map(|s| (s, Arc::from("x"), s as u32)).collect();
        // Under twice `live` plus the slack: left alone.
        compact_if_due(&mut c, &mut mark, 1);
        assert_eq!(c.len(), 65);
        c.push((65, Arc::from("y"), 65));
        c.push((66, Arc::from("x"), 66));
        compact_if_due(&mut c, &mut mark, 1);
        let got: Vec<(u64, &str)> = c.iter().map(|(s, i, _)| (*s, &**i)).collect();
        assert_eq!(got, vec![(65, "y"), (66, "x")]);
        assert_eq!(mark, 4);
    }

    #[test]
    fn patch_inserts_replaces_and_removes() {
        let base = vec![rec("a"), rec("c"), rec("e")];
        let changes = vec![
            (7, Arc::from("b"), Some(rec("b"))),
            (8, Arc::from("c"), None),
            (9, Arc::from("e"), Some(rec("e"))),
            (10, Arc::from("f"), Some(rec("f"))),
        ];
        let out = patch(&base, &changes);
        assert_eq!(ids(&out), vec!["a", "b", "e", "f"]);
        assert!(Arc::ptr_eq(&out[0], &base[0]));
        assert!(!Arc::ptr_eq(&out[2], &base[2]));
    }

    // An app created again since the last publication starts from an empty list; an
    // unchanged app shares its list; an app gone from the update is gone.
    #[test]
    fn lists_are_patched_from_the_previous_snapshot() {
        let lists: Vec<(Arc<str>, InstanceList)> = vec![
            (Arc::from("A"), vec![rec("a1")].into()),
            (Arc::from("B"), vec![rec("b1")].into()),
            (Arc::from("C"), vec![rec("c1")].into()),
        ];
        let prev =
            RegistrySnapshot::new(3, 3, StatusCounts::new(), lists.clone(), 3, Arc::default())
                .with_app_states(vec![
                    TargetState {
                        version: 1,
                        counts: [crate::model::Status::Up].into_iter().collect(),
                    },
                    TargetState {
                        version: 2,
                        counts: [crate::model::Status::Up].into_iter().collect(),
                    },
                    TargetState {
                        version: 3,
                        counts: [crate::model::Status::Down].into_iter().collect(),
                    },
                ]);
        let update = vec![
            (
                Arc::from("A"),
                AppUpdate::Changed {
                    fresh: false,
                    changes: vec![(4, Arc::from("a2"), Some(rec("a2")))],
                },
                4,
            ),
            (
                Arc::from("B"),
                AppUpdate::Changed {
                    fresh: true,
                    changes: vec![(5, Arc::from("b2"), Some(rec("b2")))],
                },
                5,
            ),
            (Arc::from("D"), AppUpdate::Same, 0),
            (Arc::from("E"), AppUpdate::Same, 0),
        ];
        let (out, states) = build_lists(update, Some(&prev));
        let got: Vec<(&str, Vec<&str>)> = out.iter().map(|(n, l)| (&**n, ids(l))).collect();
        assert_eq!(got, vec![("A", vec!["a1", "a2"]), ("B", vec!["b2"])]);
        // Patched lists get their version and their counts counted.
        assert_eq!(states.iter().map(|s| s.version).collect::<Vec<_>>(), [4, 5]);
        assert_eq!(
            states[0].counts,
            out[0].1.iter().map(|i| i.status).collect()
        );
        let update = vec![(Arc::from("C"), AppUpdate::Same, 3)];
        let (out, states) = build_lists(update, Some(&prev));
        assert_eq!(out.len(), 1);
        assert!(Arc::ptr_eq(&out[0].1, &lists[2].1));
        // An unchanged list keeps its previous state's counts (not recounted).
        assert_eq!(
            states[0].counts,
            prev.app_state_at(2).map(|s| s.counts).unwrap_or_default()
        );
    }
}
