//! Basic authentication and TLS with the real `eureka-server` binary on loopback: our
//! client through a service URL with user info (C-01), our client against the HTTPS binary
//! with a CA made at run time (rcgen), a client without that CA refused, two HTTPS nodes
//! with authentication replicating (P-02), and the binary refusing unusable files.
#![cfg(all(feature = "server", feature = "client", feature = "tls"))]

#[path = "../common/server_process.rs"]
mod server_process;

use server_process::ServerProcess;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio::time::Instant;
use tower_eureka::client::EurekaClient;
use tower_eureka::model::InstanceInfo;

const WAIT: Duration = Duration::from_secs(20);
const USER: &str = "eureka";
const PASSWORD: &str = "p@ss:w/rd";
/// `PASSWORD` percent-encoded for user info.
const PASSWORD_ENC: &str = "p%40ss%3Aw%2Frd";

/// A CA and a certificate for 127.0.0.1 / localhost signed by it, as PEM files in a fresh
/// directory (removed on drop).
struct Pki {
    dir: PathBuf,
    ca_pem: String,
}

impl Pki {
    fn new(name: &str) -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).expect("CA cert");
        let key = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("params")
            .signed_by(&key, &ca, &ca_key)
            .expect("cert");
        let dir = std::env::temp_dir().join(format!(
            "tower-eureka-security-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let pki = Pki {
            dir,
            ca_pem: ca.pem(),
        };
        std::fs::write(pki.path("ca.pem"), &pki.ca_pem).expect("write");
        std::fs::write(pki.path("cert.pem"), cert.pem()).expect("write");
        std::fs::write(pki.path("key.pem"), key.serialize_pem()).expect("write");
        std::fs::write(pki.path("garbage.pem"), "not a PEM file\n").expect("write");
        pki
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }

    fn tls_flags(&self) -> Vec<String> {
        vec![
            format!("--tls-cert={}", self.path("cert.pem")),
            format!("--tls-key={}", self.path("key.pem")),
        ]
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A reqwest client trusting `ca` (if given), with a bounded timeout.
fn http(ca: Option<&str>) -> reqwest::Client {
    let mut b = reqwest::Client::builder().timeout(Duration::from_secs(5));
    if let Some(pem) = ca {
        b = b.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).expect("CA"));
    }
    b.build().expect("reqwest client")
}

/// `GET url` as JSON with the test user's credentials; `None` unless 200.
async fn get_json(http: &reqwest::Client, url: &str) -> Option<serde_json::Value> {
    let r = http
        .get(url)
        .basic_auth(USER, Some(PASSWORD))
        .header("accept", "application/json")
        .send()
        .await
        .ok()?;
    if r.status() != 200 {
        return None;
    }
    serde_json::from_slice(&r.bytes().await.ok()?).ok()
}

/// Polls `f` until it returns `Some`, at most [`WAIT`].
async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn instance(id: &str) -> InstanceInfo {
    InstanceInfo::builder("SECURE-APP")
        .instance_id(id)
        .host_name("127.0.0.1")
        .ip_addr("127.0.0.1")
        .port(8080)
        .lease(1, 30)
        .build()
}

/// `url` (`scheme://127.0.0.1:PORT/eureka`) with the test user's credentials in it.
fn with_userinfo(url: &str) -> String {
    url.replacen("://", &format!("://{USER}:{PASSWORD_ENC}@"), 1)
}

/// Registers, fetches, heartbeats with our client through `url` (with user info), seen
/// through `http` at `url`.
async fn client_round_trip(url: &str, http: &reqwest::Client, ca: Option<&str>) {
    let builder = EurekaClient::builder([with_userinfo(url)])
        .instance(instance("s1"))
        .fetch_interval(Duration::from_secs(1));
    let builder = match ca {
        Some(pem) => builder.ca_pem(pem.as_bytes().to_vec()),
        None => builder,
    };
    let client = builder.start().expect("client");
    // Register: the server lists it.
    let at = format!("{url}/apps/SECURE-APP/s1");
    eventually("registration", || async {
        get_json(http, &at).await.map(|_| ())
    })
    .await;
    // Heartbeat: the server counts renewals.
    let status = format!("{url}/status");
    eventually("a heartbeat", || async {
        let v = get_json(http, &status).await?;
        let renews = v["selfPreservation"]["renewsLastMinute"].as_u64()?;
        (renews > 0).then_some(())
    })
    .await;
    // Fetch: the client sees itself.
    eventually("the client's fetch", || async {
        let target = tower_eureka::client::Target::app("SECURE-APP");
        (!client.instances(&target).is_empty()).then_some(())
    })
    .await;
    assert!(client.is_registered());
    client.shutdown().await.expect("shutdown cancels");
    let r = http
        .get(&at)
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 404, "cancelled on shutdown");
}

// C-01: user info in the service URL is sent as Basic credentials; without them the binary
// answers 401 with Spring Security's challenge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c01_our_client_registers_and_fetches_through_a_url_with_userinfo() {
    let server = ServerProcess::start_with_env(
        &["--response-cache-update-interval-ms=0"],
        &[
            ("SPRING_SECURITY_USER_NAME", USER),
            ("SPRING_SECURITY_USER_PASSWORD", PASSWORD),
        ],
    );
    let http = http(None);
    let r = http
        .get(format!("{}/apps", server.url))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"Realm\"");
    client_round_trip(&server.url, &http, None).await;
}

// Our client against the HTTPS binary: register, heartbeat, fetch, cancel, with the CA
// given to the client builder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_our_client_against_the_https_binary() {
    let pki = Pki::new("client");
    let mut flags = pki.tls_flags();
    flags.push(format!("--user={USER}:{PASSWORD}"));
    flags.push("--response-cache-update-interval-ms=0".into());
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = ServerProcess::start(&flags);
    assert!(server.url.starts_with("https://"), "{}", server.url);
    client_round_trip(&server.url, &http(Some(&pki.ca_pem)), Some(&pki.ca_pem)).await;
}

// A client that does not trust the CA is refused at the handshake: it gets no answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_a_client_without_the_ca_is_refused() {
    let pki = Pki::new("refused");
    let flags = pki.tls_flags();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = ServerProcess::start(&flags);
    let url = format!("{}/apps", server.url);
    let e = match http(None).get(&url).send().await {
        Ok(r) => panic!("answered {} without the CA", r.status()),
        Err(e) => e,
    };
    let shown = format!("{e:?}");
    assert!(e.is_connect() && shown.contains("UnknownIssuer"), "{shown}");
    // Plain HTTP to the TLS port gets no HTTP answer either.
    let plain = url.replacen("https://", "http://", 1);
    assert!(http(None).get(&plain).send().await.is_err());
    // The same request with the CA is answered.
    let r = http(Some(&pki.ca_pem)).get(&url).send().await.expect("GET");
    assert_eq!(r.status(), 200);
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

// P-01, P-02 over TLS with authentication: both nodes get the same peer list with user
// info and the peers' CA; a write on A reaches B, and the own URL is skipped although it
// carries credentials.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p02_two_https_nodes_with_auth_replicate() {
    let pki = Pki::new("cluster");
    let ports = [free_port(), free_port()];
    let url = |p: u16| format!("https://127.0.0.1:{p}/eureka");
    let peers = ports
        .iter()
        .map(|p| with_userinfo(&url(*p)))
        .collect::<Vec<_>>()
        .join(",");
    let start = |port: u16| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_eureka-server"));
        cmd.arg(format!("--listen=127.0.0.1:{port}"))
            .arg(format!("--my-url={}", with_userinfo(&url(port))))
            .arg(format!("--peer={peers}"))
            .arg(format!("--peer-ca={}", pki.path("ca.pem")))
            .arg("--peer-batch-delay-ms=5")
            .arg("--response-cache-update-interval-ms=0")
            .args(pki.tls_flags())
            .env("SPRING_SECURITY_USER_NAME", USER)
            .env("SPRING_SECURITY_USER_PASSWORD", PASSWORD)
            .env_remove("EUREKA_CLIENT_SERVICEURL_DEFAULTZONE")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null());
        // SECURITY_TEST_LOG=1 shows the nodes' logs.
        if std::env::var_os("SECURITY_TEST_LOG").is_none() {
            cmd.stderr(Stdio::null());
        }
        Child(cmd.spawn().expect("spawn eureka-server"))
    };
    let _a = start(ports[0]);
    let _b = start(ports[1]);
    let http = http(Some(&pki.ca_pem));
    for p in ports {
        let status = format!("{}/status", url(p));
        eventually("node open", || async {
            let s = get_json(&http, &status).await?;
            (s["openForTraffic"] != false).then_some(())
        })
        .await;
    }
    let body = serde_json::json!({"instance": {
        "instanceId": "r1", "hostName": "127.0.0.1", "app": "SECURE-APP", "ipAddr": "127.0.0.1",
        "status": "UP", "port": {"$": 8080, "@enabled": "true"},
        "dataCenterInfo": {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"},
        "leaseInfo": {"renewalIntervalInSecs": 30, "durationInSecs": 90},
    }});
    let r = http
        .post(format!("{}/apps/SECURE-APP", url(ports[0])))
        .basic_auth(USER, Some(PASSWORD))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("register on A");
    assert_eq!(r.status(), 204);
    let on_b = format!("{}/apps/SECURE-APP/r1", url(ports[1]));
    eventually("the registration replicated to B", || async {
        get_json(&http, &on_b).await.map(|_| ())
    })
    .await;
    // A counts B as its only peer (itself skipped by P-01) and B answered it.
    let s = eventually("A's peer healthy", || async {
        let s = get_json(&http, &format!("{}/status", url(ports[0]))).await?;
        let text = s.to_string();
        (!text.contains(PASSWORD) && !text.contains(PASSWORD_ENC)).then_some(s)
    })
    .await;
    let shown = s.to_string();
    assert!(
        shown.contains(&format!("127.0.0.1:{}", ports[1])),
        "{shown}"
    );
    assert!(
        !shown.contains(&format!("127.0.0.1:{}/", ports[0])),
        "{shown}"
    );
}

/// A child process killed on drop.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the binary with `args`; it must exit (within 10 s) with a failure whose message
/// names `flag`.
fn refuses(args: &[String], flag: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_eureka-server"))
        .arg("--listen=127.0.0.1:0")
        .args(args)
        .env("RUST_LOG", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn eureka-server");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?}: still running after 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    assert!(!status.success(), "{args:?} exited with {status}");
    assert!(err.contains(flag), "{args:?}: {err:?} does not name {flag}");
    assert!(
        !err.contains(PASSWORD),
        "{args:?}: {err:?} shows the password"
    );
}

#[test]
fn the_binary_refuses_unusable_tls_and_auth_settings_naming_the_flag() {
    let pki = Pki::new("refuse");
    let cert = format!("--tls-cert={}", pki.path("cert.pem"));
    let key = format!("--tls-key={}", pki.path("key.pem"));
    let missing = pki.path("missing.pem");
    let garbage = pki.path("garbage.pem");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![format!("--tls-cert={missing}"), key.clone()],
            "--tls-cert",
        ),
        (
            vec![format!("--tls-cert={garbage}"), key.clone()],
            "--tls-cert",
        ),
        (
            vec![cert.clone(), format!("--tls-key={missing}")],
            "--tls-key",
        ),
        (
            vec![cert.clone(), format!("--tls-key={garbage}")],
            "--tls-key",
        ),
        // The certificate given as its own key.
        (
            vec![cert.clone(), format!("--tls-key={}", pki.path("cert.pem"))],
            "--tls-key",
        ),
        (vec![cert.clone()], "--tls-cert"),
        (vec![key.clone()], "--tls-key"),
        (vec![format!("--peer-ca={garbage}")], "--peer-ca"),
        (vec![format!("--peer-ca={missing}")], "--peer-ca"),
        (vec![format!("--auth-user={USER}")], "--auth-user"),
        (
            vec![format!("--auth-password={PASSWORD}")],
            "--auth-password",
        ),
        (vec![format!("--user={USER}")], "--user"),
        (vec![format!("--user=:{PASSWORD}")], "--user"),
        (
            vec![format!(
                "--peer=ftp://{USER}:{PASSWORD_ENC}@127.0.0.1:1/eureka"
            )],
            "--peer",
        ),
    ];
    for (args, flag) in cases {
        refuses(&args, flag);
    }
}
