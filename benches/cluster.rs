//! Cluster benchmark (issue 13): release `eureka-server` processes on loopback, every
//! figure next to its goal, bounded in count and time (about 2 minutes).
//!
//! ```text
//! cargo bench --bench cluster
//! ```
//!
//! Nodes A, B, C share one peer list, except that A reaches B through a byte-counting TCP
//! proxy run by this driver. A single node S without peers is the baseline of the
//! heartbeat rate. Phases: fill A and S with 10k instances; heartbeats/s on A vs S
//! (alternating rounds) with the replication traffic A sends to B; then, under a paced
//! heartbeat loop on A (every instance every 5 s), replication lag A -> B for new
//! registrations; then C killed for [`DOWN_S`] seconds (`CLUSTER_BENCH_DOWN_S` overrides),
//! A's CPU and RSS sampled every second, C restarted on its port: time until A feeds it
//! again and until it lists every instance.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const N: u64 = 10_000;
const LAG_SAMPLES: u64 = 300;
/// How long C stays down (`CLUSTER_BENCH_DOWN_S` overrides, for a longer memory check).
const DOWN_S: u64 = 60;
const ROUND: Duration = Duration::from_secs(4);
const ROUNDS: usize = 3;
const CONNS: usize = 4;
/// Every instance heartbeats once per this period in the paced loop.
const HB_PERIOD: Duration = Duration::from_secs(5);

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/eureka")
}

/// One `eureka-server` process, killed on drop.
struct Node {
    port: u16,
    peers: Vec<String>,
    child: Option<Child>,
}

impl Node {
    fn start(port: u16, peers: Vec<String>) -> Node {
        let mut n = Node {
            port,
            peers,
            child: None,
        };
        n.spawn();
        n
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_eureka-server"));
        cmd.arg(format!("--listen=127.0.0.1:{}", self.port))
            .arg(format!("--my-url={}", url(self.port)))
            .arg("--peer-sync-budget-ms=3000")
            .env_remove("EUREKA_CLIENT_SERVICEURL_DEFAULTZONE")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null());
        if !self.peers.is_empty() {
            cmd.arg(format!("--peer={}", self.peers.join(",")));
        }
        if std::env::var_os("CLUSTER_BENCH_LOG").is_none() {
            cmd.stderr(Stdio::null());
        }
        self.child = Some(cmd.spawn().expect("spawn eureka-server"));
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn pid(&self) -> String {
        self.child
            .as_ref()
            .map(|c| c.id().to_string())
            .unwrap_or_default()
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

fn rss_kib(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// CPU seconds (user + system) of `pid` from `/proc/<pid>/stat`.
fn cpu_secs(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    let tck = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(100.0);
    Some(ticks as f64 / tck)
}

// ---------------------------------------------------------------------------------------
// Byte-counting proxy
// ---------------------------------------------------------------------------------------

#[derive(Default)]
struct Counted {
    up: AtomicU64,
    down: AtomicU64,
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    count: Arc<Counted>,
    up: bool,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
        if up { &count.up } else { &count.down }.fetch_add(n as u64, Ordering::Relaxed);
    }
    let _ = to.shutdown().await;
}

/// Listens on a free port and forwards every connection to `target`, counting bytes.
async fn proxy(target: SocketAddr) -> (u16, Arc<Counted>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind proxy");
    let port = l.local_addr().expect("proxy addr").port();
    let count = Arc::new(Counted::default());
    let c = count.clone();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = l.accept().await {
            let c = c.clone();
            tokio::spawn(async move {
                let Ok(outbound) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                let _ = inbound.set_nodelay(true);
                let _ = outbound.set_nodelay(true);
                let (ir, iw) = inbound.into_split();
                let (or, ow) = outbound.into_split();
                tokio::spawn(pipe(ir, ow, c.clone(), true));
                pipe(or, iw, c, false).await;
            });
        }
    });
    (port, count)
}

// ---------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------

type Conn = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Option<Conn> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let _ = stream.set_nodelay(true);
    let (tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(conn);
    Some(tx)
}

/// Sends on `conn` (reconnecting when needed): status and body, `(0, empty)` on failure.
async fn send(
    conn: &mut Option<Conn>,
    addr: SocketAddr,
    req: Request<Full<Bytes>>,
) -> (u16, Bytes) {
    if !matches!(conn.as_ref(), Some(c) if !c.is_closed()) {
        *conn = connect(addr).await;
    }
    let Some(tx) = conn.as_mut() else {
        return (0, Bytes::new());
    };
    if tx.ready().await.is_err() {
        *conn = None;
        return (0, Bytes::new());
    }
    match tx.send_request(req).await {
        Ok(res) => {
            let code = res.status().as_u16();
            match res.into_body().collect().await {
                Ok(b) => (code, b.to_bytes()),
                Err(_) => (0, Bytes::new()),
            }
        }
        Err(_) => {
            *conn = None;
            (0, Bytes::new())
        }
    }
}

async fn fetch(addr: SocketAddr, req: Request<Full<Bytes>>) -> (u16, Bytes) {
    send(&mut None, addr, req).await
}

fn get_json(path: &str) -> Request<Full<Bytes>> {
    Request::get(path)
        .header("host", "127.0.0.1")
        .header("accept", "application/json")
        .body(Full::new(Bytes::new()))
        .expect("request")
}

fn register(n: u64) -> Request<Full<Bytes>> {
    let app = format!("APP-{}", n % 100);
    let body = format!(
        r#"{{"instance":{{"instanceId":"inst-{n}","hostName":"host-{n}.internal","app":"{app}","ipAddr":"10.{}.{}.{}","status":"UP","overriddenStatus":"UNKNOWN","port":{{"$":8080,"@enabled":"true"}},"securePort":{{"$":443,"@enabled":"false"}},"countryId":1,"dataCenterInfo":{{"@class":"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo","name":"MyOwn"}},"leaseInfo":{{"renewalIntervalInSecs":30,"durationInSecs":90}},"metadata":{{"zone":"zone-a"}},"homePageUrl":"http://host-{n}.internal:8080/","statusPageUrl":"http://host-{n}.internal:8080/actuator/info","healthCheckUrl":"http://host-{n}.internal:8080/actuator/health","vipAddress":"{lower}","secureVipAddress":"{lower}","lastUpdatedTimestamp":"1700000000000","lastDirtyTimestamp":"1700000000000"}}}}"#,
        (n >> 16) & 255,
        (n >> 8) & 255,
        n & 255,
        lower = app.to_lowercase(),
    );
    Request::post(format!("/eureka/apps/{app}"))
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("request")
}

fn heartbeat(i: u64) -> Request<Full<Bytes>> {
    Request::put(format!(
        "/eureka/apps/APP-{}/inst-{i}?status=UP&lastDirtyTimestamp=1700000000000",
        i % 100
    ))
    .header("host", "127.0.0.1")
    .body(Full::new(Bytes::new()))
    .expect("request")
}

/// `conns` connections send `make(k)` for k = 0.. back to back until `duration` passes or
/// `max` requests went out; returns (ok, failed, elapsed).
async fn blast(
    addr: SocketAddr,
    conns: usize,
    duration: Duration,
    max: u64,
    make: fn(u64) -> Request<Full<Bytes>>,
) -> (u64, u64, Duration) {
    let next = Arc::new(AtomicU64::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (next, ok, failed) = (next.clone(), ok.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = None;
            while Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= max {
                    break;
                }
                let (code, _) = send(&mut conn, addr, make(n)).await;
                if (200..300).contains(&code) {
                    &ok
                } else {
                    &failed
                }
                .fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    (
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        start.elapsed(),
    )
}

fn hb_cycle(k: u64) -> Request<Full<Bytes>> {
    heartbeat(k % N)
}

/// A paced heartbeat loop: every instance once per `HB_PERIOD`, over `CONNS` connections,
/// until `stop`. Returns the count of failed heartbeats.
fn paced_heartbeats(addr: SocketAddr, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut tasks = Vec::new();
        for c in 0..CONNS as u64 {
            let stop = stop.clone();
            tasks.push(tokio::spawn(async move {
                let per_conn = N / CONNS as u64;
                let tick = HB_PERIOD / 100;
                let per_tick = per_conn / 100;
                let mut iv = tokio::time::interval(tick);
                iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut conn = None;
                let mut i = 0u64;
                let mut failed = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    iv.tick().await;
                    for _ in 0..per_tick {
                        let id = (i % per_conn) * CONNS as u64 + c;
                        i += 1;
                        let (code, _) = send(&mut conn, addr, heartbeat(id)).await;
                        if code != 200 {
                            failed += 1;
                        }
                    }
                }
                failed
            }));
        }
        let mut failed = 0;
        for t in tasks {
            failed += t.await.unwrap_or(0);
        }
        failed
    })
}

// ---------------------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------------------

async fn peer_status(node: SocketAddr, peer_port: u16) -> Option<Value> {
    let (code, body) = fetch(node, get_json("/eureka/status")).await;
    if code != 200 {
        return None;
    }
    let v: Value = serde_json::from_slice(&body).ok()?;
    let needle = format!(":{peer_port}/");
    find_peers(&v)?
        .iter()
        .find(|p| p["url"].as_str().is_some_and(|u| u.contains(&needle)))
        .cloned()
}

fn find_peers(v: &Value) -> Option<&Vec<Value>> {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(a)) = m.get("peers") {
                return Some(a);
            }
            m.values().find_map(find_peers)
        }
        _ => None,
    }
}

fn num(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or(0)
}

/// Instances listed in `GET /eureka/apps` of `node`, or `None` while it does not answer 200.
async fn listed(node: SocketAddr) -> Option<usize> {
    let (code, body) = fetch(node, get_json("/eureka/apps")).await;
    if code != 200 {
        return None;
    }
    Some(memchr::memmem::find_iter(&body, b"\"instanceId\"").count())
}

async fn wait_for<F, Fut>(what: &str, limit: Duration, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t0 = Instant::now();
    loop {
        if f().await {
            return t0.elapsed();
        }
        assert!(t0.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

struct Rows(Vec<[String; 3]>);

impl Rows {
    fn add(&mut self, metric: impl Into<String>, value: impl Into<String>, goal: &str) {
        let r = [metric.into(), value.into(), goal.to_string()];
        println!("  {} | {} | {}", r[0], r[1], r[2]);
        self.0.push(r);
    }
}

async fn driver() {
    let mut rows = Rows(Vec::new());
    let (pa, pb, pc, ps) = (free_port(), free_port(), free_port(), free_port());
    let b_addr = SocketAddr::from(([127, 0, 0, 1], pb));
    let (proxy_port, bytes) = proxy(b_addr).await;
    let list = vec![url(pa), url(pb), url(pc)];
    let a_list = vec![url(pa), url(proxy_port), url(pc)];
    let a = Node::start(pa, a_list);
    let b = Node::start(pb, list.clone());
    let mut c = Node::start(pc, list);
    let s = Node::start(ps, Vec::new());
    for n in [&a, &b, &c, &s] {
        wait_for("node ready", Duration::from_secs(30), || async {
            listed(n.addr()).await.is_some()
        })
        .await;
    }
    println!("nodes up: A {pa}, B {pb} (via proxy {proxy_port}), C {pc}, single S {ps}");

    // Fill A and S.
    for (n, name) in [(&a, "A"), (&s, "S")] {
        let (ok, failed, took) = blast(n.addr(), 8, Duration::from_secs(120), N, register).await;
        assert_eq!((ok, failed), (N, 0), "filling {name}");
        println!("filled {name} with {N} in {took:?}");
    }
    let drained = |port| {
        let a = a.addr();
        move || async move {
            peer_status(a, port)
                .await
                .is_some_and(|p| num(&p, "queued") == 0 && num(&p, "inFlight") == 0)
        }
    };
    wait_for(
        "A drains to B",
        Duration::from_secs(60),
        drained(proxy_port),
    )
    .await;
    wait_for("A drains to C", Duration::from_secs(60), drained(pc)).await;
    for (n, name) in [(&b, "B"), (&c, "C")] {
        wait_for(
            &format!("{name} lists {N}"),
            Duration::from_secs(60),
            || async { listed(n.addr()).await == Some(N as usize) },
        )
        .await;
    }

    // 2 + 3. Heartbeats/s on A (two peers) vs S (none), alternating rounds; traffic to B.
    let (mut rate_a, mut rate_s) = (Vec::new(), Vec::new());
    let pid_a = a.pid();
    let b0 = peer_status(a.addr(), proxy_port)
        .await
        .expect("A's status for B");
    let (up0, down0) = (
        bytes.up.load(Ordering::Relaxed),
        bytes.down.load(Ordering::Relaxed),
    );
    let mut hb_a = 0;
    let mut cpu_a = 0.0;
    for _ in 0..ROUNDS {
        let c0 = cpu_secs(&pid_a).unwrap_or(f64::NAN);
        let (ok, failed, took) = blast(a.addr(), CONNS, ROUND, u64::MAX, hb_cycle).await;
        cpu_a += cpu_secs(&pid_a).unwrap_or(f64::NAN) - c0;
        assert_eq!(failed, 0, "heartbeats refused by A");
        hb_a += ok;
        rate_a.push(ok as f64 / took.as_secs_f64());
        let (ok, failed, took) = blast(s.addr(), CONNS, ROUND, u64::MAX, hb_cycle).await;
        assert_eq!(failed, 0, "heartbeats refused by S");
        rate_s.push(ok as f64 / took.as_secs_f64());
    }
    wait_for(
        "A drains to B after the load",
        Duration::from_secs(60),
        drained(proxy_port),
    )
    .await;
    let b1 = peer_status(a.addr(), proxy_port)
        .await
        .expect("A's status for B");
    let (up1, down1) = (
        bytes.up.load(Ordering::Relaxed),
        bytes.down.load(Ordering::Relaxed),
    );
    let (ra, rs) = (median(rate_a), median(rate_s));
    rows.add(
        format!("heartbeats/s on A, {N} instances, 2 peers ({CONNS} connections, median of {ROUNDS} x {ROUND:?})"),
        format!("{ra:.0} vs {rs:.0} single node = {:.2}x", ra / rs),
        ">= 0.6x",
    );
    let items = num(&b1, "sentItems") - num(&b0, "sentItems");
    let batches = num(&b1, "batches") - num(&b0, "batches");
    rows.add(
        "A -> B items per batch at that load",
        format!(
            "{:.1} ({items} items in {batches} batches for {hb_a} heartbeats; retries {}, dropped {})",
            items as f64 / batches.max(1) as f64,
            num(&b1, "retries"),
            num(&b1, "dropped")
        ),
        "",
    );
    rows.add(
        "bytes per replicated heartbeat A -> B (request / response)",
        format!(
            "{:.0} / {:.0} B (TCP payload through the proxy)",
            (up1 - up0) as f64 / items.max(1) as f64,
            (down1 - down0) as f64 / items.max(1) as f64
        ),
        "",
    );
    rows.add(
        "A's CPU per client heartbeat, 2 peers",
        format!("{:.1} us", cpu_a * 1e6 / hb_a.max(1) as f64),
        "",
    );

    // Paced heartbeats from here on.
    let stop = Arc::new(AtomicBool::new(false));
    let paced = paced_heartbeats(a.addr(), stop.clone());
    tokio::time::sleep(Duration::from_secs(2)).await;

    // 1. Replication lag A -> B for new registrations; batch sizes at the paced load.
    let p0 = peer_status(a.addr(), proxy_port)
        .await
        .expect("A's status for B");
    let (pu0, pt0) = (bytes.up.load(Ordering::Relaxed), Instant::now());
    let mut lag = Vec::new();
    let (mut ca, mut cb) = (None, None);
    for k in 0..LAG_SAMPLES {
        let id = 5_000_000 + k;
        let (code, _) = send(&mut ca, a.addr(), register(id)).await;
        assert_eq!(code, 204, "register on A");
        let t0 = Instant::now();
        let path = format!("/eureka/apps/APP-{}/inst-{id}", id % 100);
        loop {
            let (code, _) = send(&mut cb, b_addr, get_json(&path)).await;
            if code == 200 {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "{path} never reached B"
            );
        }
        lag.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    let p1 = peer_status(a.addr(), proxy_port)
        .await
        .expect("A's status for B");
    let (pu1, pt1) = (bytes.up.load(Ordering::Relaxed), pt0.elapsed());
    let items = num(&p1, "sentItems") - num(&p0, "sentItems");
    let batches = num(&p1, "batches") - num(&p0, "batches");
    rows.add(
        format!("A -> B at the paced load ({} heartbeats/s + registrations)", N / HB_PERIOD.as_secs()),
        format!(
            "{:.1} items per batch, {:.0} B per item ({items} items in {batches} batches over {:.1} s)",
            items as f64 / batches.max(1) as f64,
            (pu1 - pu0) as f64 / items.max(1) as f64,
            pt1.as_secs_f64()
        ),
        "",
    );
    lag.sort_by(f64::total_cmp);
    let q = |p: f64| lag[((lag.len() - 1) as f64 * p).round() as usize];
    rows.add(
        format!("replication lag register on A -> 200 on B, {LAG_SAMPLES} registrations, {N} instances, heartbeats every {HB_PERIOD:?}"),
        format!("p50 {:.1} / p99 {:.1} / max {:.1} ms", q(0.5), q(0.99), q(1.0)),
        "p99 < 250 ms",
    );

    // 4. C down under the paced load.
    let down = Duration::from_secs(
        std::env::var("CLUSTER_BENCH_DOWN_S")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DOWN_S),
    );
    c.kill();
    let t_down = Instant::now();
    let mut samples = Vec::new(); // (cpu share over the last second, rss KiB)
    let mut last = cpu_secs(&pid_a).unwrap_or(f64::NAN);
    while t_down.elapsed() < down {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = cpu_secs(&pid_a).unwrap_or(f64::NAN);
        samples.push((now - last, rss_kib(&pid_a)));
        last = now;
    }
    let trace: Vec<String> = samples
        .iter()
        .step_by(10)
        .map(|x| format!("{:.1}", x.1 as f64 / 1024.0))
        .collect();
    println!(
        "A's RSS every 10 s while C is down (MiB): {}",
        trace.join(", ")
    );
    let c_state = peer_status(a.addr(), pc).await.expect("A's status for C");
    let k = 10.min(samples.len() / 2);
    let avg = |s: &[(f64, u64)]| s.iter().map(|x| x.0).sum::<f64>() / s.len().max(1) as f64 * 100.0;
    let first = &samples[..k];
    let lastk = &samples[samples.len() - k..];
    rows.add(
        format!("A's CPU, first vs last {k} s of C down {down:?} (paced heartbeats)"),
        format!("{:.1} % -> {:.1} % of a core", avg(first), avg(lastk)),
        "flat",
    );
    rows.add(
        format!("A's RSS, start vs end of C down {down:?}"),
        format!(
            "{} KiB -> {} KiB after {k} s -> {} KiB at the end (max {} KiB); C's queue at the end {}, dropped {}, circuit {}",
            samples[0].1,
            samples[k - 1].1,
            samples[samples.len() - 1].1,
            samples.iter().map(|x| x.1).max().unwrap_or(0),
            num(&c_state, "queued"),
            num(&c_state, "dropped"),
            c_state["circuit"]
        ),
        "flat",
    );
    let sent0 = num(&c_state, "sentItems");
    // What C must list: A's registry now (the lag registrations do not heartbeat, so a
    // long down time lets A expire them).
    let total = listed(a.addr()).await.expect("A's /apps");
    c.spawn();
    let t_up = Instant::now();
    let a_addr = a.addr();
    // Replication resumes: A's circuit to C closed and items accepted by C again.
    let resumed = wait_for("A resumes to C", Duration::from_secs(30), || async {
        peer_status(a_addr, pc).await.is_some_and(|p| {
            p["circuit"] == "closed" && p["healthy"] == true && num(&p, "sentItems") > sent0
        })
    })
    .await;
    let drained_c = wait_for("A drains to C", Duration::from_secs(60), drained(pc)).await;
    let c_addr = c.addr();
    wait_for(
        "C lists every instance",
        Duration::from_secs(60),
        || async { listed(c_addr).await.is_some_and(|n| n >= total) },
    )
    .await;
    let caught_up = t_up.elapsed();
    rows.add(
        "C restarted: A's circuit closed and items flowing again",
        format!("{:.2} s after restart", resumed.as_secs_f64()),
        "< 2 s",
    );
    rows.add(
        "C restarted: A's queue for C drained",
        format!("{:.2} s after restart", (resumed + drained_c).as_secs_f64()),
        "",
    );
    rows.add(
        format!("C restarted: GET /eureka/apps on C lists all {total} that A lists"),
        format!("{:.2} s after restart", caught_up.as_secs_f64()),
        "< 5 s",
    );
    stop.store(true, Ordering::Relaxed);
    let failed = paced.await.unwrap_or(0);
    assert_eq!(failed, 0, "paced heartbeats refused by A");

    println!("\n| metric | ours | goal |\n|---|---|---|");
    for r in rows.0 {
        println!("| {} | {} | {} |", r[0], r[1], r[2]);
    }
    let up = Command::new("uptime")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok());
    println!("\nuptime: {}", up.unwrap_or_default().trim());
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(driver());
}
