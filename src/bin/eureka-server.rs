//! `eureka-server`: the standalone tower-eureka registry.
//!
//! ```text
//! eureka-server --listen 127.0.0.1:8761
//! curl -H 'Accept: application/json' http://127.0.0.1:8761/eureka/apps
//! ```
//!
//! Settings are named after Spring Cloud Netflix's `eureka.server.*` properties; each flag
//! also reads the environment variable Spring's relaxed binding would use
//! (`EUREKA_SERVER_EVICTION_INTERVAL_TIMER_IN_MS`, ...).
//!
//! Basic authentication takes Spring Security's user (`--auth-user` / `--auth-password`,
//! or `SPRING_SECURITY_USER_NAME` / `SPRING_SECURITY_USER_PASSWORD`) and more users with
//! `--user NAME:PASSWORD`; `--tls-cert` / `--tls-key` serve HTTPS; `--peer-ca` is the CA
//! of `https://` peers.

use clap::{Parser, ValueEnum};
use std::net::SocketAddr;
use std::time::Duration;
use tower_eureka::cluster::{Cluster, ClusterConfig, PeerUrl};
use tower_eureka::registry::SelfPreservationMode;
use tower_eureka::server::{serve, BasicAuth, EurekaService, OperatorRoutes, ServerConfig};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mode {
    /// Sliding-window renew rate against live leases, with a size floor and a cap on how
    /// long a lease stays protected (default).
    Improved,
    /// Java's exact arithmetic (fixed minute buckets, 15-minute threshold updates).
    Legacy,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OperatorAccess {
    /// `/health`, `/ready` and the dashboard need no credentials (default).
    Open,
    /// They need the same credentials as the REST API.
    Protected,
}

/// A password (or `NAME:PASSWORD`) from the command line or the environment; never shown
/// by `Debug`.
#[derive(Clone)]
struct Secret(String);

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A fast, wire-compatible Netflix Eureka registry.
#[derive(Debug, Parser)]
#[command(
    name = "eureka-server",
    version,
    about = "A fast, wire-compatible Netflix Eureka registry (tower-eureka)"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "EUREKA_LISTEN", default_value = "127.0.0.1:8761")]
    listen: SocketAddr,

    /// Path prefix of the REST API (`/eureka` serves `/eureka/apps` and `/eureka/v2/apps`).
    #[arg(long, env = "EUREKA_PREFIX", default_value = "/eureka")]
    prefix: String,

    /// How often expired leases are evicted, in ms (Java: 60000).
    #[arg(
        long,
        env = "EUREKA_SERVER_EVICTION_INTERVAL_TIMER_IN_MS",
        default_value_t = ms(defaults().registry.eviction_interval)
    )]
    eviction_interval_timer_in_ms: u64,

    /// Self-preservation: stop expiring leases when too few heartbeats arrive.
    #[arg(long, env = "EUREKA_SERVER_ENABLE_SELF_PRESERVATION", default_value_t = self_preservation_enabled(&defaults()), action = clap::ArgAction::Set)]
    enable_self_preservation: bool,

    /// Which self-preservation arithmetic to use.
    #[arg(long, env = "EUREKA_SERVER_SELF_PRESERVATION_MODE", value_enum, default_value_t = Mode::of(&defaults()))]
    self_preservation_mode: Mode,

    /// Fraction of expected renewals below which self-preservation engages.
    #[arg(
        long,
        env = "EUREKA_SERVER_RENEWAL_PERCENT_THRESHOLD",
        default_value_t = defaults().registry.renewal_percent_threshold
    )]
    renewal_percent_threshold: f64,

    /// Heartbeat interval clients are expected to use, in seconds.
    #[arg(
        long,
        env = "EUREKA_SERVER_EXPECTED_CLIENT_RENEWAL_INTERVAL_SECONDS",
        default_value_t = defaults().registry.expected_client_renewal_interval_secs
    )]
    expected_client_renewal_interval_seconds: u32,

    /// Legacy mode only: how often the expected renew count is recomputed, in ms.
    #[arg(
        long,
        env = "EUREKA_SERVER_RENEWAL_THRESHOLD_UPDATE_INTERVAL_MS",
        default_value_t = ms(defaults().registry.renewal_threshold_update_interval)
    )]
    renewal_threshold_update_interval_ms: u64,

    /// How long changes stay in `/apps/delta`, in ms (at least 180000 is recommended).
    #[arg(
        long,
        env = "EUREKA_SERVER_RETENTION_TIME_IN_M_S_IN_DELTA_QUEUE",
        default_value_t = ms(defaults().registry.delta_retention)
    )]
    retention_time_in_m_s_in_delta_queue: u64,

    /// Longest delay between a change and its visibility in GET responses, in ms.
    /// Java's read-only cache uses 30000; the default publishes within 25 ms.
    #[arg(
        long,
        env = "EUREKA_SERVER_RESPONSE_CACHE_UPDATE_INTERVAL_MS",
        default_value_t = ms(defaults().registry.publish_interval)
    )]
    response_cache_update_interval_ms: u64,

    /// Answer `/apps/delta` with 403 so that clients always fetch the full registry.
    #[arg(long, env = "EUREKA_SERVER_DISABLE_DELTA", default_value_t = defaults().disable_delta, action = clap::ArgAction::Set)]
    disable_delta: bool,

    /// Compare `lastDirtyTimestamp` on heartbeats (404 when the client is newer).
    #[arg(long, env = "EUREKA_SERVER_SYNC_WHEN_TIMESTAMP_DIFFERS", default_value_t = defaults().registry.sync_when_timestamp_differs, action = clap::ArgAction::Set)]
    sync_when_timestamp_differs: bool,

    /// Reproduce Java's lease expiry (2x the duration after the first renewal).
    #[arg(long, env = "EUREKA_SERVER_LEGACY_LEASE_EXPIRY", default_value_t = defaults().registry.legacy_lease_expiry, action = clap::ArgAction::Set)]
    legacy_lease_expiry: bool,

    /// Largest accepted request body in bytes.
    #[arg(long, env = "EUREKA_SERVER_MAX_BODY_BYTES", default_value_t = defaults().max_body_bytes)]
    max_body_bytes: usize,

    /// A peer's service URL (`http://host:port/eureka`); repeat the flag or separate URLs
    /// with commas. This server's own URL is skipped (see `--my-url`), so every node can
    /// be given the same list (P-01).
    #[arg(long = "peer", value_delimiter = ',')]
    peers: Vec<String>,

    /// Peers as Spring users set them: a comma-separated list of service URLs.
    #[arg(
        long = "default-zone",
        env = "EUREKA_CLIENT_SERVICEURL_DEFAULTZONE",
        value_delimiter = ',',
        hide = true
    )]
    default_zone: Vec<String>,

    /// This server's own service URL, skipped among the peers (scheme, host, port and
    /// path are compared).
    #[arg(long, env = "EUREKA_SERVER_MY_URL")]
    my_url: Option<String>,

    /// How long replication waits to fill a batch, in ms (Java: 500).
    #[arg(long, env = "EUREKA_SERVER_PEER_BATCH_DELAY_MS", default_value_t = ms(ClusterConfig::default().batch_delay))]
    peer_batch_delay_ms: u64,

    /// Timeout of one request to a peer, in ms.
    #[arg(long, env = "EUREKA_SERVER_PEER_NODE_READ_TIMEOUT_MS", default_value_t = ms(ClusterConfig::default().timeout))]
    peer_timeout_ms: u64,

    /// A peer counts as healthy in `/status` while its last success is at most this old, in
    /// ms; an idle peer is checked three times per window.
    #[arg(long, env = "EUREKA_SERVER_PEER_HEALTHY_WINDOW_MS", default_value_t = ms(ClusterConfig::default().healthy_window))]
    peer_healthy_window_ms: u64,

    /// Period of the anti-entropy comparison with each peer (`GET /apps`), in ms; 0 turns
    /// it off. It also runs after a peer comes back or a task was dropped.
    #[arg(long, env = "EUREKA_SERVER_PEER_ANTI_ENTROPY_INTERVAL_MS", default_value_t = ms(ClusterConfig::default().anti_entropy_interval))]
    peer_anti_entropy_interval_ms: u64,

    /// How long the startup sync tries the peers before opening anyway, in ms.
    #[arg(long, env = "EUREKA_SERVER_PEER_SYNC_BUDGET_MS", default_value_t = ms(ClusterConfig::default().sync_budget))]
    peer_sync_budget_ms: u64,

    /// HTTP Basic user (Spring's `spring.security.user.name`): with a user, every REST and
    /// replication request needs its credentials (401 otherwise). Needs `--auth-password`.
    #[arg(long, env = "SPRING_SECURITY_USER_NAME")]
    auth_user: Option<String>,

    /// Password of `--auth-user` (`spring.security.user.password`); prefer the
    /// environment variable, which `ps` does not show.
    #[arg(long, env = "SPRING_SECURITY_USER_PASSWORD", hide_env_values = true)]
    auth_password: Option<Secret>,

    /// A further Basic user as `NAME:PASSWORD`; repeat the flag for more.
    #[arg(long = "user", value_name = "NAME:PASSWORD")]
    users: Vec<Secret>,

    /// Realm named in the `WWW-Authenticate` challenge.
    #[arg(long, env = "EUREKA_AUTH_REALM", default_value = "Realm")]
    auth_realm: String,

    /// Whether `/health`, `/ready` and the dashboard need the credentials too.
    #[arg(long, env = "EUREKA_AUTH_OPERATOR_ROUTES", value_enum, default_value_t = OperatorAccess::Open)]
    auth_operator_routes: OperatorAccess,

    /// Serve HTTPS with this PEM certificate chain (needs `--tls-key`).
    #[arg(long, env = "EUREKA_TLS_CERT", value_name = "FILE")]
    tls_cert: Option<std::path::PathBuf>,

    /// The PEM private key of `--tls-cert` (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "EUREKA_TLS_KEY", value_name = "FILE")]
    tls_key: Option<std::path::PathBuf>,

    /// PEM CA certificate(s) trusted for `https://` peers, besides the Mozilla roots.
    #[arg(long, env = "EUREKA_PEER_CA", value_name = "FILE")]
    peer_ca: Option<std::path::PathBuf>,
}

impl Args {
    /// The flags applied over [`ServerConfig::default`]: settings without a flag keep
    /// their defaults.
    fn config(&self) -> ServerConfig {
        let mut config = defaults();
        config.max_body_bytes = self.max_body_bytes;
        config.disable_delta = self.disable_delta;
        config.prefix = self.prefix.trim_end_matches('/').to_owned();
        let registry = &mut config.registry;
        registry.eviction_interval =
            Duration::from_millis(self.eviction_interval_timer_in_ms.max(1));
        registry.renewal_percent_threshold = self.renewal_percent_threshold;
        registry.expected_client_renewal_interval_secs =
            self.expected_client_renewal_interval_seconds;
        registry.self_preservation =
            match (self.enable_self_preservation, self.self_preservation_mode) {
                (false, _) => SelfPreservationMode::Disabled,
                (true, Mode::Improved) => SelfPreservationMode::Improved,
                (true, Mode::Legacy) => SelfPreservationMode::Legacy,
            };
        registry.renewal_threshold_update_interval =
            Duration::from_millis(self.renewal_threshold_update_interval_ms);
        registry.delta_retention = Duration::from_millis(self.retention_time_in_m_s_in_delta_queue);
        registry.publish_interval = Duration::from_millis(self.response_cache_update_interval_ms);
        registry.sync_when_timestamp_differs = self.sync_when_timestamp_differs;
        registry.legacy_lease_expiry = self.legacy_lease_expiry;
        config
    }

    /// The Basic users; an incomplete or unusable user is an error naming its flag.
    fn auth(&self) -> Result<BasicAuth, String> {
        let mut auth = BasicAuth::new().realm(&self.auth_realm).operator_routes(
            match self.auth_operator_routes {
                OperatorAccess::Open => OperatorRoutes::Open,
                OperatorAccess::Protected => OperatorRoutes::Protected,
            },
        );
        let check = |flag: &str, name: &str| {
            if name.is_empty() || name.contains(':') {
                Err(format!("{flag}: a user name is not empty and has no ':'"))
            } else {
                Ok(())
            }
        };
        match (&self.auth_user, &self.auth_password) {
            (Some(name), Some(Secret(pw))) => {
                check("--auth-user", name)?;
                auth = auth.user(name, pw);
            }
            (Some(_), None) => return Err("--auth-user needs --auth-password".into()),
            (None, Some(_)) => return Err("--auth-password needs --auth-user".into()),
            (None, None) => {}
        }
        for Secret(u) in &self.users {
            let Some((name, pw)) = u.split_once(':') else {
                return Err("--user: expected NAME:PASSWORD".into());
            };
            check("--user", name)?;
            auth = auth.user(name, pw);
        }
        Ok(auth)
    }

    /// The peers and cluster settings; an unusable URL is an error naming its flag.
    fn cluster(&self) -> Result<ClusterConfig, String> {
        let parse = |flag: &str, list: &[String]| -> Result<Vec<PeerUrl>, String> {
            list.iter()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .map(|s| PeerUrl::parse(s).map_err(|e| format!("{flag}: {e}")))
                .collect()
        };
        let mut peers = parse("--peer", &self.peers)?;
        peers.extend(parse(
            "EUREKA_CLIENT_SERVICEURL_DEFAULTZONE",
            &self.default_zone,
        )?);
        let my_url = match &self.my_url {
            Some(u) => Some(PeerUrl::parse(u).map_err(|e| format!("--my-url: {e}"))?),
            None => None,
        };
        let mut c = ClusterConfig::new(peers, my_url);
        c.batch_delay = Duration::from_millis(self.peer_batch_delay_ms);
        c.timeout = Duration::from_millis(self.peer_timeout_ms.max(1));
        c.sync_budget = Duration::from_millis(self.peer_sync_budget_ms);
        c.healthy_window = Duration::from_millis(self.peer_healthy_window_ms);
        c.anti_entropy_interval = Duration::from_millis(self.peer_anti_entropy_interval_ms);
        Ok(c)
    }

    /// The TLS server configuration of `--tls-cert` / `--tls-key`, if given; a missing or
    /// unusable file is an error naming its flag.
    async fn tls(
        &self,
    ) -> Result<Option<std::sync::Arc<tower_eureka::tls::rustls::ServerConfig>>, String> {
        let (cert, key) = match (&self.tls_cert, &self.tls_key) {
            (None, None) => return Ok(None),
            (Some(c), Some(k)) => (c, k),
            (Some(_), None) => return Err("--tls-cert needs --tls-key".into()),
            (None, Some(_)) => return Err("--tls-key needs --tls-cert".into()),
        };
        let cert_pem = read("--tls-cert", cert).await?;
        let key_pem = read("--tls-key", key).await?;
        // Name the file whose content is at fault.
        tower_eureka::tls::certificates(&cert_pem)
            .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?;
        tower_eureka::tls::server_config(&cert_pem, &key_pem)
            .map(Some)
            .map_err(|e| format!("--tls-key {}: {e}", key.display()))
    }

    /// The TLS client configuration for the peers with `--peer-ca`, if given.
    async fn peer_tls(
        &self,
    ) -> Result<Option<std::sync::Arc<tower_eureka::tls::rustls::ClientConfig>>, String> {
        let Some(path) = &self.peer_ca else {
            return Ok(None);
        };
        let pem = read("--peer-ca", path).await?;
        let flag = |e: tower_eureka::tls::TlsError| format!("--peer-ca {}: {e}", path.display());
        let roots = tower_eureka::tls::certificates(&pem).map_err(flag)?;
        let config = tower_eureka::tls::client_config(&roots).map_err(flag)?;
        Ok(Some(std::sync::Arc::new(config)))
    }
}

/// The content of the file given to `flag`.
async fn read(flag: &str, path: &std::path::Path) -> Result<Vec<u8>, String> {
    tokio::fs::read(path)
        .await
        .map_err(|e| format!("{flag} {}: {e}", path.display()))
}

// === defaults: the flags show the library's ===

/// The library's defaults: every flag without a binary-specific default shows these, so
/// each default is defined once, in [`ServerConfig`] and
/// [`RegistryConfig`](tower_eureka::registry::RegistryConfig). Only `--listen` and
/// `--prefix` have defaults of their own: the library has no address, and mounts at the root.
fn defaults() -> ServerConfig {
    ServerConfig::default()
}

/// A duration as whole milliseconds (saturating).
fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn self_preservation_enabled(config: &ServerConfig) -> bool {
    !matches!(
        config.registry.self_preservation,
        SelfPreservationMode::Disabled
    )
}

impl Mode {
    /// The mode flag for `config`; with self-preservation disabled, the mode it would use
    /// when enabled.
    fn of(config: &ServerConfig) -> Mode {
        match config.registry.self_preservation {
            SelfPreservationMode::Legacy => Mode::Legacy,
            SelfPreservationMode::Improved | SelfPreservationMode::Disabled => Mode::Improved,
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is called, so
/// call it before announcing the listening address.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let ctrl_c = tokio::signal::ctrl_c();
    async move {
        #[cfg(unix)]
        let term = async {
            match term.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            r = ctrl_c => {
                if r.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            () = term => {}
        }
        tracing::info!("shutdown signal received");
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut config = args.config();
    let settings = async {
        config.auth = args.auth()?;
        let mut cluster = args.cluster()?;
        cluster.peer_tls = args.peer_tls().await?;
        let tls = args.tls().await?;
        Ok::<_, String>((cluster, tls))
    };
    let (cluster, tls) = match settings.await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("eureka-server: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("eureka-server: cannot listen on {}: {e}", args.listen);
            return std::process::ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().unwrap_or(args.listen);
    let prefix = config.prefix.clone();
    let service = if cluster.peers.is_empty() {
        EurekaService::new(config)
    } else {
        tracing::info!(peers = ?cluster.peers.iter().map(PeerUrl::base).collect::<Vec<_>>(), "peer replication on");
        EurekaService::with_replicator(config, |registry| Cluster::start(cluster, registry))
    };
    let shutdown = shutdown_signal();
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("eureka-server listening on {scheme}://{addr}{prefix}");
    tracing::info!(%addr, %prefix, tls = tls.is_some(), basic_auth = service.config().auth.is_enabled(), "eureka-server started");
    let grace = Duration::from_secs(5);
    let served = match tls {
        Some(tls) => tower_eureka::server::serve_tls(listener, tls, service, shutdown, grace).await,
        None => serve(listener, service, shutdown, grace).await,
    };
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("eureka-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("eureka-server").chain(args.iter().copied()))
    }

    #[test]
    fn the_flags_are_well_formed() {
        Args::command().debug_assert();
    }

    #[test]
    fn no_flags_is_the_library_default_under_eureka() {
        let Ok(args) = parse(&[]) else {
            panic!("no flags parse");
        };
        let expected = ServerConfig {
            prefix: "/eureka".into(),
            ..ServerConfig::default()
        };
        assert_eq!(format!("{:?}", args.config()), format!("{expected:?}"));
    }

    #[test]
    fn flags_override_their_setting() {
        let Ok(args) = parse(&[
            "--prefix=/x/",
            "--eviction-interval-timer-in-ms=0",
            "--enable-self-preservation=false",
            "--renewal-percent-threshold=0.5",
            "--expected-client-renewal-interval-seconds=10",
            "--renewal-threshold-update-interval-ms=1000",
            "--retention-time-in-m-s-in-delta-queue=2000",
            "--response-cache-update-interval-ms=0",
            "--disable-delta=true",
            "--sync-when-timestamp-differs=false",
            "--legacy-lease-expiry=true",
            "--max-body-bytes=10",
        ]) else {
            panic!("flags parse");
        };
        let c = args.config();
        assert_eq!(c.prefix, "/x");
        assert_eq!(c.max_body_bytes, 10);
        assert!(c.disable_delta);
        let r = &c.registry;
        assert_eq!(r.eviction_interval, Duration::from_millis(1));
        assert_eq!(r.self_preservation, SelfPreservationMode::Disabled);
        assert_eq!(r.renewal_percent_threshold, 0.5);
        assert_eq!(r.expected_client_renewal_interval_secs, 10);
        assert_eq!(r.renewal_threshold_update_interval, Duration::from_secs(1));
        assert_eq!(r.delta_retention, Duration::from_secs(2));
        assert_eq!(r.publish_interval, Duration::ZERO);
        assert!(!r.sync_when_timestamp_differs);
        assert!(r.legacy_lease_expiry);
        let Ok(args) = parse(&["--self-preservation-mode", "legacy"]) else {
            panic!("mode parses");
        };
        assert_eq!(
            args.config().registry.self_preservation,
            SelfPreservationMode::Legacy
        );
    }

    // P-01: repeatable and comma-separated, the Spring variable, self skipped.
    #[test]
    fn p01_peers_from_flags_and_the_spring_variable() {
        let Ok(args) = parse(&[
            "--peer=http://127.0.0.1:1/eureka,http://127.0.0.1:2/eureka/",
            "--peer",
            "http://127.0.0.1:3/eureka",
            "--default-zone=http://127.0.0.1:4/eureka/",
            "--my-url=http://127.0.0.1:2/eureka",
            "--peer-batch-delay-ms=5",
        ]) else {
            panic!("flags parse");
        };
        let c = match args.cluster() {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let bases: Vec<String> = c.peers.iter().map(PeerUrl::base).collect();
        assert_eq!(
            bases,
            [
                "http://127.0.0.1:1/eureka/",
                "http://127.0.0.1:3/eureka/",
                "http://127.0.0.1:4/eureka/"
            ]
        );
        assert_eq!(c.batch_delay, Duration::from_millis(5));
        for (flag, v) in [("--peer", "ftp://x/"), ("--my-url", "nope")] {
            let Ok(args) = parse(&[flag, v]) else {
                panic!("{flag} parses as text");
            };
            match args.cluster() {
                Ok(_) => panic!("{flag} {v} accepted"),
                Err(e) => assert!(e.contains(flag), "{e}"),
            }
        }
    }

    #[test]
    fn auth_users_from_the_spring_flags_and_user() {
        let Ok(args) = parse(&[
            "--auth-user=eureka",
            "--auth-password=s3cret",
            "--user=ops:p:w",
            "--auth-realm=eureka",
            "--auth-operator-routes=protected",
        ]) else {
            panic!("flags parse");
        };
        let auth = match args.auth() {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        };
        let names: Vec<&[u8]> = auth.user_names().collect();
        assert_eq!(names, [&b"eureka"[..], &b"ops"[..]]);
        assert_eq!(auth.challenge(), "Basic realm=\"eureka\"");
        let shown = format!("{args:?} {auth:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("p:w"),
            "{shown}"
        );
        let Ok(none) = parse(&[]) else {
            panic!("no flags parse");
        };
        assert!(none.auth().is_ok_and(|a| !a.is_enabled()));
    }

    #[test]
    fn a_bad_value_names_its_flag() {
        for (flag, value) in [
            ("--max-body-bytes", "x"),
            ("--renewal-percent-threshold", "abc"),
            ("--enable-self-preservation", "maybe"),
            ("--self-preservation-mode", "foo"),
            ("--listen", "nope"),
        ] {
            match parse(&[flag, value]) {
                Ok(_) => panic!("{flag} {value} parsed"),
                Err(e) => assert!(e.to_string().contains(flag), "{e}"),
            }
        }
    }
}
