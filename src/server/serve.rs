//! [`serve`]: the accept loop the standalone binary runs, with graceful shutdown.

use super::service::EurekaService;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;

/// Serves `service` on `listener` until `shutdown` completes, then lets open connections
/// finish (at most `grace`).
///
/// This is what the `eureka-server` binary runs; tests and benches use it too.
///
/// ```no_run
/// # async fn doc() -> std::io::Result<()> {
/// use tower_eureka::server::{serve, EurekaService, ServerConfig};
/// let service = EurekaService::new(ServerConfig { prefix: "/eureka".into(), ..Default::default() });
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8761").await?;
/// serve(listener, service, std::future::pending::<()>(), std::time::Duration::from_secs(5)).await
/// # }
/// ```
pub async fn serve<F>(
    listener: TcpListener,
    service: EurekaService,
    shutdown: F,
    grace: Duration,
) -> std::io::Result<()>
where
    F: Future<Output = ()>,
{
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and similar: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let conn = builder.serve_connection(
                    TokioIo::new(stream),
                    TowerToHyperService::new(service.clone()),
                );
                let conn = graceful.watch(conn.into_owned());
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::info!("grace period over; closing remaining connections");
        }
    }
    Ok(())
}
