//! [`shutdown_signal`]: what a service waits on before it stops, Ctrl-C **or** SIGTERM.
//!
//! Containers and orchestrators stop a process with SIGTERM, terminals with Ctrl-C
//! (SIGINT). A service that registers with Eureka must cancel its registration on both,
//! or its instance stays listed until its lease expires (90 s of calls to a dead address).
//! The `eureka-server` binary and every example of this crate stop on this future.
//!
//! ```
//! use std::time::Duration;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // Install the handlers first (before announcing readiness), then wait on them beside
//! // the work.
//! let stop = tower_eureka::signal::shutdown_signal();
//! tokio::select! {
//!     () = stop => println!("stopping: cancel the registration, drain"),
//!     () = tokio::time::sleep(Duration::from_millis(10)) => println!("work done first"),
//! }
//! # }
//! ```

use std::future::Future;

/// Resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM. The handlers are installed when this
/// is called, not when the future is first polled: call it early, so that a signal
/// arriving meanwhile is not lost. A handler that cannot be installed is never triggered
/// (the other still works).
pub fn shutdown_signal() -> impl Future<Output = ()> + Send {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    #[cfg(unix)]
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    #[cfg(not(unix))]
    let ctrl_c = tokio::signal::ctrl_c();
    async move {
        #[cfg(unix)]
        {
            let term = async {
                match term.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let int = async {
                match int.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = term => tracing::info!("SIGTERM received: shutting down"),
                () = int => tracing::info!("Ctrl-C received: shutting down"),
            }
        }
        #[cfg(not(unix))]
        {
            if ctrl_c.await.is_err() {
                std::future::pending::<()>().await;
            }
            tracing::info!("Ctrl-C received: shutting down");
        }
    }
}
