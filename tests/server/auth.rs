//! HTTP Basic authentication of the service (`ServerConfig::auth`): every REST route
//! family and the replication batch answer 401 with a challenge without the credentials
//! of a configured user, a refused write changes nothing, and the operator routes follow
//! their setting. Tower level, no sockets.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::time::Duration;
use tower::ServiceExt;
use tower_eureka::server::{BasicAuth, EurekaService, OperatorRoutes, ServerConfig};

use super::support::register_body;

/// base64("eureka:p@ss:word")
const GOOD: &str = "Basic ZXVyZWthOnBAc3M6d29yZA==";
/// base64("eureka:wrong")
const WRONG_PASSWORD: &str = "Basic ZXVyZWthOndyb25n";
/// base64("nobody:p@ss:word")
const UNKNOWN_USER: &str = "Basic bm9ib2R5OnBAc3M6d29yZA==";

fn service(auth: BasicAuth) -> EurekaService {
    let mut config = ServerConfig {
        prefix: "/eureka".into(),
        auth,
        ..ServerConfig::default()
    };
    config.registry.publish_interval = Duration::ZERO;
    EurekaService::new(config)
}

fn users() -> BasicAuth {
    BasicAuth::new()
        .user("admin", "other")
        .user("eureka", "p@ss:word")
}

async fn call(
    svc: &EurekaService,
    method: &str,
    uri: &str,
    body: String,
    auth: Option<&str>,
) -> http::Response<Bytes> {
    let mut b = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("accept", "application/json");
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    let req = b.body(Full::new(Bytes::from(body))).expect("request");
    let res = svc.clone().oneshot(req).await.expect("infallible");
    let (parts, body) = res.into_parts();
    http::Response::from_parts(parts, body.collect().await.expect("body").to_bytes())
}

fn batch(id: &str) -> String {
    let inst: serde_json::Value =
        serde_json::from_str(&register_body("orders", id, "h", 8080, "UP")).expect("json");
    serde_json::json!({"replicationList": [{
        "appName": "ORDERS", "id": id, "action": "Register",
        "lastDirtyTimestamp": 1700000000000u64, "instanceInfo": inst["instance"],
    }]})
    .to_string()
}

/// Every route family: (method, path, body, status with credentials).
fn routes() -> Vec<(&'static str, String, String, u16)> {
    let reg = register_body("orders", "o2", "h", 8080, "UP");
    vec![
        ("GET", "/eureka/apps".into(), String::new(), 200),
        ("GET", "/eureka/apps/delta".into(), String::new(), 200),
        ("GET", "/eureka/v2/apps/ORDERS".into(), String::new(), 200),
        ("GET", "/eureka/apps/ORDERS/o1".into(), String::new(), 200),
        ("GET", "/eureka/instances/o1".into(), String::new(), 200),
        ("GET", "/eureka/vips/orders".into(), String::new(), 200),
        ("GET", "/eureka/status".into(), String::new(), 200),
        ("PUT", "/eureka/apps/ORDERS/o1".into(), String::new(), 200),
        (
            "PUT",
            "/eureka/apps/ORDERS/o1/status?value=OUT_OF_SERVICE".into(),
            String::new(),
            200,
        ),
        (
            "PUT",
            "/eureka/apps/ORDERS/o1/metadata?k=v".into(),
            String::new(),
            200,
        ),
        ("POST", "/eureka/apps/ORDERS".into(), reg, 204),
        (
            "POST",
            "/eureka/peerreplication/batch/".into(),
            batch("o3"),
            200,
        ),
        (
            "DELETE",
            "/eureka/apps/ORDERS/o1".into(),
            String::new(),
            200,
        ),
        // Unknown paths too: nothing is learnt without credentials.
        ("GET", "/eureka/nope".into(), String::new(), 404),
    ]
}

#[tokio::test(start_paused = true)]
async fn auth_every_route_family_needs_credentials_and_refusals_change_nothing() {
    let svc = service(users());
    let reg = register_body("orders", "o1", "h", 8080, "UP");
    let r = call(&svc, "POST", "/eureka/apps/ORDERS", reg, Some(GOOD)).await;
    assert_eq!(r.status(), 204);
    let before = svc.registry().instance("ORDERS", "o1").expect("registered");

    for (method, path, body, _) in routes() {
        for auth in [
            None,
            Some(WRONG_PASSWORD),
            Some(UNKNOWN_USER),
            Some("Bearer x"),
        ] {
            let r = call(&svc, method, &path, body.clone(), auth).await;
            assert_eq!(r.status(), 401, "{method} {path} with {auth:?}");
            assert_eq!(
                r.headers()["www-authenticate"],
                "Basic realm=\"Realm\"",
                "{method} {path}"
            );
            assert!(
                r.headers().contains_key("x-eureka-error"),
                "{method} {path}"
            );
        }
        // Refused writes changed nothing: o1 as it was, o2 and o3 never registered.
        let now = svc
            .registry()
            .instance("ORDERS", "o1")
            .expect("still there");
        assert_eq!(now.status, before.status, "{method} {path}");
        assert_eq!(now.metadata, before.metadata, "{method} {path}");
        assert!(svc.registry().instance("ORDERS", "o2").is_none());
        assert!(svc.registry().instance("ORDERS", "o3").is_none());
    }
    // With the credentials every route answers as without authentication.
    for (method, path, body, ok) in routes() {
        let r = call(&svc, method, &path, body, Some(GOOD)).await;
        assert_eq!(r.status().as_u16(), ok, "{method} {path}");
    }
    assert!(
        svc.registry().instance("ORDERS", "o1").is_none(),
        "cancelled"
    );
    assert!(svc.registry().instance("ORDERS", "o2").is_some());
    assert!(svc.registry().instance("ORDERS", "o3").is_some());
}

#[tokio::test(start_paused = true)]
async fn auth_without_users_nothing_is_checked() {
    let svc = service(BasicAuth::new());
    let r = call(&svc, "GET", "/eureka/apps", String::new(), None).await;
    assert_eq!(r.status(), 200);
    let r = call(
        &svc,
        "GET",
        "/eureka/apps",
        String::new(),
        Some(WRONG_PASSWORD),
    )
    .await;
    assert_eq!(r.status(), 200);
}

// The probes and the dashboard at the service root are open by default and protected on
// request; the REST API is protected either way.
#[tokio::test(start_paused = true)]
async fn auth_operator_routes_follow_their_setting() {
    let open = service(users());
    let closed = service(users().operator_routes(OperatorRoutes::Protected));
    for path in ["/health", "/ready", "/metrics", "/", "/dashboard"] {
        let r = call(&open, "GET", path, String::new(), None).await;
        assert_ne!(r.status(), 401, "{path} open");
        let r = call(&closed, "GET", path, String::new(), None).await;
        assert_eq!(r.status(), 401, "{path} protected");
        let r = call(&closed, "GET", path, String::new(), Some(GOOD)).await;
        assert_ne!(r.status(), 401, "{path} with credentials");
    }
    for svc in [&open, &closed] {
        let r = call(svc, "GET", "/eureka/apps", String::new(), None).await;
        assert_eq!(r.status(), 401);
    }
}

#[tokio::test(start_paused = true)]
async fn auth_the_realm_is_configurable_and_the_config_hides_passwords() {
    let svc = service(users().realm("eureka"));
    let r = call(&svc, "GET", "/eureka/apps", String::new(), None).await;
    assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"eureka\"");
    let shown = format!("{:?} {:?}", svc.config(), svc);
    assert!(
        shown.contains("eureka") && !shown.contains("p@ss:word"),
        "{shown}"
    );
}
