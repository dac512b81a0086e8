//! The table of settings: every setting of the binary, declared once.
//!
//! A [`Setting`] names its key (Spring's property name where Spring has one, in kebab
//! case; the binary's own extras under `tower-eureka.*` or non-clashing `eureka.server.*`
//! names), its flag, any environment variable beyond the two Spring derives from the key
//! ([`env_names`](super::source::env_names)), a help line, how to parse and validate a
//! value into [`Settings`], and how to show the value back. Defaults are never written
//! here: [`Settings::default`] starts from [`ServerConfig::default`] and
//! [`ClusterConfig::default`], and `--help` and `--print-config` show them through `show`.
//!
//! Adding a setting is one entry in [`SETTINGS`]:
//!
//! ```text
//! Setting::new(
//!     "eureka.server.my-new-knob",                  // file key; env EUREKA_SERVER_MY_NEW_KNOB
//!     "What it does, in one line.",                 // --help
//!     |s, v| { s.server.my_knob = number(v)?; Ok(()) },
//!     |s| s.server.my_knob.to_string(),
//! )
//! .flag("my-new-knob"),                             // --my-new-knob (optional)
//! ```
//!
//! plus a field in [`Settings`] when the value has no home in the library config types.
//! `.bool()` makes `--flag` alone mean true, `.list()` lets a flag repeat, `.secret()`
//! masks the value in `--print-config`, `.env(&[..])` adds variable names, `.alias(&[..])`
//! adds file keys. Keys Spring users write that mean nothing here go in [`NO_OPS`].

pub(crate) use crate::entry::{Kind, Setting};
pub(crate) use crate::no_ops::NO_OPS;
use crate::parse::{
    boolean, file, join_region_urls, join_urls, millis, ms, number, path, region_urls, show_path,
    urls, user_name,
};
pub(crate) use crate::values::{Binary, LogFormat, Mode, Redacted, Settings};
use std::time::Duration;
use tower_eureka::cluster::PeerUrl;
use tower_eureka::server::OperatorRoutes;

/// Every setting, in `--help` and `--print-config` order. Within one source, later entries
/// are applied after earlier ones (`server.port` refines `tower-eureka.listen`).
pub(crate) static SETTINGS: &[Setting] = &[
    // === where it listens ===
    Setting::new(
        "tower-eureka.listen",
        "Address to listen on (server.address and server.port refine it).",
        |s, v| {
            s.listen = v.trim().parse().map_err(|_| "expected ip:port, e.g. 127.0.0.1:8761".to_owned())?;
            Ok(())
        },
        |s| s.listen.to_string(),
    )
    .flag("listen")
    .env(&["EUREKA_LISTEN"]),
    Setting::new(
        "server.address",
        "IP address to listen on (Spring's server.address).",
        |s, v| {
            s.address = Some(v.trim().parse().map_err(|_| "expected an IP address".to_owned())?);
            Ok(())
        },
        |s| s.address.unwrap_or(s.listen.ip()).to_string(),
    ),
    Setting::new(
        "server.port",
        "Port to listen on (Spring's server.port; 0 picks a free one).",
        |s, v| {
            s.port = Some(number(v)?);
            Ok(())
        },
        |s| s.port.unwrap_or(s.listen.port()).to_string(),
    ),
    Setting::new(
        "tower-eureka.prefix",
        "Path prefix of the REST API (`/eureka` serves `/eureka/apps` and `/eureka/v2/apps`).",
        |s, v| {
            s.prefix = path(v)?;
            Ok(())
        },
        |s| s.prefix.clone(),
    )
    .flag("prefix")
    .env(&["EUREKA_PREFIX"]),
    // === connections ===
    Setting::new(
        "tower-eureka.header-read-timeout-ms",
        "Longest wait for a request head, in ms; slower connections (slowloris) are closed.",
        |s, v| {
            s.server.header_read_timeout = millis(v)?.max(Duration::from_millis(1));
            Ok(())
        },
        |s| ms(s.server.header_read_timeout),
    )
    .flag("header-read-timeout-ms"),
    Setting::new(
        "tower-eureka.body-read-timeout-ms",
        "Longest wait for a request body, in ms; slower bodies get 408.",
        |s, v| {
            s.server.body_read_timeout = millis(v)?.max(Duration::from_millis(1));
            Ok(())
        },
        |s| ms(s.server.body_read_timeout),
    )
    .flag("body-read-timeout-ms"),
    Setting::new(
        "server.tomcat.max-connections",
        "Most open connections (Spring Boot's Tomcat key); beyond it new ones wait in the backlog.",
        |s, v| {
            let n: usize = number(v)?;
            if n == 0 {
                return Err("out of range: expected at least 1".into());
            }
            s.server.max_connections = n;
            Ok(())
        },
        |s| s.server.max_connections.to_string(),
    )
    .flag("max-connections"),
    Setting::new(
        "tower-eureka.max-concurrent-requests",
        "Most requests in progress before load is shed with 503 + Retry-After (0: never); heartbeats, cancels and probes have their own reserve, full fetches may use half, long polls are not counted.",
        |s, v| {
            s.server.max_concurrent_requests = number(v)?;
            Ok(())
        },
        |s| s.server.max_concurrent_requests.to_string(),
    )
    .flag("max-concurrent-requests"),
    // === dashboard ===
    Setting::new(
        "eureka.dashboard.path",
        "Path of the dashboard, outside the REST prefix; its JSON twin is {path}/dashboard.json.",
        |s, v| {
            s.server.dashboard.path = v.trim().to_owned();
            Ok(())
        },
        |s| s.server.dashboard.path.clone(),
    )
    .flag("dashboard-path"),
    Setting::new(
        "eureka.dashboard.enabled",
        "Serve the dashboard; when false its paths answer 404.",
        |s, v| {
            s.server.dashboard.enabled = boolean(v)?;
            Ok(())
        },
        |s| s.server.dashboard.enabled.to_string(),
    )
    .flag("dashboard-enabled")
    .bool(),
    // === authentication and TLS ===
    Setting::new(
        "spring.security.user.name",
        "HTTP Basic user (Spring Security's): with a user, every REST and replication request needs its credentials.",
        |s, v| {
            s.binary.auth_user = Some(user_name(v)?);
            Ok(())
        },
        |s| s.binary.auth_user.clone().unwrap_or_default(),
    )
    .flag("auth-user"),
    Setting::new(
        "spring.security.user.password",
        "Password of spring.security.user.name; prefer the environment variable, which ps does not show.",
        |s, v| {
            s.binary.auth_password = Some(Redacted(v.to_owned()));
            Ok(())
        },
        |s| {
            s.binary
                .auth_password
                .as_ref()
                .map(|p| p.0.clone())
                .unwrap_or_default()
        },
    )
    .flag("auth-password")
    .secret(),
    Setting::new(
        "tower-eureka.auth.users",
        "Further Basic users as NAME:PASSWORD; repeat the flag or separate with commas.",
        |s, v| {
            for u in v.split(',').map(str::trim).filter(|u| !u.is_empty()) {
                let Some((name, pw)) = u.split_once(':') else {
                    return Err("expected NAME:PASSWORD".into());
                };
                s.binary.users.push((user_name(name)?, Redacted(pw.to_owned())));
            }
            Ok(())
        },
        |s| {
            s.binary
                .users
                .iter()
                .map(|(n, p)| format!("{n}:{}", p.0))
                .collect::<Vec<_>>()
                .join(",")
        },
    )
    .flag("user")
    .list()
    .secret(),
    Setting::new(
        "tower-eureka.auth.realm",
        "Realm named in the WWW-Authenticate challenge (Spring Security's default: Realm).",
        |s, v| {
            let r = v.trim();
            if r.is_empty() || r.contains(['"', '\\']) || r.chars().any(char::is_control) {
                return Err("expected a realm without quotes, backslashes or control characters".into());
            }
            s.binary.auth_realm = r.to_owned();
            Ok(())
        },
        |s| s.binary.auth_realm.clone(),
    )
    .flag("auth-realm")
    .env(&["EUREKA_AUTH_REALM"]),
    Setting::new(
        "tower-eureka.auth.operator-routes",
        "Whether /health, /ready, /metrics and the dashboard need the credentials too: open or protected.",
        |s, v| {
            s.binary.operator_routes = match v.trim().to_ascii_lowercase().as_str() {
                "open" => OperatorRoutes::Open,
                "protected" => OperatorRoutes::Protected,
                _ => return Err("expected open or protected".into()),
            };
            Ok(())
        },
        |s| match s.binary.operator_routes {
            OperatorRoutes::Open => "open".into(),
            OperatorRoutes::Protected => "protected".into(),
        },
    )
    .flag("auth-operator-routes")
    .env(&["EUREKA_AUTH_OPERATOR_ROUTES"]),
    Setting::new(
        "server.ssl.certificate",
        "Serve HTTPS with this PEM certificate chain (Spring Boot's key; needs the private key).",
        |s, v| {
            s.binary.tls_cert = Some(file(v)?);
            Ok(())
        },
        |s| show_path(&s.binary.tls_cert),
    )
    .flag("tls-cert")
    .env(&["EUREKA_TLS_CERT"]),
    Setting::new(
        "server.ssl.certificate-private-key",
        "The PEM private key of server.ssl.certificate (PKCS#8, PKCS#1 or SEC1).",
        |s, v| {
            s.binary.tls_key = Some(file(v)?);
            Ok(())
        },
        |s| show_path(&s.binary.tls_key),
    )
    .flag("tls-key")
    .env(&["EUREKA_TLS_KEY"]),
    Setting::new(
        "tower-eureka.peer-ca",
        "PEM CA certificate(s) trusted for https:// peers, besides the Mozilla roots.",
        |s, v| {
            s.binary.peer_ca = Some(file(v)?);
            Ok(())
        },
        |s| show_path(&s.binary.peer_ca),
    )
    .flag("peer-ca")
    .env(&["EUREKA_PEER_CA"]),
    // === logs ===
    Setting::new(
        "tower-eureka.log-format",
        "Log line format: text, or json (one object per line); the level filter is RUST_LOG.",
        |s, v| {
            s.binary.log_format = match v.trim().to_ascii_lowercase().as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => return Err("expected text or json".into()),
            };
            Ok(())
        },
        |s| match s.binary.log_format {
            LogFormat::Text => "text".into(),
            LogFormat::Json => "json".into(),
        },
    )
    .flag("log-format")
    .env(&["EUREKA_LOG_FORMAT"]),
    Setting::new(
        "server.servlet.context-path",
        "Spring's context path: the API is served at {context-path}/eureka.",
        |s, v| {
            s.context_path = Some(path(v)?);
            Ok(())
        },
        |s| s.context_path.clone().unwrap_or_default(),
    ),
    // === registry ===
    Setting::new(
        "eureka.server.eviction-interval-timer-in-ms",
        "How often expired leases are evicted, in ms (Java: 60000; 0 means 1).",
        |s, v| {
            s.server.registry.eviction_interval = millis(v)?.max(Duration::from_millis(1));
            Ok(())
        },
        |s| ms(s.server.registry.eviction_interval),
    )
    .flag("eviction-interval-timer-in-ms"),
    Setting::new(
        "eureka.server.enable-self-preservation",
        "Self-preservation: stop expiring leases when too few heartbeats arrive.",
        |s, v| {
            s.self_preservation = boolean(v)?;
            Ok(())
        },
        |s| s.self_preservation.to_string(),
    )
    .flag("enable-self-preservation")
    .bool(),
    Setting::new(
        "eureka.server.self-preservation-mode",
        "Which self-preservation arithmetic to use: improved, or legacy (Java's).",
        |s, v| {
            s.mode = match v.trim().to_ascii_lowercase().as_str() {
                "improved" => Mode::Improved,
                "legacy" => Mode::Legacy,
                _ => return Err("expected improved or legacy".into()),
            };
            Ok(())
        },
        |s| match s.mode {
            Mode::Improved => "improved".into(),
            Mode::Legacy => "legacy".into(),
        },
    )
    .flag("self-preservation-mode"),
    Setting::new(
        "eureka.server.renewal-percent-threshold",
        "Fraction of expected renewals below which self-preservation engages (0 to 1).",
        |s, v| {
            let p: f64 = number(v)?;
            if !(0.0..=1.0).contains(&p) {
                return Err("out of range: expected a number from 0 to 1".into());
            }
            s.server.registry.renewal_percent_threshold = p;
            Ok(())
        },
        |s| s.server.registry.renewal_percent_threshold.to_string(),
    )
    .flag("renewal-percent-threshold"),
    Setting::new(
        "eureka.server.expected-client-renewal-interval-seconds",
        "Heartbeat interval clients are expected to use, in seconds (0 means 30).",
        |s, v| {
            s.server.registry.expected_client_renewal_interval_secs = number(v)?;
            Ok(())
        },
        |s| s.server.registry.expected_client_renewal_interval_secs.to_string(),
    )
    .flag("expected-client-renewal-interval-seconds"),
    Setting::new(
        "eureka.server.renewal-threshold-update-interval-ms",
        "Legacy mode only: how often the expected renew count is recomputed, in ms.",
        |s, v| {
            s.server.registry.renewal_threshold_update_interval = millis(v)?;
            Ok(())
        },
        |s| ms(s.server.registry.renewal_threshold_update_interval),
    )
    .flag("renewal-threshold-update-interval-ms"),
    Setting::new(
        "eureka.server.retention-time-in-m-s-in-delta-queue",
        "How long changes stay in /apps/delta, in ms (at least 180000 is recommended).",
        |s, v| {
            s.server.registry.delta_retention = millis(v)?;
            Ok(())
        },
        |s| ms(s.server.registry.delta_retention),
    )
    .flag("retention-time-in-m-s-in-delta-queue"),
    Setting::new(
        "eureka.server.response-cache-update-interval-ms",
        "Longest delay between a change and its visibility in GET responses, in ms (Java: 30000).",
        |s, v| {
            s.server.registry.publish_interval = millis(v)?;
            Ok(())
        },
        |s| ms(s.server.registry.publish_interval),
    )
    .flag("response-cache-update-interval-ms"),
    Setting::new(
        "eureka.server.disable-delta",
        "Answer /apps/delta with 403 so that clients always fetch the full registry.",
        |s, v| {
            s.server.disable_delta = boolean(v)?;
            Ok(())
        },
        |s| s.server.disable_delta.to_string(),
    )
    .flag("disable-delta")
    .bool(),
    Setting::new(
        "eureka.server.sync-when-timestamp-differs",
        "Compare lastDirtyTimestamp on heartbeats (404 when the client is newer).",
        |s, v| {
            s.server.registry.sync_when_timestamp_differs = boolean(v)?;
            Ok(())
        },
        |s| s.server.registry.sync_when_timestamp_differs.to_string(),
    )
    .flag("sync-when-timestamp-differs")
    .bool(),
    Setting::new(
        "eureka.server.legacy-lease-expiry",
        "Reproduce Java's lease expiry (2x the duration after the first renewal).",
        |s, v| {
            s.server.registry.legacy_lease_expiry = boolean(v)?;
            Ok(())
        },
        |s| s.server.registry.legacy_lease_expiry.to_string(),
    )
    .flag("legacy-lease-expiry")
    .bool(),
    Setting::new(
        "eureka.server.max-body-bytes",
        "Largest accepted request body in bytes (at least 1).",
        |s, v| {
            let n: usize = number(v)?;
            if n == 0 {
                return Err("out of range: expected at least 1".into());
            }
            s.server.max_body_bytes = n;
            Ok(())
        },
        |s| s.server.max_body_bytes.to_string(),
    )
    .flag("max-body-bytes"),
    // === remote regions (R-130) ===
    Setting::new(
        "eureka.server.remote-region-urls-with-name",
        "Remote regions merged into GET /apps?regions=..: region;url pairs separated by commas \
         (Java's form), or in a file one key per region (eureka.server.remote-region-urls-with-name.us-west: http://..).",
        |s, v| {
            s.server.remote_regions = region_urls(&s.server.remote_regions, v)?;
            Ok(())
        },
        |s| join_region_urls(&s.server.remote_regions),
    )
    .flag("remote-region")
    .list(),
    Setting::new(
        "eureka.server.remote-region-registry-fetch-interval",
        "Seconds between two fetches of each remote region's registry.",
        |s, v| {
            let secs: u64 = number(v)?;
            if secs == 0 {
                return Err("must be at least 1 second".into());
            }
            s.binary.remote_region_interval = Duration::from_secs(secs);
            Ok(())
        },
        |s| s.binary.remote_region_interval.as_secs().to_string(),
    )
    .flag("remote-region-fetch-interval"),
    Setting::new(
        "eureka.server.disable-transparent-fallback-to-other-region",
        "GET /apps/{app} of an app absent here does not answer from a remote region.",
        |s, v| {
            let r = std::mem::take(&mut s.server.remote_regions);
            s.server.remote_regions = r.with_transparent_fallback(!boolean(v)?);
            Ok(())
        },
        |s| (!s.server.remote_regions.transparent_fallback()).to_string(),
    )
    .bool(),
    // === cluster ===
    Setting::new(
        "tower-eureka.peers",
        "A peer's service URL (http://host:port/eureka); repeat or separate with commas. \
         This server's own URL is skipped, so every node can be given the same list.",
        |s, v| {
            s.peers.extend(urls(v)?);
            Ok(())
        },
        |s| join_urls(&s.peers),
    )
    .flag("peer")
    .list(),
    Setting::new(
        "eureka.client.service-url.defaultZone",
        "Peers as Spring users set them: comma-separated service URLs, added to --peer.",
        |s, v| {
            s.default_zone.extend(urls(v)?);
            Ok(())
        },
        |s| join_urls(&s.default_zone),
    )
    .flag("default-zone")
    .list(),
    Setting::new(
        "eureka.server.my-url",
        "This server's own service URL, skipped among the peers (scheme, host, port, path).",
        |s, v| {
            s.my_url = Some(PeerUrl::parse(v).map_err(|e| e.reason)?);
            Ok(())
        },
        |s| s.my_url.as_ref().map(PeerUrl::base).unwrap_or_default(),
    )
    .flag("my-url"),
    Setting::new(
        "eureka.instance.hostname",
        "This server's host name: without my-url, its own URL is http(s)://{hostname}:{port}{prefix}/ (the port as configured; https with server.ssl.certificate).",
        |s, v| {
            let h = v.trim();
            if h.is_empty() || h.contains(['/', ':', '@', ' ']) {
                return Err("expected a host name".into());
            }
            s.hostname = Some(h.to_owned());
            Ok(())
        },
        |s| s.hostname.clone().unwrap_or_default(),
    ),
    Setting::new(
        "eureka.server.peer-eureka-nodes-update-interval-ms",
        "How often the peer list is read again from the config file and environment, in ms (Java: 600000; 0: only on SIGHUP).",
        |s, v| {
            s.binary.peer_refresh = millis(v)?;
            Ok(())
        },
        |s| ms(s.binary.peer_refresh),
    )
    .flag("peer-refresh-interval-ms"),
    Setting::new(
        "eureka.server.peer-batch-delay-ms",
        "How long replication waits to fill a batch, in ms (Java: 500).",
        |s, v| {
            s.cluster.batch_delay = millis(v)?;
            Ok(())
        },
        |s| ms(s.cluster.batch_delay),
    )
    .flag("peer-batch-delay-ms"),
    Setting::new(
        "eureka.server.peer-node-read-timeout-ms",
        "Timeout of one request to a peer, in ms (Spring: 200; 0 means 1).",
        |s, v| {
            s.cluster.timeout = millis(v)?.max(Duration::from_millis(1));
            Ok(())
        },
        |s| ms(s.cluster.timeout),
    )
    .flag("peer-timeout-ms"),
    Setting::new(
        "eureka.server.peer-healthy-window-ms",
        "A peer counts as healthy in /status while its last success is at most this old, in ms.",
        |s, v| {
            s.cluster.healthy_window = millis(v)?;
            Ok(())
        },
        |s| ms(s.cluster.healthy_window),
    )
    .flag("peer-healthy-window-ms"),
    Setting::new(
        "eureka.server.peer-anti-entropy-interval-ms",
        "Period of the anti-entropy comparison with each peer (GET /apps), in ms; 0 turns it off.",
        |s, v| {
            s.cluster.anti_entropy_interval = millis(v)?;
            Ok(())
        },
        |s| ms(s.cluster.anti_entropy_interval),
    )
    .flag("peer-anti-entropy-interval-ms"),
    Setting::new(
        "eureka.server.peer-sync-budget-ms",
        "How long the startup sync tries the peers before opening anyway, in ms.",
        |s, v| {
            s.cluster.sync_budget = millis(v)?;
            Ok(())
        },
        |s| ms(s.cluster.sync_budget),
    )
    .flag("peer-sync-budget-ms"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::mask_userinfo;
    use crate::source::canonical;

    #[test]
    fn keys_flags_and_env_names_are_unique() {
        let mut keys = std::collections::HashSet::new();
        let mut flags = std::collections::HashSet::new();
        let mut envs = std::collections::HashSet::new();
        for s in SETTINGS {
            let derived = crate::source::env_names(s.key);
            // a key's two Spring forms coincide when it has no dash
            let own: std::collections::BTreeSet<String> = s
                .env
                .iter()
                .map(|e| (*e).to_owned())
                .chain(derived)
                .collect();
            for e in own {
                assert!(envs.insert(e.clone()), "env {e} twice");
            }
            for k in std::iter::once(s.key).chain(s.aliases.iter().copied()) {
                assert!(keys.insert(canonical(k)), "key {k} twice");
            }
            if let Some(f) = s.flag {
                assert!(flags.insert(f), "flag {f} twice");
            }
        }
        for (k, _) in NO_OPS {
            assert!(!keys.contains(&canonical(k)), "no-op {k} is a setting");
        }
    }

    #[test]
    fn every_default_shown_is_accepted_back() {
        let d = Settings::default();
        for s in SETTINGS {
            let shown = (s.show)(&d);
            if shown.is_empty() {
                continue;
            }
            let mut t = Settings::default();
            if let Err(e) = (s.apply)(&mut t, &shown) {
                panic!("{}: default {shown:?} refused: {e}", s.key);
            }
            assert_eq!((s.show)(&t), shown, "{}", s.key);
        }
    }

    #[test]
    fn a_secret_is_masked_wherever_it_is_shown() {
        let secret = Setting::new(
            "tower-eureka.test-secret",
            "",
            |s, v| {
                s.hostname = Some(v.to_owned());
                Ok(())
            },
            |s| s.hostname.clone().unwrap_or_default(),
        )
        .secret();
        let mut s = Settings::default();
        assert_eq!(secret.display(&s), "", "an unset secret shows as unset");
        let _ = (secret.apply)(&mut s, "hunter2");
        assert_eq!(secret.display(&s), "****");
        assert_eq!(secret.display_raw("hunter2"), "****");
        let plain = Setting {
            secret: false,
            ..secret
        };
        assert_eq!(plain.display(&s), "hunter2");
        assert_eq!(plain.display_raw("http://u:pw@h/"), "http://u:****@h/");
    }

    #[test]
    fn parsers_refuse_what_they_cannot_use() {
        assert_eq!(boolean(" ON "), Ok(true));
        assert_eq!(boolean("no"), Ok(false));
        assert!(boolean("maybe").is_err());
        assert!(number::<u16>("70000").is_err());
        assert!(millis("-1").is_err());
        assert_eq!(path("/x/"), Ok("/x".to_owned()));
        assert!(path("x").is_err());
        assert!(urls("http://a:1/eureka/,ftp://b/").is_err());
        assert_eq!(
            mask_userinfo("http://u:secret@h:1/eureka/,http://h2/"),
            "http://u:****@h:1/eureka/,http://h2/"
        );
        assert_eq!(mask_userinfo("http://u@h/"), "http://u:****@h/");
    }
}
