//! Watch benchmark (issue 15): how fast a change reaches a `Discover` in another process
//! than the server, with 10k instances registered and 1k watchers connected.
//!
//! ```text
//! cargo bench --bench watch        # about a minute; WATCH_BENCH_WATCHERS, WATCH_BENCH_SAMPLES
//! ```
//!
//! The release `eureka-server` runs as a child process (delta retention 10 s, so that each
//! watcher's answer holds the last few seconds of changes, as a real one does at this
//! rate). This driver registers 10k instances in 100 apps, connects N - 1 bare watchers
//! (each a loop of `GET /apps/delta?watch=V&epoch=E`, gzip, body discarded) and one real
//! `EurekaClient` feeding an `EurekaDiscover` on the app `WATCHED`. Then, for each sample:
//! register `WATCHED/w-k` and time the 204 -> `Change::Insert` of that key; cancel it and
//! time the 200 -> `Change::Remove`. The fetch interval is 60 s: only watching can bring
//! a change in time. Also: the server's RSS before and after the watchers connect, and its
//! CPU over 10 s with all of them idle.

use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::discover::Change;
use tower_eureka::client::{EurekaClient, Target};
use tower_eureka::discover::EurekaDiscover;
use tower_eureka::model::InstanceInfo;

const N: usize = 10_000;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some(close) = stat.rfind(')') else {
        return 0;
    };
    let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    get(11) + get(12)
}

fn body(app: &str, id: &str, port: u32) -> String {
    format!(
        r#"{{"instance":{{"instanceId":"{id}","hostName":"{id}.internal","app":"{app}","ipAddr":"10.{}.{}.{}","status":"UP","port":{{"$":{port},"@enabled":"true"}},"dataCenterInfo":{{"@class":"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo","name":"MyOwn"}},"leaseInfo":{{"renewalIntervalInSecs":30,"durationInSecs":600}},"metadata":{{"zone":"zone-a"}}}}}}"#,
        (port >> 16) & 255,
        (port >> 8) & 255,
        port & 255
    )
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// One bare watcher: long-polls the delta forever, discarding the (gzip) bodies.
async fn watcher(http: reqwest::Client, base: String) {
    let (mut version, mut epoch) = (0u64, String::from("0"));
    loop {
        let url = format!("{base}/apps/delta?watch={version}&epoch={epoch}&waitMs=30000");
        let Ok(res) = http
            .get(&url)
            .header("accept", "application/json")
            .header("accept-encoding", "gzip")
            .send()
            .await
        else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        if let Some(e) = res
            .headers()
            .get("x-eureka-watch")
            .and_then(|v| v.to_str().ok())
        {
            epoch = e.to_owned();
        }
        // The version the body carries is the revision; the server's delta bodies start
        // with it, but a bare watcher only needs "newer than what I saw": the registry's
        // revision is in no header, so ask /status-free: read the body's versions__delta.
        let Ok(bytes) = res.bytes().await else {
            continue;
        };
        let text = {
            use std::io::Read;
            let mut out = String::new();
            let mut d = flate2::read::GzDecoder::new(&bytes[..]);
            if d.read_to_string(&mut out).is_err() {
                out = String::from_utf8_lossy(&bytes).into_owned();
            }
            out
        };
        if let Some(v) = text
            .split("\"versions__delta\":\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .and_then(|v| v.parse().ok())
        {
            version = v;
        }
    }
}

async fn next_change<D>(d: &mut D) -> Option<Change<Arc<str>, String>>
where
    D: futures_core::Stream<Item = Result<Change<Arc<str>, String>, std::convert::Infallible>>
        + Unpin,
{
    std::future::poll_fn(|cx| Pin::new(&mut *d).poll_next(cx))
        .await
        .and_then(Result::ok)
}

#[tokio::main]
async fn main() {
    let watchers = env_or("WATCH_BENCH_WATCHERS", 1000);
    let samples = env_or("WATCH_BENCH_SAMPLES", 100);
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_eureka-server"))
        .arg(format!("--listen=127.0.0.1:{port}"))
        .arg("--retention-time-in-m-s-in-delta-queue=10000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn eureka-server");
    let pid = child.id();
    let _server = Server(child);
    let base = format!("http://127.0.0.1:{port}/eureka");
    let http = reqwest::Client::builder()
        .no_gzip()
        .pool_max_idle_per_host(2000)
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(10);
    while http.get(format!("{base}/apps")).send().await.is_err() {
        assert!(Instant::now() < deadline, "server up within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // 10k instances in 100 apps, 16 at a time.
    let started = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = Vec::new();
    for k in 0..N {
        let permit = sem.clone().acquire_owned().await.expect("semaphore");
        let (http, base) = (http.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let app = format!("APP-{}", k % 100);
            let r = http
                .post(format!("{base}/apps/{app}"))
                .header("content-type", "application/json")
                .body(body(&app, &format!("i-{k}"), 10_000 + k as u32))
                .send()
                .await;
            drop(permit);
            r.map(|r| r.status().as_u16()).unwrap_or(0)
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap_or(0), 204, "registration");
    }
    println!("registered {N} instances in {:?}", started.elapsed());
    // Let the registrations leave the 10 s delta window: from then on a watcher's answer
    // holds the last seconds of changes, as in steady operation.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let rss_before = rss_kib(pid);

    // N - 1 bare watchers, each on its own connection.
    let watch_http = reqwest::Client::builder()
        .no_gzip()
        .pool_max_idle_per_host(watchers * 2)
        .build()
        .expect("client");
    for _ in 0..watchers.saturating_sub(1) {
        tokio::spawn(watcher(watch_http.clone(), base.clone()));
    }
    // The real client and its Discover.
    let client = EurekaClient::builder([base.clone()])
        .fetch_interval(Duration::from_secs(60))
        .start()
        .expect("client");
    let mut snaps = client.snapshots();
    let _ = tokio::time::timeout(Duration::from_secs(10), snaps.wait_for(|s| s.is_fetched())).await;
    let mut discover = EurekaDiscover::new(
        client.snapshots(),
        Target::app("WATCHED"),
        (|i: &InstanceInfo| format!("{}:{}", i.ip_addr, i.port.port))
            as fn(&InstanceInfo) -> String,
    );
    // Let every watcher reach its waiting state (first answer, then the second call).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after = rss_kib(pid);
    let t0 = cpu_ticks(pid);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let idle_ticks = cpu_ticks(pid) - t0;

    let (mut ins, mut rem) = (Vec::new(), Vec::new());
    for k in 0..samples {
        let id = format!("w-{k}");
        let start = Instant::now();
        let r = http
            .post(format!("{base}/apps/WATCHED"))
            .header("content-type", "application/json")
            .body(body("WATCHED", &id, 20_000 + k as u32))
            .send()
            .await
            .map(|r| r.status().as_u16());
        assert_eq!(r.unwrap_or(0), 204);
        loop {
            match tokio::time::timeout(Duration::from_secs(30), next_change(&mut discover)).await {
                Ok(Some(Change::Insert(key, _))) if *key == *id => break,
                Ok(Some(_)) => {}
                _ => panic!("no Insert of {id} within 30 s"),
            }
        }
        ins.push(start.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
        let start = Instant::now();
        let r = http
            .delete(format!("{base}/apps/WATCHED/{id}"))
            .send()
            .await
            .map(|r| r.status().as_u16());
        assert_eq!(r.unwrap_or(0), 200);
        loop {
            match tokio::time::timeout(Duration::from_secs(30), next_change(&mut discover)).await {
                Ok(Some(Change::Remove(key))) if *key == *id => break,
                Ok(Some(_)) => {}
                _ => panic!("no Remove of {id} within 30 s"),
            }
        }
        rem.push(start.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ins.sort();
    rem.sort();
    let m = client.metrics().snapshot();
    println!();
    println!("| metric | ours | goal |");
    println!("|---|---|---|");
    println!(
        "| register -> Change::Insert in a Discover, {N} instances, {watchers} watchers, {samples} samples | p50 {} / p99 {} / max {} ms | p99 < 100 ms |",
        ms(pct(&ins, 0.5)),
        ms(pct(&ins, 0.99)),
        ms(pct(&ins, 1.0))
    );
    println!(
        "| cancel -> Change::Remove | p50 {} / p99 {} / max {} ms | p99 < 100 ms |",
        ms(pct(&rem, 0.5)),
        ms(pct(&rem, 0.99)),
        ms(pct(&rem, 1.0))
    );
    println!(
        "| server RSS with {N} instances, before -> with {watchers} idle watchers | {} -> {} MiB ({:.1} KiB per watcher) | |",
        rss_before / 1024,
        rss_after / 1024,
        (rss_after.saturating_sub(rss_before)) as f64 / watchers as f64
    );
    println!(
        "| server CPU over 10 s with {watchers} idle watchers | {idle_ticks} ticks (1 tick = 10 ms) | ~0 |"
    );
    println!(
        "| the client's fetches (fetch interval 60 s) | {} full, {} delta, {} mismatches | |",
        m.full_fetches, m.delta_fetches, m.reconcile_mismatches
    );
    let _ = client.shutdown().await;
}
