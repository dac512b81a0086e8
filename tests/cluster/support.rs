//! Processes of the `eureka-server` binary on loopback ports, fault peers, and an HTTP
//! helper with bounded polling.

use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// A free loopback port (bound, then released).
pub(crate) fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

pub(crate) fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/eureka")
}

/// One `eureka-server` process, killed on drop.
pub(crate) struct Node {
    pub(crate) port: u16,
    child: Option<Child>,
}

impl Node {
    /// Starts a node on `port` with the given peer list (which may include itself).
    pub(crate) fn start(port: u16, peers: &[u16], extra: &[&str]) -> Node {
        let list: Vec<String> = peers.iter().map(|p| url(*p)).collect();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_eureka-server"));
        cmd.arg(format!("--listen=127.0.0.1:{port}"))
            .arg(format!("--my-url={}", url(port)))
            .arg("--eviction-interval-timer-in-ms=1000")
            .env_remove("EUREKA_CLIENT_SERVICEURL_DEFAULTZONE")
            .env("RUST_LOG", "warn,tower_eureka::cluster=info")
            .stdout(Stdio::null());
        if !list.is_empty() {
            cmd.arg(format!("--peer={}", list.join(",")));
        }
        cmd.args(extra);
        if std::env::var_os("CLUSTER_TEST_LOG").is_none() {
            cmd.stderr(Stdio::null());
        }
        let child = cmd.spawn().expect("spawn eureka-server");
        Node {
            port,
            child: Some(child),
        }
    }

    pub(crate) fn url(&self) -> String {
        url(self.port)
    }

    /// The process id, while it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub(crate) fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The HTTP client of the tests.
#[derive(Clone)]
pub(crate) struct Http(reqwest::Client);

impl Http {
    pub(crate) fn new() -> Http {
        Http(
            reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("reqwest client"),
        )
    }

    /// GET as JSON: status and body (`(0, "")` when there is no answer).
    pub(crate) async fn get(&self, url: &str) -> (u16, String) {
        match self
            .0
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
        {
            Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
            Err(_) => (0, String::new()),
        }
    }

    pub(crate) async fn json(&self, url: &str) -> Option<serde_json::Value> {
        let (code, body) = self.get(url).await;
        if code != 200 {
            return None;
        }
        serde_json::from_str(&body).ok()
    }

    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<String>,
    ) -> u16 {
        let mut req = self.0.request(method, url);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        match req.send().await {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        }
    }

    pub(crate) async fn register(&self, base: &str, app: &str, id: &str) -> u16 {
        self.register_lease(base, app, id, 90).await
    }

    /// Registers with a lease of `duration` seconds.
    pub(crate) async fn register_lease(
        &self,
        base: &str,
        app: &str,
        id: &str,
        duration: u32,
    ) -> u16 {
        let body = format!(
            r#"{{"instance":{{"instanceId":"{id}","hostName":"127.0.0.1","app":"{app}","ipAddr":"127.0.0.1","status":"UP","port":{{"$":8080,"@enabled":"true"}},"dataCenterInfo":{{"@class":"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo","name":"MyOwn"}},"leaseInfo":{{"renewalIntervalInSecs":1,"durationInSecs":{duration}}}}}}}"#
        );
        self.send(
            reqwest::Method::POST,
            &format!("{base}/apps/{app}"),
            Some(body),
        )
        .await
    }

    /// `(id, status)` of every instance `base` lists, sorted; `None` when it does not
    /// answer 200.
    pub(crate) async fn instances(&self, base: &str) -> Option<Vec<(String, String)>> {
        let v = self.json(&format!("{base}/apps")).await?;
        let mut out = Vec::new();
        let apps = &v["applications"]["application"];
        for app in apps.as_array().cloned().unwrap_or_default() {
            for i in app["instance"].as_array().cloned().unwrap_or_default() {
                out.push((
                    i["instanceId"].as_str().unwrap_or_default().to_owned(),
                    i["status"].as_str().unwrap_or_default().to_owned(),
                ));
            }
        }
        out.sort();
        Some(out)
    }

    /// The node's `/status` document once it answers.
    pub(crate) async fn status(&self, base: &str) -> Option<serde_json::Value> {
        self.json(&format!("{base}/status")).await
    }
}

/// Polls `f` until it returns `Some`, at most `limit`; panics with `what` otherwise.
pub(crate) async fn eventually<T, F, Fut>(limit: Duration, what: &str, f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    match within(limit, f).await {
        Some(v) => v,
        None => panic!("timed out after {limit:?} waiting for: {what}"),
    }
}

/// Polls `f` until it returns `Some`, at most `limit`; `None` when it never did (for a
/// caller that adds what it knows to the failure).
pub(crate) async fn within<T, F, Fut>(limit: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `node` answers and is open for traffic.
pub(crate) async fn wait_open(http: &Http, base: &str) {
    eventually(
        Duration::from_secs(30),
        &format!("{base} open for traffic"),
        || async {
            let s = http.status(base).await?;
            (s["openForTraffic"] == true || s.get("openForTraffic").is_none()).then_some(())
        },
    )
    .await
}

/// How a fault peer misbehaves.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Fault {
    /// Answers 500 to every request.
    Error500,
    /// Answers bytes that are not HTTP, then closes.
    Garbage,
    /// Accepts and never answers.
    BlackHole,
    /// Answers 503, but only after `delay` (longer than the sender's timeout).
    Slow(Duration),
}

/// A fault peer on a loopback port; stops (and frees the port) on drop.
pub(crate) struct FaultPeer {
    task: Option<tokio::task::JoinHandle<()>>,
}

impl FaultPeer {
    pub(crate) async fn start(port: u16, fault: Fault) -> FaultPeer {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind fault peer");
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                conns.spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        match fault {
                            Fault::Error500 => {
                                let r = b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\n\r\nnope";
                                if s.write_all(r).await.is_err() {
                                    return;
                                }
                            }
                            Fault::Garbage => {
                                let _ = s.write_all(b"\x00\x01 this is not HTTP\r\n\r\n").await;
                                return;
                            }
                            Fault::BlackHole => {
                                std::future::pending::<()>().await;
                            }
                            Fault::Slow(d) => {
                                tokio::time::sleep(d).await;
                                let r = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n";
                                let _ = s.write_all(r).await;
                                return;
                            }
                        }
                    }
                });
            }
        });
        FaultPeer { task: Some(task) }
    }
}

impl FaultPeer {
    /// Stops it and waits until its port is free.
    pub(crate) async fn stop(mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }
}

impl Drop for FaultPeer {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}
