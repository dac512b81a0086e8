//! The remote-region fetchers (R-130): one task per region configured in
//! [`ServerConfig::remote_regions`](crate::server::ServerConfig::remote_regions), filling
//! the server's [`RemoteRegions`] copies.
//!
//! Each task fetches the region's whole registry at start (`GET {url}/apps`), then every
//! [`RemoteRegionSettings::interval`] (default 30 s, Java's
//! `remoteRegionRegistryFetchInterval`) a delta (`GET {url}/apps/delta`) that it applies and
//! checks against the delta's `apps__hashcode` (C-21, C-22); a delta that is refused, cannot
//! be read or leaves a different hash is followed at once by a full fetch. A failed fetch
//! keeps the last good copy and waits longer before the next try: the interval doubled per
//! consecutive failure, at most [`RemoteRegionSettings::max_backoff`] (Java's client bounds
//! its back-off at 10 intervals). All waits are on tokio time.
//!
//! ```no_run
//! use tower_eureka::cluster::{spawn_remote_regions, RemoteRegionSettings};
//! use tower_eureka::server::{EurekaService, RemoteRegions, ServerConfig};
//! # #[tokio::main] async fn main() {
//! let regions = RemoteRegions::new([("us-west", "http://10.0.1.5:8761/eureka")]);
//! let svc = EurekaService::new(ServerConfig { remote_regions: regions, ..ServerConfig::default() });
//! let fetchers = spawn_remote_regions(&svc, RemoteRegionSettings::default());
//! // ... serve `svc`; dropping `fetchers` stops them.
//! # drop(fetchers);
//! # }
//! ```

use super::config::PeerUrl;
use super::http::PeerClient;
use crate::codec::{self, Format};
use crate::registry::Clock;
use crate::server::{EurekaService, RemoteRegions};
use http::StatusCode;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How the remote-region fetchers run.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RemoteRegionSettings {
    /// Between two fetches of a region (default 30 s,
    /// `eureka.server.remote-region-registry-fetch-interval`).
    pub interval: Duration,
    /// Longest wait for one fetch's answer (default 10 s).
    pub timeout: Duration,
    /// Longest wait after failures (default 10 intervals).
    pub max_backoff: Duration,
    /// TLS settings for `https://` regions (feature `tls`); `None` trusts the Mozilla roots.
    #[cfg(feature = "tls")]
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl Default for RemoteRegionSettings {
    fn default() -> Self {
        RemoteRegionSettings::every(Duration::from_secs(30))
    }
}

impl RemoteRegionSettings {
    /// Fetches every `interval`, back-off up to 10 intervals, 10 s timeout.
    pub fn every(interval: Duration) -> Self {
        RemoteRegionSettings {
            interval,
            timeout: Duration::from_secs(10),
            max_backoff: interval.saturating_mul(10),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

/// The running fetchers; dropping this stops them (the copies stay as they were).
#[derive(Debug)]
pub struct RemoteRegionFetchers {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for RemoteRegionFetchers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Starts one fetcher per remote region of `svc` (none when it has none). Call inside a
/// tokio runtime. A region whose URL does not parse is logged and never fetched (the
/// binary checks URLs before it starts).
pub fn spawn_remote_regions(
    svc: &EurekaService,
    settings: RemoteRegionSettings,
) -> RemoteRegionFetchers {
    let regions = svc.config().remote_regions.clone();
    let mut urls = Vec::new();
    for (name, url) in regions.urls() {
        match PeerUrl::parse(url) {
            Ok(u) => urls.push((name.to_owned(), u)),
            Err(e) => tracing::error!(region = name, "remote region URL: {e}"),
        }
    }
    if urls.is_empty() {
        return RemoteRegionFetchers { tasks: Vec::new() };
    }
    let peers: Vec<PeerUrl> = urls.iter().map(|(_, u)| u.clone()).collect();
    #[cfg(feature = "tls")]
    let client = {
        let tls = match &settings.tls {
            Some(c) => (**c).clone(),
            None => match crate::tls::client_config(&[]) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!("remote regions: default TLS client configuration: {e}");
                    return RemoteRegionFetchers { tasks: Vec::new() };
                }
            },
        };
        PeerClient::new(settings.timeout, &peers, tls)
    };
    #[cfg(not(feature = "tls"))]
    let client = PeerClient::new(settings.timeout, &peers);
    let clock = svc.registry().clock();
    let tasks = urls
        .into_iter()
        .map(|(name, url)| {
            let fetcher = Fetcher {
                name,
                url,
                client: client.clone(),
                regions: regions.clone(),
                clock,
                settings: settings.clone(),
            };
            tokio::spawn(fetcher.run())
        })
        .collect();
    RemoteRegionFetchers { tasks }
}

struct Fetcher {
    name: String,
    url: PeerUrl,
    client: PeerClient,
    regions: RemoteRegions,
    clock: Clock,
    settings: RemoteRegionSettings,
}

impl Fetcher {
    async fn run(self) {
        let mut have_copy = false;
        let mut failures: u32 = 0;
        loop {
            let ok = if have_copy {
                match self.delta().await {
                    Ok(()) => true,
                    Err(why) => {
                        tracing::debug!(region = %self.name, "delta not applied ({why}): full fetch");
                        self.full().await
                    }
                }
            } else {
                self.full().await
            };
            have_copy |= ok;
            let wait = if ok {
                failures = 0;
                self.settings.interval
            } else {
                self.regions.record_failure(&self.name);
                failures = failures.saturating_add(1);
                self.settings
                    .interval
                    .saturating_mul(1 << failures.min(16))
                    .min(self.settings.max_backoff.max(self.settings.interval))
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// A full fetch; false when it failed (logged).
    async fn full(&self) -> bool {
        let res = self.client.get_json(&self.url.join("apps/")).await;
        let apps = match res {
            Ok(a) if a.status == StatusCode::OK => {
                codec::decode_applications(&a.body, Format::Json)
                    .map_err(|e| format!("unreadable answer: {e}"))
            }
            Ok(a) => Err(format!("answered {}", a.status)),
            Err(e) => Err(e.to_string()),
        };
        match apps {
            Ok(apps) => {
                self.regions
                    .install_full(&self.name, &apps, self.clock.epoch_ms());
                true
            }
            Err(e) => {
                tracing::warn!(region = %self.name, "remote region fetch failed: {e}; keeping the last copy");
                false
            }
        }
    }

    /// A delta fetch, applied and reconciled; `Err` says why a full fetch must follow.
    async fn delta(&self) -> Result<(), String> {
        let a = self
            .client
            .get_json(&self.url.join("apps/delta"))
            .await
            .map_err(|e| e.to_string())?;
        if a.status != StatusCode::OK {
            return Err(format!("answered {}", a.status));
        }
        let delta = codec::decode_applications(&a.body, Format::Json)
            .map_err(|e| format!("unreadable answer: {e}"))?;
        let want = delta.apps_hashcode.clone().ok_or("no apps__hashcode")?;
        let got = self
            .regions
            .apply_delta(&self.name, &delta, self.clock.epoch_ms())
            .ok_or("no copy yet")?;
        if got != want {
            return Err(format!(
                "hash {got} after the delta, the region says {want}"
            ));
        }
        Ok(())
    }
}
