//! [`ClusterConfig`] and [`PeerUrl`]: who the peers are (P-01).

use http::HeaderValue;
use percent_encoding::percent_decode_str;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::time::Duration;

/// A peer's service URL, normalised: lower-case scheme and host, explicit port, path
/// ending in `/` (so `{url}peerreplication/batch/` and `{url}apps/` are built by
/// appending, P-10).
///
/// User info (`http://user:pass@host/eureka/`, percent-decoded) becomes the
/// `Authorization: Basic` header of every request to the peer. It is not part of the URL's
/// identity (P-01 compares scheme, host, port and path) and never printed: `Debug`,
/// `Display` and [`PeerUrl::base`] leave it out.
#[derive(Clone)]
pub struct PeerUrl {
    scheme: String,
    host: String,
    port: u16,
    path: String,
    authorization: Option<HeaderValue>,
}

impl PartialEq for PeerUrl {
    fn eq(&self, other: &Self) -> bool {
        (&self.scheme, &self.host, self.port, &self.path)
            == (&other.scheme, &other.host, other.port, &other.path)
    }
}

impl Eq for PeerUrl {}

impl Hash for PeerUrl {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (&self.scheme, &self.host, self.port, &self.path).hash(state);
    }
}

impl fmt::Debug for PeerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerUrl")
            .field("base", &self.base())
            .field("basic_auth", &self.authorization.is_some())
            .finish()
    }
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
    /// Parses `http://[user:pass@]host:port/path`, or `https://` with the `tls` feature; a
    /// missing port is 80 (443 for https), a missing path is `/`.
    pub fn parse(url: &str) -> Result<PeerUrl, BadPeerUrl> {
        // The URL as reported in errors: never with its password.
        let shown = crate::redact::userinfo(url.trim());
        let bad = |reason: &str| BadPeerUrl {
            url: shown.clone(),
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
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" if cfg!(feature = "tls") => 443,
            "https" => return Err(bad("https:// peers need the `tls` feature")),
            _ => return Err(bad("only http:// and https:// peers are supported")),
        };
        let authorization = match uri.authority().and_then(|a| a.as_str().rsplit_once('@')) {
            None => None,
            Some((userinfo, _)) => {
                let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let decode = |s: &str| {
                    percent_decode_str(s)
                        .decode_utf8()
                        .map(|c| c.into_owned())
                        .map_err(|_| bad("user info is not valid percent-encoded UTF-8"))
                };
                let (user, pass) = (decode(user)?, decode(pass)?);
                Some(
                    crate::server::basic_authorization(&user, &pass)
                        .ok_or_else(|| bad("user info cannot be sent in a header"))?,
                )
            }
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?
            .to_ascii_lowercase();
        if uri.query().is_some() {
            return Err(bad("a peer URL takes no query"));
        }
        let port = uri.port_u16().unwrap_or(default_port);
        let mut path = uri.path().to_owned();
        if !path.ends_with('/') {
            path.push('/');
        }
        Ok(PeerUrl {
            scheme,
            host,
            port,
            path,
            authorization,
        })
    }

    /// The `Authorization: Basic` header taken from the URL's user info, if it had one
    /// (marked sensitive).
    pub fn authorization(&self) -> Option<&HeaderValue> {
        self.authorization.as_ref()
    }

    /// Whether this peer is called over TLS.
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
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
    /// Period of the anti-entropy comparison with each peer (P-35); zero disables it. A
    /// round that cannot read the peer's list is retried sooner (a random wait of at most
    /// 1 s, the bound doubling to this).
    pub anti_entropy_interval: Duration,
    /// TLS settings for `https://` peers (feature `tls`); `None` trusts the Mozilla roots.
    /// Build one with a private CA with [`tls::client_config`](crate::tls::client_config).
    #[cfg(feature = "tls")]
    pub peer_tls: Option<std::sync::Arc<rustls::ClientConfig>>,
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
            #[cfg(feature = "tls")]
            peer_tls: None,
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
        for s in [
            "nope",
            "ftp://h/x",
            "http://h/x?y=1",
            "",
            "http://u:%ff@h/x",
        ] {
            assert!(PeerUrl::parse(s).is_err(), "{s}");
        }
        match PeerUrl::parse("ftp://admin:hunter2@h/x") {
            Ok(_) => panic!("ftp accepted"),
            Err(e) => {
                let s = e.to_string();
                assert!(s.contains("admin:***@h") && !s.contains("hunter2"), "{s}");
            }
        }
    }

    // P-01: user info is credentials, not identity; it is decoded and never printed.
    #[test]
    fn p01_user_info_becomes_basic_auth_and_is_not_compared() {
        let u = url("http://us%40r:p%3Ass@127.0.0.1:8761/eureka/");
        assert_eq!(u, url("http://127.0.0.1:8761/eureka"));
        assert_eq!(u.base(), "http://127.0.0.1:8761/eureka/");
        // base64("us@r:p:ss")
        assert_eq!(
            u.authorization().map(|v| v.as_bytes()),
            Some(&b"Basic dXNAcjpwOnNz"[..])
        );
        assert!(u.authorization().is_some_and(HeaderValue::is_sensitive));
        let shown = format!("{u:?} {u}");
        assert!(
            !shown.contains("p%3Ass") && !shown.contains("p:ss"),
            "{shown}"
        );
        assert!(url("http://h/x").authorization().is_none());
        let c = ClusterConfig::new(
            vec![u.clone()],
            Some(url("http://a:b@127.0.0.1:8761/eureka")),
        );
        assert!(c.peers.is_empty());
    }

    #[cfg(feature = "tls")]
    #[test]
    fn https_peers_default_to_port_443() {
        let u = url("HTTPS://h/eureka");
        assert_eq!(u.base(), "https://h:443/eureka/");
        assert!(u.is_https());
    }
}
