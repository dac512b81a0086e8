//! Registry fetching: full and delta fetches (C-20), the reconcile check (C-22), version
//! handling (C-24), publication of changed copies only (C-23) and keeping the last copy
//! through outages (C-25).
//!
//! The copy is the snapshot itself: a delta is merged into it copy-on-write
//! ([`ClientSnapshot::with_delta`], rules in `merge.rs`), so adopting a delta costs in
//! proportion to what it changes. The task decides what to fetch, checks the hash and
//! publishes.

use super::error::{Chain, Error};
use super::metrics::Event;
use super::snapshot::ClientSnapshot;
use super::transport::CallKind;
use super::ClientState;
use crate::backoff::RetryBackoff;
use crate::codec;
use crate::model::Applications;
use http::{Method, StatusCode};
use rand::rngs::StdRng;
use std::sync::Arc;
use tokio::time::Instant;

// === the fetch task ===

/// Why a delta was not applied and a full fetch follows (C-20, C-22).
#[derive(Debug)]
enum NeedFull {
    Status(StatusCode),
    Failed(Error),
    NoHash,
    Mismatch { local: String, server: String },
}

impl std::fmt::Display for NeedFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NeedFull::Status(s) => write!(f, "delta answered {s}"),
            NeedFull::Failed(e) => write!(f, "delta failed: {}", Chain(e)),
            NeedFull::NoHash => f.write_str("delta carries no apps__hashcode"),
            NeedFull::Mismatch { local, server } => {
                write!(
                    f,
                    "reconcile hash mismatch: local {local:?}, server {server:?}"
                )
            }
        }
    }
}

/// The fetch loop: full at start, then deltas every fetch interval.
pub(crate) struct Fetcher {
    shared: Arc<ClientState>,
    rng: StdRng,
    backoff: RetryBackoff,
    /// The last reconciled copy. Its generation is the last published one; it differs from
    /// the published snapshot at most by renewal timestamps and `versions__delta`.
    current: Option<Arc<ClientSnapshot>>,
    /// Generation of the last published snapshot.
    generation: u64,
    failing: bool,
    /// The server answered the last fetch with `x-eureka-watch` (this value, the epoch of
    /// its versions): the next delta may wait for a change (issue 15).
    watchable: Option<String>,
}

/// The shortest pause between two watching deltas, so that a server answering at once
/// every time cannot make the client spin.
const WATCH_SPACING: std::time::Duration = std::time::Duration::from_millis(20);

impl Fetcher {
    pub(crate) fn new(shared: Arc<ClientState>, rng: StdRng) -> Self {
        let interval = shared.config.registry_fetch_interval;
        let cap = interval.saturating_mul(shared.config.cache_refresh_backoff_bound.max(1));
        Fetcher {
            shared,
            rng,
            backoff: RetryBackoff::new(interval, cap),
            current: None,
            generation: 0,
            failing: false,
            watchable: None,
        }
    }

    pub(crate) async fn run(mut self) {
        loop {
            let delay = match self.fetch_once().await {
                Ok(()) if self.watching() => {
                    self.backoff.reset();
                    WATCH_SPACING
                }
                Ok(()) => {
                    self.backoff.reset();
                    self.shared.config.registry_fetch_interval
                }
                Err(e) => {
                    self.shared.metrics.count(Event::FetchError);
                    let delay = self.backoff.fail(&mut self.rng);
                    self.on_failure(&e, delay);
                    delay
                }
            };
            tokio::time::sleep(delay).await;
        }
    }

    fn on_failure(&mut self, e: &Error, retry_in: std::time::Duration) {
        let age = self.shared.registry_age();
        if !self.failing {
            self.failing = true;
            tracing::warn!(
                error = %Chain(e),
                copy_age = ?age,
                retry_in = ?retry_in,
                "eureka registry fetch failed; keeping the last registry copy until a server answers"
            );
        } else {
            tracing::debug!(error = %Chain(e), copy_age = ?age, retry_in = ?retry_in, "eureka registry fetch failed again");
        }
    }

    /// Whether the next delta waits for a change: the server supports it, watching is on,
    /// and the copy has a delta version to wait past.
    fn watching(&self) -> bool {
        self.can_watch() && !self.wants_full()
    }

    /// The server supports watching, watching is on, and the copy has a delta version to
    /// wait past.
    fn can_watch(&self) -> bool {
        self.watchable.is_some()
            && !self.shared.config.watch_wait.is_zero()
            && self.shared.config.remote_regions.is_none()
            && !self.shared.config.disable_delta
            && self
                .current
                .as_ref()
                .is_some_and(|c| c.versions_delta() > 0)
    }

    fn wants_full(&self) -> bool {
        match &self.current {
            None => true,
            Some(cur) => {
                // An empty copy is refreshed in full (C-21), unless the server is watched:
                // then the next change arrives as a delta like any other.
                self.shared.config.disable_delta
                    || (cur.is_empty() && !self.can_watch())
                    || cur.versions_delta() == -1
            }
        }
    }

    async fn fetch_once(&mut self) -> Result<(), Error> {
        if !self.wants_full() {
            match self.fetch_delta().await {
                Ok(next) => {
                    self.shared.metrics.count(Event::DeltaFetch);
                    self.install(next);
                    return Ok(());
                }
                Err(why) => {
                    if matches!(why, NeedFull::Mismatch { .. }) {
                        self.shared.metrics.count(Event::ReconcileMismatch);
                    }
                    tracing::debug!(reason = %why, "delta not applied, fetching the full registry")
                }
            }
        }
        let full = self.fetch_full().await?;
        self.shared.metrics.count(Event::FullFetch);
        self.install(full);
        Ok(())
    }

    async fn fetch_full(&mut self) -> Result<ClientSnapshot, Error> {
        let reply = self
            .shared
            .transport
            .call(CallKind::FullFetch, Method::GET, &self.path("apps/"), None)
            .await?;
        self.watchable = reply.watch.clone();
        if reply.status != StatusCode::OK {
            return Err(Error::status(reply.status.as_u16()));
        }
        let full: Applications =
            codec::decode_applications(&reply.body, reply.format()).map_err(Error::decode)?;
        Ok(ClientSnapshot::from_owned(full, self.generation)
            .with_zone_regions(&self.shared.config.zone_regions))
    }

    /// `path` with the remote regions asked for (C-71), if any.
    fn path(&self, path: &str) -> String {
        match &self.shared.config.remote_regions {
            Some(r) => format!("{path}?regions={r}"),
            None => path.to_owned(),
        }
    }

    async fn fetch_delta(&mut self) -> Result<ClientSnapshot, NeedFull> {
        let watch = self.watching();
        let Some(current) = &self.current else {
            return Err(NeedFull::NoHash);
        };
        let config = &self.shared.config;
        let reply = if watch {
            // Wait on the server for the next change after the version held (issue 15).
            let wait = config.watch_wait;
            let path = format!(
                "apps/delta?watch={}&waitMs={}&epoch={}",
                current.versions_delta(),
                wait.as_millis(),
                self.watchable.as_deref().unwrap_or("0")
            );
            let timeout = wait + config.read_timeout;
            self.shared
                .transport
                .call_within(
                    CallKind::DeltaFetch,
                    Method::GET,
                    &path,
                    None,
                    Some(timeout),
                )
                .await
        } else {
            self.shared
                .transport
                .call(
                    CallKind::DeltaFetch,
                    Method::GET,
                    &self.path("apps/delta"),
                    None,
                )
                .await
        };
        let reply = match reply {
            Ok(r) => r,
            Err(e) => {
                // Whatever served us next may not support it: ask it plainly first.
                self.watchable = None;
                return Err(NeedFull::Failed(e));
            }
        };
        self.watchable = reply.watch.clone();
        if reply.status != StatusCode::OK {
            return Err(NeedFull::Status(reply.status));
        }
        let delta = codec::decode_applications(&reply.body, reply.format())
            .map_err(|e| NeedFull::Failed(Error::decode(e)))?;
        let merged = current.with_delta(&delta, self.generation);
        let Some(server) = delta.apps_hashcode else {
            return Err(NeedFull::NoHash);
        };
        let local = merged.hashcode().to_owned();
        if local != server {
            return Err(NeedFull::Mismatch { local, server });
        }
        Ok(merged)
    }

    /// Adopts a reconciled copy; publishes it when its content changed (or the first time).
    fn install(&mut self, next: ClientSnapshot) {
        let changed = match &self.current {
            None => true,
            Some(cur) => !cur.same_content(&next),
        };
        self.shared.fetched_now(Instant::now());
        if self.failing {
            self.failing = false;
            tracing::info!("eureka registry fetch recovered");
        }
        let next = if changed {
            self.generation += 1;
            let snap = Arc::new(next.with_generation(self.generation));
            self.shared.publish(snap.clone());
            snap
        } else {
            Arc::new(next.with_generation(self.generation))
        };
        self.shared.observe_own_status(&next);
        self.current = Some(next);
    }
}
