//! Watch: a long poll on the delta (issue 15), an extension no Eureka has.
//!
//! `GET /apps/delta?watch=V&epoch=E` answers as soon as the registry's content changes
//! after version `V` (the `versions__delta` the client holds; entries leaving the delta
//! window move the version but do not answer a watch), or after `waitMs` (default 30 s,
//! at most 120 s) with the delta as it is; at once when `E` (the `x-eureka-watch` value
//! the client saw with `V`) is not this registry's epoch, since versions of two servers,
//! or of one server before and after a restart, do not compare. The answer is the ordinary delta payload, so a client
//! merges it and reconciles the hash exactly as after a periodic fetch. Every delta and
//! full-registry answer of this server carries `x-eureka-watch: E`, so a client knows it may watch;
//! Java servers ignore the parameter and answer at once, without the header, and Java
//! clients never send it.
//!
//! A waiting request costs its connection, one receiver of the registry's revision
//! channel ([`Registry::changes`]) and one timer for its deadline; no task of its own.
//! A change wakes every waiter once; each then serves the one encoded payload of that
//! revision from the cache.
//!
//! # Watch per target
//!
//! `GET /apps/{APP}`, `/vips/{VIP}` and `/svips/{SVIP}` take the same parameters, plus
//! `hash=H`, and wait for a change of that one target: its version (the content
//! revision of its last change, [`TargetState`]) passing `V`, or its reconcile hash (the
//! `apps__hashcode` rule over the target's instances) differing from `H`. Every answer
//! of these routes, 200 or 404, carries `x-eureka-watch: E`, `x-eureka-version: V'` and
//! `x-eureka-hash: H'` of the snapshot its body comes from: what the client sends next.
//! An unknown target is version 0 with an empty hash, so a watcher of an app that does
//! not exist yet (`watch=0&hash=`) waits for it to appear; one whose app went away is
//! answered at once (404) since the hash no longer matches.
//!
//! A watcher of an app waits on that app's own revision channel
//! ([`Registry::app_changes`]): a change of another app does not wake it. A watcher of a
//! VIP waits on the registry's channel (which apps a VIP spans changes with the records),
//! so any change wakes it, to compare two numbers of the new snapshot and go back to
//! sleep: nothing is encoded and nothing is sent. BENCHMARKS.md measures both.

use super::cache::Entity;
use super::request::Query;
use crate::registry::{Registry, RegistrySnapshot, TargetState};
use std::time::Duration;
use tokio::time::Instant;

/// The response header that says this server supports watching.
pub(super) const HEADER: &str = "x-eureka-watch";

/// The response header with a target's version (watch per target).
pub(super) const VERSION_HEADER: &str = "x-eureka-version";

/// The response header with a target's reconcile hash (watch per target).
pub(super) const HASH_HEADER: &str = "x-eureka-hash";

/// How long a watch waits when the request names no `waitMs`.
pub(super) const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// The longest wait a request may ask for.
pub(super) const MAX_WAIT: Duration = Duration::from_secs(120);

/// What the query asks.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Ask {
    /// No `watch`: an ordinary delta.
    Now,
    /// Wait until the delta version passes `after`, at most `wait`; `epoch` is the
    /// registry `after` is a version of (`None`: not said, taken as this one).
    After {
        after: u64,
        wait: Duration,
        epoch: Option<u64>,
        /// The target's hash the client holds (watch per target; ignored by the delta).
        hash: Option<String>,
    },
}

/// Reads `watch` and `waitMs`; a value that is not a number is an error naming it.
pub(super) fn ask(query: &Query) -> Result<Ask, String> {
    let Some(v) = query.get("watch") else {
        return Ok(Ask::Now);
    };
    let after = v
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("watch={v:?}: expected the versions__delta held, a number"))?;
    let wait = match query.get("waitMs") {
        None => DEFAULT_WAIT,
        Some(w) => {
            let ms = w
                .trim()
                .parse::<u64>()
                .map_err(|_| format!("waitMs={w:?}: expected milliseconds"))?;
            Duration::from_millis(ms).min(MAX_WAIT)
        }
    };
    let epoch = match query.get("epoch") {
        None => None,
        Some(e) => Some(
            e.trim()
                .parse::<u64>()
                .map_err(|_| format!("epoch={e:?}: expected the x-eureka-watch value held"))?,
        ),
    };
    let hash = query.get("hash").map(|h| h.trim().to_owned());
    if let Some(h) = &hash {
        if h.len() > 128 || !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!(
                "hash={h:?}: expected the x-eureka-hash value held, like UP_3_"
            ));
        }
    }
    Ok(Ask::After {
        after,
        wait,
        epoch,
        hash,
    })
}

/// The watch state of a per-target entity in `snap` (`None` for the whole registry and
/// the delta, which are not targets).
pub(super) fn state(snap: &RegistrySnapshot, entity: &Entity) -> Option<TargetState> {
    match entity {
        Entity::App(a) => Some(snap.app_state(a)),
        Entity::Vip(v) => Some(snap.vip_state(v)),
        Entity::SecureVip(v) => Some(snap.svip_state(v)),
        Entity::Apps | Entity::Delta => None,
    }
}

/// Whether `state` is news to a client holding version `after` and hash `hash`.
fn is_news(state: &TargetState, after: u64, hash: Option<&str>) -> bool {
    state.version > after || hash.is_some_and(|h| h != state.counts.hashcode())
}

/// Returns once the published state of `target` is news to a client holding version
/// `after` and hash `hash` (see the module docs), or at `wait`; at once when `epoch` is
/// not this registry's.
pub(super) async fn until_target_changed(
    registry: &Registry,
    target: &Entity,
    after: u64,
    hash: Option<&str>,
    wait: Duration,
    epoch: Option<u64>,
) {
    if epoch.is_some_and(|e| e != registry.epoch()) {
        return;
    }
    let deadline = Instant::now() + wait;
    // An app's watcher wakes only when its app changes; a VIP's on every change (which
    // apps a VIP spans changes with the records), to compare its state and sleep again.
    let mut changes = match target {
        Entity::App(app) => registry.app_changes(app),
        _ => registry.changes(),
    };
    let settle = registry
        .config()
        .publish_interval
        .max(Duration::from_millis(1));
    loop {
        let live = *changes.borrow_and_update();
        let snap = registry.snapshot();
        let Some(state) = state(&snap, target) else {
            return;
        };
        if is_news(&state, after, hash) {
            return;
        }
        let next = if live > snap.content_revision() {
            // Something changed that is not published yet: look again when it is.
            (Instant::now() + settle).min(deadline)
        } else {
            drop(snap);
            tokio::select! {
                r = changes.changed() => {
                    if r.is_err() {
                        return;
                    }
                    continue;
                }
                () = tokio::time::sleep_until(deadline) => return,
            }
        };
        drop(snap);
        tokio::time::sleep_until(next).await;
        if Instant::now() >= deadline {
            return;
        }
    }
}

/// Returns once the published content has changed after version `after`, or at `wait`;
/// at once when
/// `after` is a version of another registry (another server, or this one before a
/// restart: their versions do not compare).
pub(super) async fn until_past(
    registry: &Registry,
    after: u64,
    wait: Duration,
    epoch: Option<u64>,
) {
    if epoch.is_some_and(|e| e != registry.epoch()) {
        return;
    }
    let deadline = Instant::now() + wait;
    let mut changes = registry.changes();
    // A change is published at most `publish_interval` after it happened.
    let settle = registry
        .config()
        .publish_interval
        .max(Duration::from_millis(1));
    loop {
        // Only a change of the content answers: entries leaving the delta window move
        // the version but give a client nothing new.
        if registry.snapshot().content_revision() > after {
            return;
        }
        let live = *changes.borrow_and_update();
        let next = if live > after {
            // Changed but not yet published: look again when it is.
            (Instant::now() + settle).min(deadline)
        } else {
            tokio::select! {
                r = changes.changed() => {
                    if r.is_err() {
                        // The registry is gone: answer with what there is.
                        return;
                    }
                    continue;
                }
                () = tokio::time::sleep_until(deadline) => return,
            }
        };
        tokio::time::sleep_until(next).await;
        if Instant::now() >= deadline {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_read_and_bad_values_are_named() {
        assert_eq!(ask(&Query::new(None)), Ok(Ask::Now));
        assert_eq!(
            ask(&Query::new(Some("watch=7"))),
            Ok(Ask::After {
                after: 7,
                wait: DEFAULT_WAIT,
                epoch: None,
                hash: None,
            })
        );
        assert_eq!(
            ask(&Query::new(Some("watch=7&waitMs=500&epoch=3&hash=UP_2_"))),
            Ok(Ask::After {
                after: 7,
                wait: Duration::from_millis(500),
                epoch: Some(3),
                hash: Some("UP_2_".into()),
            })
        );
        assert_eq!(
            ask(&Query::new(Some("watch=7&waitMs=99999999&hash="))),
            Ok(Ask::After {
                after: 7,
                wait: MAX_WAIT,
                epoch: None,
                hash: Some(String::new()),
            })
        );
        for (q, name) in [
            ("watch=x", "watch"),
            ("watch=1&waitMs=-1", "waitMs"),
            ("watch=1&epoch=e", "epoch"),
            ("watch=1&hash=UP%3C1", "hash"),
        ] {
            match ask(&Query::new(Some(q))) {
                Err(e) => assert!(e.starts_with(name), "{e}"),
                Ok(a) => panic!("{q}: {a:?}"),
            }
        }
    }
}
