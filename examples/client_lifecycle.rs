//! A whole client lifecycle: register an instance with a Eureka server, heartbeat, print
//! the registry every time it changes, and cancel the registration on Ctrl-C or SIGTERM
//! (`tower_eureka::signal::shutdown_signal`), as a container is stopped.
//!
//! ```text
//! cargo run --example client_lifecycle -- --eureka http://127.0.0.1:8761/eureka \
//!     [--app demo] [--port 8080] [--fetch-secs 30] [--drain-secs 0]
//! ```
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
}

fn usage() -> String {
    "usage: client_lifecycle --eureka URL [--eureka URL…] [--app NAME] [--port N] \
     [--fetch-secs N] [--drain-secs N]"
        .to_owned()
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        eureka: Vec::new(),
        app: "demo".to_owned(),
        port: 8080,
        fetch_secs: 30,
        drain_secs: 0,
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
            "-h" | "--help" => return Err(usage()),
            other => return Err(format!("unknown argument {other:?}\n{}", usage())),
        }
    }
    if args.eureka.is_empty() {
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
    let me = local_instance(&args.app).port(args.port).build();
    println!(
        "registering {} ({}) with {:?}",
        me.id(),
        me.ip_addr,
        args.eureka
    );
    let client = EurekaClient::builder(args.eureka)
        .instance(me)
        .fetch_interval(Duration::from_secs(args.fetch_secs.max(1)))
        .shutdown_drain(Duration::from_secs(args.drain_secs))
        .start()?;

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
