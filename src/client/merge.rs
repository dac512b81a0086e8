//! The delta merge rules (C-21, C-21a), written once: [`walk_delta`] reads a delta in
//! document order and tells a [`DeltaTarget`] what to upsert and delete. Two copies take
//! them: the model's [`Applications`] ([`apply_delta`], a pure function for tests and tools)
//! and the client's copy-on-write snapshot
//! ([`ClientSnapshot::with_delta`](super::ClientSnapshot::with_delta)).

use crate::model::{normalize_app_name, Application, Applications, InstanceInfo};
use std::collections::hash_map::Entry;
use std::collections::HashMap;

pub(crate) use crate::model::{same_record, walk_delta, DeltaTarget};

/// Applies a delta to a registry copy and returns the next copy (C-21). `copy` is not
/// touched, so readers of the current copy never see a half-applied delta (C-23).
///
/// For each instance of the delta, in document order:
/// * `ADDED`, `MODIFIED`: upsert by `(app, id)`, replacing the whole record. A missing
///   application is created empty and receives only this instance (C-21a: the delta's other
///   entries for that application, `DELETED` ones included, are not copied along).
/// * `DELETED`: remove the instance if present; an application left empty is removed.
/// * no or unknown action type: ignored.
///
/// Applications of `copy` whose names are equal once normalised are one application (the
/// first, holding the instances of all of them), as in the client's snapshot.
///
/// The result carries the delta's `versions__delta` and `apps__hashcode`. Check it with
/// [`Applications::compute_hashcode`] against the delta's hash (C-22). Applying the same
/// delta twice gives the same result.
///
/// This copies the whole registry; the client itself merges into its snapshot instead,
/// sharing what did not change
/// ([`ClientSnapshot::with_delta`](super::ClientSnapshot::with_delta), same rules).
///
/// ```
/// use tower_eureka::client::apply_delta;
/// use tower_eureka::model::{ActionType, Applications, InstanceInfo};
///
/// let a = InstanceInfo::builder("orders").host_name("a").build();
/// let copy = Applications::from_instances([a.clone()]);
///
/// let mut b = InstanceInfo::builder("orders").host_name("b").build();
/// b.action_type = Some(ActionType::Added);
/// let mut gone = a;
/// gone.action_type = Some(ActionType::Deleted);
/// let mut delta = Applications::from_instances([b, gone]);
/// delta.versions_delta = 7;
/// delta.apps_hashcode = Some("UP_1_".into());
///
/// let next = apply_delta(&copy, &delta);
/// assert_eq!(next.instances().map(|i| i.host_name.as_str()).collect::<Vec<_>>(), ["b"]);
/// assert_eq!(next.compute_hashcode(), "UP_1_");
/// assert_eq!(next.versions_delta, 7);
/// ```
pub fn apply_delta(copy: &Applications, delta: &Applications) -> Applications {
    let mut next = ModelCopy::new(copy);
    walk_delta(delta, &mut next);
    let mut apps = next.apps;
    apps.retain(|a| !a.instances.is_empty());
    Applications {
        versions_delta: delta.versions_delta,
        apps_hashcode: delta.apps_hashcode.clone(),
        applications: apps,
    }
}

/// The model's applications as a delta target: a whole copy, edited in place.
struct ModelCopy {
    apps: Vec<Application>,
    /// Normalised name -> position in `apps`.
    index: HashMap<String, usize>,
}

impl ModelCopy {
    /// The copy's applications, one per name: applications whose names are equal once
    /// normalised (a document may repeat one, or spell it in two cases) are merged into the
    /// first, as the client's snapshot does, so that a delta reaches all their instances.
    fn new(copy: &Applications) -> Self {
        let mut apps: Vec<Application> = Vec::with_capacity(copy.applications.len());
        let mut index: HashMap<String, usize> = HashMap::with_capacity(copy.applications.len());
        for app in &copy.applications {
            match index.entry(normalize_app_name(&app.name)) {
                Entry::Occupied(at) => {
                    if let Some(first) = apps.get_mut(*at.get()) {
                        first.instances.extend(app.instances.iter().cloned());
                    }
                }
                Entry::Vacant(at) => {
                    at.insert(apps.len());
                    apps.push(app.clone());
                }
            }
        }
        ModelCopy { apps, index }
    }
}

impl DeltaTarget for ModelCopy {
    fn upsert(&mut self, app: String, inst: &InstanceInfo) {
        let apps = &mut self.apps;
        let i = *self.index.entry(app).or_insert_with_key(|name| {
            apps.push(Application::new(name));
            apps.len() - 1
        });
        let Some(target) = apps.get_mut(i) else {
            return;
        };
        let id = inst.id();
        match target.instances.iter_mut().find(|x| x.id() == id) {
            Some(slot) => *slot = inst.clone(),
            None => target.instances.push(inst.clone()),
        }
    }

    fn delete(&mut self, app: &str, id: &str) {
        if let Some(target) = self.index.get(app).and_then(|&i| self.apps.get_mut(i)) {
            target.instances.retain(|x| x.id() != id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ActionType, Status};

    fn inst(app: &str, host: &str, status: Status, action: Option<ActionType>) -> InstanceInfo {
        let mut i = InstanceInfo::builder(app).host_name(host).build();
        i.status = status;
        i.action_type = action;
        i
    }

    #[test]
    fn c21_upsert_replaces_whole_records() {
        let copy = Applications::from_instances([inst("a", "h1", Status::Up, None)]);
        let mut m = inst("a", "h1", Status::Down, Some(ActionType::Modified));
        m.metadata.insert("k", "v");
        let next = apply_delta(&copy, &Applications::from_instances([m.clone()]));
        assert_eq!(next.instances().collect::<Vec<_>>(), vec![&m]);
        // the input copy is untouched (C-23)
        assert_eq!(copy.instances().next().map(|i| i.status), Some(Status::Up));
    }

    #[test]
    fn c21_delete_removes_empty_apps_and_ignores_unknown() {
        let copy = Applications::from_instances([
            inst("a", "h1", Status::Up, None),
            inst("b", "h2", Status::Up, None),
        ]);
        let delta = Applications::from_instances([
            inst("a", "h1", Status::Up, Some(ActionType::Deleted)),
            inst("c", "h3", Status::Up, Some(ActionType::Deleted)),
            inst("b", "h9", Status::Up, None),
        ]);
        let next = apply_delta(&copy, &delta);
        assert!(next.application("A").is_none());
        assert!(next.application("C").is_none());
        assert_eq!(next.instances().count(), 1);
        assert_eq!(next.compute_hashcode(), "UP_1_");
    }

    #[test]
    fn c21a_missing_app_gets_only_the_added_instance() {
        let copy = Applications::from_instances([inst("other", "o", Status::Up, None)]);
        let delta = Applications::from_instances([
            inst("new", "n1", Status::Up, Some(ActionType::Added)),
            inst("new", "n2", Status::Up, Some(ActionType::Deleted)),
        ]);
        let next = apply_delta(&copy, &delta);
        let app = next.application("NEW").unwrap();
        assert_eq!(app.instances.len(), 1);
        assert_eq!(app.instances[0].host_name, "n1");
        assert_eq!(next.compute_hashcode(), "UP_2_");
    }

    #[test]
    fn c22_applying_twice_is_harmless() {
        let copy = Applications::from_instances([inst("a", "h1", Status::Up, None)]);
        let delta = Applications::from_instances([
            inst("a", "h2", Status::Starting, Some(ActionType::Added)),
            inst("a", "h1", Status::Up, Some(ActionType::Deleted)),
        ]);
        let once = apply_delta(&copy, &delta);
        let twice = apply_delta(&once, &delta);
        assert_eq!(once, twice);
    }
}
