//! Headless Chromium from Debian's `chromium` package: installed when missing (bounded,
//! non-interactive), run with a fresh profile per page, every run bounded and killed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
/// How long one page load (dump or screenshot) may take on shared cores.
const RUN_LIMIT: Duration = Duration::from_secs(90);
/// How long one `apt-get` step may take.
const APT_LIMIT_SECS: &str = "600";

/// One Chromium at a time: the machine has two cores and each test starts its own.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Installs Chromium when `/usr/bin/chromium` is missing; fails with the reason when it
/// cannot. Runs once per test binary.
pub(crate) async fn ensure() {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    let result = tokio::task::spawn_blocking(|| INSTALLED.get_or_init(install).clone())
        .await
        .expect("install task");
    if let Err(why) = result {
        panic!("headless Chromium is needed and could not be installed: {why}");
    }
}

fn install() -> Result<(), String> {
    if Path::new(CHROMIUM).exists() {
        return Ok(());
    }
    let apt = |args: &[&str]| -> Result<(), String> {
        let out = std::process::Command::new("timeout")
            .arg(APT_LIMIT_SECS)
            .arg("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run apt-get: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: String = err.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
            Err(format!(
                "apt-get {} failed ({}): {tail}",
                args.join(" "),
                out.status
            ))
        }
    };
    let get = ["install", "-y", "--no-install-recommends", "chromium"];
    if apt(&get).is_err() {
        apt(&["update"])?;
        apt(&get)?;
    }
    if Path::new(CHROMIUM).exists() {
        Ok(())
    } else {
        Err(format!("apt-get succeeded but {CHROMIUM} is missing"))
    }
}

/// The DOM of `url` after load, as Chromium serializes it.
pub(crate) async fn dump_dom(url: &str) -> String {
    let out = run(&["--dump-dom".to_owned(), url.to_owned()]).await;
    String::from_utf8(out).expect("Chromium dumps UTF-8")
}

/// A 1280×1600 screenshot of `url` saved to `path`.
pub(crate) async fn screenshot(url: &str, path: &Path) {
    let _ = std::fs::remove_file(path);
    run(&[
        format!("--screenshot={}", path.display()),
        "--window-size=1280,1600".to_owned(),
        url.to_owned(),
    ])
    .await;
    let png = std::fs::read(path).expect("Chromium wrote the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
}

/// Runs Chromium with `args`, returns its stdout; fails when it exits unsuccessfully or
/// runs past [`RUN_LIMIT`] (then it is killed with its process group).
async fn run(args: &[String]) -> Vec<u8> {
    static RUNS: AtomicU32 = AtomicU32::new(0);
    let _one = ONE_AT_A_TIME.lock().await;
    let profile: PathBuf = std::env::temp_dir().join(format!(
        "tower-eureka-chromium-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&profile);
    let mut cmd = tokio::process::Command::new(CHROMIUM);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(args)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .process_group(0)
    .kill_on_drop(true);
    let child = cmd.spawn().expect("Chromium starts");
    let pgid = child.id();
    let outcome = tokio::time::timeout(RUN_LIMIT, child.wait_with_output()).await;
    // Chromium's helper processes share its process group: end them with it.
    if let Some(pgid) = pgid {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .stderr(Stdio::null())
            .status();
    }
    let _ = std::fs::remove_dir_all(&profile);
    match outcome {
        Err(_) => panic!("Chromium did not finish within {RUN_LIMIT:?}: {args:?}"),
        Ok(Err(e)) => panic!("waiting for Chromium: {e}"),
        Ok(Ok(out)) => {
            assert!(
                out.status.success(),
                "Chromium failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        }
    }
}
