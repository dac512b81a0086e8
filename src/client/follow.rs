//! Following chosen applications instead of the whole registry (issue 15): one loop per
//! app, each `GET /apps/{APP}`, waiting on the server for the next change of that app
//! when the server supports it.
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
//! Each answer is the app's full instance list. It replaces the app in the published
//! [`ClientSnapshot`](super::ClientSnapshot) through
//! [`ClientSnapshot::with_delta`](super::ClientSnapshot::with_delta) (a delta of `ADDED` for
//! what is listed, `DELETED` for what is no longer), so the other apps keep their lists,
//! and is published at once, inside the snapshot channel's lock, so that two loops never
//! publish over each other. The copy of the app is then checked against the answer's
//! hash; on a mismatch the app is fetched again, plainly.

use super::error::{Chain, Error};
use super::metrics::Event;
use super::schedule::RetryBackoff;
use super::snapshot::Target;
use super::transport::{encode_segment, CallKind, Reply};
use super::ClientState;
use crate::codec;
use crate::model::{ActionType, Application, Applications, InstanceInfo, StatusCounts};
use http::{Method, StatusCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The shortest pause between two watches of one app (a server answering at once every
/// time cannot make the client spin).
const WATCH_SPACING: Duration = Duration::from_millis(20);

/// Runs one loop per followed app until aborted (dropping the set aborts them all).
pub(crate) async fn run(shared: Arc<ClientState>, mut rng: StdRng) {
    let mut loops = JoinSet::new();
    for app in shared.config.follow_apps.clone() {
        let rng = StdRng::seed_from_u64(rng.random());
        loops.spawn(Follower::new(shared.clone(), app, rng).run());
    }
    while loops.join_next().await.is_some() {}
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
    app: String,
    rng: StdRng,
    backoff: RetryBackoff,
    held: Option<Held>,
    failing: bool,
}

impl Follower {
    fn new(shared: Arc<ClientState>, app: String, rng: StdRng) -> Self {
        let interval = shared.config.registry_fetch_interval;
        let cap = interval.saturating_mul(shared.config.cache_refresh_backoff_bound.max(1));
        Follower {
            shared,
            app,
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
                        tracing::info!(app = %self.app, "eureka app fetch recovered");
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
                        tracing::warn!(app = %self.app, error = %Chain(&e), retry_in = ?delay, "eureka app fetch failed; keeping the last copy of the app");
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
        let app = encode_segment(&self.app).into_owned();
        let transport = &self.shared.transport;
        let watched = self.watching().is_some();
        let reply = match self.watching() {
            Some(held) => {
                let wait = self.shared.config.watch_wait;
                let path = format!(
                    "apps/{app}?watch={}&hash={}&epoch={}&waitMs={}",
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
                let path = format!("apps/{app}");
                transport
                    .call(CallKind::TargetFetch, Method::GET, &path, None)
                    .await?
            }
        };
        let instances = self.instances(&reply)?;
        self.shared.metrics.count(if watched {
            Event::DeltaFetch
        } else {
            Event::FullFetch
        });
        let copy = self.install(instances);
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
            tracing::debug!(app = %self.app, local = %copy, server, "app hash mismatch, fetching it again");
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

    /// The app's instances in `reply`: a 404 is an app without instances.
    fn instances(&self, reply: &Reply) -> Result<Vec<InstanceInfo>, Error> {
        match reply.status {
            StatusCode::OK => {
                let app = codec::decode_application(&reply.body, reply.format())
                    .map_err(Error::decode)?;
                Ok(app.instances)
            }
            StatusCode::NOT_FOUND => Ok(Vec::new()),
            s => Err(Error::status(s.as_u16())),
        }
    }

    /// Replaces the app in the published snapshot by `instances`, publishing only when
    /// that changed something; returns the hash of the app's copy afterwards.
    fn install(&self, instances: Vec<InstanceInfo>) -> String {
        let target = Target::App(self.app.clone());
        let mut hash = String::new();
        self.shared.snapshot_tx.send_if_modified(|current| {
            let delta = replacement(&self.app, current.instances(&target), instances);
            let next = current.with_delta(&delta, current.generation() + 1);
            hash = counts(next.instances(&target)).hashcode();
            let changed = !current.is_fetched() || !current.same_content(&next);
            if changed {
                *current = Arc::new(next);
            }
            changed
        });
        hash
    }
}

fn counts(list: &[Arc<InstanceInfo>]) -> StatusCounts {
    list.iter().map(|i| i.status).collect()
}

/// A delta that turns `held` (the copy of `app`) into `listed`.
fn replacement(app: &str, held: &[Arc<InstanceInfo>], listed: Vec<InstanceInfo>) -> Applications {
    let mut instances: Vec<InstanceInfo> = held
        .iter()
        .filter(|h| !listed.iter().any(|l| l.id() == h.id()))
        .map(|h| {
            let mut gone = (**h).clone();
            gone.action_type = Some(ActionType::Deleted);
            gone
        })
        .collect();
    instances.extend(listed.into_iter().map(|mut i| {
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
            vec![inst("b"), inst("c")],
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
}
