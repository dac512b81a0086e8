//! Following chosen targets instead of the whole registry (issue 15): one loop per
//! target, each `GET /apps/{APP}` (or `/vips/{VIP}`, `/svips/{SVIP}`), waiting on the
//! server for the next change of that target when the server supports it.
//!
//! A loop holds what the server's last answer said about its app (`x-eureka-watch`,
//! `x-eureka-version`, `x-eureka-hash`) and sends it back as
//! `?watch=V&hash=H&epoch=E&waitMs=W`: the server answers when the app changed after
//! that, at the wait, or at once on another epoch. A 404 is an answer too (no such app,
//! yet: version 0, empty hash), so a client started before its dependency waits for it.
//! Without the headers (a Java server, which ignores the parameters) the loop fetches
//! every fetch interval. Failures back off as the whole-registry fetcher does; failover
//! across server URLs is the transport's.
//!
//! Each answer is the target's full instance list, checked against the answer's hash (on
//! a mismatch the target is fetched again, plainly). The last answer of every target is
//! kept; an app's list in the published [`ClientSnapshot`](super::ClientSnapshot) is the
//! union of what the answers of all targets hold of it (an app and a VIP spanning it may
//! both be followed; where two answers hold one instance, the newer answer's record
//! wins). Each answer re-makes the apps it touches through
//! [`ClientSnapshot::with_delta`](super::ClientSnapshot::with_delta) (a delta of `ADDED`
//! for what is listed, `DELETED` for what is no longer), so the other apps keep their
//! lists, and is published at once, inside the snapshot channel's lock, so that two loops
//! never publish over each other.

use super::error::{Chain, Error};
use super::metrics::Event;
use super::snapshot::Target;
use super::transport::{encode_segment, CallKind, Reply};
use super::ClientState;
use crate::backoff::RetryBackoff;
use crate::codec;
use crate::model::{
    normalize_app_name, ActionType, Application, Applications, InstanceInfo, StatusCounts,
};
use crate::sync::lock;
use http::{Method, StatusCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The shortest pause between two watches of one app (a server answering at once every
/// time cannot make the client spin).
const WATCH_SPACING: Duration = Duration::from_millis(20);

/// Runs one loop per followed target until aborted (dropping the set aborts them all).
pub(crate) async fn run(shared: Arc<ClientState>, mut rng: StdRng) {
    let mut loops = JoinSet::new();
    let answers = Arc::new(Mutex::new(Answers::default()));
    for target in shared.config.follow.clone() {
        let rng = StdRng::seed_from_u64(rng.random());
        loops.spawn(Follower::new(shared.clone(), target, answers.clone(), rng).run());
    }
    while loops.join_next().await.is_some() {}
}

/// One answer's instances, by app name.
type ByApp = HashMap<String, Vec<Arc<InstanceInfo>>>;

/// The last answer of each target, by app, with the answer's sequence number.
#[derive(Default)]
struct Answers {
    seq: u64,
    by_target: HashMap<Target, (u64, ByApp)>,
}

impl Answers {
    /// Stores `target`'s answer; returns the apps it touched (held before or now).
    fn store(&mut self, target: &Target, listed: Vec<InstanceInfo>) -> BTreeSet<String> {
        self.seq += 1;
        let mut by_app = ByApp::new();
        for i in listed {
            by_app
                .entry(normalize_app_name(&i.app))
                .or_default()
                .push(Arc::new(i));
        }
        let mut touched: BTreeSet<String> = by_app.keys().cloned().collect();
        if let Some((_, old)) = self.by_target.insert(target.clone(), (self.seq, by_app)) {
            touched.extend(old.into_keys());
        }
        touched
    }

    /// The union of what the answers hold of `app`; the newest answer's record wins.
    fn app(&self, app: &str) -> Vec<Arc<InstanceInfo>> {
        let mut held: Vec<&(u64, ByApp)> = self.by_target.values().collect();
        held.sort_by_key(|(seq, _)| std::cmp::Reverse(*seq));
        let mut out: Vec<Arc<InstanceInfo>> = Vec::new();
        for (_, by_app) in held {
            for i in by_app.get(app).into_iter().flatten() {
                if !out.iter().any(|o| o.id() == i.id()) {
                    out.push(i.clone());
                }
            }
        }
        out
    }
}

/// What the server said about the app in its last answer: what the next watch sends.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    epoch: String,
    version: u64,
    hash: String,
}

/// How a poll went, for the pause before the next.
enum Outcome {
    /// The server supports watching: watch again, at once.
    Watch,
    /// A plain answer (a server without watching): poll at the fetch interval.
    Poll,
    /// The copy disagreed with the answer's hash: fetch plainly, at once.
    Refetch,
}

struct Follower {
    shared: Arc<ClientState>,
    target: Target,
    /// The target as a path: `apps/ORDERS`, `vips/orders`, `svips/orders`.
    path: String,
    answers: Arc<Mutex<Answers>>,
    rng: StdRng,
    backoff: RetryBackoff,
    held: Option<Held>,
    failing: bool,
}

impl Follower {
    fn new(
        shared: Arc<ClientState>,
        target: Target,
        answers: Arc<Mutex<Answers>>,
        rng: StdRng,
    ) -> Self {
        let interval = shared.config.registry_fetch_interval;
        let cap = interval.saturating_mul(shared.config.cache_refresh_backoff_bound.max(1));
        let path = match &target {
            Target::App(a) => format!("apps/{}", encode_segment(a)),
            Target::Vip(v) => format!("vips/{}", encode_segment(v)),
            Target::SecureVip(v) => format!("svips/{}", encode_segment(v)),
        };
        Follower {
            shared,
            target,
            path,
            answers,
            rng,
            backoff: RetryBackoff::new(interval, cap),
            held: None,
            failing: false,
        }
    }

    async fn run(mut self) {
        loop {
            let delay = match self.poll().await {
                Ok(outcome) => {
                    self.backoff.reset();
                    if self.failing {
                        self.failing = false;
                        tracing::info!(target = ?self.target, "eureka target fetch recovered");
                    }
                    match outcome {
                        Outcome::Watch => WATCH_SPACING,
                        Outcome::Refetch => Duration::ZERO,
                        Outcome::Poll => self.shared.config.registry_fetch_interval,
                    }
                }
                Err(e) => {
                    self.shared.metrics.count(Event::FetchError);
                    // Whatever answers next may not support watching: ask it plainly.
                    self.held = None;
                    let delay = self.backoff.fail(&mut self.rng);
                    if !self.failing {
                        self.failing = true;
                        tracing::warn!(target = ?self.target, error = %Chain(&e), retry_in = ?delay, "eureka target fetch failed; keeping the last copy of it");
                    }
                    delay
                }
            };
            tokio::time::sleep(delay).await;
        }
    }

    fn watching(&self) -> Option<&Held> {
        self.held
            .as_ref()
            .filter(|_| !self.shared.config.watch_wait.is_zero())
    }

    async fn poll(&mut self) -> Result<Outcome, Error> {
        let target = &self.path;
        let transport = &self.shared.transport;
        let watched = self.watching().is_some();
        let reply = match self.watching() {
            Some(held) => {
                let wait = self.shared.config.watch_wait;
                let path = format!(
                    "{target}?watch={}&hash={}&epoch={}&waitMs={}",
                    held.version,
                    held.hash,
                    held.epoch,
                    wait.as_millis()
                );
                let timeout = wait + self.shared.config.read_timeout;
                transport
                    .call_within(
                        CallKind::TargetFetch,
                        Method::GET,
                        &path,
                        None,
                        Some(timeout),
                    )
                    .await?
            }
            None => {
                transport
                    .call(CallKind::TargetFetch, Method::GET, target, None)
                    .await?
            }
        };
        let instances = self.instances(&reply)?;
        self.shared.metrics.count(if watched {
            Event::DeltaFetch
        } else {
            Event::FullFetch
        });
        let copy = counts(instances.iter()).hashcode();
        self.install(instances);
        self.shared.fetched_now(Instant::now());
        self.held = match (&reply.watch, &reply.target) {
            (Some(epoch), Some((version, hash))) => Some(Held {
                epoch: epoch.clone(),
                version: *version,
                hash: hash.clone(),
            }),
            _ => None,
        };
        let Some(server) = self.held.as_ref().map(|h| h.hash.as_str()) else {
            return Ok(Outcome::Poll);
        };
        if copy != server {
            self.shared.metrics.count(Event::ReconcileMismatch);
            tracing::debug!(target = ?self.target, local = %copy, server, "target hash mismatch, fetching it again");
            self.held = None;
            // A plain answer that disagrees too is kept (it is what the server sent);
            // the next look is at the fetch interval.
            return Ok(if watched {
                Outcome::Refetch
            } else {
                Outcome::Poll
            });
        }
        Ok(if self.watching().is_some() {
            Outcome::Watch
        } else {
            // The server could be watched but watching is off: poll.
            Outcome::Poll
        })
    }

    /// The target's instances in `reply`: a 404 is a target without instances.
    fn instances(&self, reply: &Reply) -> Result<Vec<InstanceInfo>, Error> {
        match reply.status {
            StatusCode::OK => match self.target {
                Target::App(_) => {
                    let app = codec::decode_application(&reply.body, reply.format())
                        .map_err(Error::decode)?;
                    let name = app.name;
                    Ok(app
                        .instances
                        .into_iter()
                        .map(|mut i| {
                            if i.app.is_empty() {
                                i.app.clone_from(&name);
                            }
                            i
                        })
                        .collect())
                }
                Target::Vip(_) | Target::SecureVip(_) => {
                    let apps = codec::decode_applications(&reply.body, reply.format())
                        .map_err(Error::decode)?;
                    Ok(apps
                        .applications
                        .into_iter()
                        .flat_map(|a| {
                            let name = a.name;
                            a.instances.into_iter().map(move |mut i| {
                                if i.app.is_empty() {
                                    i.app.clone_from(&name);
                                }
                                i
                            })
                        })
                        .collect())
                }
            },
            StatusCode::NOT_FOUND => Ok(Vec::new()),
            s => Err(Error::status(s.as_u16())),
        }
    }

    /// Stores the answer and re-makes the apps it touches in the published snapshot,
    /// publishing only when that changed something.
    fn install(&self, instances: Vec<InstanceInfo>) {
        self.shared.snapshot_tx.send_if_modified(|current| {
            let mut answers = lock(&self.answers);
            let touched = answers.store(&self.target, instances);
            let mut next = (**current).clone();
            for app in touched {
                let listed = answers.app(&app);
                let delta = replacement(&app, next.instances(&Target::App(app.clone())), listed);
                next = next.with_delta(&delta, 0);
            }
            drop(answers);
            let changed = !current.is_fetched() || !current.same_content(&next);
            if changed {
                *current = Arc::new(next.fetched_as(current.generation() + 1));
            }
            changed
        });
    }
}

fn counts<'a>(list: impl Iterator<Item = &'a InstanceInfo>) -> StatusCounts {
    list.map(|i| i.status).collect()
}

/// A delta that turns `held` (the copy of `app`) into `listed`.
fn replacement(
    app: &str,
    held: &[Arc<InstanceInfo>],
    listed: Vec<Arc<InstanceInfo>>,
) -> Applications {
    let mut instances: Vec<InstanceInfo> = held
        .iter()
        .filter(|h| !listed.iter().any(|l| l.id() == h.id()))
        .map(|h| {
            let mut gone = (**h).clone();
            gone.action_type = Some(ActionType::Deleted);
            gone
        })
        .collect();
    instances.extend(listed.into_iter().map(|i| {
        let mut i = Arc::unwrap_or_clone(i);
        i.action_type = Some(ActionType::Added);
        i
    }));
    Applications {
        versions_delta: -1,
        apps_hashcode: None,
        applications: vec![Application {
            name: app.to_owned(),
            instances,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientSnapshot;

    fn inst(id: &str) -> InstanceInfo {
        InstanceInfo::builder("ORDERS").instance_id(id).build()
    }

    #[test]
    fn a_replacement_turns_the_copy_into_the_answer_and_shares_the_rest() {
        let full = Applications::from_instances([inst("a"), inst("b"), {
            InstanceInfo::builder("BILLING").instance_id("x").build()
        }]);
        let first = ClientSnapshot::from_applications(&full, 1);
        let orders = Target::app("orders");
        let delta = replacement(
            "ORDERS",
            first.instances(&orders),
            vec![Arc::new(inst("b")), Arc::new(inst("c"))],
        );
        let next = first.with_delta(&delta, 2);
        let ids: Vec<&str> = next.instances(&orders).iter().map(|i| i.id()).collect();
        assert_eq!(ids, ["b", "c"]);
        let billing = Target::app("billing");
        assert_eq!(
            first.instances(&billing).as_ptr(),
            next.instances(&billing).as_ptr(),
            "BILLING is shared"
        );
        // An empty answer (404) removes the app.
        let gone = replacement("ORDERS", next.instances(&orders), Vec::new());
        assert!(next.with_delta(&gone, 3).instances(&orders).is_empty());
    }

    #[test]
    fn an_app_is_the_union_of_what_the_answers_hold_of_it_the_newest_winning() {
        let mut answers = Answers::default();
        let app = Target::app("orders");
        let vip = Target::vip("shared");
        let touched = answers.store(&app, vec![inst("a"), inst("b")]);
        assert_eq!(touched.into_iter().collect::<Vec<_>>(), ["ORDERS"]);
        let mut b2 = inst("b");
        b2.status = crate::model::Status::Down;
        let other = InstanceInfo::builder("BILLING").instance_id("x").build();
        let touched = answers.store(&vip, vec![b2, other]);
        assert_eq!(
            touched.into_iter().collect::<Vec<_>>(),
            ["BILLING", "ORDERS"]
        );
        let orders = answers.app("ORDERS");
        let got: Vec<(&str, crate::model::Status)> =
            orders.iter().map(|i| (i.id(), i.status)).collect();
        assert_eq!(
            got,
            [
                ("b", crate::model::Status::Down),
                ("a", crate::model::Status::Up)
            ]
        );
        // The VIP's next answer no longer holds BILLING: it is touched, and gone.
        let touched = answers.store(&vip, Vec::new());
        assert!(touched.contains("BILLING"));
        assert!(answers.app("BILLING").is_empty());
        assert_eq!(answers.app("ORDERS").len(), 2);
    }
}
