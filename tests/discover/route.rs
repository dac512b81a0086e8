//! `RouteByHost`: calls by name, one balancer per target.

use crate::support::{get, inst, snapshot, Recorder};
use std::time::Duration;
use tokio::sync::watch;
use tower::{Layer, Service, ServiceExt};
use tower_eureka::discover::{BalancedClient, HostIs, RouteByHost, RouteByHostLayer, RouteError};
use tower_eureka::BoxError;

fn registry() -> watch::Receiver<std::sync::Arc<tower_eureka::client::ClientSnapshot>> {
    let mut billing = inst("billing", "b1", "10.0.1.1", 81);
    billing.vip_address = Some("billing-vip".into());
    let (tx, rx) = watch::channel(snapshot([inst("orders", "o1", "10.0.0.1", 80), billing], 1));
    // The publisher going away is fine: the last snapshot stays.
    drop(tx);
    rx
}

async fn call<S>(svc: &mut S, req: http::Request<String>) -> Result<String, BoxError>
where
    S: Service<http::Request<String>, Response = http::Response<String>, Error = BoxError>,
{
    Ok(svc.ready().await?.call(req).await?.into_body())
}

// C-27: the host names an app, case-insensitively.
#[tokio::test(start_paused = true)]
async fn c27_routes_by_host_to_one_balancer_per_app() {
    let rec = Recorder::default();
    let mut router = RouteByHost::new(registry(), rec.clone());
    assert_eq!(
        call(&mut router, get("http://orders/a?b=c")).await.unwrap(),
        "10.0.0.1:80"
    );
    assert_eq!(
        call(&mut router, get("http://BILLING/x")).await.unwrap(),
        "10.0.1.1:81"
    );
    assert_eq!(
        call(&mut router, get("http://Orders:8080/y"))
            .await
            .unwrap(),
        "10.0.0.1:80"
    );
    let host_header = http::Request::get("/z")
        .header(http::header::HOST, "billing")
        .body(String::new())
        .unwrap();
    assert_eq!(call(&mut router, host_header).await.unwrap(), "10.0.1.1:81");
    assert_eq!(
        router.targets(),
        2,
        "one balancer per app, whatever the spelling"
    );
    assert_eq!(rec.calls().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn c27_routes_by_vip() {
    let rec = Recorder::default();
    let mut router = RouteByHostLayer::new(registry())
        .host_is(HostIs::Vip)
        .layer(rec.clone());
    assert_eq!(
        call(&mut router, get("http://Billing-VIP/")).await.unwrap(),
        "10.0.1.1:81"
    );
}

#[tokio::test(start_paused = true)]
async fn a_request_without_host_is_refused() {
    let mut router = RouteByHost::new(registry(), Recorder::default());
    let err = call(&mut router, get("/no-host")).await.unwrap_err();
    let e = err.downcast_ref::<RouteError>().expect("a RouteError");
    assert!(e.is_missing_host());
}

#[tokio::test(start_paused = true)]
async fn the_number_of_targets_is_bounded() {
    let rec = Recorder::default();
    let mut router = RouteByHostLayer::new(registry())
        .max_targets(1)
        .client_builder(BalancedClient::builder().failfast_timeout(Duration::from_millis(100)))
        .layer(rec.clone());
    assert_eq!(
        call(&mut router, get("http://orders/")).await.unwrap(),
        "10.0.0.1:80"
    );
    let err = call(&mut router, get("http://billing/")).await.unwrap_err();
    assert!(err
        .downcast_ref::<RouteError>()
        .unwrap()
        .is_too_many_targets());
    // The existing target still works, and the refused one reached no endpoint.
    assert_eq!(
        call(&mut router, get("http://ORDERS/")).await.unwrap(),
        "10.0.0.1:80"
    );
    assert_eq!(router.targets(), 1);
    assert_eq!(rec.calls(), ["10.0.0.1:80", "10.0.0.1:80"]);
}

#[tokio::test(start_paused = true)]
async fn an_unknown_app_fails_fast_with_its_name() {
    let mut router = RouteByHostLayer::new(registry())
        .client_builder(BalancedClient::builder().failfast_timeout(Duration::from_millis(100)))
        .layer(Recorder::default());
    let err = call(&mut router, get("http://nosuchapp/"))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "no endpoints for app NOSUCHAPP");
}
