//! Precedence: flags > environment > file > defaults, per setting; then the values
//! several settings share (listen address, prefix, own URL, peers) are combined, and
//! everything is validated before the binary binds its port.

use crate::parse::check_dashboard_path;
use crate::settings::{Binary, Mode, Setting, Settings, NO_OPS, SETTINGS};
use crate::source::{canonical, env_names, fold_map_keys, FileValues, Origin, MAP_KEYS};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use tower_eureka::cluster::{ClusterConfig, PeerUrl};
use tower_eureka::registry::SelfPreservationMode;
use tower_eureka::server::BasicAuth;
use tower_eureka::server::ServerConfig;
use tower_eureka::tls::rustls;

/// The settings given on the command line: `(setting key, value, the flag as typed)`; the
/// values of a repeated flag are joined by commas, and of one setting given twice the
/// last counts.
pub(crate) type FlagValues = Vec<(&'static str, String, String)>;

/// The effective configuration and what it was made of.
#[derive(Debug)]
pub(crate) struct Resolved {
    /// The server's settings.
    pub(crate) server: ServerConfig,
    /// Peers, own URL and the cluster's knobs.
    pub(crate) cluster: ClusterConfig,
    /// The address to bind.
    pub(crate) listen: SocketAddr,
    /// The own URL when it was derived from `eureka.instance.hostname`.
    pub(crate) derived_my_url: Option<String>,
    /// Every setting's value as shown, and where it came from, in table order.
    pub(crate) values: Vec<(&'static Setting, String, Origin)>,
    /// Unknown keys and other things to warn about (one line each).
    pub(crate) warnings: Vec<String>,
    /// Keys accepted without effect, with why.
    pub(crate) notes: Vec<String>,
    /// The binary's own settings.
    pub(crate) binary: Binary,
    /// The HTTPS listener's configuration (`server.ssl.*`), if HTTPS is on.
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
}

/// Reads every source and combines them. An error is one line naming the setting and its
/// source.
pub(crate) fn resolve(
    flags: &FlagValues,
    env: &dyn Fn(&str) -> Option<String>,
    file: Option<FileValues>,
) -> Result<Resolved, String> {
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    let mut from_file: Vec<Option<(String, String)>> = vec![None; SETTINGS.len()];
    let mut path = String::new();
    if let Some(file) = file {
        path.clone_from(&file.path);
        warnings.extend(file.warnings);
        for (key, value) in fold_map_keys(file.entries, MAP_KEYS) {
            let c = canonical(&key);
            if let Some(i) = SETTINGS
                .iter()
                .position(|s| canonical(s.key) == c || s.aliases.iter().any(|a| canonical(a) == c))
            {
                if let Some((first, _)) = &from_file[i] {
                    warnings.push(format!(
                        "{}: {key} sets {} again (after {first}); the last one is used",
                        file.path, SETTINGS[i].key
                    ));
                }
                from_file[i] = Some((key, value));
            } else if let Some((_, why)) = NO_OPS.iter().find(|(k, _)| canonical(k) == c) {
                notes.push(format!(
                    "{}: {key} accepted with no effect: {why}",
                    file.path
                ));
            } else {
                warnings.push(format!("{}: unknown key {key} (ignored)", file.path));
            }
        }
    }

    // The winning source of each setting.
    let mut chosen: Vec<(usize, String, Origin)> = Vec::new();
    for (i, s) in SETTINGS.iter().enumerate() {
        let flag = flags
            .iter()
            .rev()
            .find(|(k, _, _)| *k == s.key)
            .map(|(_, v, name)| (v.clone(), Origin::Flag(name.clone())));
        let from_env = || {
            let derived = env_names(s.key);
            s.env
                .iter()
                .map(|n| (*n).to_owned())
                .chain(derived)
                .find_map(|n| env(&n).map(|v| (v, Origin::Env(n))))
        };
        let file_value = || {
            from_file[i].take().map(|(key, v)| {
                (
                    v,
                    Origin::File {
                        path: path.clone(),
                        key,
                    },
                )
            })
        };
        if let Some((v, o)) = flag.or_else(from_env).or_else(file_value) {
            chosen.push((i, v, o));
        }
    }

    // Lower sources first, so that where two settings write one value (listen and
    // server.port) the higher source is applied last and wins.
    chosen.sort_by_key(|(i, _, o)| (o.rank(), *i));
    let mut settings = Settings::default();
    let mut origins = vec![Origin::Default; SETTINGS.len()];
    for (i, v, o) in chosen {
        let s = &SETTINGS[i];
        (s.apply)(&mut settings, &v).map_err(|e| {
            format!(
                "{}: invalid value {:?} from {o}: {e}",
                s.key,
                s.display_raw(&v)
            )
        })?;
        origins[i] = o;
    }
    warnings.append(&mut settings.warnings);
    let values = SETTINGS
        .iter()
        .zip(&origins)
        .map(|(s, o)| (s, s.display(&settings), o.clone()))
        .collect();
    let origin = |key: &str| {
        SETTINGS
            .iter()
            .position(|s| s.key == key)
            .map_or(Origin::Default, |i| origins[i].clone())
    };
    finish(settings, &origin, values, warnings, notes)
}

/// Combines what several settings share.
/// `key` and where its value came from, for a message (`--flag` shows for flags).
fn named(key: &str, origin: &dyn Fn(&str) -> Origin) -> String {
    format!("{key} (from {})", origin(key))
}

/// The Basic users: Spring Security's user and `tower-eureka.auth.users`.
fn auth(b: &Binary, origin: &dyn Fn(&str) -> Origin) -> Result<BasicAuth, String> {
    const NAME: &str = "spring.security.user.name";
    const PASSWORD: &str = "spring.security.user.password";
    let mut auth = BasicAuth::new()
        .realm(&b.auth_realm)
        .operator_routes(b.operator_routes);
    match (&b.auth_user, &b.auth_password) {
        (Some(name), Some(pw)) => auth = auth.user(name, &pw.0),
        (Some(_), None) => {
            return Err(format!(
                "{} needs {PASSWORD} (--auth-password, SPRING_SECURITY_USER_PASSWORD)",
                named(NAME, origin)
            ))
        }
        (None, Some(_)) => {
            return Err(format!(
                "{} needs {NAME} (--auth-user, SPRING_SECURITY_USER_NAME)",
                named(PASSWORD, origin)
            ))
        }
        (None, None) => {}
    }
    for (name, pw) in &b.users {
        auth = auth.user(name, &pw.0);
    }
    Ok(auth)
}

/// Reads the file of `key`.
fn read_file(
    key: &str,
    path: &std::path::Path,
    origin: &dyn Fn(&str) -> Origin,
) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        format!(
            "{}: cannot read {}: {e}",
            named(key, origin),
            path.display()
        )
    })
}

/// The HTTPS listener's configuration, from `server.ssl.certificate` and its key.
fn server_tls(
    b: &Binary,
    origin: &dyn Fn(&str) -> Origin,
) -> Result<Option<Arc<rustls::ServerConfig>>, String> {
    const CERT: &str = "server.ssl.certificate";
    const KEY: &str = "server.ssl.certificate-private-key";
    let (cert, key) = match (&b.tls_cert, &b.tls_key) {
        (None, None) => return Ok(None),
        (Some(c), Some(k)) => (c, k),
        (Some(_), None) => return Err(format!("{} needs {KEY} (--tls-key)", named(CERT, origin))),
        (None, Some(_)) => return Err(format!("{} needs {CERT} (--tls-cert)", named(KEY, origin))),
    };
    let cert_pem = read_file(CERT, cert, origin)?;
    let key_pem = read_file(KEY, key, origin)?;
    // Name the file whose content is at fault.
    tower_eureka::tls::certificates(&cert_pem)
        .map_err(|e| format!("{}: {}: {e}", named(CERT, origin), cert.display()))?;
    tower_eureka::tls::server_config(&cert_pem, &key_pem)
        .map(Some)
        .map_err(|e| format!("{}: {}: {e}", named(KEY, origin), key.display()))
}

/// The peers' TLS client configuration with `tower-eureka.peer-ca`, if given.
fn peer_tls(
    b: &Binary,
    origin: &dyn Fn(&str) -> Origin,
) -> Result<Option<Arc<rustls::ClientConfig>>, String> {
    const CA: &str = "tower-eureka.peer-ca";
    let Some(path) = &b.peer_ca else {
        return Ok(None);
    };
    let pem = read_file(CA, path, origin)?;
    let err =
        |e: tower_eureka::tls::TlsError| format!("{}: {}: {e}", named(CA, origin), path.display());
    let roots = tower_eureka::tls::certificates(&pem).map_err(err)?;
    let config = tower_eureka::tls::client_config(&roots).map_err(err)?;
    Ok(Some(Arc::new(config)))
}

fn finish(
    s: Settings,
    origin: &dyn Fn(&str) -> Origin,
    values: Vec<(&'static Setting, String, Origin)>,
    warnings: Vec<String>,
    notes: Vec<String>,
) -> Result<Resolved, String> {
    let rank = |key: &str| origin(key).rank();
    // server.address / server.port refine tower-eureka.listen unless it came from a
    // higher source.
    let listen_rank = rank("tower-eureka.listen");
    let mut listen = s.listen;
    if let Some(ip) = s.address.filter(|_| rank("server.address") >= listen_rank) {
        listen.set_ip(ip);
    }
    if let Some(port) = s.port.filter(|_| rank("server.port") >= listen_rank) {
        listen.set_port(port);
    }
    let mut server = s.server;
    server.prefix = match &s.context_path {
        Some(ctx) if rank("server.servlet.context-path") > rank("tower-eureka.prefix") => {
            format!("{ctx}/eureka")
        }
        _ => s.prefix.clone(),
    };
    server.registry.self_preservation = match (s.self_preservation, s.mode) {
        (false, _) => SelfPreservationMode::Disabled,
        (true, Mode::Improved) => SelfPreservationMode::Improved,
        (true, Mode::Legacy) => SelfPreservationMode::Legacy,
    };
    if let Err(why) = check_dashboard_path(&server.dashboard.path, &server.prefix) {
        return Err(format!(
            "eureka.dashboard.path: invalid value {:?} from {}: {why}",
            server.dashboard.path,
            origin("eureka.dashboard.path")
        ));
    }
    let mut derived_my_url = None;
    let my_url = match (&s.my_url, &s.hostname) {
        (Some(u), _) => Some(u.clone()),
        (None, Some(host)) => {
            // HTTPS when this server serves it (server.ssl.certificate).
            let scheme = if s.binary.tls_cert.is_some() {
                "https"
            } else {
                "http"
            };
            let url = format!("{scheme}://{host}:{}{}/", listen.port(), server.prefix);
            let u = PeerUrl::parse(&url)
                .map_err(|e| format!("eureka.instance.hostname: own URL {url:?}: {}", e.reason))?;
            derived_my_url = Some(u.base());
            Some(u)
        }
        _ => None,
    };
    server.auth = auth(&s.binary, origin)?;
    let tls = server_tls(&s.binary, origin)?;
    let peer_tls = peer_tls(&s.binary, origin)?;
    let mut peers = s.peers;
    peers.extend(s.default_zone);
    let knobs = s.cluster;
    let mut cluster = ClusterConfig::new(peers, my_url);
    cluster.batch_delay = knobs.batch_delay;
    cluster.timeout = knobs.timeout;
    cluster.sync_budget = knobs.sync_budget;
    cluster.healthy_window = knobs.healthy_window;
    cluster.anti_entropy_interval = knobs.anti_entropy_interval;
    cluster.peer_tls = peer_tls;
    Ok(Resolved {
        server,
        cluster,
        listen,
        derived_my_url,
        values,
        warnings,
        notes,
        binary: s.binary,
        tls,
    })
}

impl Resolved {
    /// `--print-config`: one `key = value  # source` line per setting, then what was
    /// combined from them.
    pub(crate) fn print(&self) -> String {
        let mut out = String::from(
            "# eureka-server effective configuration: key = value  # source\n\
             # precedence: flag > env > file > default\n",
        );
        let width = self
            .values
            .iter()
            .map(|(s, _, _)| s.key.len())
            .max()
            .unwrap_or(0);
        for (s, v, o) in &self.values {
            let _ = writeln!(out, "{:<width$} = {v}  # {o}", s.key);
        }
        let _ = writeln!(out, "# combined:");
        let _ = writeln!(
            out,
            "#   listening on {}{}",
            self.listen, self.server.prefix
        );
        let peers: Vec<String> = self.cluster.peers.iter().map(PeerUrl::base).collect();
        let _ = writeln!(
            out,
            "#   peers: {}",
            if peers.is_empty() {
                "none".to_owned()
            } else {
                peers.join(",")
            }
        );
        let own = match (&self.cluster.my_url, &self.derived_my_url) {
            (_, Some(d)) => format!("{d} (from eureka.instance.hostname and the port)"),
            (Some(u), None) => u.base(),
            (None, None) => "not set".to_owned(),
        };
        let _ = writeln!(out, "#   own URL: {own}");
        let regions = crate::parse::join_region_urls(&self.server.remote_regions);
        let _ = writeln!(
            out,
            "#   remote regions: {}",
            if regions.is_empty() { "none" } else { &regions }
        );
        let _ = writeln!(
            out,
            "#   self-preservation: {:?}",
            self.server.registry.self_preservation
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn file(entries: &[(&str, &str)]) -> Option<FileValues> {
        Some(FileValues {
            path: "app.yml".into(),
            entries: entries
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            warnings: Vec::new(),
        })
    }

    fn origin(r: &Resolved, key: &str) -> String {
        match r.values.iter().find(|(s, _, _)| s.key == key) {
            Some((_, v, o)) => format!("{v} {o}"),
            None => panic!("no {key}"),
        }
    }

    fn ok(r: Result<Resolved, String>) -> Resolved {
        match r {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn flags_beat_env_beat_file_beat_defaults() {
        let key = "eureka.server.eviction-interval-timer-in-ms";
        let f = file(&[("eureka.server.evictionIntervalTimerInMs", "3000")]);
        let env =
            |n: &str| (n == "EUREKA_SERVER_EVICTIONINTERVALTIMERINMS").then(|| "2000".to_owned());
        let flags: FlagValues = vec![(
            key,
            "1000".to_owned(),
            "--eviction-interval-timer-in-ms".to_owned(),
        )];
        let none = |_: &str| None;

        let r = ok(resolve(&Vec::new(), &none, None));
        assert_eq!(
            r.server.registry.eviction_interval,
            ServerConfig::default().registry.eviction_interval
        );
        assert_eq!(origin(&r, key), "5000 default");

        let f2 = file(&[("eureka.server.evictionIntervalTimerInMs", "3000")]);
        let r = ok(resolve(&Vec::new(), &none, f2));
        assert_eq!(r.server.registry.eviction_interval, Duration::from_secs(3));
        assert_eq!(
            origin(&r, key),
            "3000 file app.yml (eureka.server.evictionIntervalTimerInMs)"
        );

        let f3 = file(&[("eureka.server.evictionIntervalTimerInMs", "3000")]);
        let r = ok(resolve(&Vec::new(), &env, f3));
        assert_eq!(r.server.registry.eviction_interval, Duration::from_secs(2));
        assert_eq!(
            origin(&r, key),
            "2000 env EUREKA_SERVER_EVICTIONINTERVALTIMERINMS"
        );

        let r = ok(resolve(&flags, &env, f));
        assert_eq!(r.server.registry.eviction_interval, Duration::from_secs(1));
        assert_eq!(origin(&r, key), "1000 flag --eviction-interval-timer-in-ms");
    }

    #[test]
    fn the_variables_read_before_keep_working() {
        let env = |n: &str| match n {
            "EUREKA_LISTEN" => Some("0.0.0.0:9000".to_owned()),
            "EUREKA_PREFIX" => Some("/reg/".to_owned()),
            "EUREKA_SERVER_EVICTION_INTERVAL_TIMER_IN_MS" => Some("7".to_owned()),
            "EUREKA_SERVER_PEER_NODE_READ_TIMEOUT_MS" => Some("300".to_owned()),
            "EUREKA_CLIENT_SERVICEURL_DEFAULTZONE" => Some("http://p:1/eureka/".to_owned()),
            _ => None,
        };
        let r = ok(resolve(&Vec::new(), &env, None));
        assert_eq!(r.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(r.server.prefix, "/reg");
        assert_eq!(
            r.server.registry.eviction_interval,
            Duration::from_millis(7)
        );
        assert_eq!(r.cluster.timeout, Duration::from_millis(300));
        assert_eq!(r.cluster.peers.len(), 1);
    }

    #[test]
    fn server_port_and_address_refine_listen_unless_a_higher_source_set_it() {
        let none = |_: &str| None;
        let f = || file(&[("server.port", "9001"), ("server.address", "0.0.0.0")]);
        let r = ok(resolve(&Vec::new(), &none, f()));
        assert_eq!(r.listen.to_string(), "0.0.0.0:9001");
        let flags: FlagValues = vec![(
            "tower-eureka.listen",
            "127.0.0.1:0".to_owned(),
            "--listen".to_owned(),
        )];
        let r = ok(resolve(&flags, &none, f()));
        assert_eq!(r.listen.to_string(), "127.0.0.1:0");
        let env = |n: &str| (n == "SERVER_PORT").then(|| "9002".to_owned());
        let r = ok(resolve(
            &Vec::new(),
            &env,
            file(&[("tower-eureka.listen", "10.0.0.1:1")]),
        ));
        assert_eq!(r.listen.to_string(), "10.0.0.1:9002");
    }

    #[test]
    fn context_path_prefix_and_own_url_from_the_hostname() {
        let none = |_: &str| None;
        let r = ok(resolve(
            &Vec::new(),
            &none,
            file(&[
                ("server.port", "8762"),
                ("server.servlet.context-path", "/registry"),
                ("eureka.instance.hostname", "peer2"),
                (
                    "eureka.client.serviceUrl.defaultZone",
                    "http://peer1:8761/registry/eureka/,http://peer2:8762/registry/eureka/",
                ),
            ]),
        ));
        assert_eq!(r.server.prefix, "/registry/eureka");
        assert_eq!(
            r.derived_my_url.as_deref(),
            Some("http://peer2:8762/registry/eureka/")
        );
        let peers: Vec<String> = r.cluster.peers.iter().map(PeerUrl::base).collect();
        assert_eq!(peers, ["http://peer1:8761/registry/eureka/"]);
        // An explicit my-url wins over the derived one.
        let r = ok(resolve(
            &Vec::new(),
            &none,
            file(&[
                ("eureka.instance.hostname", "h"),
                ("eureka.server.my-url", "http://x:1/eureka"),
            ]),
        ));
        assert_eq!(r.derived_my_url, None);
        assert_eq!(
            r.cluster.my_url.map(|u| u.base()).as_deref(),
            Some("http://x:1/eureka/")
        );
    }

    #[test]
    fn unknown_keys_warn_by_name_and_spring_client_keys_are_noted() {
        let none = |_: &str| None;
        let r = ok(resolve(
            &Vec::new(),
            &none,
            file(&[
                ("eureka.client.register-with-eureka", "false"),
                ("eureka.client.fetchRegistry", "false"),
                ("spring.application.name", "eureka-server"),
                ("management.endpoints.web.exposure.include", "*"),
                ("logging.level.root", "WARN"),
            ]),
        ));
        assert_eq!(r.notes.len(), 3, "{:?}", r.notes);
        assert_eq!(
            r.warnings,
            [
                "app.yml: unknown key management.endpoints.web.exposure.include (ignored)",
                "app.yml: unknown key logging.level.root (ignored)"
            ]
        );
    }

    #[test]
    fn a_bad_value_names_its_key_and_source() {
        let none = |_: &str| None;
        type Env<'a> = &'a dyn Fn(&str) -> Option<String>;
        let cases: [(Option<FileValues>, Env<'_>, &str); 4] = [
            (
                file(&[("eureka.server.renewalPercentThreshold", "abc")]),
                &none,
                "eureka.server.renewal-percent-threshold: invalid value \"abc\" from file app.yml (eureka.server.renewalPercentThreshold)",
            ),
            (
                file(&[("eureka.server.renewal-percent-threshold", "1.5")]),
                &none,
                "out of range",
            ),
            (
                None,
                &|n: &str| (n == "SERVER_PORT").then(|| "99999".to_owned()),
                "server.port: invalid value \"99999\" from env SERVER_PORT",
            ),
            (
                file(&[("eureka.client.service-url.defaultZone", "http://u:pw@a:1/eureka/,ftp://b/")]),
                &none,
                "eureka.client.service-url.defaultZone: invalid value \"http://u:****@a:1/eureka/,ftp://b/\"",
            ),
        ];
        for (f, env, want) in cases {
            match resolve(&Vec::new(), env, f) {
                Ok(_) => panic!("accepted; wanted {want}"),
                Err(e) => assert!(e.contains(want), "{e}\nwanted {want}"),
            }
        }
    }

    #[test]
    fn print_config_shows_every_setting_with_its_source() {
        let env = |n: &str| (n == "EUREKA_SERVER_DISABLE_DELTA").then(|| "true".to_owned());
        let r = ok(resolve(
            &vec![(
                "tower-eureka.listen",
                "127.0.0.1:0".to_owned(),
                "--listen".to_owned(),
            )],
            &env,
            file(&[("eureka.server.enable-self-preservation", "false")]),
        ));
        let out = r.print();
        for s in SETTINGS {
            assert!(
                out.lines().any(|l| l.starts_with(&format!("{} ", s.key))),
                "{} missing:\n{out}",
                s.key
            );
        }
        let line = |k: &str| {
            out.lines()
                .find(|l| l.starts_with(&format!("{k} ")))
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            line("tower-eureka.listen"),
            "tower-eureka.listen = 127.0.0.1:0 # flag --listen"
        );
        assert_eq!(
            line("eureka.server.disable-delta"),
            "eureka.server.disable-delta = true # env EUREKA_SERVER_DISABLE_DELTA"
        );
        assert_eq!(
            line("eureka.server.enable-self-preservation"),
            "eureka.server.enable-self-preservation = false # file app.yml (eureka.server.enable-self-preservation)"
        );
        assert_eq!(
            line("eureka.server.max-body-bytes"),
            format!(
                "eureka.server.max-body-bytes = {} # default",
                ServerConfig::default().max_body_bytes
            )
        );
        assert!(out.contains("self-preservation: Disabled"), "{out}");
    }
}
