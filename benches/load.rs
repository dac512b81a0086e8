//! Load driver for the registry (issue 5): every figure next to a baseline measured in the
//! same run, on loopback, with bounded load.
//!
//! ```text
//! cargo bench --bench load              # full run (about 5 + 8 minutes), figures for BENCHMARKS.md
//! cargo bench --bench load -- --quick   # smoke run (about a minute): checks that it works, never fails on slowness
//! LOAD_JVM=only cargo bench --bench load   # only the side by side with the JVM registry
//! LOAD_JVM=0 cargo bench --bench load      # everything but the JVM
//! LOAD_AUTH=user:pass cargo bench --bench load   # our registry with Basic auth on
//! ```
//!
//! The last part runs our `eureka-server` binary and the Spring Eureka server
//! (`tests/java/eureka-server`, built by Maven through `tests/java/harness.rs`) side by
//! side under the same load, both pinned to CPU 0: in full runs two JVMs (read-only
//! response cache on, the default, and off), in quick runs one (cache off, so that
//! visibility is not 30 s) with 500 instances, as a smoke of every step.
//!
//! Each server under test (the Eureka registry, and hyper baselines: hello world, a 1 KB
//! accept-and-204, a static body, and a minimal registry that decodes a registration with
//! serde's derive and keeps it in a `HashMap`) runs as a child process of this driver
//! pinned to CPU 0 (`taskset`), and the load runs pinned to CPU 1, when `taskset` and two
//! CPUs are there.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::io::{BufRead, BufReader, Write as _};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

// The servers under test run in this process image (`--serve KIND`), so it uses the
// allocator the `eureka-server` binary ships with; the baselines run under it too.
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod support;
use support::{cpu_secs, register_body, rss_of};
#[path = "support/plain.rs"]
mod plain;

// ---------------------------------------------------------------------------------------
// Servers (child processes)
// ---------------------------------------------------------------------------------------

fn serve_main(kind: &str, file: Option<String>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        println!("READY {addr}");
        std::io::stdout().flush().expect("flush");
        if kind == "eureka" {
            let mut cfg = tower_eureka::server::ServerConfig {
                prefix: "/eureka".into(),
                ..Default::default()
            };
            // Experiments only (BENCHMARKS.md says which): another publication interval.
            if let Ok(ms) = std::env::var("LOAD_PUBLISH_INTERVAL_MS") {
                cfg.registry.publish_interval = Duration::from_millis(ms.parse().expect("ms"));
            }
            if let Ok(ms) = std::env::var("LOAD_DELTA_RETENTION_MS") {
                cfg.registry.delta_retention = Duration::from_millis(ms.parse().expect("ms"));
                cfg.registry.eviction_interval = Duration::from_millis(500);
            }
            // LOAD_AUTH=user:password: Basic authentication on (the driver sends it).
            if let Some((user, pw)) = load_auth() {
                cfg.auth = tower_eureka::server::BasicAuth::new().user(user, pw);
            }
            let svc = tower_eureka::server::EurekaService::new(cfg);
            tower_eureka::server::serve(listener, svc, std::future::pending(), Duration::ZERO)
                .await
                .expect("serve");
            return;
        }
        let body = Bytes::from(
            file.map(|f| std::fs::read(f).expect("static file"))
                .unwrap_or_default(),
        );
        let kind: Arc<str> = Arc::from(kind);
        // "store": a plain registry, decode and keep (see `MinimalStore`).
        let store = Arc::new(std::sync::Mutex::new(MinimalStore::default()));
        loop {
            let (stream, _) = listener.accept().await.expect("accept");
            let _ = stream.set_nodelay(true);
            let (kind, body, store) = (kind.clone(), body.clone(), store.clone());
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let (kind, body, store) = (kind.clone(), body.clone(), store.clone());
                    async move {
                        let res = match &*kind {
                            "store" => {
                                let bytes = match req.into_body().collect().await {
                                    Ok(c) => c.to_bytes(),
                                    Err(_) => Bytes::new(),
                                };
                                let status = match serde_json::from_slice::<PlainRegister>(&bytes) {
                                    Ok(r) => {
                                        let i = r.instance;
                                        let mut s = store.lock().expect("store lock");
                                        s.by_app
                                            .entry(i.app.clone())
                                            .or_default()
                                            .insert(i.instance_id.clone(), i);
                                        hyper::StatusCode::NO_CONTENT
                                    }
                                    Err(_) => hyper::StatusCode::BAD_REQUEST,
                                };
                                let mut r = Response::new(Full::new(Bytes::new()));
                                *r.status_mut() = status;
                                r
                            }
                            "hello" => {
                                Response::new(Full::new(Bytes::from_static(b"Hello, World!")))
                            }
                            "accept" => {
                                let _ = req.into_body().collect().await;
                                let mut r = Response::new(Full::new(Bytes::new()));
                                *r.status_mut() = hyper::StatusCode::NO_CONTENT;
                                r
                            }
                            _ => {
                                let mut r = Response::new(Full::new(body));
                                r.headers_mut().insert(
                                    "content-type",
                                    "application/json".parse().expect("hv"),
                                );
                                r
                            }
                        };
                        Ok::<_, std::convert::Infallible>(res)
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
}

/// The "minimal registry" baseline: a registration body read by serde's derive into owned
/// strings (`plain::PInst`, the same data our codec reads) and stored under its app and id
/// in std `HashMap`s, behind one mutex. No validation, no lease, no change log, no snapshot:
/// a plain way to do the least a registry does with a register (a cleverer store could be
/// faster; BENCHMARKS.md says what the comparison shows and what it does not).
#[derive(Default)]
struct MinimalStore {
    by_app: std::collections::HashMap<String, std::collections::HashMap<String, plain::PInst>>,
}

#[derive(serde::Deserialize)]
struct PlainRegister {
    instance: plain::PInst,
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(kind: &str, file: Option<&std::path::Path>, env: &[(&str, String)]) -> Server {
        let exe = std::env::current_exe().expect("current exe");
        let mut cmd = if pinning() {
            let mut c = Command::new("taskset");
            c.args(["-c", "0"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        cmd.args(["--serve", kind]);
        if let Some(f) = file {
            cmd.arg("--file").arg(f);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("READY line");
        let addr = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("bad READY line {line:?}"))
            .parse()
            .expect("addr");
        Server { child, addr }
    }

    fn rss_kib(&self) -> u64 {
        rss_of(self.child.id())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether servers go to CPU 0 and the load to CPU 1. Decided once, before the driver
/// re-executes itself under `taskset -c 1` (after which it sees a single CPU).
fn pinning() -> bool {
    if let Some(v) = std::env::var_os("LOAD_PINNED") {
        return v == "1";
    }
    std::env::var_os("LOAD_NO_PIN").is_none()
        && std::thread::available_parallelism()
            .map(|n| n.get() >= 2)
            .unwrap_or(false)
        && Command::new("taskset").arg("-V").output().is_ok()
}

// ---------------------------------------------------------------------------------------
// Load generation
// ---------------------------------------------------------------------------------------

type MakeReq = Arc<dyn Fn(u64) -> Request<Full<Bytes>> + Send + Sync>;

/// `LOAD_AUTH=user:password`, as in a service URL's user info (percent-decoded): the
/// registry under test requires these credentials and every request of the driver
/// carries them.
fn load_auth() -> Option<(String, String)> {
    let v = std::env::var("LOAD_AUTH").ok()?;
    let (u, p) = v.split_once(':')?;
    let dec = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    Some((dec(u), dec(p)))
}

/// `req` with the [`authorization`] header, when `LOAD_AUTH` is set.
fn with_auth(mut req: Request<Full<Bytes>>) -> Request<Full<Bytes>> {
    if let Some(v) = authorization() {
        req.headers_mut()
            .insert(hyper::header::AUTHORIZATION, v.clone());
    }
    req
}

/// The `Authorization` header of [`load_auth`], computed once.
fn authorization() -> Option<&'static hyper::header::HeaderValue> {
    static AUTH: std::sync::OnceLock<Option<hyper::header::HeaderValue>> =
        std::sync::OnceLock::new();
    AUTH.get_or_init(|| {
        use base64::Engine as _;
        let (u, p) = load_auth()?;
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
        hyper::header::HeaderValue::from_str(&format!("Basic {b64}")).ok()
    })
    .as_ref()
}

struct Outcome {
    ok: u64,
    failed: u64,
    elapsed: Duration,
    /// Smallest and largest response body, in bytes: a fetch row compares like with like
    /// only when every response was the body the baseline serves.
    min_len: u64,
    max_len: u64,
    /// Every successful request's latency, in microseconds, sorted.
    latencies_us: Vec<u32>,
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// The `q` quantile (0..=1) of the request latencies, in milliseconds.
    fn latency_ms(&self, q: f64) -> f64 {
        let l = &self.latencies_us;
        if l.is_empty() {
            return f64::NAN;
        }
        let i = ((l.len() - 1) as f64 * q).round() as usize;
        f64::from(l[i]) / 1e3
    }

    /// Fails the run unless every response body was exactly `len` bytes.
    fn assert_len(&self, len: usize, what: &str) {
        assert!(
            self.min_len == len as u64 && self.max_len == len as u64,
            "{what}: response bodies of {}..={} bytes, expected {len}",
            self.min_len,
            self.max_len
        );
    }
}

/// A load run with the CPU time the server and this load generator spent on it.
struct Measured {
    out: Outcome,
    server_cpu: f64,
    load_cpu: f64,
}

impl Measured {
    /// Server CPU per successful request, in microseconds.
    fn server_us_per_req(&self) -> f64 {
        self.server_cpu * 1e6 / self.out.ok as f64
    }

    /// Share of one core the server and the load generator were busy.
    fn busy(&self) -> (f64, f64) {
        let wall = self.out.elapsed.as_secs_f64();
        (self.server_cpu / wall, self.load_cpu / wall)
    }
}

async fn measured(server: &Server, conns: usize, duration: Duration, make: MakeReq) -> Measured {
    let pid = server.child.id().to_string();
    let (s0, l0) = (cpu_secs(&pid), cpu_secs("self"));
    let out = load(server.addr, conns, duration, u64::MAX, make).await;
    let (s1, l1) = (cpu_secs(&pid), cpu_secs("self"));
    let diff = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => b - a,
        _ => f64::NAN,
    };
    Measured {
        out,
        server_cpu: diff(s0, s1),
        load_cpu: diff(l0, l1),
    }
}

/// `conns` connections send requests back to back until `duration` passes or `max`
/// requests were sent in total. Request `n` is `make(n)`.
async fn load(
    addr: SocketAddr,
    conns: usize,
    duration: Duration,
    max: u64,
    make: MakeReq,
) -> Outcome {
    let next = Arc::new(AtomicU64::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let min_len = Arc::new(AtomicU64::new(u64::MAX));
    let max_len = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (next, ok, failed, make) = (next.clone(), ok.clone(), failed.clone(), make.clone());
        let (min_len, max_len) = (min_len.clone(), max_len.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat: Vec<u32> = Vec::new();
            let connect = || async {
                let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
                let _ = stream.set_nodelay(true);
                let (tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .expect("handshake");
                tokio::spawn(conn);
                tx
            };
            let mut tx = connect().await;
            while Instant::now() < deadline {
                // A server may close a keep-alive connection after a number of requests
                // (Tomcat: 100 by default): open a new one, as HTTP clients do.
                if tx.ready().await.is_err() {
                    tx = connect().await;
                }
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= max {
                    break;
                }
                let sent = Instant::now();
                let mut retries = 0;
                let res = loop {
                    match tx.send_request(with_auth(make(n))).await {
                        // Closed under us before an answer (a keep-alive limit racing the
                        // request): resend on a new connection, a few times at most.
                        Err(e) if (e.is_canceled() || e.is_closed()) && retries < 3 => {
                            retries += 1;
                            tx = connect().await;
                        }
                        r => break r,
                    }
                };
                match res {
                    Ok(res) => {
                        let good = res.status().is_success();
                        let body = res.into_body().collect().await;
                        let drained = body.is_ok();
                        if let Ok(b) = body {
                            let len = b.to_bytes().len() as u64;
                            min_len.fetch_min(len, Ordering::Relaxed);
                            max_len.fetch_max(len, Ordering::Relaxed);
                        }
                        if good && drained {
                            lat.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                        }
                        if good && drained { &ok } else { &failed }.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
            }
            lat
        }));
    }
    let mut latencies_us = Vec::new();
    for t in tasks {
        if let Ok(l) = t.await {
            latencies_us.extend(l);
        }
    }
    latencies_us.sort_unstable();
    Outcome {
        ok: ok.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        elapsed: start.elapsed(),
        min_len: min_len.load(Ordering::Relaxed),
        max_len: max_len.load(Ordering::Relaxed),
        latencies_us,
    }
}

fn post_register(path_prefix: &'static str) -> MakeReq {
    Arc::new(move |n| {
        Request::post(format!("{path_prefix}/APP-{}", n % 100))
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .body(Full::new(register_body(n)))
            .expect("request")
    })
}

fn get(path: &'static str, json: bool, gzip: bool) -> MakeReq {
    Arc::new(move |_| {
        let mut b = Request::get(path).header("host", "127.0.0.1");
        if json {
            b = b.header("accept", "application/json");
        }
        if gzip {
            b = b.header("accept-encoding", "gzip");
        }
        b.body(Full::new(Bytes::new())).expect("request")
    })
}

/// Registers instances `0..n` (one request each) and fails loudly if any was refused.
async fn fill(addr: SocketAddr, n: u64) -> Outcome {
    let out = load(
        addr,
        8,
        Duration::from_secs(600),
        n,
        post_register("/eureka/apps"),
    )
    .await;
    assert_eq!(out.failed, 0, "registrations refused while filling");
    assert_eq!(out.ok, n, "not every registration went through");
    out
}

async fn fetch(addr: SocketAddr, req: Request<Full<Bytes>>) -> (u16, Bytes) {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("hs");
    tokio::spawn(conn);
    let res = tx.send_request(with_auth(req)).await.expect("send");
    let code = res.status().as_u16();
    (
        code,
        res.into_body().collect().await.expect("body").to_bytes(),
    )
}

// ---------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------

struct Row {
    metric: String,
    ours: String,
    baseline: String,
    ratio: String,
    target: String,
}

fn row(
    rows: &mut Vec<Row>,
    metric: impl Into<String>,
    ours: impl Into<String>,
    baseline: impl Into<String>,
    ratio: impl Into<String>,
    target: impl Into<String>,
) {
    let r = Row {
        metric: metric.into(),
        ours: ours.into(),
        baseline: baseline.into(),
        ratio: ratio.into(),
        target: target.into(),
    };
    println!(
        "  {} | {} | {} | {} | {}",
        r.metric, r.ours, r.baseline, r.ratio, r.target
    );
    rows.push(r);
}

/// A row of p50 / p99 / max latency (medians over the rounds), ours next to the baseline.
fn latency_row(rows: &mut Vec<Row>, metric: String, ours: &[Outcome], theirs: &[Outcome]) {
    let lat = |v: &[Outcome], q| median(v.iter().map(|o| o.latency_ms(q)).collect());
    let show = |v: &[Outcome]| {
        format!(
            "{:.2} / {:.2} / {:.1} ms",
            lat(v, 0.5),
            lat(v, 0.99),
            lat(v, 1.0)
        )
    };
    row(
        rows,
        metric,
        show(ours),
        show(theirs),
        format!("{:.2} (p99)", lat(ours, 0.99) / lat(theirs, 0.99)),
        "",
    );
}

fn check(o: &Outcome, what: &str) {
    assert!(o.ok > 0, "{what}: no request succeeded");
    assert_eq!(o.failed, 0, "{what}: {} requests failed", o.failed);
}

async fn driver(quick: bool) {
    let d = if quick {
        Duration::from_millis(400)
    } else {
        Duration::from_secs(2)
    };
    let conns = if quick { 4 } else { 32 };
    let n10k: u64 = if quick { 500 } else { 10_000 };
    let mut rows = Vec::new();
    println!(
        "load driver: {} mode, {conns} connections, {d:?} per measurement, pinned: {}",
        if quick { "quick" } else { "full" },
        pinning()
    );

    // Every ratio below interleaves: ours and its baseline run alternately for `rounds`
    // rounds while both servers stay up, and the medians are compared. This keeps a burst
    // of noise on the shared machine from landing on one side only.
    let rounds = if quick { 1 } else { 3 };

    // 1. Registration rate vs a hyper server that accepts a 1 KB body and answers 204.
    {
        let eureka = Server::start("eureka", None, &[]);
        let base = Server::start("accept", None, &[]);
        // A plain store: decode into owned strings and keep them (nothing more).
        let store = Server::start("store", None, &[]);
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        // Server CPU per request: the rate ratio is also bounded by this load generator
        // (the baseline runs at its limit), the CPU time is the server's own cost.
        let (mut ours_cpu, mut theirs_cpu) = (Vec::new(), Vec::new());
        let (mut plain_runs, mut plain_cpu) = (Vec::new(), Vec::new());
        for r in 0..rounds {
            // Fresh ids every round: every request is a new registration.
            let offset = 10_000_000 * (r as u64 + 1);
            let make: MakeReq = {
                let inner = post_register("/eureka/apps");
                Arc::new(move |n| inner(n + offset))
            };
            let o = measured(&eureka, conns, d, make.clone()).await;
            check(&o.out, "register");
            let b = measured(&base, conns, d, make.clone()).await;
            check(&b.out, "accept baseline");
            let f = measured(&store, conns, d, make).await;
            check(&f.out, "minimal registry");
            plain_cpu.push(f.server_us_per_req());
            plain_runs.push(f.out);
            ours_cpu.push(o.server_us_per_req());
            theirs_cpu.push(b.server_us_per_req());
            ours.push(o.out);
            theirs.push(b.out);
        }
        let rate = |v: &[Outcome]| median(v.iter().map(Outcome::rate).collect());
        let (o, b) = (rate(&ours), rate(&theirs));
        row(
            &mut rows,
            "registrations/s (new ids)",
            format!("{o:.0}"),
            format!("{b:.0} (1 KB accept, 204)"),
            format!("{:.2}", o / b),
            ">= 20k/s and >= 0.6x",
        );
        latency_row(
            &mut rows,
            format!("registration latency p50 / p99 / max, {conns} connections"),
            &ours,
            &theirs,
        );
        let (oc, bc) = (median(ours_cpu), median(theirs_cpu));
        row(
            &mut rows,
            "server CPU per registration (new ids)",
            format!("{oc:.1} us"),
            format!("{bc:.1} us (1 KB accept, 204)"),
            format!("{:.2}", oc / bc),
            "",
        );
        // The same two rows against the minimal registry (serde derive + HashMap): how far
        // our server is from a plain store, and that store's own ratio to the accept
        // baseline.
        let fl = rate(&plain_runs);
        let fc = median(plain_cpu);
        row(
            &mut rows,
            "registrations/s (new ids) vs a minimal registry",
            format!("{o:.0}"),
            format!("{fl:.0} (serde derive + HashMap, 204)"),
            format!("{:.2}", o / fl),
            "",
        );
        row(
            &mut rows,
            "server CPU per registration vs a minimal registry",
            format!("{oc:.1} us"),
            format!("{fc:.1} us (serde derive + HashMap, 204)"),
            format!("{:.2}", oc / fc),
            "",
        );
        row(
            &mut rows,
            "minimal registry vs 1 KB accept, registrations/s",
            format!("{fl:.0}"),
            format!("{b:.0} (1 KB accept, 204)"),
            format!("{:.2}", fl / b),
            "",
        );
        // A re-registration storm: the same 10k ids registered again and again (every app
        // changes in every publication interval), as after a network blip.
        let storm_n: u64 = if quick { 500 } else { 10_000 };
        fill(eureka.addr, storm_n).await;
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let make: MakeReq = {
                let inner = post_register("/eureka/apps");
                Arc::new(move |n| inner(n % storm_n))
            };
            let o = load(eureka.addr, conns, d, u64::MAX, make.clone()).await;
            check(&o, "re-register storm");
            let b = load(base.addr, conns, d, u64::MAX, make).await;
            check(&b, "accept baseline");
            ours.push(o);
            theirs.push(b);
        }
        let (o, b) = (rate(&ours), rate(&theirs));
        row(
            &mut rows,
            format!("re-registrations/s, storm over {storm_n} ids"),
            format!("{o:.0}"),
            format!("{b:.0} (1 KB accept, 204)"),
            format!("{:.2}", o / b),
            "",
        );
        latency_row(
            &mut rows,
            "re-registration latency p50 / p99 / max".into(),
            &ours,
            &theirs,
        );
    }
    // Experiments only (profiling the register path): `LOAD_ONLY=register` stops here.
    if std::env::var("LOAD_ONLY").is_ok_and(|v| v == "register") {
        return print_rows(rows);
    }

    // 2. Heartbeats at 1k, 10k (and 100k) instances vs hyper hello world; the registries of
    //    every size stay up and are measured in turn each round.
    let hb = |n: u64| -> MakeReq {
        Arc::new(move |k| {
            let i = k % n;
            Request::put(format!(
                "/eureka/apps/APP-{}/inst-{i}?status=UP&lastDirtyTimestamp=1700000000000",
                i % 100
            ))
            .header("host", "127.0.0.1")
            .body(Full::new(Bytes::new()))
            .expect("request")
        })
    };
    {
        let sizes: Vec<u64> = if quick {
            vec![100, n10k]
        } else {
            vec![1_000, 10_000, 100_000]
        };
        let hello = Server::start("hello", None, &[]);
        let mut registries: Vec<(u64, Server, Vec<Measured>)> = Vec::new();
        for &n in &sizes {
            let eureka = Server::start("eureka", None, &[]);
            fill(eureka.addr, n).await;
            registries.push((n, eureka, Vec::new()));
        }
        let mut hello_runs = Vec::new();
        for _ in 0..rounds {
            let b = measured(&hello, conns, d, get("/", false, false)).await;
            check(&b.out, "hello baseline");
            hello_runs.push(b);
            for (n, eureka, runs) in registries.iter_mut() {
                let o = measured(eureka, conns, d, hb(*n)).await;
                check(&o.out, "heartbeat");
                runs.push(o);
            }
        }
        let busy = |runs: &[Measured]| {
            let (s, l): (Vec<f64>, Vec<f64>) = runs.iter().map(Measured::busy).unzip();
            format!(
                "server {:.0} %, load {:.0} % of a core",
                median(s) * 100.0,
                median(l) * 100.0
            )
        };
        let hello_rate = median(hello_runs.iter().map(|m| m.out.rate()).collect());
        let hello_cpu = median(hello_runs.iter().map(Measured::server_us_per_req).collect());
        let mut cpu = Vec::new();
        for (n, _, runs) in &registries {
            let o = median(runs.iter().map(|m| m.out.rate()).collect());
            row(
                &mut rows,
                format!("heartbeats/s, {n} instances ({})", busy(runs)),
                format!("{o:.0}"),
                format!("{hello_rate:.0} (hello world; {})", busy(&hello_runs)),
                format!("{:.2}", o / hello_rate),
                if *n == 10_000 { ">= 0.7x" } else { "" },
            );
            let us = median(runs.iter().map(Measured::server_us_per_req).collect());
            row(
                &mut rows,
                format!("server CPU per heartbeat, {n} instances"),
                format!("{us:.2} us"),
                format!("{hello_cpu:.2} us per hello-world request"),
                format!("{:.2}", us / hello_cpu),
                "",
            );
            cpu.push((*n, us));
        }
        if let (Some(first), Some(last)) = (cpu.first(), cpu.last()) {
            row(
                &mut rows,
                format!(
                    "server CPU per heartbeat, {} vs {} instances",
                    last.0, first.0
                ),
                format!("{:.2} us", last.1),
                format!("{:.2} us at {} instances", first.1, first.0),
                format!("{:.2}", last.1 / first.1),
                "<= 1.2x",
            );
        }
    }

    // 3. Full fetch at 10k instances (JSON/XML, plain/gzip) vs a static body of the same bytes.
    let eureka = Server::start("eureka", None, &[]);
    fill(eureka.addr, n10k).await;
    tokio::time::sleep(Duration::from_millis(120)).await; // publication interval
    let tmp = std::env::temp_dir().join(format!("tower-eureka-load-{}", std::process::id()));
    for (json, gzip, label) in [
        (true, false, "JSON"),
        (true, true, "JSON gzip"),
        (false, false, "XML"),
        (false, true, "XML gzip"),
    ] {
        let (code, body) = fetch(eureka.addr, get("/eureka/apps", json, gzip)(0)).await;
        assert_eq!(code, 200);
        std::fs::write(&tmp, &body).expect("write static body");
        let base = Server::start("static", Some(&tmp), &[]);
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let o = load(
                eureka.addr,
                conns.min(8),
                d,
                u64::MAX,
                get("/eureka/apps", json, gzip),
            )
            .await;
            check(&o, "full fetch");
            o.assert_len(body.len(), "full fetch");
            ours.push(o.rate());
            let b = load(base.addr, conns.min(8), d, u64::MAX, get("/", json, gzip)).await;
            check(&b, "static baseline");
            b.assert_len(body.len(), "static baseline");
            theirs.push(b.rate());
        }
        let (o, b) = (median(ours), median(theirs));
        row(
            &mut rows,
            format!(
                "full fetch/s, {n10k} instances, {label} ({} KiB, {} connections)",
                body.len() / 1024,
                conns.min(8)
            ),
            format!("{o:.0}"),
            format!("{b:.0} (static body)"),
            format!("{:.2}", o / b),
            if label == "JSON" { ">= 0.8x" } else { "" },
        );
    }

    // 4. Register -> visible in GET /eureka/apps, at 10k instances.
    {
        let mut lat = Vec::new();
        for k in 0..if quick { 3 } else { 20 } {
            let id = 5_000_000 + k;
            let (code, _) = fetch(eureka.addr, post_register("/eureka/apps")(id)).await;
            assert_eq!(code, 204);
            let t0 = Instant::now();
            let needle = format!("\"instanceId\":\"inst-{id}\"");
            let seen = loop {
                let (_, body) = fetch(eureka.addr, get("/eureka/apps", true, false)(0)).await;
                // When the response arrived, not when our search of it finished.
                let received = t0.elapsed();
                if contains(&body, &needle) {
                    break received;
                }
                assert!(
                    t0.elapsed() < Duration::from_secs(10),
                    "registration never became visible"
                );
            };
            lat.push(seen);
        }
        lat.sort();
        let med = lat[lat.len() / 2];
        let max = lat[lat.len() - 1];
        row(
            &mut rows,
            format!("register -> visible in GET /eureka/apps, {n10k} instances"),
            format!(
                "median {:.1} ms, max {:.1} ms",
                med.as_secs_f64() * 1e3,
                max.as_secs_f64() * 1e3
            ),
            "reference, not measured: Java serves GETs from a cache refreshed every 30 s",
            "",
            "< 100 ms",
        );
    }
    // 4b. Register -> visible in a Discover fed by our client in another process (this
    //     one), fetching every second (the shortest interval Spring's integer-seconds
    //     setting allows; the default is 30 s), deltas on.
    {
        use tower_eureka::client::{EurekaClient, Target};
        use tower_eureka::discover::EurekaDiscover;
        use tower_eureka::model::InstanceInfo;
        let every = Duration::from_secs(1);
        // With LOAD_AUTH, the credentials travel as the service URL's user info (C-01).
        let userinfo = std::env::var("LOAD_AUTH")
            .map(|a| format!("{a}@"))
            .unwrap_or_default();
        let client = EurekaClient::builder([format!("http://{userinfo}{}/eureka", eureka.addr)])
            .fetch_only()
            .fetch_interval(every)
            .start()
            .expect("client");
        let mut disc = Box::pin(EurekaDiscover::new(
            client.snapshots(),
            Target::app("APP-7"),
            |i: &InstanceInfo| i.host_name.clone(),
        ));
        let mut lat = Vec::new();
        for k in 0..if quick { 2 } else { 10 } {
            // Ids whose app is APP-7 (register_body puts id n in APP-{n % 100}).
            let n = 6_000_007 + 100 * k;
            let id = format!("inst-{n}");
            // At a random phase of the fetch timer, not right after the last detection.
            let phase = rand::random_range(0..every.as_millis() as u64);
            tokio::time::sleep(Duration::from_millis(phase)).await;
            let (code, _) = fetch(eureka.addr, post_register("/eureka/apps")(n)).await;
            assert_eq!(code, 204);
            let t0 = Instant::now();
            loop {
                let next =
                    std::future::poll_fn(|cx| futures_core::Stream::poll_next(disc.as_mut(), cx));
                match tokio::time::timeout(Duration::from_secs(10), next).await {
                    Ok(Some(Ok(tower::discover::Change::Insert(key, _)))) if *key == *id => break,
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => panic!("{id} never reached the Discover"),
                }
            }
            lat.push(t0.elapsed());
        }
        client.shutdown().await.expect("client shutdown");
        lat.sort();
        row(
            &mut rows,
            format!("register -> visible in a Discover in another process, {n10k} instances"),
            format!(
                "median {:.0} ms, max {:.0} ms",
                lat[lat.len() / 2].as_secs_f64() * 1e3,
                lat[lat.len() - 1].as_secs_f64() * 1e3
            ),
            format!(
                "reference, not measured: bounded by the fetch interval ({every:?}) + publication"
            ),
            "",
            "",
        );
    }
    drop(eureka);

    // 5. Delta fetch rate: 10k instances, 50 recent changes. The retention window is
    //    short enough that the fill's 10k registrations leave it before the changes are
    //    made, and long enough that the 50 changes stay in it for the whole measurement,
    //    so that every response is the same 50-change delta (checked, byte for byte, as
    //    the static baseline serves it); ours and the baseline alternate over the rounds.
    {
        let retention = if quick {
            Duration::from_secs(3)
        } else {
            Duration::from_secs(25)
        };
        let eureka = Server::start(
            "eureka",
            None,
            &[("LOAD_DELTA_RETENTION_MS", retention.as_millis().to_string())],
        );
        fill(eureka.addr, n10k).await;
        tokio::time::sleep(retention + Duration::from_millis(1_500)).await;
        let changed_at = Instant::now();
        for k in 0..50u64 {
            let (code, _) = fetch(
                eureka.addr,
                Request::put(format!(
                    "/eureka/apps/APP-{}/inst-{k}/status?value=OUT_OF_SERVICE",
                    k % 100
                ))
                .header("host", "h")
                .body(Full::new(Bytes::new()))
                .expect("req"),
            )
            .await;
            assert_eq!(code, 200);
        }
        tokio::time::sleep(Duration::from_millis(120)).await;
        let (code, body) = fetch(eureka.addr, get("/eureka/apps/delta", true, false)(0)).await;
        assert_eq!(code, 200);
        let records = std::str::from_utf8(&body)
            .map(|b| b.matches("\"actionType\":\"MODIFIED\"").count())
            .unwrap_or(0);
        assert_eq!(records, 50, "the delta should hold exactly the 50 changes");
        std::fs::write(&tmp, &body).expect("write");
        let base = Server::start("static", Some(&tmp), &[]);
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let o = load(
                eureka.addr,
                conns,
                d,
                u64::MAX,
                get("/eureka/apps/delta", true, false),
            )
            .await;
            check(&o, "delta");
            o.assert_len(
                body.len(),
                "delta fetch (the changes must stay in the window)",
            );
            ours.push(o.rate());
            let b = load(base.addr, conns, d, u64::MAX, get("/", true, false)).await;
            check(&b, "static baseline");
            b.assert_len(body.len(), "static baseline");
            theirs.push(b.rate());
        }
        assert!(
            changed_at.elapsed() < retention,
            "the measurement outlasted the retention window"
        );
        let (o, b) = (median(ours), median(theirs));
        row(
            &mut rows,
            format!(
                "delta fetch/s, {n10k} instances, 50 changes ({} KiB)",
                body.len() / 1024
            ),
            format!("{o:.0}"),
            format!("{b:.0} (static body)"),
            format!("{:.2}", o / b),
            "",
        );
    }
    let _ = std::fs::remove_file(&tmp);

    // 6. RSS per instance, caches included: first what a Java/Spring estate fetches
    //    (JSON, gzip), then every /apps variant (JSON and XML, plain and gzip).
    let rss_sizes: Vec<u64> = if quick {
        vec![n10k]
    } else {
        vec![10_000, 100_000]
    };
    for n in rss_sizes {
        let eureka = Server::start("eureka", None, &[]);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let empty = eureka.rss_kib();
        fill(eureka.addr, n).await;
        tokio::time::sleep(Duration::from_millis(120)).await;
        let per = |rss: u64| (rss.saturating_sub(empty)) as f64 * 1024.0 / n as f64;
        let (code, _) = fetch(eureka.addr, get("/eureka/apps", true, true)(0)).await;
        assert_eq!(code, 200);
        let typical = per(eureka.rss_kib());
        row(
            &mut rows,
            format!("RSS per instance, {n} instances, JSON gzip cached"),
            format!("{typical:.0} B"),
            format!("{empty} KiB empty server"),
            "",
            "<= 2 KB at 100k",
        );
        for (json, gzip) in [(true, false), (false, false), (false, true)] {
            let (code, _) = fetch(eureka.addr, get("/eureka/apps", json, gzip)(0)).await;
            assert_eq!(code, 200);
        }
        let all = per(eureka.rss_kib());
        row(
            &mut rows,
            format!("RSS per instance, {n} instances, all 4 /apps variants cached"),
            format!("{all:.0} B"),
            format!("{empty} KiB empty server"),
            "",
            "",
        );
    }

    print_rows(rows);
}

fn print_rows(rows: Vec<Row>) {
    println!("\n| metric | ours | baseline (same run) | ratio | target |\n|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            r.metric, r.ours, r.baseline, r.ratio, r.target
        );
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn contains(hay: &[u8], needle: &str) -> bool {
    std::str::from_utf8(hay).is_ok_and(|h| h.contains(needle))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if let Some(kind) = value("--serve") {
        return serve_main(&kind, value("--file"));
    }
    // `cargo bench` passes `--bench`; ignore it.
    let quick = args.iter().any(|a| a == "--quick");
    if std::env::var_os("LOAD_PINNED").is_none() && pinning() {
        let status = Command::new("taskset")
            .args(["-c", "1"])
            .arg(std::env::current_exe().expect("exe"))
            .args(&args[1..])
            .env("LOAD_PINNED", "1")
            .status()
            .expect("re-exec pinned");
        std::process::exit(status.code().unwrap_or(1));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // The JVM side by side (issue 9): part of every run; `LOAD_JVM=0` leaves it out,
    // `LOAD_JVM=only` runs nothing else. Quick runs do a small smoke of it.
    let jvm = std::env::var("LOAD_JVM").unwrap_or_default();
    if jvm != "only" {
        rt.block_on(driver(quick));
    }
    if jvm == "0" {
        println!("vs JVM: skipped (LOAD_JVM=0)");
        return;
    }
    let has_java = Command::new("java")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_java && quick {
        println!("vs JVM: SKIPPED, no `java` on this machine");
        return;
    }
    assert!(
        has_java,
        "vs JVM: no `java` on this machine (LOAD_JVM=0 skips this part)"
    );
    rt.block_on(vs_jvm(quick));
}

// ---------------------------------------------------------------------------------------
// Side by side with the JVM registry (issue 9)
// ---------------------------------------------------------------------------------------

#[allow(unreachable_pub)]
#[path = "../tests/java/harness.rs"]
mod java;

/// A server process of the side-by-side table: our `eureka-server` binary or a Spring
/// Eureka server, pinned to CPU 0 like every server of this driver.
struct Target {
    name: &'static str,
    addr: SocketAddr,
    pid: u32,
    /// From spawning the process to its first 200 on `GET /eureka/apps`.
    start: Duration,
    /// Instances registered so far (ids `0..registered`).
    registered: u64,
    _proc: TargetProc,
}

enum TargetProc {
    Ours(Child),
    Jvm(#[allow(dead_code)] java::JavaProcess),
}

impl Drop for TargetProc {
    fn drop(&mut self) {
        if let TargetProc::Ours(c) = self {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn pin_prefix() -> Vec<&'static str> {
    if pinning() {
        vec!["taskset", "-c", "0"]
    } else {
        Vec::new()
    }
}

/// Our `eureka-server` binary, started the way users start it; its start time is the
/// median of `tries` starts (a loaded shared core delays single starts by up to ~0.6 s).
fn start_ours(delta_retention: Duration, tries: usize) -> Target {
    let mut first = start_ours_once(delta_retention);
    let mut times = vec![first.start];
    for _ in 1..tries {
        times.push(start_ours_once(delta_retention).start);
    }
    times.sort();
    first.start = times[times.len() / 2];
    first
}

fn start_ours_once(delta_retention: Duration) -> Target {
    let port = java::free_port();
    let prefix = pin_prefix();
    let exe = env!("CARGO_BIN_EXE_eureka-server");
    let mut cmd = match prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    let t0 = Instant::now();
    let mut child = cmd
        .arg(format!("--listen=127.0.0.1:{port}"))
        .arg(format!(
            "--retention-time-in-m-s-in-delta-queue={}",
            delta_retention.as_millis()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn eureka-server");
    let start = loop {
        if java::http_status(port, "GET", "/eureka/apps", "application/json") == Some(200) {
            break t0.elapsed();
        }
        if let Ok(Some(s)) = child.try_wait() {
            panic!("eureka-server exited before it answered ({s})");
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "eureka-server never answered"
        );
        std::thread::sleep(Duration::from_millis(1));
    };
    Target {
        name: "tower-eureka",
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        pid: child.id(),
        start,
        registered: 0,
        _proc: TargetProc::Ours(child),
    }
}

/// The settings every Spring Eureka server of the table runs with: standalone, everything
/// else at Spring Cloud Netflix's defaults except the delta window (shortened on both
/// sides, so that a delta holds only the changes made for it) and `extra`.
fn jvm_props(delta_retention: Duration, extra: &[&str]) -> Vec<String> {
    let mut p: Vec<String> = vec![
        "eureka.client.register-with-eureka=false".into(),
        "eureka.client.fetch-registry=false".into(),
        // Itself as its only service URL: with Spring's default
        // (`http://localhost:8761/eureka/`) a standalone server takes that URL for a peer
        // and spends CPU replicating every write to it (refused connections, retries).
        "eureka.client.service-url.defaultZone=http://localhost:{port}/eureka/".into(),
        "eureka.server.my-url=http://localhost:{port}/eureka/".into(),
        format!(
            "eureka.server.retention-time-in-m-s-in-delta-queue={}",
            delta_retention.as_millis()
        ),
        "eureka.server.delta-retention-timer-interval-in-ms=1000".into(),
    ];
    p.extend(extra.iter().map(|s| (*s).to_owned()));
    p
}

fn start_jvm(name: &'static str, props: Vec<String>) -> Target {
    java::jar(java::App::EurekaServer); // built before the clock starts
    let port = java::free_port();
    let t0 = Instant::now();
    let p = java::JavaProcess::start_wrapped(
        &pin_prefix(),
        java::App::EurekaServer,
        port,
        &[],
        &props,
        "/eureka/apps",
    );
    let start = t0.elapsed();
    Target {
        name,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        pid: p.pid(),
        start,
        registered: 0,
        _proc: TargetProc::Jvm(p),
    }
}

/// The JVM's own choice of heap and GC on one CPU (what "default flags" means here).
fn jvm_ergonomics() -> String {
    let mut cmd = Command::new(pin_prefix().first().copied().unwrap_or("java"));
    if pinning() {
        cmd.args(["-c", "0", "java"]);
    }
    cmd.args(["-XX:+PrintCommandLineFlags", "-version"])
        .output()
        .ok()
        .map(|o| {
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            all.lines()
                .filter(|l| l.contains("-XX:") || l.contains("version"))
                .collect::<Vec<_>>()
                .join(" / ")
        })
        .unwrap_or_else(|| "java -XX:+PrintCommandLineFlags failed".into())
}

fn heartbeats(n: u64) -> MakeReq {
    Arc::new(move |k| {
        let i = k % n;
        Request::put(format!(
            "/eureka/apps/APP-{}/inst-{i}?status=UP&lastDirtyTimestamp=1700000000000",
            i % 100
        ))
        .header("host", "127.0.0.1")
        .body(Full::new(Bytes::new()))
        .expect("request")
    })
}

/// Registers ids `t.registered..upto` (new ids).
async fn grow(t: &mut Target, upto: u64) {
    let from = t.registered;
    if upto <= from {
        return;
    }
    let inner = post_register("/eureka/apps");
    let make: MakeReq = Arc::new(move |n| inner(n + from));
    let out = load(t.addr, 8, Duration::from_secs(600), upto - from, make).await;
    assert_eq!(
        out.failed, 0,
        "{}: registrations refused while filling",
        t.name
    );
    assert_eq!(
        out.ok,
        upto - from,
        "{}: not every registration went through",
        t.name
    );
    t.registered = upto;
}

/// One heartbeat for each of the first `n` instances, so that no lease nears expiry
/// whatever the eviction settings.
async fn keep_alive(t: &Target, n: u64) {
    let out = load(t.addr, 8, Duration::from_secs(120), n, heartbeats(n)).await;
    assert_eq!(out.failed, 0, "{}: heartbeats refused", t.name);
}

/// A measured run against `t`: the outcome and the server's CPU share.
async fn run_on(t: &Target, conns: usize, d: Duration, max: u64, make: MakeReq) -> Measured {
    let pid = t.pid.to_string();
    let (s0, l0) = (cpu_secs(&pid), cpu_secs("self"));
    let out = load(t.addr, conns, d, max, make).await;
    let (s1, l1) = (cpu_secs(&pid), cpu_secs("self"));
    let diff = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => b - a,
        _ => f64::NAN,
    };
    Measured {
        out,
        server_cpu: diff(s0, s1),
        load_cpu: diff(l0, l1),
    }
}

/// Registers `samples` new ids `spacing` apart (so that they land at different phases of a
/// cache refresh) while polling `GET /eureka/apps` back to back, and returns for each the
/// time from its 204 to the first response that holds it.
async fn visibility(
    t: &mut Target,
    samples: u64,
    spacing: Duration,
    limit: Duration,
) -> Vec<Duration> {
    let base = t.registered;
    let mut pending: Vec<(String, Instant)> = Vec::new();
    let mut seen = Vec::new();
    let mut k = 0;
    let mut next = Instant::now();
    while k < samples || !pending.is_empty() {
        if k < samples && Instant::now() >= next {
            let id = base + k;
            let (code, _) = fetch(t.addr, post_register("/eureka/apps")(id)).await;
            assert_eq!(code, 204, "{}: registration refused", t.name);
            pending.push((format!("\"instanceId\":\"inst-{id}\""), Instant::now()));
            k += 1;
            next += spacing;
        }
        let (code, body) = fetch(t.addr, get("/eureka/apps", true, false)(0)).await;
        assert_eq!(code, 200, "{}: GET /eureka/apps", t.name);
        let received = Instant::now();
        pending.retain(|(needle, t0)| {
            if contains(&body, needle) {
                seen.push(received - *t0);
                return false;
            }
            assert!(
                t0.elapsed() < limit,
                "{}: a registration was not visible after {limit:?}",
                t.name
            );
            true
        });
    }
    t.registered = base + samples;
    seen.sort();
    seen
}

/// Records (`ADDED`, `MODIFIED`, `DELETED`) in a JSON delta body.
fn delta_records(body: &[u8]) -> usize {
    std::str::from_utf8(body).map_or(0, |b| {
        ["ADDED", "MODIFIED", "DELETED"]
            .iter()
            .map(|a| b.matches(&format!("\"actionType\":\"{a}\"")).count())
            .sum()
    })
}

struct VsRow {
    metric: String,
    /// One value per target (ours first), already formatted.
    shown: Vec<String>,
    /// ours / JVM, per JVM target.
    ratios: Vec<f64>,
    goal: &'static str,
    /// Whether a ratio meets the goal (`None`: no goal).
    meets: Option<fn(f64) -> bool>,
}

fn fmt_ratio(r: f64) -> String {
    if !r.is_finite() {
        "n/a".into()
    } else if r >= 0.1 {
        format!("{r:.2}")
    } else {
        format!("1/{:.0}", 1.0 / r)
    }
}

/// The side-by-side run. Full: ours and two Spring Eureka servers (read-only response
/// cache on, the default, and off), 10k and 100k instances. Quick (CI): ours and the JVM
/// without the read-only cache only, tiny sizes: a smoke run of every step.
async fn vs_jvm(quick: bool) {
    let d = if quick {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(2)
    };
    let rounds = if quick { 1 } else { 3 };
    let conns = if quick { 4 } else { 32 };
    let n: u64 = if quick { 500 } else { 10_000 };
    let big: u64 = if quick { 2_000 } else { 100_000 };
    let retention = if quick {
        Duration::from_secs(3)
    } else {
        Duration::from_secs(30)
    };
    let ergonomics = jvm_ergonomics();
    println!(
        "\nvs JVM: {} mode; JVM flags: none (defaults); ergonomics pinned: {ergonomics}",
        if quick { "quick" } else { "full" }
    );

    let mut targets = vec![start_ours(retention, 5)];
    if !quick {
        targets.push(start_jvm(
            "JVM, read-only cache on (default)",
            jvm_props(retention, &[]),
        ));
    }
    targets.push(start_jvm(
        "JVM, read-only cache off",
        jvm_props(
            retention,
            &["eureka.server.use-read-only-response-cache=false"],
        ),
    ));
    let mut rows: Vec<VsRow> = Vec::new();
    let ratio_of = |v: &[f64]| v[1..].iter().map(|j| v[0] / j).collect::<Vec<_>>();
    let secs: Vec<f64> = targets.iter().map(|t| t.start.as_secs_f64()).collect();
    rows.push(VsRow {
        metric: "start: process spawn -> first 200 on GET /eureka/apps (ours: median of 5)".into(),
        shown: secs.iter().map(|s| format!("{:.0} ms", s * 1e3)).collect(),
        ratios: ratio_of(&secs),
        goal: "<= 1/50",
        meets: Some(|r| r <= 1.0 / 50.0),
    });
    for t in &targets {
        println!("  {}: pid {}, started in {:?}", t.name, t.pid, t.start);
    }

    // Fill, then warm up every target with the same load (the JIT compiles the hot paths).
    for t in targets.iter_mut() {
        grow(t, n).await;
    }
    let warm = if quick { 1 } else { 2 };
    let started = Instant::now();
    for _ in 0..warm {
        for t in &targets {
            // Each load below starts again at id 0: renew every lease first, so that none
            // nears expiry (the JVM evicts up to 15 % of the registry per pass otherwise).
            keep_alive(t, n).await;
            let reg = post_register("/eureka/apps");
            let _ = load(t.addr, conns, d, u64::MAX, Arc::new(move |k| reg(k % n))).await;
            let _ = load(t.addr, conns, d, u64::MAX, heartbeats(n)).await;
            let _ = load(t.addr, 8, d, u64::MAX, get("/eureka/apps", true, false)).await;
            let _ = load(t.addr, 8, d, u64::MAX, get("/eureka/apps", true, true)).await;
            let _ = load(
                t.addr,
                conns,
                d / 2,
                u64::MAX,
                get("/eureka/apps/delta", true, false),
            )
            .await;
        }
    }
    println!(
        "  warm-up: {warm} cycles of registrations, heartbeats, fetches, deltas in {:?}",
        started.elapsed()
    );

    // Heartbeats at n instances.
    for t in &targets {
        keep_alive(t, n).await;
    }
    let mut hb: Vec<Vec<Measured>> = targets.iter().map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for (t, runs) in targets.iter().zip(hb.iter_mut()) {
            let m = run_on(t, conns, d, u64::MAX, heartbeats(n)).await;
            check(&m.out, t.name);
            runs.push(m);
        }
    }
    let rates: Vec<f64> = hb
        .iter()
        .map(|r| median(r.iter().map(|m| m.out.rate()).collect()))
        .collect();
    let cpu: Vec<f64> = hb
        .iter()
        .map(|r| median(r.iter().map(Measured::server_us_per_req).collect()))
        .collect();
    let busy: Vec<f64> = hb
        .iter()
        .map(|r| median(r.iter().map(|m| m.busy().0).collect()))
        .collect();
    rows.push(VsRow {
        metric: format!("heartbeats/s, {n} instances, {conns} connections"),
        shown: rates
            .iter()
            .zip(&busy)
            .map(|(r, b)| format!("{r:.0} (server {:.0} % of a core)", b * 100.0))
            .collect(),
        ratios: ratio_of(&rates),
        goal: ">= 3",
        meets: Some(|r| r >= 3.0),
    });
    rows.push(VsRow {
        metric: "server CPU per heartbeat".into(),
        shown: cpu.iter().map(|c| format!("{c:.1} us")).collect(),
        ratios: ratio_of(&cpu),
        goal: "",
        meets: None,
    });

    // Full fetches at n instances.
    for (gzip, label) in [(false, "JSON"), (true, "JSON gzip")] {
        let mut runs: Vec<Vec<Measured>> = targets.iter().map(|_| Vec::new()).collect();
        for _ in 0..rounds {
            for (t, r) in targets.iter().zip(runs.iter_mut()) {
                let m = run_on(t, 8, d, u64::MAX, get("/eureka/apps", true, gzip)).await;
                check(&m.out, t.name);
                r.push(m);
            }
        }
        let rates: Vec<f64> = runs
            .iter()
            .map(|r| median(r.iter().map(|m| m.out.rate()).collect()))
            .collect();
        let cpu: Vec<f64> = runs
            .iter()
            .map(|r| median(r.iter().map(Measured::server_us_per_req).collect()))
            .collect();
        rows.push(VsRow {
            metric: format!("full fetch/s, {n} instances, {label}, 8 connections"),
            shown: runs
                .iter()
                .zip(&rates)
                .zip(&cpu)
                .map(|((r, rate), c)| {
                    let (lo, hi) = r.iter().fold((u64::MAX, 0), |(lo, hi), m| {
                        (lo.min(m.out.min_len), hi.max(m.out.max_len))
                    });
                    let size = if lo == hi {
                        format!("{} KiB", lo / 1024)
                    } else {
                        format!("{}..{} KiB", lo / 1024, hi / 1024)
                    };
                    format!("{rate:.0} ({size}, {:.2} ms CPU each)", c / 1e3)
                })
                .collect(),
            ratios: ratio_of(&rates),
            goal: ">= 3",
            meets: Some(|r| r >= 3.0),
        });
    }

    // RSS at n instances (JSON gzip and plain cached: what the runs above fetched).
    let rss: Vec<f64> = targets.iter().map(|t| rss_of(t.pid) as f64).collect();
    rows.push(VsRow {
        metric: format!("RSS (VmRSS), {n} instances"),
        shown: rss
            .iter()
            .map(|k| format!("{:.1} MiB", k / 1024.0))
            .collect(),
        ratios: ratio_of(&rss),
        goal: "",
        meets: None,
    });

    // Register -> visible in GET /eureka/apps.
    for t in &targets {
        keep_alive(t, n).await;
    }
    let mut vis: Vec<Vec<Duration>> = Vec::new();
    for (i, t) in targets.iter_mut().enumerate() {
        // The JVM with its default cache refreshes every 30 s: samples spread over one
        // refresh period; the others are spaced a little apart.
        let cached = !quick && i == 1;
        let (samples, spacing) = if cached {
            (5, Duration::from_secs(6))
        } else if quick {
            (2, Duration::from_millis(137))
        } else {
            (10, Duration::from_millis(137))
        };
        vis.push(visibility(t, samples, spacing, Duration::from_secs(40)).await);
    }
    let med: Vec<f64> = vis.iter().map(|v| v[v.len() / 2].as_secs_f64()).collect();
    rows.push(VsRow {
        metric: format!("register -> visible in GET /eureka/apps, {n} instances (median, max)"),
        shown: vis
            .iter()
            .map(|v| {
                let (m, x) = (
                    v[v.len() / 2].as_secs_f64() * 1e3,
                    v[v.len() - 1].as_secs_f64() * 1e3,
                );
                format!("{m:.0} ms, {x:.0} ms ({} samples)", v.len())
            })
            .collect(),
        ratios: ratio_of(&med),
        goal: "<= 1/100",
        meets: Some(|r| r <= 0.01),
    });

    // Delta fetch: once the window holds nothing from before, 50 status changes; measured
    // once every target's delta holds exactly those 50 (the JVM's cache may take 30 s).
    let quiet = Instant::now() + retention + Duration::from_secs(3);
    for t in &targets {
        keep_alive(t, n).await;
    }
    tokio::time::sleep_until(quiet.into()).await;
    let mut delta_rates = Vec::new();
    let mut delta_shown = Vec::new();
    for t in &targets {
        for k in 0..50u64 {
            let (code, _) = fetch(
                t.addr,
                Request::put(format!(
                    "/eureka/apps/APP-{}/inst-{k}/status?value=OUT_OF_SERVICE",
                    k % 100
                ))
                .header("host", "h")
                .body(Full::new(Bytes::new()))
                .expect("req"),
            )
            .await;
            assert_eq!(code, 200, "{}: status change refused", t.name);
        }
        let t0 = Instant::now();
        let body = loop {
            let (code, body) = fetch(t.addr, get("/eureka/apps/delta", true, false)(0)).await;
            assert_eq!(code, 200, "{}: delta", t.name);
            if delta_records(&body) == 50 {
                break body;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(40),
                "{}: the delta never held exactly the 50 changes ({} records)",
                t.name,
                delta_records(&body)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let (mut r, mut c) = (Vec::new(), Vec::new());
        let (mut lo, mut hi) = (u64::MAX, 0);
        for _ in 0..rounds {
            let m = run_on(
                t,
                conns,
                d,
                u64::MAX,
                get("/eureka/apps/delta", true, false),
            )
            .await;
            check(&m.out, t.name);
            lo = lo.min(m.out.min_len);
            hi = hi.max(m.out.max_len);
            r.push(m.out.rate());
            c.push(m.server_us_per_req());
        }
        let rate = median(r);
        let us = median(c);
        let same = if lo == hi && lo == body.len() as u64 {
            String::new()
        } else {
            format!(", BODY CHANGED: {lo}..{hi} B")
        };
        delta_shown.push(format!(
            "{rate:.0} ({} KiB, {us:.0} us CPU each{same})",
            body.len() / 1024
        ));
        delta_rates.push(rate);
    }
    rows.push(VsRow {
        metric: format!("delta fetch/s, {n} instances, 50 changes, {conns} connections"),
        shown: delta_shown,
        ratios: ratio_of(&delta_rates),
        goal: "",
        meets: None,
    });

    // Registrations of new ids: bounded in count, so that ours (the faster) ends at `big`.
    for t in &targets {
        keep_alive(t, n).await;
    }
    let per_round = (big - targets[0].registered) / rounds as u64;
    let mut regs: Vec<Vec<Measured>> = targets.iter().map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for (t, r) in targets.iter_mut().zip(regs.iter_mut()) {
            let from = t.registered;
            let inner = post_register("/eureka/apps");
            let m = run_on(t, conns, d, per_round, Arc::new(move |k| inner(k + from))).await;
            check(&m.out, t.name);
            t.registered += m.out.ok;
            r.push(m);
        }
    }
    let rates: Vec<f64> = regs
        .iter()
        .map(|r| median(r.iter().map(|m| m.out.rate()).collect()))
        .collect();
    let busy: Vec<f64> = regs
        .iter()
        .map(|r| median(r.iter().map(|m| m.busy().0).collect()))
        .collect();
    rows.insert(
        1,
        VsRow {
            metric: format!("registrations/s (new ids), {conns} connections"),
            shown: rates
                .iter()
                .zip(&busy)
                .map(|(r, b)| format!("{r:.0} (server {:.0} % of a core)", b * 100.0))
                .collect(),
            ratios: ratio_of(&rates),
            goal: ">= 10",
            meets: Some(|r| r >= 10.0),
        },
    );
    let cpu: Vec<f64> = regs
        .iter()
        .map(|r| median(r.iter().map(Measured::server_us_per_req).collect()))
        .collect();
    rows.insert(
        2,
        VsRow {
            metric: "server CPU per registration".into(),
            shown: cpu.iter().map(|c| format!("{c:.1} us")).collect(),
            ratios: ratio_of(&cpu),
            goal: "",
            meets: None,
        },
    );

    // RSS at `big` instances, with what Java/Spring clients fetch (JSON gzip) cached.
    for t in targets.iter_mut() {
        grow(t, big).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for t in &targets {
        let (code, _) = fetch(t.addr, get("/eureka/apps", true, true)(0)).await;
        assert_eq!(code, 200);
    }
    let rss: Vec<f64> = targets.iter().map(|t| rss_of(t.pid) as f64).collect();
    rows.push(VsRow {
        metric: format!("RSS (VmRSS), {big} instances, JSON gzip fetched"),
        shown: rss
            .iter()
            .map(|k| format!("{:.1} MiB", k / 1024.0))
            .collect(),
        ratios: ratio_of(&rss),
        goal: "<= 1/10",
        meets: Some(|r| r <= 0.1),
    });

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("\nvs JVM, load average at the end: {}", load.trim());
    let mut head = String::from("| metric |");
    for t in &targets {
        head.push_str(&format!(" {} |", t.name));
        if t.name != "tower-eureka" {
            head.push_str(" ours/JVM |");
        }
    }
    head.push_str(" goal (ours/JVM) |");
    println!("{head}\n|{}", "---|".repeat(2 * targets.len() + 1));
    for r in rows {
        let mut line = format!("| {} | {} |", r.metric, r.shown[0]);
        for ((s, ratio), t) in r.shown[1..].iter().zip(&r.ratios).zip(&targets[1..]) {
            // The goals are against the JVM at its default settings.
            let mark = match r.meets {
                _ if !t.name.contains("default") => "",
                Some(f) if f(*ratio) => " (met)",
                Some(_) => " (**missed**)",
                None => "",
            };
            line.push_str(&format!(" {s} | {}{mark} |", fmt_ratio(*ratio)));
        }
        line.push_str(&format!(" {} |", r.goal));
        println!("{line}");
    }
}
