//! The client's applications, copy-on-write: each application's instance list is an
//! immutable `Arc`, shared by every snapshot in which it did not change (C-23). Merging a
//! delta copies the table of lists (one pointer per application) and rebuilds only the
//! lists the delta touches.

use super::merge::{same_record, walk_delta, DeltaTarget};
use crate::model::{normalize_app_name, Applications, InstanceInfo, StatusCounts};
use std::collections::HashMap;
use std::sync::Arc;

/// An application's instance list, as published.
pub(crate) type Instances = Arc<[Arc<InstanceInfo>]>;

/// Every application of a copy with its instances, and the status counts of them all.
#[derive(Clone, Default)]
pub(crate) struct AppTable {
    /// In copy order: the full fetch's document order, applications created by deltas
    /// appended. Never an empty list.
    apps: Vec<(Arc<str>, Instances)>,
    /// Upper-case name -> position in `apps`.
    index: HashMap<Arc<str>, usize>,
    /// Over every instance (the reconcile-hash input, W-61).
    counts: StatusCounts,
}

impl AppTable {
    /// A table of `apps` (names are upper-cased; applications with the same upper-case
    /// name are one; empty ones are left out).
    pub(crate) fn build<A, I>(apps: A) -> Self
    where
        A: IntoIterator<Item = (String, I)>,
        I: IntoIterator<Item = Arc<InstanceInfo>>,
    {
        let mut lists: Vec<(Arc<str>, Vec<Arc<InstanceInfo>>)> = Vec::new();
        let mut index: HashMap<Arc<str>, usize> = HashMap::new();
        let mut counts = StatusCounts::new();
        for (name, instances) in apps {
            let name = normalize_app_name(&name);
            let i = match index.get(name.as_str()) {
                Some(&i) => i,
                None => {
                    let name: Arc<str> = name.into();
                    lists.push((name.clone(), Vec::new()));
                    index.insert(name, lists.len() - 1);
                    lists.len() - 1
                }
            };
            if let Some((_, list)) = lists.get_mut(i) {
                for inst in instances {
                    counts.add(inst.status);
                    list.push(inst);
                }
            }
        }
        let mut table = AppTable {
            apps: lists
                .into_iter()
                .map(|(name, list)| (name, Instances::from(list)))
                .collect(),
            index,
            counts,
        };
        table.drop_empty();
        table
    }

    /// The instances of application `name` (upper-case).
    pub(crate) fn get(&self, name: &str) -> Option<&Instances> {
        self.position(name)
            .and_then(|i| self.apps.get(i))
            .map(|(_, list)| list)
    }

    /// Where application `name` (upper-case) is in copy order.
    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// The application at `position` in copy order.
    pub(crate) fn at(&self, position: usize) -> Option<&(Arc<str>, Instances)> {
        self.apps.get(position)
    }

    /// The applications in copy order.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = &(Arc<str>, Instances)> {
        self.apps.iter()
    }

    pub(crate) fn len(&self) -> usize {
        self.apps.len()
    }

    pub(crate) fn counts(&self) -> StatusCounts {
        self.counts
    }

    /// The instance count.
    pub(crate) fn instances(&self) -> usize {
        usize::try_from(self.counts.total()).unwrap_or(usize::MAX)
    }

    /// Applies `delta` (C-21, C-21a) copy-on-write. Returns the next table and the names of
    /// the applications whose list is not the same `Arc` as here (changed, created or
    /// removed). Costs O(applications) plus the sizes of the touched applications.
    pub(crate) fn with_delta(&self, delta: &Applications) -> (AppTable, Vec<Arc<str>>) {
        let mut merge = CowMerge {
            next: self.clone(),
            edits: HashMap::new(),
        };
        walk_delta(delta, &mut merge);
        let CowMerge { mut next, edits } = merge;
        let mut touched = Vec::with_capacity(edits.len());
        for (i, list) in edits {
            if let Some((name, slot)) = next.apps.get_mut(i) {
                *slot = Instances::from(list);
                touched.push(name.clone());
            }
        }
        next.drop_empty();
        (next, touched)
    }

    /// Removes applications without instances, keeping the order of the others.
    fn drop_empty(&mut self) {
        if self.apps.iter().all(|(_, list)| !list.is_empty()) {
            return;
        }
        self.apps.retain(|(_, list)| !list.is_empty());
        self.index = self
            .apps
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.clone(), i))
            .collect();
    }

    /// Whether both tables hold the same instances with the same records, in any order,
    /// ignoring `leaseInfo.lastRenewalTimestamp` (C-23: only changes are published). Lists
    /// shared with `other` are not looked into, so comparing a table with the one it was
    /// merged from costs O(applications) plus the changed lists.
    pub(crate) fn same_content(&self, other: &AppTable) -> bool {
        if self.apps.len() != other.apps.len() || self.counts != other.counts {
            return false;
        }
        other.apps.iter().all(|(name, new)| match self.get(name) {
            Some(old) => Arc::ptr_eq(old, new) || same_instances(old, new),
            None => false,
        })
    }
}

/// Same records by id, in any order; lists with duplicate ids must be equal outright.
fn same_instances(old: &[Arc<InstanceInfo>], new: &[Arc<InstanceInfo>]) -> bool {
    if old.len() != new.len() {
        return false;
    }
    let by_id: HashMap<&str, &InstanceInfo> = old.iter().map(|i| (i.id(), &**i)).collect();
    if by_id.len() != old.len() {
        return old == new;
    }
    new.iter().all(|inst| {
        by_id
            .get(inst.id())
            .is_some_and(|old| same_record(old, inst))
    })
}

/// A delta being merged into a copy of a table: lists are copied into `edits` when first
/// changed, and frozen when the delta is done.
struct CowMerge {
    next: AppTable,
    /// Position -> the edited list of that application.
    edits: HashMap<usize, Vec<Arc<InstanceInfo>>>,
}

impl CowMerge {
    fn edit(&mut self, i: usize) -> Option<&mut Vec<Arc<InstanceInfo>>> {
        let apps = &self.next.apps;
        match self.edits.entry(i) {
            std::collections::hash_map::Entry::Occupied(e) => Some(e.into_mut()),
            std::collections::hash_map::Entry::Vacant(e) => {
                let (_, list) = apps.get(i)?;
                Some(e.insert(list.to_vec()))
            }
        }
    }

    /// The current list of application `i`: edited, or as in the base table.
    fn current(&self, i: usize) -> &[Arc<InstanceInfo>] {
        match self.edits.get(&i) {
            Some(list) => list,
            None => self.next.apps.get(i).map_or(&[], |(_, list)| &**list),
        }
    }
}

impl DeltaTarget for CowMerge {
    fn upsert(&mut self, app: String, inst: &InstanceInfo) {
        let i = match self.next.index.get(app.as_str()) {
            Some(&i) => i,
            None => {
                let name: Arc<str> = app.into();
                self.next.apps.push((name.clone(), Instances::from([])));
                let i = self.next.apps.len() - 1;
                self.next.index.insert(name, i);
                i
            }
        };
        let id = inst.id();
        let slot = self.current(i).iter().position(|x| x.id() == id);
        if let Some(pos) = slot {
            if self.current(i).get(pos).is_some_and(|old| **old == *inst) {
                // Overlapping deltas repeat entries (C-22): nothing to copy.
                return;
            }
        }
        self.next.counts.add(inst.status);
        let Some(list) = self.edit(i) else {
            return;
        };
        match slot.and_then(|pos| list.get_mut(pos)) {
            Some(old) => {
                let old_status = old.status;
                *old = Arc::new(inst.clone());
                self.next.counts.remove(old_status);
            }
            None => list.push(Arc::new(inst.clone())),
        }
    }

    fn delete(&mut self, app: &str, id: &str) {
        let Some(&i) = self.next.index.get(app) else {
            return;
        };
        if !self.current(i).iter().any(|x| x.id() == id) {
            // Absent already (overlapping deltas, C-22): nothing to copy.
            return;
        }
        let mut removed = Vec::new();
        if let Some(list) = self.edit(i) {
            list.retain(|x| {
                let keep = x.id() != id;
                if !keep {
                    removed.push(x.status);
                }
                keep
            });
        }
        for status in removed {
            self.next.counts.remove(status);
        }
    }
}
