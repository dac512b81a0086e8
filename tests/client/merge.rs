//! Property test of the delta merge (C-21, C-22) against a model server that builds deltas
//! the way Eureka does: the latest state of every id changed in the window,
//! `DELETED` entries with their last state, the hash of the whole registry.

use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, HashMap};
use tower_eureka::client::{apply_delta, ClientSnapshot, Target};
use tower_eureka::model::{ActionType, Applications, InstanceInfo, Status};

type Key = (String, String);

#[derive(Default)]
struct ModelServer {
    live: BTreeMap<Key, InstanceInfo>,
    /// Last state and action of every id ever touched.
    last: HashMap<Key, InstanceInfo>,
    /// (time, key) of every change.
    log: Vec<(u64, Key)>,
    version: i64,
}

impl ModelServer {
    fn record(&mut self, now: u64, inst: InstanceInfo) {
        let key = (inst.app.clone(), inst.id().to_owned());
        self.log.push((now, key.clone()));
        self.last.insert(key, inst);
    }

    fn register(&mut self, now: u64, app: &str, host: &str, status: Status) {
        let mut i = InstanceInfo::builder(app).host_name(host).build();
        i.status = status;
        i.last_dirty_timestamp = now;
        i.action_type = Some(ActionType::Added);
        self.live
            .insert((i.app.clone(), i.id().to_owned()), i.clone());
        self.record(now, i);
    }

    fn modify(&mut self, now: u64, key: &Key, status: Status) {
        let Some(i) = self.live.get_mut(key) else {
            return;
        };
        i.status = status;
        i.metadata.insert("changed", now.to_string());
        i.action_type = Some(ActionType::Modified);
        let i = i.clone();
        self.record(now, i);
    }

    fn cancel(&mut self, now: u64, key: &Key) {
        let Some(mut i) = self.live.remove(key) else {
            return;
        };
        i.action_type = Some(ActionType::Deleted);
        i.lease_info.eviction_timestamp = now;
        self.record(now, i);
    }

    fn full(&self) -> Applications {
        Applications::from_instances(self.live.values().cloned())
    }

    fn delta<R: Rng>(&mut self, now: u64, window: u64, rng: &mut R) -> Applications {
        let mut keys: Vec<&Key> = self
            .log
            .iter()
            .filter(|(t, _)| *t + window > now)
            .map(|(_, k)| k)
            .collect();
        keys.sort();
        keys.dedup();
        let mut entries: Vec<InstanceInfo> = keys
            .into_iter()
            .filter_map(|k| self.last.get(k).cloned())
            .collect();
        // Clients must not depend on the order of entries.
        entries.shuffle(rng);
        self.version += 1;
        let mut d = Applications::from_instances(entries);
        d.versions_delta = self.version;
        d.apps_hashcode = Some(self.full().compute_hashcode());
        d
    }
}

/// Order-insensitive view of a copy.
fn normalized(apps: &Applications) -> BTreeMap<Key, InstanceInfo> {
    apps.instances()
        .map(|i| ((i.app.clone(), i.id().to_owned()), i.clone()))
        .collect()
}

fn random_status<R: Rng>(rng: &mut R) -> Status {
    if rng.random_bool(0.7) {
        Status::Up
    } else {
        *Status::ALL.choose(rng).unwrap_or(&Status::Up)
    }
}

fn random_ops<R: Rng>(server: &mut ModelServer, now: u64, rng: &mut R) {
    const APPS: [&str; 4] = ["orders", "billing", "search", "Mixed-Case"];
    const HOSTS: [&str; 6] = ["h1", "h2", "h3", "h4", "h5", "h6"];
    for _ in 0..rng.random_range(0..5) {
        let keys: Vec<Key> = server.live.keys().cloned().collect();
        match rng.random_range(0..10) {
            0..=3 => {
                let app = APPS.choose(rng).unwrap_or(&"orders");
                let host = HOSTS.choose(rng).unwrap_or(&"h1");
                let status = random_status(rng);
                server.register(now, app, host, status);
            }
            4..=6 => {
                if let Some(k) = keys.choose(rng) {
                    let status = random_status(rng);
                    server.modify(now, k, status);
                }
            }
            _ => {
                if let Some(k) = keys.choose(rng) {
                    server.cancel(now, k);
                }
            }
        }
    }
}

// C-21, C-22, R-81, R-82: with a delta window at least as long as the fetch gap, every
// merged copy equals the server's registry and its hash matches.
#[test]
fn c21_c22_merged_copy_tracks_the_registry() {
    for seed in 0..40u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut server = ModelServer::default();
        let mut now = 0;
        for _ in 0..rng.random_range(0..8) {
            random_ops(&mut server, now, &mut rng);
            now += 1;
        }
        let mut copy = server.full();
        let gap = 30;
        let window = gap * rng.random_range(1..=6);
        for step in 0..60 {
            // Changes happen at distinct times between fetches.
            for _ in 0..rng.random_range(0..4) {
                now += rng.random_range(1..gap / 3);
                random_ops(&mut server, now, &mut rng);
            }
            now = (now / gap + 1) * gap;
            let delta = server.delta(now, window, &mut rng);
            let merged = apply_delta(&copy, &delta);
            let full = server.full();
            assert_eq!(
                Some(merged.compute_hashcode()),
                delta.apps_hashcode,
                "seed {seed} step {step}: hash"
            );
            assert_eq!(
                normalized(&merged),
                normalized(&full),
                "seed {seed} step {step}: content"
            );
            assert_eq!(merged.versions_delta, delta.versions_delta);
            // C-22: overlapping deltas: applying the same one again changes nothing.
            assert_eq!(
                normalized(&apply_delta(&merged, &delta)),
                normalized(&merged)
            );
            copy = merged;
        }
    }
}

// C-21a (Netflix/eureka#1528): an app missing locally gets only the ADDED instance, never
// the delta's DELETED entries of the same app.
#[test]
fn c21a_no_ghosts_from_a_new_app() {
    let mut server = ModelServer::default();
    server.register(1, "orders", "o1", Status::Up);
    let copy = server.full();
    server.register(2, "billing", "b1", Status::Up);
    server.register(3, "billing", "b2", Status::Up);
    let b2 = ("BILLING".to_owned(), "b2:billing:8080".to_owned());
    server.cancel(4, &b2);
    let mut rng = StdRng::seed_from_u64(0);
    let delta = server.delta(5, 180, &mut rng);
    // o1 (still in the window), b1 ADDED, b2 DELETED.
    assert_eq!(delta.instances().count(), 3);
    let merged = apply_delta(&copy, &delta);
    let billing = merged.application("billing").unwrap();
    assert_eq!(billing.instances.len(), 1);
    assert_eq!(billing.instances[0].host_name, "b1");
    assert_eq!(Some(merged.compute_hashcode()), delta.apps_hashcode);
}

/// Gives every instance VIPs derived from its host (so full and delta agree): some shared
/// across apps in mixed case, some per host.
fn with_vips(mut apps: Applications) -> Applications {
    for app in &mut apps.applications {
        for i in &mut app.instances {
            let shared = match i.host_name.as_str() {
                "h1" | "h2" => "Shared",
                "h3" => "shared,SHARED",
                _ => "other",
            };
            i.vip_address = Some(format!("{shared},{}", i.host_name));
            i.secure_vip_address = Some(format!("{}-s", i.app.to_lowercase()));
        }
    }
    apps
}

/// Everything a reader of a snapshot can see, in order.
fn visible(s: &ClientSnapshot) -> Vec<(String, Vec<InstanceInfo>)> {
    let mut out: Vec<(String, Vec<InstanceInfo>)> = s
        .app_names()
        .map(|a| {
            let list = s.instances(&Target::app(a));
            (a.to_owned(), list.iter().map(|i| (**i).clone()).collect())
        })
        .collect();
    let all: Vec<&InstanceInfo> = s
        .app_names()
        .flat_map(|a| s.instances(&Target::app(a)).iter().map(|i| &**i))
        .collect();
    let names = |secure: bool| {
        let mut names: Vec<String> = all
            .iter()
            .flat_map(|i| match secure {
                false => i.vip_addresses().collect::<Vec<_>>(),
                true => i.secure_vip_addresses().collect(),
            })
            .map(str::to_owned)
            .collect();
        names.sort();
        names.dedup();
        names
    };
    for (secure, v) in names(false)
        .into_iter()
        .map(|v| (false, v))
        .chain(names(true).into_iter().map(|v| (true, v)))
    {
        let target = if secure {
            Target::secure_vip(&v)
        } else {
            Target::vip(&v)
        };
        let list = s.instances(&target);
        out.push((
            format!("{target:?}"),
            list.iter().map(|i| (**i).clone()).collect(),
        ));
    }
    out.push((
        format!("{} {} {}", s.hashcode(), s.len(), s.versions_delta()),
        vec![],
    ));
    out
}

// C-21, C-23: the client's copy-on-write merge (`ClientSnapshot::with_delta`, what the
// fetcher runs) shows exactly what a snapshot built from `apply_delta`'s result shows:
// same apps in the same order, same lists, same VIP lists, hash, size and version.
#[test]
fn c21_c23_snapshot_merge_equals_apply_delta() {
    for seed in 0..40u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut server = ModelServer::default();
        let mut now = 0;
        for _ in 0..rng.random_range(0..8) {
            random_ops(&mut server, now, &mut rng);
            now += 1;
        }
        let mut copy = with_vips(server.full());
        let mut snap = ClientSnapshot::from_applications(&copy, 1);
        for step in 0..60 {
            for _ in 0..rng.random_range(0..4) {
                now += rng.random_range(1..10);
                random_ops(&mut server, now, &mut rng);
            }
            now = (now / 30 + 1) * 30;
            let delta = with_vips(server.delta(now, 30 * rng.random_range(1..=6), &mut rng));
            copy = apply_delta(&copy, &delta);
            snap = snap.with_delta(&delta, step + 2);
            assert_eq!(
                visible(&snap),
                visible(&ClientSnapshot::from_applications(&copy, step + 2)),
                "seed {seed} step {step}"
            );
            assert_eq!(Some(snap.hashcode().to_owned()), delta.apps_hashcode);
        }
    }
}
