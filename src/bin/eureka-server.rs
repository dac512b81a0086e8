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

use clap::{Parser, ValueEnum};
use std::net::SocketAddr;
use std::time::Duration;
use tower_eureka::registry::{RegistryConfig, SelfPreservationMode};
use tower_eureka::server::{serve, EurekaService, ServerConfig};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mode {
    /// Sliding-window renew rate against live leases, with a size floor and a cap on how
    /// long a lease stays protected (default).
    Improved,
    /// Java's exact arithmetic (fixed minute buckets, 15-minute threshold updates).
    Legacy,
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
        default_value_t = 5_000
    )]
    eviction_interval_timer_in_ms: u64,

    /// Self-preservation: stop expiring leases when too few heartbeats arrive.
    #[arg(long, env = "EUREKA_SERVER_ENABLE_SELF_PRESERVATION", default_value_t = true, action = clap::ArgAction::Set)]
    enable_self_preservation: bool,

    /// Which self-preservation arithmetic to use.
    #[arg(long, env = "EUREKA_SERVER_SELF_PRESERVATION_MODE", value_enum, default_value_t = Mode::Improved)]
    self_preservation_mode: Mode,

    /// Fraction of expected renewals below which self-preservation engages.
    #[arg(
        long,
        env = "EUREKA_SERVER_RENEWAL_PERCENT_THRESHOLD",
        default_value_t = 0.85
    )]
    renewal_percent_threshold: f64,

    /// Heartbeat interval clients are expected to use, in seconds.
    #[arg(
        long,
        env = "EUREKA_SERVER_EXPECTED_CLIENT_RENEWAL_INTERVAL_SECONDS",
        default_value_t = 30
    )]
    expected_client_renewal_interval_seconds: u32,

    /// Legacy mode only: how often the expected renew count is recomputed, in ms.
    #[arg(
        long,
        env = "EUREKA_SERVER_RENEWAL_THRESHOLD_UPDATE_INTERVAL_MS",
        default_value_t = 900_000
    )]
    renewal_threshold_update_interval_ms: u64,

    /// How long changes stay in `/apps/delta`, in ms (at least 180000 is recommended).
    #[arg(
        long,
        env = "EUREKA_SERVER_RETENTION_TIME_IN_M_S_IN_DELTA_QUEUE",
        default_value_t = 180_000
    )]
    retention_time_in_m_s_in_delta_queue: u64,

    /// Longest delay between a change and its visibility in GET responses, in ms.
    /// Java's read-only cache uses 30000; the default publishes within 25 ms.
    #[arg(
        long,
        env = "EUREKA_SERVER_RESPONSE_CACHE_UPDATE_INTERVAL_MS",
        default_value_t = 25
    )]
    response_cache_update_interval_ms: u64,

    /// Answer `/apps/delta` with 403 so that clients always fetch the full registry.
    #[arg(long, env = "EUREKA_SERVER_DISABLE_DELTA", default_value_t = false, action = clap::ArgAction::Set)]
    disable_delta: bool,

    /// Compare `lastDirtyTimestamp` on heartbeats (404 when the client is newer).
    #[arg(long, env = "EUREKA_SERVER_SYNC_WHEN_TIMESTAMP_DIFFERS", default_value_t = true, action = clap::ArgAction::Set)]
    sync_when_timestamp_differs: bool,

    /// Reproduce Java's lease expiry (2x the duration after the first renewal).
    #[arg(long, env = "EUREKA_SERVER_LEGACY_LEASE_EXPIRY", default_value_t = false, action = clap::ArgAction::Set)]
    legacy_lease_expiry: bool,

    /// Largest accepted request body in bytes.
    #[arg(long, env = "EUREKA_SERVER_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    max_body_bytes: usize,
}

impl Args {
    fn config(&self) -> ServerConfig {
        let registry = RegistryConfig {
            eviction_interval: Duration::from_millis(self.eviction_interval_timer_in_ms.max(1)),
            renewal_percent_threshold: self.renewal_percent_threshold,
            expected_client_renewal_interval_secs: self.expected_client_renewal_interval_seconds,
            self_preservation: match (self.enable_self_preservation, self.self_preservation_mode) {
                (false, _) => SelfPreservationMode::Disabled,
                (true, Mode::Improved) => SelfPreservationMode::Improved,
                (true, Mode::Legacy) => SelfPreservationMode::Legacy,
            },
            renewal_threshold_update_interval: Duration::from_millis(
                self.renewal_threshold_update_interval_ms,
            ),
            delta_retention: Duration::from_millis(self.retention_time_in_m_s_in_delta_queue),
            publish_interval: Duration::from_millis(self.response_cache_update_interval_ms),
            sync_when_timestamp_differs: self.sync_when_timestamp_differs,
            legacy_lease_expiry: self.legacy_lease_expiry,
            ..RegistryConfig::default()
        };
        ServerConfig {
            registry,
            max_body_bytes: self.max_body_bytes,
            disable_delta: self.disable_delta,
            prefix: self.prefix.trim_end_matches('/').to_owned(),
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
    let config = args.config();
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("eureka-server: cannot listen on {}: {e}", args.listen);
            return std::process::ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().unwrap_or(args.listen);
    let prefix = config.prefix.clone();
    let service = EurekaService::new(config);
    let shutdown = shutdown_signal();
    println!("eureka-server listening on http://{addr}{prefix}");
    tracing::info!(%addr, %prefix, "eureka-server started");
    match serve(listener, service, shutdown, Duration::from_secs(5)).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("eureka-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
