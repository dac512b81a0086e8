//! Soak driver (issue 11): the release `eureka-server` binary as a child process under the
//! steady load of a real estate for many minutes, watching that nothing drifts.
//!
//! ```text
//! cargo bench --bench soak                        # 10 minutes, 10k instances, 100 fetching clients
//! cargo bench --bench soak -- --minutes 60        # longer
//! cargo bench --bench soak -- --instances 50000   # bigger
//! cargo bench --bench soak -- --quick             # smoke run (about 40 s): every step, small sizes
//! ```
//!
//! The load, all from this process over loopback HTTP/1.1 keep-alive connections:
//!
//! * `--instances` (10000) instances are registered (JSON, as Spring sends them), then each
//!   heartbeats every 30 s at its own phase: instance `i` at `i * 30 s / N` into every
//!   period, so the heartbeats arrive evenly spread, never in bursts. A heartbeat answered
//!   404 re-registers, as a Java client does.
//! * 100 fetching clients, each asking for `GET /eureka/apps/delta` every 30 s at its own
//!   phase, and every 6th time (every 3 minutes, at a phase of its own) for the full
//!   `GET /eureka/apps` instead, as a Java client does on a hash mismatch; `Accept: application/json` and
//!   `Accept-Encoding: gzip`, as Java sends them. Delta bodies are inflated and their
//!   records counted, so the report shows that the deltas were not empty.
//! * Churn: 1 % of the instances per minute (evenly spread) cancel and register again.
//!
//! Every request has a 10 s timeout (counted as an error), at most 512 are in flight, and
//! the run ends after `--minutes`: bounded in count and time. Every minute it prints the
//! server's RSS and CPU, the load average, and per kind of request the count, 5xx, other
//! non-2xx answers, errors and latency p50 / p99 / max; at the end a markdown table of the
//! minutes and one PASS/FAIL line per criterion:
//!
//! * **RSS flat**: RSS at the end of the last minute within 5 % of RSS at the end of the
//!   first minute after warm-up. Warm-up is the first 3 minutes (`--warmup-minutes`): the
//!   delta window is 180 s, so the change log fills for that long.
//! * **no 5xx**: not one 5xx answer in the whole run (registrations of the fill included),
//!   and, as a line of its own, no transport error or timeout.
//! * **p99 stable**: per kind, the median of the per-minute p99s over the second half of
//!   the minutes after warm-up is at most 1.5x the median over the first half, plus 0.5 ms
//!   (sub-millisecond figures jitter by more than 50 % on a busy machine).
//!
//! A full run exits 1 when a criterion fails; `--quick` (10 s "minutes", 5 s periods, 1000
//! instances, 10 clients, 1 warm-up minute) prints the same lines but fails only on 5xx
//! and errors, never on slowness or RSS.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use std::io::Read as _;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod support;
use support::{cpu_secs, register_body, rss_of};

// ---------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Settings {
    quick: bool,
    minutes: u32,
    warmup: u32,
    instances: u64,
    /// A report period ("minute"): 60 s, 10 s in quick runs.
    minute: Duration,
    heartbeat: Duration,
    clients: u64,
    fetch: Duration,
    /// Every `full_every`-th fetch of a client is a full one.
    full_every: u64,
    churn_per_minute: u64,
}

impl Settings {
    fn from_args(args: &[String]) -> Settings {
        let value = |flag: &str| -> Option<u64> {
            let i = args.iter().position(|a| a == flag)?;
            let v = args.get(i + 1).unwrap_or_else(|| {
                eprintln!("{flag} needs a number");
                std::process::exit(2)
            });
            Some(v.parse().unwrap_or_else(|_| {
                eprintln!("{flag}: not a number: {v:?}");
                std::process::exit(2)
            }))
        };
        let quick = args.iter().any(|a| a == "--quick");
        let mut s = if quick {
            Settings {
                quick,
                minutes: 4,
                warmup: 1,
                instances: 1000,
                minute: Duration::from_secs(10),
                heartbeat: Duration::from_secs(5),
                clients: 10,
                fetch: Duration::from_secs(5),
                full_every: 3,
                churn_per_minute: 10,
            }
        } else {
            Settings {
                quick,
                minutes: 10,
                warmup: 3,
                instances: 10_000,
                minute: Duration::from_secs(60),
                heartbeat: Duration::from_secs(30),
                clients: 100,
                fetch: Duration::from_secs(30),
                full_every: 6,
                churn_per_minute: 100,
            }
        };
        if let Some(m) = value("--minutes") {
            s.minutes = u32::try_from(m).unwrap_or(u32::MAX);
        }
        if let Some(w) = value("--warmup-minutes") {
            s.warmup = u32::try_from(w).unwrap_or(u32::MAX);
        }
        if let Some(n) = value("--instances") {
            s.instances = n;
            s.churn_per_minute = (n / 100).max(1);
        }
        if let Some(c) = value("--clients") {
            s.clients = c;
        }
        let ok = s.instances > 0 && s.clients > 0 && s.minutes > s.warmup + 1;
        if !ok {
            eprintln!(
                "--instances and --clients must be > 0 and --minutes ({}) > --warmup-minutes ({}) + 1",
                s.minutes, s.warmup
            );
            std::process::exit(2);
        }
        s
    }
}

// ---------------------------------------------------------------------------------------
// Statistics, one window per minute
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Register,
    Heartbeat,
    Cancel,
    Delta,
    Full,
}

const KINDS: [Kind; 5] = [
    Kind::Register,
    Kind::Heartbeat,
    Kind::Cancel,
    Kind::Delta,
    Kind::Full,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Register => "register",
            Kind::Heartbeat => "heartbeat",
            Kind::Cancel => "cancel",
            Kind::Delta => "delta fetch",
            Kind::Full => "full fetch",
        }
    }
}

#[derive(Debug, Default)]
struct PerKind {
    ok: u64,
    server_errors: u64,
    /// Non-2xx answers below 500 (a heartbeat's 404 during churn, for one).
    other: u64,
    /// Transport errors and timeouts.
    errors: u64,
    latencies_us: Vec<u32>,
}

impl PerKind {
    fn requests(&self) -> u64 {
        self.ok + self.server_errors + self.other + self.errors
    }

    /// The `q` quantile of the latencies of the answered requests in ms (sorted first).
    fn quantile_ms(&self, q: f64) -> f64 {
        let l = &self.latencies_us;
        if l.is_empty() {
            return f64::NAN;
        }
        let i = ((l.len() - 1) as f64 * q).round() as usize;
        f64::from(l[i]) / 1e3
    }
}

#[derive(Debug, Default)]
struct Window {
    kinds: [PerKind; 5],
    delta_records: u64,
    full_bytes: u64,
    /// The first transport error or timeout of the minute, to print.
    first_error: Option<String>,
}

impl Window {
    fn kind(&mut self, k: Kind) -> &mut PerKind {
        &mut self.kinds[k as usize]
    }
}

/// One finished minute.
#[derive(Debug)]
struct Minute {
    index: u32,
    rss_kib: u64,
    server_cpu: f64,
    driver_cpu: f64,
    load_avg: String,
    w: Window,
}

type Shared = Arc<Mutex<Window>>;

fn record(stats: &Shared, kind: Kind, outcome: &Answer, latency: Duration) {
    let mut w = stats.lock().unwrap_or_else(|e| e.into_inner());
    let k = w.kind(kind);
    match outcome {
        Answer::Status(s) if (200..300).contains(s) => {
            k.ok += 1;
            k.latencies_us
                .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
        }
        Answer::Status(s) if *s >= 500 => k.server_errors += 1,
        Answer::Status(_) => {
            k.other += 1;
            k.latencies_us
                .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
        }
        Answer::Failed(e) => {
            k.errors += 1;
            w.first_error
                .get_or_insert_with(|| format!("{}: {e}", kind.name()));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

type HttpClient = Client<HttpConnector, Full<Bytes>>;

#[derive(Debug)]
enum Answer {
    Status(u16),
    Failed(String),
}

struct Driver {
    http: HttpClient,
    base: String,
    stats: Shared,
    /// At most this many requests in flight.
    permits: Arc<tokio::sync::Semaphore>,
}

const TIMEOUT: Duration = Duration::from_secs(10);

impl Driver {
    /// Sends `req`, records it under `kind` and returns the status with the body.
    async fn send(&self, kind: Kind, req: Request<Full<Bytes>>) -> (Answer, Bytes) {
        let t0 = Instant::now();
        let res = tokio::time::timeout(TIMEOUT, async {
            let res = self.http.request(req).await.map_err(|e| e.to_string())?;
            let status = res.status().as_u16();
            let gzip = res
                .headers()
                .get(hyper::header::CONTENT_ENCODING)
                .is_some_and(|v| v == "gzip");
            let body = res
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((status, gzip, body))
        })
        .await;
        let latency = t0.elapsed();
        let (answer, body) = match res {
            Ok(Ok((status, gzip, body))) => {
                // Fetches ask for gzip as Java does; a 200 fetch without it is a failure.
                if matches!(kind, Kind::Delta | Kind::Full) && status == 200 && !gzip {
                    (Answer::Failed("fetch answered without gzip".into()), body)
                } else {
                    (Answer::Status(status), body)
                }
            }
            Ok(Err(e)) => (Answer::Failed(e), Bytes::new()),
            Err(_) => (Answer::Failed("timeout".into()), Bytes::new()),
        };
        record(&self.stats, kind, &answer, latency);
        (answer, body)
    }

    fn request(&self, method: Method, path: &str, body: Bytes) -> Request<Full<Bytes>> {
        let mut b = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("accept", "application/json");
        if !body.is_empty() {
            b = b.header("content-type", "application/json");
        }
        b.body(Full::new(body))
            .expect("a request from constant parts")
    }

    async fn register(&self, n: u64) -> Answer {
        let req = self.request(
            Method::POST,
            &format!("/eureka/apps/APP-{}", n % 100),
            register_body(n),
        );
        self.send(Kind::Register, req).await.0
    }

    /// A heartbeat as a Java client sends it; a 404 registers again.
    async fn heartbeat(&self, n: u64) {
        let path = format!(
            "/eureka/apps/APP-{}/inst-{n}?status=UP&lastDirtyTimestamp=1700000000000",
            n % 100
        );
        let req = self.request(Method::PUT, &path, Bytes::new());
        if let (Answer::Status(404), _) = self.send(Kind::Heartbeat, req).await {
            self.register(n).await;
        }
    }

    async fn churn(&self, n: u64) {
        let path = format!("/eureka/apps/APP-{}/inst-{n}", n % 100);
        let req = self.request(Method::DELETE, &path, Bytes::new());
        self.send(Kind::Cancel, req).await;
        self.register(n).await;
    }

    async fn fetch(&self, full: bool) {
        let path = if full {
            "/eureka/apps/"
        } else {
            "/eureka/apps/delta"
        };
        let mut req = self.request(Method::GET, path, Bytes::new());
        req.headers_mut().insert(
            "accept-encoding",
            hyper::header::HeaderValue::from_static("gzip"),
        );
        let kind = if full { Kind::Full } else { Kind::Delta };
        let (answer, body) = self.send(kind, req).await;
        if !matches!(answer, Answer::Status(200)) {
            return;
        }
        let mut w = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        if full {
            w.full_bytes += body.len() as u64;
        } else {
            let mut json = Vec::new();
            let inflated = flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut json);
            match inflated {
                Ok(_) => w.delta_records += count(&json, b"\"actionType\""),
                Err(_) => w.kind(Kind::Delta).errors += 1,
            }
        }
    }
}

fn count(hay: &[u8], needle: &[u8]) -> u64 {
    memchr::memmem::find_iter(hay, needle).count() as u64
}

/// Runs `op(k)` for `k = 0, 1, …` at `start + k * period` until `end`, each on a task of
/// its own under the driver's in-flight limit: an even schedule, never a catch-up burst
/// beyond what the limit lets through.
async fn schedule<F, Fut>(
    driver: Arc<Driver>,
    start: tokio::time::Instant,
    period: Duration,
    end: tokio::time::Instant,
    op: F,
) where
    F: Fn(Arc<Driver>, u64) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut k: u64 = 0;
    loop {
        let at = start + period.mul_f64(k as f64);
        if at >= end {
            return;
        }
        tokio::time::sleep_until(at).await;
        let Ok(permit) = driver.permits.clone().acquire_owned().await else {
            return;
        };
        let fut = op(driver.clone(), k);
        tokio::spawn(async move {
            fut.await;
            drop(permit);
        });
        k += 1;
    }
}

// ---------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the release `eureka-server` on a free loopback port with its defaults (logs at
/// `warn`) and waits (at most 30 s) for its first answer.
async fn start_server(http: &HttpClient) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let child = Command::new(env!("CARGO_BIN_EXE_eureka-server"))
        .arg(format!("--listen={addr}"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn eureka-server");
    let mut server = Server { child, addr };
    let t0 = Instant::now();
    loop {
        let req = Request::get(format!("http://{addr}/eureka/apps"))
            .body(Full::new(Bytes::new()))
            .expect("request");
        if let Ok(Ok(r)) = tokio::time::timeout(Duration::from_secs(1), http.request(req)).await {
            if r.status() == 200 {
                return server;
            }
        }
        if let Ok(Some(s)) = server.child.try_wait() {
            panic!("eureka-server exited before it answered ({s})");
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "eureka-server never answered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------

fn load_avg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

fn print_minute(m: &Minute, s: &Settings) {
    let wall = s.minute.as_secs_f64();
    println!(
        "minute {:>3}{}: server RSS {:.1} MiB, server CPU {:.1} % of a core, driver CPU {:.1} %, load average {}, delta records {}, full fetch bytes {}",
        m.index,
        if m.index <= s.warmup { " (warm-up)" } else { "" },
        m.rss_kib as f64 / 1024.0,
        m.server_cpu / wall * 100.0,
        m.driver_cpu / wall * 100.0,
        m.load_avg,
        m.w.delta_records,
        m.w.full_bytes,
    );
    println!(
        "    {:<12} {:>8} {:>5} {:>6} {:>6} {:>8} {:>8} {:>8}",
        "kind", "requests", "5xx", "other", "errors", "p50 ms", "p99 ms", "max ms"
    );
    for k in KINDS {
        let p = &m.w.kinds[k as usize];
        println!(
            "    {:<12} {:>8} {:>5} {:>6} {:>6} {:>8.2} {:>8.2} {:>8.2}",
            k.name(),
            p.requests(),
            p.server_errors,
            p.other,
            p.errors,
            p.quantile_ms(0.5),
            p.quantile_ms(0.99),
            p.quantile_ms(1.0),
        );
    }
    if let Some(e) = &m.w.first_error {
        println!("    first error: {e}");
    }
}

fn take_window(stats: &Shared) -> Window {
    let mut w = std::mem::take(&mut *stats.lock().unwrap_or_else(|e| e.into_inner()));
    for k in &mut w.kinds {
        k.latencies_us.sort_unstable();
    }
    w
}

async fn run(s: Settings) -> bool {
    let http: HttpClient = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .build_http();
    let server = start_server(&http).await;
    let pid = server.child.id();
    let driver = Arc::new(Driver {
        http,
        base: format!("http://{}", server.addr),
        stats: Arc::default(),
        permits: Arc::new(tokio::sync::Semaphore::new(512)),
    });
    println!(
        "soak: {} instances heartbeating every {:?}, {} clients fetching every {:?} (every {}th full), churn {} per minute, {} minutes of {:?} ({} warm-up), server pid {pid}, {} CPUs, load average {}",
        s.instances,
        s.heartbeat,
        s.clients,
        s.fetch,
        s.full_every,
        s.churn_per_minute,
        s.minutes,
        s.minute,
        s.warmup,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_avg(),
    );

    // Registration of every instance, 16 at a time.
    let t0 = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut fill = Vec::new();
    for _ in 0..16 {
        let (d, next, n) = (driver.clone(), next.clone(), s.instances);
        fill.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return;
                }
                d.register(i).await;
            }
        }));
    }
    for f in fill {
        let _ = f.await;
    }
    let filled = take_window(&driver.stats);
    let reg = &filled.kinds[Kind::Register as usize];
    println!(
        "fill: {} registrations in {:.1} s ({} 5xx, {} other, {} errors), server RSS {:.1} MiB",
        reg.requests(),
        t0.elapsed().as_secs_f64(),
        reg.server_errors,
        reg.other,
        reg.errors,
        rss_of(pid) as f64 / 1024.0
    );
    let fill_failures = reg.server_errors + reg.errors + reg.other;

    // The steady load.
    let start = tokio::time::Instant::now();
    let end = start + s.minute * s.minutes;
    let mut tasks = Vec::new();
    let n = s.instances;
    tasks.push(tokio::spawn(schedule(
        driver.clone(),
        start,
        s.heartbeat.div_f64(n as f64),
        end,
        move |d, k| async move { d.heartbeat(k % n).await },
    )));
    let (clients, every) = (s.clients, s.full_every);
    tasks.push(tokio::spawn(schedule(
        driver.clone(),
        start,
        s.fetch.div_f64(clients as f64),
        end,
        // Client `c = k % clients`, its fetch number `f = k / clients`: the first full,
        // then every `every`-th, at a phase of its own (`(f + c) % every`), so that full
        // fetches are spread over the minutes as hash mismatches are, not all at once.
        move |d, k| async move {
            let (c, f) = (k % clients, k / clients);
            d.fetch(f == 0 || (f + c) % every == 0).await
        },
    )));
    tasks.push(tokio::spawn(schedule(
        driver.clone(),
        start + s.minute.div_f64(2.0 * s.churn_per_minute as f64),
        s.minute.div_f64(s.churn_per_minute as f64),
        end,
        // Distinct instances, spread over the id space (7919 is prime, so coprime with
        // any instance count not divisible by it).
        move |d, k| async move { d.churn(k.wrapping_mul(7919) % n).await },
    )));

    let mut minutes: Vec<Minute> = Vec::new();
    let (mut s0, mut l0) = (cpu_secs(&pid.to_string()), cpu_secs("self"));
    for i in 1..=s.minutes {
        tokio::time::sleep_until(start + s.minute * i).await;
        let w = take_window(&driver.stats);
        let (s1, l1) = (cpu_secs(&pid.to_string()), cpu_secs("self"));
        let diff = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => b - a,
            _ => f64::NAN,
        };
        let m = Minute {
            index: i,
            rss_kib: rss_of(pid),
            server_cpu: diff(s0, s1),
            driver_cpu: diff(l0, l1),
            load_avg: load_avg(),
            w,
        };
        (s0, l0) = (s1, l1);
        print_minute(&m, &s);
        minutes.push(m);
    }
    // Requests still in flight at the end land in no minute; wait for them (bounded by
    // their timeout) so that none is left running against a killed server.
    for t in tasks {
        let _ = t.await;
    }
    let _ = tokio::time::timeout(TIMEOUT * 2, driver.permits.acquire_many(512)).await;
    let tail = take_window(&driver.stats);
    drop(server);
    report(&s, &minutes, fill_failures, &tail)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn report(s: &Settings, minutes: &[Minute], fill_failures: u64, tail: &Window) -> bool {
    println!();
    println!("| minute | RSS MiB | server CPU | load avg | heartbeats | p50 / p99 / max ms | delta fetches (records) | p50 / p99 / max ms | full fetches | p50 / p99 / max ms | reg + cancel | 5xx |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let lat = |p: &PerKind| {
        format!(
            "{:.2} / {:.2} / {:.1}",
            p.quantile_ms(0.5),
            p.quantile_ms(0.99),
            p.quantile_ms(1.0)
        )
    };
    for m in minutes {
        let k = |kind: Kind| &m.w.kinds[kind as usize];
        let fivexx: u64 = m.w.kinds.iter().map(|p| p.server_errors).sum();
        println!(
            "| {}{} | {:.1} | {:.1} % | {} | {} | {} | {} ({}) | {} | {} | {} | {} | {} |",
            m.index,
            if m.index <= s.warmup {
                " (warm-up)"
            } else {
                ""
            },
            m.rss_kib as f64 / 1024.0,
            m.server_cpu / s.minute.as_secs_f64() * 100.0,
            m.load_avg,
            k(Kind::Heartbeat).requests(),
            lat(k(Kind::Heartbeat)),
            k(Kind::Delta).requests(),
            m.w.delta_records,
            lat(k(Kind::Delta)),
            k(Kind::Full).requests(),
            lat(k(Kind::Full)),
            k(Kind::Register).requests() + k(Kind::Cancel).requests(),
            fivexx,
        );
    }
    println!();

    let after: Vec<&Minute> = minutes.iter().filter(|m| m.index > s.warmup).collect();
    let mut all_pass = true;
    let mut fatal = false;

    // RSS flat.
    let (first, last) = (
        after[0].rss_kib as f64,
        after[after.len() - 1].rss_kib as f64,
    );
    let change = (last - first) / first * 100.0;
    let rss_ok = change.abs() <= 5.0;
    println!(
        "{} RSS flat within 5 %: minute {} {:.1} MiB -> minute {} {:.1} MiB ({change:+.1} %)",
        verdict(rss_ok),
        after[0].index,
        first / 1024.0,
        after[after.len() - 1].index,
        last / 1024.0,
    );
    all_pass &= rss_ok;

    // No 5xx, no errors.
    let sum = |f: fn(&PerKind) -> u64| -> u64 {
        minutes
            .iter()
            .map(|m| &m.w)
            .chain([tail])
            .flat_map(|w| w.kinds.iter())
            .map(f)
            .sum()
    };
    let fivexx = sum(|p| p.server_errors);
    let errors = sum(|p| p.errors);
    let requests = sum(PerKind::requests);
    let hb_404 = sum(|p| p.other) - {
        let other_kinds = |w: &Window| -> u64 {
            w.kinds
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != Kind::Heartbeat as usize)
                .map(|(_, p)| p.other)
                .sum()
        };
        minutes.iter().map(|m| other_kinds(&m.w)).sum::<u64>() + other_kinds(tail)
    };
    let unexpected = sum(|p| p.other) - hb_404;
    println!(
        "{} zero 5xx: {fivexx} 5xx in {requests} requests after the fill",
        verdict(fivexx == 0)
    );
    println!(
        "{} no unexpected 4xx: {unexpected} non-2xx answers to registrations, cancels and fetches; {hb_404} heartbeats not 2xx (404s of heartbeats racing the churn, re-registered)",
        verdict(unexpected == 0)
    );
    println!(
        "{} zero errors: {errors} transport errors or timeouts; fill: {fill_failures} refused or failed registrations",
        verdict(errors == 0 && fill_failures == 0)
    );
    fatal |= fivexx != 0 || unexpected != 0 || errors != 0 || fill_failures != 0;

    // Delta fetches saw changes.
    let records: u64 = after.iter().map(|m| m.w.delta_records).sum();
    println!(
        "{} deltas non-empty: {records} delta records served after warm-up",
        verdict(records > 0)
    );
    fatal |= records == 0;

    // p99 stable.
    let half = after.len() / 2;
    for k in KINDS {
        let p99s: Vec<f64> = after
            .iter()
            .map(|m| m.w.kinds[k as usize].quantile_ms(0.99))
            .collect();
        let (a, b) = (
            median(p99s[..half].to_vec()),
            median(p99s[after.len() - half..].to_vec()),
        );
        let ok = b <= a * 1.5 + 0.5;
        println!(
            "{} p99 stable, {}: median per-minute p99 {a:.2} ms (first {half} minutes after warm-up) -> {b:.2} ms (last {half})",
            verdict(ok),
            k.name(),
        );
        all_pass &= ok;
    }
    if s.quick {
        println!("quick run: only 5xx, unexpected 4xx, errors and empty deltas fail it");
        !fatal
    } else {
        all_pass && !fatal
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}

fn main() {
    // `cargo bench` passes `--bench`; every other flag is ours.
    let args: Vec<String> = std::env::args().collect();
    let s = Settings::from_args(&args);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let pass = rt.block_on(run(s));
    std::process::exit(if pass { 0 } else { 1 });
}
