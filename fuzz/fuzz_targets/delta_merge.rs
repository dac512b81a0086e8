//! The client's delta merge (C-21, C-21a, C-22, C-23): a registry copy and a delta decoded
//! from the input (`COPY\0DELTA`, each JSON or XML by its first byte), merged by
//! `client::apply_delta` and by the client's own snapshot (`ClientSnapshot::with_delta`).
//!
//! What must hold: no panic; for every `(app, id)` the delta names, its last action
//! decides: an upsert's record is in the result, a delete's id is gone; every instance the
//! delta does not name is still there; no application is left empty; the result carries the
//! delta's version and hash; applying the delta again changes nothing; and the client's
//! snapshot, merged in place, holds what a snapshot built from the result holds (the same
//! applications, instances, VIP and secure-VIP lists, and hash).
#![no_main]

use fuzz_support::sniff;
use libfuzzer_sys::fuzz_target;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tower_eureka::client::{apply_delta, ClientSnapshot, Target};
use tower_eureka::codec;
use tower_eureka::model::{normalize_app_name, ActionType, Applications, InstanceInfo};

fuzz_target!(|data: &[u8]| {
    let (copy, delta) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&b""[..], data),
    };
    let copy = if copy.is_empty() {
        Applications::default()
    } else {
        match codec::decode_applications(copy, sniff(copy)) {
            Ok(apps) => apps,
            Err(_) => return,
        }
    };
    let Ok(delta) = codec::decode_applications(delta, sniff(delta)) else {
        return;
    };
    check(&copy, &delta);
});

fn check(copy: &Applications, delta: &Applications) {
    let next = apply_delta(copy, delta);

    // The last action per (app, id) decides (C-21).
    let mut last: BTreeMap<(String, String), Option<&InstanceInfo>> = BTreeMap::new();
    for app in &delta.applications {
        for inst in &app.instances {
            let name = normalize_app_name(if inst.app.is_empty() {
                &app.name
            } else {
                &inst.app
            });
            let key = (name, inst.id().to_owned());
            match inst.action_type {
                Some(ActionType::Added | ActionType::Modified) => {
                    last.insert(key, Some(inst));
                }
                Some(ActionType::Deleted) => {
                    last.insert(key, None);
                }
                None => {}
            }
        }
    }
    let held = |app: &str, id: &str| -> Vec<&InstanceInfo> {
        next.applications
            .iter()
            .filter(|a| normalize_app_name(&a.name) == app)
            .flat_map(|a| a.instances.iter().filter(|i| i.id() == id))
            .collect()
    };
    for ((app, id), action) in &last {
        let found = held(app, id);
        match action {
            Some(record) => assert!(
                found.contains(record),
                "the upsert of {app}/{id} is not in the result"
            ),
            None => assert!(found.is_empty(), "the delete of {app}/{id} left it there"),
        }
    }
    for app in &copy.applications {
        let name = normalize_app_name(&app.name);
        for inst in &app.instances {
            let key = (name.clone(), inst.id().to_owned());
            if !last.contains_key(&key) {
                assert!(
                    held(&key.0, &key.1).contains(&inst),
                    "{}/{} was not in the delta and went missing",
                    key.0,
                    key.1
                );
            }
        }
    }
    assert!(
        next.applications.iter().all(|a| !a.instances.is_empty()),
        "an empty application is left"
    );
    assert_eq!(next.versions_delta, delta.versions_delta);
    assert_eq!(next.apps_hashcode, delta.apps_hashcode);
    assert_eq!(apply_delta(&next, delta), next, "applying the delta twice");

    // The client's snapshot, merged in place, against one built from the result.
    let merged = ClientSnapshot::from_applications(copy, 1).with_delta(delta, 2);
    let built = ClientSnapshot::from_applications(&next, 2);
    assert_eq!(merged.hashcode(), built.hashcode(), "snapshot hash");
    assert_eq!(merged.hashcode(), next.compute_hashcode(), "snapshot hash");
    assert_eq!(merged.len(), built.len(), "snapshot size");
    assert_eq!(merged.versions_delta(), built.versions_delta());
    let names = |s: &ClientSnapshot| s.app_names().map(str::to_owned).collect::<BTreeSet<_>>();
    assert_eq!(names(&merged), names(&built), "snapshot applications");
    let mut targets: Vec<Target> = names(&built).iter().map(Target::app).collect();
    for inst in copy.instances().chain(delta.instances()) {
        if let Some(v) = &inst.vip_address {
            targets.extend(v.split(',').map(|v| Target::vip(v.trim())));
        }
        if let Some(v) = &inst.secure_vip_address {
            targets.extend(v.split(',').map(|v| Target::secure_vip(v.trim())));
        }
    }
    for t in &targets {
        let (m, b) = (merged.instances(t), built.instances(t));
        let ids = |l: &[Arc<InstanceInfo>]| {
            let mut ids: Vec<String> = l.iter().map(|i| i.id().to_owned()).collect();
            ids.sort_unstable();
            ids
        };
        assert_eq!(ids(m), ids(b), "snapshot instances of {t:?}");
        assert!(m.iter().all(|i| b.contains(i)), "snapshot records of {t:?}");
    }
}
