//! Startup sync (P-40, P-41): copy the peers' registries before serving registry reads.

use super::http::PeerClient;
use super::peer::Peer;
use crate::codec::{self, Format};
use crate::registry::{Origin, Registry};
use rand::seq::SliceRandom;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How the startup sync ended, for `/status`.
#[derive(Clone, Debug, Default)]
pub(crate) struct SyncReport {
    pub(crate) done: bool,
    pub(crate) copied: usize,
    pub(crate) answered: Vec<String>,
    pub(crate) gave_up: bool,
    pub(crate) rounds: u32,
}

impl SyncReport {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "state": if !self.done { "syncing" } else if self.gave_up { "opened-without-peers" } else { "done" },
            "copiedInstances": self.copied,
            "answeredBy": self.answered,
            "rounds": self.rounds,
        })
    }
}

enum Fetch {
    /// The peer's registry, copied: how many instances.
    Copied(usize),
    /// The peer is syncing itself (our own 503): it holds nothing we need.
    Syncing,
    Failed(String),
}

/// Rounds over the peers in random order until one answers, or `budget` is spent. Every
/// peer of a round is asked (the union of their registries is copied, newest record per
/// instance winning, R-11); a round where some peer answered, or where every peer is
/// syncing itself, ends the sync.
pub(crate) async fn startup_sync(
    peers: &[Arc<Peer>],
    registry: &Registry,
    client: &PeerClient,
    budget: Duration,
    retry_wait: Duration,
) -> SyncReport {
    let deadline = Instant::now() + budget;
    let mut report = SyncReport::default();
    let mut order: Vec<&Arc<Peer>> = peers.iter().collect();
    loop {
        report.rounds += 1;
        order.shuffle(&mut rand::rng());
        let (mut answered, mut syncing) = (0, 0);
        for peer in &order {
            match fetch(peer, registry, client).await {
                Fetch::Copied(n) => {
                    answered += 1;
                    report.copied += n;
                    report.answered.push(peer.url.base());
                    tracing::info!(peer = %peer.url, instances = n, "startup sync: copied the peer's registry");
                }
                Fetch::Syncing => syncing += 1,
                Fetch::Failed(e) => {
                    tracing::info!(peer = %peer.url, error = %e, "startup sync: peer did not answer");
                }
            }
        }
        if answered > 0 || syncing == order.len() {
            report.done = true;
            return report;
        }
        if Instant::now() + retry_wait >= deadline {
            tracing::warn!(
                rounds = report.rounds,
                "startup sync: no peer answered within the budget; opening with what this node has"
            );
            report.done = true;
            report.gave_up = true;
            return report;
        }
        tokio::time::sleep(retry_wait).await;
    }
}

async fn fetch(peer: &Peer, registry: &Registry, client: &PeerClient) -> Fetch {
    let answer = match client.get_json(&peer.url.join("apps/")).await {
        Ok(a) => a,
        Err(e) => return Fetch::Failed(e.to_string()),
    };
    if answer.status.as_u16() == 503 && answer.syncing {
        return Fetch::Syncing;
    }
    if !answer.status.is_success() {
        return Fetch::Failed(format!("answered {}", answer.status));
    }
    let apps = match codec::decode_applications(&answer.body, Format::Json) {
        Ok(a) => a,
        Err(e) => return Fetch::Failed(format!("unreadable registry: {e}")),
    };
    let mut n = 0;
    for app in apps.applications {
        for inst in app.instances {
            if registry.register(inst, Origin::Sync).is_ok() {
                n += 1;
            }
        }
    }
    Fetch::Copied(n)
}
