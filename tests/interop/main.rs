//! Interop: real third-party Eureka clients against the real `eureka-server` binary.
//!
//! The Python client (py-eureka-client, pinned) is installed by this test into a virtualenv
//! of its own (`.venv-interop/` at the crate root) the first time it runs, so
//! `cargo test` works on a fresh machine that has `python3` with `venv` and access to PyPI.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

const PY_EUREKA_CLIENT: &str = "py-eureka-client==0.11.13";

static VENV_LOCK: Mutex<()> = Mutex::new(());

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's python, creating the venv and installing the client if needed.
fn python() -> PathBuf {
    let _guard = VENV_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let venv = root().join(".venv-interop");
    let py = venv.join("bin").join("python");
    let has_client = |py: &Path| {
        Command::new(py)
            .args(["-c", "import py_eureka_client"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if py.exists() && has_client(&py) {
        return py;
    }
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .expect("python3 is needed for the interop tests (python3 -m venv)");
    assert!(status.success(), "python3 -m venv failed");
    let status = Command::new(&py)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .arg(PY_EUREKA_CLIENT)
        .status()
        .expect("pip could not be started");
    assert!(status.success(), "pip install {PY_EUREKA_CLIENT} failed");
    assert!(
        has_client(&py),
        "py_eureka_client not importable after install"
    );
    py
}

/// The `eureka-server` binary on 127.0.0.1:0; killed on drop.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_eureka-server"))
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("eureka-server did not start");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("eureka-server printed nothing");
        let url = line
            .trim()
            .rsplit(' ')
            .next()
            .expect("a listening line")
            .to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "unexpected line {line:?}"
        );
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Issue 3's interop scenario with py-eureka-client (E-10, E-11, E-12, E-13, E-16, E-17,
/// R-61 override survives heartbeats, W-70 XML read by a third-party client, W-60 delta
/// hash reconcile by a third-party client).
#[test]
fn py_eureka_client_register_discover_override_cancel() {
    let py = python();
    let server = Server::start(&[]);
    let out = Command::new(py)
        .arg(root().join("tests/interop/py_client.py"))
        .arg(&server.url)
        .output()
        .expect("python could not be started");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "py-eureka-client interop failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("interop: all checks passed"));
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
    let exit = server.child.wait().expect("wait");
    assert!(
        exit.success(),
        "eureka-server exited with {exit:?} on SIGTERM"
    );
}

const EUREKA_JS_CLIENT: &str = "eureka-js-client@4.5.0";

/// The node_modules dir holding eureka-js-client, installing it with npm if needed.
fn node_modules() -> PathBuf {
    let _guard = VENV_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let dir = root().join(".node-interop");
    let module = dir.join("node_modules").join("eureka-js-client");
    if !module.exists() {
        std::fs::create_dir_all(&dir).expect("create .node-interop");
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
            .arg(&dir)
            .arg(EUREKA_JS_CLIENT)
            .status()
            .expect("npm is needed for the Node interop test");
        assert!(status.success(), "npm install {EUREKA_JS_CLIENT} failed");
    }
    dir.join("node_modules")
}

/// The same scenario with the Node eureka-js-client: JSON everywhere, a boolean `@enabled`
/// and no instanceId in the register body (W-26, W-56, R-01), deltas (E-17, C-21).
#[test]
fn eureka_js_client_register_discover_override_cancel() {
    let modules = node_modules();
    let server = Server::start(&[]);
    let out = Command::new("node")
        .arg(root().join("tests/interop/js_client.js"))
        .arg(&server.url)
        .env("NODE_PATH", &modules)
        .output()
        .expect("node could not be started");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "eureka-js-client interop failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("interop: all checks passed"));
}
