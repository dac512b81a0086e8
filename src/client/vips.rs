//! The client's VIP indexes, copy-on-write like its applications: after a delta only the
//! VIP keys that a touched application carried or carries are rebuilt.
//!
//! Keys are ASCII lower-case (C-27). A key's list holds its instances application by
//! application in copy order, each instance once (as [`vip_index`] builds it).

use super::apps::{AppTable, Instances};
use crate::model::{carries_vip, vip_index, InstanceInfo, VipField, VipIndex, VipMatch};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

const MATCH: VipMatch = VipMatch::IgnoreAsciiCase;

/// One field's index: lower-case VIP key -> its instances, and which applications they
/// come from.
#[derive(Clone)]
pub(crate) struct VipTable {
    field: VipField,
    entries: HashMap<Arc<str>, Entry>,
}

#[derive(Clone)]
struct Entry {
    instances: Instances,
    /// The applications with an instance under this key, in copy order.
    apps: Arc<[Arc<str>]>,
}

impl VipTable {
    /// An empty index of `field`.
    pub(crate) fn new(field: VipField) -> Self {
        VipTable {
            field,
            entries: HashMap::new(),
        }
    }

    /// The instances under `key` (already lower-case).
    pub(crate) fn get(&self, key: &str) -> Option<&[Arc<InstanceInfo>]> {
        self.entries.get(key).map(|e| &*e.instances)
    }

    /// The index of `new`, given that this is the index of `old` and that the applications
    /// named in `changed` are the only ones whose lists differ. Costs O(keys) for the copy of
    /// the map plus the sizes of the changed applications and of the keys they carry.
    pub(crate) fn updated(&self, old: &AppTable, new: &AppTable, changed: &[Arc<str>]) -> Self {
        let field = self.field;
        let changed_set: HashSet<&str> = changed.iter().map(|n| &**n).collect();
        // What the changed applications carry now, per key.
        let fresh: HashMap<&str, VipIndex> = changed
            .iter()
            .filter_map(|name| {
                let list = new.get(name)?;
                Some((&**name, vip_index(list.iter(), field, MATCH)))
            })
            .collect();
        // Every key a changed application carried or carries.
        let mut keys: HashSet<Cow<'_, str>> = HashSet::new();
        for name in changed {
            let mut last = None;
            for inst in old.get(name).into_iter().flat_map(|l| l.iter()) {
                let raw = field.raw(inst);
                if raw != last {
                    keys.extend(field.names(inst).map(|n| MATCH.key(n)));
                    last = raw;
                }
            }
        }
        for index in fresh.values() {
            keys.extend(index.keys().map(|k| Cow::Borrowed(&**k)));
        }

        let mut next = self.clone();
        for key in keys {
            // Unchanged applications keep contributing what they did; changed ones
            // contribute what they carry now.
            let mut contributors: Vec<(usize, &Arc<str>)> = Vec::new();
            if let Some(entry) = self.entries.get(&*key) {
                contributors.extend(
                    entry
                        .apps
                        .iter()
                        .filter(|app| !changed_set.contains(&***app))
                        .filter_map(|app| Some((new.position(app)?, app))),
                );
            }
            for name in changed {
                if fresh
                    .get(&**name)
                    .is_some_and(|idx| idx.contains_key(&*key))
                {
                    if let Some(pos) = new.position(name) {
                        contributors.push((pos, name));
                    }
                }
            }
            contributors.sort_unstable_by_key(|(pos, _)| *pos);
            let mut instances: Vec<Arc<InstanceInfo>> = Vec::new();
            for (pos, name) in &contributors {
                match fresh.get(&***name).and_then(|idx| idx.get(&*key)) {
                    Some(list) => instances.extend(list.iter().cloned()),
                    None => {
                        let list = new.at(*pos).map_or(&[][..], |(_, list)| &**list);
                        instances.extend(
                            list.iter()
                                .filter(|i| carries_vip(i, field, MATCH, &key))
                                .cloned(),
                        );
                    }
                }
            }
            if instances.is_empty() {
                next.entries.remove(&*key);
            } else {
                let apps = contributors.into_iter().map(|(_, n)| n.clone()).collect();
                next.entries.insert(
                    Arc::from(&*key),
                    Entry {
                        instances: instances.into(),
                        apps,
                    },
                );
            }
        }
        next
    }
}
