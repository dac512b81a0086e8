//! `eureka-server`: the standalone tower-eureka registry.
//!
//! ```text
//! eureka-server --listen 127.0.0.1:8761
//! eureka-server --config application.yml          # a Spring Eureka server's own file
//! eureka-server --config application.yml --print-config
//! curl -H 'Accept: application/json' http://127.0.0.1:8761/eureka/apps
//! ```
//!
//! Settings are named after Spring Cloud Netflix's properties (`eureka.server.*`,
//! `server.port`, `eureka.client.service-url.defaultZone`, ...) and read, per setting, from
//! the first of: a flag, an environment variable (Spring's forms of the key, e.g.
//! `EUREKA_SERVER_EVICTION_INTERVAL_TIMER_IN_MS`), the `--config` file, the library's
//! default. Logs go to stderr, filtered by `RUST_LOG` (default `info`), as text or JSON
//! lines (`--log-format`); at `debug` every request logs its `request` span (route, app,
//! status, time) when it closes. Prometheus metrics are served at `/metrics`, outside the
//! prefix. Any invalid value, unreadable file or unresolvable placeholder stops the binary
//! with one line naming the key and its source, exit code 2, before it binds.
//!
//! | module | what it holds |
//! |---|---|
//! | `settings` | the table: every setting declared once (key, flag, env, parser, display) |
//! | `entry` | one entry of the table: `Setting` and its builder |
//! | `parse` | the parsers and displays the table uses |
//! | `values` | what the table writes into: the library config types and the binary's own |
//! | `source` | the sources: file flattening (YAML, properties), relaxed keys, env names, placeholders |
//! | `resolve` | precedence, the values settings share, `--print-config` |
//! | `cli` | the clap command built from the table |
//! | `main` | startup: resolve, log, bind, serve, shut down |

#![forbid(unsafe_code)]

// jemalloc instead of the system allocator (feature `jemalloc`, on by default): a new
// registration allocates ~30 small blocks, the record's among them kept for its lease, and
// glibc's per-thread arena grows for them with an `mprotect` every few kilobytes;
// jemalloc's thread cache and extents cut the server's CPU per new registration by about
// a tenth (BENCHMARKS.md, "jemalloc in the binary").
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod cli;
mod entry;
mod no_ops;
mod parse;
mod resolve;
mod settings;
mod source;
mod values;

use std::process::ExitCode;
use std::time::Duration;
use tower_eureka::cluster::{spawn_remote_regions, Cluster, PeerUrl, RemoteRegionSettings};
use tower_eureka::server::{serve, serve_tls, EurekaService};
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::EnvFilter;

/// Exit code of a configuration error (as clap's own).
const CONFIG_ERROR: u8 = 2;

/// The process environment, as the sources read it.
fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Reads the matched command line, the environment and the file into the effective
/// settings.
fn configure(
    matches: &clap::ArgMatches,
    spring: Vec<(String, String)>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(cli::Cli, resolve::Resolved), String> {
    let cli = cli::read(matches, spring)?;
    let file = match &cli.config {
        Some(path) => Some(source::load(path, env)?),
        None => None,
    };
    let mut resolved = resolve::resolve(&cli.flags, env, file)?;
    resolved.notes.extend(cli.notes.iter().cloned());
    Ok((cli, resolved))
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`), in `format`; request spans
/// log a line when they close (they are at `debug`).
fn init_logging(format: settings::LogFormat) {
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(std::io::stderr);
    match format {
        settings::LogFormat::Text => logs.init(),
        settings::LogFormat::Json => logs.json().init(),
    }
}

/// Configuration is read (files included) before the runtime starts, so nothing blocks
/// on it; then the server runs on a multi-threaded runtime.
fn main() -> ExitCode {
    // help, version and clap's own errors exit here (code 2 on errors)
    let (args, spring) = cli::split_spring_args(std::env::args_os());
    let matches = cli::command().get_matches_from(args);
    let reload = Reload {
        matches: matches.clone(),
        spring: spring.clone(),
    };
    let (cli, resolved) = match configure(&matches, spring, &process_env) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("eureka-server: {e}");
            return ExitCode::from(CONFIG_ERROR);
        }
    };
    init_logging(resolved.binary.log_format);
    for w in &resolved.warnings {
        tracing::warn!("{w}");
    }
    for n in &resolved.notes {
        tracing::info!("{n}");
    }
    if cli.print_config {
        print!("{}", resolved.print());
        return ExitCode::SUCCESS;
    }
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(run(resolved, cli.config.is_some(), reload)),
        Err(e) => {
            eprintln!("eureka-server: cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What it takes to read the configuration again: the command line as given.
struct Reload {
    matches: clap::ArgMatches,
    spring: Vec<(String, String)>,
}

impl Reload {
    /// Reads every source again (on the blocking pool: it reads the file) and hands the
    /// new peer list to `cluster` (P-43). A configuration that no longer resolves changes
    /// nothing and is logged.
    async fn peers(&self, cluster: &Cluster) {
        let (matches, spring) = (self.matches.clone(), self.spring.clone());
        let read = tokio::task::spawn_blocking(move || {
            configure(&matches, spring, &process_env).map(|(_, r)| r.cluster.peers)
        });
        match read.await {
            Ok(Ok(peers)) => {
                if cluster.set_peers(peers) {
                    let now: Vec<String> = cluster.peers().iter().map(PeerUrl::base).collect();
                    tracing::info!(peers = ?now, "peer list changed");
                }
            }
            Ok(Err(e)) => tracing::warn!("configuration not reloaded, peers unchanged: {e}"),
            Err(e) => tracing::warn!("configuration not reloaded: {e}"),
        }
    }

    /// Reads the peer list again on `SIGHUP` and every `every` (zero: only on the signal).
    async fn run(self, cluster: std::sync::Arc<Cluster>, every: Duration) {
        #[cfg(unix)]
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            #[cfg(unix)]
            let signal = async {
                match hup.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let signal = std::future::pending::<()>();
            let tick = async {
                if every.is_zero() {
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(every).await;
            };
            tokio::select! {
                () = signal => tracing::info!("SIGHUP: reading the peer list again"),
                () = tick => {}
            }
            self.peers(&cluster).await;
        }
    }
}

/// Binds, serves until a shutdown signal, and drains. With peers or a config file the
/// cluster layer runs, and reads its peer list again on `SIGHUP` and periodically (P-43).
async fn run(resolved: resolve::Resolved, from_file: bool, reload: Reload) -> ExitCode {
    let resolve::Resolved {
        server: config,
        cluster,
        listen,
        tls,
        binary,
        ..
    } = resolved;
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("eureka-server: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().unwrap_or(listen);
    let prefix = config.prefix.clone();
    let peer_tls = cluster.peer_tls.clone();
    let service = if cluster.peers.is_empty() && !from_file {
        EurekaService::new(config)
    } else {
        if !cluster.peers.is_empty() {
            tracing::info!(peers = ?cluster.peers.iter().map(PeerUrl::base).collect::<Vec<_>>(), "peer replication on");
        }
        let mut handle = None;
        let service = EurekaService::with_replicator(config, |registry| {
            let c = Cluster::start(cluster, registry);
            handle = Some(c.clone());
            c
        });
        if let Some(c) = handle {
            tokio::spawn(reload.run(c, binary.peer_refresh));
        }
        service
    };
    let _remote_regions = (!service.config().remote_regions.is_empty()).then(|| {
        let mut settings = RemoteRegionSettings::every(binary.remote_region_interval);
        settings.tls = peer_tls;
        tracing::info!(regions = ?service.config().remote_regions.names().collect::<Vec<_>>(), "remote regions on");
        spawn_remote_regions(&service, settings)
    });
    let shutdown = tower_eureka::signal::shutdown_signal();
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("eureka-server listening on {scheme}://{addr}{prefix}");
    tracing::info!(%addr, %prefix, tls = tls.is_some(), basic_auth = service.config().auth.is_enabled(), "eureka-server started");
    let grace = Duration::from_secs(5);
    let served = match tls {
        Some(tls) => serve_tls(listener, tls, service, shutdown, grace).await,
        None => serve(listener, service, shutdown, grace).await,
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("eureka-server: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_eureka::registry::SelfPreservationMode;
    use tower_eureka::server::ServerConfig;

    /// The flags alone, with an empty environment and no file.
    fn parse(args: &[&str]) -> Result<resolve::Resolved, String> {
        let (args, spring) = cli::split_spring_args(
            std::iter::once("eureka-server")
                .chain(args.iter().copied())
                .map(std::ffi::OsString::from),
        );
        let m = cli::command()
            .try_get_matches_from(args)
            .map_err(|e| e.to_string())?;
        configure(&m, spring, &|_| None).map(|(_, r)| r)
    }

    fn ok(args: &[&str]) -> resolve::Resolved {
        match parse(args) {
            Ok(r) => r,
            Err(e) => panic!("{args:?}: {e}"),
        }
    }

    #[test]
    fn log_format_is_text_json_or_refused_naming_the_flag() {
        assert_eq!(ok(&[]).binary.log_format, settings::LogFormat::Text);
        assert_eq!(
            ok(&["--log-format", "json"]).binary.log_format,
            settings::LogFormat::Json
        );
        assert_eq!(
            ok(&["--log-format=text"]).binary.log_format,
            settings::LogFormat::Text
        );
        match parse(&["--log-format", "xml"]) {
            Ok(_) => panic!("xml accepted"),
            Err(e) => assert!(e.contains("log-format"), "{e}"),
        }
    }

    #[test]
    fn dashboard_flags_and_bad_paths_name_the_key_and_flag() {
        let d = ok(&["--dashboard-path=/ops/eureka/", "--dashboard-enabled=false"])
            .server
            .dashboard;
        assert_eq!(d.path, "/ops/eureka/");
        assert!(!d.enabled);
        for bad in [
            "ops",
            "/a b",
            "/x?y",
            "/health",
            "/ready/",
            "/metrics",
            "/eureka/apps",
            "/eureka/x/",
        ] {
            match parse(&["--dashboard-path", bad]) {
                Ok(_) => panic!("{bad} accepted"),
                Err(e) => assert!(
                    e.contains("eureka.dashboard.path") && e.contains("--dashboard-path"),
                    "{bad}: {e}"
                ),
            }
        }
        for good in ["/", "/ops/eureka", "/eureka", "/eurekadash"] {
            assert_eq!(ok(&["--dashboard-path", good]).server.dashboard.path, good);
        }
        assert!(parse(&["--prefix=/", "--dashboard-path=/apps"]).is_err());
        assert!(parse(&["--prefix=/", "--dashboard-path=/ops"]).is_ok());
    }

    #[test]
    fn auth_users_from_the_spring_keys_and_user() {
        let r = ok(&[
            "--auth-user=eureka",
            "--auth-password=s3cret",
            "--user=ops:p:w",
            "--auth-realm=eureka",
            "--auth-operator-routes=protected",
        ]);
        let auth = &r.server.auth;
        let names: Vec<&[u8]> = auth.user_names().collect();
        assert_eq!(names, [&b"eureka"[..], &b"ops"[..]]);
        assert_eq!(auth.challenge(), "Basic realm=\"eureka\"");
        let shown = format!("{r:?} {}", r.print());
        assert!(
            !shown.contains("s3cret") && !shown.contains("p:w"),
            "{shown}"
        );
        assert!(!ok(&[]).server.auth.is_enabled());
        for (args, flag) in [
            (&["--auth-user=eureka"][..], "--auth-user"),
            (&["--auth-password=x"][..], "--auth-password"),
            (&["--user=nopassword"][..], "--user"),
            (&["--user=:pw"][..], "--user"),
            (
                &[
                    "--tls-cert=/nonexistent/c.pem",
                    "--tls-key=/nonexistent/k.pem",
                ][..],
                "--tls-cert",
            ),
            (&["--tls-key=/nonexistent/k.pem"][..], "--tls-key"),
            (&["--peer-ca=/nonexistent/ca.pem"][..], "--peer-ca"),
        ] {
            match parse(args) {
                Ok(_) => panic!("{args:?} accepted"),
                Err(e) => assert!(e.contains(flag), "{args:?}: {e}"),
            }
        }
    }

    #[test]
    fn the_flags_are_well_formed() {
        cli::command().debug_assert();
    }

    #[test]
    fn no_flags_is_the_library_default_under_eureka() {
        let r = ok(&[]);
        let expected = ServerConfig {
            prefix: "/eureka".into(),
            ..ServerConfig::default()
        };
        assert_eq!(format!("{:?}", r.server), format!("{expected:?}"));
        assert_eq!(r.listen.to_string(), "127.0.0.1:8761");
    }

    #[test]
    fn flags_override_their_setting() {
        let c = ok(&[
            "--prefix=/x/",
            "--eviction-interval-timer-in-ms=0",
            "--enable-self-preservation=false",
            "--renewal-percent-threshold=0.5",
            "--expected-client-renewal-interval-seconds=10",
            "--renewal-threshold-update-interval-ms=1000",
            "--retention-time-in-m-s-in-delta-queue=2000",
            "--response-cache-update-interval-ms=0",
            "--disable-delta",
            "--sync-when-timestamp-differs=false",
            "--legacy-lease-expiry",
            "true",
            "--max-body-bytes=10",
        ])
        .server;
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
        assert_eq!(
            ok(&["--self-preservation-mode", "legacy"])
                .server
                .registry
                .self_preservation,
            SelfPreservationMode::Legacy
        );
    }

    // P-01: repeatable and comma-separated, the Spring variable, self skipped.
    #[test]
    fn p01_peers_from_flags_and_the_spring_variable() {
        let r = ok(&[
            "--peer=http://127.0.0.1:1/eureka,http://127.0.0.1:2/eureka/",
            "--peer",
            "http://127.0.0.1:3/eureka",
            "--default-zone=http://127.0.0.1:4/eureka/",
            "--my-url=http://127.0.0.1:2/eureka",
            "--peer-batch-delay-ms=5",
        ]);
        let bases: Vec<String> = r.cluster.peers.iter().map(PeerUrl::base).collect();
        assert_eq!(
            bases,
            [
                "http://127.0.0.1:1/eureka/",
                "http://127.0.0.1:3/eureka/",
                "http://127.0.0.1:4/eureka/"
            ]
        );
        assert_eq!(r.cluster.batch_delay, Duration::from_millis(5));
        for (flag, v) in [("--peer", "ftp://x/"), ("--my-url", "nope")] {
            match parse(&[flag, v]) {
                Ok(_) => panic!("{flag} {v} accepted"),
                Err(e) => assert!(e.contains(flag), "{e}"),
            }
        }
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
                Err(e) => assert!(e.contains(flag), "{e}"),
            }
        }
    }

    #[test]
    fn spring_command_line_properties_are_flags() {
        let r = ok(&[
            "--server.port=8762",
            "--eureka.instance.hostname=peer2",
            "--eureka.server.enableSelfPreservation=false",
            "--spring.application.name=eureka",
            "--peer=http://a.b:1/eureka",
        ]);
        assert_eq!(r.listen.port(), 8762);
        assert_eq!(
            r.cluster.my_url.as_ref().map(PeerUrl::base).as_deref(),
            Some("http://peer2:8762/eureka/")
        );
        assert_eq!(
            r.server.registry.self_preservation,
            SelfPreservationMode::Disabled
        );
        assert_eq!(r.cluster.peers.len(), 1);
        assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
        let line = r
            .print()
            .lines()
            .find(|l| l.starts_with("server.port "))
            .map(str::to_owned)
            .unwrap_or_default();
        assert!(line.ends_with("# flag --server.port"), "{line}");
        for bad in ["--server.port=x", "--no.such.key=1"] {
            match parse(&[bad]) {
                Ok(_) => panic!("{bad} accepted"),
                Err(e) => assert!(e.contains(bad.split('=').next().unwrap_or(bad)), "{e}"),
            }
        }
    }

    #[test]
    fn a_config_file_is_read_under_the_flags() {
        let dir = std::env::temp_dir().join(format!("eureka-main-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("application.yml");
        if let Err(e) = std::fs::write(
            &path,
            "eureka:\n  server:\n    disable-delta: true\n    renewalPercentThreshold: 0.5\n",
        ) {
            panic!("{e}");
        }
        let Some(p) = path.to_str() else {
            panic!("temp path is not UTF-8");
        };
        let r = ok(&["--config", p, "--renewal-percent-threshold=0.6"]);
        assert!(r.server.disable_delta);
        assert_eq!(r.server.registry.renewal_percent_threshold, 0.6);
        let missing = dir.join("missing.yml");
        let Some(m) = missing.to_str() else {
            panic!("temp path is not UTF-8");
        };
        match parse(&["--config", m]) {
            Ok(_) => panic!("a missing file is accepted"),
            Err(e) => assert!(e.contains("--config") && e.contains("missing.yml"), "{e}"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
