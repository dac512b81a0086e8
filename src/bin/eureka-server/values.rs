//! What the settings table writes into ([`Settings`]): the library's config types, plus
//! the few values of the binary itself ([`Binary`]) that `resolve::finish` combines.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;
use tower_eureka::cluster::{ClusterConfig, PeerUrl, RemoteRegionSettings};
use tower_eureka::registry::SelfPreservationMode;
use tower_eureka::server::{OperatorRoutes, ServerConfig};

/// Which self-preservation arithmetic to use when it is enabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Sliding-window renew rate against live leases (default).
    Improved,
    /// Java's exact arithmetic.
    Legacy,
}

/// How log lines look (`logging.format`, `--log-format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LogFormat {
    /// Human-readable lines (default).
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Settings of the binary itself that no library config type holds; `resolve::finish`
/// turns them into what the server takes.
#[derive(Clone, Debug)]
pub(crate) struct Binary {
    /// `tower-eureka.log-format`.
    pub(crate) log_format: LogFormat,
    /// `spring.security.user.name`.
    pub(crate) auth_user: Option<String>,
    /// `spring.security.user.password`.
    pub(crate) auth_password: Option<Redacted>,
    /// `tower-eureka.auth.users`: further `(name, password)` users.
    pub(crate) users: Vec<(String, Redacted)>,
    /// `tower-eureka.auth.realm`.
    pub(crate) auth_realm: String,
    /// `tower-eureka.auth.operator-routes`.
    pub(crate) operator_routes: OperatorRoutes,
    /// `server.ssl.certificate`: PEM certificate chain to serve HTTPS with.
    pub(crate) tls_cert: Option<PathBuf>,
    /// `server.ssl.certificate-private-key`: its PEM key.
    pub(crate) tls_key: Option<PathBuf>,
    /// `tower-eureka.peer-ca`: PEM CA certificates trusted for `https://` peers.
    pub(crate) peer_ca: Option<PathBuf>,
    /// `eureka.server.peer-eureka-nodes-update-interval-ms`: how often the peer list is
    /// read again (zero: only on `SIGHUP`).
    pub(crate) peer_refresh: Duration,
    /// `eureka.server.remote-region-registry-fetch-interval`: between two fetches of a
    /// remote region.
    pub(crate) remote_region_interval: Duration,
}

impl Default for Binary {
    fn default() -> Self {
        Binary {
            log_format: LogFormat::Text,
            auth_user: None,
            auth_password: None,
            users: Vec::new(),
            // Spring Security's default realm.
            auth_realm: "Realm".to_owned(),
            operator_routes: OperatorRoutes::default(),
            tls_cert: None,
            tls_key: None,
            peer_ca: None,
            // Java's peerEurekaNodesUpdateIntervalMs (P-43).
            peer_refresh: Duration::from_secs(600),
            remote_region_interval: RemoteRegionSettings::default().interval,
        }
    }
}

/// A password: never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Redacted(pub(crate) String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What the settings write into: the library config types plus the few values the
/// binary combines after all sources are read (see `resolve::finish`).
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// The server's settings (prefix and self-preservation are set by `finish`).
    pub(crate) server: ServerConfig,
    /// The cluster's knobs (peers and own URL are set by `finish`).
    pub(crate) cluster: ClusterConfig,
    /// `tower-eureka.listen`.
    pub(crate) listen: SocketAddr,
    /// `server.address`, refining `listen`.
    pub(crate) address: Option<IpAddr>,
    /// `server.port`, refining `listen`.
    pub(crate) port: Option<u16>,
    /// `tower-eureka.prefix`.
    pub(crate) prefix: String,
    /// `server.servlet.context-path`: Spring serves the API at `{context-path}/eureka`.
    pub(crate) context_path: Option<String>,
    /// `eureka.server.enable-self-preservation`.
    pub(crate) self_preservation: bool,
    /// `eureka.server.self-preservation-mode`.
    pub(crate) mode: Mode,
    /// `tower-eureka.peers` (`--peer`).
    pub(crate) peers: Vec<PeerUrl>,
    /// `eureka.client.service-url.defaultZone`.
    pub(crate) default_zone: Vec<PeerUrl>,
    /// `eureka.server.my-url`.
    pub(crate) my_url: Option<PeerUrl>,
    /// `eureka.instance.hostname`: with the port and prefix, this server's own URL when
    /// `my-url` is not set.
    pub(crate) hostname: Option<String>,
    /// Values accepted with a caveat worth a warning line.
    pub(crate) warnings: Vec<String>,
    /// The binary's own settings.
    pub(crate) binary: Binary,
}

impl Default for Settings {
    /// The library's defaults; only the address (the library has none) and the prefix
    /// (the library mounts at the root) are the binary's own.
    fn default() -> Self {
        let server = ServerConfig::default();
        let (self_preservation, mode) = match server.registry.self_preservation {
            SelfPreservationMode::Improved => (true, Mode::Improved),
            SelfPreservationMode::Legacy => (true, Mode::Legacy),
            SelfPreservationMode::Disabled => (false, Mode::Improved),
        };
        Settings {
            server,
            cluster: ClusterConfig::default(),
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8761),
            address: None,
            port: None,
            prefix: "/eureka".to_owned(),
            context_path: None,
            self_preservation,
            mode,
            peers: Vec::new(),
            default_zone: Vec::new(),
            my_url: None,
            hostname: None,
            warnings: Vec::new(),
            binary: Binary::default(),
        }
    }
}
