//! Anti-entropy (P-35): compare with a peer through the standard `GET {peer}apps/` only
//! (so Java peers take part unchanged) and queue a `Register` for every instance where
//! this node's copy should win: the peer holds an older `lastDirtyTimestamp` (or the same
//! one with another status), or lacks an instance whose last client write reached this
//! node. Runs every [`anti_entropy_interval`](super::ClusterConfig::anti_entropy_interval)
//! and after a loss (a circuit closed again, a task dropped), once the queue has drained.

use super::http::PeerClient;
use super::peer::Peer;
use super::queue::TaskKey;
use super::ClusterConfig;
use crate::codec::{self, Format};
use crate::registry::Registry;
use crate::server::WriteKind;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Instances whose last write on this node came from a client (not from a peer), so this
/// node may repair a peer that lacks them. Pruned of instances this node no longer holds.
pub(crate) type Owned = Arc<Mutex<HashSet<(Arc<str>, Arc<str>)>>>;

pub(crate) async fn run(
    peer: Arc<Peer>,
    registry: Registry,
    client: PeerClient,
    config: Arc<ClusterConfig>,
    owned: Owned,
    mut stop: tokio::sync::watch::Receiver<()>,
) {
    if config.anti_entropy_interval.is_zero() {
        return;
    }
    let work = async {
        loop {
            tokio::select! {
                () = tokio::time::sleep(config.anti_entropy_interval) => {}
                () = peer.repair.notified() => {}
            }
            // Let the queue drain first: what it still holds needs no repair.
            for _ in 0..60 {
                if crate::sync::lock(&peer.queue).is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            round(&peer, &registry, &client, &owned).await;
        }
    };
    tokio::select! {
        () = work => {}
        _ = stop.changed() => {}
    }
}

async fn round(peer: &Peer, registry: &Registry, client: &PeerClient, owned: &Owned) {
    let answer = match client.get_json(&peer.url.join("apps/")).await {
        Ok(a) if a.status.is_success() => a,
        Ok(a) => {
            tracing::debug!(peer = %peer.url, status = %a.status, "anti-entropy: peer did not answer");
            return;
        }
        Err(e) => {
            tracing::debug!(peer = %peer.url, error = %e, "anti-entropy: peer did not answer");
            return;
        }
    };
    let Ok(apps) = codec::decode_applications(&answer.body, Format::Json) else {
        return;
    };
    let mut theirs: HashMap<(String, String), (u64, crate::model::Status)> = HashMap::new();
    for app in apps.applications {
        for i in app.instances {
            theirs.insert(
                (i.app.clone(), i.id().to_owned()),
                (i.last_dirty_timestamp, i.status),
            );
        }
    }
    let snap = registry.snapshot();
    let mut repair = Vec::new();
    {
        let mut own = crate::sync::lock(owned);
        own.retain(|(app, id)| snap.instance(app, id).is_some());
        for (app, list) in snap.apps() {
            for inst in list {
                let id = inst.id();
                let key = (app.to_owned(), id.to_owned());
                let needed = match theirs.get(&key) {
                    Some((ldt, status)) => {
                        *ldt < inst.last_dirty_timestamp
                            || (*ldt == inst.last_dirty_timestamp && *status != inst.status)
                    }
                    None => own.contains(&(Arc::from(app), Arc::from(id))),
                };
                if needed {
                    repair.push(TaskKey::new(WriteKind::Register, app, id));
                }
            }
        }
    }
    if !repair.is_empty() {
        tracing::info!(peer = %peer.url, instances = repair.len(), "anti-entropy: repairing the peer");
        peer.repairs
            .fetch_add(repair.len() as u64, Ordering::Relaxed);
        for k in repair {
            peer.enqueue(k);
        }
    }
}
