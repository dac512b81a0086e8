//! A delta-following client against the server (issue 11, C-20..C-24, R-80..R-92): after
//! any random sequence of changes, a client that only ever applied deltas holds exactly the
//! server's full registry and its hash.
//!
//! The server is an [`EurekaService`]; the writes go to its registry, the reads are real
//! `GET /apps/delta` and `GET /apps` requests through the service, in JSON or XML (chosen
//! per fetch), decoded by the codec and merged with the client's
//! [`apply_delta`]. The client starts from one full fetch and never fetches in full again:
//! after every delta its copy must equal the full listing (records compared whole, but for
//! `lastRenewalTimestamp`, which heartbeats move without a delta entry) and its computed
//! hash must equal the delta's `apps__hashcode` (the reconcile a client does, C-22).

use super::registry::{op, register_body, Op, APPS, STATUSES};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use proptest::prelude::*;
use std::time::Duration;
use tower::ServiceExt;
use tower_eureka::client::apply_delta;
use tower_eureka::codec::{decode_applications, Format};
use tower_eureka::model::{Applications, InstanceInfo};
use tower_eureka::registry::{Clock, Origin, RegistryConfig, Renew, SelfPreservationMode};
use tower_eureka::server::{EurekaService, ServerConfig};

async fn get(svc: &EurekaService, path: &str, format: Format) -> Applications {
    let accept = match format {
        Format::Json => "application/json",
        Format::Xml => "application/xml",
    };
    let req = http::Request::get(path)
        .header("accept", accept)
        .body(Empty::<Bytes>::new());
    let Ok(req) = req else {
        panic!("request for {path}");
    };
    let res = svc
        .clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| match e {});
    assert_eq!(res.status(), 200, "{path}");
    let body = match res.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => panic!("{path}: {e}"),
    };
    match decode_applications(&body, format) {
        Ok(a) => a,
        Err(e) => panic!("{path} does not decode: {e}"),
    }
}

/// The instances of `apps`, sorted, with `lastRenewalTimestamp` cleared.
fn records(apps: &Applications) -> Vec<InstanceInfo> {
    let mut v: Vec<InstanceInfo> = apps
        .applications
        .iter()
        .flat_map(|a| a.instances.iter().cloned())
        .map(|mut i| {
            i.lease_info.last_renewal_timestamp = 0;
            i
        })
        .collect();
    v.sort_by(|a, b| (a.app.as_str(), a.id()).cmp(&(b.app.as_str(), b.id())));
    v
}

fn apply(svc: &EurekaService, op: &Op, ldt: &mut u64) {
    let reg = svc.registry();
    let k = |app: usize, id: u8| (APPS[app], format!("i-{id}"));
    match *op {
        Op::Register {
            app,
            id,
            status,
            vip,
            stale,
            lease_secs,
        } => {
            *ldt += 1;
            let stamp = if stale { 1 } else { *ldt };
            let body = register_body(app, id, status, vip, lease_secs, stamp);
            assert!(reg.register(body, Origin::Client).is_ok());
        }
        Op::Renew { app, id } => {
            let (app, id) = k(app, id);
            reg.renew(app, &id, Renew::new(), Origin::Client);
        }
        Op::Cancel { app, id } => {
            let (app, id) = k(app, id);
            reg.cancel(app, &id, Origin::Client);
        }
        Op::SetOverride { app, id, status } => {
            let (app, id) = k(app, id);
            reg.set_status_override(app, &id, STATUSES[status], None, Origin::Client);
        }
        Op::DeleteOverride { app, id, value } => {
            let (app, id) = k(app, id);
            let v = value.map(|s| STATUSES[s]);
            reg.delete_status_override(app, &id, v, None, Origin::Client);
        }
        Op::Metadata {
            app,
            id,
            key,
            value,
        } => {
            let (app, id) = k(app, id);
            reg.update_metadata(app, &id, vec![(format!("k{key}"), format!("v{value}"))]);
        }
        Op::Advance { .. } | Op::Evict => {}
    }
}

fn run_case(ops: Vec<(Op, bool, bool)>) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    rt.block_on(async move {
        let svc = EurekaService::new(ServerConfig {
            registry: RegistryConfig {
                publish_interval: Duration::ZERO,
                self_preservation: SelfPreservationMode::Disabled,
                clock: Some(Clock::starting_at(1_700_000_000_000)),
                ..RegistryConfig::default()
            },
            ..ServerConfig::default()
        });
        let mut copy = get(&svc, "/apps", Format::Json).await;
        let mut ldt = 1_000;
        // Time since the last delta fetch: it must stay inside the delta's retention
        // window (180 s), or a real client would have to fetch in full.
        let mut since_fetch = 0;
        for (op, fetch, xml) in &ops {
            match op {
                Op::Advance { secs } => {
                    tokio::time::advance(Duration::from_secs(*secs)).await;
                    since_fetch += secs;
                }
                Op::Evict => {
                    svc.registry().evict();
                }
                op => apply(&svc, op, &mut ldt),
            }
            if *fetch || since_fetch > 120 {
                since_fetch = 0;
                let format = if *xml { Format::Xml } else { Format::Json };
                let delta = get(&svc, "/apps/delta", format).await;
                copy = apply_delta(&copy, &delta);
                let full = get(&svc, "/apps", format).await;
                assert_eq!(
                    Some(copy.compute_hashcode()),
                    delta.apps_hashcode.clone(),
                    "the reconcile hash (C-22)"
                );
                assert_eq!(
                    full.apps_hashcode, delta.apps_hashcode,
                    "full vs delta hash"
                );
                assert_eq!(records(&copy), records(&full), "delta-built copy vs full");
            }
        }
    });
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn a_client_on_deltas_alone_holds_the_full_registry(
        ops in proptest::collection::vec((op(), proptest::bool::weighted(0.3), any::<bool>()), 1..150)
    ) {
        run_case(ops)?;
    }
}
