//! Anti-entropy (P-35): compare with a peer through the standard `GET {peer}apps/` only
//! (so Java peers take part unchanged) and repair where this node holds the client's last
//! write. A `Register` goes out for every instance where this node's copy should win: the
//! peer holds an older `lastDirtyTimestamp` (or the same one with another status), or
//! lacks an instance whose last client write reached this node
//! ([`Registry::holds_client_write`]). A `Cancel` goes out for every instance a client
//! cancelled on this node that the peer still lists in the same or an older incarnation
//! (its `lastDirtyTimestamp` is not newer than the cancelled one,
//! [`Registry::client_cancels`]) and that this node does not hold again. Runs every [`anti_entropy_interval`](super::ClusterConfig::anti_entropy_interval)
//! and after a loss (a circuit closed again, a task dropped), once the queue has drained.
//! A round that cannot read the peer's list is tried again sooner, with the crate's
//! back-off (at most 1 s, doubling up to the interval, full jitter): a new peer's first
//! round must not wait the whole interval for one failed `GET`.

use super::http::Transport;
use super::peer::Peer;
use super::queue::TaskKey;
use super::ClusterConfig;
use crate::backoff::RetryBackoff;
use crate::codec::{self, Format};
use crate::registry::Registry;
use crate::server::WriteKind;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// The ceiling of the wait before the first retry of a round that could not read the
/// peer's list; it doubles with each failed round up to the interval (full jitter below).
const FIRST_RETRY: Duration = Duration::from_secs(1);

pub(crate) async fn run<T: Transport>(
    peer: Arc<Peer>,
    registry: Registry,
    client: T,
    config: Arc<ClusterConfig>,
    mut stop: tokio::sync::watch::Receiver<()>,
) {
    if config.anti_entropy_interval.is_zero() {
        return;
    }
    let work = async {
        // `Some(wait)` after a failed round: the next comes sooner than the interval, with
        // jitter, so that peers that failed together do not retry together.
        let mut backoff = RetryBackoff::new(FIRST_RETRY, config.anti_entropy_interval);
        let mut retry: Option<Duration> = None;
        loop {
            // (An interval under the first retry's 1 s bound still caps the wait.)
            let wait = retry.map_or(config.anti_entropy_interval, |r| {
                r.min(config.anti_entropy_interval)
            });
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = peer.repair.notified() => {}
            }
            // Let the queue drain first: what it still holds needs no repair.
            for _ in 0..60 {
                if crate::sync::lock(&peer.queue).is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            retry = if round(&peer, &registry, &client).await {
                backoff.reset();
                None
            } else {
                Some(backoff.fail(&mut rand::rng()))
            };
        }
    };
    tokio::select! {
        () = work => {}
        _ = stop.changed() => {}
    }
}

/// One round; false when the peer's list could not be read (nothing was compared).
async fn round<T: Transport>(peer: &Peer, registry: &Registry, client: &T) -> bool {
    let answer = match client.get_json(&peer.url.join("apps/")).await {
        Ok(a) if a.status.is_success() => a,
        Ok(a) => {
            tracing::debug!(peer = %peer.url, status = %a.status, "anti-entropy: peer did not answer");
            return false;
        }
        Err(e) => {
            tracing::debug!(peer = %peer.url, error = %e, "anti-entropy: peer did not answer");
            return false;
        }
    };
    let Ok(apps) = codec::decode_applications(&answer.body, Format::Json) else {
        tracing::debug!(peer = %peer.url, "anti-entropy: the peer's list did not decode");
        return false;
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
    peer.repair_rounds.fetch_add(1, Ordering::Relaxed);
    // Every write so far, not the snapshot of up to `publish_interval` ago: an instance
    // registered just before the round must be compared too.
    let snap = registry.snapshot_current();
    let mut repair = Vec::new();
    for (app, list) in snap.apps() {
        for inst in list {
            let id = inst.id();
            let needed = match theirs.get(&(app.to_owned(), id.to_owned())) {
                Some((ldt, status)) => {
                    *ldt < inst.last_dirty_timestamp
                        || (*ldt == inst.last_dirty_timestamp && *status != inst.status)
                }
                None => registry.holds_client_write(app, id),
            };
            if needed {
                repair.push(TaskKey::new(WriteKind::Register, app, id));
            }
        }
    }
    for (app, id, cancelled_ldt) in registry.client_cancels() {
        let stale = theirs
            .get(&(app.to_string(), id.to_string()))
            .is_some_and(|(ldt, _)| *ldt <= cancelled_ldt);
        if stale && snap.instance(&app, &id).is_none() {
            repair.push(TaskKey::new(WriteKind::Cancel, &app, &id));
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
    true
}
