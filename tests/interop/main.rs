//! Interop: real third-party Eureka clients against the real `eureka-server` binary.
//!
//! The Python client (py-eureka-client, pinned) is installed by this test into a virtualenv
//! of its own (`.venv-interop/` at the crate root) the first time it runs, so
//! `cargo test` works on a fresh machine that has `python3` with `venv` and access to PyPI.

mod proxy;
#[path = "../common/server_process.rs"]
mod server_process;

use proxy::Proxy;
use std::io::Read;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const PY_EUREKA_CLIENT_VERSION: &str = "0.11.13";
const PY_EUREKA_CLIENT: &str = "py-eureka-client==0.11.13";

/// How long one scenario script may run before it is killed and the test fails.
const SCRIPT_LIMIT: Duration = Duration::from_secs(120);
/// How long an install step (venv + pip, npm) may take.
const INSTALL_LIMIT: Duration = Duration::from_secs(600);

static VENV_LOCK: Mutex<()> = Mutex::new(());

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// What a finished child printed.
struct Output {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` in a process group of its own, and fails the test if it has not exited
/// within `limit`, after killing the whole group (a script's own children included).
fn run_limited(mut cmd: Command, what: &str, limit: Duration) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{what} could not be started: {e}"));
    let reader = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = reader(Box::new(child.stdout.take().expect("piped stdout")));
    let err = reader(Box::new(child.stderr.take().expect("piped stderr")));
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => break None,
        }
    };
    let Some(status) = status else {
        kill_group(&mut child);
        let (o, e) = (
            out.join().unwrap_or_default(),
            err.join().unwrap_or_default(),
        );
        panic!("{what} did not finish within {limit:?}; killed.\n{o}\n{e}");
    };
    // The group's leftovers (a stuck grandchild) must not outlive the test.
    kill_group(&mut child);
    Output {
        success: status.success(),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

/// The venv's python, creating the venv and installing the pinned client if it is
/// missing or another version.
fn python() -> PathBuf {
    let _guard = VENV_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let venv = root().join(".venv-interop");
    let py = venv.join("bin").join("python");
    let pinned = |py: &Path| {
        let mut c = Command::new(py);
        c.args([
            "-c",
            &format!(
                "import importlib.metadata as m, py_eureka_client; \
                 assert m.version('py-eureka-client') == '{PY_EUREKA_CLIENT_VERSION}'"
            ),
        ]);
        py.exists() && run_limited(c, "python version check", Duration::from_secs(60)).success
    };
    if pinned(&py) {
        return py;
    }
    let mut c = Command::new("python3");
    c.args(["-m", "venv"]).arg(&venv);
    let o = run_limited(
        c,
        "python3 -m venv (python3 with venv is needed)",
        INSTALL_LIMIT,
    );
    assert!(o.success, "python3 -m venv failed: {}", o.stderr);
    let mut c = Command::new(&py);
    c.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ])
    .arg(PY_EUREKA_CLIENT);
    let o = run_limited(c, "pip install", INSTALL_LIMIT);
    assert!(
        o.success,
        "pip install {PY_EUREKA_CLIENT} failed: {}",
        o.stderr
    );
    assert!(
        pinned(&py),
        "{PY_EUREKA_CLIENT} not importable after install"
    );
    py
}

/// The `eureka-server` binary on 127.0.0.1:0; killed on drop.
use server_process::ServerProcess as Server;

/// A server whose leases really end fast: evicted within 250 ms of expiring, with no
/// self-preservation to hold them (the scenarios' short leases must survive on heartbeats
/// alone).
fn start_short_leases() -> Server {
    Server::start(&[
        "--eviction-interval-timer-in-ms",
        "250",
        "--enable-self-preservation",
        "false",
    ])
}

/// Runs a scenario script and requires its closing line.
fn scenario(mut cmd: Command, what: &str) {
    let out = run_limited(
        {
            cmd.env("PYTHONUNBUFFERED", "1");
            cmd
        },
        what,
        SCRIPT_LIMIT,
    );
    println!("{}", out.stdout);
    assert!(
        out.success,
        "{what} failed:\n{}\n{}",
        out.stdout, out.stderr
    );
    assert!(out.stdout.contains("interop: all checks passed"));
}

/// Issue 3's interop scenario with py-eureka-client (E-10, E-11, E-12, E-13, E-16, E-17,
/// R-61 override survives heartbeats, W-70 XML read by a third-party client, W-60 delta
/// hash reconcile by a third-party client). The clients talk through a counting proxy:
/// heartbeats keep 3 s leases alive and are answered 200, a crashed instance expires
/// and the discovery client follows the changes by XML deltas alone, with no
/// fallback full fetch (E-17, C-21).
#[test]
fn py_eureka_client_register_discover_override_cancel() {
    let py = python();
    let server = start_short_leases();
    let proxy = Proxy::start(&server.url);
    let mut cmd = Command::new(py);
    cmd.arg(root().join("tests/interop/py_client.py"))
        .arg(&proxy.url)
        .arg(&server.url);
    scenario(cmd, "py-eureka-client interop");
}

/// The binary stops cleanly on SIGTERM (exit status 0).
#[cfg(unix)]
#[test]
fn binary_stops_cleanly_on_sigterm() {
    let mut server = Server::start(&[]);
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().expect("try_wait") {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "eureka-server ignored SIGTERM for 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        exit.success(),
        "eureka-server exited with {exit:?} on SIGTERM"
    );
}

const EUREKA_JS_CLIENT_VERSION: &str = "4.5.0";
const EUREKA_JS_CLIENT: &str = "eureka-js-client@4.5.0";

/// The node_modules dir holding eureka-js-client, installing the pinned version with npm
/// if it is missing or another version.
fn node_modules() -> PathBuf {
    let _guard = VENV_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let dir = root().join(".node-interop");
    let manifest = dir.join("node_modules/eureka-js-client/package.json");
    let pinned = || {
        std::fs::read_to_string(&manifest)
            .ok()
            .and_then(|m| serde_json::from_str::<serde_json::Value>(&m).ok())
            .is_some_and(|m| m["version"] == EUREKA_JS_CLIENT_VERSION)
    };
    if !pinned() {
        std::fs::create_dir_all(&dir).expect("create .node-interop");
        let mut c = Command::new("npm");
        c.args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
            .arg(&dir)
            .arg(EUREKA_JS_CLIENT);
        let o = run_limited(c, "npm install (node and npm are needed)", INSTALL_LIMIT);
        assert!(
            o.success,
            "npm install {EUREKA_JS_CLIENT} failed: {}",
            o.stderr
        );
        assert!(
            pinned(),
            "{EUREKA_JS_CLIENT} not installed after npm install"
        );
    }
    dir.join("node_modules")
}

/// The same scenario with the Node eureka-js-client: JSON everywhere, a boolean `@enabled`
/// and no instanceId in the register body (W-26, W-56, R-01), heartbeats keeping 2 s
/// leases alive, a crashed instance expiring, and JSON deltas (E-17, C-21)
/// without a second full fetch, all seen through a counting proxy.
#[test]
fn eureka_js_client_register_discover_override_cancel() {
    let modules = node_modules();
    let server = start_short_leases();
    let proxy = Proxy::start(&server.url);
    let mut cmd = Command::new("node");
    cmd.arg(root().join("tests/interop/js_client.js"))
        .arg(&proxy.url)
        .arg(&server.url)
        .env("NODE_PATH", &modules);
    scenario(cmd, "eureka-js-client interop");
}
