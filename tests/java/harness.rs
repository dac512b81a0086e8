//! The Java estate for the tests: builds the Maven projects under `tests/java/` (a Spring
//! Eureka server and a Spring Cloud client) and runs them as child processes.
//!
//! Include it with `#[path = "../java/harness.rs"] mod java;`. Nothing is committed as a
//! jar: the first use in a process runs `mvn package` when a jar is missing or older than
//! its sources, and Maven's local repository (`~/.m2`) caches the downloads between runs.
//! Each process is killed when its [`JavaProcess`] is dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// How long `mvn package` may take on a fresh machine (downloads included).
const BUILD_LIMIT: Duration = Duration::from_secs(900);
/// How long a Spring Boot app may take to answer its first request.
pub const START_LIMIT: Duration = Duration::from_secs(120);

/// The two applications the harness builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum App {
    /// `@EnableEurekaServer`: the JVM registry (Spring Cloud Netflix 5, Netflix Eureka 2).
    EurekaServer,
    /// A Spring Boot service with `spring-cloud-starter-netflix-eureka-client`.
    SpringClient,
    /// The same service (same sources and properties) with Netflix's Jersey 3 transport
    /// on the classpath, which Spring Cloud Netflix then prefers to RestClient.
    SpringClientJersey,
}

impl App {
    fn module(self) -> &'static str {
        match self {
            App::EurekaServer => "eureka-server",
            App::SpringClient => "spring-client",
            App::SpringClientJersey => "spring-client-jersey",
        }
    }

    /// The module directories whose files the jar is built from.
    fn sources(self) -> &'static [&'static str] {
        match self {
            App::EurekaServer => &["eureka-server"],
            App::SpringClient => &["spring-client"],
            App::SpringClientJersey => &["spring-client-jersey", "spring-client"],
        }
    }
}

fn java_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java")
}

/// The newest modification time of the files under `dir` (pom and sources).
fn newest(dir: &Path) -> Option<SystemTime> {
    let mut best = None;
    let entries = std::fs::read_dir(dir).ok()?;
    for e in entries.flatten() {
        let path = e.path();
        if path.file_name().is_some_and(|n| n == "target") {
            continue;
        }
        let t = if path.is_dir() {
            newest(&path)
        } else {
            e.metadata().ok().and_then(|m| m.modified().ok())
        };
        best = best.max(t);
    }
    best
}

fn jar_path(app: App) -> PathBuf {
    java_dir()
        .join(app.module())
        .join("target")
        .join(format!("{}.jar", app.module()))
}

fn up_to_date(app: App) -> bool {
    let jar = jar_path(app);
    let Some(built) = std::fs::metadata(&jar).ok().and_then(|m| m.modified().ok()) else {
        return false;
    };
    let parent = std::fs::metadata(java_dir().join("pom.xml"))
        .ok()
        .and_then(|m| m.modified().ok());
    let sources = app
        .sources()
        .iter()
        .filter_map(|m| newest(&java_dir().join(m)))
        .max();
    parent.max(sources).map_or(true, |s| s <= built)
}

/// Builds both jars once per process (when needed) and returns the path of `app`'s jar.
///
/// Panics with Maven's output when the build fails: a test that needs Java cannot run
/// without it, and says why.
pub fn jar(app: App) -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        if [
            App::EurekaServer,
            App::SpringClient,
            App::SpringClientJersey,
        ]
        .into_iter()
        .all(up_to_date)
        {
            return Ok(());
        }
        build()
    });
    if let Err(e) = built {
        panic!("the Java test apps could not be built: {e}");
    }
    jar_path(app)
}

fn build() -> Result<(), String> {
    let started = Instant::now();
    eprintln!("java harness: building tests/java with Maven (cached in ~/.m2)");
    let mut child = Command::new("mvn")
        .args(["-B", "-q", "package", "-DskipTests"])
        .current_dir(java_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("mvn could not be started (is Maven installed?): {e}"))?;
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if started.elapsed() > BUILD_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("mvn package took longer than {BUILD_LIMIT:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => return Err(format!("waiting for mvn: {e}")),
        }
    };
    let (out, err) = (join(out), join(err));
    if !status.success() {
        return Err(format!("mvn package failed ({status}):\n{out}\n{err}"));
    }
    // Maven leaves a jar whose contents did not change untouched: mark every jar as built
    // now, or a newer pom would make each test process build again.
    for app in [
        App::EurekaServer,
        App::SpringClient,
        App::SpringClientJersey,
    ] {
        if let Ok(f) = std::fs::File::options().append(true).open(jar_path(app)) {
            let _ = f.set_modified(SystemTime::now());
        }
    }
    eprintln!("java harness: built in {:?}", started.elapsed());
    Ok(())
}

fn drain(
    r: Option<impl std::io::Read + Send + 'static>,
) -> Option<std::thread::JoinHandle<String>> {
    r.map(|mut r| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    })
}

fn join(h: Option<std::thread::JoinHandle<String>>) -> String {
    h.and_then(|h| h.join().ok()).unwrap_or_default()
}

/// A free loopback port: bound, then released for the child to take.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// A running Spring Boot app, killed on drop. Its stdout and stderr lines are kept.
pub struct JavaProcess {
    child: Child,
    /// The HTTP port it listens on (127.0.0.1).
    pub port: u16,
    log: Arc<Mutex<Vec<String>>>,
}

/// JVM flags for tests: quick start, small heap, one GC thread pool.
pub const TEST_JVM: &[&str] = &["-XX:TieredStopAtLevel=1", "-Xss512k", "-XX:+UseSerialGC"];

impl JavaProcess {
    /// Starts `app` on `port` with `jvm` flags and Spring `props` (`key=value`, passed as
    /// `--key=value`; `{port}` in a value becomes `port`), and waits until `ready_path`
    /// answers 200 on 127.0.0.1.
    pub fn start(
        app: App,
        port: u16,
        jvm: &[&str],
        props: &[String],
        ready_path: &str,
    ) -> JavaProcess {
        Self::start_wrapped(&[], app, port, jvm, props, ready_path)
    }

    /// [`JavaProcess::start`] under a wrapper command, e.g. `["taskset", "-c", "0"]` to pin
    /// the JVM to a CPU from its first instruction (the wrapper must `exec` the JVM, so that
    /// [`JavaProcess::pid`] is the JVM's).
    pub fn start_wrapped(
        wrapper: &[&str],
        app: App,
        port: u16,
        jvm: &[&str],
        props: &[String],
        ready_path: &str,
    ) -> JavaProcess {
        let jar = jar(app);
        let mut cmd = match wrapper.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(java());
                c
            }
            None => Command::new(java()),
        };
        cmd.args(jvm)
            .arg("-jar")
            .arg(&jar)
            .arg(format!("--server.port={port}"))
            .arg("--server.address=127.0.0.1")
            .args(
                props
                    .iter()
                    .map(|p| format!("--{}", p.replace("{port}", &port.to_string()))),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("java -jar {} could not be started: {e}", jar.display()));
        let log = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if std::env::var_os("JAVA_HARNESS_ECHO").is_some() {
                        eprintln!("[java:{port}] {line}");
                    }
                    if let Ok(mut l) = log.lock() {
                        l.push(line);
                    }
                }
            });
        }
        let mut p = JavaProcess { child, port, log };
        p.wait_ready(ready_path);
        p
    }

    fn wait_ready(&mut self, path: &str) {
        let deadline = Instant::now() + START_LIMIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited before it was ready ({status}):\n{}",
                    self.port,
                    self.log_text()
                );
            }
            if http_status(self.port, "GET", path, "") == Some(200) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "java app on port {} not ready within {START_LIMIT:?}:\n{}",
                    self.port,
                    self.log_text()
                );
            }
            // Short, so that start-up times measured through this loop are exact to ~50 ms.
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:{port}`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every line the process printed so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The log as one string, for failure messages.
    pub fn log_text(&self) -> String {
        self.log_lines().join("\n")
    }

    /// The OS process id (for RSS readings).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the process (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the process gracefully (SIGTERM, so Spring runs its shutdown hooks: a client
    /// cancels its registration), waiting at most `limit` before killing it.
    pub fn terminate(&mut self, limit: Duration) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.kill();
    }
}

impl Drop for JavaProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The `java` to run: `$JAVA_HOME/bin/java` when set, else the one on the PATH.
fn java() -> PathBuf {
    std::env::var_os("JAVA_HOME")
        .map(|h| PathBuf::from(h).join("bin/java"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("java"))
}

/// A tiny blocking HTTP/1.1 exchange on loopback for readiness checks: the status code, or
/// `None` when the port does not answer.
pub fn http_status(port: u16, method: &str, path: &str, accept: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let accept = if accept.is_empty() { "*/*" } else { accept };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Settings for a standalone Spring Eureka server that publishes changes quickly
/// (`response-cache-update-interval-ms`) so tests do not wait 30 s; `extra` adds more.
///
/// Its service URL and `my-url` name itself (`{port}` is replaced by
/// [`JavaProcess::start`]): without them Spring's default `http://localhost:8761/eureka/`
/// is a peer, and Java logs replication failures to it (or replicates to whatever else
/// listens there).
pub fn standalone_server_props(extra: &[&str]) -> Vec<String> {
    let mut props: Vec<String> = [
        "eureka.client.service-url.defaultZone=http://localhost:{port}/eureka/",
        "eureka.server.my-url=http://localhost:{port}/eureka/",
        "eureka.client.register-with-eureka=false",
        "eureka.client.fetch-registry=false",
        "eureka.server.response-cache-update-interval-ms=100",
        "eureka.server.eviction-interval-timer-in-ms=1000",
        "eureka.server.enable-self-preservation=false",
        "eureka.server.wait-time-in-ms-when-sync-empty=0",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    props.extend(extra.iter().map(|s| (*s).to_owned()));
    props
}
