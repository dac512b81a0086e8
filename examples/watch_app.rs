//! Watch one application: print one JSON line per change of its set of `UP` endpoints,
//! as soon as the client knows it (issue 15), until killed.
//!
//! ```text
//! cargo run --release --example watch_app -- --eureka http://127.0.0.1:8761/eureka --app ORDERS
//! {"unix_ms": 1764600000000, "endpoints": []}
//! {"unix_ms": 1764600001234, "endpoints": ["127.0.0.1:8081"]}
//! ```
//!
//! The first line is the initial set (possibly empty, also when the app does not exist
//! yet), once the first fetch is done. Endpoints are `ip:port`, sorted. The client
//! follows just this app (`follow_apps`): against tower-eureka's server it waits on
//! `GET /apps/{APP}?watch=…` for a change of this app alone (printed within
//! milliseconds, and nothing of the other apps is fetched); against any other server it
//! fetches `GET /apps/{APP}` every `--fetch-secs` (default 30). Ctrl-C or SIGTERM ends
//! it.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tower_eureka::client::{ClientSnapshot, EurekaClient, Target};

const USAGE: &str = "usage: watch_app --eureka URL [--eureka URL…] --app NAME [--fetch-secs 30]";

struct Args {
    eureka: Vec<String>,
    app: String,
    fetch_secs: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut eureka = Vec::new();
    let mut app = None;
    let mut fetch_secs = 30;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--eureka" => eureka.push(value()?),
            "--app" => app = Some(value()?),
            "--fetch-secs" => {
                fetch_secs = value()?.parse().map_err(|e| format!("--fetch-secs: {e}"))?
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let app = app.ok_or("--app is required")?;
    if eureka.is_empty() {
        return Err("--eureka is required".into());
    }
    Ok(Args {
        eureka,
        app,
        fetch_secs,
    })
}

/// The sorted `ip:port` of the `UP` instances of `target`.
fn endpoints(snap: &ClientSnapshot, target: &Target) -> Vec<String> {
    let mut v: Vec<String> = snap
        .up_instances(target)
        .map(|i| format!("{}:{}", i.ip_addr, i.port.port))
        .collect();
    v.sort();
    v.dedup();
    v
}

fn unix_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("watch_app: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let stop = tower_eureka::signal::shutdown_signal();
    tokio::pin!(stop);
    let client = match EurekaClient::builder(args.eureka)
        .fetch_only()
        .follow_apps([&args.app])
        .fetch_interval(Duration::from_secs(args.fetch_secs.max(1)))
        .start()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("watch_app: {e}");
            return ExitCode::from(2);
        }
    };
    let target = Target::app(&args.app);
    let mut snapshots = client.snapshots();
    let mut last: Option<Vec<String>> = None;
    let mut out = std::io::stdout();
    loop {
        let snap = snapshots.borrow_and_update().clone();
        if snap.is_fetched() {
            let now = endpoints(&snap, &target);
            if last.as_ref() != Some(&now) {
                let line = serde_json::json!({ "unix_ms": unix_ms() as u64, "endpoints": now });
                // One line per change, flushed at once for whoever reads the pipe.
                if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                    break;
                }
                last = Some(now);
            }
        }
        tokio::select! {
            () = &mut stop => break,
            changed = snapshots.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    let _ = client.shutdown().await;
    ExitCode::SUCCESS
}
