//! A counting HTTP proxy between a real client and the server: what the client really sent
//! and what it got back, by kind of request (issue 14). The clients under test swallow
//! failures (a failed heartbeat is retried, a 404 re-registers, a delta whose hash does not
//! match becomes a full fetch), so their own view cannot show that heartbeats or deltas
//! work; these counts can.
//!
//! Keys are `"{kind} {target} {status}"`: `register APP/ID 204`, `heartbeat APP/ID 200`,
//! `cancel APP/ID 200`, `status APP/ID 200`, `full - 200` (GET /apps), `delta - 200`
//! (GET /apps/delta), `other - 200`. `GET /__counts` on the proxy answers them as a JSON
//! object.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

type Counts = Arc<Mutex<BTreeMap<String, u64>>>;

pub(crate) struct Proxy {
    /// `http://127.0.0.1:PORT/eureka`, for the clients under test.
    pub(crate) url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Proxy {
    /// A proxy to `upstream` (`http://127.0.0.1:PORT/eureka`), running on a thread of its
    /// own until dropped.
    pub(crate) fn start(upstream: &str) -> Proxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("proxy addr");
        let authority = upstream
            .strip_prefix("http://")
            .and_then(|r| r.split('/').next())
            .expect("upstream authority")
            .to_owned();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("proxy runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let counts: Counts = Arc::default();
                let client: Client<_, Full<Bytes>> =
                    Client::builder(TokioExecutor::new()).build_http();
                let accept = async {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else {
                            continue;
                        };
                        let (counts, client, authority) =
                            (counts.clone(), client.clone(), authority.clone());
                        tokio::spawn(async move {
                            let svc = hyper::service::service_fn(move |req| {
                                forward(req, counts.clone(), client.clone(), authority.clone())
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), svc)
                                .await;
                        });
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stopped => {}
                }
            });
        });
        Proxy {
            url: format!("http://{addr}/eureka"),
            _stop: stop,
        }
    }
}

async fn forward(
    req: Request<Incoming>,
    counts: Counts,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    authority: String,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    if req.uri().path() == "/__counts" {
        let body = {
            let c = counts.lock().unwrap_or_else(|p| p.into_inner());
            serde_json::to_vec(&*c).unwrap_or_default()
        };
        return Ok(Response::new(Full::new(Bytes::from(body))));
    }
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let mut up = Request::builder()
        .method(parts.method.clone())
        .uri(format!("http://{authority}{path}"));
    for (k, v) in &parts.headers {
        if k != http::header::HOST {
            up = up.header(k, v);
        }
    }
    let Ok(up) = up.body(Full::new(body.clone())) else {
        return Ok(status_only(400));
    };
    let (status, rsp) = match client.request(up).await {
        Ok(rsp) => {
            let (p, b) = rsp.into_parts();
            let b = b.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            (p.status.as_u16(), Response::from_parts(p, Full::new(b)))
        }
        Err(_) => (502, status_only(502)),
    };
    let key = format!(
        "{} {status}",
        classify(parts.method.as_str(), parts.uri.path(), &body)
    );
    *counts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(key)
        .or_default() += 1;
    Ok(rsp)
}

fn status_only(code: u16) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::BAD_GATEWAY);
    r
}

/// `kind target` of a Eureka request.
fn classify(method: &str, path: &str, body: &[u8]) -> String {
    let rest = path.strip_prefix("/eureka").unwrap_or(path);
    let segs: Vec<&str> = rest
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let upper = |s: &str| s.to_uppercase();
    match (method, segs.as_slice()) {
        ("GET", ["apps"]) => "full -".into(),
        ("GET", ["apps", "delta"]) => "delta -".into(),
        ("POST", ["apps", app]) => format!("register {}/{}", upper(app), body_id(body)),
        ("PUT", ["apps", app, id]) => format!("heartbeat {}/{id}", upper(app)),
        ("DELETE", ["apps", app, id]) => format!("cancel {}/{id}", upper(app)),
        ("PUT" | "DELETE", ["apps", app, id, "status"]) => format!("status {}/{id}", upper(app)),
        _ => "other -".into(),
    }
}

/// The instance id a register body names (`instanceId`, else `hostName`), JSON (any
/// spacing) or XML.
fn body_id(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    for key in ["instanceId", "hostName"] {
        if let Some(start) = text.find(&format!("<{key}>")) {
            let rest = &text[start + key.len() + 2..];
            return rest.split('<').next().unwrap_or_default().to_owned();
        }
        if let Some(start) = text.find(&format!("\"{key}\"")) {
            let rest = text[start + key.len() + 2..].trim_start();
            if let Some(rest) = rest.strip_prefix(':') {
                if let Some(rest) = rest.trim_start().strip_prefix('"') {
                    return rest.split('"').next().unwrap_or_default().to_owned();
                }
            }
        }
    }
    "?".into()
}
