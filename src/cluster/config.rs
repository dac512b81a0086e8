//! [`ClusterConfig`] and [`PeerUrl`]: who the peers are (P-01).

use std::fmt;
use std::time::Duration;

/// A peer's service URL, normalised: lower-case scheme and host, explicit port, path
/// ending in `/` (so `{url}peerreplication/batch/` and `{url}apps/` are built by
/// appending, P-10).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PeerUrl {
    scheme: String,
    host: String,
    port: u16,
    path: String,
}

/// A peer URL that cannot be used, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadPeerUrl {
    /// The URL as given.
    pub url: String,
    /// Why it is refused.
    pub reason: String,
}

impl fmt::Display for BadPeerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad peer URL {:?}: {}", self.url, self.reason)
    }
}

impl std::error::Error for BadPeerUrl {}

impl PeerUrl {
    /// Parses `http://host:port/path`. Only `http` is supported (the peer client has no
    /// TLS); a missing port is 80, a missing path is `/`.
    pub fn parse(url: &str) -> Result<PeerUrl, BadPeerUrl> {
        let bad = |reason: &str| BadPeerUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: http::Uri = url
            .trim()
            .parse()
            .map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
        let scheme = uri
            .scheme_str()
            .ok_or_else(|| bad("no scheme (expected http://host:port/path)"))?
            .to_ascii_lowercase();
        if scheme != "http" {
            return Err(bad("only http:// peers are supported"));
        }
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?
            .to_ascii_lowercase();
        if uri.query().is_some() {
            return Err(bad("a peer URL takes no query"));
        }
        let port = uri.port_u16().unwrap_or(80);
        let mut path = uri.path().to_owned();
        if !path.ends_with('/') {
            path.push('/');
        }
        Ok(PeerUrl {
            scheme,
            host,
            port,
            path,
        })
    }

    /// The base URL, ending in `/`.
    pub fn base(&self) -> String {
        format!("{}://{}:{}{}", self.scheme, self.host, self.port, self.path)
    }

    /// `host:port`, as the HTTP client connects to it.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The URL of `rel` under this peer (`rel` without a leading `/`).
    pub fn join(&self, rel: &str) -> String {
        format!("{}{}", self.base(), rel)
    }
}

impl fmt::Display for PeerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base())
    }
}

/// The cluster settings: peers and the sender's knobs.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// The peers, without this server (see [`ClusterConfig::new`]).
    pub peers: Vec<PeerUrl>,
    /// This server's own URL, if given.
    pub my_url: Option<PeerUrl>,
    /// How long the sender waits after the first pending task before it sends, so that
    /// tasks arriving together share a batch (Java: 500 ms).
    pub batch_delay: Duration,
    /// Most items in one batch (P-30: 250).
    pub max_batch: usize,
    /// Most batches in flight to one peer at a time.
    pub max_in_flight: usize,
    /// Most pending tasks per peer; beyond it the oldest is dropped and counted (P-34,
    /// P-35). Coalescing keeps one task per kind and instance, so this bounds the queue
    /// by the registry size.
    pub max_queue: usize,
    /// Timeout of one request to a peer (connect, send, read the whole answer).
    pub timeout: Duration,
    /// Longest wait between two attempts to reach a failing peer (the probe interval
    /// while its circuit is open): a returned peer waits at most this long.
    pub max_backoff: Duration,
    /// Consecutive failures that open a peer's circuit.
    pub failures_to_open: u32,
    /// How long the startup sync keeps trying before the server opens with what it has
    /// (P-40).
    pub sync_budget: Duration,
    /// Wait between two startup sync rounds.
    pub sync_retry_wait: Duration,
    /// A peer is healthy when its last success is at most this old (P-45).
    pub healthy_window: Duration,
    /// Period of the anti-entropy comparison with each peer (P-35); zero disables it.
    pub anti_entropy_interval: Duration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            peers: Vec::new(),
            my_url: None,
            batch_delay: Duration::from_millis(10),
            max_batch: 250,
            max_in_flight: 4,
            max_queue: 200_000,
            timeout: Duration::from_secs(2),
            max_backoff: Duration::from_secs(2),
            failures_to_open: 3,
            sync_budget: Duration::from_secs(15),
            sync_retry_wait: Duration::from_secs(1),
            healthy_window: Duration::from_secs(60),
            anti_entropy_interval: Duration::from_secs(120),
        }
    }
}

impl ClusterConfig {
    /// The default settings with `peers` minus `my_url` and minus duplicates (P-01:
    /// scheme, host, port and path are compared, trailing slash normalised), so every node
    /// can be given the same list.
    pub fn new(peers: Vec<PeerUrl>, my_url: Option<PeerUrl>) -> ClusterConfig {
        let mut kept: Vec<PeerUrl> = Vec::new();
        for p in peers {
            if Some(&p) != my_url.as_ref() && !kept.contains(&p) {
                kept.push(p);
            }
        }
        ClusterConfig {
            peers: kept,
            my_url,
            ..ClusterConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> PeerUrl {
        match PeerUrl::parse(s) {
            Ok(u) => u,
            Err(e) => panic!("{e}"),
        }
    }

    // P-01: scheme, host, port and path, trailing slash normalised.
    #[test]
    fn p01_self_is_skipped_by_scheme_host_port_and_path() {
        let me = url("http://127.0.0.1:8761/eureka");
        let c = ClusterConfig::new(
            vec![
                url("http://127.0.0.1:8761/eureka/"),
                url("HTTP://127.0.0.1:8762/eureka"),
                url("http://127.0.0.1:8762/eureka/"),
                url("http://127.0.0.1:8761/other/"),
            ],
            Some(me),
        );
        let bases: Vec<String> = c.peers.iter().map(PeerUrl::base).collect();
        assert_eq!(
            bases,
            [
                "http://127.0.0.1:8762/eureka/",
                "http://127.0.0.1:8761/other/"
            ]
        );
        assert_eq!(url("http://Host").base(), "http://host:80/");
        assert_eq!(
            url("http://h:1/eureka").join("apps/"),
            "http://h:1/eureka/apps/"
        );
    }

    #[test]
    fn bad_urls_say_why() {
        for s in ["nope", "ftp://h/x", "https://h/x", "http://h/x?y=1", ""] {
            assert!(PeerUrl::parse(s).is_err(), "{s}");
        }
    }
}
