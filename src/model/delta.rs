//! The delta merge rules (C-21, C-21a) as a walk: [`walk_delta`] reads a delta in document
//! order and tells a [`DeltaTarget`] what to upsert and delete. The client's copies and the
//! server's remote-region copies both take them, so the rules are written once.

use super::{normalize_app_name, ActionType, Applications, InstanceInfo};

/// A registry copy a delta is applied to, one instance at a time.
pub(crate) trait DeltaTarget {
    /// `ADDED` or `MODIFIED`: insert `instance` into application `app` (upper-case), or
    /// replace the record with the same id; create the application, empty, if missing.
    fn upsert(&mut self, app: String, instance: &InstanceInfo);

    /// `DELETED`: remove the instance `id` of application `app` if present. An application
    /// left empty is removed (at the latest when the delta is done).
    fn delete(&mut self, app: &str, id: &str);
}

/// Applies the C-21 rules of `delta` to `target`, in document order.
///
/// An instance belongs to its own `app` field, or to the application element it came in
/// when that is blank. Entries without a known action type are ignored. Each entry is
/// applied on its own: an `ADDED` entry of an application missing from the copy creates it
/// with that one instance, never with the delta's other entries of the same application
/// (C-21a).
pub(crate) fn walk_delta(delta: &Applications, target: &mut impl DeltaTarget) {
    for app in &delta.applications {
        for inst in &app.instances {
            let name = normalize_app_name(if inst.app.is_empty() {
                &app.name
            } else {
                &inst.app
            });
            match inst.action_type {
                Some(ActionType::Added | ActionType::Modified) => target.upsert(name, inst),
                Some(ActionType::Deleted) => target.delete(&name, inst.id()),
                None => {}
            }
        }
    }
}

/// Whether two records of one instance are the same but for
/// `leaseInfo.lastRenewalTimestamp`, which changes with every heartbeat and would otherwise
/// make every full fetch look like a change.
pub(crate) fn same_record(old: &InstanceInfo, new: &InstanceInfo) -> bool {
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
