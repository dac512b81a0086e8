//! The `eureka-server` binary configured like a Spring Eureka server: `--config` with a
//! real `application.yml` or `application.properties`, the precedence of flags over
//! environment over file, `--print-config`, and exit code 2 on bad configuration.
//!
//! Every child is bounded (30 s) and killed on drop; servers listen on 127.0.0.1, port 0.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(30);

/// The Spring-style fixture.
fn spring_yml() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config/application.yml")
}

/// A fresh directory for files written by one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eureka-config-{}-{name}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn write(path: &Path, text: &str) -> String {
    if let Err(e) = std::fs::write(path, text) {
        panic!("{}: {e}", path.display());
    }
    path.display().to_string()
}

fn binary(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eureka-server"));
    cmd.args(args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs the binary to its end (at most [`LIMIT`]): exit status, stdout, stderr.
fn run(args: &[&str], env: &[(&str, &str)]) -> (ExitStatus, String, String) {
    let mut child = match binary(args, env).spawn() {
        Ok(c) => c,
        Err(e) => panic!("eureka-server did not start: {e}"),
    };
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() < LIMIT => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("eureka-server {args:?} did not exit within {LIMIT:?}");
            }
        }
    };
    (status, collect(out), collect(err))
}

/// Reads a pipe to its end on a thread.
fn drain(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_string(&mut s);
        }
        let _ = tx.send(s);
    });
    rx
}

fn collect(rx: mpsc::Receiver<String>) -> String {
    rx.recv_timeout(LIMIT).unwrap_or_default()
}

/// A running server, killed on drop.
struct Server {
    child: Child,
    /// `127.0.0.1:PORT`.
    addr: String,
    stderr: Option<mpsc::Receiver<String>>,
}

impl Server {
    /// Starts the binary and waits for its listening line.
    fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = match binary(args, env).spawn() {
            Ok(c) => c,
            Err(e) => panic!("eureka-server did not start: {e}"),
        };
        let stderr = Some(drain(child.stderr.take()));
        let stdout = child.stdout.take();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            if let Some(out) = stdout {
                let _ = BufReader::new(out).read_line(&mut line);
            }
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(LIMIT).unwrap_or_default();
        let mut server = Server {
            child,
            addr: String::new(),
            stderr,
        };
        let Some(rest) = line
            .trim()
            .strip_prefix("eureka-server listening on http://")
        else {
            panic!("no listening line: {line:?}; stderr: {}", server.stop());
        };
        server.addr = rest.split('/').next().unwrap_or_default().to_owned();
        server
    }

    /// `GET path`: status code and body.
    fn get(&self, path: &str) -> (u16, String) {
        let mut s = match TcpStream::connect(&self.addr) {
            Ok(s) => s,
            Err(e) => panic!("connect {}: {e}", self.addr),
        };
        let _ = s.set_read_timeout(Some(LIMIT));
        let _ = s.set_write_timeout(Some(LIMIT));
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
            self.addr
        );
        if let Err(e) = s.write_all(req.as_bytes()) {
            panic!("write: {e}");
        }
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp);
        let code = resp
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = resp
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (code, body)
    }

    /// Kills the server and returns what it wrote to stderr.
    fn stop(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr.take().map(collect).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `key = value  # source` line of `key` in `--print-config` output, spaces squeezed.
fn line(out: &str, key: &str) -> String {
    let prefix = format!("{key} ");
    match out.lines().find(|l| l.starts_with(&prefix)) {
        Some(l) => l.split_whitespace().collect::<Vec<_>>().join(" "),
        None => panic!("no {key} in\n{out}"),
    }
}

// E-17, E-24: a Spring Eureka server's application.yml, as is: the server listens where
// it says, refuses deltas (`disable-delta`), runs without self-preservation, does not
// take its own defaultZone for a peer (reads are open at once), and warns by name about
// the keys it does not know.
#[test]
fn e17_a_spring_application_yml_starts_the_server_with_its_settings() {
    let yml = spring_yml();
    let Some(yml) = yml.to_str() else {
        panic!("fixture path is not UTF-8");
    };
    let mut server = Server::start(&["--config", yml], &[("EUREKA_TEST_PORT", "0")]);
    assert!(server.addr.starts_with("127.0.0.1:"), "{}", server.addr);
    let (code, _) = server.get("/eureka/apps/delta");
    assert_eq!(code, 403, "disable-delta: true");
    let (code, _) = server.get("/eureka/apps");
    assert_eq!(code, 200, "its own defaultZone is no peer: no startup sync");
    let (code, body) = server.get("/eureka/status");
    assert_eq!(code, 200);
    assert!(body.contains(r#""mode":"Disabled""#), "{body}");
    let stderr = server.stop();
    for key in [
        "management.endpoints.web.exposure.include",
        "logging.level.com.netflix.eureka",
    ] {
        let warned: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("WARN") && l.contains(&format!("unknown key {key} ")))
            .collect();
        assert_eq!(warned.len(), 1, "{key}: {stderr}");
        assert!(warned[0].contains("application.yml"), "{stderr}");
    }
    assert!(
        stderr.contains("eureka.client.register-with-eureka accepted with no effect"),
        "{stderr}"
    );
    assert!(!stderr.contains("unknown key eureka."), "{stderr}");
}

#[test]
fn print_config_lists_every_value_with_its_source() {
    let yml = spring_yml();
    let Some(yml) = yml.to_str() else {
        panic!("fixture path is not UTF-8");
    };
    let (status, out, err) = run(
        &["--config", yml, "--print-config", "--disable-delta=false"],
        &[
            ("EUREKA_TEST_PORT", "8765"),
            ("EUREKA_SERVER_RENEWALPERCENTTHRESHOLD", "0.7"),
        ],
    );
    assert!(status.success(), "{status}: {err}");
    assert_eq!(
        line(&out, "eureka.server.disable-delta"),
        "eureka.server.disable-delta = false # flag --disable-delta"
    );
    assert_eq!(
        line(&out, "eureka.server.renewal-percent-threshold"),
        "eureka.server.renewal-percent-threshold = 0.7 # env EUREKA_SERVER_RENEWALPERCENTTHRESHOLD"
    );
    assert_eq!(
        line(&out, "eureka.server.eviction-interval-timer-in-ms"),
        format!("eureka.server.eviction-interval-timer-in-ms = 2000 # file {yml} (eureka.server.eviction-interval-timer-in-ms)")
    );
    assert_eq!(
        line(&out, "server.port"),
        format!("server.port = 8765 # file {yml} (server.port)")
    );
    assert!(
        line(&out, "eureka.server.max-body-bytes").ends_with("# default"),
        "{out}"
    );
    assert!(
        out.contains("#   listening on 127.0.0.1:8765/eureka"),
        "{out}"
    );
    assert!(
        out.contains("#   own URL: http://localhost:8765/eureka/"),
        "{out}"
    );
    assert!(out.contains("#   peers: none"), "{out}");
}

#[test]
fn a_properties_file_with_camel_case_keys_configures_the_server() {
    let dir = scratch("properties");
    let path = write(
        &dir.join("application.properties"),
        "spring.application.name=eureka-server\n\
         server.port=0\n\
         server.address=127.0.0.1\n\
         eureka.client.registerWithEureka=false\n\
         eureka.client.serviceUrl.defaultZone=http://u:secret@127.0.0.1:1/eureka/\n\
         eureka.server.disableDelta=true\n\
         eureka.server.peerSyncBudgetMs=0\n\
         eureka.server.enableSelfPreservation=false\n",
    );
    let (status, out, err) = run(&["--config", &path, "--print-config"], &[]);
    assert!(status.success(), "{status}: {err}");
    assert_eq!(
        line(&out, "eureka.server.disable-delta"),
        format!("eureka.server.disable-delta = true # file {path} (eureka.server.disableDelta)")
    );
    assert!(
        !out.contains("secret"),
        "a peer's password is printed:\n{out}"
    );
    let mut server = Server::start(&["--config", &path], &[]);
    let (code, _) = server.get("/eureka/apps/delta");
    assert_eq!(code, 403);
    let (_, body) = server.get("/eureka/status");
    assert!(body.contains(r#""mode":"Disabled""#), "{body}");
    let stderr = server.stop();
    assert!(!stderr.contains("unknown key"), "{stderr}");
    // The peer's password is sent (Basic), never logged.
    assert!(!stderr.contains("secret"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_configuration_exits_2_naming_the_key_and_its_source() {
    let dir = scratch("bad");
    let yml = |name: &str, text: &str| write(&dir.join(name), text);
    let not_a_number = yml(
        "nan.yml",
        "eureka:\n  server:\n    evictionIntervalTimerInMs: soon\n",
    );
    let out_of_range = yml(
        "range.yml",
        "eureka:\n  server:\n    renewal-percent-threshold: 1.5\n",
    );
    let bad_url = yml(
        "url.yml",
        "eureka:\n  client:\n    service-url:\n      defaultZone: ftp://peer1/eureka/\n",
    );
    let bad_address = yml("addr.yml", "server:\n  address: eureka.example\n");
    let unset = yml(
        "unset.yml",
        "server:\n  port: ${EUREKA_TEST_UNSET_VARIABLE}\n",
    );
    let missing = dir.join("missing.yml").display().to_string();
    /// Arguments, environment, what the one stderr line must name.
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, Vec<String>);
    let cases: Vec<Case<'_>> = vec![
        (
            vec!["--config", &not_a_number],
            vec![],
            vec![
                "eureka.server.eviction-interval-timer-in-ms".into(),
                not_a_number.clone(),
                "evictionIntervalTimerInMs".into(),
            ],
        ),
        (
            vec!["--config", &out_of_range],
            vec![],
            vec![
                "eureka.server.renewal-percent-threshold".into(),
                "out of range".into(),
                out_of_range.clone(),
            ],
        ),
        (
            vec!["--config", &bad_url],
            vec![],
            vec![
                "eureka.client.service-url.defaultZone".into(),
                bad_url.clone(),
            ],
        ),
        (
            vec!["--config", &bad_address],
            vec![],
            vec!["server.address".into(), bad_address.clone()],
        ),
        (
            vec!["--max-concurrent-requests=lots"],
            vec![],
            vec!["tower-eureka.max-concurrent-requests".into()],
        ),
        (
            vec![],
            vec![("TOWER_EUREKA_MAX_CONCURRENT_REQUESTS", "-5")],
            vec!["tower-eureka.max-concurrent-requests".into()],
        ),
        (
            vec!["--config", &unset],
            vec![],
            vec!["EUREKA_TEST_UNSET_VARIABLE".into(), unset.clone()],
        ),
        (
            vec!["--config", &missing],
            vec![],
            vec!["--config".into(), missing.clone()],
        ),
        (
            vec![],
            vec![("SERVER_PORT", "99999")],
            vec!["server.port".into(), "env SERVER_PORT".into()],
        ),
        (
            vec!["--max-body-bytes=0"],
            vec![],
            vec![
                "eureka.server.max-body-bytes".into(),
                "flag --max-body-bytes".into(),
            ],
        ),
    ];
    for (args, env, wanted) in cases {
        let mut args = args;
        args.extend(["--listen", "127.0.0.1:0"]);
        let (status, out, err) = run(&args, &env);
        assert_eq!(status.code(), Some(2), "{args:?} {env:?}: {err}");
        assert!(!out.contains("listening"), "{args:?} started: {out}");
        let first = err.lines().next().unwrap_or_default();
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        for w in wanted {
            assert!(
                first.contains(&w),
                "{args:?} {env:?}: {first:?} lacks {w:?}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

mod regions;
