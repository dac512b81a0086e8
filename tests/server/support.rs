//! Shared helpers for the server tests: a registry on 127.0.0.1:0 and request shortcuts.

use bytes::Bytes;
use http_body_util::Empty;
use std::time::Duration;
use tower::ServiceExt;
use tower_eureka::server::{serve, EurekaService, ServerConfig};

pub(crate) struct TestServer {
    /// `http://127.0.0.1:PORT/eureka`
    pub(crate) base: String,
    /// A client that does not add or undo gzip: what the test sends is what goes out.
    pub(crate) http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// A config that publishes every change immediately (no coalescing delay).
pub(crate) fn config() -> ServerConfig {
    let mut c = ServerConfig {
        prefix: "/eureka".into(),
        ..ServerConfig::default()
    };
    c.registry.publish_interval = Duration::ZERO;
    c
}

pub(crate) async fn start() -> TestServer {
    start_with(config()).await
}

pub(crate) async fn start_with(config: ServerConfig) -> TestServer {
    serve_service(EurekaService::new(config)).await
}

/// Serves `svc` on 127.0.0.1:0 until the returned server is dropped.
pub(crate) async fn serve_service(svc: EurekaService) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(
        listener,
        svc,
        async move {
            let _ = stopped.await;
        },
        Duration::from_secs(1),
    ));
    TestServer {
        base: format!("http://{addr}/eureka"),
        http: reqwest::Client::builder()
            .no_gzip()
            .build()
            .expect("reqwest client"),
        _stop: stop,
    }
}

/// An EX-1 style legacy JSON register body.
pub(crate) fn register_body(app: &str, id: &str, host: &str, port: u16, status: &str) -> String {
    format!(
        r#"{{"instance":{{"instanceId":"{id}","hostName":"{host}","app":"{app}","ipAddr":"10.0.0.{last}","status":"{status}","overriddenStatus":"UNKNOWN","port":{{"$":{port},"@enabled":"true"}},"securePort":{{"$":443,"@enabled":"false"}},"countryId":1,"dataCenterInfo":{{"@class":"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo","name":"MyOwn"}},"leaseInfo":{{"renewalIntervalInSecs":30,"durationInSecs":90,"registrationTimestamp":0,"lastRenewalTimestamp":0,"evictionTimestamp":0,"serviceUpTimestamp":0}},"metadata":{{"zone":"zone-a","management.port":"8081"}},"homePageUrl":"http://{host}:{port}/","statusPageUrl":"http://{host}:{port}/actuator/info","healthCheckUrl":"http://{host}:{port}/actuator/health","vipAddress":"{vip}","secureVipAddress":"{vip}-secure","isCoordinatingDiscoveryServer":"false","lastUpdatedTimestamp":"1700000000000","lastDirtyTimestamp":"1700000000000"}}}}"#,
        last = port % 250,
        vip = app.to_lowercase(),
    )
}

impl TestServer {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub(crate) async fn register(&self, app: &str, id: &str, status: &str) -> reqwest::Response {
        self.post_json(
            &format!("/apps/{app}"),
            register_body(app, id, &format!("{id}.host"), 8080, status),
        )
        .await
    }

    pub(crate) async fn post_json(&self, path: &str, body: String) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("POST")
    }

    pub(crate) async fn send(&self, method: reqwest::Method, path: &str) -> reqwest::Response {
        self.http
            .request(method, self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub(crate) async fn put(&self, path: &str) -> u16 {
        self.send(reqwest::Method::PUT, path)
            .await
            .status()
            .as_u16()
    }

    pub(crate) async fn delete(&self, path: &str) -> u16 {
        self.send(reqwest::Method::DELETE, path)
            .await
            .status()
            .as_u16()
    }

    /// GET with `Accept: application/json`, parsed.
    pub(crate) async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self
            .http
            .get(self.url(path))
            .header("accept", "application/json")
            .send()
            .await
            .expect("GET");
        let status = r.status().as_u16();
        let bytes = r.bytes().await.expect("body");
        let v = if (200..300).contains(&status) {
            serde_json::from_slice(&bytes).expect("JSON body")
        } else {
            serde_json::Value::Null // errors carry a plain-text reason
        };
        (status, v)
    }

    /// `GET /apps` as JSON: (hash, [(app, id, status)]) sorted.
    pub(crate) async fn apps(&self) -> (String, Vec<(String, String, String)>) {
        let (code, v) = self.get_json("/apps").await;
        assert_eq!(code, 200);
        flatten(&v)
    }
}

pub(crate) fn flatten(v: &serde_json::Value) -> (String, Vec<(String, String, String)>) {
    let apps = &v["applications"];
    let hash = apps["apps__hashcode"].as_str().expect("hash").to_owned();
    let mut out = Vec::new();
    for app in apps["application"].as_array().expect("application array") {
        for i in app["instance"].as_array().expect("instance array") {
            out.push((
                app["name"].as_str().unwrap_or_default().to_owned(),
                i["instanceId"].as_str().unwrap_or_default().to_owned(),
                i["status"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    out.sort();
    (hash, out)
}

pub(crate) fn fixture(rel: &str) -> Vec<u8> {
    let p = format!(
        "{}/../shared/fixtures/eureka/{rel}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&p).unwrap_or_else(|e| panic!("fixture {p}: {e}"))
}

/// Sends a body-less `method path` (JSON accepted) through the service, no socket.
pub(crate) async fn send(
    svc: &EurekaService,
    method: http::Method,
    path: &str,
) -> http::Response<tower_eureka::server::ResponseBody> {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("accept", "application/json")
        .body(Empty::<Bytes>::new())
        .expect("request");
    svc.clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| match e {})
}
