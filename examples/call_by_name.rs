//! Calls an application by name through Eureka discovery and a p2c balancer.
//!
//! ```text
//! call_by_name --eureka http://127.0.0.1:8761/eureka --app ORDERS --requests 30 [--path /]
//! ```
//!
//! Starts a fetch-only Eureka client (fetching every second), waits up to 10 s for a
//! fetched registry with at least one `UP` instance of the app, then makes the requested
//! number of sequential `GET`s through a `BalancedClient` (retries, timeouts, failfast,
//! p2c over PeakEwma) on hyper-util's client. Progress goes to stderr; the last line on
//! stdout is a JSON summary:
//!
//! ```text
//! {"ok": 30, "failed": 0, "by_endpoint": {"127.0.0.1:18081": 11, "127.0.0.1:18082": 19}}
//! ```
//!
//! `ok` counts 2xx answers, `failed` everything else (errors and non-2xx statuses), and
//! `by_endpoint` the 2xx answers per endpoint `host:port`. Exit status: 0 once the calls
//! ran (whatever their outcome), 2 on bad arguments, 1 if the client cannot start.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;
use tower::ServiceExt;
use tower_eureka::client::{EurekaClient, Target};
use tower_eureka::discover::{BalancedClient, ServedBy};

const USAGE: &str =
    "usage: call_by_name --eureka URL --app NAME --requests N [--path /PATH] [--wait-secs 10]";

struct Args {
    eureka: String,
    app: String,
    requests: u64,
    path: String,
    wait: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut eureka = None;
    let mut app = None;
    let mut requests = None;
    let mut path = "/".to_owned();
    let mut wait = Duration::from_secs(10);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--eureka" => eureka = Some(value()?),
            "--app" => app = Some(value()?),
            "--requests" => {
                let v = value()?;
                requests = Some(
                    v.parse::<u64>()
                        .map_err(|_| format!("--requests: not a number: {v}"))?,
                );
            }
            "--path" => {
                let v = value()?;
                path = if v.starts_with('/') {
                    v
                } else {
                    format!("/{v}")
                };
            }
            "--wait-secs" => {
                let v = value()?;
                let secs = v
                    .parse::<u64>()
                    .map_err(|_| format!("--wait-secs: not a number: {v}"))?;
                wait = Duration::from_secs(secs);
            }
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(Args {
        eureka: eureka.ok_or("--eureka is required")?,
        app: app.ok_or("--app is required")?,
        requests: requests.ok_or("--requests is required")?,
        path,
        wait,
    })
}

/// The summary line, keys escaped as JSON strings.
fn summary(ok: u64, failed: u64, by_endpoint: &BTreeMap<String, u64>) -> String {
    let endpoints: Vec<String> = by_endpoint
        .iter()
        .map(|(k, v)| {
            let key = serde_json::to_string(k).unwrap_or_else(|_| "\"?\"".to_owned());
            format!("{key}: {v}")
        })
        .collect();
    format!(
        "{{\"ok\": {ok}, \"failed\": {failed}, \"by_endpoint\": {{{}}}}}",
        endpoints.join(", ")
    )
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("call_by_name: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };

    let eureka = match EurekaClient::builder([args.eureka.as_str()])
        .fetch_only()
        .fetch_interval(Duration::from_secs(1))
        .start()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("call_by_name: cannot start the Eureka client: {e}");
            return ExitCode::from(1);
        }
    };

    let target = Target::app(&args.app);
    let mut snapshots = eureka.snapshots();
    let ready = tokio::time::timeout(
        args.wait,
        snapshots.wait_for(|s| s.is_fetched() && s.up_instances(&target).next().is_some()),
    )
    .await;
    match ready {
        Ok(Ok(snap)) => eprintln!(
            "call_by_name: {} UP instance(s) of {} (registry generation {})",
            snap.up_instances(&target).count(),
            args.app,
            snap.generation()
        ),
        _ => eprintln!(
            "call_by_name: no UP instance of {} after {:?}; calling anyway",
            args.app, args.wait
        ),
    }

    let http = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let client = BalancedClient::builder().build(eureka.snapshots(), target, http);

    let (mut ok, mut failed) = (0u64, 0u64);
    let mut by_endpoint: BTreeMap<String, u64> = BTreeMap::new();
    // Ctrl-C or SIGTERM ends the calls early; the client still shuts down cleanly.
    let stop = tower_eureka::signal::shutdown_signal();
    tokio::pin!(stop);
    for n in 0..args.requests {
        // The balancer fills in the scheme and authority of the endpoint it picks.
        let req = match http::Request::get(args.path.as_str()).body(Full::new(Bytes::new())) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("call_by_name: bad --path {}: {e}", args.path);
                return ExitCode::from(2);
            }
        };
        let answer = tokio::select! {
            a = client.clone().oneshot(req) => a,
            () = &mut stop => break,
        };
        match answer {
            Ok(rsp) => {
                let status = rsp.status();
                let endpoint = rsp
                    .extensions()
                    .get::<ServedBy>()
                    .map(|by| by.authority().to_string())
                    .unwrap_or_else(|| "?".to_owned());
                // Read the body so the connection goes back to the pool.
                let _ = rsp.into_body().collect().await;
                if status.is_success() {
                    ok += 1;
                    *by_endpoint.entry(endpoint).or_default() += 1;
                } else {
                    failed += 1;
                    eprintln!("call_by_name: #{n}: {status} from {endpoint}");
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("call_by_name: #{n}: {e}");
            }
        }
    }

    let _ = eureka.shutdown().await;
    println!("{}", summary(ok, failed, &by_endpoint));
    ExitCode::SUCCESS
}
