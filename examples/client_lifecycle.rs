//! A whole client lifecycle: register an instance with a Eureka server, heartbeat, print
//! the registry every time it changes, and cancel the registration on Ctrl-C or SIGTERM
//! (`tower_eureka::signal::shutdown_signal`), as a container is stopped.
//!
//! ```text
//! cargo run --example client_lifecycle -- --eureka http://127.0.0.1:8761/eureka \
//!     [--app demo] [--port 8080] [--fetch-secs 30] [--drain-secs 0] \
//!     [--health-file PATH] [--zone ZONE] [--zone-url ZONE=URL] [--compact]
//! ```
//!
//! * `--health-file PATH`: a health check (polled every 5 s) that reports UP while `PATH`
//!   exists; `rm PATH` and the instance is re-registered `DOWN`, `touch PATH` and it is `UP`
//!   again.
//! * `--zone ZONE` (the instance's metadata `zone`) and `--zone-url ZONE=URL` (repeatable,
//!   in zone order): the servers are tried own zone first.
//! * `--compact`: fetch the compact registry (no metadata).
//!
//! Host name and IP are detected (`HOSTNAME` or `/etc/hostname`, and the address of the
//! default route); the instance id is `{host}:{app}:{port}`.

use std::time::Duration;
use tower_eureka::client::{local_instance, ClientSnapshot, EurekaClient, Target};

struct Args {
    eureka: Vec<String>,
    app: String,
    port: u16,
    fetch_secs: u64,
    drain_secs: u64,
    health_file: Option<std::path::PathBuf>,
    zone: Option<String>,
    zone_urls: Vec<(String, String)>,
    compact: bool,
}

fn usage() -> String {
    "usage: client_lifecycle --eureka URL [--eureka URL…] [--app NAME] [--port N] \
     [--fetch-secs N] [--drain-secs N] [--health-file PATH] [--zone ZONE] \
     [--zone-url ZONE=URL…] [--compact]"
        .to_owned()
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        eureka: Vec::new(),
        app: "demo".to_owned(),
        port: 8080,
        fetch_secs: 30,
        drain_secs: 0,
        health_file: None,
        zone: None,
        zone_urls: Vec::new(),
        compact: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value\n{}", usage()))
        };
        match flag.as_str() {
            "--eureka" => args.eureka.push(value()?),
            "--app" => args.app = value()?,
            "--port" => args.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--fetch-secs" => {
                args.fetch_secs = value()?.parse().map_err(|e| format!("--fetch-secs: {e}"))?
            }
            "--drain-secs" => {
                args.drain_secs = value()?.parse().map_err(|e| format!("--drain-secs: {e}"))?
            }
            "--health-file" => args.health_file = Some(value()?.into()),
            "--zone" => args.zone = Some(value()?),
            "--zone-url" => {
                let v = value()?;
                let (zone, url) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--zone-url: {v:?} is not ZONE=URL"))?;
                args.zone_urls.push((zone.to_owned(), url.to_owned()));
            }
            "--compact" => args.compact = true,
            "-h" | "--help" => return Err(usage()),
            other => return Err(format!("unknown argument {other:?}\n{}", usage())),
        }
    }
    if args.eureka.is_empty() && args.zone_urls.is_empty() {
        args.eureka.push("http://127.0.0.1:8761/eureka".to_owned());
    }
    Ok(args)
}

fn print_registry(snap: &ClientSnapshot, client: &EurekaClient) {
    println!(
        "registry generation {} ({} instances, hash {:?}, registered: {})",
        snap.generation(),
        snap.len(),
        snap.hashcode(),
        client.is_registered()
    );
    let mut apps: Vec<&str> = snap.app_names().collect();
    apps.sort_unstable();
    for app in apps {
        println!("  {app}");
        for i in snap.instances(&Target::app(app)) {
            println!(
                "    {:<40} {:<15} {}:{} {}",
                i.id(),
                i.status.as_str(),
                i.ip_addr,
                i.port.port,
                i.vip_address.as_deref().unwrap_or("")
            );
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(2);
        }
    };
    let mut me = local_instance(&args.app).port(args.port);
    if let Some(zone) = &args.zone {
        me = me.metadata("zone", zone.clone());
    }
    let me = me.build();
    println!(
        "registering {} ({}) with {:?} {:?}",
        me.id(),
        me.ip_addr,
        args.eureka,
        args.zone_urls
    );
    let mut builder = EurekaClient::builder(args.eureka)
        .instance(me)
        .fetch_interval(Duration::from_secs(args.fetch_secs.max(1)))
        .shutdown_drain(Duration::from_secs(args.drain_secs))
        .compact(args.compact);
    let mut zones: Vec<String> = Vec::new();
    for (zone, url) in args.zone_urls {
        if !zones.contains(&zone) {
            zones.push(zone.clone());
        }
        builder = builder.service_urls(zone, [url]);
    }
    if !zones.is_empty() {
        builder = builder.availability_zones("us-east-1", zones);
    }
    if let Some(path) = args.health_file {
        builder = builder
            .health_check(move || {
                let path = path.clone();
                async move { tokio::fs::try_exists(&path).await.unwrap_or(false) }
            })
            .health_check_interval(Duration::from_secs(5));
    }
    let client = builder.start()?;

    let mut snapshots = client.snapshots();
    let mut own = client.own_status();
    let stop = tower_eureka::signal::shutdown_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            changed = snapshots.changed() => {
                if changed.is_err() {
                    break;
                }
                let snap = snapshots.borrow_and_update().clone();
                print_registry(&snap, &client);
            }
            changed = own.changed() => {
                if changed.is_err() {
                    break;
                }
                println!("the registry shows us as {:?}", *own.borrow_and_update());
            }
        }
    }
    println!("shutting down: cancelling the registration");
    client.shutdown().await?;
    Ok(())
}
