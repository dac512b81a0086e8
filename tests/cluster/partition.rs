//! A three-node partition in network namespaces (issue 13, P-32, P-35, P-45).
//!
//! Each node runs in a network namespace of its own, made by this test (`ip netns`, veth
//! pairs on a bridge in the test's namespace, addresses `10.213.N.1..3`, the test at
//! `.254`). The partition is made with blackhole routes inside the namespaces: C and the
//! other two stop hearing each other (established connections go silent, new ones fail),
//! while the test still reaches all three. During the partition each side takes writes
//! the other does not see; once the routes are gone all three converge to the same set.
//!
//! Needs root (or CAP_NET_ADMIN) and `ip` from iproute2. Where namespaces cannot be made
//! the test fails and says so; set `EUREKA_TEST_NO_NETNS=1` to skip it, loudly, on such
//! a machine.

use crate::support::{eventually, Http};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const PORT: u16 = 8761;

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The namespaces, veths and bridge of one test run; removed on drop.
struct Net {
    tag: String,
    subnet: u8,
}

impl Net {
    fn ns(&self, n: usize) -> String {
        format!("{}n{n}", self.tag)
    }

    fn addr(&self, n: usize) -> String {
        format!("10.213.{}.{}", self.subnet, n + 1)
    }

    fn url(&self, n: usize) -> String {
        format!("http://{}:{PORT}/eureka", self.addr(n))
    }

    fn make() -> Result<Net, String> {
        let pid = std::process::id();
        let net = Net {
            tag: format!("te{}", pid % 100_000),
            subnet: (pid % 200) as u8 + 20,
        };
        let br = format!("{}br", net.tag);
        ip(&["link", "add", &br, "type", "bridge"])?;
        ip(&[
            "addr",
            "add",
            &format!("10.213.{}.254/24", net.subnet),
            "dev",
            &br,
        ])?;
        ip(&["link", "set", &br, "up"])?;
        for n in 0..3 {
            let ns = net.ns(n);
            let host = format!("{}h{n}", net.tag);
            let inner = format!("{}i{n}", net.tag);
            ip(&["netns", "add", &ns])?;
            ip(&["link", "add", &host, "type", "veth", "peer", "name", &inner])?;
            ip(&["link", "set", &inner, "netns", &ns])?;
            ip(&["link", "set", &host, "master", &br])?;
            ip(&["link", "set", &host, "up"])?;
            let cidr = format!("{}/24", net.addr(n));
            ip(&["-n", &ns, "addr", "add", &cidr, "dev", &inner])?;
            ip(&["-n", &ns, "link", "set", &inner, "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        }
        Ok(net)
    }

    /// Cuts (or heals) node `n` off from the other two: blackhole routes on both sides.
    fn partition(&self, n: usize, cut: bool) -> Result<(), String> {
        let verb = if cut { "add" } else { "del" };
        for other in (0..3).filter(|o| *o != n) {
            let there = format!("{}/32", self.addr(other));
            let here = format!("{}/32", self.addr(n));
            ip(&["-n", &self.ns(n), "route", verb, "blackhole", &there])?;
            ip(&["-n", &self.ns(other), "route", verb, "blackhole", &here])?;
        }
        Ok(())
    }

    fn start(&self, n: usize) -> NsNode {
        let peers: Vec<String> = (0..3).map(|k| self.url(k)).collect();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns(n)])
            .arg(env!("CARGO_BIN_EXE_eureka-server"))
            .arg(format!("--listen={}:{PORT}", self.addr(n)))
            .arg(format!("--my-url={}", self.url(n)))
            .arg(format!("--peer={}", peers.join(",")))
            .arg("--peer-timeout-ms=500")
            .arg("--peer-anti-entropy-interval-ms=1000")
            .arg("--peer-sync-budget-ms=3000")
            .env_remove("EUREKA_CLIENT_SERVICEURL_DEFAULTZONE")
            .env("RUST_LOG", "warn,tower_eureka::cluster=info")
            .stdout(Stdio::null());
        if std::env::var_os("CLUSTER_TEST_LOG").is_none() {
            cmd.stderr(Stdio::null());
        }
        NsNode(cmd.spawn().ok())
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for n in 0..3 {
            let _ = ip(&["netns", "del", &self.ns(n)]);
        }
        let _ = ip(&["link", "del", &format!("{}br", self.tag)]);
    }
}

/// A node process inside its namespace (`ip netns exec` execs the server), killed on drop.
struct NsNode(Option<Child>);

impl Drop for NsNode {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn ids(http: &Http, base: &str) -> Option<Vec<String>> {
    let list = http.instances(base).await?;
    Some(list.into_iter().map(|(id, _)| id).collect())
}

async fn peer_state(http: &Http, base: &str, peer: &str) -> Option<serde_json::Value> {
    let s = http.status(base).await?;
    s["peers"]
        .as_array()?
        .iter()
        .find(|p| p["url"].as_str().is_some_and(|u| u.starts_with(peer)))
        .cloned()
}

// P-32, P-35, P-45: writes on both sides of a partition; the majority side keeps serving
// and marks the lost peer unhealthy; after healing, all three hold the same set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p35_a_partitioned_node_converges_after_healing() {
    if std::env::var_os("EUREKA_TEST_NO_NETNS").is_some() {
        eprintln!("partition test SKIPPED: EUREKA_TEST_NO_NETNS is set");
        return;
    }
    let net = match Net::make() {
        Ok(n) => n,
        Err(e) => panic!(
            "cannot make network namespaces ({e}); this test needs root and iproute2, \
             set EUREKA_TEST_NO_NETNS=1 to skip it"
        ),
    };
    let http = Http::new();
    let _nodes: Vec<NsNode> = (0..3).map(|n| net.start(n)).collect();
    let (a, b, c) = (net.url(0), net.url(1), net.url(2));
    for base in [&a, &b, &c] {
        crate::support::wait_open(&http, base).await;
    }
    assert_eq!(http.register(&a, "PART", "before-a").await, 204);
    assert_eq!(http.register(&c, "PART", "before-c").await, 204);
    for base in [&a, &b, &c] {
        eventually(WAIT, "both registrations everywhere", || async {
            (ids(&http, base).await? == ["before-a", "before-c"]).then_some(())
        })
        .await;
    }

    if let Err(e) = net.partition(2, true) {
        panic!("partition: {e}");
    }
    // Each side writes what the other cannot see yet.
    assert_eq!(http.register(&a, "PART", "during-a").await, 204);
    assert_eq!(http.register(&c, "PART", "during-c").await, 204);
    assert_eq!(
        http.send(
            reqwest::Method::DELETE,
            &format!("{a}/apps/PART/before-a"),
            None
        )
        .await,
        200
    );
    eventually(WAIT, "B follows A during the partition", || async {
        (ids(&http, &b).await? == ["before-c", "during-a"]).then_some(())
    })
    .await;
    // A sees C unhealthy (its circuit opens) and keeps answering.
    eventually(WAIT, "A marks C down", || async {
        let p = peer_state(&http, &a, &c).await?;
        (p["circuit"] != "closed").then_some(())
    })
    .await;
    assert_eq!(
        ids(&http, &c).await,
        Some(vec![
            "before-a".to_owned(),
            "before-c".to_owned(),
            "during-c".to_owned()
        ]),
        "C is cut off: it sees only its own writes"
    );

    if let Err(e) = net.partition(2, false) {
        panic!("heal: {e}");
    }
    let want = ["before-c", "during-a", "during-c"];
    for base in [&a, &b, &c] {
        eventually(WAIT, &format!("{base} converges after healing"), || async {
            (ids(&http, base).await? == want).then_some(())
        })
        .await;
    }
    eventually(WAIT, "A's circuit to C closes again", || async {
        let p = peer_state(&http, &a, &c).await?;
        (p["circuit"] == "closed" && p["queued"] == 0).then_some(())
    })
    .await;
}
