//! The `eureka-server` binary as a child process on `127.0.0.1:0`, for test binaries that
//! talk to the real binary. Include it with
//! `#[path = "../common/server_process.rs"] mod server_process;`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `eureka-server`, killed on drop.
pub(crate) struct ServerProcess {
    /// The child, for tests that signal it themselves.
    pub(crate) child: Child,
    /// `http://127.0.0.1:PORT/eureka` (`https://` with `--tls-cert`), read from the line the
    /// binary prints when it listens.
    pub(crate) url: String,
}

impl ServerProcess {
    /// Starts the binary with `--listen 127.0.0.1:0` and `extra` flags, and waits (at most
    /// 30 s) for its listening line.
    pub(crate) fn start(extra: &[&str]) -> ServerProcess {
        Self::start_with_env(extra, &[])
    }

    /// [`start`](Self::start) with environment variables set for the child.
    pub(crate) fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_eureka-server"))
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .envs(env.iter().copied())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("eureka-server did not start");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            panic!("eureka-server printed no listening line within 30 s");
        };
        let url = line
            .trim()
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:") || url.starts_with("https://127.0.0.1:"),
            "unexpected line {line:?}"
        );
        ServerProcess { child, url }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
